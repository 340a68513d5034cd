//! Workspace key rotation: a new key pair, every secret re-encrypted, the key re-wrapped for the
//! remaining editors and admins. Runs inside the caller's write transaction, so a crash or error
//! leaves the old key and the old ciphertexts exactly as they were.

use anyhow::Result;
use rusqlite::Connection;

use crate::crypto::{seal_secret, SecretPlace, WorkspaceKey};
use crate::secrets;
use crate::store::connections;
use crate::store::members::{self, WrappedKey};
use crate::store::workspaces::{self, Workspace};

pub struct Rotated {
    pub new_version: u32,
    pub secrets: usize,
    /// Connections marked "rotate at source" (0 unless asked for).
    pub marked: usize,
}

/// Replaces the workspace key. `old` must be the current key; `mark_for_rotation` marks every
/// connection with a secret, for when someone who could read the secrets has lost access.
pub fn rotate_workspace_key(
    tx: &Connection,
    workspace: &Workspace,
    old: &WorkspaceKey,
    mark_for_rotation: bool,
) -> Result<Rotated> {
    // Re-sealing blesses whatever is stored, so every record must pass its check first.
    for id in connections::ids(tx, workspace.id)? {
        if let Some(row) = connections::find_by_id(tx, id)? {
            secrets::verify(tx, workspace, old, &row, &connections::fields(tx, id)?)?;
        }
    }
    let new = WorkspaceKey::generate(old.version() + 1);
    let new_recipient = new.recipient();
    let secrets = connections::secrets_of_workspace(tx, workspace.id)?;
    for stored in &secrets {
        let mut place = SecretPlace {
            workspace_id: workspace.id,
            connection_id: stored.connection_id,
            connection_slug: &stored.connection_slug,
            field_code: &stored.code,
            key_version: stored.key_version,
        };
        let value = old.open_secret(&place, &stored.ciphertext)?;
        place.key_version = new.version();
        let sealed = seal_secret(&new_recipient, &place, &value)?;
        connections::replace_ciphertext(
            tx,
            stored.connection_id,
            &stored.code,
            &sealed,
            new.version(),
        )?;
    }
    for member in members::list(tx, workspace.id)? {
        if member.role.holds_key() {
            let wrapped = WrappedKey {
                bytes: new.wrap_for(workspace.id, &member.recipient)?,
                version: new.version(),
            };
            members::upsert(
                tx,
                workspace.id,
                member.user_id,
                member.role,
                Some(&wrapped),
            )?;
        }
    }
    workspaces::set_key(tx, workspace.id, &new_recipient, new.version())?;
    let marked = if mark_for_rotation {
        connections::mark_secrets_for_rotation(tx, workspace.id)?
    } else {
        0
    };
    // Every record is authenticated again under the new key (the MAC key derives from it).
    for id in connections::ids(tx, workspace.id)? {
        secrets::reseal(tx, workspace.id, &new, id)?;
    }
    Ok(Rotated {
        new_version: new.version(),
        secrets: secrets.len(),
        marked,
    })
}
