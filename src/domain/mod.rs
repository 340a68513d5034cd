//! Pure types and rules, with no I/O: identifiers, roles and the permission table.

pub mod connection_type;
pub mod env;
pub mod export;
pub mod ids;
pub mod role;
pub mod secret;
pub mod slug;
pub mod time;

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
    } else if name.chars().any(crate::terminal_text::is_terminal_control) {
        Some("it must not contain control characters (escape sequences, tabs, line breaks, text-direction overrides)".to_string())
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

/// A description: free text over several lines if need be, but nothing else a terminal would obey
/// (escape sequences, carriage returns, text-direction overrides), and no NUL byte.
pub fn validate_description(text: &str) -> Result<(), Error> {
    check_free_text("description", "description", text, &['\n', '\t'])
}

/// Refuses terminal controls other than `allowed` in `text`; `value` is what the message quotes
/// (the field's code for a value, which may be long).
pub(crate) fn check_free_text(
    what: &'static str,
    value: &str,
    text: &str,
    allowed: &[char],
) -> Result<(), Error> {
    let found = text
        .chars()
        .find(|&c| crate::terminal_text::is_terminal_control(c) && !allowed.contains(&c));
    match found {
        Some(c) => Err(Error::InvalidValue {
            what,
            value: crate::terminal_text::inline(value).into_owned(),
            rule: format!(
                "it must not contain control characters (found U+{:04X}; escape sequences and text-direction overrides are refused)",
                u32::from(c)
            ),
        }),
        None => Ok(()),
    }
}
