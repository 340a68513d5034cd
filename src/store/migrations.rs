//! Schema migrations: an append-only list keyed on `PRAGMA user_version`, run in one transaction.
//!
//! Never edit a migration that has shipped; add a new one. A store whose version is above
//! [`LATEST`] was written by a newer ohx and is refused without a write.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::Error;

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: users, workspaces, memberships, connections and their fields.
    "CREATE TABLE users (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        name       TEXT NOT NULL UNIQUE,
        recipient  TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE workspaces (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        slug        TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        recipient   TEXT NOT NULL,
        key_version INTEGER NOT NULL,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE memberships (
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role         TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
        wrapped_key  BLOB,
        key_version  INTEGER,
        PRIMARY KEY (workspace_id, user_id),
        CHECK ((role = 'viewer') = (wrapped_key IS NULL))
    ) WITHOUT ROWID;
    CREATE INDEX memberships_by_user ON memberships(user_id);
    CREATE TABLE connections (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace_id   INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        slug           TEXT NOT NULL,
        name           TEXT NOT NULL,
        description    TEXT NOT NULL DEFAULT '',
        type           TEXT NOT NULL,
        needs_rotation INTEGER NOT NULL DEFAULT 0,
        mac            BLOB,
        created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        UNIQUE (workspace_id, slug)
    );
    CREATE TABLE fields (
        connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        code          TEXT NOT NULL,
        position      INTEGER NOT NULL,
        secret        INTEGER NOT NULL CHECK (secret IN (0, 1)),
        value         TEXT,
        ciphertext    BLOB,
        key_version   INTEGER,
        PRIMARY KEY (connection_id, code),
        CHECK ((secret = 1) = (ciphertext IS NOT NULL AND value IS NULL))
    ) WITHOUT ROWID;",
    // 2: the signed log of every workspace (one canonical entry per row, numbered from its
    // genesis), and the admin's signature over each connection record (docs/SECURITY.md).
    "CREATE TABLE authority_log (
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        seq          INTEGER NOT NULL CHECK (seq >= 0),
        entry        BLOB NOT NULL,
        PRIMARY KEY (workspace_id, seq)
    ) WITHOUT ROWID;
    ALTER TABLE connections ADD COLUMN signature BLOB;",
    // 3: the link of a local connection to an OpenHEXA one, as of their last sync
    // (`ohx openhexa pull|push`): the server's id, slug and updatedAt, and keyed hashes of both
    // sides' content then, made with the workspace key of `key_version`.
    "CREATE TABLE openhexa_sync (
        connection_id     INTEGER PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
        workspace_id      INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        server            TEXT NOT NULL,
        remote_workspace  TEXT NOT NULL,
        remote_id         TEXT NOT NULL,
        remote_slug       TEXT NOT NULL,
        remote_updated_at TEXT NOT NULL,
        key_version       INTEGER NOT NULL,
        local_hash        BLOB NOT NULL,
        remote_hash       BLOB NOT NULL,
        synced_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        UNIQUE (workspace_id, server, remote_id)
    );",
];

/// The schema version this ohx writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Brings the schema up to [`LATEST`], refusing a newer store untouched.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), Error> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(Error::StoreNewer {
            path: path.into(),
            found: current,
            known: LATEST,
        });
    }
    if current == LATEST {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while this one waited for the lock.
    let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(Error::StoreNewer {
            path: path.into(),
            found: current,
            known: LATEST,
        });
    }
    for sql in &MIGRATIONS[current as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {LATEST}"))?;
    tx.commit()?;
    Ok(())
}
