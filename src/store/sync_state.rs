//! The `openhexa_sync` table: for each local connection synced with OpenHEXA, the server's id,
//! slug and `updatedAt`, and keyed hashes of both sides' content at the last sync.

use super::clock;
use super::engine::Db;

use crate::error::Error as StoreError;

/// One row. The hashes are MACs made with the workspace key of `key_version`, never plain
/// hashes of content that holds secrets.
#[derive(Debug, Clone)]
pub struct SyncRow {
    pub connection_id: i64,
    pub server: String,
    pub remote_workspace: String,
    pub remote_id: String,
    pub remote_slug: String,
    pub remote_updated_at: String,
    pub key_version: u32,
    pub local_hash: Vec<u8>,
    pub remote_hash: Vec<u8>,
}

/// Every row of a workspace linked to `server`'s `remote_workspace`.
pub fn for_remote(
    db: &Db<'_>,
    workspace_id: i64,
    server: &str,
    remote_workspace: &str,
) -> Result<Vec<SyncRow>, StoreError> {
    db.query_all(
        "SELECT connection_id, server, remote_workspace, remote_id, remote_slug, remote_updated_at,
                key_version, local_hash, remote_hash
         FROM openhexa_sync WHERE workspace_id = ?1 AND server = ?2 AND remote_workspace = ?3",
        &[&workspace_id, &server, &remote_workspace],
        |r| {
            Ok(SyncRow {
                connection_id: r.get(0)?,
                server: r.get(1)?,
                remote_workspace: r.get(2)?,
                remote_id: r.get(3)?,
                remote_slug: r.get(4)?,
                remote_updated_at: r.get(5)?,
                key_version: r.get(6)?,
                local_hash: r.get(7)?,
                remote_hash: r.get(8)?,
            })
        },
    )
}

/// The server a connection is linked to, if any (to keep links to other servers apart).
pub fn linked_elsewhere(
    db: &Db<'_>,
    connection_id: i64,
) -> Result<Option<(String, String)>, StoreError> {
    db.query_opt(
        "SELECT server, remote_workspace FROM openhexa_sync WHERE connection_id = ?1",
        &[&connection_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Records (or replaces) the link of one connection.
pub fn record(db: &Db<'_>, workspace_id: i64, row: &SyncRow) -> Result<(), StoreError> {
    // A server connection linked to another local one (pruned and made again) loses that link.
    db.execute(
        "DELETE FROM openhexa_sync WHERE workspace_id = ?1 AND server = ?2 AND remote_id = ?3
            AND connection_id != ?4",
        &[
            &workspace_id,
            &row.server,
            &row.remote_id,
            &row.connection_id,
        ],
    )?;
    db.execute(
        "INSERT INTO openhexa_sync (connection_id, workspace_id, server, remote_workspace, remote_id,
            remote_slug, remote_updated_at, key_version, local_hash, remote_hash, synced_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (connection_id) DO UPDATE SET
            workspace_id = excluded.workspace_id, server = excluded.server,
            remote_workspace = excluded.remote_workspace, remote_id = excluded.remote_id,
            remote_slug = excluded.remote_slug, remote_updated_at = excluded.remote_updated_at,
            key_version = excluded.key_version, local_hash = excluded.local_hash,
            remote_hash = excluded.remote_hash, synced_at = excluded.synced_at",
        &[
            &row.connection_id,
            &workspace_id,
            &row.server,
            &row.remote_workspace,
            &row.remote_id,
            &row.remote_slug,
            &row.remote_updated_at,
            &row.key_version,
            &row.local_hash,
            &row.remote_hash,
            &clock::now(),
        ],
    )?;
    Ok(())
}

/// Forgets the link of one connection.
pub fn forget(db: &Db<'_>, connection_id: i64) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM openhexa_sync WHERE connection_id = ?1",
        &[&connection_id],
    )?;
    Ok(())
}
