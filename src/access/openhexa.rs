//! What an OpenHEXA sync needs from a workspace, behind the same role checks as everything else:
//! every connection with its values in clear (records checked), keyed hashes of contents made
//! with the workspace key (never plain hashes of secrets), and the `openhexa_sync` links.

use super::Workspace;
use crate::domain::{Action, Secret};
use crate::error::Result;
use crate::store::connections::ConnectionRow;
use crate::store::sync_state::{self, SyncRow};

/// A connection with every field in clear: (code, secret flag, value), in display order.
pub struct InClear {
    pub row: ConnectionRow,
    pub fields: Vec<(String, bool, Secret)>,
}

impl Workspace<'_> {
    /// Every connection, opened for use (editor or admin); each record is checked.
    pub fn connections_in_clear(&self) -> anyhow::Result<Vec<InClear>> {
        self.require(Action::UseSecrets)?;
        let mut rows = Vec::new();
        self.each_connection(|row| {
            rows.push(row);
            Ok(())
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let opened = self.open_for_use(&row.slug)?;
            let flags = self.field_codes(&row)?;
            let fields = opened
                .fields
                .into_iter()
                .map(|(code, value)| {
                    let secret = flags.iter().any(|(c, s)| *c == code && *s);
                    (code, secret, value)
                })
                .collect();
            out.push(InClear { row, fields });
        }
        Ok(out)
    }

    /// A MAC of `content` keyed with the workspace key (editor or admin).
    pub fn sync_hash(&self, content: &[u8]) -> Result<Vec<u8>> {
        self.require(Action::UseSecrets)?;
        Ok(self.key()?.seal_record(content))
    }

    /// The version of the workspace key the hashes are made with.
    pub fn key_version(&self) -> u32 {
        self.row().key_version
    }

    /// The links of this workspace's connections to `server`'s `remote_workspace`.
    pub fn sync_links(&self, server: &str, remote_workspace: &str) -> Result<Vec<SyncRow>> {
        self.require(Action::UseSecrets)?;
        sync_state::for_remote(self.tx, self.row().id, server, remote_workspace)
    }

    /// The server and OpenHEXA workspace a connection is linked to, if any.
    pub fn sync_link_of(&self, connection_id: i64) -> Result<Option<(String, String)>> {
        sync_state::linked_elsewhere(self.tx, connection_id)
    }

    /// Records the link of one connection of this workspace (editor or admin).
    pub fn record_sync(&self, row: &SyncRow) -> Result<()> {
        self.require(Action::UseSecrets)?;
        sync_state::record(self.tx, self.row().id, row)
    }
}
