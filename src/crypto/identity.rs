//! The user's age identity file: created 0600 with `create_new`, refused when others can read it or
//! when it is a symbolic link (like OpenSSH's "unprotected private key"), optionally protected by a
//! passphrase (an age scrypt-encrypted identity file, as `age -p` or rage make them).

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::fsutil::{self, Entry};

/// The current user's key. No `Clone`, `Debug` or `Serialize`.
pub struct UserIdentity {
    identity: age::x25519::Identity,
}

/// Where a passphrase comes from when the identity file is protected; called at most once.
pub type PassphraseSource<'a> = &'a mut dyn FnMut() -> Result<SecretString>;

impl UserIdentity {
    pub fn generate() -> UserIdentity {
        UserIdentity {
            identity: age::x25519::Identity::generate(),
        }
    }

    /// The public half, `age1...`, which is how the store knows who this is.
    pub fn recipient(&self) -> String {
        self.identity.to_public().to_string()
    }

    pub(super) fn age_identity(&self) -> &age::x25519::Identity {
        &self.identity
    }

    /// Loads the identity at `path`, asking `passphrase` only if the file is protected.
    pub fn load(path: &Path, passphrase: PassphraseSource<'_>) -> Result<UserIdentity> {
        let shown = path.display();
        match fsutil::inspect(path).with_context(|| format!("cannot read identity {shown}"))? {
            Entry::Missing => return Err(Error::NoIdentity(path.into()).into()),
            Entry::Symlink => return Err(Error::IdentitySymlink(path.into()).into()),
            Entry::Other => return Err(Error::IdentityNotAFile(path.into()).into()),
            Entry::File { mode, .. } if fsutil::is_shared(mode) => {
                return Err(Error::IdentityUnprotected {
                    path: path.into(),
                    mode,
                }
                .into())
            }
            Entry::File { .. } => {}
        }
        let bytes = Zeroizing::new(
            std::fs::read(path).with_context(|| format!("cannot read identity {shown}"))?,
        );
        let text = if is_encrypted(&bytes) {
            decrypt_protected(&bytes, passphrase, path)?
        } else {
            Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned())
        };
        parse_identity_text(&text).ok_or_else(|| Error::NotAnIdentity(path.into()).into())
    }

    /// Writes a new identity file: 0600, never over an existing file; protected by `passphrase`
    /// (age scrypt, armored) when one is given. The file is written under a temporary name and
    /// hard-linked into place, so nobody ever reads a half-written identity. Returns false when
    /// another process created the file first (the caller then loads that one).
    pub fn create_file(&self, path: &Path, passphrase: Option<&SecretString>) -> Result<bool> {
        let shown = path.display();
        if let Some(dir) = path.parent() {
            fsutil::create_private_dir(dir)
                .with_context(|| format!("cannot create folder {}", dir.display()))?;
        }
        let key = self.identity.to_string();
        let text = Zeroizing::new(format!(
            "# created by ohx\n# public key: {}\n{}\n",
            self.recipient(),
            key.expose_secret()
        ));
        let contents = match passphrase {
            Some(p) => protect(text.as_bytes(), p)?,
            None => text.as_bytes().to_vec(),
        };
        let write = |tmp: &Path| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tmp)
                .and_then(|mut file| file.write_all(&contents).and_then(|()| file.sync_all()))
        };
        fsutil::publish(path, write, |e| e)
            .with_context(|| format!("cannot create identity {shown}"))
    }
}

fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/")
        || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}

/// The first `AGE-SECRET-KEY-1...` line of an identity file's text, if it is a valid key.
pub fn parse_identity_text(text: &str) -> Option<UserIdentity> {
    text.lines()
        .map(str::trim)
        .find(|line| line.starts_with("AGE-SECRET-KEY-1"))
        .and_then(|line| age::x25519::Identity::from_str(line).ok())
        .map(|identity| UserIdentity { identity })
}

fn protect(plain: &[u8], passphrase: &SecretString) -> Result<Vec<u8>> {
    use age::armor::{ArmoredWriter, Format};
    let recipient = age::scrypt::Recipient::new(passphrase.clone());
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .context("cannot protect the identity")?;
    let mut out = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor)?;
    let mut writer = encryptor.wrap_output(armor)?;
    writer.write_all(plain)?;
    writer.finish()?.finish()?;
    Ok(out)
}

fn decrypt_protected(
    bytes: &[u8],
    passphrase: PassphraseSource<'_>,
    path: &Path,
) -> Result<Zeroizing<String>> {
    let damaged = |detail: Option<String>| Error::IdentityDamaged {
        path: path.into(),
        detail,
    };
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(bytes))
        .map_err(|e| damaged(Some(e.to_string())))?;
    if !decryptor.is_scrypt() {
        return Err(Error::IdentityNotPassphrase(path.into()).into());
    }
    let pass = passphrase()?;
    let identity = age::scrypt::Identity::new(pass);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::ExcessiveWork { .. } => Error::IdentityTooCostly(path.into()),
            _ => Error::WrongPassphrase(path.into()),
        })?;
    let mut plain = Zeroizing::new(Vec::new());
    reader.read_to_end(&mut plain).map_err(|_| damaged(None))?;
    let text = std::str::from_utf8(&plain).map_err(|_| damaged(None))?;
    Ok(Zeroizing::new(text.to_string()))
}
