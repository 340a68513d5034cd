//! People known to the store: a name and an age recipient.

use super::clock;
use super::engine::{Db, Row};
use crate::error::Error;

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub recipient: String,
}

fn from_row(row: &Row<'_>) -> Result<User, Error> {
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        recipient: row.get(2)?,
    })
}

pub fn find_by_recipient(db: &Db<'_>, recipient: &str) -> Result<Option<User>, Error> {
    db.query_opt(
        "SELECT id, name, recipient FROM users WHERE recipient = ?1",
        &[&recipient],
        from_row,
    )
}

pub fn find_by_name(db: &Db<'_>, name: &str) -> Result<Option<User>, Error> {
    db.query_opt(
        "SELECT id, name, recipient FROM users WHERE name = ?1",
        &[&name],
        from_row,
    )
}

pub fn insert(db: &Db<'_>, name: &str, recipient: &str) -> Result<User, Error> {
    let id = db.insert_returning_id(
        "INSERT INTO users (name, recipient, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        &[&name, &recipient, &clock::now()],
    )?;
    Ok(User {
        id,
        name: name.into(),
        recipient: recipient.into(),
    })
}

/// Gives user `id` a new name (the caller checked that nobody has it).
pub fn rename(db: &Db<'_>, id: i64, name: &str) -> Result<(), Error> {
    db.execute("UPDATE users SET name = ?1 WHERE id = ?2", &[&name, &id])?;
    Ok(())
}
