//! Connections and their fields. Secret fields hold only ciphertext; plain fields hold text.

use super::clock;
use super::engine::{Db, Row};

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
#[derive(Clone)]
pub struct FieldRow {
    pub code: String,
    pub secret: bool,
    pub value: Option<String>,
    pub ciphertext: Option<Vec<u8>>,
    pub key_version: Option<u32>,
}

const COLUMNS: &str =
    "id, workspace_id, slug, name, description, type, needs_rotation, created_at, updated_at";

fn from_row(row: &Row<'_>) -> Result<ConnectionRow, Error> {
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

pub fn list(db: &Db<'_>, workspace_id: i64) -> Result<Vec<ConnectionRow>, Error> {
    db.query_all(
        &format!("SELECT {COLUMNS} FROM connections WHERE workspace_id = ?1 ORDER BY slug"),
        &[&workspace_id],
        from_row,
    )
}

/// Calls `f` with each connection of the workspace in identifier order, without holding them all
/// in memory (a workspace may have 100,000 of them).
pub fn each<E: From<Error>>(
    db: &Db<'_>,
    workspace_id: i64,
    mut f: impl FnMut(ConnectionRow) -> Result<(), E>,
) -> Result<(), E> {
    db.each(
        &format!("SELECT {COLUMNS} FROM connections WHERE workspace_id = ?1 ORDER BY slug"),
        &[&workspace_id],
        |row| f(from_row(row)?),
    )
}

pub fn find(db: &Db<'_>, workspace_id: i64, slug: &str) -> Result<Option<ConnectionRow>, Error> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM connections WHERE workspace_id = ?1 AND slug = ?2"),
        &[&workspace_id, &slug],
        from_row,
    )
}

pub fn fields(db: &Db<'_>, connection_id: i64) -> Result<Vec<FieldRow>, Error> {
    db.query_all(
        "SELECT code, secret, value, ciphertext, key_version FROM fields
         WHERE connection_id = ?1 ORDER BY position, code",
        &[&connection_id],
        |row| {
            Ok(FieldRow {
                code: row.get(0)?,
                secret: row.get(1)?,
                value: row.get(2)?,
                ciphertext: row.get(3)?,
                key_version: row.get(4)?,
            })
        },
    )
}

pub fn insert(
    db: &Db<'_>,
    workspace_id: i64,
    slug: &str,
    name: &str,
    description: &str,
    kind: ConnectionType,
) -> Result<i64, Error> {
    db.insert_returning_id(
        "INSERT INTO connections (workspace_id, slug, name, description, type, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
        &[&workspace_id, &slug, &name, &description, &kind, &clock::now()],
    )
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
    db: &Db<'_>,
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
    db.execute(
        "INSERT INTO fields (connection_id, code, position, secret, value, ciphertext, key_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (connection_id, code) DO UPDATE SET
            secret = excluded.secret, value = excluded.value,
            ciphertext = excluded.ciphertext, key_version = excluded.key_version",
        &[
            &connection_id,
            &code,
            &position,
            &secret,
            &plain,
            &ciphertext,
            &version,
        ],
    )?;
    Ok(())
}

pub fn remove_field(db: &Db<'_>, connection_id: i64, code: &str) -> Result<(), Error> {
    db.execute(
        "DELETE FROM fields WHERE connection_id = ?1 AND code = ?2",
        &[&connection_id, &code],
    )?;
    Ok(())
}

pub fn update(
    db: &Db<'_>,
    id: i64,
    name: &str,
    description: &str,
    needs_rotation: bool,
) -> Result<(), Error> {
    db.execute(
        "UPDATE connections SET name = ?2, description = ?3, needs_rotation = ?4, updated_at = ?5
         WHERE id = ?1",
        &[&id, &name, &description, &needs_rotation, &clock::now()],
    )?;
    Ok(())
}

/// Gives connection `id` a new identifier (the caller checked it is free in the workspace).
pub fn rename(db: &Db<'_>, id: i64, slug: &str) -> Result<(), Error> {
    db.execute(
        "UPDATE connections SET slug = ?2 WHERE id = ?1",
        &[&id, &slug],
    )?;
    Ok(())
}

/// The stored record MAC, `None` when the row has none.
pub fn mac(db: &Db<'_>, id: i64) -> Result<Option<Vec<u8>>, Error> {
    Ok(db
        .query_opt("SELECT mac FROM connections WHERE id = ?1", &[&id], |r| {
            r.get(0)
        })?
        .flatten())
}

pub fn set_mac(db: &Db<'_>, id: i64, mac: &[u8]) -> Result<(), Error> {
    db.execute(
        "UPDATE connections SET mac = ?2 WHERE id = ?1",
        &[&id, &mac],
    )?;
    Ok(())
}

/// The ids of every connection of a workspace.
pub fn ids(db: &Db<'_>, workspace_id: i64) -> Result<Vec<i64>, Error> {
    db.query_all(
        "SELECT id FROM connections WHERE workspace_id = ?1",
        &[&workspace_id],
        |r| r.get(0),
    )
}

pub fn find_by_id(db: &Db<'_>, id: i64) -> Result<Option<ConnectionRow>, Error> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM connections WHERE id = ?1"),
        &[&id],
        from_row,
    )
}

pub fn delete(db: &Db<'_>, id: i64) -> Result<(), Error> {
    db.execute("DELETE FROM connections WHERE id = ?1", &[&id])?;
    Ok(())
}

pub fn replace_ciphertext(
    db: &Db<'_>,
    connection_id: i64,
    code: &str,
    ciphertext: &[u8],
    key_version: u32,
) -> Result<(), Error> {
    db.execute(
        "UPDATE fields SET ciphertext = ?3, key_version = ?4 WHERE connection_id = ?1 AND code = ?2",
        &[&connection_id, &code, &ciphertext, &key_version],
    )?;
    Ok(())
}

/// Sets or clears the "rotate at source" mark of one connection.
pub fn set_needs_rotation(db: &Db<'_>, id: i64, needs_rotation: bool) -> Result<(), Error> {
    db.execute(
        "UPDATE connections SET needs_rotation = ?2 WHERE id = ?1",
        &[&id, &needs_rotation],
    )?;
    Ok(())
}

pub fn count(db: &Db<'_>, workspace_id: i64) -> Result<i64, Error> {
    db.query_one(
        "SELECT count(*) FROM connections WHERE workspace_id = ?1",
        &[&workspace_id],
        |r| r.get(0),
    )
}
