//! `ohx workspace ...`: create, list, show, edit, use, rotate-key, delete.

use anyhow::Result;
use serde_json::json;

use crate::cli::WorkspaceCommand;
use crate::commands::confirm_or_yes;
use crate::crypto::WorkspaceKey;
use crate::domain::{self, slug, Action, Role};
use crate::error::Fail;
use crate::output;
use crate::rotation;
use crate::session::Session;
use crate::store::connections;
use crate::store::members::{self, WrappedKey};
use crate::store::workspaces::{self, Listed, Workspace};

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
    let slug = slug::slug_for("workspace slug", explicit, name, slug::WORKSPACE_SLUG_MAX)?;
    let user = session.me.user()?.clone();
    session.store.write(|tx| -> Result<()> {
        if workspaces::slug_taken(tx, &slug)? {
            return Err(Fail::failure(format!(
                "a workspace with the slug '{slug}' already exists"
            ))
            .hint("choose another with --slug")
            .into());
        }
        let key = WorkspaceKey::generate(1);
        let id = workspaces::insert(
            tx,
            &slug,
            name,
            description,
            &key.recipient(),
            key.version(),
        )?;
        let wrapped = WrappedKey {
            bytes: key.wrap_for(id, &user.recipient)?,
            version: key.version(),
        };
        members::upsert(tx, id, user.id, Role::Admin, Some(&wrapped))?;
        Ok(())
    })?;
    if session.globals.json {
        return output::json(
            &json!({"slug": slug, "name": name, "description": description, "role": "admin"}),
        );
    }
    output::done(
        &session.globals,
        &format!("Created workspace '{slug}' ({name}); you are its admin."),
    )
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
    let user_id = session.me.user()?.id;
    let listed: Vec<Listed> = workspaces::list_for_user(session.store.conn(), user_id)?;
    let default = session.setup.config.default_workspace.as_deref();
    if session.globals.json {
        let items: Vec<_> = listed
            .iter()
            .map(|l| {
                let mut v = workspace_json(&l.workspace, l.role);
                v["connections"] = json!(l.connections);
                v["members"] = json!(l.members);
                v["default"] = json!(Some(l.workspace.slug.as_str()) == default);
                v
            })
            .collect();
        return output::json(&items);
    }
    if listed.is_empty() {
        output::notice(&session.globals, "You are not a member of any workspace yet; create one with `ohx workspace create NAME`.");
        return Ok(());
    }
    let rows = listed
        .iter()
        .map(|l| {
            let marker = if Some(l.workspace.slug.as_str()) == default {
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
    let conn = session.store.conn();
    let m = session
        .me
        .membership(conn, &slug, Action::ListConnections)?;
    let ws = &m.workspace;
    let member_count = members::list(conn, ws.id)?.len();
    let connection_count = connections::count(conn, ws.id)?;
    if session.globals.json {
        let mut v = workspace_json(ws, m.role);
        v["connections"] = json!(connection_count);
        v["members"] = json!(member_count);
        return output::json(&v);
    }
    output::details(&[
        ("slug", ws.slug.clone()),
        ("name", ws.name.clone()),
        ("description", ws.description.clone()),
        ("your role", m.role.to_string()),
        ("members", member_count.to_string()),
        ("connections", connection_count.to_string()),
        ("key version", ws.key_version.to_string()),
        ("recipient", ws.recipient.clone()),
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
        return Err(Fail::usage("nothing to change")
            .hint("give --name and/or --description")
            .into());
    }
    if let Some(n) = name {
        domain::validate_display_name("workspace name", n, NAME_MAX)?;
    }
    if let Some(d) = description {
        domain::validate_description(d)?;
    }
    let (ws_slug, new_name) = session.store.write(|tx| -> Result<(String, String)> {
        let ws = session
            .me
            .membership(tx, slug, Action::ManageWorkspace)?
            .workspace;
        let new_name = name.unwrap_or(&ws.name).to_string();
        workspaces::update(tx, ws.id, &new_name, description.unwrap_or(&ws.description))?;
        Ok((ws.slug, new_name))
    })?;
    output::done(
        &session.globals,
        &format!("Updated workspace '{ws_slug}' ({new_name})."),
    )
}

fn use_workspace(session: &mut Session, slug: &str) -> Result<()> {
    session
        .me
        .membership(session.store.conn(), slug, Action::ListConnections)?;
    let path = session.setup.config_path.clone();
    session.setup.config.save_default_workspace(&path, slug)?;
    output::done(
        &session.globals,
        &format!(
            "Default workspace is now '{slug}' (saved in {}).",
            path.display()
        ),
    )
}

fn rotate_key(session: &mut Session, slug: Option<&str>) -> Result<()> {
    let slug = session.workspace_slug(slug)?;
    let rotated = session.store.write(|tx| -> Result<rotation::Rotated> {
        let m = session.me.membership(tx, &slug, Action::ManageWorkspace)?;
        let key = session.me.unlock(&m)?;
        rotation::rotate_workspace_key(tx, &m.workspace, &key, false)
    })?;
    if session.globals.json {
        return output::json(
            &json!({"slug": slug, "key_version": rotated.new_version, "secrets": rotated.secrets}),
        );
    }
    output::done(
        &session.globals,
        &format!(
            "Rotated the key of '{slug}' to version {}; re-encrypted {} secret(s).",
            rotated.new_version, rotated.secrets
        ),
    )
}

fn delete(session: &mut Session, slug: &str, yes: bool) -> Result<()> {
    let conn = session.store.conn();
    let ws = session
        .me
        .membership(conn, slug, Action::ManageWorkspace)?
        .workspace;
    let count = connections::count(conn, ws.id)?;
    confirm_or_yes(
        &session.globals,
        yes,
        &format!("Delete workspace '{slug}' and its {count} connection(s)? This cannot be undone"),
        &format!("ohx workspace delete {slug}"),
    )?;
    session.store.write(|tx| -> Result<()> {
        let ws = session
            .me
            .membership(tx, slug, Action::ManageWorkspace)?
            .workspace;
        workspaces::delete(tx, ws.id)?;
        Ok(())
    })?;
    output::done(&session.globals, &format!("Deleted workspace '{slug}'."))
}
