//! Secrets that belong to one person rather than to a workspace (an OpenHEXA token): age-encrypted
//! to the user's own recipient, armored, so only the holder of the identity file can read them.

use std::io::{Read, Write};

use anyhow::{Context, Result};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::identity::UserIdentity;
use crate::error::Error;

/// Encrypts `secret` to `identity`'s own recipient; the result is ASCII-armored text.
pub fn seal_to_self(identity: &UserIdentity, secret: &SecretString) -> Result<String> {
    use age::armor::{ArmoredWriter, Format};
    let recipient = identity.age_identity().to_public();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .context("cannot encrypt to your identity")?;
    let mut out = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor)?;
    let mut writer = encryptor.wrap_output(armor)?;
    writer.write_all(secret.expose_secret().as_bytes())?;
    writer.finish()?.finish()?;
    String::from_utf8(out).context("age armor is not text")
}

/// Decrypts what [`seal_to_self`] made. `what` names the secret in errors.
pub fn open_by_self(identity: &UserIdentity, armored: &str, what: &str) -> Result<SecretString> {
    let damaged = || Error::TokenDamaged(what.to_string());
    let decryptor =
        age::Decryptor::new_buffered(age::armor::ArmoredReader::new(armored.as_bytes()))
            .map_err(|_| damaged())?;
    let mut reader = decryptor
        .decrypt(std::iter::once(
            identity.age_identity() as &dyn age::Identity
        ))
        .map_err(|_| Error::TokenOtherIdentity(what.to_string()))?;
    let mut plain = Zeroizing::new(Vec::new());
    reader.read_to_end(&mut plain).map_err(|_| damaged())?;
    let text = std::str::from_utf8(&plain).map_err(|_| damaged())?;
    Ok(SecretString::from(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_identity() {
        let me = UserIdentity::generate();
        let other = UserIdentity::generate();
        let sealed = seal_to_self(&me, &SecretString::from("tok-canary".to_string()));
        let sealed = sealed.unwrap_or_default();
        assert!(!sealed.contains("tok-canary"));
        let opened = open_by_self(&me, &sealed, "the token").map(|s| s.expose_secret().to_string());
        assert_eq!(opened.ok().as_deref(), Some("tok-canary"));
        assert!(open_by_self(&other, &sealed, "the token").is_err());
    }
}
