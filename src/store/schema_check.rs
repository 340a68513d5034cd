//! The schema is ohx's: a store whose schema holds anything ohx's migrations did not create (a
//! trigger, a view, an index, a table) or a changed definition (a dropped CHECK) is refused.
//!
//! A trigger planted by someone who can write the file would run inside an admin's own
//! transaction (re-inserting a removed membership after ohx deleted it, say); SQLite's
//! `trusted_schema = OFF` does not stop triggers that only write rows. The expected schema is
//! made by running the migrations up to the store's own version in an in-memory database, so
//! this check can never drift from them. Nothing is written: call it before migrating.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use rusqlite::Connection;

use super::engine::Dialect;
use super::migrations::MIGRATIONS;
use crate::error::Error;

/// One row of `sqlite_schema`: type, name, the table it belongs to, and its SQL.
type Object = (String, String, String, Option<String>);

fn objects(conn: &Connection) -> Result<BTreeSet<Object>, Error> {
    let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

thread_local! {
    /// The expected schema last built, by version. Opening a store checks it twice (before SQLite
    /// may write to the file and again after), and building it, every migration run in memory, is
    /// most of what the check costs: about a fifth of a `connection env` (BENCHMARKS.md).
    static EXPECTED: RefCell<Option<(u32, Rc<BTreeSet<Object>>)>> = const { RefCell::new(None) };
}

/// The schema ohx's migrations create up to `version` (a pure function of `version`, so it is
/// built once per process).
fn expected(version: u32) -> Result<Rc<BTreeSet<Object>>, Error> {
    if let Some((built, set)) = EXPECTED.with(|e| e.borrow().clone()) {
        if built == version {
            return Ok(set);
        }
    }
    let memory = Connection::open_in_memory()?;
    for sql in MIGRATIONS.iter().take(version as usize) {
        memory.execute_batch(&Dialect::Sqlite.ddl(sql))?;
    }
    let set = Rc::new(objects(&memory)?);
    EXPECTED.with(|e| *e.borrow_mut() = Some((version, set.clone())));
    Ok(set)
}

/// What in the store's schema ohx did not create, or created differently, described for an
/// error message ("trigger 'keep_bob' on memberships", "changed table 'memberships'", "missing
/// index 'memberships_by_user'"). Empty when the schema is exactly ohx's.
pub fn foreign_objects(conn: &Connection) -> Result<Vec<String>, Error> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let expected = expected(version)?;
    let actual = objects(conn)?;
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
