//! `ohx connection get | env | url`: hand credentials to scripts (editor or admin).

use std::collections::BTreeMap;

use anyhow::Result;
use zeroize::Zeroizing;

use crate::access::Opened;
use crate::credentials::{self, Native};
use crate::domain::export::{self, Format};
use crate::domain::{ConnectionType, Secret};
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

pub fn env(
    session: &mut Session,
    references: &[String],
    format: Format,
    native: bool,
) -> Result<()> {
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
    output::write_stdout(&export::render(format, &pairs))
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
