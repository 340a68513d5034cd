//! The engine layer: the only code that knows which database engine holds the store.
//!
//! Every query of the store is written once, in the SQL both engines understand, with numbered
//! placeholders (`?1`, `?2`, ...). Store modules run it through a [`Db`], the handle of one
//! transaction, passing parameters as [`Param`]s and reading columns through [`Row::get`] into
//! [`FromCell`] types; neither side ever sees an engine's own types. What differs between engines
//! (connection, placeholder syntax, how a transaction is begun, DDL details) lives in one file per
//! engine under this module.

mod postgres;
mod sqlite;
mod value;

use std::cell::RefCell;

pub use self::postgres::{PgConn, PgRows};
pub use value::{Cell, Datum, FromCell, OwnedCell, Param, Value};

use crate::error::{DbFault, Error};

/// One transaction (or, for a short read, one connection) of the store, as store modules see it.
pub struct Db<'t> {
    inner: Inner<'t>,
}

enum Inner<'t> {
    Sqlite(&'t rusqlite::Connection),
    /// Borrowed for one statement at a time, so a row callback may run queries of its own.
    Postgres(&'t RefCell<PgConn>),
}

/// One result row; columns are read by position.
pub struct Row<'r> {
    inner: RowInner<'r>,
}

enum RowInner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r ::postgres::Row),
    /// A row that the connection holder (`store::relay`) read and sent on.
    Held(&'r [OwnedCell]),
}

impl<'t> Db<'t> {
    pub(super) fn sqlite(conn: &'t rusqlite::Connection) -> Db<'t> {
        Db {
            inner: Inner::Sqlite(conn),
        }
    }

    pub(super) fn postgres(conn: &'t RefCell<PgConn>) -> Db<'t> {
        Db {
            inner: Inner::Postgres(conn),
        }
    }

    /// Runs a statement that returns no rows; returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<u64, Error> {
        match &self.inner {
            Inner::Sqlite(c) => sqlite::execute(c, sql, params),
            Inner::Postgres(c) => c.borrow_mut().execute(sql, params),
        }
    }

    /// The first row of a query, read by `read`, or `None` when there is none.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        read: impl FnOnce(&Row<'_>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        match &self.inner {
            Inner::Sqlite(c) => sqlite::query_opt(c, sql, params, |r| {
                read(&Row {
                    inner: RowInner::Sqlite(r),
                })
            }),
            Inner::Postgres(c) => {
                let rows = c.borrow_mut().query(sql, params)?;
                rows.first().map(|inner| read(&Row { inner })).transpose()
            }
        }
    }

    /// The only row of a query that always returns one (`count(*)`, `INSERT ... RETURNING`).
    pub fn query_one<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        read: impl FnOnce(&Row<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.query_opt(sql, params, read)?
            .ok_or_else(|| Error::Database {
                fault: DbFault::Other,
                detail: "a query that always returns a row returned none".into(),
            })
    }

    /// Every row of a query, each read by `read`.
    pub fn query_all<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut read: impl FnMut(&Row<'_>) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        let mut all = Vec::new();
        self.each(sql, params, |row| -> Result<(), Error> {
            all.push(read(row)?);
            Ok(())
        })?;
        Ok(all)
    }

    /// Calls `f` with each row of a query in turn, without holding them all in memory.
    pub fn each<E: From<Error>>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match &self.inner {
            Inner::Sqlite(c) => sqlite::each(c, sql, params, |r| {
                f(&Row {
                    inner: RowInner::Sqlite(r),
                })
            }),
            // The rows arrive at once; the borrow ends before the first callback.
            Inner::Postgres(c) => {
                let rows = c.borrow_mut().query(sql, params)?;
                for inner in rows.each() {
                    f(&Row { inner })?;
                }
                Ok(())
            }
        }
    }

    /// Runs several statements given as text, without parameters (a migration step).
    pub fn batch(&self, sql: &str) -> Result<(), Error> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(c) => c.borrow_mut().batch(sql),
        }
    }

    /// The highest id `table`'s `id` column has ever handed out (0 if none): SQLite's
    /// `sqlite_sequence`, PostgreSQL's identity sequence. It may be above the largest id still
    /// there, since ids of deleted rows are never handed out again. `table` is one of the store's
    /// own table names, never user input.
    pub fn id_high_water(&self, table: &str) -> Result<i64, Error> {
        let sql = match &self.inner {
            Inner::Sqlite(_) => "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            Inner::Postgres(_) => {
                "SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence(?1, 'id')::regclass), 0)"
            }
        };
        Ok(self.query_opt(sql, &[&table], |r| r.get(0))?.unwrap_or(0))
    }

    /// Makes `table`'s next assigned id `high + 1`, after rows were inserted with their ids given
    /// (an engine does not move its counter past ids it did not assign itself, or, for SQLite,
    /// past ids of rows deleted before). For a table just created and filled by `store copy`.
    pub fn set_id_high_water(&self, table: &str, high: i64) -> Result<(), Error> {
        if high < 1 {
            return Ok(());
        }
        match &self.inner {
            Inner::Sqlite(_) => {
                let changed = self.execute(
                    "UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1",
                    &[&table, &high],
                )?;
                if changed == 0 {
                    self.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                        &[&table, &high],
                    )?;
                }
            }
            Inner::Postgres(_) => {
                let _: i64 = self.query_one(
                    "SELECT setval(pg_get_serial_sequence(?1, 'id'), ?2)",
                    &[&table, &high],
                    |r| r.get(0),
                )?;
            }
        }
        Ok(())
    }

    /// Runs an `INSERT ... RETURNING id` and returns the new row's id.
    pub fn insert_returning_id(&self, sql: &str, params: &[&dyn Param]) -> Result<i64, Error> {
        self.query_one(sql, params, |r| r.get(0))
    }
}

impl Row<'_> {
    /// Column `index` (from 0) as a `T`; a stored value of the wrong type or range is a value ohx
    /// did not write.
    pub fn get<T: FromCell>(&self, index: usize) -> Result<T, Error> {
        let read = match &self.inner {
            RowInner::Sqlite(r) => sqlite::cell(r, index, T::from_cell),
            RowInner::Postgres(r) => self::postgres::cell(r, index, T::from_cell),
            RowInner::Held(cells) => cells
                .get(index)
                .ok_or_else(|| format!("no column {index}"))
                .and_then(OwnedCell::as_cell)
                .and_then(T::from_cell),
        };
        read.map_err(|detail| Error::Database {
            fault: DbFault::BadValue,
            detail: format!("column {index}: {detail}"),
        })
    }
}

/// The engines' dialects, for the few statements that cannot be written once (DDL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A migration step with its placeholders filled in for this engine (see
    /// `store::migrations`).
    pub fn ddl(self, template: &str) -> String {
        let pairs: [(&str, &str); 5] = match self {
            Dialect::Sqlite => [
                ("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT"),
                ("{int}", "INTEGER"),
                ("{blob}", "BLOB"),
                ("{now}", " DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"),
                ("{without_rowid}", " WITHOUT ROWID"),
            ],
            Dialect::Postgres => [
                (
                    "{id}",
                    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                ),
                ("{int}", "BIGINT"),
                ("{blob}", "BYTEA"),
                // ohx writes every time stamp itself.
                ("{now}", ""),
                ("{without_rowid}", ""),
            ],
        };
        pairs.iter().fold(template.to_string(), |sql, (from, to)| {
            sql.replace(from, to)
        })
    }
}
