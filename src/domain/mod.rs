//! Pure types and rules, with no I/O: identifiers, roles and the permission table.

pub mod connection_type;
pub mod env;
pub mod export;
pub mod ids;
pub mod role;
pub mod secret;
pub mod slug;

pub use connection_type::ConnectionType;
pub use ids::{ConnectionIdentifier, UserName, WorkspaceSlug};
pub use role::{Action, Role};
pub use secret::Secret;

use crate::error::Error;

/// A display name (workspace or connection): not blank, no control characters, at most `max` characters.
pub fn validate_display_name(what: &'static str, name: &str, max: usize) -> Result<(), Error> {
    let count = name.chars().count();
    let rule = if name.trim().is_empty() {
        Some("it must not be empty".to_string())
    } else if count > max {
        Some(format!(
            "it has {count} characters; at most {max} are allowed"
        ))
    } else if name.chars().any(char::is_control) {
        Some("it must not contain control characters".to_string())
    } else {
        None
    };
    match rule {
        Some(rule) => Err(Error::InvalidValue {
            what,
            value: name.into(),
            rule,
        }),
        None => Ok(()),
    }
}

/// A description: free text, but no NUL byte.
pub fn validate_description(text: &str) -> Result<(), Error> {
    if text.contains('\0') {
        return Err(Error::InvalidValue {
            what: "description",
            value: text.replace('\0', "\\0"),
            rule: "it must not contain NUL bytes".into(),
        });
    }
    Ok(())
}
