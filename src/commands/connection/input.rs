//! Field values from `--set CODE=VALUE` and `--secret CODE[=SOURCE]`, checked against the type's
//! schema. Shared by `add` and `edit`.

use std::collections::HashSet;

use anyhow::Result;
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::access::Value;
use crate::domain::connection_type::check_custom_code;
use crate::domain::ConnectionType;
use crate::error::Error;
use crate::secret_input::{self, SecretSource};

/// One field value the user gave.
pub struct Given {
    pub code: String,
    pub value: Value,
}

/// Checked values and the notices to show (such as a normalised URL).
pub struct Gathered {
    pub given: Vec<Given>,
    pub notices: Vec<String>,
}

/// Reads and checks `--set` and `--secret` arguments. `existing_secret(code)` tells, for an edit,
/// whether a custom field already exists and is secret.
pub fn gather(
    kind: ConnectionType,
    set: &[String],
    secret: &[String],
    interactive: bool,
    existing_secret: &dyn Fn(&str) -> Option<bool>,
) -> Result<Gathered> {
    let mut seen = HashSet::new();
    let mut plain = Vec::new();
    for arg in set {
        let (code, value) = secret_input::parse_set_arg(arg)?;
        check_code(kind, &code, false, existing_secret)?;
        once(&mut seen, &code)?;
        plain.push((code, value));
    }
    let mut sources = Vec::new();
    for arg in secret {
        let (code, source) = secret_input::parse_secret_arg(arg)?;
        check_code(kind, &code, true, existing_secret)?;
        once(&mut seen, &code)?;
        sources.push((code, source));
    }
    if sources
        .iter()
        .filter(|(_, s)| *s == SecretSource::Stdin)
        .count()
        > 1
    {
        return Err(Error::TwoSecretsFromStdin.into());
    }
    let mut gathered = Gathered {
        given: Vec::new(),
        notices: Vec::new(),
    };
    for (code, value) in plain {
        gathered.push_plain(kind, code, &value)?;
    }
    for (code, source) in sources {
        let value = secret_input::read(&code, &source, interactive)?;
        gathered.push_secret(kind, code, value)?;
    }
    Ok(gathered)
}

impl Gathered {
    pub fn push_plain(&mut self, kind: ConnectionType, code: String, value: &str) -> Result<()> {
        let (normalised, notice) = kind.check_plain_value(&code, value)?;
        self.notices.extend(notice);
        self.given.push(Given {
            code,
            value: Value::Plain(normalised),
        });
        Ok(())
    }

    pub fn push_secret(
        &mut self,
        kind: ConnectionType,
        code: String,
        value: secrecy::SecretString,
    ) -> Result<()> {
        // Secrets are checked but never rewritten; the copy the check returns is wiped.
        let (_copy, _) = kind
            .check_value(&code, value.expose_secret())
            .map(|(v, n)| (Zeroizing::new(v), n))?;
        self.given.push(Given {
            code,
            value: Value::Secret(value.into()),
        });
        Ok(())
    }

    pub fn has(&self, code: &str) -> bool {
        self.given.iter().any(|g| g.code == code)
    }
}

fn once(seen: &mut HashSet<String>, code: &str) -> Result<()> {
    if !seen.insert(code.to_string()) {
        return Err(Error::FieldTwice(code.into()).into());
    }
    Ok(())
}

/// Checks that `code` may be given with `--set` (secret = false) or `--secret` (secret = true).
fn check_code(
    kind: ConnectionType,
    code: &str,
    as_secret: bool,
    existing_secret: &dyn Fn(&str) -> Option<bool>,
) -> Result<()> {
    if kind == ConnectionType::Custom {
        check_custom_code(code)?;
        if !as_secret && existing_secret(code) == Some(true) {
            return Err(secret_input::refuse_set_for_secret(code));
        }
        return Ok(());
    }
    let Some(spec) = kind.field(code) else {
        return Err(Error::UnknownField {
            code: code.into(),
            kind: kind.to_string(),
            codes: kind.codes(),
        }
        .into());
    };
    match (spec.secret, as_secret) {
        (true, false) => Err(secret_input::refuse_set_for_secret(code)),
        (false, true) => Err(Error::NotASecretField(code.into()).into()),
        _ => Ok(()),
    }
}
