//! Identifiers made from names: workspace slugs and connection identifiers.
//!
//! Names are transliterated to ASCII, lower-cased, every run of other characters becomes one `-`,
//! and the result is trimmed, cut and trimmed again ("Données Sénégal – 2024" gives
//! `donnees-senegal-2024`). Unlike OpenHEXA no random suffix is added: scripts need identifiers
//! they can predict, so a clash is an error instead.

use crate::error::Error;

/// Longest workspace slug (`^[a-z][a-z0-9-]{0,62}$`).
pub const WORKSPACE_SLUG_MAX: usize = 63;
/// Longest connection identifier.
pub const CONNECTION_ID_MAX: usize = 40;

/// Makes an identifier of at most `max` characters from a display name.
pub fn slugify(name: &str, max: usize) -> String {
    let ascii = deunicode::deunicode(name).to_ascii_lowercase();
    let mut slug = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let trimmed: String = slug.trim_matches('-').chars().take(max).collect();
    trimmed.trim_end_matches('-').to_string()
}

/// Checks a slug against `^[a-z][a-z0-9-]{0,max-1}$`.
pub fn validate(what: &'static str, slug: &str, max: usize) -> Result<(), Error> {
    let starts_with_letter = slug.starts_with(|c: char| c.is_ascii_lowercase());
    let allowed = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if starts_with_letter && allowed && slug.len() <= max {
        return Ok(());
    }
    Err(Error::InvalidValue {
        what,
        value: slug.into(),
        rule: format!("use 1 to {max} lower-case letters, digits and '-', starting with a letter"),
    })
}

/// The slug for a name: the explicit one if given (validated), else one made from the name.
pub fn slug_for(
    what: &'static str,
    explicit: Option<&str>,
    name: &str,
    max: usize,
) -> Result<String, Error> {
    let slug = match explicit {
        Some(s) => s.to_string(),
        None => {
            let made = slugify(name, max);
            if !made.starts_with(|c: char| c.is_ascii_lowercase()) {
                return Err(Error::NoSlugInName {
                    what,
                    name: name.into(),
                });
            }
            made
        }
    };
    validate(what, &slug, max)?;
    Ok(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transliterates_and_joins_runs() {
        assert_eq!(
            slugify("Données Sénégal – 2024", 40),
            "donnees-senegal-2024"
        );
        assert_eq!(slugify("  My DB!! (prod) ", 40), "my-db-prod");
    }

    #[test]
    fn cuts_then_trims_again() {
        let name = format!("{}  tail", "a".repeat(39));
        assert_eq!(slugify(&name, 40), "a".repeat(39));
    }

    #[test]
    fn a_name_without_leading_letter_needs_an_explicit_slug() {
        assert!(slug_for("workspace slug", None, "2024 data", 63).is_err());
        assert_eq!(
            slug_for("workspace slug", Some("data-2024"), "2024 data", 63)
                .ok()
                .as_deref(),
            Some("data-2024")
        );
    }

    #[test]
    fn validation_follows_the_pattern() {
        assert!(validate("slug", "malaria", 63).is_ok());
        assert!(validate("slug", "Malaria", 63).is_err());
        assert!(validate("slug", "-x", 63).is_err());
        assert!(validate("slug", "", 63).is_err());
        assert!(validate("slug", &"a".repeat(64), 63).is_err());
    }
}
