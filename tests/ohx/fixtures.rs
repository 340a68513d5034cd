//! Command-level fixtures the test modules share: people joining a workspace, `connection add`
//! with its plain fields, a realistic GCS key, the runtime folder of `ohx run`, and what a child
//! of `ohx run` sees in its environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::harness::{set_mode, Cmd, Env};

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
