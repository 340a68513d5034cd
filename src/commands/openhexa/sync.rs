//! `ohx openhexa pull` and `push`: read both sides, plan with the pure planner, show the plan,
//! then apply it. A pull reads the whole server first and writes locally in one transaction; a
//! push sends one connection at a time and reports each as it goes, recording each success at
//! once, so a push cut short leaves an exact account of what reached the server.

use std::collections::HashMap;

use anyhow::Result;
use serde_json::json;

use super::{connect, local};
use crate::access::Workspace;
use crate::commands::confirm_or_yes;
use crate::domain::Action as Permission;
use crate::error::Error;
use crate::openhexa::client::Client;
use crate::openhexa::documents::{CreateInput, RemoteConnection, UpdateInput};
use crate::openhexa::logins::Login;
use crate::openhexa::mapping::{self, Mapped};
use crate::openhexa::plan::{self, Action, Prefer, Step};
use crate::output;
use crate::session::Session;
use crate::store::connections::ConnectionRow;
use crate::store::sync_state::SyncRow;

/// The local side, read in one transaction.
struct LocalSide {
    rows: Vec<ConnectionRow>,
    locals: Vec<plan::Local>,
}

fn read_local(ws: &Workspace<'_>, login: &Login) -> Result<LocalSide> {
    let states: HashMap<i64, SyncRow> = ws
        .sync_links(&login.server, &login.workspace)?
        .into_iter()
        .map(|s| (s.connection_id, s))
        .collect();
    let mut rows = Vec::new();
    let mut locals = Vec::new();
    for (row, content) in local::read_all(ws)? {
        let sync = states.get(&row.id).map(|s| plan::SyncState {
            remote_id: s.remote_id.clone(),
            remote_slug: s.remote_slug.clone(),
            remote_updated_at: s.remote_updated_at.clone(),
            key_current: s.key_version == ws.key_version(),
            local_hash: s.local_hash.clone(),
            remote_hash: s.remote_hash.clone(),
        });
        let elsewhere = match sync {
            Some(_) => None,
            None => ws
                .sync_link_of(row.id)?
                .map(|(server, workspace)| format!("OpenHEXA workspace '{workspace}' on {server}")),
        };
        locals.push(plan::Local {
            slug: row.slug.clone(),
            hash: local::content_hash(ws, &content)?,
            content,
            sync,
            elsewhere,
        });
        rows.push(row);
    }
    Ok(LocalSide { rows, locals })
}

/// The server's connections in ohx's form (or why not), hashed with the workspace key.
fn remote_side(
    ws: &Workspace<'_>,
    raw: &[RemoteConnection],
    mapped: Vec<Result<Mapped, String>>,
) -> Result<Vec<plan::Remote>> {
    let mut out = Vec::with_capacity(raw.len());
    for (r, m) in raw.iter().zip(mapped) {
        let content = m.map(|m| m.content);
        let hash = match &content {
            Ok(c) => local::content_hash(ws, c)?,
            Err(_) => Vec::new(),
        };
        out.push(plan::Remote {
            id: r.id.clone(),
            slug: r.slug.clone(),
            updated_at: r.updated_at.clone().unwrap_or_default(),
            hash,
            content,
        });
    }
    Ok(out)
}

fn record(
    ws: &Workspace<'_>,
    login: &Login,
    connection_id: i64,
    remote: (&str, &str, &str),
    local_hash: Vec<u8>,
    remote_hash: Vec<u8>,
) -> Result<()> {
    let (remote_id, remote_slug, remote_updated_at) = remote;
    ws.record_sync(&SyncRow {
        connection_id,
        server: login.server.clone(),
        remote_workspace: login.workspace.clone(),
        remote_id: remote_id.to_string(),
        remote_slug: remote_slug.to_string(),
        remote_updated_at: remote_updated_at.to_string(),
        key_version: ws.key_version(),
        local_hash,
        remote_hash,
    })?;
    Ok(())
}

/// One line of a plan or a report, with owned data.
struct Line {
    action: String,
    connection: String,
    notes: Vec<String>,
    differences: Vec<crate::openhexa::content::Difference>,
}

fn line_for(step: &Step, locals: &[plan::Local], remotes: &[plan::Remote]) -> Line {
    let connection = step
        .local
        .and_then(|i| locals.get(i).map(|l| l.slug.clone()))
        .or_else(|| {
            step.remote
                .and_then(|i| remotes.get(i).map(|r| r.slug.clone()))
        })
        .unwrap_or_default();
    let mut notes = step.notes.clone();
    let mut differences = Vec::new();
    match &step.action {
        Action::Refused(reason) => notes.insert(0, reason.clone()),
        Action::Conflict(diffs) => differences = diffs.clone(),
        _ => {}
    }
    Line {
        action: step.action.label().to_string(),
        connection,
        notes,
        differences,
    }
}

fn show(session: &Session, title: &str, lines: &[Line]) -> Result<()> {
    if session.globals.json {
        let items: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| {
                json!({
                    "action": l.action,
                    "connection": l.connection,
                    "notes": l.notes,
                    "differences": l.differences.iter().map(|d| json!({
                        "what": d.what, "local": d.local, "remote": d.remote
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        return output::json(&items);
    }
    if lines.is_empty() {
        return output::write_stdout(&format!(
            "{title}: nothing to do (no connections on either side)\n"
        ));
    }
    output::write_stdout(&format!("{title}:\n"))?;
    output::table(
        &["ACTION", "CONNECTION", "DETAIL"],
        lines
            .iter()
            .map(|l| vec![l.action.clone(), l.connection.clone(), l.notes.join("; ")])
            .collect(),
    )?;
    show_conflicts(lines)
}

/// Each conflict's differences, field by field, after the summary table.
fn show_conflicts(lines: &[Line]) -> Result<()> {
    for l in lines.iter().filter(|l| !l.differences.is_empty()) {
        output::write_stdout(&format!(
            "\nconflict in '{}' (local | server):\n",
            l.connection
        ))?;
        output::table(
            &["WHAT", "LOCAL", "SERVER"],
            l.differences
                .iter()
                .map(|d| vec![d.what.clone(), d.local.clone(), d.remote.clone()])
                .collect(),
        )?;
    }
    Ok(())
}

/// Conflicts and refusals left undone make the command fail, after everything else was done.
fn unsettled(lines: &[Line], verb: &'static str) -> Result<()> {
    let conflicts = lines.iter().filter(|l| l.action == "conflict").count();
    let refused = lines
        .iter()
        .filter(|l| l.action == "refused" || l.action == "failed")
        .count();
    if conflicts > 0 {
        return Err(Error::SyncConflicts(conflicts).into());
    }
    if refused > 0 {
        return Err(Error::SyncIncomplete {
            count: refused,
            verb,
        }
        .into());
    }
    Ok(())
}

pub fn pull(
    session: &mut Session,
    remote: Option<&str>,
    dry_run: bool,
    prefer: Option<Prefer>,
) -> Result<()> {
    let ws_slug = session.workspace_slug(None)?;
    // Refuse before any network traffic when the role does not allow the writes.
    session
        .access
        .read(&ws_slug, Permission::ManageConnections, |_| Ok(()))?;
    let (login, client) = connect(session, remote, Some(&ws_slug))?;
    let raw = client.connections(&login.workspace)?;
    let mut notices = Vec::new();
    let mapped: Vec<Result<Mapped, String>> = raw
        .iter()
        .map(|r| {
            mapping::to_local(r).inspect(|m| {
                notices.extend(m.notices.iter().cloned());
            })
        })
        .collect();
    let creates: Vec<Option<String>> = mapped
        .iter()
        .map(|m| m.as_ref().ok().map(|m| m.slug.clone()))
        .collect();
    let lines = session.access.write(
        &ws_slug,
        Permission::ManageConnections,
        |ws| -> Result<Vec<Line>> {
            let side = read_local(ws, &login)?;
            let remotes = remote_side(ws, &raw, mapped)?;
            let steps = plan::pull(&side.locals, &remotes, prefer);
            let lines: Vec<Line> = steps
                .iter()
                .map(|s| line_for(s, &side.locals, &remotes))
                .collect();
            if dry_run {
                return Ok(lines);
            }
            for step in &steps {
                let Some(ri) = step.remote else { continue };
                let (r, remote) = (&raw[ri], &remotes[ri]);
                let Ok(content) = &remote.content else {
                    continue;
                };
                let at = (r.id.as_str(), r.slug.as_str(), remote.updated_at.as_str());
                match (&step.action, step.local) {
                    (Action::Create, _) => {
                        let slug = creates[ri].as_deref().unwrap_or(&r.slug);
                        let row = local::create(ws, slug, content)?;
                        record(
                            ws,
                            &login,
                            row.id,
                            at,
                            remote.hash.clone(),
                            remote.hash.clone(),
                        )?;
                    }
                    (Action::Update, Some(li)) => {
                        local::replace(ws, &side.rows[li], &side.locals[li].content, content)?;
                        record(
                            ws,
                            &login,
                            side.rows[li].id,
                            at,
                            remote.hash.clone(),
                            remote.hash.clone(),
                        )?;
                    }
                    (Action::Unchanged, Some(li)) => {
                        let l = &side.locals[li];
                        record(
                            ws,
                            &login,
                            side.rows[li].id,
                            at,
                            l.hash.clone(),
                            remote.hash.clone(),
                        )?;
                    }
                    (Action::Kept, Some(li)) => {
                        // The server's version is seen; the local change stays pending for a push.
                        let old = side.locals[li]
                            .sync
                            .as_ref()
                            .map(|s| s.local_hash.clone())
                            .unwrap_or_default();
                        record(ws, &login, side.rows[li].id, at, old, remote.hash.clone())?;
                    }
                    _ => {}
                }
            }
            Ok(lines)
        },
    )?;
    for notice in &notices {
        session.printer.notice(&format!("note: {notice}"));
    }
    let title = if dry_run {
        format!(
            "Plan for pulling OpenHEXA workspace '{}' ({}) into '{ws_slug}' (nothing changed)",
            login.workspace, login.server
        )
    } else {
        format!(
            "Pulled OpenHEXA workspace '{}' ({}) into '{ws_slug}'",
            login.workspace, login.server
        )
    };
    show(session, &title, &lines)?;
    unsettled(&lines, if dry_run { "planned" } else { "pulled" })
}

pub struct PushOptions {
    pub ids: Vec<String>,
    pub remote: Option<String>,
    pub dry_run: bool,
    pub prefer: Option<Prefer>,
    pub prune: bool,
    pub yes: bool,
}

/// Whether an error ends the push (the server or the token), or concerns one connection only.
fn stops_the_push(e: &Error) -> bool {
    !matches!(e, Error::OpenhexaRefused { .. })
}

pub fn push(session: &mut Session, options: &PushOptions) -> Result<()> {
    let ws_slug = session.workspace_slug(None)?;
    session
        .access
        .read(&ws_slug, Permission::UseSecrets, |_| Ok(()))?;
    let (login, client) = connect(session, options.remote.as_deref(), Some(&ws_slug))?;
    let raw = client.connections(&login.workspace)?;
    let mapped: Vec<Result<Mapped, String>> = raw.iter().map(mapping::to_local).collect();
    let (side, remotes) =
        session
            .access
            .read(&ws_slug, Permission::UseSecrets, |ws| -> Result<_> {
                let side = read_local(ws, &login)?;
                let remotes = remote_side(ws, &raw, mapped)?;
                Ok((side, remotes))
            })?;
    let mut selected = Vec::new();
    for id in &options.ids {
        let found = side
            .locals
            .iter()
            .position(|l| &l.slug == id)
            .ok_or_else(|| Error::NoSuchConnection {
                workspace: ws_slug.clone(),
                id: id.clone(),
            })?;
        if !selected.contains(&found) {
            selected.push(found);
        }
    }
    if options.ids.is_empty() {
        selected = (0..side.locals.len()).collect();
    }
    let check = |l: &plan::Local| -> Result<(), String> {
        if let Some(elsewhere) = &l.elsewhere {
            return Err(format!("it is synced with {elsewhere}"));
        }
        mapping::check_for_server(&l.slug, &l.content)
    };
    let steps = plan::push(
        &side.locals,
        &selected,
        &remotes,
        options.prefer,
        options.prune,
        &check,
    );
    let lines: Vec<Line> = steps
        .iter()
        .map(|s| line_for(s, &side.locals, &remotes))
        .collect();
    let title = format!(
        "Plan for pushing '{ws_slug}' to OpenHEXA workspace '{}' ({})",
        login.workspace, login.server
    );
    if options.dry_run {
        show(session, &format!("{title} (nothing changed)"), &lines)?;
        return unsettled(&lines, "planned");
    }
    let doomed: Vec<&str> = steps
        .iter()
        .filter(|s| s.action == Action::Prune)
        .filter_map(|s| s.remote.map(|ri| remotes[ri].slug.as_str()))
        .collect();
    if !doomed.is_empty() {
        output::write_stdout(&format!(
            "--prune deletes these connections on the server, which have no local counterpart: {}\n",
            doomed.join(", ")
        ))?;
        confirm_or_yes(
            &session.globals,
            options.yes,
            &format!("Delete {} connection(s) on the server?", doomed.len()),
            "ohx openhexa push --prune",
        )?;
    }
    let mut report: Vec<Line> = Vec::new();
    let mut stopped: Option<anyhow::Error> = None;
    for (step, planned) in steps.iter().zip(lines) {
        if stopped.is_some()
            && matches!(step.action, Action::Create | Action::Update | Action::Prune)
        {
            let line = Line {
                action: "not done".into(),
                notes: vec!["not attempted: the push stopped at the error above".into()],
                ..planned
            };
            announce(session, &line)?;
            report.push(line);
            continue;
        }
        let outcome = execute(session, &client, &login, &ws_slug, &side, &remotes, step);
        let line = match outcome {
            Ok(done) => Line {
                action: done.0,
                notes: [planned.notes.clone(), done.1].concat(),
                ..planned
            },
            Err(e) => {
                let text = crate::error::render(&e);
                let fatal = e.downcast_ref::<Error>().is_none_or(stops_the_push);
                let line = Line {
                    action: "failed".into(),
                    notes: vec![text],
                    ..planned
                };
                if fatal {
                    stopped = Some(e);
                }
                line
            }
        };
        announce(session, &line)?;
        report.push(line);
    }
    if session.globals.json {
        show(session, &title, &report)?;
    } else {
        show_conflicts(&report)?;
    }
    if let Some(e) = stopped {
        return Err(e.context(
            "the push stopped; each connection above says whether it reached the server",
        ));
    }
    unsettled(&report, "pushed")
}

/// Prints one result line as soon as it is known (human output only).
fn announce(session: &Session, line: &Line) -> Result<()> {
    if session.globals.json {
        return Ok(());
    }
    let detail = if line.notes.is_empty() {
        String::new()
    } else {
        format!("  ({})", line.notes.join("; "))
    };
    output::write_stdout(&format!(
        "{:<10} {}{detail}\n",
        line.action, line.connection
    ))
}

/// Carries out one step of a push; returns the word for what was done and extra notes.
fn execute(
    session: &mut Session,
    client: &Client,
    login: &Login,
    ws_slug: &str,
    side: &LocalSide,
    remotes: &[plan::Remote],
    step: &Step,
) -> Result<(String, Vec<String>)> {
    let word = |w: &str| w.to_string();
    match (&step.action, step.local) {
        (Action::Create | Action::Update, Some(li)) => {
            let (row, l) = (&side.rows[li], &side.locals[li]);
            let fields = mapping::to_remote_fields(&l.content);
            let kind = mapping::remote_type(l.content.kind);
            let (sent, verb) = match step.remote {
                Some(ri) if step.action == Action::Update => (
                    client.update(&UpdateInput {
                        id: &remotes[ri].id,
                        name: &l.content.name,
                        description: &l.content.description,
                        fields,
                    })?,
                    "updated",
                ),
                _ => (
                    client.create(&CreateInput {
                        workspace_slug: &login.workspace,
                        name: &l.content.name,
                        slug: &l.slug,
                        description: &l.content.description,
                        kind,
                        fields,
                    })?,
                    "created",
                ),
            };
            let mut notes = Vec::new();
            if sent.slug != l.slug {
                notes.push(format!(
                    "the server calls it '{}': '{}' was taken there",
                    sent.slug, l.slug
                ));
            }
            let at = (
                sent.id.as_str(),
                sent.slug.as_str(),
                sent.updated_at.as_deref().unwrap_or_default(),
            );
            session
                .access
                .write(ws_slug, Permission::UseSecrets, |ws| {
                    let remote_hash = match mapping::to_local(&sent) {
                        Ok(m) => local::content_hash(ws, &m.content)?,
                        Err(_) => Vec::new(),
                    };
                    record(ws, login, row.id, at, l.hash.clone(), remote_hash)
                })?;
            Ok((word(verb), notes))
        }
        (Action::Unchanged | Action::Kept, Some(li)) => {
            let Some(ri) = step.remote else {
                return Ok((word(step.action.label()), Vec::new()));
            };
            let (row, l, r) = (&side.rows[li], &side.locals[li], &remotes[ri]);
            // Kept: the local version is seen; the server's change stays pending for a pull.
            let remote_hash = if step.action == Action::Kept {
                l.sync
                    .as_ref()
                    .map(|s| s.remote_hash.clone())
                    .unwrap_or_default()
            } else {
                r.hash.clone()
            };
            let at = (r.id.as_str(), r.slug.as_str(), r.updated_at.as_str());
            session
                .access
                .write(ws_slug, Permission::UseSecrets, |ws| {
                    record(ws, login, row.id, at, l.hash.clone(), remote_hash)
                })?;
            Ok((word(step.action.label()), Vec::new()))
        }
        (Action::Prune, _) => {
            let Some(ri) = step.remote else {
                return Ok((word("unchanged"), Vec::new()));
            };
            client.delete(&remotes[ri].id)?;
            Ok((word("deleted"), Vec::new()))
        }
        (other, _) => Ok((word(other.label()), Vec::new())),
    }
}
