//! Connections and their fields. Secret fields hold only ciphertext; plain fields hold text.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::domain::ConnectionType;
use crate::error::Error;

#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub id: i64,
    pub workspace_id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub kind: ConnectionType,
    pub needs_rotation: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// One stored field. Exactly one of `value` (plain) and `ciphertext` (secret) is set.
pub struct FieldRow {
    pub code: String,
    pub secret: bool,
    pub value: Option<String>,
    pub ciphertext: Option<Vec<u8>>,
    pub key_version: Option<u32>,
}

const COLUMNS: &str =
    "id, workspace_id, slug, name, description, type, needs_rotation, created_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ConnectionRow> {
    Ok(ConnectionRow {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        slug: row.get(2)?,
        name: row.get(3)?,
        description: row.get(4)?,
        kind: row.get(5)?,
        needs_rotation: row.get(6)?,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

pub fn list(c: &Connection, workspace_id: i64) -> Result<Vec<ConnectionRow>, Error> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM connections WHERE workspace_id = ?1 ORDER BY slug"
    ))?;
    let rows = stmt.query_map([workspace_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Calls `f` with each connection of the workspace in identifier order, without holding them all
/// in memory (a workspace may have 100,000 of them).
pub fn each<E: From<Error>>(
    c: &Connection,
    workspace_id: i64,
    mut f: impl FnMut(ConnectionRow) -> Result<(), E>,
) -> Result<(), E> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM connections WHERE workspace_id = ?1 ORDER BY slug"
        ))
        .map_err(Error::from)?;
    let mut rows = stmt.query([workspace_id]).map_err(Error::from)?;
    while let Some(row) = rows.next().map_err(Error::from)? {
        f(from_row(row).map_err(Error::from)?)?;
    }
    Ok(())
}

pub fn find(c: &Connection, workspace_id: i64, slug: &str) -> Result<Option<ConnectionRow>, Error> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM connections WHERE workspace_id = ?1 AND slug = ?2"
    ))?;
    Ok(stmt
        .query_row(params![workspace_id, slug], from_row)
        .optional()?)
}

pub fn fields(c: &Connection, connection_id: i64) -> Result<Vec<FieldRow>, Error> {
    let mut stmt = c.prepare_cached(
        "SELECT code, secret, value, ciphertext, key_version FROM fields
         WHERE connection_id = ?1 ORDER BY position, code",
    )?;
    let rows = stmt.query_map([connection_id], |row| {
        Ok(FieldRow {
            code: row.get(0)?,
            secret: row.get(1)?,
            value: row.get(2)?,
            ciphertext: row.get(3)?,
            key_version: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn insert(
    c: &Connection,
    workspace_id: i64,
    slug: &str,
    name: &str,
    description: &str,
    kind: ConnectionType,
) -> Result<i64, Error> {
    c.execute(
        "INSERT INTO connections (workspace_id, slug, name, description, type) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![workspace_id, slug, name, description, kind],
    )?;
    Ok(c.last_insert_rowid())
}

/// What to store for one field.
pub enum FieldValue<'a> {
    Plain(&'a str),
    Secret {
        ciphertext: &'a [u8],
        key_version: u32,
    },
}

pub fn set_field(
    c: &Connection,
    connection_id: i64,
    code: &str,
    position: i64,
    value: FieldValue<'_>,
) -> Result<(), Error> {
    let (secret, plain, ciphertext, version) = match value {
        FieldValue::Plain(v) => (false, Some(v), None, None),
        FieldValue::Secret {
            ciphertext,
            key_version,
        } => (true, None, Some(ciphertext), Some(key_version)),
    };
    c.execute(
        "INSERT INTO fields (connection_id, code, position, secret, value, ciphertext, key_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (connection_id, code) DO UPDATE SET
            secret = excluded.secret, value = excluded.value,
            ciphertext = excluded.ciphertext, key_version = excluded.key_version",
        params![
            connection_id,
            code,
            position,
            secret,
            plain,
            ciphertext,
            version
        ],
    )?;
    Ok(())
}

pub fn remove_field(c: &Connection, connection_id: i64, code: &str) -> Result<(), Error> {
    c.execute(
        "DELETE FROM fields WHERE connection_id = ?1 AND code = ?2",
        params![connection_id, code],
    )?;
    Ok(())
}

pub fn update(
    c: &Connection,
    id: i64,
    name: &str,
    description: &str,
    needs_rotation: bool,
) -> Result<(), Error> {
    c.execute(
        "UPDATE connections SET name = ?2, description = ?3, needs_rotation = ?4,
            updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1",
        params![id, name, description, needs_rotation],
    )?;
    Ok(())
}

/// Gives connection `id` a new identifier (the caller checked it is free in the workspace).
pub fn rename(c: &Connection, id: i64, slug: &str) -> Result<(), Error> {
    c.execute(
        "UPDATE connections SET slug = ?2 WHERE id = ?1",
        params![id, slug],
    )?;
    Ok(())
}

/// The stored record MAC, `None` when the row has none.
pub fn mac(c: &Connection, id: i64) -> Result<Option<Vec<u8>>, Error> {
    let mut stmt = c.prepare_cached("SELECT mac FROM connections WHERE id = ?1")?;
    Ok(stmt.query_row([id], |r| r.get(0)).optional()?.flatten())
}

pub fn set_mac(c: &Connection, id: i64, mac: &[u8]) -> Result<(), Error> {
    let mut stmt = c.prepare_cached("UPDATE connections SET mac = ?2 WHERE id = ?1")?;
    stmt.execute(params![id, mac])?;
    Ok(())
}

/// The ids of every connection of a workspace.
pub fn ids(c: &Connection, workspace_id: i64) -> Result<Vec<i64>, Error> {
    let mut stmt = c.prepare("SELECT id FROM connections WHERE workspace_id = ?1")?;
    let rows = stmt.query_map([workspace_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn find_by_id(c: &Connection, id: i64) -> Result<Option<ConnectionRow>, Error> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLUMNS} FROM connections WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

pub fn delete(c: &Connection, id: i64) -> Result<(), Error> {
    c.execute("DELETE FROM connections WHERE id = ?1", [id])?;
    Ok(())
}

pub fn replace_ciphertext(
    c: &Connection,
    connection_id: i64,
    code: &str,
    ciphertext: &[u8],
    key_version: u32,
) -> Result<(), Error> {
    let mut stmt = c.prepare_cached(
        "UPDATE fields SET ciphertext = ?3, key_version = ?4 WHERE connection_id = ?1 AND code = ?2",
    )?;
    stmt.execute(params![connection_id, code, ciphertext, key_version])?;
    Ok(())
}

/// Sets or clears the "rotate at source" mark of one connection.
pub fn set_needs_rotation(c: &Connection, id: i64, needs_rotation: bool) -> Result<(), Error> {
    let mut stmt = c.prepare_cached("UPDATE connections SET needs_rotation = ?2 WHERE id = ?1")?;
    stmt.execute(params![id, needs_rotation])?;
    Ok(())
}

pub fn count(c: &Connection, workspace_id: i64) -> Result<i64, Error> {
    Ok(c.query_row(
        "SELECT count(*) FROM connections WHERE workspace_id = ?1",
        [workspace_id],
        |r| r.get(0),
    )?)
}
