//! `ohx connection add`: from flags in scripts, or as a short interview on a terminal.

use anyhow::Result;

use super::input::{self, Gathered};
use crate::access::{NewConnection, Value};
use crate::cli::AddArgs;
use crate::domain::{self, env, Action, ConnectionIdentifier, ConnectionType};
use crate::error::Error;
use crate::output;
use crate::prompt;
use crate::session::Session;

/// Longest connection name.
pub const NAME_MAX: usize = 40;

pub fn run(session: &mut Session, args: AddArgs) -> Result<()> {
    let interactive = session.globals.interactive();
    let ws_slug = session.workspace_slug(None)?;
    // Refuse early, before asking for anything, when the user may not add connections.
    session
        .access
        .read(&ws_slug, Action::ManageConnections, |_| Ok(()))?;
    let kind = match args.kind {
        Some(kind) => kind,
        None if interactive => ask_type()?,
        None => return Err(Error::MissingType.into()),
    };
    let (new, notices) = plan(kind, &args, interactive)?;
    if interactive && !confirm_summary(&new)? {
        return Err(Error::Cancelled("saved").into());
    }
    if args.test {
        super::test::before_adding(&session.printer, &new, args.save_anyway)?;
    }
    session
        .access
        .write(&ws_slug, Action::ManageConnections, |ws| {
            Ok(ws.add_connection(&new)?)
        })?;
    for notice in &notices {
        session.printer.notice(&format!("note: {notice}"));
    }
    let added = session
        .access
        .read(&ws_slug, Action::ListConnections, |ws| {
            Ok(ws.connection(&new.identifier)?)
        })?;
    session.printer.changed(
        &super::summary_json(&ws_slug, &added),
        &format!(
            "Added {kind} connection '{}' to '{ws_slug}'. Use it with `ohx run -c {} -- COMMAND`.",
            new.identifier, new.identifier
        ),
    )
}

/// The connection the arguments (and, on a terminal, the answers) describe, checked against
/// the type's schema and the naming rules, with the notices to show after saving.
fn plan(
    kind: ConnectionType,
    args: &AddArgs,
    interactive: bool,
) -> Result<(NewConnection, Vec<String>)> {
    let mut gathered = input::gather(kind, &args.set, &args.secret, interactive, &|_| None)?;
    let mut name = args.name.clone();
    if interactive {
        interview(kind, &mut name, &mut gathered)?;
    } else {
        fill_defaults(kind, &mut gathered)?;
        refuse_missing(kind, name.is_none(), &gathered)?;
    }
    let name = name.unwrap_or_default();
    domain::validate_display_name("connection name", &name, NAME_MAX)?;
    let description = args.description.clone().unwrap_or_default();
    domain::validate_description(&description)?;
    kind.check_presence(&|code| gathered.has(code))?;
    if kind == ConnectionType::Custom && gathered.given.is_empty() {
        return Err(Error::CustomWithoutFields { hint: true }.into());
    }
    let identifier = ConnectionIdentifier::for_name(args.slug.as_deref(), &name)?;
    let codes: Vec<&str> = gathered.given.iter().map(|g| g.code.as_str()).collect();
    env::check_names(&identifier, &codes)?;
    let notices = std::mem::take(&mut gathered.notices);
    let new = NewConnection {
        identifier,
        name,
        description,
        kind,
        fields: ordered(kind, gathered),
    };
    Ok((new, notices))
}

/// Schema order for typed connections, the user's order for custom ones.
fn ordered(kind: ConnectionType, gathered: Gathered) -> Vec<(String, Value)> {
    let mut given = gathered.given;
    if kind != ConnectionType::Custom {
        let rank = |code: &str| {
            kind.fields()
                .iter()
                .position(|f| f.code == code)
                .unwrap_or(usize::MAX)
        };
        given.sort_by_key(|g| rank(&g.code));
    }
    given.into_iter().map(|g| (g.code, g.value)).collect()
}

fn fill_defaults(kind: ConnectionType, gathered: &mut Gathered) -> Result<()> {
    for spec in kind.fields() {
        if let (Some(default), false) = (spec.default, gathered.has(spec.code)) {
            gathered.push_plain(kind, spec.code.to_string(), default)?;
        }
    }
    Ok(())
}

/// Without a terminal, names every missing flag at once.
fn refuse_missing(kind: ConnectionType, name_missing: bool, gathered: &Gathered) -> Result<()> {
    let mut missing = Vec::new();
    if name_missing {
        missing.push("--name NAME".to_string());
    }
    for spec in kind
        .fields()
        .iter()
        .filter(|s| s.required && !gathered.has(s.code))
    {
        missing.push(if spec.secret {
            format!("--secret {}=SOURCE", spec.code)
        } else {
            format!("--set {}={}", spec.code, spec.code.to_ascii_uppercase())
        });
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::MissingFlags(missing).into())
}

fn ask_type() -> Result<ConnectionType> {
    let labels: Vec<String> = ConnectionType::ALL
        .iter()
        .map(|t| format!("{:<10} {}", t.as_str(), t.label()))
        .collect();
    let items: Vec<&str> = labels.iter().map(String::as_str).collect();
    let index = prompt::select("Connection type", &items)?;
    Ok(ConnectionType::ALL[index])
}

/// Asks for the name and every field not given on the command line.
fn interview(
    kind: ConnectionType,
    name: &mut Option<String>,
    gathered: &mut Gathered,
) -> Result<()> {
    if name.is_none() {
        *name = Some(prompt::text("Name", None, false)?);
    }
    for spec in kind.fields() {
        if gathered.has(spec.code) {
            continue;
        }
        if spec.secret {
            // S3's secret key is asked only when its key id was given.
            let wanted =
                spec.required || (kind == ConnectionType::S3 && gathered.has("access_key_id"));
            if wanted {
                let value = prompt::new_secret(&format!("{} (hidden)", spec.label))?;
                gathered.push_secret(kind, spec.code.to_string(), value)?;
            }
            continue;
        }
        let label = if spec.required {
            spec.label.to_string()
        } else {
            format!("{} (optional)", spec.label)
        };
        loop {
            let value = prompt::text(&label, spec.default, !spec.required)?;
            if value.is_empty() {
                break;
            }
            match gathered.push_plain(kind, spec.code.to_string(), &value) {
                Ok(()) => break,
                Err(e) => eprintln!("  {e}"),
            }
        }
    }
    if kind == ConnectionType::Custom && gathered.given.is_empty() {
        ask_custom_fields(gathered)?;
    }
    Ok(())
}

fn ask_custom_fields(gathered: &mut Gathered) -> Result<()> {
    loop {
        let code = prompt::text("Field code (empty to finish)", None, true)?;
        if code.is_empty() {
            return Ok(());
        }
        if let Err(e) = domain::connection_type::check_custom_code(&code) {
            eprintln!("  {e}");
            continue;
        }
        if prompt::confirm(&format!("Is '{code}' secret?"))? {
            let value = prompt::new_secret(&format!("{code} (hidden)"))?;
            gathered.push_secret(ConnectionType::Custom, code, value)?;
        } else {
            let value = prompt::text(&code, None, true)?;
            gathered.push_plain(ConnectionType::Custom, code, &value)?;
        }
    }
}

fn confirm_summary(new: &NewConnection) -> Result<bool> {
    eprintln!(
        "\n  {} connection '{}' ({})",
        new.kind.label(),
        new.identifier,
        new.name
    );
    for (code, value) in &new.fields {
        let shown = match value {
            Value::Plain(v) => v.as_str(),
            _ => output::MASK,
        };
        eprintln!("    {code:<20} {}", crate::terminal_text::inline(shown));
    }
    eprintln!();
    prompt::confirm_yes("Save this connection?")
}
