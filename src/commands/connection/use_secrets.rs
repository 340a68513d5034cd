//! `ohx connection get | env | url`: hand credentials to scripts (editor or admin).

use std::collections::BTreeMap;

use anyhow::Result;
use zeroize::Zeroizing;

use crate::access::{Opened, Value};
use crate::credentials::{self, Native};
use crate::domain::export::{self, Format};
use crate::domain::{Action, ConnectionType, Secret};
use crate::error::Error;
use crate::output;
use crate::session::Session;

/// Opens each referenced connection for use (editor or admin); see `access::Access::open_for_use`.
pub fn open_for_use(session: &mut Session, references: &[String]) -> Result<Vec<Opened>> {
    let wanted = references
        .iter()
        .map(|r| session.resolve(r))
        .collect::<Result<Vec<_>>>()?;
    session.access.open_for_use(&wanted)
}

pub fn get(session: &mut Session, reference: &str, field: &str, no_newline: bool) -> Result<()> {
    // A plain field is what `show` displays to every member, viewers included: it needs no
    // right to use secrets. Anything else goes the way of secrets, and their checks.
    if let Some(value) = plain_field(session, reference, field) {
        return print_field(session, reference, field, &value, no_newline);
    }
    let opened = open_for_use(session, &[reference.to_string()])?;
    let Some(connection) = opened.first() else {
        return Ok(());
    };
    let value = connection.value(field).ok_or_else(|| Error::NoSuchField {
        connection: connection.label(),
        field: field.into(),
        codes: connection.fields.iter().map(|(c, _)| c.clone()).collect(),
    })?;
    if session.globals.json {
        return output::json(&serde_json::json!({
            "workspace": connection.workspace,
            "identifier": connection.identifier,
            "field": field,
            "value": value,
        }));
    }
    let newline = if no_newline { "" } else { "\n" };
    let text = Secret::new(format!("{value}{newline}"));
    output::write_stdout(text.expose_secret())
}

/// The value of `field` of the connection when it is a plain (non-secret) field the user may see.
fn plain_field(session: &mut Session, reference: &str, field: &str) -> Option<String> {
    let (slug, id) = session.resolve(reference).ok()?;
    let view = session
        .access
        .read(&slug, Action::ShowFields, |ws| Ok(ws.view(&id, false)?))
        .ok()?;
    view.fields.into_iter().find_map(|f| match f.value {
        Value::Plain(v) if f.code == field => Some(v),
        _ => None,
    })
}

fn print_field(
    session: &Session,
    reference: &str,
    field: &str,
    value: &str,
    no_newline: bool,
) -> Result<()> {
    if session.globals.json {
        let (workspace, identifier) = session.resolve(reference)?;
        return output::json(&serde_json::json!({
            "workspace": workspace,
            "identifier": identifier,
            "field": field,
            "value": value,
        }));
    }
    let newline = if no_newline { "" } else { "\n" };
    output::write_stdout(&format!("{value}{newline}"))
}

pub fn env(
    session: &mut Session,
    references: &[String],
    format: Option<Format>,
    native: bool,
    output_file: Option<&std::path::Path>,
) -> Result<()> {
    // `--json` is `--format json`, the same document; a different --format with it is a
    // contradiction, not something to ignore.
    let format = match (format, session.globals.json) {
        (Some(f), true) if f != Format::Json => {
            return Err(Error::JsonAndFormat(f.as_str().into()).into())
        }
        (Some(f), _) => f,
        (None, true) => Format::Json,
        (None, false) => Format::Sh,
    };
    let opened = open_for_use(session, references)?;
    let no_files = BTreeMap::new();
    let vars = credentials::variables(
        &opened,
        &Native {
            enabled: native,
            only_for: None,
            gcs_key_files: &no_files,
        },
    )?;
    if native && opened.iter().any(|o| o.kind == ConnectionType::Gcs) {
        session.printer.notice(
            "note: GOOGLE_APPLICATION_CREDENTIALS is a file path, so only `ohx run` sets it",
        );
    }
    if format == Format::Dotenv {
        for var in vars
            .iter()
            .filter(|v| v.value.expose_secret().contains('$'))
        {
            output::warning(&format!(
                    "{} contains '$'; dotenv readers expand ${{...}} even inside quotes: read this file with interpolation off (python-dotenv: dotenv_values(path, interpolate=False))",
                    var.origin
                ),
            );
        }
    }
    let pairs: Vec<(&str, &str)> = vars
        .iter()
        .map(|v| (v.name.as_str(), v.value.expose_secret()))
        .collect();
    let text = export::render(format, &pairs)
        .map_err(|refusal| Error::FormatRefused(refusal.to_string()))?;
    match output_file {
        Some(path) => {
            crate::output_file::replace_private(path, text.as_bytes())?;
            session.printer.notice(&format!(
                "wrote {} variables to {} (mode 0600)",
                pairs.len(),
                path.display()
            ));
            Ok(())
        }
        None => output::write_stdout(&text),
    }
}

pub fn url(session: &mut Session, reference: &str) -> Result<()> {
    let opened = open_for_use(session, &[reference.to_string()])?;
    let Some(connection) = opened.first() else {
        return Ok(());
    };
    let url = url_of(connection)?;
    if session.globals.json {
        return output::json(&serde_json::json!({
            "workspace": connection.workspace,
            "identifier": connection.identifier,
            "url": url.expose_secret(),
        }));
    }
    output::write_stdout(Secret::new(format!("{}\n", url.expose_secret())).expose_secret())
}

/// The connection's URL: PostgreSQL with user, password and database percent-encoded.
fn url_of(c: &Opened) -> Result<Secret> {
    let field = |code: &str| c.value(code).unwrap_or_default();
    let url = match c.kind {
        ConnectionType::Postgresql => {
            let host = field("host");
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.to_string()
            };
            format!(
                "postgresql://{}:{}@{host}:{}/{}",
                percent_encode(field("username")).as_str(),
                percent_encode(field("password")).as_str(),
                field("port"),
                percent_encode(field("db_name")).as_str()
            )
        }
        ConnectionType::Dhis2 | ConnectionType::Iaso => field("url").to_string(),
        ConnectionType::S3 => format!("s3://{}", field("bucket_name")),
        ConnectionType::Gcs => format!("gs://{}", field("bucket_name")),
        ConnectionType::Custom => return Err(Error::NoUrl(c.label()).into()),
    };
    Ok(Secret::new(url))
}

/// Encodes every byte outside RFC 3986's unreserved set.
fn percent_encode(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_covers_userinfo_delimiters() {
        assert_eq!(
            percent_encode("p@ss:/%'é").as_str(),
            "p%40ss%3A%2F%25%27%C3%A9"
        );
    }
}
