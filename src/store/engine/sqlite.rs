//! The SQLite engine: parameters bound as SQLite values, rows read as cells, statements from the
//! connection's statement cache. SQLite understands the store's `?N` placeholders as written.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Row, ToSql};

use super::value::{Cell, Param, Value};
use crate::error::Error;

struct Bound<'a>(Value<'a>);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(n),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn bind<'a>(params: &'a [&'a dyn Param]) -> Vec<Bound<'a>> {
    params.iter().map(|p| Bound(p.value())).collect()
}

fn as_sql<'a>(bound: &'a [Bound<'a>]) -> Vec<&'a dyn ToSql> {
    bound.iter().map(|b| b as &dyn ToSql).collect()
}

pub(super) fn execute(c: &Connection, sql: &str, params: &[&dyn Param]) -> Result<u64, Error> {
    let bound = bind(params);
    let changed = c.prepare_cached(sql)?.execute(as_sql(&bound).as_slice())?;
    Ok(changed as u64)
}

pub(super) fn query_opt<T>(
    c: &Connection,
    sql: &str,
    params: &[&dyn Param],
    read: impl FnOnce(&Row<'_>) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    let bound = bind(params);
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query(as_sql(&bound).as_slice())?;
    match rows.next()? {
        Some(row) => Ok(Some(read(row)?)),
        None => Ok(None),
    }
}

pub(super) fn each<E: From<Error>>(
    c: &Connection,
    sql: &str,
    params: &[&dyn Param],
    mut f: impl FnMut(&Row<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let bound = bind(params);
    let mut stmt = c.prepare_cached(sql).map_err(Error::from)?;
    let mut rows = stmt.query(as_sql(&bound).as_slice()).map_err(Error::from)?;
    while let Some(row) = rows.next().map_err(Error::from)? {
        f(row)?;
    }
    Ok(())
}

/// Reads column `index` of `row` as a neutral cell and hands it to `read`.
pub(super) fn cell<T>(
    row: &Row<'_>,
    index: usize,
    read: impl FnOnce(Cell<'_>) -> Result<T, String>,
) -> Result<T, String> {
    let value = row.get_ref(index).map_err(|e| e.to_string())?;
    read(match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(n) => Cell::Int(n),
        ValueRef::Real(x) => Cell::Real(x),
        ValueRef::Text(t) => Cell::Text(t),
        ValueRef::Blob(b) => Cell::Blob(b),
    })
}
