//! After an editor is removed: connections with secrets are marked "rotate at source" (in the
//! list, the table and `show`) until their secret is replaced, the admin still reveals them, and
//! the removed editor is refused.

use crate::connection::support::{entry, list_json, revealed, show_json, WS};
use crate::fixtures::{add_postgresql, assert_no_canary_anywhere, join};
use crate::harness::{random_canary, Env};

/// Alice admin, carol editor; postgresql `warehouse` (password returned) and an s3 `public-lake`
/// without keys; then carol is removed.
fn after_carol_leaves() -> (Env, String) {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "carol", "editor", None);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password).ok();
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
