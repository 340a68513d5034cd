//! Connection fields between memory and the store: plain values as text, secret values sealed to
//! the workspace recipient before they are written and opened (and checked) only when asked for.

use anyhow::Result;
use rusqlite::Connection;
use secrecy::SecretString;

use crate::crypto::{seal_secret, SecretPlace, WorkspaceKey};
use crate::error::Fail;
use crate::store::connections::{self, ConnectionRow, FieldRow, FieldValue as Stored};
use crate::store::workspaces::Workspace;

/// A field value in memory.
pub enum Value {
    Plain(String),
    Secret(SecretString),
    /// A secret that was not decrypted (the caller did not ask, or may not).
    Hidden,
}

pub struct Field {
    pub code: String,
    pub secret: bool,
    pub value: Value,
}

/// `WORKSPACE/IDENTIFIER` or `IDENTIFIER`.
pub fn split_reference(reference: &str) -> (Option<&str>, &str) {
    match reference.split_once('/') {
        Some((ws, id)) => (Some(ws), id),
        None => (None, reference),
    }
}

/// The connection `slug` of `workspace`, or a not-found error naming both.
pub fn find(conn: &Connection, workspace: &Workspace, slug: &str) -> Result<ConnectionRow> {
    connections::find(conn, workspace.id, slug)?.ok_or_else(|| {
        Fail::not_found(format!(
            "no connection '{slug}' in workspace '{}'",
            workspace.slug
        ))
        .hint(format!(
            "see them with `ohx connection list -w {}`",
            workspace.slug
        ))
        .into()
    })
}

/// Writes one field: plain as text, secret sealed to the workspace's current key.
pub fn store(
    tx: &Connection,
    workspace: &Workspace,
    row: (i64, &str),
    code: &str,
    position: i64,
    value: &Value,
) -> Result<()> {
    let (connection_id, connection_slug) = row;
    match value {
        Value::Plain(text) => {
            connections::set_field(tx, connection_id, code, position, Stored::Plain(text))?
        }
        Value::Secret(secret) => {
            let place = SecretPlace {
                workspace_id: workspace.id,
                connection_id,
                connection_slug,
                field_code: code,
                key_version: workspace.key_version,
            };
            let sealed = seal_secret(&workspace.recipient, &place, secret)?;
            connections::set_field(
                tx,
                connection_id,
                code,
                position,
                Stored::Secret {
                    ciphertext: &sealed,
                    key_version: workspace.key_version,
                },
            )?;
        }
        Value::Hidden => {}
    }
    Ok(())
}

/// Turns stored rows into fields, decrypting every secret with `key` when one is given. All or
/// nothing: the first secret that fails its check fails the whole call.
pub fn open(
    key: Option<&WorkspaceKey>,
    workspace: &Workspace,
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
