//! `ohx member ...`: add, list, set-role, remove. The rules (who may, key wrapping, rotation,
//! the last admin) live in the access layer; this file asks and reports.

use anyhow::Result;
use serde_json::json;

use crate::access::{self, Rotated};
use crate::cli::MemberCommand;
use crate::commands::confirm_or_yes;
use crate::domain::{Action, Role, UserName};
use crate::error::Error;
use crate::output;
use crate::session::Session;

pub fn run(session: &mut Session, command: MemberCommand) -> Result<()> {
    match command {
        MemberCommand::Add {
            name,
            recipient,
            role,
        } => add(session, &name, recipient.as_deref(), role),
        MemberCommand::List => list(session),
        MemberCommand::SetRole { name, role } => set_role(session, &name, role),
        MemberCommand::Remove { name, yes } => remove(session, &name, yes),
    }
}

fn add(session: &mut Session, name: &str, recipient: Option<&str>, role: Role) -> Result<()> {
    let name = &UserName::new(name)?;
    // Someone already known in this store (a member elsewhere) is added by name alone.
    let known = session.access.recipient_of(name)?;
    let recipient = match (recipient, known.as_deref()) {
        (Some(given), _) => given,
        (None, Some(known)) => known,
        (None, None) => return Err(Error::UnknownPerson(name.to_string()).into()),
    };
    access::check_recipient(recipient)?;
    let slug = session.workspace_slug(None)?;
    let fingerprint = session.access.write(&slug, Action::ManageMembers, |ws| {
        ws.add_member(name, recipient, role)?;
        Ok(ws.fingerprint())
    })?;
    session.printer.changed(
        &json!({
            "workspace": slug,
            "name": name.to_string(),
            "role": role.as_str(),
            "fingerprint": fingerprint,
        }),
        &format!(
            "Added '{name}' to '{slug}' as {}.\nFingerprint of '{slug}': {} (ask {name} to compare it with `ohx workspace show`)",
            role.with_article(),
            fingerprint.as_deref().unwrap_or("none")
        ),
    )
}

fn list(session: &mut Session) -> Result<()> {
    let slug = session.workspace_slug(None)?;
    let me = session.access.actor().user()?.id;
    let all = session
        .access
        .read(&slug, Action::ListConnections, |ws| Ok(ws.members()?))?;
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

fn set_role(session: &mut Session, name: &str, role: Role) -> Result<()> {
    let slug = session.workspace_slug(None)?;
    let rotated = session.access.write(&slug, Action::ManageMembers, |ws| {
        Ok(ws.set_role(name, role)?)
    })?;
    let object = json!({
        "workspace": slug,
        "name": name,
        "role": role.as_str(),
        "rotated": rotated_json(rotated.as_ref()),
    });
    session.printer.changed(
        &object,
        &format!("'{name}' is now {} of '{slug}'.", role.with_article()),
    )?;
    report_rotation(session, rotated.as_ref());
    Ok(())
}

/// The key rotation a change caused, for `--json`; `null` when there was none.
fn rotated_json(rotated: Option<&Rotated>) -> serde_json::Value {
    rotated.map_or(
        serde_json::Value::Null,
        |r| json!({"key_version": r.new_version, "secrets": r.secrets, "marked": r.marked}),
    )
}

fn remove(session: &mut Session, name: &str, yes: bool) -> Result<()> {
    let slug = session.workspace_slug(None)?;
    confirm_or_yes(
        &session.globals,
        yes,
        &format!("Remove '{name}' from '{slug}'? If they could read secrets, the workspace key is rotated"),
        &format!("ohx member remove {name}"),
    )?;
    let rotated = session.access.write(&slug, Action::ManageMembers, |ws| {
        Ok(ws.remove_member(name)?)
    })?;
    let object = json!({
        "workspace": slug,
        "name": name,
        "removed": true,
        "rotated": rotated_json(rotated.as_ref()),
    });
    session
        .printer
        .changed(&object, &format!("Removed '{name}' from '{slug}'."))?;
    report_rotation(session, rotated.as_ref());
    Ok(())
}

fn report_rotation(session: &Session, rotated: Option<&Rotated>) {
    let Some(r) = rotated else { return };
    session.printer.notice(&format!(
        "Rotated the workspace key to version {} and re-encrypted {} secret(s).",
        r.new_version, r.secrets
    ));
    crate::commands::workspace::report_skipped(&r.skipped);
    if r.marked > 0 {
        session.printer.notice(&format!(
            "{} connection(s) are marked 'rotate at source': they may have been copied, so change those passwords and keys where they are issued.",
            r.marked
        ));
    }
}
