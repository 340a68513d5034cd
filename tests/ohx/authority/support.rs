//! What the attack tests share: a team with canary secrets, the check that a command was refused
//! (status 5, nothing on stdout, no canary anywhere), the attacker's own age keys tried on every
//! wrapped key and ciphertext of the store, the log rows, the pins file, and the record MAC an
//! attacker can recompute for a workspace key of their own (docs/SECURITY.md, "Record MAC").
//! Every store access goes through `crate::store_sql`, so the same attack runs on the SQLite file
//! and on a PostgreSQL database; [`attack`] makes each test three, `::sqlite`, `::postgres` and
//! `::postgres_held` (every command through `ohx store hold`'s held connection).

use std::path::PathBuf;

use crate::fixtures::{add_custom, add_postgresql, join};
use crate::harness::{random_canary, Cmd, Env, Outcome};
use crate::store_probe::{
    age_identity, all_secret_ciphertexts, all_wrapped_keys, unwrap_key, wrapped_key_of,
};
use crate::store_sql::{vals, StoreSql, V};
use crate::team_store::{Keep, Store};

pub use crate::fixtures::WS;

/// Runs an attack once on a SQLite store and once on a PostgreSQL store, as two tests
/// `NAME::sqlite` and `NAME::postgres`; the body gets the store, owned. Without PostgreSQL the
/// `postgres` test skips with the reason (and fails under `CI`).
macro_rules! attack {
    ($(#[$meta:meta])* fn $name:ident($store:ident: Store) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($store: crate::team_store::Store) $body

            #[test]
            fn sqlite() {
                run(crate::team_store::sqlite());
            }

            #[test]
            fn postgres() {
                if let Some(store) = crate::team_store::postgres() {
                    run(store);
                }
            }

            #[test]
            fn postgres_held() {
                if let Some(store) = crate::team_store::postgres_held() {
                    run(store);
                }
            }
        }
    };
}
pub(crate) use attack;

// ---------------------------------------------------------------------------------------------
// A team with canary secrets
// ---------------------------------------------------------------------------------------------

/// Alice admin of [`WS`], carol editor, bob viewer; postgresql `warehouse` (canary password) and
/// custom `api` (canary token).
pub struct Team {
    pub env: Env,
    pub password: String,
    pub token: String,
    /// Keeps a PostgreSQL store's server (and holder) running while the test does.
    _keep: Keep,
}

impl Team {
    /// The team, on `store`.
    pub fn on(store: Store) -> Team {
        let (env, keep) = store.into_parts();
        env.admin_with_workspace(WS);
        join(&env, "carol", "editor", Some(WS));
        join(&env, "bob", "viewer", Some(WS));
        let (password, token) = (random_canary(), random_canary());
        add_postgresql(&env, "warehouse", &password).ok();
        add_custom(&env, "api", &token).ok();
        Team {
            env,
            password,
            token,
            _keep: keep,
        }
    }

    /// Every secret of the team's connections.
    pub fn canaries(&self) -> Vec<String> {
        vec![self.password.clone(), self.token.clone()]
    }

    /// `connection get warehouse password` as `person` works and gives the password.
    #[track_caller]
    pub fn assert_reads(&self, person: &str) {
        let out = self
            .env
            .ohx_as(person)
            .args(["connection", "get", "warehouse", "password", "-w", WS])
            .ok();
        assert_eq!(out.stdout.trim_end(), self.password, "{person}\n{out}");
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

/// `cmd` fails with one of `statuses` and one clean error, prints nothing on stdout, and shows
/// none of `canaries` on stdout or stderr.
#[track_caller]
pub fn refused_with(cmd: Cmd, statuses: &[i32], canaries: &[String]) -> Outcome {
    let what = cmd.describe();
    let out = cmd.run();
    assert!(
        statuses.contains(&out.status),
        "`{what}`: expected status {statuses:?}, got {}\n{out}",
        out.status
    );
    assert!(out.stdout.is_empty(), "`{what}` printed on stdout\n{out}");
    out.assert_clean_error(&what);
    assert_no_canary(canaries, &out, &what);
    out
}

/// A check failed: status 5, nothing on stdout, no canary.
#[track_caller]
pub fn refused(cmd: Cmd, canaries: &[String]) -> Outcome {
    refused_with(cmd, &[5], canaries)
}

/// `workspace verify` found a problem: status 5, an `error:` line on stderr, no panic, no canary
/// anywhere. Unlike a command that hands out credentials, it may print its report of each problem
/// on stdout, and warnings before its error: that report is what the command is for, and it holds
/// no secret.
#[track_caller]
pub fn verify_fails(cmd: Cmd, canaries: &[String]) -> Outcome {
    let what = cmd.describe();
    let out = cmd.run();
    assert!(
        out.status == 5,
        "`{what}`: expected status 5, got {}\n{out}",
        out.status
    );
    assert!(
        out.stderr.lines().any(|l| l.starts_with("error: ")),
        "`{what}`: no `error: ` line on stderr\n{out}"
    );
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!out.stderr.contains(bad), "`{what}`: {bad:?}\n{out}");
    }
    assert_no_canary(canaries, &out, &what);
    out
}

/// None of `canaries` on stdout or stderr of `out`.
#[track_caller]
pub fn assert_no_canary(canaries: &[String], out: &Outcome, what: &str) {
    for canary in canaries {
        assert!(
            !out.stdout.contains(canary.as_str()) && !out.stderr.contains(canary.as_str()),
            "`{what}` shows the secret {canary:?}\n{out}"
        );
    }
}

/// Stdout or stderr of `out` mentions `fragment` (case-insensitively).
#[track_caller]
pub fn assert_mentions(out: &Outcome, fragment: &str) {
    let said = format!("{}\n{}", out.stdout, out.stderr).to_lowercase();
    assert!(
        said.contains(&fragment.to_lowercase()),
        "the output does not mention {fragment:?}\n{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// The attacker's keys against the file
// ---------------------------------------------------------------------------------------------

/// Every workspace key `identity` can get out of any wrapped-key row of the store.
pub fn keys_opened_by(env: &Env, identity: &age::x25519::Identity) -> Vec<age::x25519::Identity> {
    all_wrapped_keys(env)
        .iter()
        .filter_map(|wrapped| unwrap_key(wrapped, identity))
        .collect()
}

/// `identity` opens no secret ciphertext of the store, neither directly nor through any key it
/// can unwrap from any wrapped-key row (a planted key opens, but only to the planter's own key).
#[track_caller]
pub fn assert_opens_nothing(env: &Env, identity: &age::x25519::Identity, who: &str) {
    let ciphertexts = all_secret_ciphertexts(env);
    assert!(!ciphertexts.is_empty(), "no secret to try {who}'s keys on");
    let mut keys = keys_opened_by(env, identity);
    keys.push(identity.clone());
    for (k, key) in keys.iter().enumerate() {
        for ciphertext in &ciphertexts {
            assert!(
                age::decrypt(key, ciphertext).is_err(),
                "{who} decrypts a secret of the store (with key {k} of {} they can open)",
                keys.len()
            );
        }
    }
}

/// The age identity in `person`'s identity file.
pub fn identity(env: &Env, person: &str) -> age::x25519::Identity {
    age_identity(&env.identity_of(person))
}

/// The current workspace key of `ws`, from alice's wrapped key.
#[track_caller]
pub fn alices_key(env: &Env, ws: &str) -> age::x25519::Identity {
    wrapped_key_of(env, ws, "alice")
        .and_then(|w| unwrap_key(&w, &identity(env, "alice")))
        .expect("alice opens her wrapped key")
}

// ---------------------------------------------------------------------------------------------
// Rows, files and pins
// ---------------------------------------------------------------------------------------------

/// Runs SQL (in a dialect both engines take) on the store, as a store writer.
#[track_caller]
pub fn sql(env: &Env, batch: &str) {
    StoreSql::open(env).batch(batch);
}

/// The database id of workspace `ws`.
#[track_caller]
pub fn workspace_row_id(env: &Env, ws: &str) -> i64 {
    crate::store_probe::stored_workspace(env, ws).id
}

/// The log rows of `ws`: (seq, entry bytes), in order.
#[track_caller]
pub fn log_rows(env: &Env, ws: &str) -> Vec<(i64, Vec<u8>)> {
    let id = workspace_row_id(env, ws);
    StoreSql::open(env)
        .rows(
            "SELECT seq, entry FROM authority_log WHERE workspace_id = ?1 ORDER BY seq",
            &vals![id],
        )
        .iter()
        .map(|r| (r[0].int(), r[1].blob()))
        .collect()
}

/// `ws`'s log rows, which must exist (the wiring writes them).
#[track_caller]
pub fn signed_log(env: &Env, ws: &str, at_least: usize) -> Vec<(i64, Vec<u8>)> {
    let rows = log_rows(env, ws);
    assert!(
        rows.len() >= at_least,
        "workspace '{ws}' has {} log entries, expected at least {at_least}: is authority wired?",
        rows.len()
    );
    rows
}

/// Replaces the bytes of log entry `seq` of `ws`.
#[track_caller]
pub fn set_log_entry(env: &Env, ws: &str, seq: i64, bytes: &[u8]) {
    let changed = StoreSql::open(env).execute(
        "UPDATE authority_log SET entry = ?3 WHERE workspace_id = ?1 AND seq = ?2",
        &vals![workspace_row_id(env, ws), seq, bytes],
    );
    assert_eq!(changed, 1, "no log entry {seq} in {ws}");
}

/// Deletes log entry `seq` of `ws`.
#[track_caller]
pub fn delete_log_entry(env: &Env, ws: &str, seq: i64) {
    let changed = StoreSql::open(env).execute(
        "DELETE FROM authority_log WHERE workspace_id = ?1 AND seq = ?2",
        &vals![workspace_row_id(env, ws), seq],
    );
    assert_eq!(changed, 1, "no log entry {seq} in {ws}");
}

/// Adds a log row (`seq`, `bytes`) to `ws`.
#[track_caller]
pub fn insert_log_entry(env: &Env, ws: &str, seq: i64, bytes: &[u8]) {
    StoreSql::open(env).execute(
        "INSERT INTO authority_log (workspace_id, seq, entry) VALUES (?1, ?2, ?3)",
        &vals![workspace_row_id(env, ws), seq, bytes],
    );
}

/// On SQLite, checkpoints the WAL into the main file and closes, so the main file is the whole
/// store; a database has nothing of the kind.
#[track_caller]
pub fn checkpoint(env: &Env) {
    StoreSql::open(env).checkpoint();
}

/// `person`'s pins folder: `known-workspaces` beside their identity file, one file per workspace.
pub fn pins_dir(env: &Env, person: &str) -> PathBuf {
    env.identity_of(person)
        .parent()
        .expect("identity folder")
        .join("known-workspaces")
}

/// Forgets every pin of `person` (as a new machine or a fresh CI home has none).
pub fn forget_pins(env: &Env, person: &str) {
    let _ = std::fs::remove_dir_all(pins_dir(env, person));
}

// ---------------------------------------------------------------------------------------------
// Record MACs, as an attacker with a workspace key of their own computes them
// ---------------------------------------------------------------------------------------------

/// The canonical bytes of connection `id`'s record, as docs/SECURITY.md ("Record MAC") defines
/// them, read from the store.
#[track_caller]
pub fn record_bytes(env: &Env, id: i64) -> Vec<u8> {
    fn piece(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut db = StoreSql::open(env);
    let row = db
        .row(
            "SELECT workspace_id, slug, name, description, type, needs_rotation
             FROM connections WHERE id = ?1",
            &vals![id],
        )
        .expect("read connection");
    let mut out = b"ohx-record\x01".to_vec();
    out.extend_from_slice(&row[0].int().to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    for text in &row[1..5] {
        piece(&mut out, text.text().as_bytes());
    }
    out.push(u8::from(row[5].int() != 0));
    let fields = db.rows(
        "SELECT code, secret, value, ciphertext, key_version FROM fields
         WHERE connection_id = ?1 ORDER BY code",
        &vals![id],
    );
    out.extend_from_slice(&(fields.len() as u64).to_be_bytes());
    for field in fields {
        piece(&mut out, field[0].text().as_bytes());
        out.push(u8::from(field[1].int() != 0));
        let key_version = u32::try_from(field[4].opt_int().unwrap_or(0)).expect("key version");
        out.extend_from_slice(&key_version.to_be_bytes());
        match (field[2].opt_text(), field[3].opt_blob()) {
            (Some(v), _) => piece(&mut out, v.as_bytes()),
            (None, Some(c)) => piece(&mut out, &c),
            (None, None) => piece(&mut out, b""),
        }
    }
    out
}

/// Recomputes connection `id`'s MAC with `key` and stores it.
#[track_caller]
pub fn remac(env: &Env, id: i64, key: &ohx::crypto::WorkspaceKey) {
    let mac = key.seal_record(&record_bytes(env, id));
    StoreSql::open(env).execute(
        "UPDATE connections SET mac = ?2 WHERE id = ?1",
        &vals![id, mac],
    );
}

/// Every row of one connection (its `connections` row and its `fields` rows), to put back later.
pub struct SavedRecord {
    id: i64,
    connection: Vec<Vec<V>>,
    fields: Vec<Vec<V>>,
}

/// Saves every column of connection `id` and of its fields.
#[track_caller]
pub fn save_record(env: &Env, id: i64) -> SavedRecord {
    let mut db = StoreSql::open(env);
    let connection = db.copy_rows("connections", "id = ?1", &vals![id]);
    assert_eq!(connection.len(), 1, "no connection {id}");
    let fields = db.copy_rows("fields", "connection_id = ?1", &vals![id]);
    SavedRecord {
        id,
        connection,
        fields,
    }
}

/// Puts a saved record back exactly: its connection row (replacing whatever has its id, with
/// that row's fields) and its fields rows.
#[track_caller]
pub fn put_back_record(env: &Env, saved: &SavedRecord) {
    let mut db = StoreSql::open(env);
    db.execute(
        "DELETE FROM fields WHERE connection_id = ?1",
        &vals![saved.id],
    );
    db.execute("DELETE FROM connections WHERE id = ?1", &vals![saved.id]);
    db.put_rows("connections", &saved.connection);
    db.put_rows("fields", &saved.fields);
}

/// The kind of each log entry of `ws` (`key-rotated`, ...), decoded with ohx's own reader:
/// (seq, kind), in order.
#[track_caller]
pub fn log_kinds(env: &Env, ws: &str) -> Vec<(i64, &'static str)> {
    log_rows(env, ws)
        .into_iter()
        .map(|(seq, bytes)| {
            let entry = ohx::authority::Entry::from_bytes(&bytes)
                .unwrap_or_else(|e| panic!("log entry {seq} of {ws} does not decode: {e}"));
            (seq, entry.body.kind())
        })
        .collect()
}

/// The number of the last log entry of `ws` of `kind`.
#[track_caller]
pub fn last_entry_of_kind(env: &Env, ws: &str, kind: &str) -> i64 {
    log_kinds(env, ws)
        .into_iter()
        .rev()
        .find(|(_, k)| *k == kind)
        .map(|(seq, _)| seq)
        .unwrap_or_else(|| panic!("no {kind} entry in the log of {ws}: is authority wired?"))
}
