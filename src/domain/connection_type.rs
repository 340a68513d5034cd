//! The six connection types and their field schemas, as data (docs/ARCHITECTURE.md, "Where each rule lives").
//!
//! Field codes are exactly OpenHEXA's (`db_name`, `access_key_secret`, ...), because the SDK reads
//! environment variables named after them. Validation never quotes a secret value back: messages
//! name the field and the rule only.

use std::fmt;

use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionType {
    Postgresql,
    Dhis2,
    Iaso,
    S3,
    Gcs,
    Custom,
}

/// One field of a typed connection.
#[derive(Debug)]
pub struct FieldSpec {
    pub code: &'static str,
    pub label: &'static str,
    pub required: bool,
    pub secret: bool,
    pub default: Option<&'static str>,
}

const fn field(code: &'static str, label: &'static str, required: bool, secret: bool) -> FieldSpec {
    FieldSpec {
        code,
        label,
        required,
        secret,
        default: None,
    }
}

const POSTGRESQL: &[FieldSpec] = &[
    field("host", "Host", true, false),
    FieldSpec {
        code: "port",
        label: "Port",
        required: true,
        secret: false,
        default: Some("5432"),
    },
    field("username", "Username", true, false),
    field("password", "Password", true, true),
    field("db_name", "Database name", true, false),
];
const DHIS2: &[FieldSpec] = &[
    field("url", "URL", true, false),
    field("username", "Username", true, false),
    field("password", "Password", true, true),
];
const IASO: &[FieldSpec] = DHIS2;
const S3: &[FieldSpec] = &[
    field("bucket_name", "Bucket name", true, false),
    field("access_key_id", "Access key ID", false, false),
    field("access_key_secret", "Secret access key", false, true),
];
const GCS: &[FieldSpec] = &[
    field("bucket_name", "Bucket name", true, false),
    field(
        "service_account_key",
        "Service account key (JSON)",
        true,
        true,
    ),
];

/// Longest custom field code: `^[a-z][a-z0-9_]{0,29}$`.
pub const CUSTOM_CODE_MAX: usize = 30;

impl ConnectionType {
    pub const ALL: [ConnectionType; 6] = [
        ConnectionType::Postgresql,
        ConnectionType::Dhis2,
        ConnectionType::Iaso,
        ConnectionType::S3,
        ConnectionType::Gcs,
        ConnectionType::Custom,
    ];

    /// The type a stored name stands for, exactly as [`ConnectionType::as_str`] writes it.
    pub fn from_stored(text: &str) -> Option<ConnectionType> {
        ConnectionType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Postgresql => "postgresql",
            ConnectionType::Dhis2 => "dhis2",
            ConnectionType::Iaso => "iaso",
            ConnectionType::S3 => "s3",
            ConnectionType::Gcs => "gcs",
            ConnectionType::Custom => "custom",
        }
    }

    /// How a person would call it, for menus.
    pub fn label(self) -> &'static str {
        match self {
            ConnectionType::Postgresql => "PostgreSQL",
            ConnectionType::Dhis2 => "DHIS2",
            ConnectionType::Iaso => "IASO",
            ConnectionType::S3 => "Amazon S3",
            ConnectionType::Gcs => "Google Cloud Storage",
            ConnectionType::Custom => "Custom",
        }
    }

    /// The fixed schema; empty for `custom`, whose fields are whatever the user declares.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            ConnectionType::Postgresql => POSTGRESQL,
            ConnectionType::Dhis2 => DHIS2,
            ConnectionType::Iaso => IASO,
            ConnectionType::S3 => S3,
            ConnectionType::Gcs => GCS,
            ConnectionType::Custom => &[],
        }
    }

    pub fn field(self, code: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.code == code)
    }

    /// The codes a user may give, for error messages.
    pub fn codes(self) -> String {
        self.fields()
            .iter()
            .map(|f| f.code)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks and normalises one value. Returns the value to store and, when it was changed, a
    /// notice for the user. `value` may be a secret: errors never include it.
    pub fn check_value(self, code: &str, value: &str) -> Result<(String, Option<String>), Error> {
        check_text(code, value)?;
        let invalid = |rule: &str| Error::InvalidValue {
            what: "field",
            value: code.into(),
            rule: rule.into(),
        };
        match (self, code) {
            (ConnectionType::Postgresql, "port") => {
                let ok = value
                    .trim()
                    .parse::<u32>()
                    .is_ok_and(|p| (1..=65535).contains(&p));
                if !ok {
                    return Err(invalid("the port must be a number from 1 to 65535"));
                }
                Ok((value.trim().to_string(), None))
            }
            (ConnectionType::Dhis2, "url") => {
                check_http_url(value).map_err(|rule| invalid(&rule))?;
                let normalised = normalise_dhis2_url(value);
                let notice = (normalised != value).then(|| {
                    if normalised.ends_with("/api") {
                        format!("using the DHIS2 URL {normalised}: its base already contains '/api', and the OpenHEXA toolbox adds '/api' only to URLs without one")
                    } else {
                        format!("using the DHIS2 base URL {normalised} (trailing '/' and '/api' removed)")
                    }
                });
                Ok((normalised, notice))
            }
            (ConnectionType::Iaso, "url") => {
                check_http_url(value).map_err(|rule| invalid(&rule))?;
                Ok((value.to_string(), None))
            }
            (ConnectionType::S3 | ConnectionType::Gcs, "bucket_name") => {
                check_bucket_name(value).map_err(|rule| invalid(&rule))?;
                Ok((value.to_string(), None))
            }
            (ConnectionType::Gcs, "service_account_key") => {
                check_service_account_key(value).map_err(|rule| invalid(&rule))?;
                Ok((value.to_string(), None))
            }
            _ => Ok((value.to_string(), None)),
        }
    }

    /// [`ConnectionType::check_value`] for a value that is not secret, so it is shown on terminals:
    /// line breaks and tabs are kept (values round-trip exactly), nothing else a terminal obeys.
    pub fn check_plain_value(
        self,
        code: &str,
        value: &str,
    ) -> Result<(String, Option<String>), Error> {
        super::check_free_text("field", code, value, &['\n', '\r', '\t'])?;
        self.check_value(code, value)
    }

    /// Checks which fields are present: required ones, and S3's "both keys or neither".
    pub fn check_presence(self, present: &dyn Fn(&str) -> bool) -> Result<(), Error> {
        if self == ConnectionType::S3 && present("access_key_id") != present("access_key_secret") {
            return Err(Error::InvalidValue {
                what: "s3 connection",
                value: "access_key_id/access_key_secret".into(),
                rule: "give both access_key_id and access_key_secret, or neither (for a public bucket or an instance role)".into(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for ConnectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every value: valid UTF-8 (guaranteed by `&str`) and no NUL byte; required values not empty.
fn check_text(code: &str, value: &str) -> Result<(), Error> {
    if value.contains('\0') {
        return Err(Error::InvalidValue {
            what: "field",
            value: code.into(),
            rule: "values must not contain NUL bytes".into(),
        });
    }
    Ok(())
}

/// A custom field code: `^[a-z][a-z0-9_]{0,29}$`.
pub fn check_custom_code(code: &str) -> Result<(), Error> {
    let ok = code.starts_with(|c: char| c.is_ascii_lowercase())
        && code.len() <= CUSTOM_CODE_MAX
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            what: "field code",
            value: code.into(),
            rule: "use 1 to 30 lower-case letters, digits and '_', starting with a letter".into(),
        })
    }
}

fn check_http_url(value: &str) -> Result<(), String> {
    let scheme_end = value.find("://").map_or(0, |i| i + 3);
    let scheme = value[..scheme_end].to_ascii_lowercase();
    let rest = Some(&value[scheme_end..])
        .filter(|_| scheme == "https://" || scheme == "http://")
        .ok_or_else(|| "the URL must be absolute and start with https:// or http://".to_string())?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the URL needs a host and no spaces".into());
    }
    Ok(())
}

/// Removes trailing slashes and a trailing `/api`, which the DHIS2 client adds itself. The
/// OpenHEXA toolbox's client adds `/api` only when the URL has no `/api` anywhere, so a base
/// that already contains one (an `api.` host, whose `//api` matches, or a path like `/apis`)
/// keeps an explicit trailing `/api`: every client then reaches `<base>/api/...`.
fn normalise_dhis2_url(value: &str) -> String {
    let mut url = value.trim_end_matches('/');
    if let Some(base) = url.strip_suffix("/api") {
        url = base.trim_end_matches('/');
    }
    if url.contains("/api") {
        return format!("{url}/api");
    }
    url.to_string()
}

const RESERVED_BUCKET_PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_BUCKET_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// Amazon's bucket naming rules (also what GCS accepts for plain names).
fn check_bucket_name(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let looks_like_ip =
        name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    let problem = if !(3..=63).contains(&name.len()) {
        Some("a bucket name has 3 to 63 characters")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        Some("a bucket name has only lower-case letters, digits, '.' and '-'")
    } else if !edge_ok(bytes.first()) || !edge_ok(bytes.last()) {
        Some("a bucket name starts and ends with a letter or digit")
    } else if name.contains("..") {
        Some("a bucket name has no two adjacent dots")
    } else if looks_like_ip {
        Some("a bucket name is not an IP address")
    } else if RESERVED_BUCKET_PREFIXES.iter().any(|p| name.starts_with(p)) {
        Some("a bucket name does not start with 'xn--', 'sthree-' or 'amzn-s3-demo-' (reserved by AWS)")
    } else if RESERVED_BUCKET_SUFFIXES.iter().any(|p| name.ends_with(p)) {
        Some("a bucket name does not end with '-s3alias', '--ol-s3', '.mrap', '--x-s3' or '--table-s3' (reserved by AWS)")
    } else {
        None
    };
    problem.map_or(Ok(()), |p| Err(p.to_string()))
}

fn check_service_account_key(value: &str) -> Result<(), String> {
    let parsed: serde_json::Value = serde_json::from_str(value).map_err(|_| {
        "the service account key must be the JSON key file Google gives you".to_string()
    })?;
    let object = parsed
        .as_object()
        .ok_or("the service account key must be a JSON object")?;
    if object.get("type").and_then(|t| t.as_str()) != Some("service_account") {
        return Err("the key's \"type\" must be \"service_account\"".into());
    }
    for required in ["client_email", "private_key"] {
        if !object.get(required).is_some_and(|v| v.is_string()) {
            return Err(format!("the key has no \"{required}\""));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dhis2_url_loses_trailing_slashes_and_api() {
        let check = |v: &str| {
            ConnectionType::Dhis2
                .check_value("url", v)
                .map(|(v, _)| v)
                .ok()
        };
        assert_eq!(
            check("https://play.dhis2.org/40/api/").as_deref(),
            Some("https://play.dhis2.org/40")
        );
        assert_eq!(check("https://x.org//").as_deref(), Some("https://x.org"));
        assert_eq!(
            check("https://x.org/apis").as_deref(),
            Some("https://x.org/apis/api")
        );
        assert_eq!(
            check("https://api.dhis2.example/").as_deref(),
            Some("https://api.dhis2.example/api")
        );
        assert_eq!(
            check("https://api.dhis2.example/api").as_deref(),
            Some("https://api.dhis2.example/api")
        );
        assert_eq!(
            check("https://x.org/hmis/dhis/").as_deref(),
            Some("https://x.org/hmis/dhis")
        );
        assert!(check("play.dhis2.org").is_none());
        assert!(check("ftp://x.org").is_none());
    }

    #[test]
    fn bucket_rules() {
        for good in ["my-bucket", "a.b.c", "abc", "data-2024"] {
            assert!(check_bucket_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "My-Bucket",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
            "a_b",
        ] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_account_key_needs_its_fields() {
        let good =
            r#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN\nX\n"}"#;
        assert!(check_service_account_key(good).is_ok());
        assert!(check_service_account_key(
            r#"{"type":"user","client_email":"a","private_key":"k"}"#
        )
        .is_err());
        assert!(check_service_account_key("[1]").is_err());
        assert!(check_service_account_key("not json").is_err());
    }

    #[test]
    fn secret_values_never_appear_in_errors() {
        let secret = "canary-7f3a9";
        let err = ConnectionType::Gcs
            .check_value("service_account_key", secret)
            .err();
        assert!(err.is_some_and(|e| !e.to_string().contains(secret)));
    }

    #[test]
    fn custom_codes() {
        assert!(check_custom_code("api_token").is_ok());
        assert!(check_custom_code("Token").is_err());
        assert!(check_custom_code("_x").is_err());
        assert!(check_custom_code(&"a".repeat(31)).is_err());
    }
}
