//! Export formats for environment variables (DESIGN.md section 6): sh, fish, dotenv, powershell
//! and json. Each quotes so that the reader gets every byte back, CR, LF and quotes included.

use std::fmt::Write;

use zeroize::Zeroizing;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Sh,
    Fish,
    Dotenv,
    Powershell,
    Json,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Sh,
        Format::Fish,
        Format::Dotenv,
        Format::Powershell,
        Format::Json,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sh => "sh",
            Format::Fish => "fish",
            Format::Dotenv => "dotenv",
            Format::Powershell => "powershell",
            Format::Json => "json",
        }
    }
}

/// Renders `(name, value)` pairs, already checked and sorted by the caller, in `format`.
pub fn render(format: Format, vars: &[(&str, &str)]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    if format == Format::Json {
        let map: serde_json::Map<String, serde_json::Value> = vars
            .iter()
            .map(|(n, v)| (n.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        let text = Zeroizing::new(serde_json::to_string_pretty(&map).unwrap_or_default());
        out.push_str(&text);
        out.push('\n');
        return out;
    }
    for (name, value) in vars {
        let _ = match format {
            Format::Sh => writeln!(
                out,
                "export {name}='{}'",
                value.replace('\'', "'\\''").as_str()
            ),
            Format::Fish => writeln!(out, "set -gx {name} '{}'", fish_quote(value).as_str()),
            Format::Dotenv => writeln!(out, "{name}=\"{}\"", dotenv_quote(value).as_str()),
            Format::Powershell => {
                writeln!(out, "$env:{name} = '{}'", powershell_quote(value).as_str())
            }
            Format::Json => Ok(()),
        };
    }
    out
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

fn dotenv_quote(value: &str) -> Zeroizing<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_quotes_single_quotes() {
        assert_eq!(
            render(Format::Sh, &[("A", "it's")]).as_str(),
            "export A='it'\\''s'\n"
        );
    }

    #[test]
    fn fish_escapes_backslash_and_quote() {
        assert_eq!(
            render(Format::Fish, &[("A", "a\\'b")]).as_str(),
            "set -gx A 'a\\\\\\'b'\n"
        );
    }

    #[test]
    fn dotenv_escapes_controls() {
        assert_eq!(
            render(Format::Dotenv, &[("A", "x\"\n\r\t\\")]).as_str(),
            "A=\"x\\\"\\n\\r\\t\\\\\"\n"
        );
    }

    #[test]
    fn powershell_doubles_quotes() {
        assert_eq!(
            render(Format::Powershell, &[("A", "it's")]).as_str(),
            "$env:A = 'it''s'\n"
        );
    }
}
