//! Whole-record checks: each connection record carries a MAC over its canonical encoding, keyed
//! from the workspace key, sealed on every write by a key holder and checked before any key holder
//! uses, reveals or edits the record (docs/SECURITY.md, "Record MAC").

use crate::store::engine::Db;

use crate::crypto::WorkspaceKey;
use crate::error::{Error, Result};
use crate::store::connections::{self, ConnectionRow, FieldRow};

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
    for text in [&row.slug, &row.name, &row.description, row.kind.as_str()] {
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

/// Recomputes and stores the MAC of connection `id` from what the transaction now holds, and
/// returns the record's bytes for its signature. Called after every change to a connection, by
/// someone who holds the workspace key.
pub(super) fn reseal(
    tx: &Db<'_>,
    workspace_id: i64,
    key: &WorkspaceKey,
    id: i64,
) -> Result<Option<Vec<u8>>> {
    let Some(row) = connections::find_by_id(tx, id)? else {
        return Ok(None);
    };
    let fields = connections::fields(tx, id)?;
    let record = record_bytes(workspace_id, &row, &fields);
    connections::set_mac(tx, id, &key.seal_record(&record))?;
    Ok(Some(record))
}

/// Checks an encoded record (see [`record_bytes`]) against its stored MAC. A changed host, a
/// forged or swapped ciphertext, or a missing MAC all fail.
pub(super) fn verify(
    tx: &Db<'_>,
    workspace_slug: &str,
    key: &WorkspaceKey,
    row: &ConnectionRow,
    record: &[u8],
) -> Result<()> {
    let tag = connections::mac(tx, row.id)?.unwrap_or_default();
    if key.check_record(record, &tag) {
        Ok(())
    } else {
        Err(Error::BadRecord(format!("{workspace_slug}/{}", row.slug)))
    }
}
