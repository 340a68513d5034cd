//! Reading and tampering with the SQLite store from tests, as anyone able to read or write the
//! file could: its rows, ids and ciphertexts, its soundness, the age keys inside it, and its
//! files searched for leaked secrets. The readers of ids, keys and ciphertexts work on a
//! PostgreSQL store too (through `crate::store_sql`).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::harness::Env;
use crate::store_sql::{vals, StoreSql};

// ---------------------------------------------------------------------------------------------
// The store, read and written with SQL
// ---------------------------------------------------------------------------------------------

/// Opens a store with SQLite directly, as anyone able to write the file could.
#[track_caller]
pub fn open_db(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        .unwrap_or_else(|e| panic!("cannot open {} with SQLite: {e}", path.display()))
}

/// `<store>-wal`, `<store>-shm`, ...
pub fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The single integer a query of the default store returns.
#[track_caller]
pub fn query_i64(env: &Env, sql: &str) -> i64 {
    open_db(&env.store())
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("`{sql}` failed: {e}"))
}

/// How many `fields` rows belong to no connection.
#[track_caller]
pub fn orphan_fields(env: &Env) -> i64 {
    query_i64(
        env,
        "SELECT count(*) FROM fields WHERE connection_id NOT IN (SELECT id FROM connections)",
    )
}

/// `PRAGMA integrity_check` of the store, `"ok"` when it is sound.
#[track_caller]
pub fn integrity(env: &Env) -> String {
    let db = open_db(&env.store());
    let mut stmt = db.prepare("PRAGMA integrity_check").expect("prepare");
    let lines: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("integrity_check")
        .map(|r| r.expect("integrity_check row"))
        .collect();
    lines.join("\n")
}

/// Every table of the store.
pub const ALL_TABLES: [&str; 5] = [
    "users",
    "workspaces",
    "memberships",
    "connections",
    "fields",
];

/// Every row of every table, one line each, sorted: equal dumps mean an unchanged store.
#[track_caller]
pub fn dump(env: &Env) -> String {
    dump_tables(env, &ALL_TABLES)
}

/// Every row of `tables`, one line each, sorted.
#[track_caller]
pub fn dump_tables(env: &Env, tables: &[&str]) -> String {
    dump_file(&env.store(), tables)
}

/// Every row of `tables` of the SQLite store at `path`, one line each, sorted.
#[track_caller]
pub fn dump_file(path: &Path, tables: &[&str]) -> String {
    let db = open_db(path);
    let mut lines = Vec::new();
    for table in tables {
        let mut stmt = db
            .prepare(&format!("SELECT * FROM {table}"))
            .expect("prepare dump");
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                let values: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", row.get::<_, rusqlite::types::Value>(i)))
                    .collect();
                Ok(format!("{table}: {}", values.join(" | ")))
            })
            .expect("query dump");
        lines.extend(rows.map(|r| r.expect("read dump row")));
    }
    lines.sort();
    lines.join("\n")
}

/// Copies the default store to `copy` with `change` (SQL) committed in the copy's `-wal` and not
/// yet checkpointed into its main file: the state a writer killed before its last connection
/// closed leaves.
#[track_caller]
pub fn copy_with_change_in_wal(env: &Env, change: &str, copy: &Path) {
    let db = open_db(&env.store());
    db.execute_batch(&format!("PRAGMA wal_autocheckpoint = 0; {change}"))
        .unwrap_or_else(|e| panic!("`{change}` failed: {e}"));
    std::fs::copy(env.store(), copy).expect("copy store");
    std::fs::copy(sidecar(&env.store(), "-wal"), sidecar(copy, "-wal")).expect("copy wal");
    drop(db);
}

// ---------------------------------------------------------------------------------------------
// Ids, keys and ciphertexts
// ---------------------------------------------------------------------------------------------

/// A workspace as stored: id, public recipient, key version.
pub struct StoredWorkspace {
    pub id: i64,
    pub recipient: String,
    pub key_version: i64,
}

/// Workspace `slug` as stored, on either engine (`crate::store_sql`).
#[track_caller]
pub fn stored_workspace(env: &Env, slug: &str) -> StoredWorkspace {
    let row = StoreSql::open(env)
        .row(
            "SELECT id, recipient, key_version FROM workspaces WHERE slug = ?1",
            &vals![slug],
        )
        .unwrap_or_else(|| panic!("no workspace '{slug}' in the store"));
    StoredWorkspace {
        id: row[0].int(),
        recipient: row[1].text(),
        key_version: row[2].int(),
    }
}

/// The database id of connection `slug` in workspace `ws`, on either engine.
#[track_caller]
pub fn connection_id(env: &Env, ws: &str, slug: &str) -> i64 {
    StoreSql::open(env)
        .row(
            "SELECT c.id FROM connections c JOIN workspaces w ON w.id = c.workspace_id
             WHERE w.slug = ?1 AND c.slug = ?2",
            &vals![ws, slug],
        )
        .unwrap_or_else(|| panic!("no connection {ws}/{slug} in the store"))[0]
        .int()
}

/// The identifiers of the connections of workspace `ws`, read from the store.
#[track_caller]
pub fn stored_identifiers(env: &Env, ws: &str) -> Vec<String> {
    let db = open_db(&env.store());
    let mut stmt = db
        .prepare(
            "SELECT c.slug FROM connections c JOIN workspaces w ON w.id = c.workspace_id
             WHERE w.slug = ?1 ORDER BY c.slug",
        )
        .expect("prepare");
    let rows = stmt.query_map([ws], |r| r.get(0)).expect("query slugs");
    rows.map(|r| r.expect("slug")).collect()
}

/// The stored ciphertext of field `code` of the connection with database id `connection`.
#[track_caller]
pub fn ciphertext(env: &Env, connection: i64, code: &str) -> Vec<u8> {
    StoreSql::open(env)
        .row(
            "SELECT ciphertext FROM fields WHERE connection_id = ?1 AND code = ?2",
            &vals![connection, code],
        )
        .unwrap_or_else(|| panic!("no ciphertext for {connection}/{code}"))[0]
        .blob()
}

/// Replaces the stored ciphertext of field `code` of the connection with database id
/// `connection` by `bytes`.
#[track_caller]
pub fn set_ciphertext(env: &Env, connection: i64, code: &str, bytes: &[u8]) {
    let changed = StoreSql::open(env).execute(
        "UPDATE fields SET ciphertext = ?3 WHERE connection_id = ?1 AND code = ?2",
        &vals![connection, code, bytes],
    );
    assert_eq!(changed, 1, "no field {connection}/{code} to tamper with");
}

/// Flips one bit in the middle of the stored ciphertext of field `code` of connection `slug` in
/// workspace `ws`, as a damaged disk or a careless writer could.
#[track_caller]
pub fn flip_ciphertext_bit(env: &Env, ws: &str, slug: &str, code: &str) {
    let id = connection_id(env, ws, slug);
    let mut bytes = ciphertext(env, id, code);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    set_ciphertext(env, id, code, &bytes);
}

/// Whether `person` has a membership row in `ws`, and the wrapped key it holds (`None` = NULL),
/// on either engine.
#[track_caller]
pub fn membership_row(env: &Env, ws: &str, person: &str) -> Option<Option<Vec<u8>>> {
    StoreSql::open(env)
        .row(
            "SELECT m.wrapped_key FROM memberships m
             JOIN users u ON u.id = m.user_id JOIN workspaces w ON w.id = m.workspace_id
             WHERE w.slug = ?1 AND u.name = ?2",
            &vals![ws, person],
        )
        .map(|row| row[0].opt_blob())
}

/// The wrapped workspace key of a member who must hold one.
#[track_caller]
pub fn wrapped_key(env: &Env, slug: &str, person: &str) -> Vec<u8> {
    match membership_row(env, slug, person) {
        Some(Some(bytes)) => bytes,
        Some(None) => panic!("{person}'s membership of {slug} has a NULL wrapped_key"),
        None => panic!("{person} is not a member of {slug}"),
    }
}

/// The wrapped key `person` holds in `ws`, if any.
#[track_caller]
pub fn wrapped_key_of(env: &Env, ws: &str, person: &str) -> Option<Vec<u8>> {
    membership_row(env, ws, person).flatten()
}

/// Every non-NULL wrapped workspace key in the store.
#[track_caller]
pub fn all_wrapped_keys(env: &Env) -> Vec<Vec<u8>> {
    blobs(
        env,
        "SELECT wrapped_key FROM memberships WHERE wrapped_key IS NOT NULL",
    )
}

/// Every secret ciphertext in the store.
#[track_caller]
pub fn all_secret_ciphertexts(env: &Env) -> Vec<Vec<u8>> {
    blobs(env, "SELECT ciphertext FROM fields WHERE secret = 1")
}

#[track_caller]
fn blobs(env: &Env, sql: &str) -> Vec<Vec<u8>> {
    StoreSql::open(env).query_blobs(sql, &[])
}

// ---------------------------------------------------------------------------------------------
// age, used directly as an attacker with a copy of the file would
// ---------------------------------------------------------------------------------------------

/// The age identity in an identity file (the line starting with `AGE-SECRET-KEY-1`).
#[track_caller]
pub fn age_identity(path: &Path) -> age::x25519::Identity {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap_or_else(|| panic!("{} holds no AGE-SECRET-KEY-1 line", path.display()));
    age::x25519::Identity::from_str(line).expect("parse identity")
}

pub fn recipient_of(identity: &age::x25519::Identity) -> String {
    identity.to_public().to_string()
}

/// A recipient nobody in the test holds the identity of.
pub fn fresh_recipient() -> String {
    recipient_of(&age::x25519::Identity::generate())
}

/// The workspace key inside a wrapped key, if `identity` can decrypt it. The wrapped plaintext
/// ends with the workspace's secret key in its usual `AGE-SECRET-KEY-1...` text form.
pub fn unwrap_key(
    wrapped: &[u8],
    identity: &age::x25519::Identity,
) -> Option<age::x25519::Identity> {
    let plain = age::decrypt(identity, wrapped).ok()?;
    let at = plain.windows(16).position(|w| w == b"AGE-SECRET-KEY-1")?;
    let text = std::str::from_utf8(&plain[at..]).ok()?;
    Some(age::x25519::Identity::from_str(text.trim()).expect("wrapped key holds an identity"))
}

// ---------------------------------------------------------------------------------------------
// The store's files, searched for canaries
// ---------------------------------------------------------------------------------------------

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 without padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The base64 characters that encode only bits of `data` when it follows `skip` other bytes:
/// whatever surrounds the secret in an encoded blob, these characters appear in it.
pub fn base64_core(data: &[u8], skip: usize) -> String {
    let mut bytes = vec![b'x'; skip];
    bytes.extend_from_slice(data);
    let encoded = base64(&bytes);
    let first = (8 * skip).div_ceil(6);
    let end = 8 * bytes.len() / 6;
    encoded[first..end].to_string()
}

/// The forms in which a leaked canary would be found: plain, lowercase hex, and base64 at each of
/// the three byte alignments.
pub fn leaked_forms(canary: &str) -> Vec<(String, Vec<u8>)> {
    let bytes = canary.as_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut forms = vec![
        ("plain".to_string(), bytes.to_vec()),
        ("hex".to_string(), hex.into_bytes()),
    ];
    for skip in 0..3 {
        forms.push((
            format!("base64 after {skip} byte(s)"),
            base64_core(bytes, skip).into_bytes(),
        ));
    }
    forms
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` (the store, its `-wal` and `-shm`, journals, temp files, config...).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// No canary, in any form, in any file of the ohx home. Returns the files searched.
#[track_caller]
pub fn assert_no_canary_in_files(env: &Env, canaries: &[String]) -> Vec<PathBuf> {
    let files = files_under(&env.home());
    for file in &files {
        let bytes = std::fs::read(file).expect("read store file");
        for canary in canaries {
            for (form, needle) in leaked_forms(canary) {
                assert!(
                    !contains(&bytes, &needle),
                    "{} holds the secret {canary:?} ({form})",
                    file.display()
                );
            }
        }
    }
    files
}
