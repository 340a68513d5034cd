//! Command-level fixtures the test modules share: people joining a workspace, `connection add`
//! with its plain fields, a realistic GCS key, the runtime folder of `ohx run`, what a child of
//! `ohx run` sees in its environment; the connections many tests start from; readers of what ohx
//! printed (exports as JSON, error wording, canaries that must not be there); and a team of four
//! with the state a refusal must leave unchanged.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::PathBuf;

use serde_json::Value;

use crate::harness::{random_canary, set_mode, Cmd, Env, Outcome};
use crate::store_probe::{dump, integrity, query_i64, stored_identifiers, stored_workspace};

/// Registers `person` and has alice make them a member with `role`: of `workspace` (`-w`), or,
/// with `None`, of the only workspace she has.
#[track_caller]
pub fn join(env: &Env, person: &str, role: &str, workspace: Option<&str>) {
    let recipient = env.person(person);
    let mut add = env
        .ohx()
        .args(["member", "add", person, "--recipient", &recipient])
        .args(["--role", role]);
    if let Some(ws) = workspace {
        add = add.args(["-w", ws]);
    }
    add.ok();
}

/// `connection add KIND --name SLUG --slug SLUG --set CODE=VALUE...` as alice (in the only
/// workspace unless `-w` is added); the caller adds the secrets.
pub fn connection_add(env: &Env, kind: &str, slug: &str, plain: &[(&str, &str)]) -> Cmd {
    let mut cmd = env
        .ohx()
        .args(["connection", "add", kind, "--name", slug, "--slug", slug]);
    for (code, value) in plain {
        cmd = cmd.arg("--set").arg(format!("{code}={value}"));
    }
    cmd
}

/// A realistic service-account key: pretty-printed over several lines with a trailing newline,
/// its `private_key` a PEM whose line breaks are `\n` escapes inside the JSON string, with the
/// canary as a line of the key's body.
pub fn gcs_key(canary: &str) -> String {
    format!(
        concat!(
            "{{\n",
            "  \"type\": \"service_account\",\n",
            "  \"project_id\": \"hmis-archive\",\n",
            "  \"private_key_id\": \"3f1c0e9a7b\",\n",
            "  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n{}\\n",
            "q7w8e9r0t1y2u3i4o5p6==\\n-----END PRIVATE KEY-----\\n\",\n",
            "  \"client_email\": \"etl@hmis-archive.iam.gserviceaccount.com\",\n",
            "  \"client_id\": \"104857600\",\n",
            "  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n",
            "}}\n"
        ),
        canary
    )
}

/// A private (0700) folder for `XDG_RUNTIME_DIR`, so GCS key files of `ohx run` land inside the
/// test's folder and not in the machine's shared `/tmp/ohx-<uid>`.
#[track_caller]
pub fn runtime_dir(env: &Env) -> PathBuf {
    let dir = env.root().join("runtime");
    if !dir.exists() {
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        set_mode(&dir, 0o700);
    }
    dir
}

/// Splits the output of `env -0` into a map of names to values.
pub fn parse_env0(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    bytes
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            let eq = entry.iter().position(|&b| b == b'=')?;
            Some((
                String::from_utf8_lossy(&entry[..eq]).into_owned(),
                entry[eq + 1..].to_vec(),
            ))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Connections many tests start from
// ---------------------------------------------------------------------------------------------

/// The workspace most tests work in.
pub const WS: &str = "ws";

/// `connection add postgresql` of `slug` (in the only workspace unless `-w` is added), its
/// password read from `$PW`.
pub fn add_postgresql(env: &Env, slug: &str, password: &str) -> Cmd {
    let plain = [
        ("host", "db.example.org"),
        ("username", "etl"),
        ("db_name", "dwh"),
    ];
    connection_add(env, "postgresql", slug, &plain)
        .args(["--secret", "password=env:PW", "-q"])
        .env("PW", password)
}

/// `connection add custom` of `slug` (in the only workspace unless `-w` is added): a plain `url`
/// and a secret `token` read from `$T`.
pub fn add_custom(env: &Env, slug: &str, token: &str) -> Cmd {
    connection_add(env, "custom", slug, &[("url", "https://example.org")])
        .args(["--secret", "token=env:T", "-q"])
        .env("T", token)
}

/// Alice's workspace with three connections, each with a token; returns slug -> token.
pub fn three_connections(env: &Env) -> BTreeMap<String, String> {
    env.admin_with_workspace(WS);
    let tokens: BTreeMap<String, String> = ["a", "b", "c"]
        .iter()
        .map(|s| (s.to_string(), random_canary()))
        .collect();
    for (slug, token) in &tokens {
        add_custom(env, slug, token).ok();
    }
    tokens
}

/// After a failed write: the store is sound, holds exactly `tokens`' connections, every secret
/// opens with its value, and every secret is under the workspace's key version.
#[track_caller]
pub fn assert_store_intact(env: &Env, tokens: &BTreeMap<String, String>, what: &str) {
    assert_eq!(integrity(env), "ok", "{what}");
    assert_eq!(
        stored_identifiers(env, WS),
        tokens.keys().cloned().collect::<Vec<_>>(),
        "{what}"
    );
    let ws = stored_workspace(env, WS);
    let stale = query_i64(
        env,
        &format!(
            "SELECT count(*) FROM fields WHERE secret = 1 AND key_version != {}",
            ws.key_version
        ),
    );
    assert_eq!(stale, 0, "{what}: secrets under an old key");
    assert_tokens_open(env, tokens, what);
}

/// Every connection of `tokens` (slug -> token, as [`add_custom`] adds them) opens, and its token
/// is the one it was given.
#[track_caller]
pub fn assert_tokens_open(env: &Env, tokens: &BTreeMap<String, String>, what: &str) {
    let ids: Vec<String> = tokens.keys().cloned().collect();
    let vars = env_json(env, &ids);
    for (slug, token) in tokens {
        assert_eq!(
            vars.get(&format!("{}_TOKEN", prefix(slug))),
            Some(token),
            "{what}: {slug}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Reading what ohx printed
// ---------------------------------------------------------------------------------------------

/// `connection env ARGS... --format json` as alice, as names to values.
#[track_caller]
pub fn env_json<S: AsRef<OsStr>>(env: &Env, args: &[S]) -> BTreeMap<String, String> {
    let out = env
        .ohx()
        .args(["connection", "env", "--format", "json"])
        .args(args)
        .ok();
    json_object(&out)
}

/// Stdout as one JSON object of strings.
#[track_caller]
pub fn json_object(out: &Outcome) -> BTreeMap<String, String> {
    serde_json::from_value(out.json())
        .unwrap_or_else(|e| panic!("stdout is not one object of strings: {e}\n{out}"))
}

/// The prefix of a connection's variables (`my-db` gives `MY_DB`).
pub fn prefix(slug: &str) -> String {
    slug.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Stderr mentions every fragment (case-insensitively).
#[track_caller]
pub fn assert_says(out: &Outcome, fragments: &[&str]) {
    let said = out.stderr.to_lowercase();
    for fragment in fragments {
        assert!(
            said.contains(&fragment.to_lowercase()),
            "stderr does not mention {fragment:?}\n{out}"
        );
    }
}

/// No canary on the stderr of any of `outcomes`.
#[track_caller]
pub fn assert_no_canary_on_stderr(canaries: &[String], outcomes: &[&Outcome]) {
    for out in outcomes {
        for canary in canaries {
            assert!(
                !out.stderr.contains(canary.as_str()),
                "stderr shows the secret {canary:?}\n{out}"
            );
        }
    }
}

/// No canary on stdout nor stderr of `out`.
#[track_caller]
pub fn assert_no_canary_anywhere(canaries: &[String], out: &Outcome) {
    assert_no_canary_on_stderr(canaries, &[out]);
    for canary in canaries {
        assert!(
            !out.stdout.contains(canary.as_str()),
            "stdout shows the secret {canary:?}\n{out}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A team and what a refusal must leave unchanged
// ---------------------------------------------------------------------------------------------

/// Alice admin of `w`, bob viewer, carol editor, dave registered but not a member.
pub fn team(env: &Env) {
    env.admin_with_workspace("w");
    join(env, "bob", "viewer", Some("w"));
    join(env, "carol", "editor", Some("w"));
    env.person("dave");
}

/// `workspace show SLUG --json`, as alice.
#[track_caller]
pub fn workspace_show_json(env: &Env, slug: &str) -> Value {
    env.ohx()
        .args(["workspace", "show", slug, "--json"])
        .ok()
        .json()
}

/// `member list -w SLUG --json`, as `person`.
#[track_caller]
pub fn members_json(env: &Env, person: &str, slug: &str) -> Value {
    env.ohx_as(person)
        .args(["member", "list", "-w", slug, "--json"])
        .ok()
        .json()
}

/// What a refusal must leave unchanged: alice's view of the workspace, its members, and every row.
pub fn snapshot(env: &Env, slug: &str) -> (Value, Value, String) {
    (
        workspace_show_json(env, slug),
        members_json(env, "alice", slug),
        dump(env),
    )
}
