//! Connection fields between memory and the store: plain values as text, secret values sealed to
//! the workspace recipient before they are written, and opened (and checked against their place)
//! only when the caller may and wants to see them.

use crate::store::engine::Db;

use crate::crypto::{seal_secret, SecretPlace, WorkspaceKey};
use crate::domain::Secret;
use crate::error::Result;
use crate::store::connections::{self, ConnectionRow, FieldRow, FieldValue as Stored};
use crate::store::workspaces::Workspace as WorkspaceRow;

/// A field value in memory.
pub enum Value {
    Plain(String),
    Secret(Secret),
    /// A secret that was not decrypted (the caller did not ask, or may not).
    Hidden,
}

pub struct Field {
    pub code: String,
    pub secret: bool,
    pub value: Value,
}

/// Where one field is written: its connection and its display position.
pub(super) struct Slot<'a> {
    pub connection_id: i64,
    pub connection_slug: &'a str,
    pub code: &'a str,
    pub position: i64,
}

/// Writes one field: plain as text, secret sealed to `recipient` (the workspace key the verified
/// log names).
pub(super) fn store(
    tx: &Db<'_>,
    workspace: &WorkspaceRow,
    recipient: &str,
    slot: &Slot<'_>,
    value: &Value,
) -> Result<()> {
    let stored = match value {
        Value::Plain(text) => {
            return connections::set_field(
                tx,
                slot.connection_id,
                slot.code,
                slot.position,
                Stored::Plain(text),
            )
        }
        Value::Secret(secret) => secret,
        Value::Hidden => return Ok(()),
    };
    let place = SecretPlace {
        workspace_id: workspace.id,
        connection_id: slot.connection_id,
        connection_slug: slot.connection_slug,
        field_code: slot.code,
        key_version: workspace.key_version,
    };
    let sealed = seal_secret(recipient, &place, stored.expose_secret())?;
    connections::set_field(
        tx,
        slot.connection_id,
        slot.code,
        slot.position,
        Stored::Secret {
            ciphertext: &sealed,
            key_version: workspace.key_version,
        },
    )?;
    Ok(())
}

/// Turns stored rows into fields, decrypting every secret with `key` when one is given. All or
/// nothing: the first secret that fails its check fails the whole call.
pub(super) fn open(
    key: Option<&WorkspaceKey>,
    workspace: &WorkspaceRow,
    row: &ConnectionRow,
    stored: Vec<FieldRow>,
) -> Result<Vec<Field>> {
    let mut fields = Vec::with_capacity(stored.len());
    for f in stored {
        let value = match (f.secret, key) {
            (false, _) => Value::Plain(f.value.unwrap_or_default()),
            (true, None) => Value::Hidden,
            (true, Some(key)) => {
                let place = SecretPlace {
                    workspace_id: workspace.id,
                    connection_id: row.id,
                    connection_slug: &row.slug,
                    field_code: &f.code,
                    key_version: f.key_version.unwrap_or(0),
                };
                Value::Secret(key.open_secret(&place, f.ciphertext.as_deref().unwrap_or_default())?)
            }
        };
        fields.push(Field {
            code: f.code,
            secret: f.secret,
            value,
        });
    }
    Ok(fields)
}
