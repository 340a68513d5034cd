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
    let new = WorkspaceKey::generate(old.version() + 1);
    let new_recipient = new.recipient();
    let (mut secrets_count, mut marked) = (0, 0);
    // One connection at a time, so memory stays flat however many secrets the workspace holds.
    for id in connections::ids(tx, workspace.id)? {
        let Some(row) = connections::find_by_id(tx, id)? else {
            continue;
        };
        let fields = connections::fields(tx, id)?;
        // Re-sealing blesses whatever is stored, so the record must pass its check first.
        secrets::verify(tx, workspace, old, &row, &fields)?;
        let mut has_secret = false;
        for field in fields.iter().filter(|f| f.secret) {
            has_secret = true;
            let mut place = SecretPlace {
                workspace_id: workspace.id,
                connection_id: id,
                connection_slug: &row.slug,
                field_code: &field.code,
                key_version: field.key_version.unwrap_or(0),
            };
            let value = old.open_secret(&place, field.ciphertext.as_deref().unwrap_or_default())?;
            place.key_version = new.version();
            let sealed = seal_secret(&new_recipient, &place, &value)?;
            connections::replace_ciphertext(tx, id, &field.code, &sealed, new.version())?;
            secrets_count += 1;
        }
        if mark_for_rotation && has_secret {
            connections::set_needs_rotation(tx, id, true)?;
            marked += 1;
        }
        // The MAC key derives from the workspace key, so every record is sealed again.
        secrets::reseal(tx, workspace.id, &new, id)?;
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
    Ok(Rotated {
        new_version: new.version(),
        secrets: secrets_count,
        marked,
    })
}
