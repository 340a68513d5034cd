//! The OpenHEXA SDK's local mode: `connection export --format workspace-yaml` read back by the
//! SDK's own reader; a real `@pipeline` file run with `ohx run -- python pipeline.py` and no
//! file on disk; a `workspace.yaml` beside it no longer overriding ohx; and the DHIS2 URLs ohx
//! stores reaching the right paths through `openhexa-toolbox`'s client.

use std::path::PathBuf;

use serde_json::Value;

use crate::credentials::support::{
    add_connection, fresh_dir, require, run_tool_ok, standard_connections, write_file, Component,
};
use crate::fixtures::runtime_dir;
use crate::harness::{file_mode, random_canary, Env};

fn python() -> Option<PathBuf> {
    require(Component::Python)
}

#[test]
fn the_exported_workspace_yaml_is_private_and_the_sdk_reads_every_value_back() {
    let Some(python) = python() else { return };
    let env = Env::new();
    let s = standard_connections(&env);
    let hostile = format!("{}'\"$HOME\\\n\r\t\u{2028}ü: #x", random_canary());
    add_connection(
        &env,
        "custom",
        "odd",
        &[("note", "yes")],
        &[("secret", hostile.as_bytes())],
    );
    let dir = fresh_dir(&env, "pipeline");
    let file = dir.join("workspace.yaml");
    let out = env
        .ohx()
        .args([
            "connection",
            "export",
            "--format",
            "workspace-yaml",
            "--output",
        ])
        .arg(&file)
        .ok();
    assert!(!out.stdout.contains(&s.pg_password) && !out.stderr.contains(&s.pg_password));
    assert_eq!(file_mode(&file), 0o600);
    let script = write_file(
        &env,
        "read.py",
        br#"
import json, sys
from pathlib import Path
from openhexa.sdk.pipelines.utils import get_local_workspace_config
json.dump(get_local_workspace_config(Path(sys.argv[1])), sys.stdout)
"#,
    );
    let read = run_tool_ok(
        &env,
        &python,
        &[script.to_str().unwrap(), dir.to_str().unwrap()],
        &[],
    );
    let from_yaml: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&read.stdout).unwrap();
    let from_env = crate::credentials::support::env_json(
        &env,
        &["warehouse", "dhis2-prod", "archive", "lake", "kobo", "odd"],
    );
    // Everything the SDK's reader sets is exactly what ohx exports as variables.
    for (name, value) in &from_yaml {
        assert_eq!(from_env.get(name), Some(value), "{name}");
    }
    for name in [
        "WAREHOUSE_PASSWORD",
        "WAREHOUSE_DB_NAME",
        "ARCHIVE_ACCESS_KEY_SECRET",
        "LAKE_SERVICE_ACCOUNT_KEY",
        "KOBO_TOKEN",
        "ODD_SECRET",
        "ODD_NOTE",
        "DHIS2_PROD_URL",
    ] {
        assert!(
            from_yaml.contains_key(name),
            "{name} missing from {from_yaml:?}"
        );
    }
    assert_eq!(from_yaml["ODD_SECRET"], hostile);
    assert_eq!(from_yaml["ODD_NOTE"], "yes");
    assert_eq!(from_yaml["LAKE_SERVICE_ACCOUNT_KEY"], s.gcs_key);
}

const PIPELINE: &str = r#"
import json
from openhexa.sdk import current_run, pipeline, workspace

@pipeline(name="ohx local run")
def local_run():
    pg = workspace.postgresql_connection("warehouse")
    kobo = workspace.custom_connection("kobo")
    print("RESULT " + json.dumps({"password": pg.password, "token": kobo.token}))

if __name__ == "__main__":
    local_run()
"#;

fn run_pipeline(
    env: &Env,
    python: &std::path::Path,
    dir: &std::path::Path,
) -> crate::harness::Outcome {
    let script = dir.join("pipeline.py");
    std::fs::write(&script, PIPELINE).unwrap();
    env.ohx()
        .args(["run", "-c", "warehouse", "-c", "kobo", "--"])
        .arg(python)
        .arg(&script)
        .env("XDG_RUNTIME_DIR", runtime_dir(env))
        .run()
}

fn result_of(out: &crate::harness::Outcome) -> Value {
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("the pipeline printed no result\n{out}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn a_real_pipeline_runs_under_ohx_run_without_any_file_and_ignores_a_stale_workspace_yaml() {
    let Some(python) = python() else { return };
    let env = Env::new();
    let s = standard_connections(&env);
    let dir = fresh_dir(&env, "pipeline");
    let out = run_pipeline(&env, &python, &dir);
    assert_eq!(out.status, 0, "{out}");
    let got = result_of(&out);
    assert_eq!(got["password"], s.pg_password.as_str());
    assert_eq!(got["token"], s.kobo_token.as_str());

    // A workspace.yaml beside the pipeline, with other values, no longer wins, and ohx says so.
    std::fs::write(
        dir.join("workspace.yaml"),
        "connections:\n  warehouse:\n    type: postgresql\n    host: stale\n    port: 1\n    username: stale\n    password: stale-password\n    database_name: stale\n",
    )
    .unwrap();
    let out = run_pipeline(&env, &python, &dir);
    assert_eq!(out.status, 0, "{out}");
    assert_eq!(result_of(&out)["password"], s.pg_password.as_str());
    assert!(out.stderr.contains("workspace.yaml is ignored"), "{out}");
}

/// A recording HTTP proxy (Python): answers every request with `{}` and prints the URL asked
/// for, so DHIS2 hosts need no DNS.
const RECORDER: &str = r#"
import http.server, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[1], "a") as f:
            f.write(self.path + "\n")
        body = b'{"version": "2.40"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

const SYSTEM_INFO: &str = r#"
from openhexa.sdk import workspace
from openhexa.toolbox.dhis2 import DHIS2
DHIS2(workspace.dhis2_connection("dhis")).meta.system_info()
"#;

#[test]
fn dhis2_urls_reach_the_api_through_the_toolbox_for_plain_hosts_sub_paths_and_api_hosts() {
    let Some(python) = python() else { return };
    let env = Env::new();
    env.admin_with_workspace("ws");
    let log = env.root().join("paths.log");
    let recorder = write_file(&env, "recorder.py", RECORDER.as_bytes());
    let mut child = std::process::Command::new(&python)
        .arg(&recorder)
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut port,
    )
    .unwrap();
    let proxy = format!("http://127.0.0.1:{}", port.trim());
    let script = write_file(&env, "info.py", SYSTEM_INFO.as_bytes());
    let cases = [
        ("http://dhis2.test", "http://dhis2.test/api/system/info"),
        ("http://dhis2.test/", "http://dhis2.test/api/system/info"),
        (
            "http://play.test/hmis/dhis/api/",
            "http://play.test/hmis/dhis/api/system/info",
        ),
        (
            "http://play.test/hmis/dhis",
            "http://play.test/hmis/dhis/api/system/info",
        ),
        (
            "http://api.dhis2.test",
            "http://api.dhis2.test/api/system/info",
        ),
        (
            "http://api.dhis2.test/api",
            "http://api.dhis2.test/api/system/info",
        ),
    ];
    for (url, expected) in cases {
        let _ = std::fs::remove_file(&log);
        env.ohx()
            .args(["connection", "delete", "dhis", "--yes"])
            .run();
        let pw = write_file(&env, "pw", b"pw");
        env.ohx()
            .args([
                "connection",
                "add",
                "dhis2",
                "--name",
                "dhis",
                "--slug",
                "dhis",
            ])
            .arg(format!("--set=url={url}"))
            .args(["--set", "username=u", "--secret"])
            .arg(format!("password=file:{}", pw.display()))
            .ok();
        let out = env
            .ohx()
            .args(["run", "-c", "dhis", "--"])
            .arg(&python)
            .arg(&script)
            .env("HTTP_PROXY", &proxy)
            .env("http_proxy", &proxy)
            .run();
        assert_eq!(out.status, 0, "{url}: {out}");
        let seen = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(seen.lines().next(), Some(expected), "stored from {url}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
