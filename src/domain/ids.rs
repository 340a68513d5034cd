//! Identifiers as types that own their rules: a value of one of these types has passed its
//! length and character checks, so code that takes one never checks again.

use std::fmt;
use std::ops::Deref;

use super::slug;
use crate::error::Error;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

identifier!(
    /// A workspace slug: `^[a-z][a-z0-9-]{0,62}$`, made from the name like OpenHEXA does.
    WorkspaceSlug
);
identifier!(
    /// A connection identifier: like a slug, at most 40 characters; its environment prefix.
    ConnectionIdentifier
);
identifier!(
    /// A person's name in the store: what `member add NAME` and `member remove NAME` refer to.
    UserName
);

impl WorkspaceSlug {
    /// `explicit` if given (checked), else one made from `name`.
    pub fn for_name(explicit: Option<&str>, name: &str) -> Result<WorkspaceSlug, Error> {
        slug::slug_for("workspace slug", explicit, name, slug::WORKSPACE_SLUG_MAX).map(Self)
    }
}

impl ConnectionIdentifier {
    /// `explicit` if given (checked), else one made from `name`.
    pub fn for_name(explicit: Option<&str>, name: &str) -> Result<ConnectionIdentifier, Error> {
        slug::slug_for(
            "connection identifier",
            explicit,
            name,
            slug::CONNECTION_ID_MAX,
        )
        .map(Self)
    }
}

impl UserName {
    pub fn new(name: &str) -> Result<UserName, Error> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
        if ok {
            return Ok(UserName(name.to_string()));
        }
        Err(Error::InvalidValue {
            what: "user name",
            value: name.into(),
            rule:
                "use 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
                    .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_their_rule() {
        assert!(UserName::new("amina.b@moh").is_ok());
        assert!(UserName::new("-amina").is_err());
        assert!(UserName::new("a b").is_err());
        assert!(UserName::new(&"a".repeat(65)).is_err());
    }

    #[test]
    fn identifiers_are_made_from_names_or_checked() {
        let made = ConnectionIdentifier::for_name(None, "Données Sénégal – 2024");
        assert_eq!(made.ok().as_deref(), Some("donnees-senegal-2024"));
        assert!(WorkspaceSlug::for_name(Some("Bad Slug"), "x").is_err());
    }
}
