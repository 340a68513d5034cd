//! The one place where an OpenHEXA sync reads and writes local connections, through the access
//! layer: reading opens every secret and checks each record; writing adds or edits connections
//! exactly as `connection add` and `edit` do (secrets sealed, records resealed, roles checked).

use anyhow::Result;
use zeroize::Zeroizing;

use crate::access::{ConnectionEdit, NewConnection, Value, Workspace};
use crate::domain::{ConnectionIdentifier, Secret};
use crate::openhexa::content::{Content, ContentField};
use crate::store::connections::ConnectionRow;

/// The keyed hash of a content, as recorded in the sync state.
pub fn content_hash(ws: &Workspace<'_>, content: &Content) -> Result<Vec<u8>> {
    Ok(ws.sync_hash(&content.canonical_bytes())?)
}

/// Every connection of the workspace with its content in clear, each record checked.
pub fn read_all(ws: &Workspace<'_>) -> Result<Vec<(ConnectionRow, Content)>> {
    let mut out = Vec::new();
    for opened in ws.connections_in_clear()? {
        let fields = opened
            .fields
            .into_iter()
            .map(|(code, secret, value)| ContentField {
                code,
                secret,
                value: Zeroizing::new(value.expose_secret().to_string()),
            })
            .collect();
        let content = Content {
            name: opened.row.name.clone(),
            description: opened.row.description.clone(),
            kind: opened.row.kind,
            fields,
        };
        out.push((opened.row, content));
    }
    Ok(out)
}

fn value_of(field: &ContentField) -> Value {
    if field.secret {
        Value::Secret(Secret::new(field.value.to_string()))
    } else {
        Value::Plain(field.value.to_string())
    }
}

/// Creates connection `slug` with `content` (admin); returns its row.
pub fn create(ws: &Workspace<'_>, slug: &str, content: &Content) -> Result<ConnectionRow> {
    let identifier = ConnectionIdentifier::for_name(Some(slug), &content.name)?;
    ws.add_connection(&NewConnection {
        identifier,
        name: content.name.clone(),
        description: content.description.clone(),
        kind: content.kind,
        fields: content
            .fields
            .iter()
            .map(|f| (f.code.clone(), value_of(f)))
            .collect(),
    })?;
    Ok(ws.connection(slug)?)
}

/// Replaces name, description and the whole field list of `row` (whose content is `old`) with
/// `content` (admin). Only fields whose value or flag changed are written, so a secret that stays
/// the same keeps its "rotate at source" mark.
pub fn replace(
    ws: &Workspace<'_>,
    row: &ConnectionRow,
    old: &Content,
    content: &Content,
) -> Result<()> {
    let unset = ws
        .field_codes(row)?
        .into_iter()
        .map(|(code, _)| code)
        .filter(|code| content.field(code).is_none())
        .collect();
    ws.edit_connection(
        &row.slug,
        row,
        &ConnectionEdit {
            identifier: None,
            name: Some(content.name.clone()),
            description: Some(content.description.clone()),
            set: content
                .fields
                .iter()
                .filter(|f| {
                    old.field(&f.code)
                        .is_none_or(|o| o.secret != f.secret || o.value != f.value)
                })
                .map(|f| (f.code.clone(), value_of(f)))
                .collect(),
            unset,
        },
    )?;
    Ok(())
}
