//! Exact mapping between ohx connections and OpenHEXA's: type names (`POSTGRESQL` and friends),
//! field codes (the same on both sides), identifiers and names. Whatever one side cannot hold is
//! refused with a sentence that says what and why, never silently changed or dropped.

use zeroize::Zeroizing;

use super::content::{Content, ContentField};
use super::documents::{RemoteConnection, RemoteField};
use crate::domain::{self, connection_type, env, slug, ConnectionType};

/// OpenHEXA limits: field codes are Django slugs of at most 30 characters, connection slugs
/// Django slugs of at most 100, names at most 255 characters.
pub const REMOTE_CODE_MAX: usize = 30;
pub const REMOTE_SLUG_MAX: usize = 100;
pub const REMOTE_NAME_MAX: usize = 255;
/// Longest local connection name (as `ohx connection add` allows).
pub const NAME_MAX: usize = 40;

pub fn remote_type(kind: ConnectionType) -> &'static str {
    match kind {
        ConnectionType::Postgresql => "POSTGRESQL",
        ConnectionType::Dhis2 => "DHIS2",
        ConnectionType::Iaso => "IASO",
        ConnectionType::S3 => "S3",
        ConnectionType::Gcs => "GCS",
        ConnectionType::Custom => "CUSTOM",
    }
}

pub fn local_type(remote: &str) -> Option<ConnectionType> {
    ConnectionType::ALL
        .into_iter()
        .find(|t| remote_type(*t) == remote)
}

/// Django's slug rule: ASCII letters, digits, `_` and `-`, not empty.
fn is_django_slug(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A remote connection in ohx's form, with the notices of what normalising changed.
pub struct Mapped {
    pub slug: String,
    pub content: Content,
    pub notices: Vec<String>,
}

/// Brings a server connection into ohx's form, or says why ohx cannot hold it.
pub fn to_local(remote: &RemoteConnection) -> Result<Mapped, String> {
    let slug = &remote.slug;
    let kind = local_type(&remote.kind).ok_or_else(|| {
        format!(
            "its type {} is not one ohx knows (POSTGRESQL, DHIS2, IASO, S3, GCS, CUSTOM)",
            remote.kind
        )
    })?;
    slug::validate("connection identifier", slug, slug::CONNECTION_ID_MAX).map_err(|_| {
        format!(
            "its identifier '{slug}' does not fit ohx's rule (1 to {} lower-case letters, digits and '-', starting with a letter)",
            slug::CONNECTION_ID_MAX
        )
    })?;
    domain::validate_display_name("connection name", &remote.name, NAME_MAX)
        .map_err(|e| format!("its name: {e}"))?;
    let description = remote.description.clone().unwrap_or_default();
    domain::validate_description(&description).map_err(|e| e.to_string())?;

    let mut notices = Vec::new();
    let mut fields: Vec<ContentField> = Vec::with_capacity(remote.fields.len());
    for f in &remote.fields {
        let value = f.value.as_deref().ok_or_else(|| {
            format!(
                "the server withheld the value of field '{}' (a token that may not edit this connection sees no secrets)",
                f.code
            )
        })?;
        let secret = match (kind, kind.field(&f.code)) {
            (ConnectionType::Custom, _) => {
                connection_type::check_custom_code(&f.code).map_err(|_| {
                    format!(
                        "its field code '{}' does not fit ohx's rule for custom fields (lower-case letters, digits and '_', starting with a letter, at most 30)",
                        f.code
                    )
                })?;
                f.secret
            }
            (_, Some(spec)) => {
                if spec.secret && !f.secret {
                    notices.push(format!(
                        "'{slug}': field '{}' is not marked secret on the server; ohx keeps it secret",
                        f.code
                    ));
                }
                spec.secret
            }
            (_, None) => {
                return Err(format!(
                "it has a field '{}', which {kind} connections do not have in ohx (they have {})",
                f.code,
                kind.codes()
            ))
            }
        };
        if fields.iter().any(|g| g.code == f.code) {
            return Err(format!("its field '{}' appears twice", f.code));
        }
        // An optional field left empty on the server's form is no field at all for ohx.
        if value.is_empty() && kind.field(&f.code).is_some_and(|s| !s.required) {
            continue;
        }
        let (normalised, notice) = kind
            .check_value(&f.code, value)
            .map_err(|e| e.to_string())?;
        if let Some(notice) = notice {
            notices.push(format!("'{slug}': {notice}"));
        }
        let value = if secret {
            // Secrets are checked, never rewritten.
            drop(Zeroizing::new(normalised));
            Zeroizing::new(value.to_string())
        } else {
            Zeroizing::new(normalised)
        };
        fields.push(ContentField {
            code: f.code.clone(),
            secret,
            value,
        });
    }
    for spec in kind.fields().iter().filter(|s| s.required) {
        if !fields.iter().any(|f| f.code == spec.code) {
            return Err(format!("it has no '{}', which ohx requires", spec.code));
        }
    }
    if kind == ConnectionType::Custom && fields.is_empty() {
        return Err("it has no fields, and an ohx custom connection needs one".into());
    }
    kind.check_presence(&|code| fields.iter().any(|f| f.code == code))
        .map_err(|e| e.to_string())?;
    let codes: Vec<&str> = fields.iter().map(|f| f.code.as_str()).collect();
    env::check_names(slug, &codes).map_err(|e| e.to_string())?;
    // Schema order for typed connections, the server's order for custom ones.
    if kind != ConnectionType::Custom {
        let rank = |code: &str| kind.fields().iter().position(|s| s.code == code);
        fields.sort_by_key(|f| rank(&f.code));
    }
    Ok(Mapped {
        slug: slug.clone(),
        content: Content {
            name: remote.name.clone(),
            description,
            kind,
            fields,
        },
        notices,
    })
}

/// Checks that the server can hold a local connection as it is.
pub fn check_for_server(slug: &str, content: &Content) -> Result<(), String> {
    if !is_django_slug(slug) || slug.len() > REMOTE_SLUG_MAX {
        return Err(format!(
            "OpenHEXA identifiers are at most {REMOTE_SLUG_MAX} letters, digits, '_' and '-'"
        ));
    }
    if content.name.chars().count() > REMOTE_NAME_MAX {
        return Err(format!(
            "OpenHEXA names are at most {REMOTE_NAME_MAX} characters"
        ));
    }
    for f in &content.fields {
        if !is_django_slug(&f.code) || f.code.len() > REMOTE_CODE_MAX {
            return Err(format!(
                "its field code '{}' is not allowed by OpenHEXA (at most {REMOTE_CODE_MAX} letters, digits, '_' and '-')",
                f.code
            ));
        }
    }
    Ok(())
}

/// The full field list sent to the server (which replaces its own list with it).
pub fn to_remote_fields(content: &Content) -> Vec<RemoteField> {
    content
        .fields
        .iter()
        .map(|f| RemoteField {
            code: f.code.clone(),
            value: Some(f.value.to_string()),
            secret: f.secret,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(kind: &str, slug: &str, fields: &[(&str, Option<&str>, bool)]) -> RemoteConnection {
        RemoteConnection {
            id: "00000000-0000-0000-0000-000000000001".into(),
            name: "Some name".into(),
            slug: slug.into(),
            description: None,
            kind: kind.into(),
            updated_at: None,
            permissions: None,
            fields: fields
                .iter()
                .map(|(c, v, s)| RemoteField {
                    code: c.to_string(),
                    value: v.map(str::to_string),
                    secret: *s,
                })
                .collect(),
        }
    }

    #[test]
    fn types_map_both_ways() {
        for kind in ConnectionType::ALL {
            assert_eq!(local_type(remote_type(kind)), Some(kind));
        }
        assert_eq!(local_type("postgresql"), None);
    }

    #[test]
    fn refusals_say_what_and_why() {
        let pg = |extra: (&'static str, Option<&'static str>, bool)| {
            remote(
                "POSTGRESQL",
                "db",
                &[
                    ("host", Some("h"), false),
                    ("port", Some("5432"), false),
                    ("username", Some("u"), false),
                    ("password", Some("p"), true),
                    ("db_name", Some("d"), false),
                    extra,
                ],
            )
        };
        assert!(to_local(&pg(("sslmode", Some("require"), false)))
            .err()
            .is_some_and(|e| e.contains("sslmode")));
        assert!(to_local(&pg(("password", Some("p"), true))).is_err());
        let bad_slug = remote("CUSTOM", "My_Conn", &[("a", Some("b"), false)]);
        assert!(to_local(&bad_slug)
            .err()
            .is_some_and(|e| e.contains("My_Conn")));
        let bad_code = remote("CUSTOM", "c", &[("API-KEY", Some("b"), false)]);
        assert!(to_local(&bad_code)
            .err()
            .is_some_and(|e| e.contains("API-KEY")));
        let withheld = remote("CUSTOM", "c", &[("token", None, true)]);
        assert!(to_local(&withheld)
            .err()
            .is_some_and(|e| e.contains("withheld")));
        let missing = remote("DHIS2", "d", &[("url", Some("https://x.org"), false)]);
        assert!(to_local(&missing).is_err());
    }

    #[test]
    fn typed_secrets_stay_secret_and_order_follows_the_schema() {
        let r = remote(
            "DHIS2",
            "d",
            &[
                ("password", Some("p"), false),
                ("url", Some("https://x.org/"), false),
                ("username", Some("u"), false),
            ],
        );
        let mapped = to_local(&r).ok();
        let mapped = mapped.as_ref();
        let codes: Vec<&str> = mapped
            .map(|m| m.content.fields.iter().map(|f| f.code.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(codes, ["url", "username", "password"]);
        assert!(mapped.is_some_and(|m| m.content.field("password").is_some_and(|f| f.secret)));
        assert!(mapped.is_some_and(|m| m.notices.len() == 2));
    }

    #[test]
    fn server_limits() {
        let content = Content {
            name: "n".into(),
            description: String::new(),
            kind: ConnectionType::Custom,
            fields: vec![ContentField {
                code: "a".repeat(31),
                secret: false,
                value: Zeroizing::new(String::new()),
            }],
        };
        assert!(check_for_server("ok", &content).is_err());
        assert!(check_for_server(
            "bad slug",
            &Content {
                fields: vec![],
                ..content
            }
        )
        .is_err());
    }
}
