//! People known to the store: a name and an age recipient.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::Error;

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub recipient: String,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        recipient: row.get(2)?,
    })
}

pub fn find_by_recipient(c: &Connection, recipient: &str) -> Result<Option<User>, Error> {
    Ok(c.query_row(
        "SELECT id, name, recipient FROM users WHERE recipient = ?1",
        [recipient],
        from_row,
    )
    .optional()?)
}

pub fn find_by_name(c: &Connection, name: &str) -> Result<Option<User>, Error> {
    Ok(c.query_row(
        "SELECT id, name, recipient FROM users WHERE name = ?1",
        [name],
        from_row,
    )
    .optional()?)
}

pub fn insert(c: &Connection, name: &str, recipient: &str) -> Result<User, Error> {
    c.execute(
        "INSERT INTO users (name, recipient) VALUES (?1, ?2)",
        params![name, recipient],
    )?;
    Ok(User {
        id: c.last_insert_rowid(),
        name: name.into(),
        recipient: recipient.into(),
    })
}

/// Gives user `id` a new name (the caller checked that nobody has it).
pub fn rename(c: &Connection, id: i64, name: &str) -> Result<(), Error> {
    c.execute(
        "UPDATE users SET name = ?1 WHERE id = ?2",
        params![name, id],
    )?;
    Ok(())
}
