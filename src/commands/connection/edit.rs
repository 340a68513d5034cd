//! `ohx connection edit`: change the name, description or fields of a connection (admin).
//! A new secret value is sealed to the current workspace key and clears the rotation mark.

use anyhow::Result;

use super::add::NAME_MAX;
use super::input;
use crate::cli::EditArgs;
use crate::domain::{self, env, Action, ConnectionType};
use crate::error::Fail;
use crate::output;
use crate::secrets::{self, split_reference, Value};
use crate::session::Session;
use crate::store::connections;

pub fn run(session: &mut Session, args: EditArgs) -> Result<()> {
    let (ws_part, id) = split_reference(&args.id);
    let ws_slug = session.workspace_slug(ws_part)?;
    let conn = session.store.conn();
    let ws = session
        .me
        .membership(conn, &ws_slug, Action::ManageConnections)?
        .workspace;
    let row = secrets::find(conn, &ws, id)?;
    let kind = ConnectionType::parse(&row.kind)?;
    let existing: Vec<(String, bool)> = connections::fields(conn, row.id)?
        .into_iter()
        .map(|f| (f.code, f.secret))
        .collect();
    let lookup = |code: &str| existing.iter().find(|(c, _)| c == code).map(|(_, s)| *s);

    let nothing = args.name.is_none()
        && args.description.is_none()
        && args.set.is_empty()
        && args.secret.is_empty()
        && args.unset.is_empty();
    if nothing {
        return Err(Fail::usage("nothing to change")
            .hint("give --name, --description, --set CODE=VALUE, --secret CODE[=SOURCE] or --unset CODE")
            .into());
    }
    for code in &args.unset {
        check_unset(kind, id, code, lookup(code).is_some())?;
    }
    if let Some(name) = &args.name {
        domain::validate_display_name("connection name", name, NAME_MAX)?;
    }
    if let Some(d) = &args.description {
        domain::validate_description(d)?;
    }
    let gathered = input::gather(
        kind,
        &args.set,
        &args.secret,
        session.globals.interactive(),
        &lookup,
    )?;
    if let Some(both) = gathered.given.iter().find(|g| args.unset.contains(&g.code)) {
        return Err(Fail::usage(format!("'{}' is both set and unset", both.code)).into());
    }
    let remains = |code: &str| {
        gathered.has(code) || (lookup(code).is_some() && !args.unset.iter().any(|u| u == code))
    };
    kind.check_presence(&remains)?;
    let mut final_codes: Vec<&str> = existing
        .iter()
        .map(|(c, _)| c.as_str())
        .filter(|c| remains(c))
        .collect();
    final_codes.extend(
        gathered
            .given
            .iter()
            .map(|g| g.code.as_str())
            .filter(|c| lookup(c).is_none()),
    );
    if kind == ConnectionType::Custom && final_codes.is_empty() {
        return Err(Fail::usage("a custom connection needs at least one field").into());
    }
    env::check_names(&row.slug, &final_codes)?;

    // The rotation mark clears once every secret that remains has a new value: one changed
    // password does not make another, possibly copied, secret safe.
    let replaced = |code: &str| {
        gathered
            .given
            .iter()
            .any(|g| g.code == code && matches!(g.value, Value::Secret(_)))
    };
    let stale_secret_left = existing
        .iter()
        .any(|(code, secret)| *secret && remains(code) && !replaced(code));
    session.store.write(|tx| -> Result<()> {
        let m = session
            .me
            .membership(tx, &ws_slug, Action::ManageConnections)?;
        let key = session.me.unlock(&m)?;
        let ws = m.workspace;
        let current = secrets::find(tx, &ws, id)?;
        if current.id != row.id {
            return Err(Fail::failure(format!(
                "connection '{id}' was replaced while you edited it; try again"
            ))
            .into());
        }
        // An edit must not bless a record someone changed behind ohx's back.
        secrets::verify(
            tx,
            &ws,
            &key,
            &current,
            &connections::fields(tx, current.id)?,
        )?;
        for (offset, given) in gathered.given.iter().enumerate() {
            let position = match kind.fields().iter().position(|f| f.code == given.code) {
                Some(p) => p,
                None => existing
                    .iter()
                    .position(|(c, _)| *c == given.code)
                    .unwrap_or(existing.len() + offset),
            };
            secrets::store(
                tx,
                &ws,
                (row.id, &row.slug),
                &given.code,
                position as i64,
                &given.value,
            )?;
        }
        for code in &args.unset {
            connections::remove_field(tx, row.id, code)?;
        }
        let name = args.name.as_deref().unwrap_or(&current.name);
        let description = args.description.as_deref().unwrap_or(&current.description);
        connections::update(
            tx,
            row.id,
            name,
            description,
            current.needs_rotation && stale_secret_left,
        )?;
        secrets::reseal(tx, ws.id, &key, row.id)?;
        Ok(())
    })?;
    for notice in &gathered.notices {
        output::notice(&session.globals, &format!("note: {notice}"));
    }
    output::done(
        &session.globals,
        &format!("Updated connection '{id}' in '{ws_slug}'."),
    )
}

fn check_unset(kind: ConnectionType, id: &str, code: &str, exists: bool) -> Result<()> {
    if !exists {
        return Err(Fail::not_found(format!("connection '{id}' has no field '{code}'")).into());
    }
    if kind.field(code).is_some_and(|spec| spec.required) {
        return Err(Fail::usage(format!(
            "'{code}' is required for {kind} connections and cannot be removed"
        ))
        .hint(match kind.field(code) {
            Some(spec) if spec.secret => format!("give it a new value with --secret {code}"),
            _ => format!("change its value with --set {code}=VALUE"),
        })
        .into());
    }
    Ok(())
}
