//! What scripts rely on: `--json` on writes (the created or changed object) and on
//! `connection env`; `get` of a field `show` already displays, for viewers too; `member add` by
//! name for someone the store knows; the "rotate at source" mark cleared only by a new value.

use crate::fixtures::{connection_add, join};
use crate::harness::{random_canary, Env};

const WS: &str = "ws";

fn with_warehouse() -> (Env, String) {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let password = random_canary();
    connection_add(
        &env,
        "pg",
        "warehouse",
        &[("host", "db"), ("username", "etl")],
    )
    .args(["--set", "db_name=dwh", "--secret", "password=-"])
    .stdin(password.clone())
    .ok();
    (env, password)
}

#[test]
fn every_write_prints_the_changed_object_with_json() {
    let (env, password) = with_warehouse();
    let json = |args: &[&str]| env.ohx().args(args).arg("--json").ok().json();
    assert_eq!(json(&["workspace", "create", "Second"])["slug"], "second");
    assert_eq!(
        json(&["workspace", "edit", "second", "--name", "Two"])["name"],
        "Two"
    );
    assert_eq!(json(&["workspace", "use", WS])["default_workspace"], WS);
    let added = json(&[
        "connection",
        "add",
        "s3",
        "--name",
        "Lake",
        "--set",
        "bucket_name=lake",
    ]);
    assert_eq!(added["identifier"], "lake");
    assert_eq!(added["type"], "s3");
    let edited = json(&["connection", "edit", "lake", "--description", "raw files"]);
    assert_eq!(edited["description"], "raw files");
    assert_eq!(
        json(&["connection", "delete", "lake", "--yes"])["deleted"],
        true
    );
    env.person("bob");
    let recipient = env.ohx_as("bob").args(["whoami", "--recipient"]).ok();
    let member = json(&[
        "member",
        "add",
        "bob",
        "--recipient",
        recipient.stdout.trim(),
        "--role",
        "editor",
    ]);
    assert_eq!(member["role"], "editor");
    let demoted = json(&["member", "set-role", "bob", "viewer"]);
    assert_eq!(demoted["rotated"]["key_version"], 2);
    let removed = json(&["member", "remove", "bob", "--yes"]);
    assert_eq!(removed["removed"], true);
    assert_eq!(
        json(&["workspace", "delete", "second", "--yes"])["deleted"],
        true
    );
    // No write prints a secret.
    for args in [["connection", "list"], ["workspace", "list"]] {
        let out = env.ohx().args(args).arg("--json").ok();
        assert!(!out.stdout.contains(&password));
    }
}

#[test]
fn connection_env_json_is_the_json_format() {
    let (env, password) = with_warehouse();
    let json = env
        .ohx()
        .args(["connection", "env", "warehouse", "--json"])
        .ok();
    let format = env
        .ohx()
        .args(["connection", "env", "warehouse", "--format", "json"])
        .ok();
    assert_eq!(json.stdout, format.stdout);
    assert_eq!(json.json()["WAREHOUSE_PASSWORD"], password.as_str());
    let both = env
        .ohx()
        .args(["connection", "env", "warehouse", "--json", "--format", "sh"])
        .fails(2);
    assert!(
        both.stdout.is_empty() && !both.stderr.contains(&password),
        "{both}"
    );
}

#[test]
fn a_viewer_gets_a_field_that_show_displays_but_no_secret() {
    let (env, password) = with_warehouse();
    join(&env, "vic", "viewer", Some(WS));
    let host = env
        .ohx_as("vic")
        .args(["connection", "get", "warehouse", "host"])
        .ok();
    assert_eq!(host.stdout, "db\n");
    let json = env
        .ohx_as("vic")
        .args(["connection", "get", "warehouse", "db_name", "--json"])
        .ok()
        .json();
    assert_eq!(json["value"], "dwh");
    let secret = env
        .ohx_as("vic")
        .args(["connection", "get", "warehouse", "password"])
        .fails(4);
    assert!(!secret.stdout.contains(&password) && !secret.stderr.contains(&password));
    env.ohx_as("vic")
        .args(["connection", "get", "warehouse", "nope"])
        .fails_somehow();
}

#[test]
fn member_add_needs_no_recipient_for_someone_the_store_knows() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    env.ohx().args(["workspace", "create", "tb"]).ok();
    join(&env, "bob", "editor", Some(WS));
    let out = env
        .ohx()
        .args(["member", "add", "bob", "--role", "viewer", "-w", "tb"])
        .ok();
    assert!(out.stdout.contains("Added 'bob'"), "{out}");
    let unknown = env
        .ohx()
        .args(["member", "add", "zoe", "--role", "viewer", "-w", "tb"])
        .fails(2);
    assert!(unknown.stderr.contains("--recipient"), "{unknown}");
}

#[test]
fn the_rotation_mark_clears_only_when_the_secret_really_changes() {
    let (env, password) = with_warehouse();
    join(&env, "bob", "editor", Some(WS));
    env.ohx().args(["member", "remove", "bob", "--yes"]).ok();
    let marked = |env: &Env| {
        let show = env
            .ohx()
            .args(["connection", "show", "warehouse", "--json"])
            .ok()
            .json();
        show["needs_rotation"].as_bool().unwrap_or(false)
    };
    assert!(marked(&env), "removing an editor marks the connection");
    env.ohx()
        .args(["connection", "edit", "warehouse", "--secret", "password=-"])
        .stdin(password.clone())
        .ok();
    assert!(
        marked(&env),
        "the same password typed again cleared the mark"
    );
    env.ohx()
        .args(["connection", "edit", "warehouse", "--secret", "password=-"])
        .stdin(random_canary())
        .ok();
    assert!(!marked(&env), "a new password left the mark");
}

#[test]
fn run_and_completions_refuse_json_instead_of_ignoring_it() {
    let (env, _) = with_warehouse();
    let out = env
        .ohx()
        .args(["run", "-c", "warehouse", "--json", "--", "true"])
        .fails(2);
    assert!(out.stderr.contains("--json"), "{out}");
    env.ohx().args(["completions", "bash", "--json"]).fails(2);
}

#[test]
fn edit_slug_renames_a_connection_and_its_secrets_follow() {
    let (env, password) = with_warehouse();
    let out = env
        .ohx()
        .args(["connection", "edit", "warehouse", "--slug", "dwh", "--json"])
        .ok()
        .json();
    assert_eq!(out["identifier"], "dwh");
    // The secret still opens under its new name (it is sealed to its place), and the variables
    // follow the identifier.
    let vars = env
        .ohx()
        .args(["connection", "env", "dwh", "--json"])
        .ok()
        .json();
    assert_eq!(vars["DWH_PASSWORD"], password.as_str());
    env.ohx().args(["connection", "show", "warehouse"]).fails(3);
    // The signed history follows: the old identifier ended, the new one began.
    env.ohx().args(["workspace", "verify"]).ok();
    let log = env.ohx().args(["log", "--json"]).ok();
    assert!(log.stdout.contains("dwh"), "{log}");
    // The same checks as `add`: the shape, a name taken, a variable that shadows a sensitive one.
    env.ohx()
        .args([
            "connection",
            "add",
            "s3",
            "--name",
            "lake",
            "--set",
            "bucket_name=lake",
        ])
        .ok();
    env.ohx()
        .args(["connection", "edit", "dwh", "--slug", "lake"])
        .fails_somehow();
    env.ohx()
        .args(["connection", "edit", "dwh", "--slug", "Not A Slug!"])
        .fails(2);
    env.ohx()
        .args(["connection", "edit", "dwh", "--slug", "path"])
        .fails(2);
    env.ohx().args(["connection", "env", "dwh", "--json"]).ok();
}

#[test]
fn copy_puts_the_same_connection_under_another_identifier_or_workspace() {
    let (env, password) = with_warehouse();
    env.ohx().args(["workspace", "create", "tb"]).ok();
    let same = env
        .ohx()
        .args([
            "connection",
            "copy",
            "warehouse",
            "warehouse-staging",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(same["identifier"], "warehouse-staging");
    let other = env
        .ohx()
        .args(["connection", "copy", "ws/warehouse", "tb/warehouse"])
        .ok();
    assert!(!other.stdout.contains(&password) && !other.stderr.contains(&password));
    for (ws, id, var) in [
        ("ws", "warehouse-staging", "WAREHOUSE_STAGING_PASSWORD"),
        ("tb", "warehouse", "WAREHOUSE_PASSWORD"),
    ] {
        let vars = env
            .ohx()
            .args(["connection", "env", &format!("{ws}/{id}"), "--json"])
            .ok()
            .json();
        assert_eq!(vars[var], password.as_str(), "{ws}/{id}");
    }
    for ws in ["ws", "tb"] {
        env.ohx().args(["workspace", "verify", ws]).ok();
    }
    // A taken identifier is refused, and so is a viewer copying secrets they may not read.
    env.ohx()
        .args(["connection", "copy", "warehouse", "warehouse-staging"])
        .fails_somehow();
    join(&env, "vic", "viewer", Some(WS));
    env.ohx_as("vic")
        .args(["connection", "copy", "warehouse", "mine"])
        .fails(4);
}
