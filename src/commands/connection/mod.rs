//! `ohx connection ...`: add, list, show, edit, delete.

mod add;
mod edit;
mod input;
mod use_secrets;

use anyhow::Result;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::cli::ConnectionCommand;
use crate::commands::confirm_or_yes;
use crate::domain::Action;
use crate::output;
use crate::secrets::{self, split_reference, Field, Value};
use crate::session::Session;
use crate::store::connections::{self, ConnectionRow};
use crate::store::workspaces::Workspace;

pub fn run(session: &mut Session, command: ConnectionCommand) -> Result<()> {
    match command {
        ConnectionCommand::Add(args) => add::run(session, args),
        ConnectionCommand::List => list(session),
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
        } => use_secrets::env(session, &ids, &format, native),
        ConnectionCommand::Url { id } => use_secrets::url(session, &id),
    }
}

/// The rotation mark as people read it.
const ROTATE_MARK: &str = "rotate at source";

fn summary_json(ws: &Workspace, row: &ConnectionRow) -> serde_json::Value {
    json!({
        "workspace": ws.slug,
        "identifier": row.slug,
        "name": row.name,
        "type": row.kind,
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
    let conn = session.store.conn();
    let ws = session
        .me
        .membership(conn, &slug, Action::ListConnections)?
        .workspace;
    if session.globals.json {
        return output::json_array(|emit| {
            connections::each(conn, ws.id, |row| emit(summary_json(&ws, &row)))
        });
    }
    // A first pass sizes the columns; the NOTE column appears only when some connection needs
    // rotating, so that it stands out.
    let mut header = vec!["IDENTIFIER", "NAME", "TYPE", "DESCRIPTION", "NOTE"];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    let (mut count, mut any_marked) = (0usize, false);
    connections::each(conn, ws.id, |row| -> Result<()> {
        for (width, cell) in widths.iter_mut().zip(cells(&row, true)) {
            *width = (*width).max(cell.chars().count());
        }
        count += 1;
        any_marked |= row.needs_rotation;
        Ok(())
    })?;
    if count == 0 {
        output::notice(
            &session.globals,
            &format!("No connections in '{slug}' yet; add one with `ohx connection add TYPE`."),
        );
        return Ok(());
    }
    if !any_marked {
        header.pop();
        widths.pop();
    }
    if output::stdout_is_terminal() && count <= TABLE_MAX_ROWS {
        let mut rows = Vec::with_capacity(count);
        connections::each(conn, ws.id, |row| -> Result<()> {
            rows.push(cells(&row, any_marked));
            Ok(())
        })?;
        return output::table(&header, rows);
    }
    output::plain_columns(&header, &widths, |emit| {
        connections::each(conn, ws.id, |row| emit(&cells(&row, any_marked)))
    })
}

/// The cells of one line of `connection list`.
fn cells(row: &ConnectionRow, with_note: bool) -> Vec<String> {
    let mut cells = vec![
        row.slug.clone(),
        row.name.clone(),
        row.kind.clone(),
        row.description.clone(),
    ];
    if with_note {
        let mark = if row.needs_rotation { ROTATE_MARK } else { "" };
        cells.push(mark.to_string());
    }
    cells
}

fn show(session: &mut Session, reference: &str, reveal: bool) -> Result<()> {
    let (ws_part, id) = split_reference(reference);
    let slug = session.workspace_slug(ws_part)?;
    let action = if reveal {
        Action::UseSecrets
    } else {
        Action::ShowFields
    };
    let me = &session.me;
    let (ws, row, fields) = session.store.read(|tx| -> Result<_> {
        let m = me.membership(tx, &slug, action)?;
        let row = secrets::find(tx, &m.workspace, id)?;
        let stored = connections::fields(tx, row.id)?;
        // Key holders check the record even when secrets stay masked, so an admin looking at a
        // connection sees a host changed behind ohx's back; viewers hold no key to check with.
        let key = if m.role.holds_key() {
            Some(me.unlock(&m)?)
        } else {
            None
        };
        let record = secrets::record_bytes(m.workspace.id, &row, &stored);
        let fields = secrets::open(key.as_ref().filter(|_| reveal), &m.workspace, &row, stored)?;
        if let Some(key) = &key {
            secrets::verify_bytes(tx, &m.workspace, key, &row, &record)?;
        }
        Ok((m.workspace, row, fields))
    })?;
    let shown = |f: &Field| -> String {
        match &f.value {
            Value::Plain(v) => v.clone(),
            Value::Secret(s) => s.expose_secret().to_string(),
            Value::Hidden => output::MASK.to_string(),
        }
    };
    if session.globals.json {
        let mut v = summary_json(&ws, &row);
        v["fields"] = fields
            .iter()
            .map(|f| json!({"code": f.code, "secret": f.secret, "value": shown(f)}))
            .collect();
        return output::json(&v);
    }
    let mut pairs = vec![
        ("identifier", row.slug.clone()),
        ("name", row.name.clone()),
        ("type", row.kind.clone()),
        ("workspace", ws.slug.clone()),
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

fn delete(session: &mut Session, reference: &str, yes: bool) -> Result<()> {
    let (ws_part, id) = split_reference(reference);
    let slug = session.workspace_slug(ws_part)?;
    let conn = session.store.conn();
    let ws = session
        .me
        .membership(conn, &slug, Action::ManageConnections)?
        .workspace;
    secrets::find(conn, &ws, id)?;
    confirm_or_yes(
        &session.globals,
        yes,
        &format!("Delete connection '{id}' from '{slug}'? This cannot be undone"),
        &format!("ohx connection delete {slug}/{id}"),
    )?;
    session.store.write(|tx| -> Result<()> {
        let ws = session
            .me
            .membership(tx, &slug, Action::ManageConnections)?
            .workspace;
        let row = secrets::find(tx, &ws, id)?;
        connections::delete(tx, row.id)?;
        Ok(())
    })?;
    output::done(
        &session.globals,
        &format!("Deleted connection '{id}' from '{slug}'."),
    )
}
