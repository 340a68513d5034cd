//! The user's age identity file: created 0600 with `create_new`; read by opening it once (no link
//! followed, no waiting on a FIFO) and checking the open descriptor, so it is refused when others
//! can read it, when it is a symbolic link (like OpenSSH's "unprotected private key"), when it is
//! not ours or is too large; optionally protected by a passphrase (an age scrypt-encrypted
//! identity file, as `age -p` or rage make them).

use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::xeddsa::{SigningKey, XeddsaError};
use crate::error::Error;
use crate::fsutil::{self, Refusal};

/// The current user's key. No `Clone`, `Debug` or `Serialize`.
pub struct UserIdentity {
    identity: age::x25519::Identity,
    /// The signing key (docs/SECURITY.md, "XEdDSA"), derived once: it is a scalar multiplication,
    /// and its public half is also the recipient, so one multiplication serves both.
    signing: OnceLock<Result<SigningKey, XeddsaError>>,
    /// The recipient, computed once: opening a store asks for it more than once (to find the
    /// user, then for the access layer).
    recipient: OnceLock<String>,
}

/// Where a passphrase comes from when the identity file is protected; called at most once.
pub type PassphraseSource<'a> = &'a mut dyn FnMut() -> Result<SecretString>;

impl UserIdentity {
    pub fn generate() -> UserIdentity {
        UserIdentity::from_age(age::x25519::Identity::generate())
    }

    fn from_age(identity: age::x25519::Identity) -> UserIdentity {
        UserIdentity {
            identity,
            signing: OnceLock::new(),
            recipient: OnceLock::new(),
        }
    }

    /// The public half, `age1...`, which is how the store knows who this is. XEdDSA's public key
    /// is the X25519 public key, so it is read off the signing key rather than computed again.
    pub fn recipient(&self) -> String {
        self.recipient
            .get_or_init(|| match self.signing_key() {
                Ok(key) => key.public_key().recipient(),
                Err(_) => self.identity.to_public().to_string(),
            })
            .clone()
    }

    fn signing_key(&self) -> Result<&SigningKey, &XeddsaError> {
        self.signing
            .get_or_init(|| SigningKey::from_age_identity(&self.identity))
            .as_ref()
    }

    /// The signing key, handed over to the one who acts with this identity (it has no `Clone`).
    /// The recipient stays known, so asking for it later derives nothing again.
    pub fn take_signing_key(&mut self) -> Result<SigningKey, XeddsaError> {
        let key = match self.signing.take() {
            Some(derived) => derived?,
            None => SigningKey::from_age_identity(&self.identity)?,
        };
        let _ = self.recipient.set(key.public_key().recipient());
        Ok(key)
    }

    /// The secret key, `AGE-SECRET-KEY-1...`: only for handing to the unlock agent (src/agent/).
    pub fn expose_secret_key(&self) -> SecretString {
        self.identity.to_string()
    }

    pub(super) fn age_identity(&self) -> &age::x25519::Identity {
        &self.identity
    }

    /// Loads the identity at `path`, asking `passphrase` only if the file is protected; the first
    /// key when the file holds several (see [`UserIdentity::load_all`]).
    pub fn load(path: &Path, passphrase: PassphraseSource<'_>) -> Result<UserIdentity> {
        let mut all = Self::load_all(path, passphrase)?;
        Ok(all.remove(0))
    }

    /// Every key of the identity file at `path`, in file order (never empty), as age-keygen files
    /// concatenated by a user who rotated their key hold several; the caller picks the one the
    /// store knows.
    pub fn load_all(path: &Path, passphrase: PassphraseSource<'_>) -> Result<Vec<UserIdentity>> {
        let bytes = Zeroizing::new(read_checked(path)?);
        let text = if is_encrypted(&bytes) {
            decrypt_protected(&bytes, passphrase, path)?
        } else {
            Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned())
        };
        let all = parse_all_identities(&text);
        if all.is_empty() {
            return Err(Error::NotAnIdentity(path.into()).into());
        }
        Ok(all)
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
        let write = |tmp: &Path| fsutil::write_private(tmp, &contents);
        fsutil::publish(path, write, |e| e)
            .with_context(|| format!("cannot create identity {shown}"))
    }
}

fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/")
        || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}

/// The largest identity file read: a key line is 74 bytes, an armored protected file a few
/// hundred; 64 KiB leaves room for comments and many keys, and a 1 GiB file is refused unread.
pub const MAX_IDENTITY_FILE: u64 = 64 * 1024;

/// The bytes of the identity file, opened once and checked on the descriptor.
fn read_checked(path: &Path) -> Result<Vec<u8>> {
    let rule = fsutil::Rule {
        forbidden_bits: 0o077,
        max_len: MAX_IDENTITY_FILE,
    };
    let path_buf = path.to_path_buf();
    fsutil::read_private(path, &rule).map_err(|refusal| {
        let error = match refusal {
            Refusal::Missing => Error::NoIdentity(path_buf),
            Refusal::Symlink => Error::IdentitySymlink(path_buf),
            Refusal::NotAFile => Error::IdentityNotAFile(path_buf),
            Refusal::Shared { mode } => Error::IdentityUnprotected {
                path: path_buf,
                mode,
            },
            Refusal::NotOwner { uid } => Error::IdentityNotOwned {
                path: path_buf,
                uid,
            },
            Refusal::TooLarge { len, max } => Error::IdentityTooLarge {
                path: path_buf,
                len,
                max,
            },
            Refusal::Io(source) => Error::IdentityUnreadable {
                path: path_buf,
                source,
            },
        };
        anyhow::Error::from(error)
    })
}

/// The first `AGE-SECRET-KEY-1...` line of an identity file's text, if it is a valid key.
pub fn parse_identity_text(text: &str) -> Option<UserIdentity> {
    parse_all_identities(text).into_iter().next()
}

/// Every valid `AGE-SECRET-KEY-1...` line of an identity file's text, in order.
fn parse_all_identities(text: &str) -> Vec<UserIdentity> {
    text.lines()
        .map(str::trim)
        .filter(|line| line.starts_with("AGE-SECRET-KEY-1"))
        .filter_map(|line| age::x25519::Identity::from_str(line).ok())
        .map(UserIdentity::from_age)
        .collect()
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
