//! Connection fields between memory and the store: plain values as text, secret values sealed to
//! the workspace recipient before they are written and opened (and checked) only when asked for.

use anyhow::Result;
use rusqlite::Connection;
use secrecy::SecretString;

use crate::crypto::{seal_secret, CryptoError, SecretPlace, WorkspaceKey};
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

/// The canonical bytes a record MAC covers: the workspace, the connection's identity, name,
/// description, type and rotation mark, and every field (code, secret flag, key version, value or
/// ciphertext) in code order. Timestamps and display order are left out. Every piece is
/// length-prefixed, so no two records encode alike.
pub fn record_bytes(workspace_id: i64, row: &ConnectionRow, fields: &[FieldRow]) -> Vec<u8> {
    fn piece(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut out = b"ohx-record\x01".to_vec();
    out.extend_from_slice(&workspace_id.to_be_bytes());
    out.extend_from_slice(&row.id.to_be_bytes());
    for text in [&row.slug, &row.name, &row.description, &row.kind] {
        piece(&mut out, text.as_bytes());
    }
    out.push(u8::from(row.needs_rotation));
    let mut sorted: Vec<&FieldRow> = fields.iter().collect();
    sorted.sort_by(|a, b| a.code.cmp(&b.code));
    out.extend_from_slice(&(sorted.len() as u64).to_be_bytes());
    for f in sorted {
        piece(&mut out, f.code.as_bytes());
        out.push(u8::from(f.secret));
        out.extend_from_slice(&f.key_version.unwrap_or(0).to_be_bytes());
        match (&f.value, &f.ciphertext) {
            (Some(v), _) => piece(&mut out, v.as_bytes()),
            (None, Some(c)) => piece(&mut out, c),
            (None, None) => piece(&mut out, b""),
        }
    }
    out
}

/// Recomputes and stores the MAC of connection `id` from what the transaction now holds. Called
/// after every change to a connection, by someone who holds the workspace key.
pub fn reseal(tx: &Connection, workspace_id: i64, key: &WorkspaceKey, id: i64) -> Result<()> {
    let Some(row) = connections::find_by_id(tx, id)? else {
        return Ok(());
    };
    let fields = connections::fields(tx, id)?;
    connections::set_mac(
        tx,
        id,
        &key.seal_record(&record_bytes(workspace_id, &row, &fields)),
    )?;
    Ok(())
}

/// Checks a connection's record against its MAC before it is used, revealed or edited. A changed
/// host, a forged or swapped ciphertext, or a missing MAC all fail.
pub fn verify(
    tx: &Connection,
    workspace: &Workspace,
    key: &WorkspaceKey,
    row: &ConnectionRow,
    fields: &[FieldRow],
) -> Result<()> {
    verify_bytes(
        tx,
        workspace,
        key,
        row,
        &record_bytes(workspace.id, row, fields),
    )
}

/// [`verify`] for a record already encoded with [`record_bytes`].
pub fn verify_bytes(
    tx: &Connection,
    workspace: &Workspace,
    key: &WorkspaceKey,
    row: &ConnectionRow,
    record: &[u8],
) -> Result<()> {
    let tag = connections::mac(tx, row.id)?.unwrap_or_default();
    if key.check_record(record, &tag) {
        Ok(())
    } else {
        Err(CryptoError::BadRecord(format!("{}/{}", workspace.slug, row.slug)).into())
    }
}
