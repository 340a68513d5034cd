//! The schema is ohx's: a store whose schema holds anything ohx's migrations did not create (a
//! trigger, a view, an index, a table) or a changed definition (a dropped CHECK) is refused.
//!
//! A trigger planted by someone who can write the file would run inside an admin's own
//! transaction (re-inserting a removed membership after ohx deleted it, say); SQLite's
//! `trusted_schema = OFF` does not stop triggers that only write rows. The store's
//! `sqlite_schema` rows must be exactly the ones ohx's migrations create up to the store's own
//! version. The fast path compares a SHA-256 digest of them with the digest of that version kept
//! in [`EXPECTED_DIGESTS`] (a unit test rebuilds it from the migrations, so it cannot drift from
//! them); only when they differ are the migrations run in an in-memory database, to name what
//! differs. Nothing is written: call it before migrating.

use std::collections::BTreeSet;

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::engine::Dialect;
use super::migrations::MIGRATIONS;
use crate::error::Error;

/// One row of `sqlite_schema`: type, name, the table it belongs to, and its SQL.
type Object = (String, String, String, Option<String>);

/// SHA-256 (see [`digest`]) of the `sqlite_schema` rows that the first `n` migrations create,
/// at index `n - 1`. Building them in memory on every open was a fifth of a `connection env`
/// (BENCHMARKS.md); the test `the_digests_are_those_of_the_migrations` says what to put here
/// when a migration is added.
const EXPECTED_DIGESTS: &[&str] = &[
    "4b4d4bd670b5072769e3167e86347c9f51f3e0a1a191c37430ef039ba9a6f285",
    "57f3624f39b0636f21472709684ff55e90623aded8974fcbe699488b2488be83",
    "fb817c6626c3389940bf9606eb5c9dabb9b875e93eb2f0760fdb2f003a1b56b3",
];

fn objects(conn: &Connection) -> Result<BTreeSet<Object>, Error> {
    let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The SHA-256 of a schema, in hex: its rows in order, every field length-prefixed (a missing
/// SQL text, which autoindexes have, told apart from an empty one), so that two different sets
/// of rows never feed the hash the same bytes.
fn digest(objects: &BTreeSet<Object>) -> String {
    let mut hash = Sha256::new();
    let mut field = |bytes: Option<&str>| match bytes {
        None => hash.update([0]),
        Some(text) => {
            hash.update([1]);
            hash.update((text.len() as u64).to_be_bytes());
            hash.update(text.as_bytes());
        }
    };
    for (kind, name, table, sql) in objects {
        field(Some(kind));
        field(Some(name));
        field(Some(table));
        field(sql.as_deref());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The schema ohx's migrations create up to `version`, built in an in-memory database.
fn expected(version: u32) -> Result<BTreeSet<Object>, Error> {
    let memory = Connection::open_in_memory()?;
    for sql in MIGRATIONS.iter().take(version as usize) {
        memory.execute_batch(&Dialect::Sqlite.ddl(sql))?;
    }
    objects(&memory)
}

/// What in the store's schema ohx did not create, or created differently, described for an
/// error message ("trigger 'keep_bob' on memberships", "changed table 'memberships'", "missing
/// index 'memberships_by_user'"). Empty when the schema is exactly ohx's.
pub fn foreign_objects(conn: &Connection) -> Result<Vec<String>, Error> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let actual = objects(conn)?;
    let known = version
        .checked_sub(1)
        .and_then(|i| EXPECTED_DIGESTS.get(i as usize));
    if known.is_some_and(|d| *d == digest(&actual)) {
        return Ok(Vec::new());
    }
    let expected = expected(version)?;
    let named = |set: &BTreeSet<Object>, kind: &str, name: &str| {
        set.iter().any(|(k, n, _, _)| k == kind && n == name)
    };
    let mut found = Vec::new();
    for (kind, name, table, _) in actual.difference(&expected) {
        if named(&expected, kind, name) {
            found.push(format!("changed {kind} '{name}'"));
        } else if kind == "table" || name == table {
            found.push(format!("{kind} '{name}'"));
        } else {
            found.push(format!("{kind} '{name}' on {table}"));
        }
    }
    for (kind, name, _, _) in expected.difference(&actual) {
        if !named(&actual, kind, name) {
            found.push(format!("missing {kind} '{name}'"));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn store() -> Result<(tempfile::TempDir, Store), Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::StoreIo {
            path: "tempdir".into(),
            source: e,
        })?;
        let store = Store::create(&dir.path().join("ohx.db"))?;
        Ok((dir, store))
    }

    #[test]
    fn the_digests_are_those_of_the_migrations() -> Result<(), Error> {
        for version in 1..=MIGRATIONS.len() {
            let built = digest(&expected(version as u32)?);
            let kept = EXPECTED_DIGESTS.get(version - 1).copied().unwrap_or("none");
            assert_eq!(
                kept,
                built,
                "the schema of version {version} changed: update EXPECTED_DIGESTS[{}] in \
                 src/store/schema_check.rs to \"{built}\"",
                version - 1
            );
        }
        assert_eq!(
            EXPECTED_DIGESTS.len(),
            MIGRATIONS.len(),
            "EXPECTED_DIGESTS needs one digest per migration, no more"
        );
        Ok(())
    }

    #[test]
    fn a_store_made_by_ohx_takes_the_fast_path() -> Result<(), Error> {
        let (_dir, store) = store()?;
        let kept = EXPECTED_DIGESTS.last().copied().unwrap_or("none");
        assert_eq!(digest(&objects(store.sqlite()?)?), kept);
        Ok(())
    }

    #[test]
    fn a_store_made_by_ohx_has_nothing_foreign() -> Result<(), Error> {
        let (_dir, store) = store()?;
        assert_eq!(foreign_objects(store.sqlite()?)?, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn an_older_store_is_compared_with_the_schema_of_its_own_version() -> Result<(), Error> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(&Dialect::Sqlite.ddl(MIGRATIONS[0]))?;
        conn.execute_batch("PRAGMA user_version = 1")?;
        assert_eq!(foreign_objects(&conn)?, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn planted_triggers_views_indexes_and_tables_are_found() -> Result<(), Error> {
        let (_dir, store) = store()?;
        store.sqlite()?.execute_batch(
            "CREATE TRIGGER keep_bob AFTER DELETE ON memberships BEGIN
                 INSERT INTO memberships SELECT old.workspace_id, old.user_id, old.role,
                     old.wrapped_key, old.key_version;
             END;
             CREATE VIEW everything AS SELECT * FROM users;
             CREATE INDEX spy ON connections(name);
             CREATE TABLE notes (x);",
        )?;
        let found = foreign_objects(store.sqlite()?)?;
        for expected in [
            "trigger 'keep_bob' on memberships",
            "view 'everything'",
            "index 'spy' on connections",
            "table 'notes'",
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "{expected} in {found:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn a_changed_or_missing_definition_is_found() -> Result<(), Error> {
        let (_dir, store) = store()?;
        store
            .sqlite()?
            .execute_batch("DROP INDEX memberships_by_user")?;
        // A CHECK constraint removed by rewriting the schema table directly.
        store.sqlite()?.execute_batch(
            "PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (seq >= 0)', '')
                 WHERE name = 'authority_log';
             PRAGMA writable_schema = OFF;",
        )?;
        let found = foreign_objects(store.sqlite()?)?;
        assert!(
            found
                .iter()
                .any(|f| f == "missing index 'memberships_by_user'"),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f == "changed table 'authority_log'"),
            "{found:?}"
        );
        Ok(())
    }
}
