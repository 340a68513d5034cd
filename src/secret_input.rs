//! Where secret values come from: a hidden prompt, stdin (`-`), an environment variable
//! (`env:VAR`) or a file (`file:PATH`). Never from argv: a literal after `--secret CODE=` is refused,
//! and `--set` on a secret field is refused, both with advice and without quoting the value.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::prompt;

/// Where one secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Prompt,
    Stdin,
    Env(String),
    File(PathBuf),
}

/// Parses `CODE` or `CODE=SOURCE`.
pub fn parse_secret_arg(arg: &str) -> Result<(String, SecretSource)> {
    let Some((code, source)) = arg.split_once('=') else {
        return Ok((arg.to_string(), SecretSource::Prompt));
    };
    let source = if source == "-" {
        SecretSource::Stdin
    } else if let Some(var) = source.strip_prefix("env:") {
        SecretSource::Env(var.to_string())
    } else if let Some(path) = source.strip_prefix("file:") {
        SecretSource::File(PathBuf::from(path))
    } else {
        return Err(Error::SecretLiteral(code.into()).into());
    };
    Ok((code.to_string(), source))
}

/// Parses `CODE=VALUE` for a plain field.
pub fn parse_set_arg(arg: &str) -> Result<(String, String)> {
    match arg.split_once('=') {
        Some((code, value)) if !code.is_empty() => Ok((code.to_string(), value.to_string())),
        _ => Err(Error::BadSetArgument(arg.into()).into()),
    }
}

/// The advice given when a secret field is passed with `--set`.
pub fn refuse_set_for_secret(code: &str) -> anyhow::Error {
    Error::SecretOnArgv(code.into()).into()
}

/// Reads one secret. `interactive` says whether a prompt may be shown.
pub fn read(code: &str, source: &SecretSource, interactive: bool) -> Result<SecretString> {
    let text = match source {
        SecretSource::Prompt => {
            if !interactive {
                return Err(Error::SecretNeedsTerminal(code.into()).into());
            }
            return checked(
                code,
                prompt::new_secret(&format!("{code} (hidden)"))?,
                "the prompt",
            );
        }
        SecretSource::Stdin => {
            let mut bytes = Zeroizing::new(Vec::new());
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            let mut text = decode(code, &bytes, "stdin")?;
            strip_one_newline(&mut text);
            text
        }
        SecretSource::Env(var) => match std::env::var_os(var) {
            None => {
                return Err(Error::SecretVariableUnset {
                    code: code.into(),
                    var: var.clone(),
                }
                .into())
            }
            Some(value) => {
                let bytes = Zeroizing::new(value.into_encoded_bytes());
                decode(code, &bytes, &format!("${var}"))?
            }
        },
        SecretSource::File(path) => {
            let bytes =
                Zeroizing::new(
                    std::fs::read(path).map_err(|e| Error::SecretFileUnreadable {
                        code: code.into(),
                        path: path.clone(),
                        cause: e.to_string(),
                    })?,
                );
            decode(code, &bytes, &path.display().to_string())?
        }
    };
    let origin = match source {
        SecretSource::Stdin => "stdin".to_string(),
        SecretSource::Env(var) => format!("${var}"),
        SecretSource::File(p) => p.display().to_string(),
        SecretSource::Prompt => "the prompt".to_string(),
    };
    checked(code, SecretString::from(text.to_string()), &origin)
}

fn checked(code: &str, value: SecretString, origin: &str) -> Result<SecretString> {
    if value.expose_secret().is_empty() {
        return Err(Error::EmptySecret {
            code: code.into(),
            origin: origin.into(),
        }
        .into());
    }
    Ok(value)
}

fn decode(code: &str, bytes: &[u8], origin: &str) -> Result<Zeroizing<String>> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::SecretNotUtf8 {
        code: code.into(),
        origin: origin.into(),
    })?;
    if text.contains('\0') {
        return Err(Error::SecretHasNul {
            code: code.into(),
            origin: origin.into(),
        }
        .into());
    }
    Ok(Zeroizing::new(text.to_string()))
}

/// `echo secret | ohx ...` adds one newline; a multi-line value (a GCS key) is kept exactly.
fn strip_one_newline(text: &mut Zeroizing<String>) {
    if let Some(body) = text.strip_suffix('\n') {
        if !body.contains('\n') {
            let len = body.len();
            text.truncate(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_values_are_refused_without_being_quoted() {
        let err = parse_secret_arg("password=hunter2-canary")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not a source"));
        assert!(!err.contains("hunter2-canary"));
    }

    #[test]
    fn sources_parse() {
        assert_eq!(
            parse_secret_arg("p").ok(),
            Some(("p".into(), SecretSource::Prompt))
        );
        assert_eq!(
            parse_secret_arg("p=-").ok(),
            Some(("p".into(), SecretSource::Stdin))
        );
        assert_eq!(
            parse_secret_arg("p=env:X").ok(),
            Some(("p".into(), SecretSource::Env("X".into())))
        );
        assert_eq!(
            parse_secret_arg("p=file:/a").ok(),
            Some(("p".into(), SecretSource::File("/a".into())))
        );
    }

    #[test]
    fn one_trailing_newline_is_removed_from_single_lines_only() {
        let mut one = Zeroizing::new("abc\n".to_string());
        strip_one_newline(&mut one);
        assert_eq!(one.as_str(), "abc");
        let mut two = Zeroizing::new("abc\n\n".to_string());
        strip_one_newline(&mut two);
        assert_eq!(two.as_str(), "abc\n\n");
        let mut multi = Zeroizing::new("{\n\"a\": 1\n}\n".to_string());
        strip_one_newline(&mut multi);
        assert_eq!(multi.as_str(), "{\n\"a\": 1\n}\n");
    }
}
