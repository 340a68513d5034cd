//! `ohx member ...`: add, list, set-role, remove. Key handling follows DESIGN.md section 4: a new
//! key holder gets the workspace key wrapped for them; losing a key holder rotates the key.

use anyhow::Result;
use serde_json::json;

use crate::cli::MemberCommand;
use crate::commands::confirm_or_yes;
use crate::crypto::parse_recipient;
use crate::domain::{self, Action, Role};
use crate::error::Fail;
use crate::output;
use crate::rotation::{self, Rotated};
use crate::session::{Me, Session};
use crate::store::members::{self, Member, WrappedKey};
use crate::store::users;
use crate::store::workspaces::Membership;

pub fn run(session: &mut Session, command: MemberCommand) -> Result<()> {
    match command {
        MemberCommand::Add {
            name,
            recipient,
            role,
        } => add(session, &name, &recipient, role.parse()?),
        MemberCommand::List => list(session),
        MemberCommand::SetRole { name, role } => set_role(session, &name, role.parse()?),
        MemberCommand::Remove { name, yes } => remove(session, &name, yes),
    }
}

fn add(session: &mut Session, name: &str, recipient: &str, role: Role) -> Result<()> {
    domain::validate_user_name(name)?;
    let recipient = parse_recipient(recipient)?.to_string();
    let slug = session.workspace_slug(None)?;
    session.store.write(|tx| -> Result<()> {
        let m = session.me.membership(tx, &slug, Action::ManageMembers)?;
        let user = match users::find_by_name(tx, name)? {
            Some(u) if u.recipient != recipient => {
                return Err(Fail::usage(format!(
                    "'{name}' is already known in this store with another recipient ({})",
                    u.recipient
                ))
                .hint("check the recipient, or add this person under another name")
                .into())
            }
            Some(u) => u,
            None => match users::find_by_recipient(tx, &recipient)? {
                Some(other) => {
                    return Err(Fail::usage(format!(
                        "that recipient already belongs to '{}' in this store",
                        other.name
                    ))
                    .hint(format!(
                        "add them by that name: `ohx member add {} ...`",
                        other.name
                    ))
                    .into())
                }
                None => users::insert(tx, name, &recipient)?,
            },
        };
        if let Some(existing) = members::find(tx, m.workspace.id, name)? {
            return Err(Fail::failure(format!(
                "'{name}' is already {} of '{slug}'",
                existing.role.with_article()
            ))
            .hint(format!(
                "change the role with `ohx member set-role {name} ROLE`"
            ))
            .into());
        }
        let wrapped = wrap_if_needed(&session.me, &m, role, &user.recipient)?;
        members::upsert(tx, m.workspace.id, user.id, role, wrapped.as_ref())?;
        Ok(())
    })?;
    output::done(
        &session.globals,
        &format!("Added '{name}' to '{slug}' as {}.", role.with_article()),
    )
}

/// The workspace key wrapped for a new key holder (constant cost: no secret is re-encrypted).
fn wrap_if_needed(
    me: &Me,
    m: &Membership,
    role: Role,
    recipient: &str,
) -> Result<Option<WrappedKey>> {
    if !role.holds_key() {
        return Ok(None);
    }
    let key = me.unlock(m)?;
    Ok(Some(WrappedKey {
        bytes: key.wrap_for(m.workspace.id, recipient)?,
        version: key.version(),
    }))
}

fn list(session: &mut Session) -> Result<()> {
    let slug = session.workspace_slug(None)?;
    let conn = session.store.conn();
    let m = session
        .me
        .membership(conn, &slug, Action::ListConnections)?;
    let me = session.me.user()?.id;
    let all = members::list(conn, m.workspace.id)?;
    if session.globals.json {
        let items: Vec<_> = all
            .iter()
            .map(|x| json!({"name": x.name, "role": x.role.as_str(), "recipient": x.recipient, "you": x.user_id == me}))
            .collect();
        return output::json(&json!({"workspace": slug, "members": items}));
    }
    let rows = all
        .iter()
        .map(|x| {
            let you = if x.user_id == me { " (you)" } else { "" };
            vec![
                format!("{}{you}", x.name),
                x.role.to_string(),
                x.recipient.clone(),
            ]
        })
        .collect();
    output::table(&["NAME", "ROLE", "RECIPIENT"], rows)
}

/// Finds a member inside the write transaction, or says they are not one.
fn target(tx: &rusqlite::Connection, m: &Membership, name: &str) -> Result<Member> {
    members::find(tx, m.workspace.id, name)?.ok_or_else(|| {
        Fail::not_found(format!(
            "'{name}' is not a member of '{}'",
            m.workspace.slug
        ))
        .hint("see the members with `ohx member list`")
        .into()
    })
}

/// Refuses to leave a workspace without an admin. Checked inside the write transaction, so two
/// concurrent demotions of the last two admins cannot both pass.
fn keep_an_admin(tx: &rusqlite::Connection, m: &Membership, member: &Member) -> Result<()> {
    if member.role == Role::Admin && members::count_admins(tx, m.workspace.id)? <= 1 {
        return Err(Fail::failure(format!(
            "'{}' is the last admin of '{}'; a workspace must keep one",
            member.name, m.workspace.slug
        ))
        .hint("make someone else admin first with `ohx member set-role NAME admin`")
        .into());
    }
    Ok(())
}

fn set_role(session: &mut Session, name: &str, role: Role) -> Result<()> {
    let slug = session.workspace_slug(None)?;
    let rotated = session.store.write(|tx| -> Result<Option<Rotated>> {
        let m = session.me.membership(tx, &slug, Action::ManageMembers)?;
        let member = target(tx, &m, name)?;
        if member.role == role {
            return Ok(None);
        }
        if role != Role::Admin {
            keep_an_admin(tx, &m, &member)?;
        }
        match (member.role.holds_key(), role.holds_key()) {
            (false, true) => {
                let wrapped = wrap_if_needed(&session.me, &m, role, &member.recipient)?;
                members::upsert(tx, m.workspace.id, member.user_id, role, wrapped.as_ref())?;
                Ok(None)
            }
            (true, false) => {
                let key = session.me.unlock(&m)?;
                members::upsert(tx, m.workspace.id, member.user_id, role, None)?;
                Ok(Some(rotation::rotate_workspace_key(
                    tx,
                    &m.workspace,
                    &key,
                    true,
                )?))
            }
            _ => {
                members::set_role_keeping_key(tx, m.workspace.id, member.user_id, role)?;
                Ok(None)
            }
        }
    })?;
    output::done(
        &session.globals,
        &format!("'{name}' is now {} of '{slug}'.", role.with_article()),
    )?;
    report_rotation(session, rotated.as_ref())
}

fn remove(session: &mut Session, name: &str, yes: bool) -> Result<()> {
    let slug = session.workspace_slug(None)?;
    confirm_or_yes(
        &session.globals,
        yes,
        &format!("Remove '{name}' from '{slug}'? If they could read secrets, the workspace key is rotated"),
        &format!("ohx member remove {name}"),
    )?;
    let rotated = session.store.write(|tx| -> Result<Option<Rotated>> {
        let m = session.me.membership(tx, &slug, Action::ManageMembers)?;
        let member = target(tx, &m, name)?;
        keep_an_admin(tx, &m, &member)?;
        // Unlock before removing: the remover may be removing themselves.
        let key = if member.role.holds_key() {
            Some(session.me.unlock(&m)?)
        } else {
            None
        };
        members::remove(tx, m.workspace.id, member.user_id)?;
        match key {
            Some(key) => Ok(Some(rotation::rotate_workspace_key(
                tx,
                &m.workspace,
                &key,
                true,
            )?)),
            None => Ok(None),
        }
    })?;
    output::done(
        &session.globals,
        &format!("Removed '{name}' from '{slug}'."),
    )?;
    report_rotation(session, rotated.as_ref())
}

fn report_rotation(session: &Session, rotated: Option<&Rotated>) -> Result<()> {
    let Some(r) = rotated else { return Ok(()) };
    output::notice(
        &session.globals,
        &format!(
            "Rotated the workspace key to version {} and re-encrypted {} secret(s).",
            r.new_version, r.secrets
        ),
    );
    if r.marked > 0 {
        output::notice(
            &session.globals,
            &format!(
                "{} connection(s) are marked 'rotate at source': they may have been copied, so change those passwords and keys where they are issued.",
                r.marked
            ),
        );
    }
    Ok(())
}
