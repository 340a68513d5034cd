//! `ohx workspace ...`: create, list, show, edit, use, rotate-key, delete.

use anyhow::Result;
use serde_json::json;

use crate::cli::WorkspaceCommand;
use crate::commands::confirm_or_yes;
use crate::domain::{self, Action, Role, WorkspaceSlug};
use crate::error::Error;
use crate::output;
use crate::session::Session;
use crate::store::workspaces::Workspace;

/// Longest workspace name.
const NAME_MAX: usize = 100;

pub fn run(session: &mut Session, command: WorkspaceCommand) -> Result<()> {
    match command {
        WorkspaceCommand::Create {
            name,
            slug,
            description,
        } => create(
            session,
            &name,
            slug.as_deref(),
            description.as_deref().unwrap_or(""),
        ),
        WorkspaceCommand::List => list(session),
        WorkspaceCommand::Show { slug } => show(session, slug.as_deref()),
        WorkspaceCommand::Edit {
            slug,
            name,
            description,
        } => edit(session, &slug, name.as_deref(), description.as_deref()),
        WorkspaceCommand::Use { slug } => use_workspace(session, &slug),
        WorkspaceCommand::RotateKey { slug } => rotate_key(session, slug.as_deref()),
        WorkspaceCommand::Verify { slug } => verify(session, slug.as_deref()),
        WorkspaceCommand::Delete { slug, yes } => delete(session, &slug, yes),
    }
}

fn create(
    session: &mut Session,
    name: &str,
    explicit: Option<&str>,
    description: &str,
) -> Result<()> {
    domain::validate_display_name("workspace name", name, NAME_MAX)?;
    domain::validate_description(description)?;
    let slug = WorkspaceSlug::for_name(explicit, name)?;
    let fingerprint = session.access.create_workspace(&slug, name, description)?;
    // Scripts written when the user had one workspace relied on "your only one": the first
    // workspace becomes the default, so creating a second one does not break them.
    let became_default = session.setup.config.default_workspace.is_none();
    if became_default {
        let path = session.setup.config_path.clone();
        session.setup.config.save_default_workspace(&path, &slug)?;
    }
    if session.globals.json {
        return output::json(&json!({
            "slug": &*slug,
            "name": name,
            "description": description,
            "role": "admin",
            "fingerprint": fingerprint,
            "default": became_default,
        }));
    }
    let mut line = format!(
        "Created workspace '{slug}' ({name}); you are its admin.\nFingerprint: {fingerprint} (members compare it with `ohx workspace show`)"
    );
    if became_default {
        line.push_str(&format!(
            "\nIt is your default workspace now (saved in {}; change it with `ohx workspace use SLUG`).",
            session.setup.config_path.display()
        ));
    }
    session.printer.done(&line)
}

fn workspace_json(ws: &Workspace, role: Role) -> serde_json::Value {
    json!({
        "slug": ws.slug,
        "name": ws.name,
        "description": ws.description,
        "role": role.as_str(),
        "key_version": ws.key_version,
        "recipient": ws.recipient,
        "created_at": ws.created_at,
        "updated_at": ws.updated_at,
    })
}

fn list(session: &mut Session) -> Result<()> {
    let listed = session.access.list_workspaces()?;
    let default = session.setup.config.default_workspace.as_deref();
    let is_default = |slug: &str| Some(slug) == default;
    if session.globals.json {
        let items: Vec<_> = listed
            .iter()
            .map(|l| {
                let mut v = workspace_json(&l.workspace, l.role);
                v["connections"] = json!(l.connections);
                v["members"] = json!(l.members);
                v["default"] = json!(is_default(&l.workspace.slug));
                v
            })
            .collect();
        return output::json(&items);
    }
    if listed.is_empty() {
        session.printer.notice("You are not a member of any workspace yet; create one with `ohx workspace create NAME`.");
        return Ok(());
    }
    let rows = listed
        .iter()
        .map(|l| {
            let marker = if is_default(&l.workspace.slug) {
                "*"
            } else {
                ""
            };
            vec![
                format!("{}{marker}", l.workspace.slug),
                l.workspace.name.clone(),
                l.role.to_string(),
                l.connections.to_string(),
                l.members.to_string(),
                l.workspace.description.clone(),
            ]
        })
        .collect();
    output::table(
        &[
            "SLUG",
            "NAME",
            "ROLE",
            "CONNECTIONS",
            "MEMBERS",
            "DESCRIPTION",
        ],
        rows,
    )
}

fn show(session: &mut Session, slug: Option<&str>) -> Result<()> {
    let slug = session.workspace_slug(slug)?;
    let (ws, role, members, connections, fingerprint) =
        session.access.read(&slug, Action::ListConnections, |ws| {
            Ok((
                ws.row().clone(),
                ws.role(),
                ws.members()?.len(),
                ws.connection_count()?,
                ws.fingerprint(),
            ))
        })?;
    if session.globals.json {
        let mut v = workspace_json(&ws, role);
        v["connections"] = json!(connections);
        v["members"] = json!(members);
        v["fingerprint"] = json!(fingerprint);
        return output::json(&v);
    }
    let fingerprint = fingerprint.unwrap_or_else(|| "(not signed yet)".into());
    output::details(&[
        ("slug", ws.slug.clone()),
        ("name", ws.name.clone()),
        ("description", ws.description.clone()),
        ("your role", role.to_string()),
        ("members", members.to_string()),
        ("connections", connections.to_string()),
        ("key version", ws.key_version.to_string()),
        ("recipient", ws.recipient.clone()),
        ("fingerprint", fingerprint),
        ("created", ws.created_at.clone()),
        ("updated", ws.updated_at.clone()),
    ])
}

fn edit(
    session: &mut Session,
    slug: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<()> {
    if name.is_none() && description.is_none() {
        return Err(Error::NothingToChange("give --name and/or --description").into());
    }
    if let Some(n) = name {
        domain::validate_display_name("workspace name", n, NAME_MAX)?;
    }
    if let Some(d) = description {
        domain::validate_description(d)?;
    }
    let new_name = session.access.write(slug, Action::ManageWorkspace, |ws| {
        Ok(ws.edit(name, description)?)
    })?;
    session.printer.changed(
        &json!({"slug": slug, "name": new_name, "description": description}),
        &format!("Updated workspace '{slug}' ({new_name})."),
    )
}

fn use_workspace(session: &mut Session, slug: &str) -> Result<()> {
    session
        .access
        .read(slug, Action::ListConnections, |_| Ok(()))?;
    let path = session.setup.config_path.clone();
    session.setup.config.save_default_workspace(&path, slug)?;
    session.printer.changed(
        &json!({"default_workspace": slug, "config": path}),
        &format!(
            "Default workspace is now '{slug}' (saved in {}).",
            path.display()
        ),
    )
}

fn rotate_key(session: &mut Session, slug: Option<&str>) -> Result<()> {
    let slug = session.workspace_slug(slug)?;
    let rotated =
        session
            .access
            .write(&slug, Action::ManageWorkspace, |ws| Ok(ws.rotate_key()?))?;
    if session.globals.json {
        return output::json(&json!({
            "slug": slug, "key_version": rotated.new_version, "secrets": rotated.secrets,
            "skipped": rotated.skipped,
        }));
    }
    session.printer.done(&format!(
        "Rotated the key of '{slug}' to version {}; re-encrypted {} secret(s).",
        rotated.new_version, rotated.secrets
    ))?;
    report_skipped(&rotated.skipped);
    Ok(())
}

/// Tells which connections a rotation left out because their records failed their checks.
pub fn report_skipped(skipped: &[String]) {
    if !skipped.is_empty() {
        output::warning(&format!(
            "{} connection(s) failed their checks and were left out of the rotation (never used): {}; `ohx workspace verify` says why, and an admin can delete and add them again",
            skipped.len(),
            skipped.join(", ")
        ));
    }
}

fn verify(session: &mut Session, slug: Option<&str>) -> Result<()> {
    let slug = session.workspace_slug(slug)?;
    let report = session
        .access
        .read(&slug, Action::ListConnections, |ws| Ok(ws.verify()?))?;
    if session.globals.json {
        output::json(&json!({
            "workspace": slug,
            "fingerprint": report.fingerprint,
            "entries": report.entries,
            "connections": report.connections,
            "problems": report.problems,
        }))?;
    } else {
        let mut text = String::new();
        for problem in &report.problems {
            text.push_str(&format!("problem: {problem}\n"));
        }
        text.push_str(&format!(
            "Workspace '{slug}' (fingerprint {}): {}, {}, {}.\n",
            report.fingerprint.as_deref().unwrap_or("none"),
            output::counted(report.entries, "log entry", "log entries"),
            output::counted(report.connections as u64, "connection", "connections"),
            output::counted(report.problems.len() as u64, "problem", "problems"),
        ));
        output::write_stdout(&text)?;
    }
    if report.problems.is_empty() {
        return Ok(());
    }
    Err(Error::VerifyFailed {
        workspace: slug,
        count: report.problems.len(),
    }
    .into())
}

fn delete(session: &mut Session, slug: &str, yes: bool) -> Result<()> {
    let count = session.access.read(slug, Action::ManageWorkspace, |ws| {
        Ok(ws.connection_count()?)
    })?;
    confirm_or_yes(
        &session.globals,
        yes,
        &format!("Delete workspace '{slug}' and its {count} connection(s)? This cannot be undone"),
        &format!("ohx workspace delete {slug}"),
    )?;
    session
        .access
        .write(slug, Action::ManageWorkspace, |ws| Ok(ws.delete()?))?;
    session.printer.changed(
        &json!({"slug": slug, "deleted": true, "connections": count}),
        &format!("Deleted workspace '{slug}'."),
    )
}
