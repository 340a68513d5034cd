//! The only module that calls age: workspace keys, their wrapping for members, and secret framing.
//!
//! Every workspace has its own X25519 key pair. Its recipient is public; its secret key is
//! age-encrypted ("wrapped") once per editor and admin. A secret field value is framed with the
//! place it belongs to (workspace id, connection id, field code, key version) and age-encrypted to
//! the workspace recipient, so a ciphertext copied to another row fails its check instead of being
//! used.

pub mod identity;
pub mod personal;
pub mod xeddsa;

use std::str::FromStr;

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::domain::Secret;
use crate::error::Error;
pub use identity::UserIdentity;

/// Checks that `text` is an X25519 age recipient (`age1...`).
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, Error> {
    age::x25519::Recipient::from_str(text.trim()).map_err(|_| Error::BadRecipient(text.into()))
}

fn encrypt_to(recipient: &age::x25519::Recipient, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
    age::encrypt(recipient, plaintext).map_err(|e| Error::Encrypt(e.to_string()))
}

fn decrypt_with(identity: &age::x25519::Identity, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    age::decrypt(identity, ciphertext).ok().map(Zeroizing::new)
}

/// A workspace's key pair at one version. No `Clone`, `Debug` or `Serialize`; age wipes the secret
/// scalar when the identity is dropped.
pub struct WorkspaceKey {
    identity: age::x25519::Identity,
    version: u32,
}

const WRAP_MAGIC: &[u8] = b"ohx-workspace-key\x01";

impl WorkspaceKey {
    pub fn generate(version: u32) -> WorkspaceKey {
        WorkspaceKey {
            identity: age::x25519::Identity::generate(),
            version,
        }
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The public recipient, stored in clear so anyone may encrypt a secret to the workspace.
    pub fn recipient(&self) -> String {
        self.identity.to_public().to_string()
    }

    /// Encrypts this key for one member. The plaintext names the workspace and version, so a wrapped
    /// key copied to another workspace's row is refused when unwrapped.
    pub fn wrap_for(&self, workspace_id: i64, member_recipient: &str) -> Result<Vec<u8>, Error> {
        let recipient = parse_recipient(member_recipient)?;
        let secret = self.identity.to_string();
        let mut plain = Zeroizing::new(Vec::new());
        plain.extend_from_slice(WRAP_MAGIC);
        plain.extend_from_slice(&workspace_id.to_be_bytes());
        plain.extend_from_slice(&self.version.to_be_bytes());
        plain.extend_from_slice(secret.expose_secret().as_bytes());
        encrypt_to(&recipient, &plain)
    }

    /// Decrypts a wrapped key with the member's identity and checks where it belongs.
    pub fn unwrap(
        wrapped: &[u8],
        user: &UserIdentity,
        workspace_id: i64,
        version: u32,
        workspace_slug: &str,
    ) -> Result<WorkspaceKey, Error> {
        let plain = decrypt_with(user.age_identity(), wrapped)
            .ok_or_else(|| Error::NotARecipient(workspace_slug.into()))?;
        let bad = || Error::BadWrappedKey(workspace_slug.into());
        let rest = plain.strip_prefix(WRAP_MAGIC).ok_or_else(bad)?;
        let (id, rest) = split_u64(rest).ok_or_else(bad)?;
        let (ver, rest) = split_u32(rest).ok_or_else(bad)?;
        if id != workspace_id as u64 || ver != version {
            return Err(bad());
        }
        let text = std::str::from_utf8(rest).map_err(|_| bad())?;
        let identity = age::x25519::Identity::from_str(text).map_err(|_| bad())?;
        Ok(WorkspaceKey { identity, version })
    }

    /// The key for record MACs: derived from the workspace's secret key, so only editors and admins
    /// can compute it, and it changes whenever the workspace key is rotated.
    fn mac_key(&self) -> Zeroizing<Vec<u8>> {
        use sha2::Digest;
        let secret = self.identity.to_string();
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"ohx-record-mac\x01");
        hasher.update(secret.expose_secret().as_bytes());
        Zeroizing::new(hasher.finalize().to_vec())
    }

    fn record_mac(&self) -> hmac::Hmac<sha2::Sha256> {
        use hmac::Mac;
        // HMAC accepts keys of any length, so this cannot fail.
        match hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.mac_key()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    /// Authenticates a whole connection record (its canonical encoding).
    pub fn seal_record(&self, record: &[u8]) -> Vec<u8> {
        use hmac::Mac;
        let mut mac = self.record_mac();
        mac.update(record);
        mac.finalize().into_bytes().to_vec()
    }

    /// Checks a record against its MAC in constant time.
    pub fn check_record(&self, record: &[u8], tag: &[u8]) -> bool {
        use hmac::Mac;
        let mut mac = self.record_mac();
        mac.update(record);
        mac.verify_slice(tag).is_ok()
    }

    /// Decrypts a secret field and checks that it belongs exactly at `place`.
    pub fn open_secret(&self, place: &SecretPlace<'_>, ciphertext: &[u8]) -> Result<Secret, Error> {
        let bad = || Error::BadSecret {
            connection: place.connection_slug.into(),
            field: place.field_code.into(),
        };
        if place.key_version != self.version {
            return Err(bad());
        }
        let plain = decrypt_with(&self.identity, ciphertext).ok_or_else(bad)?;
        let text = unframe(place, &plain).ok_or_else(bad)?;
        Ok(Secret::new(text.to_string()))
    }
}

/// Where a secret lives; framed into its plaintext and checked when it is opened.
pub struct SecretPlace<'a> {
    pub workspace_id: i64,
    pub connection_id: i64,
    /// Only for error messages: the identifier is not part of the frame, so renames stay cheap.
    pub connection_slug: &'a str,
    pub field_code: &'a str,
    pub key_version: u32,
}

const SECRET_MAGIC: &[u8] = b"ohx-secret\x01";

impl SecretPlace<'_> {
    fn frame_header(&self) -> Vec<u8> {
        let code = self.field_code.as_bytes();
        let mut header = Vec::with_capacity(SECRET_MAGIC.len() + 21 + code.len());
        header.extend_from_slice(SECRET_MAGIC);
        header.extend_from_slice(&self.workspace_id.to_be_bytes());
        header.extend_from_slice(&self.connection_id.to_be_bytes());
        header.extend_from_slice(&self.key_version.to_be_bytes());
        // Codes are at most 30 ASCII characters; the length byte keeps the frame unambiguous.
        header.push(code.len().min(255) as u8);
        header.extend_from_slice(code);
        header
    }
}

/// The value inside a decrypted frame, if the frame names exactly `place` and the value is text.
pub fn unframe<'p>(place: &SecretPlace<'_>, plaintext: &'p [u8]) -> Option<&'p str> {
    let value = plaintext.strip_prefix(place.frame_header().as_slice())?;
    std::str::from_utf8(value).ok()
}

/// The plaintext sealed for `value` at `place`: the frame header, then the value.
pub fn frame(place: &SecretPlace<'_>, value: &str) -> Zeroizing<Vec<u8>> {
    let mut plain = Zeroizing::new(place.frame_header());
    plain.extend_from_slice(value.as_bytes());
    plain
}

/// Encrypts a secret value to a workspace recipient, framed with its place.
pub fn seal_secret(
    workspace_recipient: &str,
    place: &SecretPlace<'_>,
    value: &str,
) -> Result<Vec<u8>, Error> {
    SealingKey::parse(workspace_recipient)?.seal(place, value)
}

/// A workspace recipient parsed once, for sealing many secrets (key rotation).
pub struct SealingKey(age::x25519::Recipient);

impl SealingKey {
    pub fn parse(workspace_recipient: &str) -> Result<SealingKey, Error> {
        parse_recipient(workspace_recipient).map(SealingKey)
    }

    pub fn seal(&self, place: &SecretPlace<'_>, value: &str) -> Result<Vec<u8>, Error> {
        encrypt_to(&self.0, &frame(place, value))
    }
}

fn split_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*head), rest))
}

fn split_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*head), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place<'a>(code: &'a str, connection_id: i64, key_version: u32) -> SecretPlace<'a> {
        SecretPlace {
            workspace_id: 7,
            connection_id,
            connection_slug: "c",
            field_code: code,
            key_version,
        }
    }

    #[test]
    fn a_secret_opens_only_at_its_place() -> Result<(), Error> {
        let key = WorkspaceKey::generate(1);
        let value = "s3cr3t 'x' \n";
        let sealed = seal_secret(&key.recipient(), &place("password", 1, 1), value)?;
        let opened = key.open_secret(&place("password", 1, 1), &sealed)?;
        assert_eq!(opened.expose_secret(), value);
        assert!(key.open_secret(&place("password", 2, 1), &sealed).is_err());
        assert!(key.open_secret(&place("passwore", 1, 1), &sealed).is_err());
        let mut flipped = sealed.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(key.open_secret(&place("password", 1, 1), &flipped).is_err());
        assert!(key
            .open_secret(&place("password", 1, 1), &sealed[..sealed.len() - 3])
            .is_err());
        Ok(())
    }

    #[test]
    fn another_workspace_key_cannot_open() -> Result<(), Error> {
        let key = WorkspaceKey::generate(1);
        let other = WorkspaceKey::generate(1);
        let sealed = seal_secret(&key.recipient(), &place("p", 1, 1), "v")?;
        assert!(other.open_secret(&place("p", 1, 1), &sealed).is_err());
        Ok(())
    }

    #[test]
    fn a_record_mac_fails_for_any_change_and_any_other_key() {
        let key = WorkspaceKey::generate(1);
        let tag = key.seal_record(b"record");
        assert!(key.check_record(b"record", &tag));
        assert!(!key.check_record(b"recorD", &tag));
        assert!(!key.check_record(b"record", &tag[1..]));
        assert!(!WorkspaceKey::generate(1).check_record(b"record", &tag));
    }

    #[test]
    fn wrapped_key_is_bound_to_its_workspace_and_version() -> Result<(), Error> {
        let user = UserIdentity::generate();
        let key = WorkspaceKey::generate(3);
        let wrapped = key.wrap_for(9, &user.recipient())?;
        assert!(WorkspaceKey::unwrap(&wrapped, &user, 9, 3, "w").is_ok());
        assert!(WorkspaceKey::unwrap(&wrapped, &user, 10, 3, "w").is_err());
        assert!(WorkspaceKey::unwrap(&wrapped, &user, 9, 4, "w").is_err());
        let stranger = UserIdentity::generate();
        assert!(WorkspaceKey::unwrap(&wrapped, &stranger, 9, 3, "w").is_err());
        Ok(())
    }
}
