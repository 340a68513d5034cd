//! `ohx connection edit`: change the name, description or fields of a connection (admin). The
//! edit is planned and checked here; the access layer seals it and renews the record check.

use anyhow::Result;

use super::add::NAME_MAX;
use super::input::{self, Gathered};
use crate::access::ConnectionEdit;
use crate::cli::EditArgs;
use crate::domain::{self, env, Action, ConnectionIdentifier, ConnectionType};
use crate::error::Error;
use crate::session::Session;
use crate::store::connections::ConnectionRow;

pub fn run(session: &mut Session, args: EditArgs) -> Result<()> {
    let (ws_slug, id) = session.resolve(&args.id)?;
    let (row, existing) = session
        .access
        .read(&ws_slug, Action::ManageConnections, |ws| {
            let row = ws.connection(&id)?;
            let existing = ws.field_codes(&row)?;
            Ok((row, existing))
        })?;
    let (edit, notices) = plan(&row, &existing, &args, session.globals.interactive())?;
    if args.test {
        super::test::before_editing(session, &args, &edit)?;
    }
    session
        .access
        .write(&ws_slug, Action::ManageConnections, |ws| {
            Ok(ws.edit_connection(&id, &row, &edit)?)
        })?;
    for notice in &notices {
        session.printer.notice(&format!("note: {notice}"));
    }
    let now = edit.identifier.as_deref().unwrap_or(&id).to_string();
    let edited = session
        .access
        .read(&ws_slug, Action::ListConnections, |ws| {
            Ok(ws.connection(&now)?)
        })?;
    let line = if now == id {
        format!("Updated connection '{id}' in '{ws_slug}'.")
    } else {
        format!("Updated connection '{id}' in '{ws_slug}'; it is '{now}' now.")
    };
    session
        .printer
        .changed(&super::summary_json(&ws_slug, &edited), &line)
}

/// The edit the arguments describe, checked against the type's schema and what the connection
/// holds now (`existing`: each field's code and whether it is secret).
fn plan(
    row: &ConnectionRow,
    existing: &[(String, bool)],
    args: &EditArgs,
    interactive: bool,
) -> Result<(ConnectionEdit, Vec<String>)> {
    let kind = row.kind;
    let lookup = |code: &str| existing.iter().find(|(c, _)| c == code).map(|(_, s)| *s);
    let nothing = args.name.is_none()
        && args.slug.is_none()
        && args.description.is_none()
        && args.set.is_empty()
        && args.secret.is_empty()
        && args.unset.is_empty();
    if nothing {
        return Err(Error::NothingToChange(
            "give --slug, --name, --description, --set CODE=VALUE, --secret CODE[=SOURCE] or --unset CODE",
        )
        .into());
    }
    for code in &args.unset {
        check_unset(kind, &row.slug, code, lookup(code).is_some())?;
    }
    if let Some(name) = &args.name {
        domain::validate_display_name("connection name", name, NAME_MAX)?;
    }
    if let Some(d) = &args.description {
        domain::validate_description(d)?;
    }
    // A new identifier follows the rules of `add`: its shape, and variables that shadow none.
    let identifier = args
        .slug
        .as_deref()
        .map(|slug| ConnectionIdentifier::for_name(Some(slug), slug))
        .transpose()?;
    let mut gathered = input::gather(kind, &args.set, &args.secret, interactive, &lookup)?;
    let slug = identifier.as_deref().unwrap_or(&row.slug);
    check_result(row, slug, existing, &args.unset, &gathered)?;
    let notices = std::mem::take(&mut gathered.notices);
    let edit = ConnectionEdit {
        identifier,
        name: args.name.clone(),
        description: args.description.clone(),
        set: gathered
            .given
            .into_iter()
            .map(|g| (g.code, g.value))
            .collect(),
        unset: args.unset.clone(),
    };
    Ok((edit, notices))
}

/// Checks the connection as it would be after the edit: required fields present, a custom
/// connection keeps a field, and no variable name would shadow a sensitive one.
fn check_result(
    row: &ConnectionRow,
    slug: &str,
    existing: &[(String, bool)],
    unset: &[String],
    gathered: &Gathered,
) -> Result<()> {
    if let Some(both) = gathered.given.iter().find(|g| unset.contains(&g.code)) {
        return Err(Error::SetAndUnset(both.code.clone()).into());
    }
    let known = |code: &str| existing.iter().any(|(c, _)| c == code);
    let remains =
        |code: &str| gathered.has(code) || (known(code) && !unset.iter().any(|u| u == code));
    row.kind.check_presence(&remains)?;
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
            .filter(|c| !known(c)),
    );
    if row.kind == ConnectionType::Custom && final_codes.is_empty() {
        return Err(Error::CustomWithoutFields { hint: false }.into());
    }
    env::check_names(slug, &final_codes)?;
    Ok(())
}

fn check_unset(kind: ConnectionType, id: &str, code: &str, exists: bool) -> Result<()> {
    if !exists {
        return Err(Error::NoSuchField {
            connection: id.into(),
            field: code.into(),
            codes: Vec::new(),
        }
        .into());
    }
    if let Some(spec) = kind.field(code).filter(|spec| spec.required) {
        return Err(Error::RequiredField {
            code: code.into(),
            kind: kind.to_string(),
            secret: spec.secret,
        }
        .into());
    }
    Ok(())
}
