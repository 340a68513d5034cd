//! `ohx store copy FROM TO`: a whole store copied, row for row, into a new SQLite file or an empty
//! PostgreSQL database, in one transaction on the target, and checked against its source before
//! that transaction commits (docs/ARCHITECTURE.md, "Moving a store").
//!
//! Rows are copied as stored, ids included: record signatures and log entries bind to ids and
//! bytes, and secrets stay sealed, so the copy needs no identity and no key. The source is read in
//! one read transaction, a page of rows at a time (so a large store is never held in memory).
//! A new file is built under a temporary name and published only once complete; a database gets
//! its schema and its rows in the same transaction. Either way a failed copy leaves nothing.

use std::cell::RefCell;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use sha2::{Digest, Sha256};

use super::engine::{Datum, Db, Param, PgConn};
use super::{fault, migrations, postgres, Location, Store};
use crate::error::{DbFault, Error};
use crate::fsutil;

/// One table of the store, as the copy reads and writes it.
pub struct Table {
    pub name: &'static str,
    /// Every column, in the order the migrations create them.
    columns: &'static [&'static str],
    /// The primary key is the first `key` columns: the copy pages through rows in its order.
    key: usize,
    /// Whether the engine assigns `id` (`{id}` in the migrations), so its counter must follow.
    assigned_id: bool,
}

/// Every table, parents before children (foreign keys are checked as rows arrive). A unit test
/// compares this list with what the migrations create, so it cannot drift from them.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &["id", "name", "recipient", "created_at"],
        key: 1,
        assigned_id: true,
    },
    Table {
        name: "workspaces",
        columns: &[
            "id",
            "slug",
            "name",
            "description",
            "recipient",
            "key_version",
            "created_at",
            "updated_at",
        ],
        key: 1,
        assigned_id: true,
    },
    Table {
        name: "memberships",
        columns: &[
            "workspace_id",
            "user_id",
            "role",
            "wrapped_key",
            "key_version",
        ],
        key: 2,
        assigned_id: false,
    },
    Table {
        name: "connections",
        columns: &[
            "id",
            "workspace_id",
            "slug",
            "name",
            "description",
            "type",
            "needs_rotation",
            "mac",
            "created_at",
            "updated_at",
            "signature",
        ],
        key: 1,
        assigned_id: true,
    },
    Table {
        name: "fields",
        columns: &[
            "connection_id",
            "code",
            "position",
            "secret",
            "value",
            "ciphertext",
            "key_version",
        ],
        key: 2,
        assigned_id: false,
    },
    Table {
        name: "authority_log",
        columns: &["workspace_id", "seq", "entry"],
        key: 2,
        assigned_id: false,
    },
    Table {
        name: "openhexa_sync",
        columns: &[
            "connection_id",
            "workspace_id",
            "server",
            "remote_workspace",
            "remote_id",
            "remote_slug",
            "remote_updated_at",
            "key_version",
            "local_hash",
            "remote_hash",
            "synced_at",
        ],
        key: 1,
        assigned_id: false,
    },
];

/// Rows read from the source per query.
const PAGE: usize = 1000;
/// Rows written per `INSERT` (a few hundred parameters, well below either engine's limit).
const ROWS_PER_INSERT: usize = 100;

/// How many rows of each table were copied, in [`TABLES`] order.
pub type Counts = Vec<(&'static str, u64)>;

/// Where the copy goes, made ready before the source is opened, so that a wrong target is refused
/// before anything touches the source.
enum Target<'a> {
    File(&'a Path),
    // Boxed: a client with its statement cache is many times the size of a path.
    Database(Box<RefCell<PgConn>>),
}

/// Copies the store at `from` into `to`, which must be a missing file or an empty database, and
/// checks the copy. `progress` hears each table's rows copied so far, after every page.
pub fn copy(
    from: &Location,
    to: &Location,
    progress: &mut dyn FnMut(&'static str, u64),
) -> Result<Counts, Error> {
    let shown = to.shown().display().to_string();
    let target = match to {
        Location::File(path) if !to.is_missing_file() => {
            return Err(Error::CopyTargetFileExists(path.clone()))
        }
        Location::File(path) => Target::File(path),
        Location::Postgres(url) => {
            let conn = postgres::connect(url)?;
            let on = postgres::On {
                shown: Path::new(&shown),
                wrote_before: false,
            };
            if !postgres::transaction(&conn, on, postgres::Kind::Read, migrations::pg_is_empty)? {
                return Err(Error::CopyTargetNotEmpty(shown));
            }
            Target::Database(Box::new(conn))
        }
    };
    // An older source is migrated by opening it, as any ohx command would do: the copy is always
    // of the current schema, and an older store's rows are valid rows of it (docs/ARCHITECTURE.md).
    let mut source = Store::open_at(from)?;
    source.read(|src| match &target {
        Target::File(path) => into_file(src, path, progress),
        Target::Database(conn) => into_database(src, conn, &shown, progress),
    })
}

/// A new SQLite file: created, filled and closed under a temporary name in the target's folder,
/// then hard-linked into place, as `Store::create` does.
fn into_file(
    src: &Db<'_>,
    path: &Path,
    progress: &mut dyn FnMut(&'static str, u64),
) -> Result<Counts, Error> {
    super::prepare_folder(path)?;
    let io = |source| Error::StoreIo {
        path: path.into(),
        source,
    };
    let shown = path.display().to_string();
    let mut counts = None;
    let placed = fsutil::publish(
        path,
        |tmp| -> Result<(), Error> {
            super::build_new(tmp).map_err(|e| fault::at(e, path))?;
            counts = Some(fill_file(src, tmp, &shown, progress).map_err(|e| fault::at(e, path))?);
            Ok(())
        },
        io,
    )?;
    match counts {
        Some(counts) if placed => Ok(counts),
        // Another process put a file there while this one copied; it is left as it is.
        _ => Err(Error::CopyTargetFileExists(path.into())),
    }
}

fn fill_file(
    src: &Db<'_>,
    tmp: &Path,
    shown: &str,
    progress: &mut dyn FnMut(&'static str, u64),
) -> Result<Counts, Error> {
    let mut conn = Connection::open_with_flags(
        tmp,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    super::configure(&conn)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let counts = copy_rows(src, &Db::sqlite(&tx), shown, progress)?;
    tx.commit()?;
    // Closing checkpoints the -wal into the file, which must be whole before it is published.
    conn.close().map_err(|(_, e)| Error::from(e))?;
    Ok(counts)
}

/// An empty database: the schema and every row in one transaction, under the lock a first run
/// takes, so a concurrent `ohx init` waits and then finds the finished store.
fn into_database(
    src: &Db<'_>,
    conn: &RefCell<PgConn>,
    shown: &str,
    progress: &mut dyn FnMut(&'static str, u64),
) -> Result<Counts, Error> {
    let on = postgres::On {
        shown: Path::new(shown),
        wrote_before: false,
    };
    postgres::transaction(conn, on, postgres::Kind::Schema, |dst| {
        // Looked at again under the lock: another process may have filled it meanwhile.
        if !migrations::pg_is_empty(dst)? {
            return Err(Error::CopyTargetNotEmpty(shown.into()));
        }
        migrations::create_postgres(dst).map_err(|e| match e {
            Error::Database {
                fault: DbFault::ReadOnly,
                detail,
            } => Error::CopyTargetDenied {
                target: shown.into(),
                detail,
            },
            other => other,
        })?;
        copy_rows(src, dst, shown, progress)
    })
}

/// Copies every table from `src` to `dst`, moves the id counters along, then reads every table
/// back from `dst` and compares it with what was read from `src`.
fn copy_rows(
    src: &Db<'_>,
    dst: &Db<'_>,
    shown: &str,
    progress: &mut dyn FnMut(&'static str, u64),
) -> Result<Counts, Error> {
    let mut expected = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let mut digest = TableDigest::default();
        let mut last_id = 0;
        pages(src, table, |rows| {
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                insert(dst, table, chunk).map_err(|e| refused(e, shown, table))?;
            }
            for row in rows {
                digest.add(table, row);
            }
            if let Some(Datum::Int(id)) = rows.last().and_then(|r| r.first()) {
                last_id = *id;
            }
            progress(table.name, digest.rows);
            Ok(())
        })?;
        if table.assigned_id {
            // Ids of rows deleted in the source are not handed out again in the copy either.
            let high = src.id_high_water(table.name)?.max(last_id);
            dst.set_id_high_water(table.name, high)?;
        }
        expected.push(digest);
    }
    for (table, expected) in TABLES.iter().zip(&expected) {
        let mut found = TableDigest::default();
        pages(dst, table, |rows| {
            for row in rows {
                found.add(table, row);
            }
            Ok(())
        })?;
        if found != *expected {
            let detail = if found.rows == expected.rows {
                format!("{} rows, with different contents", found.rows)
            } else {
                format!("{} rows instead of {}", found.rows, expected.rows)
            };
            return Err(Error::CopyMismatch {
                target: shown.into(),
                table: table.name,
                detail,
            });
        }
    }
    Ok(TABLES
        .iter()
        .zip(expected)
        .map(|(t, d)| (t.name, d.rows))
        .collect())
}

/// A row the target refused (a constraint it checks, a value of the wrong type) names its table;
/// a lost connection or a full disk stays what it is.
fn refused(e: Error, shown: &str, table: &Table) -> Error {
    match e {
        Error::Database {
            fault: DbFault::Other,
            detail,
        } => Error::CopyRowRefused {
            target: shown.into(),
            table: table.name,
            detail,
        },
        other => other,
    }
}

/// Calls `f` with each page of `table`'s rows, in primary-key order, each page read by one query
/// that starts after the last key of the page before.
fn pages(
    db: &Db<'_>,
    table: &Table,
    mut f: impl FnMut(&[Vec<Datum>]) -> Result<(), Error>,
) -> Result<(), Error> {
    let columns = table.columns.join(", ");
    let key = table.columns[..table.key].join(", ");
    let after: Vec<String> = (1..=table.key).map(|n| format!("?{n}")).collect();
    let first = format!(
        "SELECT {columns} FROM {} ORDER BY {key} LIMIT {PAGE}",
        table.name
    );
    let next = format!(
        "SELECT {columns} FROM {} WHERE ({key}) > ({}) ORDER BY {key} LIMIT {PAGE}",
        table.name,
        after.join(", ")
    );
    let width = table.columns.len();
    let read = |r: &super::engine::Row<'_>| {
        (0..width)
            .map(|i| r.get::<Datum>(i))
            .collect::<Result<Vec<_>, _>>()
    };
    let mut rows = db.query_all(&first, &[], read)?;
    loop {
        if rows.is_empty() {
            return Ok(());
        }
        f(&rows)?;
        if rows.len() < PAGE {
            return Ok(());
        }
        let last: Vec<&dyn Param> = match rows.last() {
            Some(row) => row[..table.key].iter().map(|d| d as &dyn Param).collect(),
            None => return Ok(()),
        };
        rows = db.query_all(&next, &last, read)?;
    }
}

/// One `INSERT` of `rows`, every column given (ids included).
fn insert(dst: &Db<'_>, table: &Table, rows: &[Vec<Datum>]) -> Result<(), Error> {
    let width = table.columns.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|c| format!("?{}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        table.columns.join(", "),
        tuples.join(", ")
    );
    let params: Vec<&dyn Param> = rows.iter().flatten().map(|d| d as &dyn Param).collect();
    dst.execute(&sql, &params)?;
    Ok(())
}

/// What a table holds, independent of the order rows come back in (PostgreSQL sorts text by its
/// collation, SQLite by bytes): the number of rows and the sum, modulo 2^256, of each row's
/// SHA-256 over its canonical bytes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct TableDigest {
    rows: u64,
    /// Most significant word first.
    sum: [u64; 4],
}

impl TableDigest {
    fn add(&mut self, table: &Table, row: &[Datum]) {
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(table.name.as_bytes());
        bytes.push(0);
        for datum in row {
            datum.canonical(&mut bytes);
        }
        let hash: [u8; 32] = Sha256::digest(&bytes).into();
        let mut carry = 0u128;
        for (i, word) in self.sum.iter_mut().enumerate().rev() {
            let mut part = [0u8; 8];
            part.copy_from_slice(&hash[i * 8..i * 8 + 8]);
            let total = u128::from(*word) + u128::from(u64::from_be_bytes(part)) + carry;
            *word = total as u64;
            carry = total >> 64;
        }
        self.rows += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::engine::Dialect;
    use crate::store::migrations::MIGRATIONS;

    /// The tables, columns, keys and assigned ids the migrations create, read from SQLite.
    #[test]
    fn the_table_list_is_exactly_what_the_migrations_create() -> Result<(), Error> {
        let conn = Connection::open_in_memory()?;
        for step in MIGRATIONS {
            conn.execute_batch(&Dialect::Sqlite.ddl(step))?;
        }
        let mut stmt = conn.prepare(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name != 'sqlite_sequence' ORDER BY name",
        )?;
        let created: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut listed: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        listed.sort_unstable();
        let names: Vec<&str> = created.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(listed, names);
        for (position, table) in TABLES.iter().enumerate() {
            let mut info = conn.prepare(&format!("PRAGMA table_info({})", table.name))?;
            let columns: Vec<(String, i64)> = info
                .query_map([], |r| Ok((r.get(1)?, r.get(5)?)))?
                .collect::<Result<_, _>>()?;
            let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, table.columns, "{}", table.name);
            let key: Vec<i64> = columns.iter().map(|(_, pk)| *pk).collect();
            let expected: Vec<i64> = (0..columns.len())
                .map(|i| if i < table.key { i as i64 + 1 } else { 0 })
                .collect();
            assert_eq!(key, expected, "primary key of {}", table.name);
            let sql = created
                .iter()
                .find(|(n, _)| n == table.name)
                .map(|(_, s)| s.as_str())
                .unwrap_or_default();
            assert_eq!(
                sql.contains("AUTOINCREMENT"),
                table.assigned_id,
                "{}",
                table.name
            );
            // Parents first: every table a row refers to is copied before it.
            let mut fks = conn.prepare(&format!("PRAGMA foreign_key_list({})", table.name))?;
            let parents: Vec<String> =
                fks.query_map([], |r| r.get(2))?.collect::<Result<_, _>>()?;
            for parent in parents {
                let at = TABLES.iter().position(|t| t.name == parent);
                assert!(
                    at.is_some_and(|at| at < position),
                    "{} before {parent}",
                    table.name
                );
            }
        }
        Ok(())
    }

    #[test]
    fn the_digest_depends_on_every_value_but_not_on_row_order() {
        let table = &TABLES[0];
        let a = vec![Datum::Int(1), Datum::Text("ann".into()), Datum::Null];
        let b = vec![Datum::Int(2), Datum::Blob(b"ann".to_vec()), Datum::Null];
        let mut one = TableDigest::default();
        one.add(table, &a);
        one.add(table, &b);
        let mut other = TableDigest::default();
        other.add(table, &b);
        other.add(table, &a);
        assert_eq!(one, other);
        // Text and bytes with the same content, or a NULL and an empty text, differ.
        let mut changed = TableDigest::default();
        changed.add(table, &b);
        changed.add(
            table,
            &[Datum::Int(1), Datum::Blob(b"ann".to_vec()), Datum::Null],
        );
        assert_ne!(one, changed);
        let mut empty = TableDigest::default();
        empty.add(table, &[Datum::Text(String::new())]);
        let mut null = TableDigest::default();
        null.add(table, &[Datum::Null]);
        assert_ne!(empty, null);
    }
}
