//! `ohx whoami`: who the loaded identity is in this store.

use anyhow::Result;
use serde_json::json;

use crate::domain::UserName;
use crate::output;
use crate::session::Session;

/// `ohx whoami --rename NAME`: the name others know you by in this store.
pub fn rename(session: &mut Session, name: &str) -> Result<()> {
    let old = session.access.actor().user()?.name.clone();
    if old == name {
        return session.printer.changed(
            &json!({"user": old, "previous": old, "workspaces_keeping_old_name": []}),
            &format!("You are '{old}' already; nothing changed."),
        );
    }
    let user = session.access.rename_me(&UserName::new(name)?)?;
    // A signed workspace's log names its members as they were added; that history is not
    // rewritten, so those workspaces still show the old name.
    let joined: Vec<String> = session
        .access
        .my_workspaces()?
        .into_iter()
        .map(|(slug, _)| slug)
        .collect();
    if session.globals.json {
        return output::json(
            &json!({"user": user.name, "previous": old, "workspaces_keeping_old_name": joined}),
        );
    }
    session.printer.done(&format!(
        "You are now '{}' in this store (were '{old}').",
        user.name
    ))?;
    if !joined.is_empty() {
        session.printer.notice(&format!(
            "note: the signed history of {} names you '{old}' as you joined; members there may still see that name",
            joined.join(", ")
        ));
    }
    Ok(())
}

pub fn run(session: &Session, recipient_only: bool) -> Result<()> {
    let recipient = session.access.actor().identity().recipient();
    if recipient_only {
        return output::write_stdout(&format!("{recipient}\n"));
    }
    let user = session.access.actor().user_opt();
    let memberships = match user {
        Some(_) => session.access.my_workspaces()?,
        None => Vec::new(),
    };
    if session.globals.json {
        let list: Vec<_> = memberships
            .iter()
            .map(|(slug, role)| json!({"workspace": slug, "role": role.as_str()}))
            .collect();
        return output::json(&json!({
            "user": user.map(|u| &u.name),
            "recipient": recipient,
            "store": session.setup.store.path,
            "identity": session.setup.identity.path,
            "memberships": list,
        }));
    }
    let name = user.map_or_else(
        || "(not registered in this store; run `ohx init`)".to_string(),
        |u| u.name.clone(),
    );
    let roles = if memberships.is_empty() {
        "(none)".to_string()
    } else {
        memberships
            .iter()
            .map(|(slug, role)| format!("{slug} ({role})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    output::details(&[
        ("user", name),
        ("recipient", recipient),
        ("store", session.setup.store.path.display().to_string()),
        (
            "identity",
            session.setup.identity.path.display().to_string(),
        ),
        ("workspaces", roles),
    ])
}
