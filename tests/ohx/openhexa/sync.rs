//! Pull and push against the real OpenHEXA server: every type with hostile values in both
//! directions, read back exactly by the server, by ohx and by the real SDK; changes flowing
//! one way; conflicts shown field by field and settled by `--prefer`; identifiers that differ;
//! `--prune`; a second OpenHEXA workspace.

use serde_json::json;

use crate::credentials::support::{add_connection, require, run_tool_ok, write_file, Component};
use crate::fixtures::gcs_key;
use crate::harness::{random_canary, Env};

use super::support::{
    assert_no_canary, assert_no_canary_on_disk, create_remote, login, new_remote,
    remote_connection, remote_connections, remote_value, require_server, update_remote, Remote,
    Server,
};

/// The hostile values of one connection of each type.
struct Hostile {
    canaries: Vec<String>,
    /// (identifier, code, exact value) for every field.
    fields: Vec<(&'static str, &'static str, String)>,
}

impl Hostile {
    fn value(&self, id: &str, code: &str) -> &str {
        self.fields
            .iter()
            .find(|(i, c, _)| *i == id && *c == code)
            .map(|(_, _, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {id}.{code}"))
    }
}

const NAME: &str = "Entrepôt «données» 'q' \"d\" $X";
const DESCRIPTION: &str = "line one\nline \"two\" with $HOME and ünïcödé";

/// Alice, admin of `ws`, with one connection of each type holding quotes, `$`, newlines,
/// non-ASCII text and a multi-line GCS key; secrets come from files, so every byte is exact.
fn hostile_connections(env: &Env, ws: &str) -> Hostile {
    env.admin_with_workspace(ws);
    let c: Vec<String> = (0..6).map(|_| random_canary()).collect();
    let h = Hostile {
        fields: vec![
            ("warehouse", "host", "db.example.org".into()),
            ("warehouse", "port", "6543".into()),
            ("warehouse", "username", "etl'\"$USER".into()),
            (
                "warehouse",
                "password",
                format!("pw-'\"$HOME\\n\n{}-ü", c[0]),
            ),
            ("warehouse", "db_name", "dwh é".into()),
            ("dhis2-prod", "url", "https://play.dhis2.org/40".into()),
            ("dhis2-prod", "username", "admin \"ü\"".into()),
            ("dhis2-prod", "password", format!("{}$'\"`", c[1])),
            ("iaso-prod", "url", "https://iaso.example.org".into()),
            ("iaso-prod", "username", "iaso".into()),
            ("iaso-prod", "password", format!("{}\nline2\r\n", c[2])),
            ("archive", "bucket_name", "hmis-archive".into()),
            ("archive", "access_key_id", "AKIA$X'".into()),
            ("archive", "access_key_secret", format!("{}/+=", c[3])),
            ("lake", "bucket_name", "hmis-lake".into()),
            ("lake", "service_account_key", gcs_key(&c[4])),
            ("kobo", "note", "quote ' \" $VAR ñ".into()),
            ("kobo", "token", format!("{}'\"$\r\n", c[5])),
        ],
        canaries: c,
    };
    let kinds = [
        ("postgresql", "warehouse"),
        ("dhis2", "dhis2-prod"),
        ("iaso", "iaso-prod"),
        ("s3", "archive"),
        ("gcs", "lake"),
        ("custom", "kobo"),
    ];
    for (kind, id) in kinds {
        let secret_codes = [
            "password",
            "access_key_secret",
            "service_account_key",
            "token",
        ];
        let plain: Vec<(&str, &str)> = h
            .fields
            .iter()
            .filter(|(i, code, _)| *i == id && !secret_codes.contains(code))
            .map(|(_, code, v)| (*code, v.as_str()))
            .collect();
        let secrets: Vec<(&str, &[u8])> = h
            .fields
            .iter()
            .filter(|(i, code, _)| *i == id && secret_codes.contains(code))
            .map(|(_, code, v)| (*code, v.as_bytes()))
            .collect();
        add_connection(env, kind, id, &plain, &secrets);
    }
    env.ohx()
        .args([
            "connection",
            "edit",
            "warehouse",
            "--name",
            NAME,
            "--description",
            DESCRIPTION,
        ])
        .ok();
    h
}

fn canaries(h: &Hostile) -> Vec<&str> {
    h.canaries.iter().map(String::as_str).collect()
}

fn setup(server: &Server) -> (Env, Remote, Hostile) {
    let env = Env::new();
    let h = hostile_connections(&env, "ws");
    let remote = new_remote(server);
    login(&env, server, &remote);
    (env, remote, h)
}

#[test]
fn all_six_types_round_trip_exactly_through_the_server_and_the_sdk() {
    let Some(server) = require_server() else {
        return;
    };
    let (env, remote, h) = setup(&server);

    let pushed = env.ohx().args(["openhexa", "push"]).ok();
    assert_no_canary(&pushed, &canaries(&h));
    assert_eq!(pushed.stdout.matches("created").count(), 6, "{pushed}");

    // The server holds every value exactly, secrets flagged.
    let on_server = remote_connections(&server, &remote);
    assert_eq!(on_server.len(), 6);
    for (id, code, value) in &h.fields {
        let c = remote_connection(&server, &remote, id);
        assert_eq!(
            remote_value(&c, code).as_deref(),
            Some(value.as_str()),
            "{id}.{code}"
        );
    }
    let warehouse = remote_connection(&server, &remote, "warehouse");
    assert_eq!(warehouse["type"], "POSTGRESQL");
    assert_eq!(warehouse["name"], NAME);
    assert_eq!(warehouse["description"], DESCRIPTION);
    let secret_flag = |c: &serde_json::Value, code: &str| {
        c["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["code"] == code)
            .map(|f| f["secret"].clone())
    };
    assert_eq!(secret_flag(&warehouse, "password"), Some(json!(true)));
    assert_eq!(secret_flag(&warehouse, "host"), Some(json!(false)));
    let types: Vec<String> = on_server
        .iter()
        .map(|c| c["type"].as_str().unwrap_or_default().to_string())
        .collect();
    for t in ["POSTGRESQL", "DHIS2", "IASO", "S3", "GCS", "CUSTOM"] {
        assert!(types.iter().any(|x| x == t), "{t} missing: {types:?}");
    }

    // A second person, with an empty store, pulls everything back exactly.
    let other = Env::new();
    other.admin_with_workspace("mirror");
    login(&other, &server, &remote);
    let pulled = other.ohx().args(["openhexa", "pull"]).ok();
    assert_no_canary(&pulled, &canaries(&h));
    assert_eq!(pulled.stdout.matches("create").count(), 6, "{pulled}");
    for (id, code, value) in &h.fields {
        let got = other.ohx().args(["connection", "get", id, code, "-n"]).ok();
        assert_eq!(&got.stdout, value, "{id}.{code}");
    }
    let shown = other
        .ohx()
        .args(["--json", "connection", "show", "warehouse"])
        .ok()
        .json();
    assert_eq!(shown["name"], NAME);
    assert_eq!(shown["description"], DESCRIPTION);
    assert_no_canary_on_disk(&other, &canaries(&h));
    assert_no_canary_on_disk(&env, &canaries(&h));

    // Nothing changed: a second pull and a push leave everything alone.
    let again = other.ohx().args(["openhexa", "pull"]).ok();
    assert_eq!(again.stdout.matches("unchanged").count(), 6, "{again}");
    let push_again = env.ohx().args(["openhexa", "push"]).ok();
    assert_eq!(
        push_again.stdout.matches("unchanged").count(),
        6,
        "{push_again}"
    );

    // The real SDK reads the pulled connections under `ohx run`.
    let Some(_python) = require(Component::Python) else {
        return;
    };
    let venv_python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python");
    let script = write_file(
        &other,
        "read.py",
        br#"
import json, sys
from openhexa.sdk import workspace
pg = workspace.postgresql_connection("warehouse")
d = workspace.dhis2_connection("dhis2-prod")
i = workspace.iaso_connection("iaso-prod")
s3 = workspace.s3_connection("archive")
g = workspace.gcs_connection("lake")
k = workspace.custom_connection("kobo")
json.dump({"pg": pg.password, "user": pg.username, "db": pg.database_name, "dhis2": d.password,
           "iaso": i.password, "s3": s3.secret_access_key, "gcs": g.service_account_key,
           "token": k.token, "note": k.note}, sys.stdout)
"#,
    );
    let mut run = other.ohx().args(["run"]);
    for id in [
        "warehouse",
        "dhis2-prod",
        "iaso-prod",
        "archive",
        "lake",
        "kobo",
    ] {
        run = run.args(["-c", id]);
    }
    let out = run
        .arg("--")
        .arg(&venv_python)
        .arg(&script)
        .env("XDG_RUNTIME_DIR", crate::fixtures::runtime_dir(&other))
        .ok();
    let got: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(got["pg"], h.value("warehouse", "password"));
    assert_eq!(got["user"], h.value("warehouse", "username"));
    assert_eq!(got["db"], h.value("warehouse", "db_name"));
    assert_eq!(got["dhis2"], h.value("dhis2-prod", "password"));
    assert_eq!(got["iaso"], h.value("iaso-prod", "password"));
    assert_eq!(got["s3"], h.value("archive", "access_key_secret"));
    assert_eq!(got["gcs"], h.value("lake", "service_account_key"));
    assert_eq!(got["token"], h.value("kobo", "token"));
    assert_eq!(got["note"], h.value("kobo", "note"));
    let _ = run_tool_ok;
}

#[test]
fn changes_flow_one_way_and_conflicts_are_shown_field_by_field_until_settled() {
    let Some(server) = require_server() else {
        return;
    };
    let (env, remote, h) = setup(&server);
    env.ohx().args(["openhexa", "push"]).ok();
    let id = remote_connection(&server, &remote, "warehouse")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let server_password = format!("srv-{}", random_canary());
    let fields = |host: &str, password: &str| {
        json!([
            {"code": "host", "value": host, "secret": false},
            {"code": "port", "value": "6543", "secret": false},
            {"code": "username", "value": "etl", "secret": false},
            {"code": "password", "value": password, "secret": true},
            {"code": "db_name", "value": "dwh", "secret": false},
        ])
    };

    // Changed on the server only: a pull updates the local copy.
    update_remote(
        &server,
        &remote,
        json!({"id": id, "fields": fields("db2.example.org", &server_password)}),
    );
    let plan = env.ohx().args(["openhexa", "pull", "--dry-run"]).ok();
    assert!(
        plan.stdout.contains("update") && plan.stdout.contains("warehouse"),
        "{plan}"
    );
    assert_no_canary(&plan, &[&server_password]);
    env.ohx().args(["openhexa", "pull"]).ok();
    let got = env
        .ohx()
        .args(["connection", "get", "warehouse", "password", "-n"])
        .ok();
    assert_eq!(got.stdout, server_password);
    let got = env
        .ohx()
        .args(["connection", "get", "warehouse", "username", "-n"])
        .ok();
    assert_eq!(got.stdout, "etl");

    // Changed locally only: a push updates the server, with the full field list.
    env.ohx()
        .args([
            "connection",
            "edit",
            "warehouse",
            "--set",
            "host=db3.example.org",
        ])
        .ok();
    let pull_plan = env.ohx().args(["openhexa", "pull", "--dry-run"]).ok();
    assert!(pull_plan.stdout.contains("ahead"), "{pull_plan}");
    let pushed = env.ohx().args(["openhexa", "push", "warehouse"]).ok();
    assert!(pushed.stdout.contains("updated"), "{pushed}");
    let c = remote_connection(&server, &remote, "warehouse");
    assert_eq!(remote_value(&c, "host").as_deref(), Some("db3.example.org"));
    assert_eq!(
        remote_value(&c, "password").as_deref(),
        Some(server_password.as_str())
    );

    // Changed on both sides: a conflict, field by field, secrets masked, nothing overwritten.
    let local_password = format!("loc-{}", random_canary());
    let pw_file = write_file(&env, "pw", local_password.as_bytes());
    env.ohx()
        .args(["connection", "edit", "warehouse", "--secret"])
        .arg(format!("password=file:{}", pw_file.display()))
        .ok();
    let other_password = format!("srv2-{}", random_canary());
    update_remote(
        &server,
        &remote,
        json!({"id": id, "fields": fields("db4.example.org", &other_password)}),
    );
    let secrets = [
        local_password.as_str(),
        other_password.as_str(),
        &h.canaries[0],
    ];
    for args in [["openhexa", "pull"], ["openhexa", "push"]] {
        let conflict = env.ohx().args(args).fails(1);
        assert!(
            conflict.stdout.contains("conflict in 'warehouse'"),
            "{conflict}"
        );
        assert!(
            conflict.stdout.contains("db3.example.org")
                && conflict.stdout.contains("db4.example.org"),
            "{conflict}"
        );
        assert!(
            conflict.stdout.contains("field password") && conflict.stdout.contains("********"),
            "{conflict}"
        );
        assert!(conflict.stderr.contains("--prefer"), "{conflict}");
        assert_no_canary(&conflict, &secrets);
    }
    let got = env
        .ohx()
        .args(["connection", "get", "warehouse", "password", "-n"])
        .ok();
    assert_eq!(got.stdout, local_password, "a conflict must not overwrite");
    assert_eq!(
        remote_value(
            &remote_connection(&server, &remote, "warehouse"),
            "password"
        )
        .as_deref(),
        Some(other_password.as_str())
    );

    // --prefer remote takes the server's version.
    env.ohx()
        .args(["openhexa", "pull", "--prefer", "remote"])
        .ok();
    let got = env
        .ohx()
        .args(["connection", "get", "warehouse", "password", "-n"])
        .ok();
    assert_eq!(got.stdout, other_password);
    let after = env.ohx().args(["openhexa", "push"]).ok();
    assert_eq!(after.stdout.matches("unchanged").count(), 6, "{after}");
}

#[test]
fn prefer_local_sends_the_local_version_and_identifier_changes_are_reported() {
    let Some(server) = require_server() else {
        return;
    };
    let (env, remote, _h) = setup(&server);
    env.ohx().args(["openhexa", "push"]).ok();
    let id = remote_connection(&server, &remote, "kobo")["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The server renames its identifier and changes the note; locally the note changes too.
    update_remote(
        &server,
        &remote,
        json!({"id": id, "slug": "kobo-3f2a", "fields": [
            {"code": "note", "value": "server note", "secret": false},
            {"code": "token", "value": null, "secret": true},
        ]}),
    );
    env.ohx()
        .args(["connection", "edit", "kobo", "--set", "note=local note"])
        .ok();
    let plan = env.ohx().args(["openhexa", "push", "--dry-run"]).fails(1);
    assert!(
        plan.stdout.contains("kobo-3f2a"),
        "the identifier change is reported: {plan}"
    );
    assert!(
        plan.stdout.contains("local note") && plan.stdout.contains("server note"),
        "{plan}"
    );
    env.ohx()
        .args(["openhexa", "push", "--prefer", "local"])
        .ok();
    let c = remote_connection(&server, &remote, "kobo-3f2a");
    assert_eq!(remote_value(&c, "note").as_deref(), Some("local note"));
}

#[test]
fn prune_deletes_server_only_connections_after_showing_them() {
    let Some(server) = require_server() else {
        return;
    };
    let env = Env::new();
    env.admin_with_workspace("ws");
    let remote = new_remote(&server);
    login(&env, &server, &remote);
    create_remote(
        &server,
        &remote,
        json!({"name": "Only There", "slug": "only-there", "type": "CUSTOM",
        "fields": [{"code": "a", "value": "b", "secret": false}]}),
    );
    let plain = env.ohx().args(["openhexa", "push"]).ok();
    assert!(!plain.stdout.contains("only-there"), "{plain}");
    let refused = env.ohx().args(["openhexa", "push", "--prune"]).fails(2);
    assert!(
        refused.stdout.contains("only-there"),
        "what would go is shown first: {refused}"
    );
    assert_eq!(remote_connections(&server, &remote).len(), 1);
    let pruned = env
        .ohx()
        .args(["openhexa", "push", "--prune", "--yes"])
        .ok();
    assert!(
        pruned.stdout.contains("deleted") && pruned.stdout.contains("only-there"),
        "{pruned}"
    );
    assert!(remote_connections(&server, &remote).is_empty());
}

#[test]
fn a_second_workspace_is_pulled_on_its_own_and_unrepresentable_connections_are_refused() {
    let Some(server) = require_server() else {
        return;
    };
    let env = Env::new();
    env.admin_with_workspace("first");
    env.ohx()
        .args(["workspace", "create", "second", "--slug", "second"])
        .ok();
    let (one, two) = (new_remote(&server), new_remote(&server));
    login(&env, &server, &one);
    login(&env, &server, &two);
    create_remote(
        &server,
        &one,
        json!({"name": "A", "slug": "conn-a", "type": "CUSTOM",
        "fields": [{"code": "x", "value": "1", "secret": false}]}),
    );
    create_remote(
        &server,
        &two,
        json!({"name": "B", "slug": "conn-b", "type": "CUSTOM",
        "fields": [{"code": "y", "value": "2", "secret": false}]}),
    );
    // A field code OpenHEXA allows and ohx does not: refused with what and why, the rest pulled.
    create_remote(
        &server,
        &two,
        json!({"name": "C", "slug": "conn-c", "type": "CUSTOM",
        "fields": [{"code": "API-KEY", "value": "3", "secret": false}]}),
    );

    let status = env.ohx().args(["openhexa", "status"]).ok();
    assert!(
        status.stdout.contains(&one.slug) && status.stdout.contains(&two.slug),
        "{status}"
    );
    let ambiguous = env.ohx().args(["openhexa", "pull", "-w", "first"]).fails(2);
    assert!(ambiguous.stderr.contains("--remote"), "{ambiguous}");
    env.ohx()
        .args(["openhexa", "pull", "-w", "first", "--remote", &one.slug])
        .ok();
    let refused = env
        .ohx()
        .args(["openhexa", "pull", "-w", "second", "--remote", &two.slug])
        .fails(1);
    assert!(refused.stdout.contains("API-KEY"), "{refused}");
    let first = env
        .ohx()
        .args(["--json", "connection", "list", "-w", "first"])
        .ok()
        .json();
    let second = env
        .ohx()
        .args(["--json", "connection", "list", "-w", "second"])
        .ok()
        .json();
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|c| c["identifier"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(ids(&first), ["conn-a"]);
    assert_eq!(ids(&second), ["conn-b"]);
    env.ohx()
        .args(["openhexa", "logout", "--remote", &two.slug])
        .ok();
    let status = env.ohx().args(["openhexa", "status"]).ok();
    assert!(!status.stdout.contains(&two.slug), "{status}");
}
