//! The store, the only place with SQL: its queries are written once and run through
//! [`engine::Db`], whichever engine holds the store (docs/ARCHITECTURE.md, "The store layer").
//!
//! A store is a SQLite file or a PostgreSQL database ([`Location`]). Opening a file checks it
//! before SQLite touches it (symbolic link, permissions, size, header, `application_id`, a
//! `user_version` from a newer ohx), so that a foreign, damaged or newer file is refused and left
//! byte-for-byte untouched; a database is checked the same way through its `ohx_store` table.
//! Every write is one transaction that excludes other writers (SQLite's `BEGIN IMMEDIATE`, an
//! advisory lock on PostgreSQL).

pub mod authority_log;
mod clock;
pub mod connections;
pub mod copy;
pub mod engine;
mod fault;
mod file_check;
mod location;
pub mod members;
mod migrations;
mod postgres;
pub mod relay;
pub mod schema_check;
pub mod share;
pub mod sync_state;
mod types;
pub mod users;
pub mod workspaces;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::Error;
use crate::fsutil;
use engine::{Db, PgConn};
pub use location::Location;
pub use postgres::url::Target;

/// "OHX1" in the SQLite header's application id field.
pub const APPLICATION_ID: u32 = 0x4F48_5831;

/// How long a writer waits for another process's transaction before reporting the store locked.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// An open store.
pub struct Store {
    engine: Engine,
    /// The file, or the database's URL (for messages only).
    path: PathBuf,
    /// Whether a write of this command has committed (a lost connection leaves it saved).
    wrote: bool,
}

enum Engine {
    Sqlite(Connection),
    // Boxed: a client with its statement cache is several times the size of a SQLite handle.
    Postgres(Box<RefCell<PgConn>>),
}

impl Store {
    /// Opens the existing store at `location`, refusing anything that is not a current or older
    /// ohx store.
    pub fn open_at(location: &Location) -> Result<Store, Error> {
        match location {
            Location::File(path) => Store::open(path),
            Location::Postgres(target) => {
                Store::open_postgres(location, target, false).map(|(s, _)| s)
            }
        }
    }

    /// Creates the store at `location` unless it exists, then opens it; says whether it was
    /// created.
    pub fn init(location: &Location) -> Result<(Store, bool), Error> {
        match location {
            Location::File(path) if location.is_missing_file() => Ok((Store::create(path)?, true)),
            Location::File(path) => Ok((Store::open(path)?, false)),
            Location::Postgres(target) => Store::open_postgres(location, target, true),
        }
    }

    fn open_postgres(
        location: &Location,
        target: &postgres::url::Target,
        create: bool,
    ) -> Result<(Store, bool), Error> {
        let conn = postgres::connect(target)?;
        let shown = location.shown();
        let created = migrations::migrate_postgres(&conn, &shown, create)?;
        let store = Store {
            engine: Engine::Postgres(Box::new(conn)),
            path: shown,
            wrote: false,
        };
        Ok((store, created))
    }

    /// Opens an existing store, refusing anything that is not a current or older ohx store.
    pub fn open(path: &Path) -> Result<Store, Error> {
        let folder = file_check::check_file(path)?;
        if fsutil::is_group_folder(folder.mode) {
            crate::harden::group_umask();
        }
        Store::open_checked(path).map_err(|e| fault::at(e, path))
    }

    fn open_checked(path: &Path) -> Result<Store, Error> {
        // With no -wal beside the store, any -wal and -shm that appear once SQLite reads it are
        // this connection's own, and empty: a refused store is closed so that SQLite removes
        // them again, and is left exactly as it was found.
        let wal_was_there = file_check::companion(path, "-wal")
            .symlink_metadata()
            .is_ok();
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Until the store is known to be ours and not newer, closing must not checkpoint: that would
        // copy a newer ohx's WAL into the main file of a store we refuse.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        if let Err(refused) = accept(&mut conn, path) {
            if !wal_was_there && wal_is_empty(path) {
                conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
            }
            return Err(refused);
        }
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
        Ok(Store {
            engine: Engine::Sqlite(conn),
            path: path.to_path_buf(),
            wrote: false,
        })
    }

    /// Creates a new store at `path`, or opens the one that is already there.
    ///
    /// The store is built under a temporary name and hard-linked into place, so a concurrent first
    /// run either sees a complete store or none, and an existing file is never replaced.
    pub fn create(path: &Path) -> Result<Store, Error> {
        prepare_folder(path)?;
        let io = |source| Error::StoreIo {
            path: path.into(),
            source,
        };
        fsutil::publish(path, build_new, io)?;
        Store::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` for one short read: on SQLite outside any transaction (each statement sees the
    /// store as it is then), on PostgreSQL in one read transaction.
    pub fn peek<T, E: From<Error>>(
        &self,
        work: impl FnOnce(&Db<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.engine {
            Engine::Sqlite(conn) => work(&Db::sqlite(conn)),
            Engine::Postgres(conn) => {
                postgres::transaction(conn, self.on(), postgres::Kind::Read, work)
            }
        }
    }

    /// Where a PostgreSQL transaction runs, for the message when its connection is lost.
    fn on(&self) -> postgres::On<'_> {
        postgres::On {
            shown: &self.path,
            wrote_before: self.wrote,
        }
    }

    /// The SQLite connection itself, for unit tests that change a store as an attacker would.
    #[cfg(test)]
    pub(crate) fn sqlite(&self) -> Result<&Connection, Error> {
        match &self.engine {
            Engine::Sqlite(conn) => Ok(conn),
            Engine::Postgres(_) => Err(Error::Database {
                fault: crate::error::DbFault::Other,
                detail: "not a SQLite store".into(),
            }),
        }
    }

    /// A handle outside any transaction, for unit tests.
    #[cfg(test)]
    pub(crate) fn db(&self) -> Db<'_> {
        match &self.engine {
            Engine::Sqlite(conn) => Db::sqlite(conn),
            Engine::Postgres(conn) => Db::postgres(conn),
        }
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction, committed only if it succeeds.
    pub fn write<T, E: From<Error>>(
        &mut self,
        work: impl FnOnce(&Db<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let path = self.path.clone();
        let on = postgres::On {
            shown: &path,
            wrote_before: self.wrote,
        };
        let value = match &mut self.engine {
            Engine::Postgres(conn) => postgres::transaction(conn, on, postgres::Kind::Write, work)?,
            Engine::Sqlite(conn) => {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| fault::at(e, &path))?;
                let value = work(&Db::sqlite(&tx))?;
                tx.commit().map_err(|e| fault::at(e, &path))?;
                value
            }
        };
        self.wrote = true;
        Ok(value)
    }

    /// Runs `work` in one read transaction, so it sees one consistent state of the store.
    pub fn read<T, E: From<Error>>(
        &mut self,
        work: impl FnOnce(&Db<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let path = self.path.clone();
        let on = postgres::On {
            shown: &path,
            wrote_before: self.wrote,
        };
        let conn = match &mut self.engine {
            Engine::Sqlite(conn) => conn,
            Engine::Postgres(conn) => {
                return postgres::transaction(conn, on, postgres::Kind::Read, work)
            }
        };
        let tx = conn.transaction().map_err(|e| fault::at(e, &path))?;
        let value = work(&Db::sqlite(&tx))?;
        tx.finish().map_err(|e| fault::at(e, &path))?;
        Ok(value)
    }
}

/// Checks a store file that SQLite has opened, before anything is written to it: ours (the
/// header read by `file_check` may predate changes still in the WAL, so SQLite is asked too),
/// with no schema object ohx did not create, then configured and migrated. Objects ohx did not
/// create (a trigger that re-inserts a removed member, a view, an index) could change what ohx's
/// own statements do, so they are looked for before `journal_mode` or a migration writes.
fn accept(conn: &mut Connection, path: &Path) -> Result<(), Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let app_id: u32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app_id != APPLICATION_ID {
        return Err(Error::NotAStore(path.into()));
    }
    let foreign = schema_check::foreign_objects(conn)?;
    if !foreign.is_empty() {
        return Err(Error::ForeignSchema(foreign));
    }
    configure(conn)?;
    migrations::migrate(conn, path)
}

/// Whether the store's -wal holds no frame (or is not there).
fn wal_is_empty(path: &Path) -> bool {
    file_check::companion(path, "-wal")
        .symlink_metadata()
        .map_or(true, |m| m.len() == 0)
}

/// Makes the folder of a new store file when it is missing (0700, parents too), and refuses one
/// that others may write (a group folder of `ohx store share` is fine).
fn prepare_folder(path: &Path) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        fsutil::create_private_dir(dir).map_err(|source| Error::StoreIo {
            path: path.into(),
            source,
        })?;
    }
    file_check::check_folder(path).map(|_| ())
}

fn configure(conn: &Connection) -> Result<(), Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode answers with a row, so it is queried rather than executed.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::from(rusqlite::Error::InvalidQuery));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA trusted_schema = OFF;",
    )?;
    Ok(())
}

/// Creates and initialises a fresh store file at `tmp` (0600).
fn build_new(tmp: &Path) -> Result<(), Error> {
    let io = |source| Error::StoreIo {
        path: tmp.into(),
        source,
    };
    fsutil::create_private_file(tmp).map_err(io)?;
    let mut conn = Connection::open_with_flags(
        tmp,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA foreign_keys = ON;"
    ))?;
    migrations::migrate(&mut conn, tmp)?;
    // Switch to WAL while nobody else can see the file; closing checkpoints and removes the -wal.
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.close().map_err(|(_, e)| Error::from(e))?;
    Ok(())
}
