//! `workspace.yaml`, the file the OpenHEXA SDK reads in its local mode (`python pipeline.py`) and
//! that `openhexa pipelines run` passes to its container, under the SDK's own keys: `dhis2`,
//! `iaso`: url, username, password; `postgresql`: host, port, username, password,
//! `database_name`; `s3`: bucket_name, access_key_id, `secret_access_key`; `gcs`: bucket_name,
//! service_account_key; `custom`: each field under its code.
//!
//! Every key and value is a YAML double-quoted scalar with everything that could end or bend it
//! escaped (quotes, backslashes, line breaks of every kind, control characters), so the SDK's
//! `yaml.safe_load` gets every byte back and never a number, a boolean or a null.

use std::fmt::Write;

use zeroize::Zeroizing;

use crate::domain::ConnectionType;

/// One connection to write: identifier, type and every field in clear.
pub struct Entry<'a> {
    pub identifier: &'a str,
    pub kind: ConnectionType,
    pub fields: Vec<(&'a str, &'a str)>,
}

/// The SDK's key for a field code, or `None` when the SDK reads it under the same name.
fn sdk_key(kind: ConnectionType, code: &str) -> &str {
    match (kind, code) {
        (ConnectionType::Postgresql, "db_name") => "database_name",
        (ConnectionType::S3, "access_key_secret") => "secret_access_key",
        _ => code,
    }
}

/// Keys the SDK's reader indexes without a default: an S3 connection without keys (a public
/// bucket) still needs them present, empty.
fn required_keys(kind: ConnectionType) -> &'static [&'static str] {
    match kind {
        ConnectionType::S3 => &["access_key_id", "secret_access_key"],
        _ => &[],
    }
}

/// Renders the document, or names the field the SDK could not read back.
pub fn render(entries: &[Entry<'_>]) -> Result<Zeroizing<String>, String> {
    let mut out = Zeroizing::new(String::new());
    out.push_str("# Written by `ohx connection export --format workspace-yaml`.\n");
    out.push_str("# It holds secrets in clear: keep it private, out of version control, and delete it when done.\n");
    out.push_str("connections:\n");
    for entry in entries {
        let _ = writeln!(out, "  {}:", quote(entry.identifier).as_str());
        let _ = writeln!(out, "    \"type\": {}", quote(entry.kind.as_str()).as_str());
        let mut written: Vec<&str> = vec!["type"];
        for (code, value) in &entry.fields {
            let key = sdk_key(entry.kind, code);
            if written.contains(&key) {
                return Err(format!(
                    "{}: the field '{code}' would be read as the SDK's '{key}' key, which is taken",
                    entry.identifier
                ));
            }
            written.push(key);
            let _ = writeln!(
                out,
                "    {}: {}",
                quote(key).as_str(),
                quote(value).as_str()
            );
        }
        for key in required_keys(entry.kind) {
            if !written.contains(key) {
                let _ = writeln!(out, "    {}: \"\"", quote(key).as_str());
            }
        }
    }
    Ok(out)
}

/// A YAML double-quoted scalar.
pub fn quote(value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(value.len() + 2));
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            // C1 controls, the byte-order mark and non-characters are not printable YAML.
            c if (0x80..0xa0).contains(&(c as u32))
                || c == '\u{feff}'
                || c == '\u{fffe}'
                || c == '\u{ffff}' =>
            {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_yaml_would_bend() {
        assert_eq!(quote("a\"b\\c").as_str(), r#""a\"b\\c""#);
        assert_eq!(quote("l1\nl2\r\u{2028}").as_str(), r#""l1\nl2\r\L""#);
        assert_eq!(quote("\u{1}\u{7f}\u{85}").as_str(), r#""\x01\x7f\N""#);
        assert_eq!(quote("yes").as_str(), "\"yes\"");
        assert_eq!(quote("Données $HOME").as_str(), "\"Données $HOME\"");
    }

    #[test]
    fn sdk_key_names() {
        let fields = vec![("bucket_name", "b")];
        let doc = render(&[Entry {
            identifier: "archive",
            kind: ConnectionType::S3,
            fields: fields.clone(),
        }]);
        let doc = doc.map(|d| d.to_string()).unwrap_or_default();
        assert!(doc.contains("\"secret_access_key\": \"\""));
        assert!(doc.contains("\"access_key_id\": \"\""));
        assert_eq!(
            sdk_key(ConnectionType::Postgresql, "db_name"),
            "database_name"
        );
    }

    #[test]
    fn a_custom_field_named_type_is_refused() {
        let fields = vec![("type", "x")];
        assert!(render(&[Entry {
            identifier: "c",
            kind: ConnectionType::Custom,
            fields: fields.clone(),
        }])
        .is_err());
    }
}
