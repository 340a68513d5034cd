//! Workspaces and the current user's view of them (a workspace is only visible through a membership).

use super::clock;
use super::engine::{Db, Row};

use crate::domain::Role;
use crate::error::Error;

#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub recipient: String,
    pub key_version: u32,
    pub created_at: String,
    pub updated_at: String,
}

/// A workspace seen through the current user's membership.
pub struct Membership {
    pub workspace: Workspace,
    pub role: Role,
    /// The workspace key wrapped for this user; `None` for viewers.
    pub wrapped_key: Option<Vec<u8>>,
}

const COLUMNS: &str =
    "w.id, w.slug, w.name, w.description, w.recipient, w.key_version, w.created_at, w.updated_at";

fn workspace_from(row: &Row<'_>) -> Result<Workspace, Error> {
    Ok(Workspace {
        id: row.get(0)?,
        slug: row.get(1)?,
        name: row.get(2)?,
        description: row.get(3)?,
        recipient: row.get(4)?,
        key_version: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

pub fn membership(db: &Db<'_>, slug: &str, user_id: i64) -> Result<Option<Membership>, Error> {
    let sql = format!(
        "SELECT {COLUMNS}, m.role, m.wrapped_key FROM workspaces w
         JOIN memberships m ON m.workspace_id = w.id
         WHERE w.slug = ?1 AND m.user_id = ?2"
    );
    db.query_opt(&sql, &[&slug, &user_id], |row| {
        Ok(Membership {
            workspace: workspace_from(row)?,
            role: row.get(8)?,
            wrapped_key: row.get(9)?,
        })
    })
}

/// One line of `workspace list`.
pub struct Listed {
    pub workspace: Workspace,
    pub role: Role,
    pub connections: i64,
    pub members: i64,
}

pub fn list_for_user(db: &Db<'_>, user_id: i64) -> Result<Vec<Listed>, Error> {
    let sql = format!(
        "SELECT {COLUMNS}, m.role,
            (SELECT count(*) FROM connections x WHERE x.workspace_id = w.id),
            (SELECT count(*) FROM memberships y WHERE y.workspace_id = w.id)
         FROM workspaces w JOIN memberships m ON m.workspace_id = w.id
         WHERE m.user_id = ?1 ORDER BY w.slug"
    );
    db.query_all(&sql, &[&user_id], |row| {
        Ok(Listed {
            workspace: workspace_from(row)?,
            role: row.get(8)?,
            connections: row.get(9)?,
            members: row.get(10)?,
        })
    })
}

pub fn slug_taken(db: &Db<'_>, slug: &str) -> Result<bool, Error> {
    Ok(db
        .query_opt("SELECT 1 FROM workspaces WHERE slug = ?1", &[&slug], |_| {
            Ok(())
        })?
        .is_some())
}

pub fn insert(
    db: &Db<'_>,
    slug: &str,
    name: &str,
    description: &str,
    recipient: &str,
    key_version: u32,
) -> Result<i64, Error> {
    let now = clock::now();
    db.insert_returning_id(
        "INSERT INTO workspaces (slug, name, description, recipient, key_version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
        &[&slug, &name, &description, &recipient, &key_version, &now],
    )
}

pub fn update(db: &Db<'_>, id: i64, name: &str, description: &str) -> Result<(), Error> {
    db.execute(
        "UPDATE workspaces SET name = ?2, description = ?3, updated_at = ?4 WHERE id = ?1",
        &[&id, &name, &description, &clock::now()],
    )?;
    Ok(())
}

pub fn set_key(db: &Db<'_>, id: i64, recipient: &str, key_version: u32) -> Result<(), Error> {
    db.execute(
        "UPDATE workspaces SET recipient = ?2, key_version = ?3, updated_at = ?4 WHERE id = ?1",
        &[&id, &recipient, &key_version, &clock::now()],
    )?;
    Ok(())
}

pub fn delete(db: &Db<'_>, id: i64) -> Result<(), Error> {
    db.execute("DELETE FROM workspaces WHERE id = ?1", &[&id])?;
    Ok(())
}
