//! `ohx connection test ID...`: check stored credentials against their systems (editor or
//! admin). The connections are opened in one call, checked side by side by `crate::probe`, and
//! reported one line each; any failure makes the command exit 1 after every line is printed.

use anyhow::Result;
use serde_json::json;

use crate::credentials::{self, Opened};
use crate::domain::ConnectionType;
use crate::error::Fail;
use crate::output;
use crate::probe::{self, Fields, Outcome, Settings};
use crate::session::Session;

pub fn run(session: &mut Session, references: &[String], timeout: &str) -> Result<()> {
    let timeout = probe::parse_timeout(timeout).ok_or_else(|| {
        Fail::usage(format!("invalid timeout '{timeout}'"))
            .hint("give a duration up to 1h such as 10s, 500ms or 2m")
    })?;
    let opened = credentials::open_for_use(session, references)?;
    let settings = Settings::from_env(timeout);
    let mut pending: Vec<_> = opened
        .iter()
        .map(|c| probe::start(c.kind, &fields_of(c), &settings))
        .collect();
    let outcomes: Vec<Outcome> = pending.iter_mut().map(|p| p.wait()).collect();

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
        let total = outcomes.len();
        return Err(Fail::failure(format!(
            "{failed} of {total} connection{} failed the test",
            if total == 1 { "" } else { "s" }
        ))
        .hint("each line says why; fix the stored fields with `ohx connection edit ID`, or the account at the source")
        .into());
    }
    Ok(())
}

/// The connection's values for the probe; in a custom connection every value counts as secret,
/// since ohx does not know which of them are.
fn fields_of(connection: &Opened) -> Fields {
    let mut fields = Fields::new();
    for (code, value) in &connection.fields {
        let secret = match connection.kind {
            ConnectionType::Custom => true,
            kind => kind.field(code).is_none_or(|f| f.secret),
        };
        fields.push(code, value.clone(), secret);
    }
    fields
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
