//! The real `openhexa-sdk` Python package reads what ohx exports, offline as a pipeline does on a
//! laptop (no `HEXA_*` variable: the SDK then reads connections from the environment only):
//! a PostgreSQL, a DHIS2, an S3, a GCS and a custom connection, every field right, from
//! `ohx connection env` output sourced by bash and under `ohx run`.

use serde_json::{json, Value};

use crate::fixtures::runtime_dir;
use crate::harness::Env;

use super::support::{require, run_tool_ok, standard_connections, write_file, Component, Standard};

/// Prints, as JSON, every field the SDK gives for the standard connections.
const SCRIPT: &str = r#"
import dataclasses, json, sys
from openhexa.sdk import workspace

pg = workspace.postgresql_connection("warehouse")
dhis2 = workspace.dhis2_connection("dhis2-prod")
s3 = workspace.s3_connection("archive")
gcs = workspace.gcs_connection("lake")
kobo = workspace.custom_connection("kobo")
json.dump({
    "postgresql": {
        "host": pg.host, "port": pg.port, "username": pg.username,
        "password": pg.password, "database_name": pg.database_name,
    },
    "dhis2": {"url": dhis2.url, "username": dhis2.username, "password": dhis2.password},
    "s3": {
        "bucket_name": s3.bucket_name, "access_key_id": s3.access_key_id,
        "secret_access_key": s3.secret_access_key,
    },
    "gcs": {"bucket_name": gcs.bucket_name, "service_account_key": gcs.service_account_key},
    "custom": {
        f.name: getattr(kobo, f.name) for f in dataclasses.fields(kobo) if f.name != "identifier"
    },
}, sys.stdout)
"#;

const IDS: [&str; 5] = ["warehouse", "dhis2-prod", "archive", "lake", "kobo"];

fn expected(s: &Standard) -> Value {
    json!({
        "postgresql": {
            "host": "db.example.org", "port": 6543, "username": "etl",
            "password": s.pg_password, "database_name": "dwh",
        },
        "dhis2": {
            "url": "https://play.dhis2.org/40", "username": "admin", "password": s.dhis2_password,
        },
        "s3": {
            "bucket_name": "hmis-archive", "access_key_id": "AKIAOHXTEST",
            "secret_access_key": s.s3_secret,
        },
        "gcs": {"bucket_name": "hmis-lake", "service_account_key": s.gcs_key},
        "custom": {"url": "https://kf.kobotoolbox.org", "token": s.kobo_token},
    })
}

#[track_caller]
fn parse(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "the SDK script printed no JSON: {e}\n{}",
            String::from_utf8_lossy(stdout)
        )
    })
}

#[test]
fn the_openhexa_sdk_reads_every_field_from_env_output_sourced_in_bash() {
    let (Some(python), Some(bash)) = (require(Component::Python), require(Component::Bash)) else {
        return;
    };
    let env = Env::new();
    let s = standard_connections(&env);
    let out = env.ohx().args(["connection", "env"]).args(IDS).ok();
    let exports = write_file(&env, "out.sh", out.stdout.as_bytes());
    let script = write_file(&env, "pipeline.py", SCRIPT.as_bytes());
    let read = run_tool_ok(
        &env,
        &bash,
        &[
            "-c",
            r#"eval "$(cat "$1")" && exec "$2" "$3""#,
            "bash",
            &exports.to_string_lossy(),
            &python.to_string_lossy(),
            &script.to_string_lossy(),
        ],
        &[],
    );
    assert_eq!(parse(&read.stdout), expected(&s));
}

#[test]
fn the_openhexa_sdk_reads_every_field_under_run() {
    let Some(python) = require(Component::Python) else {
        return;
    };
    let env = Env::new();
    let s = standard_connections(&env);
    let script = write_file(&env, "pipeline.py", SCRIPT.as_bytes());
    let mut cmd = env
        .ohx()
        .env("XDG_RUNTIME_DIR", runtime_dir(&env))
        .arg("run");
    for id in IDS {
        cmd = cmd.args(["-c", id]);
    }
    let out = cmd.arg("--").arg(&python).arg(&script).ok();
    assert_eq!(parse(out.stdout.as_bytes()), expected(&s), "{out}");
}
