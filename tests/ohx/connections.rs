//! Connections, tested through the real binary: adding each of the six types from flags and
//! secret sources, listing, showing masked and revealed, editing, deleting, the permission matrix,
//! every validation rule of DESIGN.md section 3, `WORKSPACE/IDENTIFIER` references, canary secrets
//! searched for where they must never appear (store files, stderr, `/proc/<pid>/cmdline`),
//! tampered ciphertexts, multi-line GCS keys, key rotation after a member leaves, and the
//! interactive `add` on a real pseudo-terminal (DESIGN.md sections 3, 4 and 5; RELIABILITY.md
//! secrets and input).
//!
//! Every secret is a fresh `random_canary()`. Refused commands are checked to leave the store
//! exactly as it was: the `connection list --json` document and every row of the `workspaces`,
//! `connections` and `fields` tables, ciphertexts included.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixtures::{connection_add, gcs_key, join};
use crate::harness::{random_canary, Cmd, Env, Outcome};
use crate::store_probe::{
    age_identity, base64, base64_core, ciphertext, connection_id, contains, dump_tables,
    files_under, leaked_forms, open_db, query_i64, set_ciphertext, sidecar, unwrap_key,
    wrapped_key_of,
};

// ---------------------------------------------------------------------------------------------
// Fixture: one connection of every type
// ---------------------------------------------------------------------------------------------

/// The workspace the tests work in.
const WS: &str = "malaria";

/// Where a secret is read from on the command line.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// `--secret CODE=-`, the value written to stdin followed by one newline (as `echo` does).
    Stdin,
    /// `--secret CODE=env:SECRET_<CODE>`.
    Env,
    /// `--secret CODE=file:PATH`, the value written verbatim.
    File,
}

/// One secret field of a connection under test.
struct Secret {
    code: &'static str,
    source: Source,
    /// The exact value ohx must store and reveal.
    value: String,
    /// The random canary inside `value` (the whole value, except for a GCS key).
    canary: String,
}

/// One connection as a test adds it, and what ohx must then hold.
struct Spec {
    kind: &'static str,
    /// The identifier ohx makes from `name`.
    id: &'static str,
    name: &'static str,
    description: &'static str,
    plain: Vec<(&'static str, String)>,
    secrets: Vec<Secret>,
}

impl Spec {
    fn canaries(&self) -> Vec<String> {
        self.secrets.iter().map(|s| s.canary.clone()).collect()
    }

    /// Every field as `show --reveal --json` must give it: code -> (secret?, value).
    fn expected_fields(&self) -> BTreeMap<String, (bool, String)> {
        let plain = self
            .plain
            .iter()
            .map(|(c, v)| (c.to_string(), (false, v.clone())));
        let secret = self
            .secrets
            .iter()
            .map(|s| (s.code.to_string(), (true, s.value.clone())));
        plain.chain(secret).collect()
    }
}

fn secret(code: &'static str, source: Source) -> Secret {
    let canary = random_canary();
    Secret {
        code,
        source,
        value: canary.clone(),
        canary,
    }
}

fn gcs_secret(source: Source) -> Secret {
    let canary = random_canary();
    Secret {
        code: "service_account_key",
        source,
        value: gcs_key(&canary),
        canary,
    }
}

/// A new valid value for the secret field `code`, read from `source`.
fn new_secret(code: &'static str, source: Source) -> Secret {
    match code {
        "service_account_key" => gcs_secret(source),
        _ => secret(code, source),
    }
}

/// One connection of each type, with fresh canaries, reading secrets from every kind of source.
fn all_types() -> Vec<Spec> {
    let s = |v: &str| v.to_string();
    vec![
        Spec {
            kind: "postgresql",
            id: "warehouse",
            name: "Warehouse",
            description: "HMIS data warehouse",
            plain: vec![
                ("host", s("db.example.org")),
                ("port", s("5433")),
                ("username", s("etl_reader")),
                ("db_name", s("dwh_main")),
            ],
            secrets: vec![secret("password", Source::Stdin)],
        },
        Spec {
            kind: "dhis2",
            id: "dhis2-prod",
            name: "DHIS2 Prod",
            description: "National DHIS2 instance",
            plain: vec![
                ("url", s("https://play.dhis2.org/40")),
                ("username", s("dhis2_admin")),
            ],
            secrets: vec![secret("password", Source::Env)],
        },
        Spec {
            kind: "iaso",
            id: "iaso-prod",
            name: "IASO Prod",
            description: "Health facility registry",
            plain: vec![
                ("url", s("https://iaso.bluesquare.org")),
                ("username", s("iaso_user")),
            ],
            secrets: vec![secret("password", Source::File)],
        },
        Spec {
            kind: "s3",
            id: "hmis-lake",
            name: "HMIS Lake",
            description: "Raw extracts",
            plain: vec![
                ("bucket_name", s("hmis-lake")),
                ("access_key_id", s("AKIAIOSFODNN7EXAMPLE")),
            ],
            secrets: vec![secret("access_key_secret", Source::Stdin)],
        },
        Spec {
            kind: "gcs",
            id: "archive",
            name: "Archive",
            description: "Long-term archive",
            plain: vec![("bucket_name", s("hmis-archive"))],
            secrets: vec![gcs_secret(Source::File)],
        },
        Spec {
            kind: "custom",
            id: "kobo",
            name: "Kobo",
            description: "KoboToolbox API",
            plain: vec![("url", s("https://kf.kobotoolbox.org"))],
            secrets: vec![
                secret("token", Source::Env),
                secret("api_key", Source::Stdin),
            ],
        },
    ]
}

/// Adds `secrets` to `cmd` as `--secret` flags reading from their sources.
fn with_secrets(env: &Env, mut cmd: Cmd, tag: &str, secrets: &[Secret]) -> Cmd {
    for s in secrets {
        let source = match s.source {
            Source::Stdin => {
                cmd = cmd.stdin(format!("{}\n", s.value));
                "-".to_string()
            }
            Source::Env => {
                let var = format!("SECRET_{}", s.code.to_ascii_uppercase());
                cmd = cmd.env(&var, &s.value);
                format!("env:{var}")
            }
            Source::File => {
                let path = env.root().join(format!("{tag}-{}.secret", s.code));
                std::fs::write(&path, &s.value).expect("write secret file");
                format!("file:{}", path.display())
            }
        };
        cmd = cmd.arg("--secret").arg(format!("{}={source}", s.code));
    }
    cmd
}

/// `connection add` for `spec`, run as `person`, with every field from flags and sources.
fn add_cmd(env: &Env, person: &str, spec: &Spec) -> Cmd {
    let mut cmd = env.ohx_as(person).args([
        "connection",
        "add",
        spec.kind,
        "--name",
        spec.name,
        "--description",
        spec.description,
    ]);
    for (code, value) in &spec.plain {
        cmd = cmd.arg("--set").arg(format!("{code}={value}"));
    }
    with_secrets(env, cmd, spec.id, &spec.secrets)
}

/// Alice admin of [`WS`], bob a viewer, carol an editor, and one connection of each type.
fn team() -> (Env, Vec<Spec>) {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "bob", "viewer", None);
    join(&env, "carol", "editor", None);
    let specs = all_types();
    for spec in &specs {
        let out = add_cmd(&env, "alice", spec).ok();
        assert_no_canary_on_stderr(&spec.canaries(), &[&out]);
    }
    (env, specs)
}

/// A postgresql connection `id` in the current workspace whose password is `password` (stdin).
fn add_postgresql(env: &Env, id: &str, password: &str) -> Outcome {
    let plain = [
        ("host", "db.example.org"),
        ("username", "etl_reader"),
        ("db_name", "dwh_main"),
    ];
    connection_add(env, "postgresql", id, &plain)
        .args(["--secret", "password=-"])
        .stdin(password)
        .ok()
}

// ---------------------------------------------------------------------------------------------
// Reading ohx's answers
// ---------------------------------------------------------------------------------------------

/// `connection list --json`, as alice.
#[track_caller]
fn list_json(env: &Env) -> Value {
    env.ohx().args(["connection", "list", "--json"]).ok().json()
}

/// The entry of `id` in a `connection list --json` document.
#[track_caller]
fn entry<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .expect("list --json is an array")
        .iter()
        .find(|e| e["identifier"] == id)
        .unwrap_or_else(|| panic!("no connection '{id}' in {list:#}"))
}

fn identifiers(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list --json is an array")
        .iter()
        .map(|e| e["identifier"].as_str().expect("identifier").to_string())
        .collect()
}

/// `connection show ID --json [--reveal]`, as `person`.
#[track_caller]
fn show_json(env: &Env, person: &str, id: &str, reveal: bool) -> Value {
    let mut cmd = env
        .ohx_as(person)
        .args(["connection", "show", id, "--json"]);
    if reveal {
        cmd = cmd.arg("--reveal");
    }
    cmd.ok().json()
}

/// The fields of a `show --json` document: code -> (secret?, value).
fn fields_of(show: &Value) -> BTreeMap<String, (bool, String)> {
    show["fields"]
        .as_array()
        .expect("show --json has fields")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_string(),
                (
                    f["secret"].as_bool().expect("secret flag"),
                    f["value"].as_str().expect("value").to_string(),
                ),
            )
        })
        .collect()
}

/// The revealed value of one field, as alice.
#[track_caller]
fn revealed(env: &Env, id: &str, code: &str) -> String {
    let fields = fields_of(&show_json(env, "alice", id, true));
    fields
        .get(code)
        .unwrap_or_else(|| panic!("'{id}' has no field '{code}': {fields:?}"))
        .1
        .clone()
}

// ---------------------------------------------------------------------------------------------
// Refused commands change nothing
// ---------------------------------------------------------------------------------------------

/// Every row of `workspaces`, `connections` and `fields`, one line each, sorted.
fn dump(env: &Env) -> String {
    dump_tables(env, &["workspaces", "connections", "fields"])
}

/// What must not change when a command is refused: the listing ohx prints and the stored rows.
fn state(env: &Env) -> String {
    let listed = env.ohx().args(["connection", "list", "--json"]).ok().stdout;
    format!("{listed}\n{}", dump(env))
}

/// Runs `cmd`, which must fail with `status` and a clean error, and checks that the store is
/// exactly as it was. Returns the outcome for checks of the message.
#[track_caller]
fn refused(env: &Env, cmd: Cmd, status: i32) -> Outcome {
    let before = state(env);
    let out = cmd.fails(status);
    assert_eq!(
        before,
        state(env),
        "a refused command changed the store\n{out}"
    );
    out
}

/// Stderr mentions every fragment (case-insensitively).
#[track_caller]
fn assert_says(out: &Outcome, fragments: &[&str]) {
    let said = out.stderr.to_lowercase();
    for fragment in fragments {
        assert!(
            said.contains(&fragment.to_lowercase()),
            "stderr does not mention {fragment:?}\n{out}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Searching for canaries
// ---------------------------------------------------------------------------------------------

/// No canary, in any form, in any file of the ohx home. Returns the files searched.
#[track_caller]
fn assert_no_canary_in_files(env: &Env, canaries: &[String]) -> Vec<PathBuf> {
    let files = files_under(&env.home());
    for file in &files {
        let bytes = std::fs::read(file).expect("read store file");
        for canary in canaries {
            for (form, needle) in leaked_forms(canary) {
                assert!(
                    !contains(&bytes, &needle),
                    "{} holds the secret {canary:?} ({form})",
                    file.display()
                );
            }
        }
    }
    files
}

/// No canary on the stderr of any of `outcomes`.
#[track_caller]
fn assert_no_canary_on_stderr(canaries: &[String], outcomes: &[&Outcome]) {
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
fn assert_no_canary_anywhere(canaries: &[String], out: &Outcome) {
    assert_no_canary_on_stderr(canaries, &[out]);
    for canary in canaries {
        assert!(
            !out.stdout.contains(canary.as_str()),
            "stdout shows the secret {canary:?}\n{out}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Processes whose stdin is kept open
// ---------------------------------------------------------------------------------------------

/// Waits for a child whose stdin is still open; failing the test if it is still running after
/// `limit` (it would be waiting for input that no terminal can give).
#[track_caller]
fn finishes_within(mut child: Child, limit: Duration, what: &str) -> Outcome {
    let started = Instant::now();
    while child.try_wait().expect("wait for ohx").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` still waited for input after {limit:?} without a terminal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Outcome::wait(child, what)
}

// ---------------------------------------------------------------------------------------------
// Each type: added, listed, shown, revealed, refused
// ---------------------------------------------------------------------------------------------

#[test]
fn every_type_is_added_from_flags_and_listed_as_json() {
    let (env, specs) = team();
    let list = list_json(&env);
    assert_eq!(list.as_array().map(Vec::len), Some(specs.len()), "{list:#}");
    for spec in &specs {
        let e = entry(&list, spec.id);
        assert_eq!(e["name"], spec.name, "{e:#}");
        assert_eq!(e["type"], spec.kind, "{e:#}");
        assert_eq!(e["description"], spec.description, "{e:#}");
        assert_eq!(e["workspace"], WS, "{e:#}");
        assert_eq!(e["needs_rotation"], false, "{e:#}");
    }
}

#[test]
fn every_type_appears_in_the_list_table() {
    let (env, specs) = team();
    let out = env.ohx().args(["connection", "list"]).ok();
    let mut lines = out.stdout.lines();
    let header = lines.next().unwrap_or_default();
    for column in ["IDENTIFIER", "NAME", "TYPE", "DESCRIPTION"] {
        assert!(header.contains(column), "no {column} column\n{out}");
    }
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), specs.len(), "one row per connection\n{out}");
    for spec in &specs {
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("{} ", spec.id)))
            .unwrap_or_else(|| panic!("no row for '{}'\n{out}", spec.id));
        for shown in [spec.name, spec.kind, spec.description] {
            assert!(
                row.contains(shown),
                "row of '{}' lacks {shown:?}\n{out}",
                spec.id
            );
        }
    }
    let canaries: Vec<String> = specs.iter().flat_map(Spec::canaries).collect();
    assert_no_canary_anywhere(&canaries, &out);
}

#[test]
fn show_masks_every_secret_and_gives_plain_values() {
    let (env, specs) = team();
    for person in ["alice", "bob", "carol"] {
        for spec in &specs {
            let shown = fields_of(&show_json(&env, person, spec.id, false));
            let expected: BTreeMap<String, (bool, String)> = spec
                .expected_fields()
                .into_iter()
                .map(|(code, (secret, value))| {
                    let value = if secret { "********".into() } else { value };
                    (code, (secret, value))
                })
                .collect();
            assert_eq!(shown, expected, "{person} shows '{}'", spec.id);

            let out = env
                .ohx_as(person)
                .args(["connection", "show", spec.id])
                .ok();
            assert_no_canary_anywhere(&spec.canaries(), &out);
            for s in &spec.secrets {
                assert!(
                    out.stdout
                        .lines()
                        .any(|l| l.starts_with(s.code) && l.trim_end().ends_with("********")),
                    "'{}' is not masked in the table\n{out}",
                    s.code
                );
            }
            for (code, value) in &spec.plain {
                assert!(
                    out.stdout
                        .lines()
                        .any(|l| l.starts_with(code) && l.trim_end().ends_with(value.as_str())),
                    "'{code}' is not shown as {value:?}\n{out}"
                );
            }
        }
    }
}

#[test]
fn an_editor_reveals_the_exact_secret_values_of_every_type() {
    let (env, specs) = team();
    for person in ["carol", "alice"] {
        for spec in &specs {
            let shown = show_json(&env, person, spec.id, true);
            assert_eq!(fields_of(&shown), spec.expected_fields(), "'{}'", spec.id);
            let out = env
                .ohx_as(person)
                .args(["connection", "show", spec.id, "--reveal"])
                .ok();
            for canary in spec.canaries() {
                assert!(out.stdout.contains(&canary), "not revealed\n{out}");
            }
            assert_no_canary_on_stderr(&spec.canaries(), &[&out]);
        }
    }
}

#[test]
fn a_viewer_cannot_reveal_secrets() {
    let (env, specs) = team();
    for spec in &specs {
        for json in [false, true] {
            let mut cmd = env
                .ohx_as("bob")
                .args(["connection", "show", spec.id, "--reveal"]);
            if json {
                cmd = cmd.arg("--json");
            }
            let out = cmd.fails(4);
            assert!(out.stdout.is_empty(), "a refusal printed on stdout\n{out}");
            assert_says(&out, &["viewer"]);
            assert_no_canary_anywhere(&spec.canaries(), &out);
        }
    }
}

#[test]
fn viewers_and_editors_cannot_add_connections() {
    let (env, _) = team();
    for person in ["bob", "carol"] {
        for spec in all_types() {
            let out = refused(&env, add_cmd(&env, person, &spec), 4);
            assert_no_canary_anywhere(&spec.canaries(), &out);
        }
    }
}

#[test]
fn viewers_and_editors_cannot_edit_connections() {
    let (env, specs) = team();
    for person in ["bob", "carol"] {
        for spec in &specs {
            let rename =
                env.ohx_as(person)
                    .args(["connection", "edit", spec.id, "--name", "Renamed"]);
            refused(&env, rename, 4);
            let reseal = with_secrets(
                &env,
                env.ohx_as(person).args(["connection", "edit", spec.id]),
                spec.id,
                &[new_secret(spec.secrets[0].code, Source::Stdin)],
            );
            refused(&env, reseal, 4);
        }
    }
}

#[test]
fn viewers_and_editors_cannot_delete_connections() {
    let (env, specs) = team();
    for person in ["bob", "carol"] {
        for spec in &specs {
            let delete = env
                .ohx_as(person)
                .args(["connection", "delete", spec.id, "--yes"]);
            refused(&env, delete, 4);
        }
    }
}

#[test]
fn secrets_are_read_exactly_from_stdin_env_and_file() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for (id, source) in [
        ("from-stdin", Source::Stdin),
        ("from-env", Source::Env),
        ("from-file", Source::File),
    ] {
        let spec = Spec {
            kind: "postgresql",
            id,
            name: id,
            description: "",
            plain: vec![
                ("host", "db.example.org".into()),
                ("port", "5432".into()),
                ("username", "etl".into()),
                ("db_name", "dwh".into()),
            ],
            secrets: vec![secret("password", source)],
        };
        add_cmd(&env, "alice", &spec).ok();
        assert_eq!(
            revealed(&env, id, "password"),
            spec.secrets[0].value,
            "{source:?}"
        );
    }
}

#[test]
fn the_default_port_is_5432() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_postgresql(&env, "warehouse", &random_canary());
    assert_eq!(revealed(&env, "warehouse", "port"), "5432");
}

// ---------------------------------------------------------------------------------------------
// Edit
// ---------------------------------------------------------------------------------------------

/// One plain field change per type: (code, value given, value stored).
fn plain_change(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "postgresql" => ("host", "db2.example.org", "db2.example.org"),
        "dhis2" => (
            "url",
            "https://dhis2.example.org/api/",
            "https://dhis2.example.org",
        ),
        "iaso" => ("username", "iaso_admin", "iaso_admin"),
        "s3" => ("bucket_name", "new-lake", "new-lake"),
        "gcs" => ("bucket_name", "new-archive", "new-archive"),
        "custom" => (
            "url",
            "https://kobo.example.org",
            "https://kobo.example.org",
        ),
        other => panic!("no change for {other}"),
    }
}

#[test]
fn an_admin_changes_plain_fields_name_and_description() {
    let (env, specs) = team();
    for spec in &specs {
        let (code, given, stored) = plain_change(spec.kind);
        let out = env
            .ohx()
            .args(["connection", "edit", spec.id, "--set"])
            .arg(format!("{code}={given}"))
            .args(["--name", "Renamed", "--description", "Changed"])
            .ok();
        assert_no_canary_anywhere(&spec.canaries(), &out);
        let mut expected = spec.expected_fields();
        expected.insert(code.to_string(), (false, stored.to_string()));
        let shown = show_json(&env, "alice", spec.id, true);
        assert_eq!(fields_of(&shown), expected, "'{}'", spec.id);
        assert_eq!(shown["name"], "Renamed");
        assert_eq!(shown["description"], "Changed");
        assert_eq!(
            shown["identifier"], spec.id,
            "a rename keeps the identifier"
        );
    }
}

#[test]
fn an_admin_replaces_secrets_from_every_source() {
    let (env, specs) = team();
    let sources = [Source::Stdin, Source::Env, Source::File];
    for (n, spec) in specs.iter().enumerate() {
        let source = sources[n % sources.len()];
        let new = new_secret(spec.secrets[0].code, source);
        let out = with_secrets(
            &env,
            env.ohx().args(["connection", "edit", spec.id]),
            &format!("{}-new", spec.id),
            std::slice::from_ref(&new),
        )
        .ok();
        assert_no_canary_anywhere(std::slice::from_ref(&new.canary), &out);
        let mut expected = spec.expected_fields();
        expected.insert(new.code.to_string(), (true, new.value.clone()));
        assert_eq!(
            fields_of(&show_json(&env, "carol", spec.id, true)),
            expected,
            "'{}' after a new {:?} secret",
            spec.id,
            source
        );
    }
}

#[test]
fn custom_fields_are_declared_with_set_and_secret_on_edit() {
    let (env, _) = team();
    let pin = secret("pin", Source::Env);
    with_secrets(
        &env,
        env.ohx()
            .args(["connection", "edit", "kobo", "--set", "region=eu-west"]),
        "kobo-pin",
        std::slice::from_ref(&pin),
    )
    .ok();
    let fields = fields_of(&show_json(&env, "alice", "kobo", true));
    assert_eq!(fields.get("region"), Some(&(false, "eu-west".to_string())));
    assert_eq!(fields.get("pin"), Some(&(true, pin.value.clone())));
    let masked = fields_of(&show_json(&env, "bob", "kobo", false));
    assert_eq!(masked.get("pin"), Some(&(true, "********".to_string())));
}

#[test]
fn a_secret_custom_field_cannot_be_overwritten_with_set() {
    let (env, _) = team();
    let canary = random_canary();
    let out = refused(
        &env,
        env.ohx()
            .args(["connection", "edit", "kobo", "--set"])
            .arg(format!("token={canary}")),
        2,
    );
    assert_says(&out, &["token", "--secret"]);
    assert_no_canary_anywhere(&[canary], &out);
}

#[test]
fn optional_and_custom_fields_can_be_unset() {
    let (env, specs) = team();
    env.ohx()
        .args([
            "connection",
            "edit",
            "hmis-lake",
            "--unset",
            "access_key_id",
            "--unset",
            "access_key_secret",
        ])
        .ok();
    let lake = fields_of(&show_json(&env, "alice", "hmis-lake", true));
    assert_eq!(lake.keys().collect::<Vec<_>>(), ["bucket_name"], "{lake:?}");

    env.ohx()
        .args([
            "connection",
            "edit",
            "kobo",
            "--unset",
            "token",
            "--unset",
            "url",
        ])
        .ok();
    let kobo = fields_of(&show_json(&env, "alice", "kobo", true));
    let api_key = &specs[5].secrets[1];
    assert_eq!(
        kobo,
        BTreeMap::from([(api_key.code.to_string(), (true, api_key.value.clone()))])
    );
}

#[test]
fn a_required_field_cannot_be_unset() {
    let (env, specs) = team();
    for spec in &specs {
        let required: Vec<&str> = match spec.kind {
            "postgresql" => vec!["host", "port", "username", "password", "db_name"],
            "dhis2" | "iaso" => vec!["url", "username", "password"],
            "s3" => vec!["bucket_name"],
            "gcs" => vec!["bucket_name", "service_account_key"],
            _ => continue,
        };
        for code in required {
            let out = refused(
                &env,
                env.ohx()
                    .args(["connection", "edit", spec.id, "--unset", code]),
                2,
            );
            assert_says(&out, &[code, "required"]);
        }
    }
}

#[test]
fn unsetting_a_required_field_advises_only_a_flag_that_works() {
    let (env, _) = team();
    for (id, code, secret) in [
        ("warehouse", "host", false),
        ("warehouse", "password", true),
        ("hmis-lake", "bucket_name", false),
        ("archive", "service_account_key", true),
    ] {
        let out = refused(
            &env,
            env.ohx().args(["connection", "edit", id, "--unset", code]),
            2,
        );
        let hint = out
            .stderr
            .lines()
            .find(|l| l.starts_with("hint:"))
            .unwrap_or_default();
        let wrong = if secret {
            format!("--set {code}")
        } else {
            format!("--secret {code}")
        };
        assert!(
            !hint.contains(&wrong),
            "the hint advises `{wrong}`, which ohx refuses for '{code}'\n{out}"
        );
    }
}

#[test]
fn s3_keys_are_unset_together_or_not_at_all() {
    let (env, _) = team();
    for code in ["access_key_id", "access_key_secret"] {
        let out = refused(
            &env,
            env.ohx()
                .args(["connection", "edit", "hmis-lake", "--unset", code]),
            2,
        );
        assert_says(&out, &["access_key_id", "access_key_secret"]);
    }
}

#[test]
fn the_last_field_of_a_custom_connection_cannot_be_unset() {
    let (env, _) = team();
    let out = refused(
        &env,
        env.ohx().args([
            "connection",
            "edit",
            "kobo",
            "--unset",
            "url",
            "--unset",
            "token",
            "--unset",
            "api_key",
        ]),
        2,
    );
    assert_says(&out, &["at least one field"]);
}

#[test]
fn edit_validates_values_like_add() {
    let (env, _) = team();
    for (id, set) in [
        ("warehouse", "port=70000"),
        ("warehouse", "port=0"),
        ("dhis2-prod", "url=dhis2.example.org"),
        ("iaso-prod", "url=ftp://iaso.example.org"),
        ("hmis-lake", "bucket_name=Bad_Bucket"),
        ("kobo", "Bad-Code=x"),
    ] {
        refused(
            &env,
            env.ohx().args(["connection", "edit", id, "--set", set]),
            2,
        );
    }
    let out = refused(
        &env,
        env.ohx()
            .args([
                "connection",
                "edit",
                "archive",
                "--secret",
                "service_account_key=-",
            ])
            .stdin(r#"{"type":"authorized_user"}"#),
        2,
    );
    assert_says(&out, &["service_account_key"]);
    let out = refused(
        &env,
        env.ohx()
            .args(["connection", "edit", "warehouse", "--name"])
            .arg("n".repeat(41)),
        2,
    );
    assert_says(&out, &["40"]);
}

// ---------------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------------

#[test]
fn an_admin_deletes_every_type_with_yes() {
    let (env, specs) = team();
    for (n, spec) in specs.iter().enumerate() {
        env.ohx()
            .args(["connection", "delete", spec.id, "--yes"])
            .ok();
        let left = identifiers(&list_json(&env));
        let expected: Vec<&str> = {
            let mut ids: Vec<&str> = specs[n + 1..].iter().map(|s| s.id).collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(left, expected, "after deleting '{}'", spec.id);
        env.ohx().args(["connection", "show", spec.id]).fails(3);
    }
    let rows = query_i64(&env, "SELECT count(*) FROM fields");
    assert_eq!(rows, 0, "deleting connections leaves no field behind");
}

#[test]
fn delete_without_a_terminal_and_without_yes_deletes_nothing() {
    let (env, specs) = team();
    for spec in &specs {
        let out = refused(&env, env.ohx().args(["connection", "delete", spec.id]), 2);
        assert_says(&out, &["--yes"]);
    }
}

#[test]
fn deleting_a_missing_connection_is_not_found() {
    let (env, _) = team();
    refused(
        &env,
        env.ohx()
            .args(["connection", "delete", "nothing-here", "--yes"]),
        3,
    );
}

// ---------------------------------------------------------------------------------------------
// Non-interactive add
// ---------------------------------------------------------------------------------------------

#[test]
fn add_without_a_terminal_names_every_missing_flag_at_once() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let cases: [(&str, &[&str]); 5] = [
        (
            "postgresql",
            &[
                "--set host=",
                "--set username=",
                "--secret password=",
                "--set db_name=",
            ],
        ),
        (
            "dhis2",
            &["--set url=", "--set username=", "--secret password="],
        ),
        (
            "iaso",
            &["--set url=", "--set username=", "--secret password="],
        ),
        ("s3", &["--set bucket_name="]),
        (
            "gcs",
            &["--set bucket_name=", "--secret service_account_key="],
        ),
    ];
    for (kind, missing) in cases {
        let named = refused(
            &env,
            env.ohx().args(["connection", "add", kind, "--name", "X"]),
            2,
        );
        assert_says(&named, missing);
        assert!(
            !named.stderr.contains("--name"),
            "the name was given\n{named}"
        );
        let unnamed = refused(&env, env.ohx().args(["connection", "add", kind]), 2);
        assert_says(&unnamed, missing);
        assert_says(&unnamed, &["--name"]);
        assert_eq!(
            unnamed
                .stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "one error line names them all\n{unnamed}"
        );
    }
    let port = refused(
        &env,
        env.ohx().args(["connection", "add", "pg", "--name", "X"]),
        2,
    );
    assert!(
        !port.stderr.contains("--set port"),
        "port has a default and is not missing\n{port}"
    );
}

#[test]
fn add_never_waits_for_input_without_a_terminal() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let cases: [&[&str]; 5] = [
        &["connection", "add"],
        &["connection", "add", "dhis2"],
        &["connection", "add", "custom", "--name", "Kobo"],
        &[
            "connection",
            "add",
            "pg",
            "--name",
            "W",
            "--set",
            "host=h",
            "--set",
            "username=u",
            "--set",
            "db_name=d",
            "--secret",
            "password",
        ],
        &["connection", "delete", "anything"],
    ];
    for args in cases {
        let mut child = env.ohx().args(args).stdin_kept_open().spawn();
        // Stdin stays open and silent: a prompt would wait forever.
        let stdin = child.stdin.take();
        let out = finishes_within(child, Duration::from_secs(10), &args.join(" "));
        drop(stdin);
        assert!(
            out.status == 2 || (args.contains(&"delete") && out.status == 3),
            "`ohx {}` gave status {}\n{out}",
            args.join(" "),
            out.status
        );
        out.assert_clean_error(&args.join(" "));
    }
    assert_eq!(identifiers(&list_json(&env)), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Validation rules of DESIGN.md section 3
// ---------------------------------------------------------------------------------------------

/// `connection add postgresql --name Warehouse` with every plain field valid except what `set`
/// overrides, and the password given as `--secret <secret>`.
fn postgresql_cmd(env: &Env, set: &[&str], secret: &str) -> Cmd {
    let mut fields = vec![
        "host=db.example.org",
        "username=etl",
        "db_name=dwh",
        "port=5432",
    ];
    for extra in set {
        let code = extra.split('=').next().unwrap_or_default();
        fields.retain(|f| !f.starts_with(&format!("{code}=")));
        fields.push(extra);
    }
    let mut cmd = env
        .ohx()
        .args(["connection", "add", "postgresql", "--name", "Warehouse"]);
    for f in fields {
        cmd = cmd.arg("--set").arg(f);
    }
    cmd.arg("--secret").arg(secret)
}

/// [`postgresql_cmd`] with a canary password from `env:PW`.
fn postgresql_with(env: &Env, set: &[&str]) -> Cmd {
    postgresql_cmd(env, set, "password=env:PW").env("PW", random_canary())
}

#[test]
fn a_port_outside_1_to_65535_or_not_a_number_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for port in ["0", "70000", "65536", "abc", "-1", ""] {
        let out = refused(&env, postgresql_with(&env, &[&format!("port={port}")]), 2);
        assert_says(&out, &["port", "1", "65535"]);
    }
    for port in ["1", "65535"] {
        postgresql_with(&env, &[&format!("port={port}")])
            .args(["--slug", &format!("p{port}")])
            .ok();
        assert_eq!(revealed(&env, &format!("p{port}"), "port"), port);
    }
}

#[test]
fn dhis2_and_iaso_urls_must_be_absolute_http_or_https() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for kind in ["dhis2", "iaso"] {
        for url in [
            "play.dhis2.org",
            "ftp://play.dhis2.org",
            "/api",
            "https://",
            "https:// play.dhis2.org",
            "file:///etc/passwd",
        ] {
            let out = refused(
                &env,
                env.ohx()
                    .args(["connection", "add", kind, "--name", "Server"])
                    .arg("--set")
                    .arg(format!("url={url}"))
                    .args(["--set", "username=u", "--secret", "password=env:PW"])
                    .env("PW", random_canary()),
                2,
            );
            assert_says(&out, &["url"]);
        }
    }
}

#[test]
fn a_dhis2_url_loses_its_trailing_api_with_a_notice() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let out = env
        .ohx()
        .args([
            "connection",
            "add",
            "dhis2",
            "--name",
            "DHIS2",
            "--set",
            "url=https://x.org/api/",
            "--set",
            "username=u",
            "--secret",
            "password=env:PW",
        ])
        .env("PW", random_canary())
        .ok();
    assert_eq!(revealed(&env, "dhis2", "url"), "https://x.org");
    assert!(
        out.stderr.contains("https://x.org") && out.stderr.contains("/api"),
        "no notice of the new URL on stderr\n{out}"
    );
    assert!(
        !out.stdout.contains("/api"),
        "the notice belongs on stderr\n{out}"
    );
}

#[test]
fn s3_bucket_names_must_follow_the_naming_rules() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let too_long = "b".repeat(64);
    for bucket in [
        "ab",
        too_long.as_str(),
        "My-Bucket",
        "my_bucket",
        "-bucket",
        "bucket-",
        "my..bucket",
        "192.168.1.1",
        "xn--bucket",
        "sthree-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
    ] {
        let out = refused(
            &env,
            env.ohx()
                .args(["connection", "add", "s3", "--name", "Lake", "--set"])
                .arg(format!("bucket_name={bucket}")),
            2,
        );
        assert_says(&out, &["bucket"]);
    }
    for (n, bucket) in ["abc", "a.b.c", "data-2024", &"b".repeat(63)]
        .into_iter()
        .enumerate()
    {
        env.ohx()
            .args(["connection", "add", "s3", "--name"])
            .arg(format!("Lake {n}"))
            .arg("--set")
            .arg(format!("bucket_name={bucket}"))
            .ok();
    }
}

#[test]
fn s3_bucket_names_with_a_reserved_prefix_or_suffix_are_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for bucket in [
        "amzn-s3-demo-lake",
        "lake.mrap",
        "lake--x-s3",
        "lake--table-s3",
    ] {
        let out = refused(
            &env,
            env.ohx()
                .args(["connection", "add", "s3", "--name", "Lake", "--set"])
                .arg(format!("bucket_name={bucket}")),
            2,
        );
        assert_says(&out, &["bucket"]);
    }
}

#[test]
fn s3_needs_both_access_keys_or_neither() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let only_id = env.ohx().args([
        "connection",
        "add",
        "s3",
        "--name",
        "Lake",
        "--set",
        "bucket_name=lake",
        "--set",
        "access_key_id=AKIA",
    ]);
    let only_secret = env
        .ohx()
        .args([
            "connection",
            "add",
            "s3",
            "--name",
            "Lake",
            "--set",
            "bucket_name=lake",
            "--secret",
            "access_key_secret=-",
        ])
        .stdin(canary.clone());
    for cmd in [only_id, only_secret] {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["access_key_id", "access_key_secret"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
}

#[test]
fn a_gcs_key_must_be_a_service_account_json_object() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let bad = [
        format!("{canary} is not JSON"),
        format!("[\"{canary}\"]"),
        format!(r#"{{"type":"authorized_user","client_email":"a@b","private_key":"{canary}"}}"#),
        format!(r#"{{"client_email":"a@b","private_key":"{canary}"}}"#),
        format!(r#"{{"type":"service_account","client_email":"a@b","key":"{canary}"}}"#),
        format!(r#"{{"type":"service_account","private_key":"{canary}"}}"#),
        format!(
            r#"{{"type":"service_account","client_email":"a@b","private_key":7,"x":"{canary}"}}"#
        ),
    ];
    for (n, key) in bad.iter().enumerate() {
        let path = env.root().join(format!("bad-key-{n}.json"));
        std::fs::write(&path, key).expect("write key");
        let out = refused(
            &env,
            env.ohx()
                .args([
                    "connection",
                    "add",
                    "gcs",
                    "--name",
                    "Archive",
                    "--set",
                    "bucket_name=archive",
                    "--secret",
                ])
                .arg(format!("service_account_key=file:{}", path.display())),
            2,
        );
        assert_says(&out, &["service_account_key"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
}

#[test]
fn custom_field_codes_must_follow_the_pattern() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let long = "a".repeat(31);
    for code in [
        "Bad-Code",
        "bad-code",
        "Token",
        "_token",
        "9token",
        long.as_str(),
    ] {
        for flag in ["--set", "--secret"] {
            let value = if flag == "--set" { "x" } else { "env:PW" };
            let out = refused(
                &env,
                env.ohx()
                    .args(["connection", "add", "custom", "--name", "Kobo", flag])
                    .arg(format!("{code}={value}"))
                    .env("PW", random_canary()),
                2,
            );
            assert_says(&out, &[code]);
        }
    }
    env.ohx()
        .args(["connection", "add", "custom", "--name", "Kobo", "--set"])
        .arg(format!("{}=x", "a".repeat(30)))
        .ok();
}

#[test]
fn a_name_longer_than_40_characters_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for name in ["a".repeat(41), "é".repeat(41)] {
        let out = refused(
            &env,
            env.ohx()
                .args([
                    "connection",
                    "add",
                    "s3",
                    "--set",
                    "bucket_name=lake",
                    "--name",
                ])
                .arg(&name),
            2,
        );
        assert_says(&out, &["40"]);
    }
    // Characters, not bytes: forty accented letters are a valid name.
    for (name, slug) in [("a".repeat(40), "long-a"), ("é".repeat(40), "long-e")] {
        env.ohx()
            .args([
                "connection",
                "add",
                "s3",
                "--set",
                "bucket_name=lake",
                "--slug",
                slug,
                "--name",
            ])
            .arg(&name)
            .ok();
        assert_eq!(entry(&list_json(&env), slug)["name"], name.as_str());
    }
}

#[test]
fn an_empty_name_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for name in ["", "   "] {
        refused(
            &env,
            env.ohx().args([
                "connection",
                "add",
                "s3",
                "--set",
                "bucket_name=lake",
                "--slug",
                "lake",
                "--name",
                name,
            ]),
            2,
        );
    }
}

#[test]
fn type_names_are_case_insensitive_and_postgres_and_pg_mean_postgresql() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for (n, kind) in [
        "postgresql",
        "PostgreSQL",
        "POSTGRES",
        "postgres",
        "pg",
        "PG",
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("pg{n}");
        env.ohx()
            .args(["connection", "add", kind, "--name", "W", "--slug", &id])
            .args([
                "--set",
                "host=h",
                "--set",
                "username=u",
                "--set",
                "db_name=d",
                "--secret",
                "password=env:PW",
            ])
            .env("PW", random_canary())
            .ok();
        assert_eq!(entry(&list_json(&env), &id)["type"], "postgresql", "{kind}");
    }
    for (kind, stored) in [
        ("DHIS2", "dhis2"),
        ("Iaso", "iaso"),
        ("S3", "s3"),
        ("Custom", "custom"),
    ] {
        let id = format!("{stored}-upper");
        let mut cmd = env
            .ohx()
            .args(["connection", "add", kind, "--name", "X", "--slug", &id]);
        cmd = match stored {
            "dhis2" | "iaso" => cmd
                .args(["--set", "url=https://x.org", "--set", "username=u"])
                .args(["--secret", "password=env:PW"])
                .env("PW", random_canary()),
            "s3" => cmd.args(["--set", "bucket_name=lake"]),
            _ => cmd.args(["--set", "url=https://x.org"]),
        };
        cmd.ok();
        assert_eq!(entry(&list_json(&env), &id)["type"], stored);
    }
    let gcs = gcs_secret(Source::File);
    with_secrets(
        &env,
        env.ohx().args([
            "connection",
            "add",
            "GCS",
            "--name",
            "Archive",
            "--set",
            "bucket_name=archive",
        ]),
        "gcs-upper",
        std::slice::from_ref(&gcs),
    )
    .ok();
    assert_eq!(entry(&list_json(&env), "archive")["type"], "gcs");
}

#[test]
fn an_unknown_type_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for kind in ["mysql", "postgresq", "s4", ""] {
        let out = refused(
            &env,
            env.ohx().args([
                "connection",
                "add",
                kind,
                "--name",
                "X",
                "--set",
                "url=https://x.org",
            ]),
            2,
        );
        assert_says(&out, &["postgresql", "dhis2", "custom"]);
    }
}

#[test]
fn the_identifier_is_made_from_the_name() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for (name, slug) in [
        ("Données Sénégal – 2024", "donnees-senegal-2024"),
        ("  My DB!! (prod) ", "my-db-prod"),
        ("HMIS_Warehouse", "hmis-warehouse"),
    ] {
        env.ohx()
            .args([
                "connection",
                "add",
                "s3",
                "--set",
                "bucket_name=lake",
                "--name",
                name,
            ])
            .ok();
        assert_eq!(entry(&list_json(&env), slug)["name"], name);
    }
}

#[test]
fn an_explicit_slug_is_used_and_checked() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    env.ohx()
        .args([
            "connection",
            "add",
            "s3",
            "--set",
            "bucket_name=lake",
            "--name",
            "Données Sénégal",
            "--slug",
            "sn-lake",
        ])
        .ok();
    assert_eq!(identifiers(&list_json(&env)), ["sn-lake"]);
    for bad in ["SN-Lake", "2024-lake", "-lake", "sn lake", "sn_lake"] {
        refused(
            &env,
            env.ohx().args([
                "connection",
                "add",
                "s3",
                "--set",
                "bucket_name=lake",
                "--name",
                "L",
                "--slug",
                bad,
            ]),
            2,
        );
    }
}

#[test]
fn an_identifier_clash_names_the_existing_connection() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    env.ohx()
        .args([
            "connection",
            "add",
            "s3",
            "--set",
            "bucket_name=lake",
            "--name",
            "HMIS Lake",
        ])
        .ok();
    for cmd in [
        env.ohx().args([
            "connection",
            "add",
            "s3",
            "--set",
            "bucket_name=other",
            "--name",
            "hmis lake",
        ]),
        env.ohx().args([
            "connection",
            "add",
            "custom",
            "--set",
            "url=https://x.org",
            "--name",
            "Other",
            "--slug",
            "hmis-lake",
        ]),
    ] {
        let before = state(&env);
        let out = cmd.fails_somehow();
        assert_eq!(before, state(&env), "a clash changed the store\n{out}");
        assert_says(&out, &["hmis-lake", "HMIS Lake"]);
    }
}

#[test]
fn identifiers_that_would_shadow_sensitive_variables_are_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for (name, slug) in [
        ("Search path", Some("path")),
        ("Loader", Some("ld")),
        ("Git", Some("git-x")),
        ("Home", Some("home")),
        ("Python", None),
        ("Ssh keys", None),
    ] {
        let mut cmd = env.ohx().args([
            "connection",
            "add",
            "s3",
            "--set",
            "bucket_name=lake",
            "--name",
            name,
        ]);
        if let Some(slug) = slug {
            cmd = cmd.args(["--slug", slug]);
        }
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["environment variable"]);
    }
}

#[test]
fn a_custom_code_that_would_shadow_a_sensitive_variable_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    // Identifier `ld` alone is not a sensitive name, but its fields (LD_PRELOAD...) are.
    let out = refused(
        &env,
        env.ohx().args([
            "connection",
            "add",
            "custom",
            "--name",
            "Lib",
            "--slug",
            "ld",
            "--set",
            "preload=/tmp/evil.so",
        ]),
        2,
    );
    assert_says(&out, &["LD_PRELOAD"]);
}

#[test]
fn a_secret_given_with_set_is_refused_without_showing_it() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let cases: [(&str, &[&str], &str); 5] = [
        (
            "postgresql",
            &["host=h", "username=u", "db_name=d"],
            "password",
        ),
        ("dhis2", &["url=https://x.org", "username=u"], "password"),
        ("iaso", &["url=https://x.org", "username=u"], "password"),
        (
            "s3",
            &["bucket_name=lake", "access_key_id=AKIA"],
            "access_key_secret",
        ),
        ("gcs", &["bucket_name=lake"], "service_account_key"),
    ];
    for (kind, plain, code) in cases {
        let mut cmd = env.ohx().args(["connection", "add", kind, "--name", "X"]);
        for p in plain {
            cmd = cmd.args(["--set", p]);
        }
        let out = refused(&env, cmd.arg("--set").arg(format!("{code}={canary}")), 2);
        assert_says(&out, &[code, "--secret"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
}

#[test]
fn a_literal_secret_on_the_command_line_is_refused_without_showing_it() {
    let (env, specs) = team();
    let canary = random_canary();
    let literal_add = postgresql_cmd(&env, &[], &format!("password={canary}"));
    let literal_edit = env
        .ohx()
        .args(["connection", "edit", "warehouse", "--secret"])
        .arg(format!("password={canary}"));
    let literal_custom = env
        .ohx()
        .args(["connection", "add", "custom", "--name", "K", "--secret"])
        .arg(format!("token={canary}"));
    for cmd in [literal_add, literal_edit, literal_custom] {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["command line"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
    assert_eq!(
        revealed(&env, "warehouse", "password"),
        specs[0].secrets[0].value
    );
}

#[test]
fn an_empty_secret_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let empty_file = env.root().join("empty");
    std::fs::write(&empty_file, "").expect("write empty file");
    let cases = [
        // The harness gives an empty stdin (/dev/null) unless told otherwise.
        postgresql_cmd(&env, &[], "password=-"),
        postgresql_cmd(&env, &[], "password=-").stdin(""),
        postgresql_cmd(&env, &[], "password=-").stdin("\n"),
        postgresql_cmd(&env, &[], "password=env:PW").env("PW", ""),
        postgresql_cmd(
            &env,
            &[],
            &format!("password=file:{}", empty_file.display()),
        ),
    ];
    for cmd in cases {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["password", "empty"]);
    }
}

#[test]
fn a_nul_byte_in_a_secret_is_refused_naming_the_field() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let with_nul = format!("{canary}\0tail");
    let path = env.root().join("nul.secret");
    std::fs::write(&path, &with_nul).expect("write file");
    let cases = [
        (
            "password",
            postgresql_cmd(&env, &[], &format!("password=file:{}", path.display())),
        ),
        (
            "token",
            env.ohx()
                .args(["connection", "add", "custom", "--name", "K", "--secret"])
                .arg(format!("token=file:{}", path.display())),
        ),
        (
            "token",
            env.ohx()
                .args([
                    "connection",
                    "add",
                    "custom",
                    "--name",
                    "K",
                    "--secret",
                    "token=-",
                ])
                .stdin(with_nul.clone()),
        ),
    ];
    for (code, cmd) in cases {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &[code, "NUL"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
}

#[test]
fn invalid_utf8_in_a_secret_is_refused_naming_the_field() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let bytes: &[u8] = b"caf\xe9-\xff\xfe";
    let path = env.root().join("latin1.secret");
    std::fs::write(&path, bytes).expect("write file");
    let base = || {
        env.ohx()
            .args(["connection", "add", "custom", "--name", "K", "--secret"])
    };
    let cases = [
        base().arg(format!("token=file:{}", path.display())),
        base().arg("token=-").stdin(bytes),
        base()
            .arg("token=env:TOKEN")
            .env("TOKEN", std::ffi::OsStr::from_bytes(bytes)),
    ];
    for cmd in cases {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["token", "UTF-8"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Workspaces and WORKSPACE/IDENTIFIER references
// ---------------------------------------------------------------------------------------------

/// Alice admin of `malaria` and `tb`, each with a postgresql `warehouse` on its own host.
fn two_workspaces() -> Env {
    let env = Env::new();
    env.admin_with_workspace("malaria");
    env.ohx()
        .args(["workspace", "create", "tb", "--slug", "tb"])
        .ok();
    for ws in ["malaria", "tb"] {
        postgresql_cmd(
            &env,
            &[&format!("host={ws}.example.org")],
            "password=env:PW",
        )
        .args(["--slug", "warehouse", "-w", ws])
        .env("PW", format!("{ws}-{}", random_canary()))
        .ok();
    }
    env.ohx()
        .args(["connection", "add", "s3", "-w", "tb", "--name", "TB Lake"])
        .args(["--set", "bucket_name=tb-lake"])
        .ok();
    env
}

#[test]
fn list_without_a_default_among_two_workspaces_names_the_choices() {
    let env = two_workspaces();
    let out = env.ohx().args(["connection", "list"]).fails(2);
    assert_says(&out, &["malaria", "tb"]);
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn list_takes_the_workspace_from_w_workspace_or_ohx_workspace() {
    let env = two_workspaces();
    let cases = [
        env.ohx()
            .args(["connection", "list", "--workspace", "malaria", "--json"]),
        env.ohx()
            .args(["connection", "list", "-w", "malaria", "--json"]),
        env.ohx()
            .args(["-w", "malaria", "connection", "list", "--json"]),
        env.ohx()
            .args(["connection", "list", "--json"])
            .env("OHX_WORKSPACE", "malaria"),
    ];
    for cmd in cases {
        let list = cmd.ok().json();
        assert_eq!(identifiers(&list), ["warehouse"]);
        assert_eq!(entry(&list, "warehouse")["workspace"], "malaria");
    }
    let tb = env
        .ohx()
        .args(["connection", "list", "-w", "tb", "--json"])
        .ok()
        .json();
    assert_eq!(identifiers(&tb), ["tb-lake", "warehouse"]);
    let table = env.ohx().args(["connection", "list", "-w", "tb"]).ok();
    assert!(table.stdout.contains("tb-lake"), "{table}");
}

#[test]
fn workspace_slash_identifier_works_for_show_edit_and_delete() {
    let env = two_workspaces();
    let host = |reference: &str| {
        let shown = env
            .ohx()
            .args(["connection", "show", reference, "--json"])
            .ok()
            .json();
        fields_of(&shown)["host"].1.clone()
    };
    assert_eq!(host("malaria/warehouse"), "malaria.example.org");
    assert_eq!(host("tb/warehouse"), "tb.example.org");
    let revealed = env
        .ohx()
        .args(["connection", "show", "tb/warehouse", "--reveal", "--json"])
        .ok()
        .json();
    assert!(fields_of(&revealed)["password"].1.starts_with("tb-"));

    env.ohx()
        .args([
            "connection",
            "edit",
            "tb/warehouse",
            "--set",
            "host=new.example.org",
        ])
        .ok();
    assert_eq!(host("tb/warehouse"), "new.example.org");
    assert_eq!(host("malaria/warehouse"), "malaria.example.org");

    env.ohx()
        .args(["connection", "delete", "malaria/warehouse", "--yes"])
        .ok();
    env.ohx()
        .args(["connection", "show", "malaria/warehouse"])
        .fails(3);
    assert_eq!(host("tb/warehouse"), "new.example.org");
    let malaria = env
        .ohx()
        .args(["connection", "list", "-w", "malaria", "--json"])
        .ok()
        .json();
    assert_eq!(identifiers(&malaria), Vec::<String>::new());
}

#[test]
fn a_reference_to_another_workspace_wins_over_w() {
    let env = two_workspaces();
    let shown = env
        .ohx()
        .args([
            "connection",
            "show",
            "tb/tb-lake",
            "-w",
            "malaria",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(shown["workspace"], "tb");
}

// ---------------------------------------------------------------------------------------------
// Canaries: where secrets must never appear
// ---------------------------------------------------------------------------------------------

#[test]
fn the_canary_search_finds_what_is_there() {
    // base64 of "Man" is "TWFu"; of "xMan", "eE1hbg" of which "1hbg" encodes only "Man"'s bits.
    assert_eq!(base64(b"Man"), "TWFu");
    assert_eq!(base64(b"Ma"), "TWE");
    assert_eq!(base64_core(b"Man", 0), "TWFu");
    assert_eq!(base64(b"xMan"), "eE1hbg");
    assert_eq!(base64_core(b"Man", 1), "1hb");
    let secret = b"canary-0123456789abcdef01234567";
    for skip in 0..3 {
        let mut blob = b"prefix".to_vec();
        blob.extend(std::iter::repeat_n(b'x', skip));
        blob.extend_from_slice(secret);
        blob.extend_from_slice(b"suffix");
        let encoded = base64(&blob);
        // Whatever the alignment in the blob, one of the three forms is in its encoding.
        let found = (0..3).any(|k| encoded.contains(&base64_core(secret, k)));
        assert!(found, "alignment {skip}: {encoded}");
    }
}

#[test]
fn canary_secrets_never_reach_the_store_files_in_any_form() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "carol", "editor", None);
    // An open connection keeps the -wal and -shm files (and everything written to them) on disk
    // while ohx runs; without it, the last ohx to close would fold the WAL into the store.
    let keeper = open_db(&env.store());
    let _: i64 = keeper
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .expect("read the store");

    let specs = all_types();
    let mut canaries: Vec<String> = specs.iter().flat_map(Spec::canaries).collect();
    let mut outcomes = Vec::new();
    for spec in &specs {
        outcomes.push(add_cmd(&env, "alice", spec).ok());
    }
    // A secret replaced by an edit, one refused by a validation after it was read, one whose
    // connection is deleted, and a key rotation re-encrypting everything.
    let replaced = secret("password", Source::Stdin);
    canaries.push(replaced.canary.clone());
    outcomes.push(
        with_secrets(
            &env,
            env.ohx().args(["connection", "edit", "warehouse"]),
            "edit",
            std::slice::from_ref(&replaced),
        )
        .ok(),
    );
    let refused_canary = random_canary();
    canaries.push(refused_canary.clone());
    outcomes.push(
        postgresql_cmd(&env, &["port=70000"], "password=env:PW")
            .env("PW", &refused_canary)
            .fails(2),
    );
    let deleted = random_canary();
    canaries.push(deleted.clone());
    outcomes.push(add_postgresql(&env, "short-lived", &deleted));
    outcomes.push(
        env.ohx()
            .args(["connection", "delete", "short-lived", "--yes"])
            .ok(),
    );
    outcomes.push(env.ohx().args(["member", "remove", "carol", "--yes"]).ok());
    for spec in &specs {
        outcomes.push(
            env.ohx()
                .args(["connection", "show", spec.id, "--reveal"])
                .ok(),
        );
    }

    let wal = sidecar(&env.store(), "-wal");
    let shm = sidecar(&env.store(), "-shm");
    let searched = assert_no_canary_in_files(&env, &canaries);
    for file in [&env.store(), &wal, &shm] {
        assert!(
            searched.contains(file),
            "{} was not there to search",
            file.display()
        );
    }
    assert!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0,
        "the WAL is empty: the search proves nothing"
    );
    // The search works: plain values are there, in the WAL or the store.
    let all: Vec<u8> = [&env.store(), &wal]
        .iter()
        .flat_map(|p| std::fs::read(p).expect("read store file"))
        .collect();
    for plain in [
        "db.example.org",
        "etl_reader",
        "AKIAIOSFODNN7EXAMPLE",
        "kf.kobotoolbox.org",
    ] {
        assert!(
            contains(&all, plain.as_bytes()),
            "{plain} is not in the store"
        );
    }

    drop(keeper);
    assert_no_canary_in_files(&env, &canaries);
    let outcome_refs: Vec<&Outcome> = outcomes.iter().collect();
    assert_no_canary_on_stderr(&canaries, &outcome_refs);
}

#[test]
fn canary_secrets_never_appear_on_stderr_of_any_command() {
    let (env, specs) = team();
    let canaries: Vec<String> = specs.iter().flat_map(Spec::canaries).collect();
    let mut outcomes = Vec::new();
    for spec in &specs {
        for person in ["alice", "bob", "carol"] {
            for args in [
                vec!["connection", "show", spec.id],
                vec!["connection", "show", spec.id, "--reveal"],
                vec!["connection", "show", spec.id, "--reveal", "--json"],
                vec!["connection", "list"],
                vec!["connection", "list", "--json"],
                vec!["connection", "edit", spec.id, "--description", "d"],
                vec!["connection", "get", spec.id, spec.secrets[0].code],
                vec!["connection", "env", spec.id],
                vec!["connection", "url", spec.id],
            ] {
                outcomes.push(env.ohx_as(person).args(&args).run());
            }
        }
        // The same secrets fed again into commands that fail: after reading them (an identifier
        // clash, an invalid identifier) or before (a viewer).
        outcomes.push(add_cmd(&env, "alice", spec).run());
        outcomes.push(
            add_cmd(&env, "alice", spec)
                .args(["--slug", "Bad Slug"])
                .run(),
        );
        outcomes.push(add_cmd(&env, "bob", spec).run());
    }
    let refs: Vec<&Outcome> = outcomes.iter().collect();
    assert!(
        refs.iter().any(|o| o.status != 0) && refs.iter().any(|o| o.status == 0),
        "the battery should hold successes and failures"
    );
    assert_no_canary_on_stderr(&canaries, &refs);
}

#[test]
fn a_secret_from_stdin_is_not_on_the_command_line_of_the_running_process() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let args = [
        "connection",
        "add",
        "postgresql",
        "--name",
        "Warehouse",
        "--set",
        "host=db.example.org",
        "--set",
        "username=etl",
        "--set",
        "db_name=dwh",
        "--secret",
        "password=-",
    ];
    let mut child = env.ohx().args(args).stdin_kept_open().spawn();
    let mut stdin = child.stdin.take().expect("stdin pipe");
    let proc_dir = PathBuf::from(format!("/proc/{}", child.id()));

    // ohx now waits on its stdin, which is open and empty.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().expect("poll ohx").is_none(),
        "ohx did not wait for the secret on stdin"
    );
    let exe = std::fs::read_link(proc_dir.join("exe")).expect("read /proc/PID/exe");
    let ohx = std::fs::canonicalize(env!("CARGO_BIN_EXE_ohx")).expect("canonical ohx path");
    assert_eq!(exe, ohx, "the process is not ohx yet");
    let cmdline = std::fs::read(proc_dir.join("cmdline")).expect("read /proc/PID/cmdline");
    let words: Vec<&[u8]> = cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(
        words.len(),
        args.len() + 1,
        "{:?}",
        String::from_utf8_lossy(&cmdline)
    );
    assert!(cmdline.windows(10).any(|w| w == b"password=-"));
    for (form, needle) in leaked_forms(&canary) {
        assert!(
            !contains(&cmdline, &needle),
            "cmdline holds the canary ({form})"
        );
    }

    stdin
        .write_all(format!("{canary}\n").as_bytes())
        .expect("write the secret");
    drop(stdin);
    let out = finishes_within(child, Duration::from_secs(30), "connection add");
    assert_eq!(out.status, 0, "{out}");
    assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    assert_eq!(revealed(&env, "warehouse", "password"), canary);
}

// ---------------------------------------------------------------------------------------------
// Tampered ciphertexts
// ---------------------------------------------------------------------------------------------

/// Alice admin with postgresql `a` and `b`, each with its own canary password.
fn two_connections() -> (Env, String, String) {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let (a, b) = (random_canary(), random_canary());
    add_postgresql(&env, "a", &a);
    add_postgresql(&env, "b", &b);
    (env, a, b)
}

/// Every way of using `id`'s secrets fails with status 5 and prints nothing on stdout.
#[track_caller]
fn secrets_are_rejected(env: &Env, id: &str, canaries: &[String]) {
    for args in [
        vec!["connection", "show", id, "--reveal"],
        vec!["connection", "show", id, "--reveal", "--json"],
        vec!["connection", "get", id, "password"],
        vec!["connection", "env", id],
        vec!["connection", "url", id],
    ] {
        let out = env.ohx().args(&args).fails(5);
        assert!(
            out.stdout.is_empty(),
            "`ohx {}` printed on stdout\n{out}",
            args.join(" ")
        );
        assert_says(&out, &[id, "password"]);
        assert_no_canary_anywhere(canaries, &out);
    }
}

#[test]
fn a_ciphertext_copied_from_another_connection_is_rejected() {
    let (env, a, b) = two_connections();
    let (id_a, id_b) = (connection_id(&env, WS, "a"), connection_id(&env, WS, "b"));
    let changed = open_db(&env.store())
        .execute(
            "UPDATE fields SET ciphertext = (SELECT ciphertext FROM fields
                 WHERE connection_id = ?1 AND code = 'password')
             WHERE connection_id = ?2 AND code = 'password'",
            [id_a, id_b],
        )
        .expect("copy ciphertext");
    assert_eq!(changed, 1);
    secrets_are_rejected(&env, "b", &[a.clone(), b]);
    assert_eq!(
        revealed(&env, "a", "password"),
        a,
        "the original still opens"
    );
}

#[test]
fn a_ciphertext_copied_from_another_field_is_rejected() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let token = secret("token", Source::Env);
    let password = secret("password", Source::Stdin);
    with_secrets(
        &env,
        env.ohx()
            .args(["connection", "add", "custom", "--name", "K"]),
        "k",
        &[token, password],
    )
    .ok();
    let id = connection_id(&env, WS, "k");
    let token_ciphertext = ciphertext(&env, id, "token");
    set_ciphertext(&env, id, "password", &token_ciphertext);
    let out = env
        .ohx()
        .args(["connection", "show", "k", "--reveal"])
        .fails(5);
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn a_bit_flipped_ciphertext_is_rejected() {
    let (env, a, b) = two_connections();
    let id = connection_id(&env, WS, "b");
    let original = ciphertext(&env, id, "password");
    for at in [original.len() / 2, original.len() - 1] {
        let mut flipped = original.clone();
        flipped[at] ^= 0x01;
        set_ciphertext(&env, id, "password", &flipped);
        secrets_are_rejected(&env, "b", &[a.clone(), b.clone()]);
    }
    set_ciphertext(&env, id, "password", &original);
    assert_eq!(revealed(&env, "b", "password"), b, "the restored row opens");
}

#[test]
fn a_truncated_ciphertext_is_rejected() {
    let (env, a, b) = two_connections();
    let id = connection_id(&env, WS, "b");
    let original = ciphertext(&env, id, "password");
    for len in [
        original.len() - 1,
        original.len() - 16,
        original.len() / 2,
        1,
    ] {
        set_ciphertext(&env, id, "password", &original[..len]);
        secrets_are_rejected(&env, "b", &[a.clone(), b.clone()]);
    }
}

#[test]
fn a_ciphertext_moved_from_another_workspace_is_rejected() {
    let env = two_workspaces();
    let from = connection_id(&env, "malaria", "warehouse");
    let to = connection_id(&env, "tb", "warehouse");
    let moved = ciphertext(&env, from, "password");
    set_ciphertext(&env, to, "password", &moved);
    for args in [
        vec!["connection", "show", "tb/warehouse", "--reveal"],
        vec!["connection", "get", "tb/warehouse", "password"],
    ] {
        let out = env.ohx().args(&args).fails(5);
        assert!(out.stdout.is_empty(), "{out}");
        assert!(!out.stderr.contains("malaria-"), "{out}");
    }
}

// ---------------------------------------------------------------------------------------------
// Multi-line GCS service-account keys
// ---------------------------------------------------------------------------------------------

/// The key as `show --reveal --json` and `get -n` give it back.
fn gcs_key_back(env: &Env, id: &str) -> (String, String) {
    let shown = fields_of(&show_json(env, "alice", id, true));
    let got = env
        .ohx()
        .args(["connection", "get", id, "service_account_key", "-n"])
        .ok()
        .stdout;
    (shown["service_account_key"].1.clone(), got)
}

#[test]
fn a_multi_line_gcs_key_from_a_file_comes_back_byte_for_byte() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let key = gcs_secret(Source::File);
    assert!(key.value.lines().count() > 5 && key.value.ends_with("}\n"));
    assert!(key.value.contains("-----BEGIN PRIVATE KEY-----\\n"));
    with_secrets(
        &env,
        env.ohx().args([
            "connection",
            "add",
            "gcs",
            "--name",
            "Archive",
            "--set",
            "bucket_name=archive",
        ]),
        "archive",
        std::slice::from_ref(&key),
    )
    .ok();
    let (shown, got) = gcs_key_back(&env, "archive");
    assert_eq!(shown, key.value);
    assert_eq!(got, key.value);
}

#[test]
fn a_multi_line_gcs_key_from_stdin_keeps_every_line_and_the_trailing_newline() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let key = gcs_key(&canary);
    env.ohx()
        .args([
            "connection",
            "add",
            "gcs",
            "--name",
            "Archive",
            "--set",
            "bucket_name=archive",
            "--secret",
            "service_account_key=-",
        ])
        .stdin(key.clone())
        .ok();
    let (shown, got) = gcs_key_back(&env, "archive");
    assert_eq!(shown, key);
    assert_eq!(got, key);
    // The private key inside still parses to the PEM with real line breaks.
    let parsed: Value = serde_json::from_str(&got).expect("the key is JSON");
    let pem = parsed["private_key"].as_str().expect("private_key");
    assert!(
        pem.starts_with("-----BEGIN PRIVATE KEY-----\n") && pem.contains(&format!("\n{canary}\n"))
    );
}

// ---------------------------------------------------------------------------------------------
// Key rotation after a member leaves
// ---------------------------------------------------------------------------------------------

/// Alice admin, carol editor; postgresql `warehouse` (password returned) and an s3 `public-lake`
/// without keys; then carol is removed.
fn after_carol_leaves() -> (Env, String) {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "carol", "editor", None);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password);
    env.ohx()
        .args(["connection", "add", "s3", "--name", "Public Lake"])
        .args(["--set", "bucket_name=public-lake"])
        .ok();
    env.ohx().args(["member", "remove", "carol", "--yes"]).ok();
    (env, password)
}

#[test]
fn removing_an_editor_marks_connections_with_secrets_for_rotation() {
    let (env, _) = after_carol_leaves();
    let list = list_json(&env);
    assert_eq!(
        entry(&list, "warehouse")["needs_rotation"],
        true,
        "{list:#}"
    );
    assert_eq!(
        entry(&list, "public-lake")["needs_rotation"],
        false,
        "{list:#}"
    );

    let table = env.ohx().args(["connection", "list"]).ok();
    let row = |id: &str| {
        table
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}\n{table}"))
            .to_string()
    };
    assert!(row("warehouse").contains("rotate at source"), "{table}");
    assert!(!row("public-lake").contains("rotate"), "{table}");

    let shown = env.ohx().args(["connection", "show", "warehouse"]).ok();
    assert!(shown.stdout.contains("rotate at source"), "{shown}");
    assert_eq!(
        show_json(&env, "alice", "warehouse", false)["needs_rotation"],
        true
    );
    let lake = env.ohx().args(["connection", "show", "public-lake"]).ok();
    assert!(!lake.stdout.contains("rotate"), "{lake}");
}

#[test]
fn after_removal_the_admin_still_reveals_and_the_removed_editor_cannot() {
    let (env, password) = after_carol_leaves();
    assert_eq!(revealed(&env, "warehouse", "password"), password);
    // Carol now belongs to no workspace, so she names it; a bare identifier would be a usage
    // error ("you are not a member of any workspace yet", status 2) before any permission check.
    for args in [
        vec!["connection", "show", "malaria/warehouse", "--reveal"],
        vec![
            "connection",
            "show",
            "warehouse",
            "--reveal",
            "-w",
            "malaria",
        ],
        vec!["connection", "show", "malaria/warehouse"],
        vec!["connection", "get", "malaria/warehouse", "password"],
    ] {
        let out = env.ohx_as("carol").args(&args).fails(4);
        assert!(out.stdout.is_empty(), "{out}");
        assert_no_canary_anywhere(std::slice::from_ref(&password), &out);
    }
}

#[test]
fn editing_the_secret_clears_the_rotation_mark() {
    let (env, _) = after_carol_leaves();
    let new = random_canary();
    env.ohx()
        .args(["connection", "edit", "warehouse", "--secret", "password=-"])
        .stdin(format!("{new}\n"))
        .ok();
    assert_eq!(
        entry(&list_json(&env), "warehouse")["needs_rotation"],
        false
    );
    let shown = env.ohx().args(["connection", "show", "warehouse"]).ok();
    assert!(!shown.stdout.contains("rotate"), "{shown}");
    assert_eq!(revealed(&env, "warehouse", "password"), new);
}

#[test]
fn editing_only_plain_fields_keeps_the_rotation_mark() {
    let (env, _) = after_carol_leaves();
    env.ohx()
        .args([
            "connection",
            "edit",
            "warehouse",
            "--set",
            "host=db2.example.org",
        ])
        .args(["--name", "Warehouse 2"])
        .ok();
    assert_eq!(entry(&list_json(&env), "warehouse")["needs_rotation"], true);
}

#[test]
fn a_removed_editor_cannot_decrypt_the_stored_secret_with_age() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "carol", "editor", None);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password);
    let id = connection_id(&env, WS, "warehouse");
    let carol = age_identity(&env.identity_of("carol"));

    // While she is an editor, carol's identity file opens the stored secret: this proves the
    // method that must fail afterwards.
    let old_sealed = ciphertext(&env, id, "password");
    let her_copy = wrapped_key_of(&env, WS, "carol").expect("carol holds a key");
    let old_key = unwrap_key(&her_copy, &carol).expect("carol unwraps her key");
    let plain = age::decrypt(&old_key, &old_sealed).expect("the old key opens the old secret");
    assert!(plain.ends_with(password.as_bytes()));

    env.ohx().args(["member", "remove", "carol", "--yes"]).ok();

    assert_eq!(
        wrapped_key_of(&env, WS, "carol"),
        None,
        "carol still holds a key"
    );
    let new_sealed = ciphertext(&env, id, "password");
    assert_ne!(new_sealed, old_sealed, "the secret was not re-encrypted");
    assert!(
        age::decrypt(&carol, &new_sealed).is_err(),
        "carol's identity decrypts the stored secret"
    );
    assert!(
        age::decrypt(&old_key, &new_sealed).is_err(),
        "the workspace key carol could have copied decrypts the stored secret"
    );
    let alices = wrapped_key_of(&env, WS, "alice").expect("alice holds a key");
    assert!(
        unwrap_key(&alices, &carol).is_none(),
        "carol unwraps the new key"
    );
    assert_eq!(revealed(&env, "warehouse", "password"), password);
}

#[test]
fn a_viewer_cannot_decrypt_stored_secrets_with_age() {
    let (env, specs) = team();
    let bob = age_identity(&env.identity_of("bob"));
    assert_eq!(
        wrapped_key_of(&env, WS, "bob"),
        None,
        "a viewer holds no key"
    );
    let alice_key = wrapped_key_of(&env, WS, "alice").expect("alice holds a key");
    assert!(unwrap_key(&alice_key, &bob).is_none());
    for spec in &specs {
        let id = connection_id(&env, WS, spec.id);
        for s in &spec.secrets {
            assert!(age::decrypt(&bob, &ciphertext(&env, id, s.code)).is_err());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Interactive add on a real terminal (tmux)
// ---------------------------------------------------------------------------------------------

/// A private tmux server, killed when dropped.
struct Tmux {
    socket: String,
    tmpdir: PathBuf,
    session: String,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("HOME", &self.tmpdir)
            .env("TMUX_TMPDIR", &self.tmpdir)
            .env("SHELL", "/bin/sh")
            .args(["-L", &self.socket]);
        c
    }

    #[track_caller]
    fn run(&self, args: &[&str]) -> String {
        let out = self
            .command()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux {args:?}: {e}"));
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The whole pane, scrollback included.
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", &self.session])
    }

    /// Types `text` literally, then Enter.
    fn type_line(&self, text: &str) {
        self.run(&["send-keys", "-t", &self.session, "-l", text]);
        self.run(&["send-keys", "-t", &self.session, "Enter"]);
    }

    /// Waits until the pane shows `text`; fails (showing the pane) after ten seconds.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the terminal never showed {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `'text'` for sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[test]
fn an_interactive_dhis2_add_asks_for_everything_and_hides_the_password() {
    if !tmux_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required when CI is set (install it with .ci/setup)"
        );
        eprintln!("skipping an_interactive_dhis2_add_asks_for_everything_and_hides_the_password: tmux is not installed");
        return;
    }
    let env = Env::new();
    env.admin_with_workspace(WS);
    let password = random_canary();
    let exit_file = env.root().join("exit-status");
    let conf = env.root().join("tmux.conf");
    // Keep the pane after ohx exits, so a failure can still be read on it.
    std::fs::write(&conf, "set -g remain-on-exit on\n").expect("write tmux.conf");
    let tag = random_canary();
    let tmux = Tmux {
        socket: format!("ohx-{}-{}", std::process::id(), &tag[7..15]),
        tmpdir: env.root().to_path_buf(),
        session: "add".to_string(),
    };
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    let script = format!(
        "env -i PATH={} HOME={} OHX_HOME={} USER=alice TERM=screen {} connection add dhis2; echo EXIT=$? > {}",
        sh_quote(&path),
        sh_quote(&env.root().display().to_string()),
        sh_quote(&env.home().display().to_string()),
        sh_quote(env!("CARGO_BIN_EXE_ohx")),
        sh_quote(&exit_file.display().to_string()),
    );
    tmux.run(&[
        "-f",
        &conf.display().to_string(),
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "50",
        "-s",
        "add",
        &script,
    ]);

    let mut screens = Vec::new();
    for (prompt, answer) in [
        ("Name", "DHIS2 Prod"),
        ("URL", "https://play.dhis2.org/40/api/"),
        ("Username", "dhis2_admin"),
        ("Password (hidden)", password.as_str()),
        ("Repeat", password.as_str()),
    ] {
        screens.push(tmux.wait_for(prompt));
        tmux.type_line(answer);
    }
    let summary = tmux.wait_for("Save this connection?");
    assert!(summary.contains("https://play.dhis2.org/40"), "{summary}");
    assert!(summary.contains("********"), "{summary}");
    screens.push(summary);
    tmux.run(&["send-keys", "-t", "add", "y"]);

    let started = Instant::now();
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&exit_file) {
            if text.ends_with('\n') {
                break text.trim().to_string();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "ohx did not finish:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let last = tmux.screen();
    assert_eq!(status, "EXIT=0", "{last}");
    screens.push(last);
    for screen in &screens {
        assert!(
            !screen.contains(&password),
            "the typed password is on the terminal:\n{screen}"
        );
    }
    drop(tmux);

    let fields = fields_of(&show_json(&env, "alice", "dhis2-prod", true));
    assert_eq!(
        fields,
        BTreeMap::from([
            (
                "url".to_string(),
                (false, "https://play.dhis2.org/40".to_string())
            ),
            ("username".to_string(), (false, "dhis2_admin".to_string())),
            ("password".to_string(), (true, password.clone())),
        ])
    );
    assert_eq!(entry(&list_json(&env), "dhis2-prod")["name"], "DHIS2 Prod");
}
