//! `ohx connection ...`: add, list, show, edit, delete; `test` lives in its own module.

mod add;
mod copy;
mod edit;
mod export;
mod input;
mod test;
pub mod types;
mod use_secrets;

pub use use_secrets::open_for_use;

use anyhow::Result;
use serde_json::json;

use crate::access::{ConnectionView, Field, Value};
use crate::cli::ConnectionCommand;
use crate::commands::confirm_or_yes;
use crate::domain::Action;
use crate::output;
use crate::session::Session;
use crate::store::connections::ConnectionRow;

pub fn run(session: &mut Session, command: ConnectionCommand) -> Result<()> {
    match command {
        ConnectionCommand::Add(args) => add::run(session, args),
        ConnectionCommand::List => list(session),
        ConnectionCommand::Types => types::run(session.globals.json),
        ConnectionCommand::Copy { id, new } => copy::run(session, &id, &new),
        ConnectionCommand::Show { id, reveal } => show(session, &id, reveal),
        ConnectionCommand::Edit(args) => edit::run(session, args),
        ConnectionCommand::Delete { id, yes } => delete(session, &id, yes),
        ConnectionCommand::Get {
            id,
            field,
            no_newline,
        } => use_secrets::get(session, &id, &field, no_newline),
        ConnectionCommand::Env {
            ids,
            format,
            native,
            output,
        } => use_secrets::env(session, &ids, format, native, output.as_deref()),
        ConnectionCommand::Url { id } => use_secrets::url(session, &id),
        ConnectionCommand::Test { ids, timeout } => test::run(session, &ids, timeout),
        ConnectionCommand::Export {
            ids,
            format,
            output,
        } => export::run(session, &ids, &format, output.as_deref()),
    }
}

/// The rotation mark as people read it.
const ROTATE_MARK: &str = "rotate at source";

fn summary_json(workspace: &str, row: &ConnectionRow) -> serde_json::Value {
    json!({
        "workspace": workspace,
        "identifier": row.slug,
        "name": row.name,
        "type": row.kind.as_str(),
        "description": row.description,
        "needs_rotation": row.needs_rotation,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

/// Longest list shown as a boxed table on a terminal; longer lists, and every list sent to a
/// program, are streamed as plain columns so memory stays flat however large the workspace.
const TABLE_MAX_ROWS: usize = 500;

fn list(session: &mut Session) -> Result<()> {
    let slug = session.workspace_slug(None)?;
    let json = session.globals.json;
    let printer = session.printer;
    session.access.read(&slug, Action::ListConnections, |ws| {
        if json {
            return output::json_array(|emit| {
                ws.each_connection(|row| emit(summary_json(&slug, &row)))
            });
        }
        // A first pass sizes the columns; the NOTE column appears only when some connection
        // needs rotating, so that it stands out.
        let mut header = vec!["IDENTIFIER", "NAME", "TYPE", "DESCRIPTION", "NOTE"];
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        let (mut count, mut any_marked) = (0usize, false);
        ws.each_connection(|row| {
            for (width, cell) in widths.iter_mut().zip(cells(&row, true)) {
                *width = (*width).max(cell.chars().count());
            }
            count += 1;
            any_marked |= row.needs_rotation;
            Ok(())
        })?;
        if count == 0 {
            printer.notice(&format!(
                "No connections in '{slug}' yet; add one with `ohx connection add TYPE`."
            ));
            return Ok(());
        }
        if !any_marked {
            header.pop();
            widths.pop();
        }
        if output::stdout_is_terminal() && count <= TABLE_MAX_ROWS {
            let mut rows = Vec::with_capacity(count);
            ws.each_connection(|row| {
                rows.push(cells(&row, any_marked));
                Ok(())
            })?;
            return output::table(&header, rows);
        }
        output::plain_columns(&header, &widths, |emit| {
            ws.each_connection(|row| emit(&cells(&row, any_marked)))
        })
    })
}

/// The cells of one line of `connection list`.
fn cells(row: &ConnectionRow, with_note: bool) -> Vec<String> {
    let mut cells = vec![
        row.slug.clone(),
        row.name.clone(),
        row.kind.to_string(),
        row.description.clone(),
    ];
    if with_note {
        let mark = if row.needs_rotation { ROTATE_MARK } else { "" };
        cells.push(mark.to_string());
    }
    cells
}

fn show(session: &mut Session, reference: &str, reveal: bool) -> Result<()> {
    let (slug, id) = session.resolve(reference)?;
    let ConnectionView { row, fields } = session
        .access
        .read(&slug, Action::ShowFields, |ws| Ok(ws.view(&id, reveal)?))?;
    if session.globals.json {
        let mut v = summary_json(&slug, &row);
        v["fields"] = fields
            .iter()
            .map(|f| json!({"code": f.code, "secret": f.secret, "value": shown(f)}))
            .collect();
        return output::json(&v);
    }
    let mut pairs = vec![
        ("identifier", row.slug.clone()),
        ("name", row.name.clone()),
        ("type", row.kind.to_string()),
        ("workspace", slug),
    ];
    if !row.description.is_empty() {
        pairs.push(("description", row.description.clone()));
    }
    if row.needs_rotation {
        pairs.push((
            "note",
            format!("{ROTATE_MARK}: someone who could read these secrets lost access"),
        ));
    }
    pairs.push(("updated", row.updated_at.clone()));
    output::details(&pairs)?;
    output::write_stdout("\n")?;
    let field_pairs: Vec<(&str, String)> =
        fields.iter().map(|f| (f.code.as_str(), shown(f))).collect();
    output::details(&field_pairs)
}

/// A field's value as `show` prints it: secrets masked unless revealed.
fn shown(field: &Field) -> String {
    match &field.value {
        Value::Plain(v) => v.clone(),
        Value::Secret(s) => s.expose_secret().to_string(),
        Value::Hidden => output::MASK.to_string(),
    }
}

fn delete(session: &mut Session, reference: &str, yes: bool) -> Result<()> {
    let (slug, id) = session.resolve(reference)?;
    session
        .access
        .read(&slug, Action::ManageConnections, |ws| {
            ws.connection(&id)?;
            Ok(())
        })?;
    confirm_or_yes(
        &session.globals,
        yes,
        &format!("Delete connection '{id}' from '{slug}'? This cannot be undone"),
        &format!("ohx connection delete {slug}/{id}"),
    )?;
    session
        .access
        .write(&slug, Action::ManageConnections, |ws| {
            Ok(ws.delete_connection(&id)?)
        })?;
    session.printer.changed(
        &json!({"workspace": slug, "identifier": id, "deleted": true}),
        &format!("Deleted connection '{id}' from '{slug}'."),
    )
}
