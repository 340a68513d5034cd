//! `ohx connection test ID...`: check stored credentials against their systems (editor or
//! admin). The connections are opened in one call, checked side by side by `crate::probe`, and
//! reported one line each; any failure makes the command exit 1 after every line is printed.
//! `add --test` and `edit --test` check the values about to be saved the same way.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use zeroize::Zeroizing;

use crate::access::{ConnectionEdit, NewConnection, Opened, Value};
use crate::cli::EditArgs;
use crate::domain::ConnectionType;
use crate::error::Error;
use crate::output::{self, Printer};
use crate::probe::{self, Fields, Outcome, Settings};
use crate::session::Session;

/// Most checks run at the same time: enough for a workspace's connections in one go, few
/// enough that testing hundreds does not open hundreds of sockets and threads at once.
const AT_ONCE: usize = 16;

/// How long `add --test` and `edit --test` wait, as OpenHEXA's own check does.
const SAVE_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(session: &mut Session, references: &[String], timeout: Duration) -> Result<()> {
    let opened = super::open_for_use(session, references)?;
    let settings = Settings::from_env(timeout);
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(opened.len());
    for batch in opened.chunks(AT_ONCE) {
        let mut pending: Vec<_> = batch
            .iter()
            .map(|c| probe::start(c.kind, &fields_of(c), &settings))
            .collect();
        outcomes.extend(pending.iter_mut().map(|p| p.wait()));
    }

    if session.globals.json {
        let results: Vec<serde_json::Value> = opened
            .iter()
            .zip(&outcomes)
            .map(|(c, outcome)| result_json(c, outcome))
            .collect();
        output::json(&results)?;
    } else {
        let text: String = opened
            .iter()
            .zip(&outcomes)
            .map(|(c, outcome)| format!("{}: {}\n", c.label(), line(outcome)))
            .collect();
        output::write_stdout(&text)?;
    }
    let failed = outcomes.iter().filter(|o| !o.is_success()).count();
    if failed > 0 {
        return Err(Error::ChecksFailed {
            failed,
            total: outcomes.len(),
        }
        .into());
    }
    Ok(())
}

/// `connection add --test`: checks the new connection before it is saved.
pub fn before_adding(printer: &Printer, new: &NewConnection, save_anyway: bool) -> Result<()> {
    let fields = fields_from(
        new.kind,
        new.fields
            .iter()
            .filter_map(|(code, value)| Some((code.as_str(), given_text(value)?))),
    );
    let outcome = probe::test(new.kind, &fields, &Settings::from_env(SAVE_TIMEOUT));
    verdict(printer, &outcome, save_anyway)
}

/// `connection edit --test`: checks the connection as it will be after `edit` (its stored
/// values, less `--unset`, with the new values applied) before the edit is saved.
pub fn before_editing(session: &mut Session, args: &EditArgs, edit: &ConnectionEdit) -> Result<()> {
    let opened = super::open_for_use(session, std::slice::from_ref(&args.id))?;
    let Some(current) = opened.first() else {
        return Ok(());
    };
    let mut values: Vec<(String, Zeroizing<String>)> = current
        .fields
        .iter()
        .filter(|(code, _)| !edit.unset.contains(code))
        .map(|(code, value)| {
            (
                code.clone(),
                Zeroizing::new(value.expose_secret().to_string()),
            )
        })
        .collect();
    for (code, value) in &edit.set {
        let Some(text) = given_text(value) else {
            continue;
        };
        match values.iter_mut().find(|(c, _)| c == code) {
            Some(slot) => slot.1 = text,
            None => values.push((code.clone(), text)),
        }
    }
    let fields = fields_from(
        current.kind,
        values.iter().map(|(c, v)| (c.as_str(), v.clone())),
    );
    let outcome = probe::test(current.kind, &fields, &Settings::from_env(SAVE_TIMEOUT));
    verdict(&session.printer, &outcome, args.save_anyway)
}

/// The connection's values for the probe.
fn fields_of(connection: &Opened) -> Fields {
    fields_from(
        connection.kind,
        connection
            .fields
            .iter()
            .map(|(c, v)| (c.as_str(), Zeroizing::new(v.expose_secret().to_string()))),
    )
}

/// Values for the probe; in a custom connection every value counts as secret, since ohx does
/// not know which of them are.
fn fields_from<'a>(
    kind: ConnectionType,
    values: impl Iterator<Item = (&'a str, Zeroizing<String>)>,
) -> Fields {
    let mut fields = Fields::new();
    for (code, value) in values {
        let secret = match kind {
            ConnectionType::Custom => true,
            kind => kind.field(code).is_none_or(|f| f.secret),
        };
        fields.push(code, value, secret);
    }
    fields
}

/// A value given to `add` or `edit`, in clear.
fn given_text(value: &Value) -> Option<Zeroizing<String>> {
    match value {
        Value::Plain(v) => Some(Zeroizing::new(v.clone())),
        Value::Secret(s) => Some(Zeroizing::new(s.expose_secret().to_string())),
        Value::Hidden => None,
    }
}

/// Says how the check went (on stderr: stdout confirms the save) and stops a failed one from
/// being saved unless `save_anyway`.
fn verdict(printer: &Printer, outcome: &Outcome, save_anyway: bool) -> Result<()> {
    let said = line(outcome);
    if outcome.is_success() {
        printer.notice(&format!("test: {said}"));
        return Ok(());
    }
    if save_anyway {
        output::warning(&format!(
            "the check failed ({said}); saving anyway (--save-anyway)"
        ));
        return Ok(());
    }
    Err(Error::CheckFailedNotSaved(said).into())
}

fn line(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Passed(proven) => format!("ok: {proven}"),
        Outcome::NothingToTest(why) => format!("nothing to test: {why}"),
        Outcome::Failed(f) => format!("{}: {}", f.class.as_str(), f.message),
    }
}

fn result_json(connection: &Opened, outcome: &Outcome) -> serde_json::Value {
    let (result, class, message) = match outcome {
        Outcome::Passed(proven) => ("ok", None, proven.as_str()),
        Outcome::NothingToTest(why) => ("nothing_to_test", None, why.as_str()),
        Outcome::Failed(f) => ("failed", Some(f.class), f.message.as_str()),
    };
    json!({
        "workspace": connection.workspace,
        "identifier": connection.identifier,
        "type": connection.kind.as_str(),
        "result": result,
        "class": class,
        "message": message,
    })
}
