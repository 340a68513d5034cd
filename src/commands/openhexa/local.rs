//! The one place where an OpenHEXA sync reads and writes local connections, with today's store
//! functions: reading opens every secret and checks the record's MAC; writing seals secrets to
//! the workspace key and reseals the record, exactly as `connection add` and `edit` do.

use anyhow::Result;
use rusqlite::Connection;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::crypto::WorkspaceKey;
use crate::domain::ConnectionType;
use crate::openhexa::content::{Content, ContentField};
use crate::secrets::{self, Value};
use crate::store::connections::{self, ConnectionRow};
use crate::store::workspaces::Workspace;

/// The keyed hash of a content, as recorded in the sync state.
pub fn content_hash(key: &WorkspaceKey, content: &Content) -> Vec<u8> {
    key.seal_record(&content.canonical_bytes())
}

/// Every connection of the workspace with its content in clear, each record checked.
pub fn read_all(
    tx: &Connection,
    ws: &Workspace,
    key: &WorkspaceKey,
) -> Result<Vec<(ConnectionRow, Content)>> {
    let mut out = Vec::new();
    for row in connections::list(tx, ws.id)? {
        let stored = connections::fields(tx, row.id)?;
        let record = secrets::record_bytes(ws.id, &row, &stored);
        let fields = secrets::open(Some(key), ws, &row, stored)?;
        secrets::verify_bytes(tx, ws, key, &row, &record)?;
        let kind = ConnectionType::parse(&row.kind)?;
        let fields = fields
            .into_iter()
            .map(|f| ContentField {
                code: f.code,
                secret: f.secret,
                value: match f.value {
                    Value::Plain(v) => Zeroizing::new(v),
                    Value::Secret(s) => Zeroizing::new(s.expose_secret().to_string()),
                    Value::Hidden => Zeroizing::new(String::new()),
                },
            })
            .collect();
        let content = Content {
            name: row.name.clone(),
            description: row.description.clone(),
            kind,
            fields,
        };
        out.push((row, content));
    }
    Ok(out)
}

fn value_of(field: &ContentField) -> Value {
    if field.secret {
        Value::Secret(SecretString::from(field.value.to_string()))
    } else {
        Value::Plain(field.value.to_string())
    }
}

/// Creates connection `slug` with `content`; returns its id.
pub fn create(
    tx: &Connection,
    ws: &Workspace,
    key: &WorkspaceKey,
    slug: &str,
    content: &Content,
) -> Result<i64> {
    let id = connections::insert(
        tx,
        ws.id,
        slug,
        &content.name,
        &content.description,
        content.kind.as_str(),
    )?;
    for (position, field) in content.fields.iter().enumerate() {
        secrets::store(
            tx,
            ws,
            (id, slug),
            &field.code,
            position as i64,
            &value_of(field),
        )?;
    }
    secrets::reseal(tx, ws.id, key, id)?;
    Ok(id)
}

/// Replaces name, description and the whole field list of `row` with `content`.
pub fn replace(
    tx: &Connection,
    ws: &Workspace,
    key: &WorkspaceKey,
    row: &ConnectionRow,
    content: &Content,
) -> Result<()> {
    for old in connections::fields(tx, row.id)? {
        if content.field(&old.code).is_none() {
            connections::remove_field(tx, row.id, &old.code)?;
        }
    }
    for (position, field) in content.fields.iter().enumerate() {
        secrets::store(
            tx,
            ws,
            (row.id, &row.slug),
            &field.code,
            position as i64,
            &value_of(field),
        )?;
    }
    connections::update(
        tx,
        row.id,
        &content.name,
        &content.description,
        row.needs_rotation,
    )?;
    secrets::reseal(tx, ws.id, key, row.id)?;
    Ok(())
}
