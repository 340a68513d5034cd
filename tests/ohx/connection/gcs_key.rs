//! A multi-line GCS service-account key comes back byte for byte on every path: added from a
//! file, from stdin and from a variable; read with `show`, `get`, `env` and `run`'s key file.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::connection::support::{
    add_gcs_archive, fields_of, gcs_secret, show_json, with_secrets, Source, WS,
};
use crate::fixtures::{gcs_key, runtime_dir};
use crate::harness::{random_canary, Env};

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
        add_gcs_archive(&env),
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
    add_gcs_archive(&env)
        .args(["--secret", "service_account_key=-"])
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

#[test]
fn a_multi_line_gcs_key_from_an_environment_variable_survives_get_env_and_runs_key_file() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let key = gcs_key(&canary);
    assert!(key.lines().count() > 5 && key.ends_with("}\n"));
    let add = env
        .ohx()
        .args([
            "connection",
            "add",
            "gcs",
            "--name",
            "Lake",
            "--set",
            "bucket_name=hmis-lake",
        ])
        .args(["--secret", "service_account_key=env:GCS_KEY"])
        .env("GCS_KEY", &key)
        .ok();
    assert!(!add.stderr.contains(&canary), "{add}");

    let got = env
        .ohx()
        .args(["connection", "get", "lake", "service_account_key", "-n"])
        .ok();
    assert!(got.stdout == key, "get -n changed the key\n{got}");
    let shown = env
        .ohx()
        .args(["connection", "show", "lake", "--reveal", "--json"])
        .ok()
        .json();
    let field = shown["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["code"] == "service_account_key")
        .expect("the key field")["value"]
        .clone();
    assert_eq!(field.as_str(), Some(key.as_str()), "show --reveal --json");
    let vars: BTreeMap<String, String> = serde_json::from_value(
        env.ohx()
            .args(["connection", "env", "lake", "--format", "json"])
            .ok()
            .json(),
    )
    .expect("env json");
    assert_eq!(
        vars.get("LAKE_SERVICE_ACCOUNT_KEY"),
        Some(&key),
        "env --format json"
    );

    let runtime = runtime_dir(&env);
    let run = env
        .ohx()
        .env("XDG_RUNTIME_DIR", &runtime)
        .args(["run", "-c", "lake", "--", "sh", "-c"])
        .arg(r#"cat "$GOOGLE_APPLICATION_CREDENTIALS"; printf '\0%s' "$LAKE_SERVICE_ACCOUNT_KEY""#)
        .ok();
    let (file, variable) = run.stdout.split_once('\0').expect("two parts");
    assert!(file == key, "run's key file differs from the key");
    assert!(variable == key, "run's variable differs from the key");
}
