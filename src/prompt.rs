//! Questions on the terminal (dialoguer). Callers check `Globals::interactive` first, so a script
//! without a terminal is never left waiting for an answer.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use secrecy::SecretString;

/// Whether a person can answer: both stdin and stderr (where prompts are drawn) are terminals.
pub fn terminal_attached() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

pub fn confirm(question: &str) -> Result<bool> {
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .context("cannot read the answer from the terminal")
}

/// A hidden input, not echoed.
pub fn passphrase(label: &str) -> Result<SecretString> {
    let text = dialoguer::Password::new()
        .with_prompt(label)
        .allow_empty_password(true)
        .interact()
        .context("cannot read from the terminal")?;
    Ok(SecretString::from(text))
}

/// A hidden input typed twice.
pub fn new_secret(label: &str) -> Result<SecretString> {
    let text = dialoguer::Password::new()
        .with_prompt(label)
        .with_confirmation(
            "Repeat to confirm",
            "The two entries do not match; try again",
        )
        .interact()
        .context("cannot read from the terminal")?;
    Ok(SecretString::from(text))
}

/// A choice from a list; returns the index.
pub fn select(label: &str, items: &[&str]) -> Result<usize> {
    dialoguer::Select::new()
        .with_prompt(label)
        .items(items)
        .default(0)
        .interact()
        .context("cannot read the answer from the terminal")
}

/// A line of text, with an optional default; empty answers allowed only when `optional`.
pub fn text(label: &str, default: Option<&str>, optional: bool) -> Result<String> {
    let mut input = dialoguer::Input::<String>::new()
        .with_prompt(label)
        .allow_empty(optional);
    if let Some(d) = default {
        input = input.default(d.to_string());
    }
    input
        .interact_text()
        .context("cannot read the answer from the terminal")
}

/// A yes/no question whose default is yes.
pub fn confirm_yes(question: &str) -> Result<bool> {
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(true)
        .interact()
        .context("cannot read the answer from the terminal")
}
