//! Export formats for environment variables: the shells' own syntax (sh, fish, powershell), json,
//! and one `.env` format per reader that reads such files, because no two readers agree.
//!
//! Every format is a promise that its reader gets every byte back. Where a reader cannot be given
//! some value exactly (docker's `--env-file` has no quoting at all, so no line break; `node
//! --env-file` drops every CR), the format refuses and names the variables, instead of writing a
//! file that quietly hands the program something else. What each reader was found to do, and the
//! tests that hold it to that with the real reader, are in docs/FORMATS.md; the README's table
//! says which format serves which reader.

use std::fmt::{self, Write};

use zeroize::Zeroizing;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Sh,
    Fish,
    /// python-dotenv (and readers that follow its escapes).
    Dotenv,
    /// direnv's `dotenv` in an `.envrc`.
    Direnv,
    /// node's `dotenv` package (`require('dotenv').config()`).
    Node,
    /// `node --env-file=FILE`.
    NodeEnvFile,
    /// `docker run --env-file FILE`.
    Docker,
    Powershell,
    Json,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Sh,
        Format::Fish,
        Format::Dotenv,
        Format::Direnv,
        Format::Node,
        Format::NodeEnvFile,
        Format::Docker,
        Format::Powershell,
        Format::Json,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sh => "sh",
            Format::Fish => "fish",
            Format::Dotenv => "dotenv",
            Format::Direnv => "direnv",
            Format::Node => "node",
            Format::NodeEnvFile => "node-env-file",
            Format::Docker => "docker",
            Format::Powershell => "powershell",
            Format::Json => "json",
        }
    }

    /// Who reads this format, for messages.
    pub fn reader(self) -> &'static str {
        match self {
            Format::Sh => "sh",
            Format::Fish => "fish",
            Format::Dotenv => "python-dotenv",
            Format::Direnv => "direnv's dotenv",
            Format::Node => "node's dotenv package",
            Format::NodeEnvFile => "node --env-file",
            Format::Docker => "docker's --env-file",
            Format::Powershell => "PowerShell",
            Format::Json => "a JSON reader",
        }
    }
}

/// A format that cannot carry some values exactly: the variables and why, never the values.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub format: Format,
    /// `(variable name, what in its value the reader would alter)`.
    pub variables: Vec<(String, &'static str)>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listed: Vec<String> = self
            .variables
            .iter()
            .map(|(name, why)| format!("{name} ({why})"))
            .collect();
        write!(
            f,
            "{} would not read back exactly: {}",
            self.format.reader(),
            listed.join(", ")
        )
    }
}

impl std::error::Error for Refusal {}

/// Renders `(name, value)` pairs, already checked and sorted by the caller, in `format`; refuses,
/// naming every variable concerned, when the format's reader would alter a value.
pub fn render(format: Format, vars: &[(&str, &str)]) -> Result<Zeroizing<String>, Refusal> {
    let mut out = Zeroizing::new(String::new());
    if format == Format::Json {
        let map: serde_json::Map<String, serde_json::Value> = vars
            .iter()
            .map(|(n, v)| (n.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        let text = Zeroizing::new(serde_json::to_string_pretty(&map).unwrap_or_default());
        out.push_str(&text);
        out.push('\n');
        return Ok(out);
    }
    let mut refused = Vec::new();
    for (name, value) in vars {
        let line = match format {
            Format::Sh => Ok(format!("export {name}='{}'", value.replace('\'', "'\\''"))),
            Format::Fish => Ok(format!("set -gx {name} '{}'", fish_quote(value).as_str())),
            Format::Dotenv => Ok(format!("{name}=\"{}\"", escaped(value).as_str())),
            Format::Direnv => direnv(value).map(|v| format!("{name}={}", v.as_str())),
            Format::Node => node_dotenv(value).map(|v| format!("{name}={}", v.as_str())),
            Format::NodeEnvFile => node_env_file(value).map(|v| format!("{name}={}", v.as_str())),
            Format::Docker => docker(value).map(|()| format!("{name}={value}")),
            Format::Powershell => Ok(format!(
                "$env:{name} = '{}'",
                powershell_quote(value).as_str()
            )),
            Format::Json => Ok(String::new()),
        };
        match line.map(Zeroizing::new) {
            Ok(line) => {
                let _ = writeln!(out, "{}", line.as_str());
            }
            Err(why) => refused.push((name.to_string(), why)),
        }
    }
    if refused.is_empty() {
        Ok(out)
    } else {
        Err(Refusal {
            format,
            variables: refused,
        })
    }
}

/// PowerShell ends a single-quoted string at any of five quote characters, not only ASCII `'`;
/// each is doubled, as PowerShell's own code generator does.
fn powershell_quote(value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(value.len()));
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out
}

fn fish_quote(value: &str) -> Zeroizing<String> {
    Zeroizing::new(value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The inside of a double-quoted python-dotenv value: `\`, `"`, LF, CR and tab escaped.
fn escaped(value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(value.len()));
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out
}

fn has_line_break(value: &str) -> bool {
    value.contains(['\n', '\r'])
}

/// `value` between `quote`s, untouched.
fn quoted(quote: char, value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(value.len() + 2));
    out.push(quote);
    out.push_str(value);
    out.push(quote);
    out
}

/// direnv takes a single-quoted value literally up to the last quote of the line, but a single
/// quote cannot span lines; its double quotes understand `\n`, `\r`, `\"` and `\\` but expand
/// `$` and read `\t` (and a `\\` before `n`) wrongly. So: single quotes for one-line values,
/// escaped double quotes for the others when they hold none of `$`, tab and backslash.
fn direnv(value: &str) -> Result<Zeroizing<String>, &'static str> {
    if !has_line_break(value) {
        return Ok(quoted('\'', value));
    }
    if value.contains(['$', '\t', '\\']) {
        return Err("a line break together with '$', a tab or a backslash");
    }
    Ok(Zeroizing::new(format!("\"{}\"", escaped(value).as_str())))
}

/// node's dotenv package takes single- and backquoted values literally (line breaks included)
/// but turns every CR of the file into LF; inside double quotes it turns `\n` and `\r` into LF
/// and CR and leaves everything else, a backslash before a quote included. A value with a CR,
/// or with all three quote characters, goes in double quotes when it holds no `"` and no `\n` or
/// `\r` of its own; any other is refused.
fn node_dotenv(value: &str) -> Result<Zeroizing<String>, &'static str> {
    if !value.contains('\r') {
        if let Some(quote) = ['\'', '`'].into_iter().find(|q| !value.contains(*q)) {
            return Ok(quoted(quote, value));
        }
    }
    if value.contains('"') || value.contains("\\n") || value.contains("\\r") {
        return Err(if value.contains('\r') {
            "a CR together with '\"' or a backslash before n or r"
        } else {
            "all of ', ` and \" together with a backslash before n or r, or a \""
        });
    }
    let mut out = Zeroizing::new(String::with_capacity(value.len() + 2));
    out.push('"');
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
    out.push('"');
    Ok(out)
}

/// node's own `--env-file` parser drops every CR and has no escapes except `\n` in double quotes;
/// single- and backquoted values are literal, line breaks included. So: the first quote the
/// value does not hold, double quotes only when it holds no `\n` of its own.
fn node_env_file(value: &str) -> Result<Zeroizing<String>, &'static str> {
    if value.contains('\r') {
        return Err("a CR, which node drops");
    }
    if let Some(quote) = ['\'', '`'].into_iter().find(|q| !value.contains(*q)) {
        return Ok(quoted(quote, value));
    }
    if value.contains('"') || value.contains("\\n") {
        return Err("all of ', ` and \" together");
    }
    Ok(quoted('"', value))
}

/// docker's `--env-file` has no quoting: each line is `NAME=value`, taken as it is. A value can
/// hold anything but a line break.
fn docker(value: &str) -> Result<(), &'static str> {
    if has_line_break(value) {
        return Err("a line break, which docker's env files cannot hold");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn one(format: Format, value: &str) -> Result<String, Refusal> {
        render(format, &[("A", value)]).map(|text| text.to_string())
    }

    #[test]
    fn sh_quotes_single_quotes() {
        assert_eq!(one(Format::Sh, "it's").unwrap(), "export A='it'\\''s'\n");
    }

    #[test]
    fn fish_escapes_backslash_and_quote() {
        assert_eq!(
            one(Format::Fish, "a\\'b").unwrap(),
            "set -gx A 'a\\\\\\'b'\n"
        );
    }

    #[test]
    fn dotenv_escapes_controls() {
        assert_eq!(
            one(Format::Dotenv, "x\"\n\r\t\\").unwrap(),
            "A=\"x\\\"\\n\\r\\t\\\\\"\n"
        );
    }

    #[test]
    fn powershell_doubles_quotes() {
        assert_eq!(
            one(Format::Powershell, "it's").unwrap(),
            "$env:A = 'it''s'\n"
        );
    }

    #[test]
    fn docker_is_raw_and_refuses_line_breaks_by_name() {
        assert_eq!(
            one(Format::Docker, " 'a' \"$b\" #c").unwrap(),
            "A= 'a' \"$b\" #c\n"
        );
        let refusal = render(Format::Docker, &[("OK", "x"), ("BAD", "a\nb")]).unwrap_err();
        assert_eq!(refusal.variables.len(), 1);
        assert!(refusal.to_string().contains("BAD"));
        assert!(!refusal.to_string().contains("a\nb"));
    }

    #[test]
    fn node_formats_pick_a_quote_the_value_does_not_hold() {
        assert_eq!(one(Format::Node, "it's").unwrap(), "A=`it's`\n");
        assert_eq!(one(Format::NodeEnvFile, "a\"b").unwrap(), "A='a\"b'\n");
        assert_eq!(one(Format::Node, "a\rb").unwrap(), "A=\"a\\rb\"\n");
        assert!(one(Format::NodeEnvFile, "a\rb").is_err());
        assert!(one(Format::NodeEnvFile, "'`\"").is_err());
    }

    #[test]
    fn direnv_single_quotes_one_line_and_escapes_the_rest() {
        assert_eq!(one(Format::Direnv, "it's $x").unwrap(), "A='it's $x'\n");
        assert_eq!(one(Format::Direnv, "a\nb\"").unwrap(), "A=\"a\\nb\\\"\"\n");
        assert!(one(Format::Direnv, "a\n$b").is_err());
    }
}
