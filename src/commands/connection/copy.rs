//! `ohx connection copy ID NEW`: the same connection, fields and secrets, under another
//! identifier, in the same workspace or another one (`NEW` as `WORKSPACE/IDENTIFIER`, or `-w`).

use anyhow::Result;

use crate::access::{ConnectionView, NewConnection};
use crate::domain::{env, Action, ConnectionIdentifier};
use crate::session::Session;

/// Copies `from` to `to`: reading its secrets needs the editor role where it is, adding the
/// copy the admin role where it goes. The secrets are sealed again to the copy's own place.
pub fn run(session: &mut Session, from: &str, to: &str) -> Result<()> {
    let (from_ws, from_id) = session.resolve(from)?;
    let (to_ws, to_id) = session.resolve(to)?;
    let identifier = ConnectionIdentifier::for_name(Some(&to_id), &to_id)?;
    // Refuse before decrypting anything when the copy could not be added.
    session
        .access
        .read(&to_ws, Action::ManageConnections, |_| Ok(()))?;
    let ConnectionView { row, fields } =
        session.access.read(&from_ws, Action::UseSecrets, |ws| {
            Ok(ws.view(&from_id, true)?)
        })?;
    let codes: Vec<&str> = fields.iter().map(|f| f.code.as_str()).collect();
    env::check_names(&identifier, &codes)?;
    let new = NewConnection {
        identifier,
        name: row.name.clone(),
        description: row.description.clone(),
        kind: row.kind,
        fields: fields.into_iter().map(|f| (f.code, f.value)).collect(),
    };
    session
        .access
        .write(&to_ws, Action::ManageConnections, |ws| {
            Ok(ws.add_connection(&new)?)
        })?;
    if row.needs_rotation {
        session.printer.notice(&format!(
            "note: '{from_ws}/{from_id}' is marked \"rotate at source\", and the copy holds the same secrets: change them where they are issued"
        ));
    }
    let copied = session.access.read(&to_ws, Action::ListConnections, |ws| {
        Ok(ws.connection(&new.identifier)?)
    })?;
    session.printer.changed(
        &super::summary_json(&to_ws, &copied),
        &format!(
            "Copied '{from_ws}/{from_id}' to '{to_ws}/{}'.",
            new.identifier
        ),
    )
}
