//! The store under stress and damage (RELIABILITY.md, Storage): sixteen concurrent writers and
//! processes starting while another checkpoints, `kill -9` at random moments of `connection add` and of `member remove` (a key rotation), the
//! connection settings SQLite must be opened with, proven by what they change, and the faults of
//! a real machine: a full disk, a file size limit, a read-only store file and a read-only folder.
//!
//! Tests that need root (a tmpfs mount, `chattr +i`, running ohx as another user) say why they
//! skip when they cannot run, and fail instead under `CI`, which runs as root.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::fixtures::join;
use crate::harness::{in_path, is_root, random_canary, set_mode, Cmd, Env, Outcome};
use crate::store_probe::{
    age_identity, connection_id, contains, copy_with_change_in_wal, files_under, integrity,
    open_db, query_i64, sidecar, stored_identifiers, stored_workspace, unwrap_key, wrapped_key_of,
};

use super::{
    add_custom, add_postgresql, cannot_run, env_json, kill_after, prefix, random_delay, system,
    typical_run, Killed, WS,
};

// ---------------------------------------------------------------------------------------------
// Concurrent writers
// ---------------------------------------------------------------------------------------------

#[test]
fn sixteen_processes_adding_forty_connections_each_end_with_640() {
    const WORKERS: usize = 16;
    const EACH: usize = 40;
    let env = Env::new();
    env.admin_with_workspace(WS);
    let token = random_canary();
    let start = std::sync::Barrier::new(WORKERS);
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (env, start, token) = (&env, &start, &token);
                scope.spawn(move || {
                    start.wait();
                    let mut failed = Vec::new();
                    for i in 0..EACH {
                        let out = add_custom(env, &format!("w{w:02}-c{i:02}"), token).run();
                        if out.status != 0 {
                            failed
                                .push(format!("worker {w}, add {i}: status {}\n{out}", out.status));
                        }
                    }
                    failed
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker thread panicked"))
            .collect()
    });
    eprintln!(
        "{} adds by {WORKERS} processes took {:?}",
        WORKERS * EACH,
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} adds failed; the first:\n{}",
        failures.len(),
        WORKERS * EACH,
        failures[..failures.len().min(3)].join("\n")
    );

    let list = env
        .ohx()
        .args(["connection", "list", "--json", "-w", WS])
        .ok()
        .json();
    let listed: BTreeSet<String> = list
        .as_array()
        .expect("list --json is an array")
        .iter()
        .map(|c| c["identifier"].as_str().expect("identifier").to_string())
        .collect();
    let expected: BTreeSet<String> = (0..WORKERS)
        .flat_map(|w| (0..EACH).map(move |i| format!("w{w:02}-c{i:02}")))
        .collect();
    assert_eq!(list.as_array().map(Vec::len), Some(WORKERS * EACH));
    assert_eq!(listed, expected);
    assert_eq!(integrity(&env), "ok");
    // Every secret written under contention opens.
    let ids: Vec<String> = expected.into_iter().collect();
    let vars = env_json(&env, &ids);
    for id in &ids {
        assert_eq!(
            vars.get(&format!("{}_TOKEN", prefix(id))),
            Some(&token),
            "{id}"
        );
    }
}

#[test]
fn a_store_growing_in_a_checkpoint_is_never_reported_truncated() {
    // A checkpoint copies the WAL into the store page by page, page 1 (whose header holds the new
    // page count) first: for a moment the header promises pages the file does not have yet.
    // Another ohx starting then must wait for SQLite, not call the store truncated.
    const CYCLES: usize = 10;
    const READERS: usize = 4;
    let env = Env::new();
    env.admin_with_workspace(WS);
    let ballast = "b".repeat(100 * 1024);
    let mut refused = Vec::new();
    let mut n = 0;
    for cycle in 0..CYCLES {
        // While a connection is open and reading, ohx cannot checkpoint at exit: the WAL grows.
        let keeper = open_db(&env.store());
        keeper
            .set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            )
            .expect("no checkpoint when the keeper closes");
        let _: i64 = keeper
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .expect("read");
        for _ in 0..8 {
            n += 1;
            add_custom(&env, &format!("c{n:03}"), &random_canary())
                .args(["--description", &ballast])
                .ok();
        }
        drop(keeper);
        // The first of these to exit alone checkpoints ~200 pages; the others keep starting.
        let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
            let readers: Vec<_> = (0..READERS)
                .map(|_| {
                    let env = &env;
                    scope.spawn(move || {
                        (0..12)
                            .map(|_| env.ohx().arg("whoami").run())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            readers
                .into_iter()
                .flat_map(|r| r.join().expect("reader thread"))
                .collect()
        });
        refused.extend(
            outcomes
                .into_iter()
                .filter(|o| o.status != 0)
                .map(|o| format!("cycle {cycle}: status {}\n{o}", o.status)),
        );
    }
    assert!(
        refused.is_empty(),
        "{} of {} commands failed while another ohx checkpointed; the first:\n{}",
        refused.len(),
        CYCLES * READERS * 12,
        refused[0]
    );
    assert_eq!(integrity(&env), "ok");
}

// ---------------------------------------------------------------------------------------------
// kill -9 at random moments
// ---------------------------------------------------------------------------------------------

/// What `fields` rows a postgresql connection must have: code -> secret?
const POSTGRESQL_FIELDS: [(&str, bool); 5] = [
    ("host", false),
    ("port", false),
    ("username", false),
    ("db_name", false),
    ("password", true),
];

/// The store is sound and holds no half-written connection: every connection of [`WS`] has
/// exactly its five fields, each complete, its secret under the current key version; and every
/// connection in `acknowledged` (added by a command that exited 0) is there.
#[track_caller]
fn assert_no_half_written_connection(env: &Env, acknowledged: &BTreeMap<String, String>) {
    assert_eq!(integrity(env), "ok");
    let ws = stored_workspace(env, WS);
    let db = open_db(&env.store());
    let orphans: i64 = db
        .query_row(
            "SELECT count(*) FROM fields WHERE connection_id NOT IN (SELECT id FROM connections)",
            [],
            |r| r.get(0),
        )
        .expect("count orphans");
    assert_eq!(orphans, 0, "field rows without their connection");
    let mut stmt = db
        .prepare(
            "SELECT c.slug, c.name, c.type, f.code, f.secret, f.value, f.ciphertext, f.key_version
             FROM connections c LEFT JOIN fields f ON f.connection_id = c.id
             WHERE c.workspace_id = ?1",
        )
        .expect("prepare");
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<bool>,
        Option<String>,
        Option<Vec<u8>>,
        Option<i64>,
    );
    let rows: Vec<Row> = stmt
        .query_map([ws.id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    let mut fields: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for (slug, name, kind, code, secret, value, ciphertext, version) in rows {
        assert_eq!(
            (name.as_str(), kind.as_str()),
            (slug.as_str(), "postgresql")
        );
        let of_slug = fields.entry(slug.clone()).or_default();
        let Some(code) = code else { continue };
        let secret = secret.expect("secret flag");
        if secret {
            assert!(
                ciphertext.as_ref().is_some_and(|c| !c.is_empty()),
                "{slug}.{code}: no ciphertext"
            );
            assert_eq!(version, Some(ws.key_version), "{slug}.{code}: key version");
        } else {
            assert!(value.is_some(), "{slug}.{code}: no value");
        }
        of_slug.insert(code, secret);
    }
    let complete: BTreeMap<String, bool> = POSTGRESQL_FIELDS
        .iter()
        .map(|(c, s)| (c.to_string(), *s))
        .collect();
    for (slug, got) in &fields {
        assert_eq!(got, &complete, "connection '{slug}' is half-written");
    }
    for slug in acknowledged.keys() {
        assert!(
            fields.contains_key(slug),
            "'{slug}' was acknowledged (exit 0) but is not in the store"
        );
    }
}

#[test]
fn kill_9_at_random_moments_of_connection_add_never_leaves_a_half_written_connection() {
    const KILLS: usize = 60;
    let env = Env::new();
    env.admin_with_workspace(WS);
    // slug -> password, for every connection that must be there (acknowledged) or is (killed
    // after its commit).
    let mut acknowledged: BTreeMap<String, String> = BTreeMap::new();
    let mut present: BTreeMap<String, String> = BTreeMap::new();
    let typical = typical_run(5, |i| {
        let (slug, password) = (format!("warm-{i}"), random_canary());
        acknowledged.insert(slug.clone(), password.clone());
        add_postgresql(&env, &slug, &password)
    });
    present.extend(acknowledged.clone());

    let (mut kills, mut landed_after_commit, mut held_open, mut n) = (0, 0, 0, 0);
    let started = Instant::now();
    while kills < KILLS {
        n += 1;
        let (slug, password) = (format!("c{n:03}"), random_canary());
        match kill_after(
            add_postgresql(&env, &slug, &password),
            random_delay(typical),
        ) {
            Killed::No(out) => {
                assert_eq!(out.status, 0, "an add that was not killed failed\n{out}");
                acknowledged.insert(slug.clone(), password.clone());
                present.insert(slug, password);
            }
            Killed::Yes => {
                kills += 1;
                // SQLite removes the -shm when the last connection closes: one left behind means
                // the kill landed while ohx had the store open.
                held_open += usize::from(sidecar(&env.store(), "-shm").exists());
                if stored_identifiers(&env, WS).contains(&slug) {
                    landed_after_commit += 1;
                    present.insert(slug, password);
                }
            }
        }
        assert_no_half_written_connection(&env, &acknowledged);
        if kills % 10 == 0 || kills == KILLS {
            // Every connection there opens, with the password it was given.
            let ids: Vec<String> = present.keys().cloned().collect();
            let vars = env_json(&env, &ids);
            for (slug, password) in &present {
                assert_eq!(
                    vars.get(&format!("{}_PASSWORD", prefix(slug))),
                    Some(password)
                );
            }
        }
    }
    assert_eq!(
        stored_identifiers(&env, WS),
        present.keys().cloned().collect::<Vec<_>>()
    );
    for slug in present.keys() {
        env.ohx()
            .args(["connection", "show", slug, "--reveal", "-w", WS])
            .ok();
    }
    eprintln!(
        "connection add: {kills} kills in {n} runs ({held_open} with the store open, {landed_after_commit} after the commit, {} acknowledged), {:?}, delays below {typical:?}",
        acknowledged.len(),
        started.elapsed()
    );
    assert!(
        held_open >= KILLS / 4,
        "only {held_open} of {kills} kills landed while ohx had the store open"
    );
}

/// The store holds one key generation only: every secret of [`WS`] and every wrapped key are at
/// the workspace's key version, alice's wrapped key opens to the workspace's recipient, every
/// secret opens with ohx, and connections are marked for rotation exactly when a key holder left.
#[track_caller]
fn assert_one_key_generation(env: &Env, tokens: &BTreeMap<String, String>, check_values: bool) {
    assert_eq!(integrity(env), "ok");
    let ws = stored_workspace(env, WS);
    let db = open_db(&env.store());
    let versions = |sql: &str| -> Vec<Option<i64>> {
        let mut stmt = db.prepare(sql).expect("prepare");
        let rows = stmt.query_map([ws.id], |r| r.get(0)).expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    let secrets = versions(
        "SELECT f.key_version FROM fields f JOIN connections c ON c.id = f.connection_id
         WHERE c.workspace_id = ?1 AND f.secret = 1",
    );
    assert_eq!(secrets.len(), tokens.len());
    for v in &secrets {
        assert_eq!(
            *v,
            Some(ws.key_version),
            "a secret under another key version"
        );
    }
    for v in versions(
        "SELECT key_version FROM memberships WHERE workspace_id = ?1 AND wrapped_key IS NOT NULL",
    ) {
        assert_eq!(v, Some(ws.key_version), "a wrapped key of another version");
    }
    let marks = versions("SELECT needs_rotation FROM connections WHERE workspace_id = ?1");
    let rotated = ws.key_version > 1;
    for mark in marks {
        assert_eq!(
            mark,
            Some(i64::from(rotated)),
            "rotation marks at key version {}",
            ws.key_version
        );
    }
    let alice = age_identity(&env.identity_of("alice"));
    let key = wrapped_key_of(env, WS, "alice")
        .and_then(|w| unwrap_key(&w, &alice))
        .expect("alice's wrapped key opens");
    assert_eq!(key.to_public().to_string(), ws.recipient);
    if check_values {
        let ids: Vec<String> = tokens.keys().cloned().collect();
        let vars = env_json(env, &ids);
        for (slug, token) in tokens {
            assert_eq!(
                vars.get(&format!("{}_TOKEN", prefix(slug))),
                Some(token),
                "{slug}"
            );
        }
    }
}

#[track_caller]
fn is_member(env: &Env, person: &str) -> bool {
    open_db(&env.store())
        .query_row(
            "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
             JOIN workspaces w ON w.id = m.workspace_id WHERE w.slug = ?1 AND u.name = ?2",
            [WS, person],
            |r| r.get::<_, i64>(0),
        )
        .expect("query membership")
        > 0
}

#[test]
fn kill_9_at_random_moments_of_member_remove_never_mixes_old_and_new_keys() {
    const KILLS: usize = 50;
    const CONNECTIONS: usize = 30;
    let env = Env::new();
    env.admin_with_workspace(WS);
    let tokens: BTreeMap<String, String> = (0..CONNECTIONS)
        .map(|i| (format!("c{i:02}"), random_canary()))
        .collect();
    for (slug, token) in &tokens {
        add_custom(&env, slug, token).ok();
    }
    let bob = env.person("bob");
    let add_bob = || {
        env.ohx()
            .args(["member", "add", "bob", "--recipient", &bob])
            .args(["--role", "editor", "-w", WS, "-q"])
            .ok()
    };
    let remove_bob = || {
        env.ohx()
            .args(["member", "remove", "bob", "--yes", "-w", WS, "-q"])
    };
    let typical = typical_run(5, |_| {
        add_bob();
        remove_bob()
    });
    assert_one_key_generation(&env, &tokens, true);

    let (mut kills, mut rotated_by_killed, mut held_open, mut runs) = (0, 0, 0, 0);
    let started = Instant::now();
    while kills < KILLS {
        runs += 1;
        if !is_member(&env, "bob") {
            add_bob();
        }
        let version = stored_workspace(&env, WS).key_version;
        match kill_after(remove_bob(), random_delay(typical)) {
            Killed::No(out) => {
                assert_eq!(out.status, 0, "a remove that was not killed failed\n{out}");
                assert!(
                    !is_member(&env, "bob"),
                    "an acknowledged removal is not there"
                );
                assert_eq!(stored_workspace(&env, WS).key_version, version + 1);
            }
            Killed::Yes => {
                kills += 1;
                held_open += usize::from(sidecar(&env.store(), "-shm").exists());
                let now = stored_workspace(&env, WS).key_version;
                let removed = !is_member(&env, "bob");
                // All of the removal (member gone, key rotated) or none of it.
                assert_eq!(
                    (removed, now),
                    if removed {
                        (true, version + 1)
                    } else {
                        (false, version)
                    },
                    "kill {kills}: bob removed = {removed}, key version {version} -> {now}"
                );
                rotated_by_killed += usize::from(removed);
            }
        }
        assert_one_key_generation(&env, &tokens, kills % 5 == 0);
    }
    for slug in tokens.keys() {
        env.ohx()
            .args(["connection", "show", slug, "--reveal", "-w", WS])
            .ok();
    }
    eprintln!(
        "member remove: {kills} kills in {runs} runs ({held_open} with the store open, {rotated_by_killed} after the commit), {:?}, delays below {typical:?}",
        started.elapsed()
    );
    assert!(
        held_open >= KILLS / 4,
        "only {held_open} of {kills} kills landed while ohx had the store open"
    );
}

// ---------------------------------------------------------------------------------------------
// How the store is opened, proven by what each setting changes
// ---------------------------------------------------------------------------------------------

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
    let orphans: i64 = db
        .query_row(
            "SELECT count(*) FROM fields WHERE connection_id NOT IN (SELECT id FROM connections)",
            [],
            |r| r.get(0),
        )
        .expect("count orphans");
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

#[test]
fn a_sqlite_file_that_is_not_an_ohx_store_is_refused_untouched() {
    let env = Env::new();
    env.person("alice");
    let foreign = env.root().join("foreign.db");
    let db = rusqlite::Connection::open(&foreign).expect("create");
    db.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .expect("fill");
    db.close().map_err(|(_, e)| e).expect("close");
    set_mode(&foreign, 0o600);
    let before = std::fs::read(&foreign).expect("read");
    let out = env
        .ohx()
        .arg("--store")
        .arg(&foreign)
        .args(["workspace", "list"])
        .fails(6);
    assert!(out.stderr.contains("not an ohx store"), "{out}");
    assert!(
        std::fs::read(&foreign).expect("read") == before,
        "the file changed"
    );
    for suffix in ["-wal", "-shm", "-journal"] {
        assert!(!sidecar(&foreign, suffix).exists(), "ohx left a {suffix}");
    }
}

#[test]
fn a_store_whose_application_id_changed_in_the_wal_is_refused_untouched() {
    // The header says ohx, the committed WAL says otherwise: the check must not stop at the
    // header, and must not checkpoint the WAL into a file it refuses.
    let env = Env::new();
    env.admin_with_workspace(WS);
    let copy = env.root().join("changed.db");
    copy_with_change_in_wal(&env, "PRAGMA application_id = 7;", &copy);
    let main_before = std::fs::read(&copy).expect("read");
    let wal_before = std::fs::read(sidecar(&copy, "-wal")).expect("read wal");
    let out = env
        .ohx()
        .arg("--store")
        .arg(&copy)
        .args(["workspace", "list"])
        .fails(6);
    assert!(out.stderr.contains("not an ohx store"), "{out}");
    assert!(
        std::fs::read(&copy).expect("read") == main_before,
        "the main file changed"
    );
    assert!(
        std::fs::read(sidecar(&copy, "-wal")).unwrap_or_default() == wal_before,
        "the WAL was consumed"
    );
}

// ---------------------------------------------------------------------------------------------
// Faults: a full disk, a file size limit
// ---------------------------------------------------------------------------------------------

/// A tmpfs mounted over a folder, unmounted when dropped.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "1m") at `at` (created), or says why it cannot.
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let options = format!("size={size},mode=0700");
        system(
            "mount",
            &[
                OsStr::new("-t"),
                OsStr::new("tmpfs"),
                OsStr::new("-o"),
                OsStr::new(&options),
                OsStr::new("tmpfs"),
                at.as_os_str(),
            ],
        )?;
        Ok(Tmpfs {
            at: at.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if system("umount", &[self.at.as_os_str()]).is_err() {
            let _ = system("umount", &[OsStr::new("-l"), self.at.as_os_str()]);
        }
    }
}

/// Bytes free for an ordinary writer on the filesystem holding `path`.
fn free_bytes(path: &Path) -> u64 {
    let stat = rustix::fs::statvfs(path).expect("statvfs");
    stat.f_bavail * stat.f_frsize
}

/// Writes zeros to `filler` until only about `keep` bytes are left free.
fn fill_leaving(filler: &Path, keep: u64) {
    let _ = std::fs::remove_file(filler);
    let mut file = std::fs::File::create(filler).expect("create filler");
    let chunk = vec![0u8; 4096];
    while free_bytes(filler) > keep {
        let room = free_bytes(filler) - keep;
        let n = usize::try_from(room).unwrap_or(usize::MAX).min(chunk.len());
        if file
            .write_all(&chunk[..n])
            .and_then(|()| file.flush())
            .is_err()
        {
            break;
        }
    }
}

/// Alice's workspace with three connections, each with a token; returns slug -> token.
fn three_connections(env: &Env) -> BTreeMap<String, String> {
    env.admin_with_workspace(WS);
    let tokens: BTreeMap<String, String> = ["a", "b", "c"]
        .iter()
        .map(|s| (s.to_string(), random_canary()))
        .collect();
    for (slug, token) in &tokens {
        add_custom(env, slug, token).ok();
    }
    tokens
}

/// After a failed write: the store is sound, holds exactly `tokens`' connections, every secret
/// opens with its value, and every secret is under the workspace's key version.
#[track_caller]
fn assert_store_intact(env: &Env, tokens: &BTreeMap<String, String>, what: &str) {
    assert_eq!(integrity(env), "ok", "{what}");
    assert_eq!(
        stored_identifiers(env, WS),
        tokens.keys().cloned().collect::<Vec<_>>(),
        "{what}"
    );
    let ws = stored_workspace(env, WS);
    let stale = query_i64(
        env,
        &format!(
            "SELECT count(*) FROM fields WHERE secret = 1 AND key_version != {}",
            ws.key_version
        ),
    );
    assert_eq!(stale, 0, "{what}: secrets under an old key");
    let ids: Vec<String> = tokens.keys().cloned().collect();
    let vars = env_json(env, &ids);
    for (slug, token) in tokens {
        assert_eq!(
            vars.get(&format!("{}_TOKEN", prefix(slug))),
            Some(token),
            "{what}"
        );
    }
}

/// A failed write: status 6 (store problem) or 1, one clean `error:` line, no panic.
#[track_caller]
fn assert_failed_cleanly(out: &Outcome, what: &str) {
    assert!(
        out.status == 6 || out.status == 1,
        "{what}: expected status 6 or 1, got {}\n{out}",
        out.status
    );
    out.assert_clean_error(what);
}

#[test]
fn a_full_disk_fails_writes_cleanly_and_keeps_the_store() {
    let env = Env::new();
    let _tmpfs = match Tmpfs::mount(&env.home(), "1m") {
        Ok(t) => t,
        Err(reason) => {
            eprintln!("cannot mount a small tmpfs ({reason}); a file size limit stands in for a full disk");
            return file_size_limit_fails_writes_cleanly(&env);
        }
    };
    let mut tokens = three_connections(&env);
    for i in 0..20 {
        let slug = format!("more-{i:02}");
        let token = random_canary();
        add_custom(&env, &slug, &token).ok();
        tokens.insert(slug, token);
    }
    let filler = env.home().join("filler");
    let (mut full, mut failed, mut n) = (0, 0, 0);
    // With at least 36 KiB free, SQLite can map its 32 KiB -shm and runs out of space inside the
    // transaction, writing the WAL: those failures must say the disk is full.
    for keep_kib in [36u64, 40, 44, 48, 56, 64, 80, 96, 0] {
        for write in ["add", "rotate-key"] {
            n += 1;
            fill_leaving(&filler, keep_kib * 1024);
            let (slug, token) = (format!("full-{n:02}"), random_canary());
            let out = match write {
                "add" => add_custom(&env, &slug, &token).run(),
                _ => env.ohx().args(["workspace", "rotate-key", WS, "-q"]).run(),
            };
            let what = format!("{write} with {keep_kib} KiB free");
            if out.status == 0 {
                if write == "add" {
                    tokens.insert(slug, token);
                }
            } else {
                failed += 1;
                assert_failed_cleanly(&out, &what);
                if out.stderr.contains("full") {
                    full += 1;
                } else {
                    assert_eq!(
                        keep_kib, 0,
                        "{what}: the error does not say the disk is full\n{out}"
                    );
                }
            }
            std::fs::remove_file(&filler).expect("remove filler");
            assert_store_intact(&env, &tokens, &what);
        }
    }
    eprintln!("full disk: {n} writes, {failed} failed, {full} said the disk was full");
    assert!(
        full > 0,
        "no write ran out of space inside its transaction: the test proves nothing"
    );
    // With the space back, writes work again.
    add_custom(&env, "after", &random_canary()).ok();
    env.ohx().args(["workspace", "rotate-key", WS, "-q"]).ok();
}

#[test]
fn a_completely_full_disk_is_reported_as_full() {
    let env = Env::new();
    let _tmpfs = match Tmpfs::mount(&env.home(), "1m") {
        Ok(t) => t,
        Err(reason) => return cannot_run("a_completely_full_disk_is_reported_as_full", &reason),
    };
    let tokens = three_connections(&env);
    let filler = env.home().join("filler");
    fill_leaving(&filler, 0);
    let out = add_custom(&env, "d", &random_canary()).run();
    std::fs::remove_file(&filler).expect("remove filler");
    assert_failed_cleanly(&out, "add on a full disk");
    assert!(
        out.stderr.contains("full") || out.stderr.contains("space"),
        "the error does not say the disk is full\n{out}"
    );
    assert_store_intact(&env, &tokens, "after a full disk");
}

/// `cmd` run with a maximum file size of `bytes` and SIGXFSZ ignored, so that writes past the
/// limit fail with EFBIG instead of killing the process.
fn with_file_size_limit(cmd: Cmd, prlimit: &Path, bytes: u64) -> Cmd {
    cmd.env("PRLIMIT", prlimit)
        .env("FSIZE", bytes.to_string())
        .shell(
            "sh",
            r#"trap '' XFSZ; exec "$PRLIMIT" --fsize="$FSIZE" "$0" "$@""#,
        )
}

fn file_size_limit_fails_writes_cleanly(env: &Env) {
    let Some(prlimit) = in_path("prlimit") else {
        return cannot_run("file size limit", "prlimit (util-linux) is not installed");
    };
    let mut tokens = three_connections(env);
    let (mut failed, mut n) = (0, 0);
    // Below 32 KiB the -shm cannot be mapped; above, the WAL stops growing mid-transaction.
    for limit in [8_000u64, 20_000, 33_000, 34_000, 36_000, 40_000, 60_000] {
        for write in ["add", "rotate-key"] {
            n += 1;
            let (slug, token) = (format!("limited-{n:02}"), random_canary());
            let cmd = match write {
                "add" => add_custom(env, &slug, &token),
                _ => env.ohx().args(["workspace", "rotate-key", WS, "-q"]),
            };
            let out = with_file_size_limit(cmd, &prlimit, limit).run();
            let what = format!("{write} with files limited to {limit} bytes");
            if out.status == 0 {
                if write == "add" {
                    tokens.insert(slug, token);
                }
            } else {
                failed += 1;
                assert_failed_cleanly(&out, &what);
            }
            assert_store_intact(env, &tokens, &what);
        }
    }
    eprintln!("file size limit: {n} writes, {failed} failed");
    assert!(
        failed > 0,
        "no write hit the limit: the test proves nothing"
    );
    add_custom(env, "after", &random_canary()).ok();
}

#[test]
fn a_file_size_limit_fails_writes_cleanly_and_keeps_the_store() {
    file_size_limit_fails_writes_cleanly(&Env::new());
}

// ---------------------------------------------------------------------------------------------
// Faults: a read-only store file, a read-only folder
// ---------------------------------------------------------------------------------------------

/// A file or folder made read-only even for root, restored when dropped.
struct ReadOnly {
    path: PathBuf,
    mode: u32,
    how: Protection,
}

enum Protection {
    /// Permission bits only: enough for anyone but root.
    Mode,
    /// `chattr +i`: not even root may write.
    Immutable,
    /// A read-only bind mount of the path over itself.
    BindMount,
}

impl ReadOnly {
    /// Makes `path` read-only with `mode` (0400 for a file, 0500 for a folder) and, as root,
    /// `chattr +i` or else a read-only bind mount; or says why it cannot.
    fn make(path: &Path, mode: u32) -> Result<ReadOnly, String> {
        let old = crate::harness::file_mode(path);
        set_mode(path, mode);
        let mut guard = ReadOnly {
            path: path.to_path_buf(),
            mode: old,
            how: Protection::Mode,
        };
        if !is_root() {
            return Ok(guard);
        }
        let chattr = system("chattr", &[OsStr::new("+i"), path.as_os_str()]);
        if chattr.is_ok() {
            guard.how = Protection::Immutable;
            return Ok(guard);
        }
        let bound = system(
            "mount",
            &[OsStr::new("--bind"), path.as_os_str(), path.as_os_str()],
        );
        if bound.is_ok() {
            guard.how = Protection::BindMount;
            let remount = system(
                "mount",
                &[
                    OsStr::new("-o"),
                    OsStr::new("remount,bind,ro"),
                    path.as_os_str(),
                ],
            );
            return remount.map(|()| guard);
        }
        Err(format!(
            "root ignores permissions, and neither chattr +i nor a read-only bind mount works: {} / {}",
            chattr.err().unwrap_or_default(),
            bound.err().unwrap_or_default()
        ))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        match self.how {
            Protection::Mode => {}
            Protection::Immutable => {
                let _ = system("chattr", &[OsStr::new("-i"), self.path.as_os_str()]);
            }
            Protection::BindMount => {
                let _ = system("umount", &[self.path.as_os_str()]);
            }
        }
        set_mode(&self.path, self.mode);
    }
}

/// The writes tried against a read-only store or folder.
fn writes(env: &Env) -> Vec<Cmd> {
    vec![
        add_custom(env, "new", &random_canary()),
        env.ohx().args([
            "connection",
            "edit",
            "a",
            "--description",
            "changed",
            "-w",
            WS,
        ]),
        env.ohx()
            .args(["connection", "delete", "b", "--yes", "-w", WS]),
        env.ohx().args(["workspace", "rotate-key", WS]),
        env.ohx()
            .args(["workspace", "create", "Another", "--slug", "another"]),
    ]
}

#[test]
fn a_read_only_store_file_refuses_writes_and_says_so() {
    let env = Env::new();
    let tokens = three_connections(&env);
    let before = std::fs::read(env.store()).expect("read store");
    let guard = match ReadOnly::make(&env.store(), 0o400) {
        Ok(g) => g,
        Err(reason) => {
            return cannot_run("a_read_only_store_file_refuses_writes_and_says_so", &reason)
        }
    };
    for cmd in writes(&env) {
        let what = cmd.describe();
        let out = cmd.fails(6);
        assert!(out.stderr.contains("read-only"), "{what}\n{out}");
    }
    assert!(
        std::fs::read(env.store()).expect("read") == before,
        "the read-only store changed"
    );
    drop(guard);
    // As an ordinary user, what follows meets the read-only -shm SQLite left beside the store:
    // that bug has its own test, a_store_made_writable_again_accepts_writes_from_its_owner.
    if is_root() {
        assert_store_intact(&env, &tokens, "after a read-only store");
        add_custom(&env, "after", &random_canary()).ok();
    }
}

/// Runs ohx as an ordinary user: as uid/gid 65534 (nobody) when the tests run as root, since root
/// skips the permission checks under test. [`hand_over`] gives that user the test's folder.
fn as_ordinary_user(cmd: Cmd) -> Cmd {
    if !is_root() {
        return cmd;
    }
    cmd.shell(
        "sh",
        r#"exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" "$@""#,
    )
}

/// Hands the test's folder to uid 65534 when running as root; or says why that cannot work.
fn hand_over(env: &Env) -> Result<(), String> {
    if !is_root() {
        return Ok(());
    }
    in_path("setpriv").ok_or("setpriv (util-linux) is not installed")?;
    std::os::unix::fs::chown(env.root(), Some(65534), Some(65534)).map_err(|e| e.to_string())?;
    // The ohx binary and the folders above it must be reachable by that user.
    system(
        "setpriv",
        &[
            OsStr::new("--reuid=65534"),
            OsStr::new("--regid=65534"),
            OsStr::new("--clear-groups"),
            OsStr::new("test"),
            OsStr::new("-x"),
            OsStr::new(env!("CARGO_BIN_EXE_ohx")),
        ],
    )
    .map_err(|e| format!("uid 65534 cannot run the ohx binary: {e}"))
}

#[test]
fn a_store_made_writable_again_accepts_writes_from_its_owner() {
    let env = Env::new();
    if let Err(reason) = hand_over(&env) {
        return cannot_run(
            "a_store_made_writable_again_accepts_writes_from_its_owner",
            &reason,
        );
    }
    let run = as_ordinary_user;
    run(env.ohx().args(["init", "--name", "alice"])).ok();
    run(env.ohx().args(["workspace", "create", WS, "--slug", WS])).ok();
    run(add_custom(&env, "a", &random_canary())).ok();

    set_mode(&env.store(), 0o400);
    let out = run(add_custom(&env, "b", &random_canary())).fails(6);
    assert!(out.stderr.contains("read-only"), "{out}");
    set_mode(&env.store(), 0o600);
    let out = run(add_custom(&env, "c", &random_canary())).run();
    let leftovers: Vec<String> = ["-wal", "-shm"]
        .iter()
        .filter_map(|s| {
            let p = sidecar(&env.store(), s);
            p.exists()
                .then(|| format!("{} {:o}", p.display(), crate::harness::file_mode(&p)))
        })
        .collect();
    assert_eq!(
        out.status, 0,
        "the store is writable again, but ohx still refuses (left beside it: {leftovers:?})\n{out}"
    );
}

#[test]
fn a_read_only_folder_refuses_writes_and_keeps_the_store() {
    let env = Env::new();
    let tokens = three_connections(&env);
    let before = std::fs::read(env.store()).expect("read store");
    let files_before = files_under(&env.home());
    let guard = match ReadOnly::make(&env.home(), 0o500) {
        Ok(g) => g,
        Err(reason) => {
            return cannot_run(
                "a_read_only_folder_refuses_writes_and_keeps_the_store",
                &reason,
            )
        }
    };
    for cmd in writes(&env) {
        cmd.fails(6);
    }
    assert!(
        std::fs::read(env.store()).expect("read") == before,
        "the store changed"
    );
    assert_eq!(files_under(&env.home()), files_before);
    drop(guard);
    assert_store_intact(&env, &tokens, "after a read-only folder");
    add_custom(&env, "after", &random_canary()).ok();
}

#[test]
fn a_read_only_folder_is_named_in_the_error() {
    let env = Env::new();
    three_connections(&env);
    let _guard = match ReadOnly::make(&env.home(), 0o500) {
        Ok(g) => g,
        Err(reason) => return cannot_run("a_read_only_folder_is_named_in_the_error", &reason),
    };
    let out = add_custom(&env, "new", &random_canary()).fails(6);
    let said = out.stderr.to_lowercase();
    assert!(
        said.contains(&env.home().display().to_string().to_lowercase())
            && (said.contains("read-only")
                || said.contains("not writable")
                || said.contains("permission")),
        "the error should say that the folder {} is read-only\n{out}",
        env.home().display()
    );
}
