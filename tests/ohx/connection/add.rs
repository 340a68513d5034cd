//! `connection add` of each type: defaults, type names in any case with their aliases, and an
//! unknown type refused with the list of known ones.

use crate::connection::support::{
    entry, gcs_secret, list_json, refused, revealed, with_secrets, Source, WS,
};
use crate::fixtures::{add_postgresql, assert_says};
use crate::harness::{random_canary, Env};

#[test]
fn the_default_port_is_5432() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_postgresql(&env, "warehouse", &random_canary()).ok();
    assert_eq!(revealed(&env, "warehouse", "port"), "5432");
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
