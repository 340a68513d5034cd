//! What `connection get`, `env` and `url` print: raw values, the OpenHEXA SDK's variable names,
//! native variables, one sorted JSON object, clashes, the dotenv `$` warning, percent-encoded
//! URLs; who may use them; and output that is all or nothing.

use std::collections::BTreeSet;

use crate::fixtures::{add_postgresql, gcs_key, join};
use crate::harness::{random_canary, Env};
use crate::store_probe::{ciphertext, connection_id, flip_ciphertext_bit, set_ciphertext};

use super::support::{
    add_connection, add_gcs_lake, env_json, one_connection, standard_connections, WS,
};

#[test]
fn get_prints_the_raw_value_and_a_newline() {
    let env = Env::new();
    let s = standard_connections(&env);
    let out = env
        .ohx()
        .args(["connection", "get", "warehouse", "password"])
        .ok();
    assert_eq!(out.stdout, format!("{}\n", s.pg_password), "{out}");
}

#[test]
fn get_n_prints_the_raw_value_without_a_newline() {
    let env = Env::new();
    let s = standard_connections(&env);
    let out = env
        .ohx()
        .args(["connection", "get", "warehouse", "password", "-n"])
        .ok();
    assert_eq!(out.stdout, s.pg_password, "{out}");
    let out = env
        .ohx()
        .args(["connection", "get", "warehouse", "host", "--no-newline"])
        .ok();
    assert_eq!(out.stdout, "db.example.org", "{out}");
}

#[test]
fn get_keeps_a_multi_line_key_exactly() {
    let env = Env::new();
    let s = standard_connections(&env);
    let out = env
        .ohx()
        .args(["connection", "get", "lake", "service_account_key", "-n"])
        .ok();
    assert_eq!(out.stdout, s.gcs_key, "{out}");
}

#[test]
fn an_editor_may_get_a_secret() {
    let env = Env::new();
    let token = one_connection(&env);
    join(&env, "bob", "editor", None);
    let out = env
        .ohx_as("bob")
        .args(["connection", "get", "kobo", "token", "-n"])
        .ok();
    assert_eq!(out.stdout, token, "{out}");
}

#[test]
fn get_of_a_missing_field_is_not_found_and_names_the_fields() {
    let env = Env::new();
    one_connection(&env);
    let out = env
        .ohx()
        .args(["connection", "get", "kobo", "password"])
        .fails(3);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains("token"), "{out}");
}

#[test]
fn env_names_follow_the_openhexa_sdk() {
    let env = Env::new();
    standard_connections(&env);
    add_connection(
        &env,
        "postgresql",
        "my-db",
        &[("host", "h"), ("username", "u"), ("db_name", "d")],
        &[("password", b"p")],
    );
    let vars = env_json(
        &env,
        &[
            "my-db",
            "warehouse",
            "dhis2-prod",
            "archive",
            "lake",
            "kobo",
        ],
    );
    let names: BTreeSet<&str> = vars.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "MY_DB",
        "MY_DB_HOST",
        "MY_DB_PORT",
        "MY_DB_USERNAME",
        "MY_DB_PASSWORD",
        "MY_DB_DB_NAME",
        "WAREHOUSE",
        "WAREHOUSE_HOST",
        "WAREHOUSE_PORT",
        "WAREHOUSE_USERNAME",
        "WAREHOUSE_PASSWORD",
        "WAREHOUSE_DB_NAME",
        "DHIS2_PROD",
        "DHIS2_PROD_URL",
        "DHIS2_PROD_USERNAME",
        "DHIS2_PROD_PASSWORD",
        "ARCHIVE",
        "ARCHIVE_BUCKET_NAME",
        "ARCHIVE_ACCESS_KEY_ID",
        "ARCHIVE_ACCESS_KEY_SECRET",
        "LAKE",
        "LAKE_BUCKET_NAME",
        "LAKE_SERVICE_ACCOUNT_KEY",
        "KOBO",
        "KOBO_URL",
        "KOBO_TOKEN",
    ]
    .into_iter()
    .collect();
    assert_eq!(names, expected);
    for (name, kind) in [
        ("MY_DB", "postgresql"),
        ("WAREHOUSE", "postgresql"),
        ("DHIS2_PROD", "dhis2"),
        ("ARCHIVE", "s3"),
        ("LAKE", "gcs"),
        ("KOBO", "custom"),
    ] {
        assert_eq!(vars[name], kind, "{name}");
    }
    // The default port was filled in when my-db was added without one.
    assert_eq!(vars["MY_DB_PORT"], "5432");
}

#[test]
fn env_prints_sh_exports_by_default() {
    let env = Env::new();
    let token = one_connection(&env);
    let out = env.ohx().args(["connection", "env", "kobo"]).ok();
    assert_eq!(
        out.stdout,
        format!(
            "export KOBO='custom'\nexport KOBO_TOKEN='{token}'\nexport KOBO_URL='https://kf.kobotoolbox.org'\n"
        ),
        "{out}"
    );
}

#[test]
fn native_adds_the_libpq_and_aws_variables() {
    let env = Env::new();
    let s = standard_connections(&env);
    let plain = env_json(&env, &["warehouse", "archive"]);
    for name in plain.keys() {
        assert!(
            !name.starts_with("PG") && !name.starts_with("AWS_"),
            "{name} without --native"
        );
    }
    let vars = env_json(&env, &["warehouse", "archive", "--native"]);
    for (name, value) in [
        ("PGHOST", "db.example.org"),
        ("PGPORT", "6543"),
        ("PGUSER", "etl"),
        ("PGPASSWORD", s.pg_password.as_str()),
        ("PGDATABASE", "dwh"),
        ("AWS_ACCESS_KEY_ID", "AKIAOHXTEST"),
        ("AWS_SECRET_ACCESS_KEY", s.s3_secret.as_str()),
    ] {
        assert_eq!(vars.get(name).map(String::as_str), Some(value), "{name}");
    }
    assert_eq!(vars.len(), plain.len() + 7, "{vars:?}");
}

#[test]
fn env_json_is_one_object_sorted_by_name() {
    let env = Env::new();
    standard_connections(&env);
    let out = env
        .ohx()
        .args(["connection", "env", "--format", "json", "--native"])
        .args(["warehouse", "kobo", "archive", "dhis2-prod"])
        .ok();
    assert!(out.json().is_object(), "{out}");
    // The names in the order they are printed: pretty JSON, one `"NAME": "value"` per line.
    let printed: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix('"'))
        .filter_map(|rest| rest.split_once('"').map(|(name, _)| name))
        .collect();
    let mut sorted = printed.clone();
    sorted.sort_unstable();
    assert_eq!(printed, sorted, "{out}");
    assert_eq!(printed.len(), out.json().as_object().map_or(0, |o| o.len()));
}

#[test]
fn two_connections_giving_one_name_different_values_are_an_error_naming_both() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    for (id, host) in [
        ("primary", "db1.example.org"),
        ("replica", "db2.example.org"),
    ] {
        add_connection(
            &env,
            "postgresql",
            id,
            &[("host", host), ("username", "etl"), ("db_name", "dwh")],
            &[("password", canary.as_bytes())],
        );
    }
    let out = env
        .ohx()
        .args(["connection", "env", "primary", "replica", "--native"])
        .fails_somehow();
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains("ws/primary"), "{out}");
    assert!(out.stderr.contains("ws/replica"), "{out}");
    assert!(out.stderr.contains("PGHOST"), "{out}");
    assert!(!out.stderr.contains(&canary), "{out}");
}

#[test]
fn dotenv_warns_about_a_dollar_naming_the_field_never_the_value() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let token = format!("{canary}$HOME${{PATH}}");
    add_connection(
        &env,
        "custom",
        "api",
        &[("url", "https://example.org")],
        &[("token", token.as_bytes())],
    );
    let out = env
        .ohx()
        .args(["connection", "env", "api", "--format", "dotenv"])
        .ok();
    assert!(out.stdout.contains(&token), "{out}");
    assert!(out.stderr.contains("(token)"), "{out}");
    assert!(out.stderr.contains("interpolate=False"), "{out}");
    assert!(!out.stderr.contains(&canary), "{out}");
    assert!(
        !out.stderr.contains("(url)"),
        "a value without '$' warned\n{out}"
    );
}

#[test]
fn url_of_postgresql_percent_encodes_user_password_and_database() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_connection(
        &env,
        "postgresql",
        "warehouse",
        &[
            ("host", "db.example.org"),
            ("port", "6543"),
            ("username", "etl@moh"),
            ("db_name", "dwh/2024 é"),
        ],
        &[("password", b"p@ss:/%")],
    );
    let out = env.ohx().args(["connection", "url", "warehouse"]).ok();
    assert_eq!(
        out.stdout,
        "postgresql://etl%40moh:p%40ss%3A%2F%25@db.example.org:6543/dwh%2F2024%20%C3%A9\n",
        "{out}"
    );
}

#[test]
fn url_of_dhis2_is_its_url() {
    let env = Env::new();
    standard_connections(&env);
    let out = env.ohx().args(["connection", "url", "dhis2-prod"]).ok();
    assert_eq!(out.stdout, "https://play.dhis2.org/40\n", "{out}");
}

#[test]
fn url_of_s3_names_the_bucket() {
    let env = Env::new();
    standard_connections(&env);
    let out = env.ohx().args(["connection", "url", "archive"]).ok();
    assert_eq!(out.stdout, "s3://hmis-archive\n", "{out}");
}

#[test]
fn url_of_gcs_names_the_bucket() {
    let env = Env::new();
    standard_connections(&env);
    let out = env.ohx().args(["connection", "url", "lake"]).ok();
    assert_eq!(out.stdout, "gs://hmis-lake\n", "{out}");
}

#[test]
fn url_of_a_custom_connection_is_a_usage_error() {
    let env = Env::new();
    let token = one_connection(&env);
    let out = env.ohx().args(["connection", "url", "kobo"]).fails(2);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(!out.stderr.contains(&token), "{out}");
}

#[test]
fn env_prints_nothing_when_a_later_connection_fails_to_decrypt() {
    let env = Env::new();
    let s = standard_connections(&env);
    flip_ciphertext_bit(&env, WS, "dhis2-prod", "password");
    for format in ["sh", "fish", "dotenv", "powershell", "json"] {
        let out = env
            .ohx()
            .args([
                "connection",
                "env",
                "warehouse",
                "dhis2-prod",
                "--format",
                format,
            ])
            .fails(5);
        assert!(out.stdout.is_empty(), "--format {format}\n{out}");
        assert!(!out.stderr.contains(&s.pg_password), "{out}");
    }
}

#[test]
fn env_prints_nothing_when_a_later_connection_does_not_exist() {
    let env = Env::new();
    standard_connections(&env);
    let out = env
        .ohx()
        .args(["connection", "env", "warehouse", "no-such-connection"])
        .fails(3);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains("no-such-connection"), "{out}");
}

#[test]
fn eval_of_a_failed_env_sets_no_variable() {
    // The README's `eval "$(ohx connection env ...)"`: when a later connection fails, the shell
    // must get nothing to evaluate, not the earlier connection's exports.
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_postgresql(&env, "a", &random_canary()).ok();
    add_postgresql(&env, "b", &random_canary()).ok();
    let b = connection_id(&env, WS, "b");
    let sealed = ciphertext(&env, b, "password");
    set_ciphertext(&env, b, "password", &sealed[..sealed.len() - 1]);
    let out = env
        .ohx()
        .args(["connection", "env", "a", "b"])
        .shell(
            "sh",
            r#"eval "$("$0" "$@")"; printf '%s|%s|%s' "${A-unset}" "${A_HOST-unset}" "${A_PASSWORD-unset}""#,
        )
        .run();
    assert_eq!(out.stdout, "unset|unset|unset", "{out}");
    assert!(out.stderr.starts_with("error: "), "{out}");
}

#[test]
fn a_viewer_is_refused_get_env_and_url_with_nothing_on_stdout() {
    let env = Env::new();
    let s = standard_connections(&env);
    join(&env, "bob", "viewer", None);
    // A plain field is what `show` displays to a viewer already, so `get` gives it (issue 15).
    let host = env
        .ohx_as("bob")
        .args(["connection", "get", "warehouse", "host"])
        .ok();
    assert!(!host.stdout.contains(&s.pg_password), "{host}");
    let attempts: [&[&str]; 4] = [
        &["connection", "get", "warehouse", "password"],
        &["connection", "env", "warehouse"],
        &["connection", "env", "kobo", "--format", "json"],
        &["connection", "url", "warehouse"],
    ];
    for args in attempts {
        let out = env.ohx_as("bob").args(args).fails(4);
        assert!(out.stdout.is_empty(), "{args:?}\n{out}");
        assert!(!out.stderr.contains(&s.pg_password), "{out}");
    }
}

#[test]
fn a_gcs_key_is_not_a_native_variable_of_env() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let key = gcs_key(&random_canary());
    add_gcs_lake(&env, &key);
    let out = env
        .ohx()
        .args(["connection", "env", "lake", "--native", "--format", "json"])
        .ok();
    let vars = super::support::json_object(&out);
    assert!(
        !vars.contains_key("GOOGLE_APPLICATION_CREDENTIALS"),
        "{out}"
    );
    assert_eq!(vars["LAKE_SERVICE_ACCOUNT_KEY"], key);
    assert!(out.stderr.contains("ohx run"), "{out}");
}
