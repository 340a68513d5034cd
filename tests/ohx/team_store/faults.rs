//! Concurrency and faults on a PostgreSQL store: sixteen processes adding forty connections each,
//! secret edits racing the removal of a member (which rotates the key), `kill -9` of
//! `connection add` at random moments, and the server going away in the middle of a rotation
//! (its session ended by an administrator, or the whole server stopped). The SQLite versions are
//! in `store::concurrency` and `store::crash`, whose drivers these tests share.
//!
//! To make the server go away at a known point without timing, a psql session holds a share lock
//! on the workspace's row: a rotation rewrites every secret, then waits there for the last
//! statement of its transaction (the new key version), and only then is its session ended.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{data_dump, home_and_database, plain_server, psql, psql_command, start_holder};
use crate::credentials::support::{require, Component};
use crate::fixtures::{add_custom, assert_no_canary_anywhere, assert_says, join, runtime_dir, WS};
use crate::harness::{random_canary, Env, Outcome};
use crate::pg_server::PgServer;
use crate::store::concurrency::sixteen_processes_add_forty_connections_each;
use crate::store::crash::kill_adds;

/// Alice's home on a fresh database of `server` (`OHX_STORE`), with her workspace [`WS`]; returns
/// the home, the database and its URL.
fn alice_on(server: &PgServer) -> (Env, String, String) {
    let (env, database, url) = home_and_database(server);
    let env = env.with_var("OHX_STORE", &url);
    env.admin_with_workspace(WS);
    (env, database, url)
}

/// `workspace verify` of [`WS`] passes: every record's MAC and signature, the signed log.
#[track_caller]
fn verifies(env: &Env) {
    env.ohx().args(["workspace", "verify", WS]).ok();
}

/// The identifiers of [`WS`]'s connections, in order.
fn stored_slugs(server: &PgServer, database: &str) -> Vec<String> {
    psql(
        server,
        database,
        &format!(
            "SELECT c.slug FROM connections c JOIN workspaces w ON w.id = c.workspace_id
             WHERE w.slug = '{WS}' ORDER BY c.slug"
        ),
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// The secret fields of [`WS`] that are not under the workspace's key version, as
/// `connection.code@version` lines (none when the store holds one key generation).
fn secrets_under_an_old_key(server: &PgServer, database: &str) -> String {
    psql(
        server,
        database,
        &format!(
            "SELECT c.slug || '.' || f.code || '@' || coalesce(f.key_version::text, 'none')
             FROM fields f JOIN connections c ON c.id = f.connection_id
             JOIN workspaces w ON w.id = c.workspace_id
             WHERE w.slug = '{WS}' AND f.secret = 1 AND f.key_version IS DISTINCT FROM w.key_version"
        ),
    )
}

/// The workspace's key version in the database.
fn key_version(server: &PgServer, database: &str) -> u32 {
    let text = psql(
        server,
        database,
        &format!("SELECT key_version FROM workspaces WHERE slug = '{WS}'"),
    );
    text.parse()
        .unwrap_or_else(|_| panic!("key_version {text:?}"))
}

/// `connection get SLUG token` as `person`.
fn token_of(env: &Env, person: &str, slug: &str) -> Outcome {
    env.ohx_as(person)
        .args(["connection", "get", &format!("{WS}/{slug}"), "token"])
        .run()
}

#[test]
fn sixteen_processes_adding_forty_connections_each_end_with_640() {
    let Some(server) = plain_server() else { return };
    let (env, database, _) = alice_on(&server);
    sixteen_processes_add_forty_connections_each(&env);
    assert_eq!(stored_slugs(&server, &database).len(), 640);
    assert_eq!(secrets_under_an_old_key(&server, &database), "");
    verifies(&env);
}

#[test]
fn secret_edits_racing_the_removal_of_an_editor_lose_nothing_and_end_under_the_newest_key() {
    const EDITORS: usize = 3;
    const REMOVALS: u32 = 4;
    let Some(server) = plain_server() else { return };
    let (env, database, _) = alice_on(&server);
    // Only admins edit connections: alice and dave edit, carol (an editor) comes and goes.
    join(&env, "dave", "admin", Some(WS));
    let carol = env.person("carol");
    // Each editing process owns one connection, so the last value it wrote is that
    // connection's: slug -> the token of its last successful edit.
    let editors: Vec<(&str, String)> = (0..EDITORS)
        .map(|i| (["alice", "dave"][i % 2], format!("c{i}")))
        .collect();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for (_, slug) in &editors {
        let token = random_canary();
        add_custom(&env, slug, &token).ok();
        last.insert(slug.clone(), token);
    }
    let first_version = key_version(&server, &database);
    let removing = AtomicBool::new(true);
    let (written, failed): (Vec<_>, Vec<String>) = std::thread::scope(|scope| {
        let workers: Vec<_> = editors
            .iter()
            .map(|(person, slug)| {
                let (env, removing) = (&env, &removing);
                scope.spawn(move || {
                    let (mut last, mut failed, mut edits) = (None, Vec::new(), 0);
                    // At least a few edits each, and on until the last removal is done.
                    while edits < 3 || removing.load(Ordering::SeqCst) {
                        edits += 1;
                        let token = random_canary();
                        let out = env
                            .ohx_as(person)
                            .args(["connection", "edit", slug, "-w", WS])
                            .args(["--secret", "token=env:T", "-q"])
                            .env("T", &token)
                            .run();
                        if out.status == 0 {
                            last = Some(token);
                        } else {
                            failed.push(format!("{person} editing {slug}: {}\n{out}", out.status));
                        }
                    }
                    (slug.clone(), last, failed)
                })
            })
            .collect();
        for _ in 0..REMOVALS {
            env.ohx()
                .args(["member", "add", "carol", "--recipient", &carol])
                .args(["--role", "editor", "-w", WS, "-q"])
                .ok();
            env.ohx()
                .args(["member", "remove", "carol", "--yes", "-w", WS, "-q"])
                .ok();
        }
        removing.store(false, Ordering::SeqCst);
        let mut written = Vec::new();
        let mut failed = Vec::new();
        for worker in workers {
            let (slug, token, errors) = worker.join().expect("an editing thread panicked");
            written.push((slug, token));
            failed.extend(errors);
        }
        (written, failed)
    });
    assert!(failed.is_empty(), "edits failed:\n{}", failed.join("\n"));
    for (slug, token) in written {
        if let Some(token) = token {
            last.insert(slug, token);
        }
    }
    // Every rotation happened, and every secret is under the last key.
    assert_eq!(key_version(&server, &database), first_version + REMOVALS);
    assert_eq!(secrets_under_an_old_key(&server, &database), "");
    verifies(&env);
    // No secret lost: each is the last value written, for alice and for dave.
    for person in ["alice", "dave"] {
        for (slug, token) in &last {
            let out = token_of(&env, person, slug);
            assert_eq!(out.status, 0, "{person} reading {slug}\n{out}");
            assert_eq!(out.stdout.trim_end(), token, "{person} reading {slug}");
        }
    }
    let canaries: Vec<String> = last.values().cloned().collect();
    for slug in last.keys() {
        let out = token_of(&env, "carol", slug);
        assert_eq!(out.status, 4, "carol, removed, reads {slug}\n{out}");
        assert_no_canary_anywhere(&canaries, &out);
    }
}

#[test]
fn kill_9_at_random_moments_of_connection_add_never_leaves_a_half_written_connection() {
    const KILLS: usize = 30;
    let Some(server) = plain_server() else { return };
    let (env, database, _) = alice_on(&server);
    let abandoned = || {
        psql(
            &server,
            &database,
            "SELECT sessions_abandoned FROM pg_stat_database WHERE datname = current_database()",
        )
        .parse::<usize>()
        .expect("sessions_abandoned")
    };
    let abandoned_before = abandoned();
    let seen = kill_adds(
        &env,
        KILLS,
        || stored_slugs(&server, &database),
        |_| {
            assert_eq!(
                half_written(&server, &database),
                "",
                "half-written connections"
            )
        },
    );
    verifies(&env);
    // A session the server saw end without a goodbye is a kill that landed while ohx was
    // connected, in or between its transactions.
    let while_connected = abandoned() - abandoned_before;
    eprintln!("connection add on PostgreSQL: {seen}, {while_connected} while connected");
    assert!(
        while_connected >= KILLS / 4,
        "only {while_connected} of {KILLS} kills landed while ohx was connected"
    );
    // The store still takes writes.
    add_custom(&env, "after", &random_canary()).ok();
}

/// The connections of [`WS`] that are not complete `postgresql` connections (host, port,
/// username, db_name in the clear, the password sealed under the current key, the MAC and the
/// admin's signature), one line each; empty when there is none.
fn half_written(server: &PgServer, database: &str) -> String {
    psql(
        server,
        database,
        &format!(
            "SELECT c.slug || ': ' || coalesce(string_agg(f.code || '=' || CASE
                   WHEN f.secret = 1 AND length(f.ciphertext) > 0 AND f.key_version = w.key_version
                     THEN 'sealed'
                   WHEN f.secret = 0 AND f.value IS NOT NULL THEN 'plain'
                   ELSE 'broken' END, ',' ORDER BY f.code), 'no fields')
             FROM connections c JOIN workspaces w ON w.id = c.workspace_id
             LEFT JOIN fields f ON f.connection_id = c.id
             WHERE w.slug = '{WS}'
             GROUP BY c.id, c.slug, c.type, c.mac, c.signature
             HAVING c.type <> 'postgresql' OR c.mac IS NULL OR c.signature IS NULL
                 OR coalesce(string_agg(f.code || '=' || CASE
                   WHEN f.secret = 1 AND length(f.ciphertext) > 0 AND f.key_version = w.key_version
                     THEN 'sealed'
                   WHEN f.secret = 0 AND f.value IS NOT NULL THEN 'plain'
                   ELSE 'broken' END, ',' ORDER BY f.code), '')
                 <> 'db_name=plain,host=plain,password=sealed,port=plain,username=plain'"
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// The server going away in the middle of a rotation
// ---------------------------------------------------------------------------------------------

/// Polls `database`'s sessions until the one of `child` (by its application name `app`) is in
/// the state `waiting` (SQL over `pg_stat_activity`), and returns its pid; or how `child`
/// ended, if it ended first.
fn backend_of(
    server: &PgServer,
    database: &str,
    child: &mut Child,
    app: &str,
    waiting: &str,
) -> Result<String, ExitStatus> {
    let sql = format!(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
         AND application_name = '{app}' AND {waiting}"
    );
    loop {
        let pid = psql(server, database, &sql);
        if !pid.is_empty() {
            return Ok(pid);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ends the session of backend `pid`, as an administrator would.
fn terminate(server: &PgServer, database: &str, pid: &str) {
    let sql = format!("SELECT pg_terminate_backend({pid})");
    assert_eq!(psql(server, database, &sql), "t", "{sql}");
}

/// A psql session holding a lock until it is dropped (or the server goes away).
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Holder {
    /// Opens a transaction in `database` that share-locks [`WS`]'s row, and returns once the
    /// lock is held.
    fn share_lock_the_workspace(server: &PgServer, database: &str) -> Holder {
        const NAME: &str = "ohx-test-holder";
        let mut child = psql_command(server, database)
            .env("PGAPPNAME", NAME)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run psql");
        let mut stdin = child.stdin.take().expect("psql's stdin");
        // One query string: the session is idle in a transaction only once the lock is taken.
        writeln!(
            stdin,
            "BEGIN \\; SELECT id FROM workspaces WHERE slug = '{WS}' FOR SHARE;"
        )
        .expect("write to psql");
        stdin.flush().expect("flush psql's stdin");
        let locked = "state = 'idle in transaction' AND backend_xid IS NOT NULL";
        if let Err(status) = backend_of(server, database, &mut child, NAME, locked) {
            panic!("psql ended ({status}) before it held the lock");
        }
        Holder {
            child,
            stdin: Some(stdin),
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // Closing psql's stdin ends the session, which rolls its transaction back.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Waits until the ohx `child` waits for a lock in the middle of a transaction that has already
/// written (it has a transaction id), and returns its backend's pid. Fails if ohx ends first.
fn backend_waiting_mid_write(server: &PgServer, database: &str, child: &mut Child) -> String {
    let waiting = "wait_event_type = 'Lock' AND backend_xid IS NOT NULL";
    backend_of(server, database, child, "ohx", waiting)
        .unwrap_or_else(|status| panic!("ohx ended ({status}) before it waited for the lock"))
}

/// Every row of every table in `database`, one line each: pg_dump's data without the random
/// key it writes to each dump, and without the sequences' positions (a server restarted after a
/// crash skips ahead the values it had logged in advance; no row changes).
fn contents(server: &PgServer, database: &str) -> Vec<String> {
    data_dump(server, database)
        .lines()
        .filter(|line| {
            !["\\restrict", "\\unrestrict", "SELECT pg_catalog.setval("]
                .iter()
                .any(|skipped| line.starts_with(skipped))
        })
        .map(str::to_string)
        .collect()
}

/// Alice's workspace with carol as an editor and a dozen connections, on a fresh database.
struct Rotation {
    env: Env,
    database: String,
    url: String,
    tokens: Vec<String>,
}

impl Rotation {
    fn ahead(server: &PgServer) -> Rotation {
        let (env, database, url) = alice_on(server);
        join(&env, "carol", "editor", Some(WS));
        let tokens: Vec<String> = (0..12).map(|_| random_canary()).collect();
        for (i, token) in tokens.iter().enumerate() {
            add_custom(&env, &format!("c{i:02}"), token).ok();
        }
        Rotation {
            env,
            database,
            url,
            tokens,
        }
    }

    /// [`Rotation::ahead`], with every command through a holder of `ohx store hold`; returns its
    /// pid too.
    fn ahead_through_a_holder(server: &PgServer) -> (Rotation, u32) {
        let Rotation {
            env,
            database,
            url,
            tokens,
        } = Rotation::ahead(server);
        let runtime = runtime_dir(&env);
        let env = env.with_var("XDG_RUNTIME_DIR", runtime);
        let pid = start_holder(&env, "15m", &[]);
        let rotation = Rotation {
            env,
            database,
            url,
            tokens,
        };
        (rotation, pid)
    }

    /// Removes carol while `away` (given the pid of ohx's backend) makes the server go away at
    /// the end of the rotation, then `back` brings it back if it went. The failure is a clear
    /// store error (exit 6) that names the store and says nothing was changed, with no secret;
    /// every row is as before, and the removal goes through when asked again.
    #[track_caller]
    fn cut_off(&self, server: &PgServer, away: impl FnOnce(&str), back: impl FnOnce()) {
        let (env, database) = (&self.env, self.database.as_str());
        let before = contents(server, database);
        let holder = Holder::share_lock_the_workspace(server, database);
        let mut child = env
            .ohx()
            .args(["member", "remove", "carol", "--yes", "-w", WS])
            .spawn();
        let pid = backend_waiting_mid_write(server, database, &mut child);
        away(&pid);
        let out = Outcome::of(child);
        drop(holder);
        back();
        assert_eq!(out.status, 6, "{out}");
        out.assert_clean_error("member remove");
        assert_says(&out, &[&self.url, "nothing was changed", "try again"]);
        assert_no_canary_anywhere(&self.tokens, &out);
        let after = contents(server, database);
        let changed: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
        assert!(
            changed.is_empty() && after.len() == before.len(),
            "the database changed: {} rows before, {} after; new rows:\n{changed:#?}",
            before.len(),
            after.len()
        );
        // Carol still reads: the removal is not half there.
        let read = token_of(env, "carol", "c00");
        assert_eq!(read.stdout.trim_end(), self.tokens[0], "{read}");
        let version = key_version(server, database);
        env.ohx()
            .args(["member", "remove", "carol", "--yes", "-w", WS, "-q"])
            .ok();
        assert_eq!(key_version(server, database), version + 1);
        assert_eq!(secrets_under_an_old_key(server, database), "");
        verifies(env);
        assert_eq!(token_of(env, "carol", "c00").status, 4);
    }
}

#[test]
fn a_session_ended_by_the_server_mid_rotation_is_a_store_error_and_changes_nothing() {
    let Some(server) = plain_server() else { return };
    let rotation = Rotation::ahead(&server);
    let end_session = |pid: &str| terminate(&server, &rotation.database, pid);
    rotation.cut_off(&server, end_session, || {});
}

#[test]
fn a_holder_killed_mid_rotation_is_a_store_error_and_changes_nothing() {
    let Some(server) = plain_server() else { return };
    let (rotation, holder) = Rotation::ahead_through_a_holder(&server);
    let kill = |_: &str| {
        let _ = std::process::Command::new("kill")
            .args(["-9", &holder.to_string()])
            .status();
    };
    rotation.cut_off(&server, kill, || {});
}

#[test]
fn a_server_stopped_mid_rotation_is_a_store_error_and_changes_nothing() {
    let Some(bin) = require(Component::PostgresServer) else {
        return;
    };
    // A server of this test's own: stopping the shared one would fail the tests beside it.
    let server = PgServer::private(&bin);
    let rotation = Rotation::ahead(&server);
    rotation.cut_off(
        &server,
        |_| server.stop_immediately(),
        || server.start_again(),
    );
}

#[test]
fn a_session_ended_while_committing_says_the_change_may_have_been_saved() {
    let Some(bin) = require(Component::PostgresServer) else {
        return;
    };
    // Server-wide settings: a server of this test's own.
    let server = PgServer::private(&bin);
    let (env, database, url) = alice_on(&server);
    // A synchronous standby that never comes: every commit that wrote waits for it, after the
    // transaction is already committed on the server itself.
    let standby = |names: &str| {
        psql(
            &server,
            &database,
            &format!("ALTER SYSTEM SET synchronous_standby_names = '{names}'"),
        );
        psql(&server, &database, "SELECT pg_reload_conf()");
    };
    let in_commit = "wait_event = 'SyncRep'";
    // A write whose commit waits like ohx's, leaving no row and nothing to clean up when its
    // session ends (a temporary table's removal would wait for the standby again).
    const WRITE: &str = "SELECT pg_logical_emit_message(true, 'ohx-test', 'probe')";
    standby("nobody");
    // The server applies it a moment later: once a probe's commit waits, ohx's will too.
    loop {
        const PROBE: &str = "ohx-test-probe";
        let mut probe = psql_command(&server, &database)
            .args(["-c", WRITE])
            .env("PGAPPNAME", PROBE)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run psql");
        if let Ok(pid) = backend_of(&server, &database, &mut probe, PROBE, in_commit) {
            terminate(&server, &database, &pid);
            let _ = probe.wait();
            break;
        }
    }
    let token = random_canary();
    let mut child = add_custom(&env, "late", &token).spawn();
    let pid = backend_of(&server, &database, &mut child, "ohx", in_commit)
        .unwrap_or_else(|status| panic!("ohx ended ({status}) before it waited in its commit"));
    terminate(&server, &database, &pid);
    let out = Outcome::of(child);
    standby("");
    // Once commits no longer wait, this one returns.
    psql(&server, &database, WRITE);
    assert_eq!(out.status, 6, "{out}");
    out.assert_clean_error("connection add");
    assert_says(
        &out,
        &[&url, "may or may not have been saved", "look whether"],
    );
    assert_no_canary_anywhere(std::slice::from_ref(&token), &out);
    // It was: the server had committed before it waited.
    assert_eq!(stored_slugs(&server, &database), ["late"]);
    assert_eq!(token_of(&env, "alice", "late").stdout.trim_end(), token);
    verifies(&env);
}
