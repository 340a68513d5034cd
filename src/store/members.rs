//! Memberships: who has which role in a workspace, and the workspace key wrapped for them.

use super::engine::{Db, Row};

use crate::domain::Role;
use crate::error::Error;

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub recipient: String,
    pub role: Role,
}

fn from_row(row: &Row<'_>) -> Result<Member, Error> {
    Ok(Member {
        user_id: row.get(0)?,
        name: row.get(1)?,
        recipient: row.get(2)?,
        role: row.get(3)?,
    })
}

const SELECT: &str = "SELECT u.id, u.name, u.recipient, m.role FROM memberships m
                      JOIN users u ON u.id = m.user_id";

pub fn list(db: &Db<'_>, workspace_id: i64) -> Result<Vec<Member>, Error> {
    db.query_all(
        &format!("{SELECT} WHERE m.workspace_id = ?1 ORDER BY u.name"),
        &[&workspace_id],
        from_row,
    )
}

pub fn find(db: &Db<'_>, workspace_id: i64, name: &str) -> Result<Option<Member>, Error> {
    db.query_opt(
        &format!("{SELECT} WHERE m.workspace_id = ?1 AND u.name = ?2"),
        &[&workspace_id, &name],
        from_row,
    )
}

pub fn count_admins(db: &Db<'_>, workspace_id: i64) -> Result<i64, Error> {
    db.query_one(
        "SELECT count(*) FROM memberships WHERE workspace_id = ?1 AND role = 'admin'",
        &[&workspace_id],
        |r| r.get(0),
    )
}

/// The workspace key wrapped for one member, with the key version it was wrapped at.
pub struct WrappedKey {
    pub bytes: Vec<u8>,
    pub version: u32,
}

/// Adds or replaces a membership. `wrapped` must be given exactly for roles that hold the key.
pub fn upsert(
    db: &Db<'_>,
    workspace_id: i64,
    user_id: i64,
    role: Role,
    wrapped: Option<&WrappedKey>,
) -> Result<(), Error> {
    db.execute(
        "INSERT INTO memberships (workspace_id, user_id, role, wrapped_key, key_version)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (workspace_id, user_id) DO UPDATE SET
            role = excluded.role, wrapped_key = excluded.wrapped_key, key_version = excluded.key_version",
        &[
            &workspace_id,
            &user_id,
            &role,
            &wrapped.map(|w| w.bytes.as_slice()),
            &wrapped.map(|w| w.version),
        ],
    )?;
    Ok(())
}

pub fn remove(db: &Db<'_>, workspace_id: i64, user_id: i64) -> Result<(), Error> {
    db.execute(
        "DELETE FROM memberships WHERE workspace_id = ?1 AND user_id = ?2",
        &[&workspace_id, &user_id],
    )?;
    Ok(())
}

/// Every workspace the user belongs to, with their role (for `whoami`).
pub fn of_user(db: &Db<'_>, user_id: i64) -> Result<Vec<(String, Role)>, Error> {
    db.query_all(
        "SELECT w.slug, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
         WHERE m.user_id = ?1 ORDER BY w.slug",
        &[&user_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
}

/// Changes a role between two roles that both hold the key (editor and admin), keeping the wrapped key.
pub fn set_role_keeping_key(
    db: &Db<'_>,
    workspace_id: i64,
    user_id: i64,
    role: Role,
) -> Result<(), Error> {
    db.execute(
        "UPDATE memberships SET role = ?3 WHERE workspace_id = ?1 AND user_id = ?2",
        &[&workspace_id, &user_id, &role],
    )?;
    Ok(())
}
