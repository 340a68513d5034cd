//! How SQLite must be opened, each setting proven by what it changes: WAL mode, a commit synced
//! before it is acknowledged (`synchronous=FULL`, seen with strace), deletes cascading
//! (`foreign_keys=ON`), deleted text wiped (`secure_delete=ON`) and planted triggers denied
//! unsafe functions (`trusted_schema=OFF`), the last two with a control showing the difference.

use std::collections::BTreeSet;
use std::path::Path;

use crate::faults::cannot_run;
use crate::fixtures::{add_custom, add_postgresql, join, WS};
use crate::harness::{in_path, random_canary, Env};
use crate::store_probe::{
    connection_id, contains, files_under, open_db, orphan_fields, query_i64, sidecar,
    stored_workspace,
};

#[test]
fn the_store_is_in_wal_mode() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_custom(&env, "kobo", &random_canary()).ok();
    let header = std::fs::read(env.store()).expect("read store");
    // Bytes 18 and 19 of the header: file format write and read versions, 2 for WAL.
    assert_eq!(&header[18..20], &[2, 2], "the store is not in WAL mode");
    let mode: String = open_db(&env.store())
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal");
}

/// The file descriptors a strace log shows opened on `path`, and the ones `fsync`ed or
/// `fdatasync`ed afterwards.
fn synced_fds(trace: &str, path: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let quoted = format!("\"{}\"", path.display());
    let mut opened = BTreeSet::new();
    let mut synced = BTreeSet::new();
    for line in trace.lines() {
        if line.contains("openat(") && line.contains(&quoted) {
            if let Some(fd) = line.rsplit("= ").next() {
                opened.insert(fd.trim().to_string());
            }
        }
        for call in ["fsync(", "fdatasync("] {
            if let Some(rest) = line.split(call).nth(1) {
                if let Some(fd) = rest.split(')').next() {
                    if opened.contains(fd) {
                        synced.insert(fd.to_string());
                    }
                }
            }
        }
    }
    (opened, synced)
}

#[test]
fn a_commit_is_synced_to_the_wal_before_ohx_acknowledges_it() {
    // synchronous=FULL syncs the WAL at every commit; NORMAL only at checkpoints. A reader kept
    // open stops ohx from checkpointing at exit, so any sync of the WAL is the commit's own.
    let Some(strace) = in_path("strace") else {
        cannot_run(
            "a_commit_is_synced_to_the_wal_before_ohx_acknowledges_it",
            "strace is not installed (bash .ci/setup installs it)",
        );
        return;
    };
    let env = Env::new();
    env.admin_with_workspace(WS);
    let keeper = open_db(&env.store());
    let _: i64 = keeper
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .expect("read the store");
    add_custom(&env, "first", &random_canary()).ok();
    let wal = sidecar(&env.store(), "-wal");
    assert!(
        std::fs::metadata(&wal).is_ok_and(|m| m.len() > 32),
        "the WAL should hold the first add's frames"
    );
    let trace = env.root().join("strace.log");
    let out = add_custom(&env, "second", &random_canary())
        .env("TRACE", &trace)
        .env("STRACE", &strace)
        .shell(
            "sh",
            r#"exec "$STRACE" -f -qq -e trace=openat,fsync,fdatasync -o "$TRACE" "$0" "$@""#,
        )
        .run();
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    if out.status != 0 && log.is_empty() {
        cannot_run(
            "a_commit_is_synced_to_the_wal_before_ohx_acknowledges_it",
            &format!("strace cannot trace here\n{out}"),
        );
        return;
    }
    assert_eq!(out.status, 0, "{out}");
    let (opened, synced) = synced_fds(&log, &wal);
    assert!(
        !opened.is_empty(),
        "ohx never opened {}:\n{log}",
        wal.display()
    );
    assert!(
        !synced.is_empty(),
        "the commit was acknowledged without syncing the WAL (synchronous is not FULL):\n{log}"
    );
    drop(keeper);
}

#[test]
fn deleting_a_connection_or_a_workspace_leaves_no_orphan_rows() {
    // Deletes rely on ON DELETE CASCADE, which SQLite applies only with foreign_keys=ON.
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "bob", "editor", Some(WS));
    env.ohx()
        .args(["workspace", "create", "Other", "--slug", "other"])
        .ok();
    for slug in ["gone", "kept"] {
        add_postgresql(&env, slug, &random_canary())
            .args(["-w", WS])
            .ok();
    }
    for slug in ["a", "b"] {
        add_custom(&env, slug, &random_canary())
            .args(["-w", "other"])
            .ok();
    }
    let gone = connection_id(&env, WS, "gone");
    let other = stored_workspace(&env, "other").id;

    env.ohx()
        .args(["connection", "delete", "gone", "--yes", "-w", WS])
        .ok();
    let db = open_db(&env.store());
    let count =
        |sql: &str, id: i64| -> i64 { db.query_row(sql, [id], |r| r.get(0)).expect("count") };
    assert_eq!(
        count("SELECT count(*) FROM fields WHERE connection_id = ?1", gone),
        0
    );

    env.ohx()
        .args(["workspace", "delete", "other", "--yes"])
        .ok();
    for table in ["connections", "memberships"] {
        let sql = format!("SELECT count(*) FROM {table} WHERE workspace_id = ?1");
        assert_eq!(count(&sql, other), 0, "{table} of a deleted workspace");
    }
    let orphans = orphan_fields(&env);
    assert_eq!(orphans, 0, "fields of deleted connections");
    let mut stmt = db.prepare("PRAGMA foreign_key_check").expect("prepare");
    let violations = stmt.query_map([], |_| Ok(())).expect("check").count();
    assert_eq!(violations, 0, "foreign key violations");
    // What is left is whole.
    env.ohx()
        .args(["connection", "show", "kept", "--reveal", "-w", WS])
        .ok();
}

#[test]
fn deleted_values_are_wiped_from_the_store_file() {
    // secure_delete=ON overwrites deleted content; without it, a deleted row stays readable in
    // the file's free space.
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_custom(&env, "kept", &random_canary()).ok();
    let canary = random_canary();
    env.ohx()
        .args([
            "connection",
            "add",
            "custom",
            "--name",
            "Old",
            "--slug",
            "old",
        ])
        .args(["--description", &canary, "--set"])
        .arg(format!("url=https://{canary}.example.org"))
        .args(["-w", WS])
        .ok();
    env.ohx()
        .args(["connection", "delete", "old", "--yes", "-w", WS])
        .ok();
    let files = files_under(&env.home());
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        assert!(
            !contains(&bytes, canary.as_bytes()),
            "{} still holds the deleted connection's text",
            file.display()
        );
    }

    // The same deletion with secure_delete off leaves the text in the file: the search above
    // would have seen it.
    let control = random_canary();
    let db = open_db(&env.store());
    db.execute_batch(&format!(
        "PRAGMA secure_delete = OFF;
         INSERT INTO connections (workspace_id, slug, name, description, type)
             SELECT id, 'control', 'control', '{control}', 'custom' FROM workspaces;
         DELETE FROM connections WHERE slug = 'control';"
    ))
    .expect("control writes");
    db.close().map_err(|(_, e)| e).expect("close");
    let bytes = std::fs::read(env.store()).expect("read");
    assert!(
        contains(&bytes, control.as_bytes()),
        "the control left no trace: the search proves nothing"
    );
}

#[test]
fn a_planted_trigger_cannot_call_unsafe_functions() {
    // trusted_schema=OFF: SQL planted in the schema by whoever can write the file may not use
    // functions or virtual tables with side effects (here a pragma table, not innocuous).
    let env = Env::new();
    env.admin_with_workspace(WS);
    let db = open_db(&env.store());
    db.execute_batch(
        "CREATE TABLE planted (what TEXT);
         CREATE TRIGGER planted_trigger AFTER INSERT ON connections BEGIN
             INSERT INTO planted SELECT name FROM pragma_table_info('fields');
         END;",
    )
    .expect("plant the trigger");
    drop(db);

    let out = add_custom(&env, "kobo", &random_canary()).run();
    if out.status != 0 {
        out.assert_clean_error("connection add with a planted trigger");
    }
    assert_eq!(
        query_i64(&env, "SELECT count(*) FROM planted"),
        0,
        "the planted trigger ran inside ohx\n{out}"
    );

    // With a trusted schema the trigger does run: the check above is not vacuous.
    let db = open_db(&env.store());
    db.execute_batch(
        "PRAGMA trusted_schema = ON;
         INSERT INTO connections (workspace_id, slug, name, type)
             SELECT id, 'control', 'control', 'custom' FROM workspaces LIMIT 1;",
    )
    .expect("control insert");
    let ran: i64 = db
        .query_row("SELECT count(*) FROM planted", [], |r| r.get(0))
        .expect("count");
    assert!(
        ran > 0,
        "the trigger did not run even with a trusted schema"
    );
}
