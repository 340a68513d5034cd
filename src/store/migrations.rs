//! Schema migrations: one append-only list for every engine, run in one transaction. SQLite keeps
//! the version in `PRAGMA user_version`; PostgreSQL in the one-row table `ohx_store`, next to the
//! application id that tells an ohx database from a foreign one.
//!
//! Never edit a migration that has shipped; add a new one. A store whose version is above
//! [`LATEST`] was written by a newer ohx and is refused without a write. Concurrent first runs
//! are safe: SQLite builds a new store under a temporary name, PostgreSQL migrates under an
//! advisory lock and looks again once it holds it.

use std::path::Path;

use std::cell::RefCell;

use rusqlite::{Connection, TransactionBehavior};

use super::engine::{Db, Dialect, PgConn};
use super::{postgres, APPLICATION_ID};

use crate::error::Error;

/// The schema, one step per entry, written once for every engine. DDL differences are the
/// placeholders of [`Dialect::ddl`]: `{id}` (an integer key the engine assigns), `{int}` (a 64-bit
/// integer), `{blob}` (bytes), `{now}` (SQLite's default time stamp, which ohx no longer relies
/// on but shipped stores have) and `{without_rowid}`. On SQLite each step renders to exactly the
/// text it shipped with, so existing stores keep their schema.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: users, workspaces, memberships, connections and their fields.
    "CREATE TABLE users (
        id         {id},
        name       TEXT NOT NULL UNIQUE,
        recipient  TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL{now}
    );
    CREATE TABLE workspaces (
        id          {id},
        slug        TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        recipient   TEXT NOT NULL,
        key_version {int} NOT NULL,
        created_at  TEXT NOT NULL{now},
        updated_at  TEXT NOT NULL{now}
    );
    CREATE TABLE memberships (
        workspace_id {int} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        user_id      {int} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role         TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
        wrapped_key  {blob},
        key_version  {int},
        PRIMARY KEY (workspace_id, user_id),
        CHECK ((role = 'viewer') = (wrapped_key IS NULL))
    ){without_rowid};
    CREATE INDEX memberships_by_user ON memberships(user_id);
    CREATE TABLE connections (
        id             {id},
        workspace_id   {int} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        slug           TEXT NOT NULL,
        name           TEXT NOT NULL,
        description    TEXT NOT NULL DEFAULT '',
        type           TEXT NOT NULL,
        needs_rotation {int} NOT NULL DEFAULT 0,
        mac            {blob},
        created_at     TEXT NOT NULL{now},
        updated_at     TEXT NOT NULL{now},
        UNIQUE (workspace_id, slug)
    );
    CREATE TABLE fields (
        connection_id {int} NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        code          TEXT NOT NULL,
        position      {int} NOT NULL,
        secret        {int} NOT NULL CHECK (secret IN (0, 1)),
        value         TEXT,
        ciphertext    {blob},
        key_version   {int},
        PRIMARY KEY (connection_id, code),
        CHECK ((secret = 1) = (ciphertext IS NOT NULL AND value IS NULL))
    ){without_rowid};",
    // 2: the signed log of every workspace (one canonical entry per row, numbered from its
    // genesis), and the admin's signature over each connection record (docs/SECURITY.md).
    "CREATE TABLE authority_log (
        workspace_id {int} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        seq          {int} NOT NULL CHECK (seq >= 0),
        entry        {blob} NOT NULL,
        PRIMARY KEY (workspace_id, seq)
    ){without_rowid};
    ALTER TABLE connections ADD COLUMN signature {blob};",
    // 3: the link of a local connection to an OpenHEXA one, as of their last sync
    // (`ohx openhexa pull|push`): the server's id, slug and updatedAt, and keyed hashes of both
    // sides' content then, made with the workspace key of `key_version`.
    "CREATE TABLE openhexa_sync (
        connection_id     {int} PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
        workspace_id      {int} NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        server            TEXT NOT NULL,
        remote_workspace  TEXT NOT NULL,
        remote_id         TEXT NOT NULL,
        remote_slug       TEXT NOT NULL,
        remote_updated_at TEXT NOT NULL,
        key_version       {int} NOT NULL,
        local_hash        {blob} NOT NULL,
        remote_hash       {blob} NOT NULL,
        synced_at         TEXT NOT NULL{now},
        UNIQUE (workspace_id, server, remote_id)
    );",
];

/// The schema version this ohx writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Brings the schema up to [`LATEST`], refusing a newer store untouched.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), Error> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(Error::StoreNewer {
            path: path.into(),
            found: current,
            known: LATEST,
        });
    }
    if current == LATEST {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while this one waited for the lock.
    let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(Error::StoreNewer {
            path: path.into(),
            found: current,
            known: LATEST,
        });
    }
    for step in &MIGRATIONS[current as usize..] {
        tx.execute_batch(&Dialect::Sqlite.ddl(step))?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {LATEST}"))?;
    tx.commit()?;
    Ok(())
}

/// What a PostgreSQL database holds before migrating: nothing yet, or ohx's version table.
enum PgState {
    Empty,
    Foreign,
    Ohx { application_id: i64, version: i64 },
}

fn pg_state(db: &Db<'_>) -> Result<PgState, Error> {
    // Read from pg_class rather than with to_regclass, whose cached lookup can miss a table
    // another first run committed while this one waited for the schema lock.
    let has_meta: i64 = db.query_one(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relname = 'ohx_store'",
        &[],
        |r| r.get(0),
    )?;
    if has_meta > 0 {
        let (application_id, version) = db.query_one(
            "SELECT application_id, schema_version FROM ohx_store",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        return Ok(PgState::Ohx {
            application_id,
            version,
        });
    }
    let relations: i64 = db.query_one(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema()",
        &[],
        |r| r.get(0),
    )?;
    Ok(if relations == 0 {
        PgState::Empty
    } else {
        PgState::Foreign
    })
}

/// The tables ohx's migrations create in a PostgreSQL store, read from the migrations themselves
/// so that the check cannot drift from them, and the version table.
fn pg_tables() -> Vec<&'static str> {
    let mut tables = vec!["ohx_store"];
    for step in MIGRATIONS {
        for part in step.split("CREATE TABLE ").skip(1) {
            if let Some(name) = part.split_whitespace().next() {
                tables.push(name);
            }
        }
    }
    tables
}

/// What in a PostgreSQL store's schema could run or answer in place of ohx's own rows: triggers,
/// rules, row policies, views and tables ohx did not create (the SQLite store's `schema_check`,
/// for a database), and code planted where ohx's writes run it: an index, a constraint or a
/// default of one of its tables calling a function outside `pg_catalog`, or a column of a type
/// outside it (a domain's check). A plain extra index is left alone: it changes no result and
/// runs nothing.
fn pg_foreign_objects(db: &Db<'_>) -> Result<Vec<String>, Error> {
    // The catalogs themselves rather than the pg_rules and pg_policies views, which decompile
    // every rule and policy of the database: a fifth of opening a store on a fresh server
    // process (BENCHMARKS.md). One statement, one round trip. Every function a PostgreSQL store
    // needs is built in (pg_catalog): ohx creates none.
    let mut found: Vec<String> = db.query_all(
        "SELECT 'trigger ' || t.tgname || ' on ' || c.relname FROM pg_trigger t
         JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND NOT t.tgisinternal
         UNION ALL
         SELECT 'rule ' || r.rulename || ' on ' || c.relname FROM pg_rewrite r
         JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND r.rulename <> '_RETURN'
         UNION ALL
         SELECT 'policy ' || p.polname || ' on ' || c.relname FROM pg_policy p
         JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema()
         UNION ALL
         SELECT DISTINCT CASE d.classid
                WHEN 'pg_class'::regclass THEN 'index '
                WHEN 'pg_constraint'::regclass THEN 'constraint '
                ELSE 'default ' END
             || 'on ' || c.relname || ' running ' || pn.nspname || '.' || p.proname
         FROM pg_depend d
         JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
         JOIN pg_namespace pn ON pn.oid = p.pronamespace
         JOIN pg_class c ON c.oid = CASE d.classid
             WHEN 'pg_class'::regclass THEN
                 (SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = d.objid)
             WHEN 'pg_constraint'::regclass THEN
                 (SELECT k.conrelid FROM pg_constraint k WHERE k.oid = d.objid)
             WHEN 'pg_attrdef'::regclass THEN
                 (SELECT a.adrelid FROM pg_attrdef a WHERE a.oid = d.objid)
             END
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND pn.nspname <> 'pg_catalog'
         UNION
         SELECT 'column ' || c.relname || '.' || a.attname || ' of type ' || tn.nspname || '.'
             || t.typname
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0
             AND NOT a.attisdropped AND tn.nspname <> 'pg_catalog'",
        &[],
        |r| r.get(0),
    )?;
    let relations: Vec<(String, String)> = db.query_all(
        "SELECT c.relname::text, c.relkind::text FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'f', 'p')",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let ours = pg_tables();
    for (name, kind) in relations {
        if kind != "r" || !ours.contains(&name.as_str()) {
            let what = if kind == "r" { "table" } else { "view" };
            found.push(format!("{what} {name}"));
        }
    }
    Ok(found)
}

/// Brings a PostgreSQL store's schema up to [`LATEST`]; with `create`, an empty database gets the
/// whole schema. Returns whether the schema was created. A newer or foreign database is refused
/// untouched; so is an empty one without `create` (a typo must not make a new store).
pub(super) fn migrate_postgres(
    conn: &RefCell<PgConn>,
    shown: &Path,
    create: bool,
) -> Result<bool, Error> {
    let on = postgres::On {
        shown,
        wrote_before: false,
    };
    // Most opens find the schema current: look first without taking the lock, and in the same
    // snapshot for planted objects.
    let (current, foreign) =
        postgres::transaction(conn, on, postgres::Kind::Read, |db| -> Result<_, Error> {
            let state = pg_state(db)?;
            let foreign = match state {
                PgState::Ohx { .. } => pg_foreign_objects(db)?,
                _ => Vec::new(),
            };
            Ok((state, foreign))
        })?;
    if !foreign.is_empty() {
        return Err(Error::ForeignSchema(foreign));
    }
    if matches!(current, PgState::Ohx { application_id, version }
        if application_id == i64::from(APPLICATION_ID) && version == i64::from(LATEST))
    {
        return Ok(false);
    }
    postgres::transaction(
        conn,
        on,
        postgres::Kind::Schema,
        |db| -> Result<bool, Error> {
            // Another process may have migrated while this one waited for the lock.
            let (created, version) = match pg_state(db)? {
                PgState::Foreign => return Err(Error::NotAStore(shown.into())),
                PgState::Empty if !create => return Err(Error::StoreMissing(shown.into())),
                PgState::Empty => {
                    create_version_table(db)?;
                    (true, 0)
                }
                PgState::Ohx { application_id, .. }
                    if application_id != i64::from(APPLICATION_ID) =>
                {
                    return Err(Error::NotAStore(shown.into()))
                }
                PgState::Ohx { version, .. } => (false, version),
            };
            let known = i64::from(LATEST);
            if version > known {
                return Err(Error::StoreNewer {
                    path: shown.into(),
                    found: u32::try_from(version).unwrap_or(u32::MAX),
                    known: LATEST,
                });
            }
            run_postgres_steps(db, usize::try_from(version).unwrap_or(0))?;
            Ok(created)
        },
    )
}

/// The version table of a new PostgreSQL store, at version 0.
fn create_version_table(db: &Db<'_>) -> Result<(), Error> {
    db.execute(
        "CREATE TABLE ohx_store (application_id BIGINT NOT NULL, schema_version BIGINT NOT NULL)",
        &[],
    )?;
    db.execute(
        "INSERT INTO ohx_store (application_id, schema_version) VALUES (?1, 0)",
        &[&i64::from(APPLICATION_ID)],
    )?;
    Ok(())
}

/// Runs the migrations from step `from` on, and records the store as at [`LATEST`].
fn run_postgres_steps(db: &Db<'_>, from: usize) -> Result<(), Error> {
    for step in MIGRATIONS.get(from..).unwrap_or_default() {
        db.batch(&Dialect::Postgres.ddl(step))?;
    }
    db.execute(
        "UPDATE ohx_store SET schema_version = ?1",
        &[&i64::from(LATEST)],
    )?;
    Ok(())
}

/// Whether a PostgreSQL database holds nothing at all yet, the only kind `ohx store copy` fills.
pub(super) fn pg_is_empty(db: &Db<'_>) -> Result<bool, Error> {
    Ok(matches!(pg_state(db)?, PgState::Empty))
}

/// The whole current schema, created in an empty PostgreSQL database inside the caller's
/// transaction, so that `ohx store copy` commits it together with the rows or not at all.
/// The caller holds [`postgres::SCHEMA_LOCK`], as a first run would.
pub(super) fn create_postgres(db: &Db<'_>) -> Result<(), Error> {
    create_version_table(db)?;
    run_postgres_steps(db, 0)
}

#[cfg(test)]
mod tests {
    use super::{Dialect, MIGRATIONS};
    use sha2::{Digest, Sha256};

    /// What each migration renders to on SQLite, as shipped: an existing store's schema text is
    /// compared with these by SQLite itself, so they must never change.
    const SHIPPED_SQLITE: &[&str] = &[
        "f719ad41d783474d34152098153a105ee6b084b6d5909858bdf9ff390126fef6",
        "f110f13f782da04ca8369f644f8d54dd10537dee33e4f3849f3777b93ced71db",
        "8ca3cb0bbd21417e9b9cc260ae58b424b5e6230a23869f07f17b1189889d70b6",
    ];

    #[test]
    fn sqlite_renders_every_migration_as_shipped() {
        for (step, shipped) in MIGRATIONS.iter().zip(SHIPPED_SQLITE) {
            let digest = Sha256::digest(Dialect::Sqlite.ddl(step).as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(&hex, shipped);
        }
    }

    #[test]
    fn the_postgresql_check_knows_every_table() {
        let tables = super::pg_tables();
        for name in [
            "users",
            "workspaces",
            "memberships",
            "connections",
            "fields",
        ] {
            assert!(tables.contains(&name), "{tables:?}");
        }
        assert!(tables.contains(&"authority_log") && tables.contains(&"openhexa_sync"));
    }

    #[test]
    fn every_placeholder_is_known() {
        for step in MIGRATIONS {
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                assert!(!dialect.ddl(step).contains('{'), "{step}");
            }
        }
    }
}
