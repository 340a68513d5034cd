//! XEdDSA signatures (Signal's specification) whose verification key is the signer's age X25519
//! recipient, so the `age1...` a user already shares is also how others check what they signed.
//!
//! Signing turns the X25519 secret scalar `k` into an Ed25519 key pair: `E = kB`, the public key
//! `A` is `E` with its sign bit cleared, and the signing scalar is `a = k` or `-k` so that `aB = A`.
//! Verification maps the Montgomery `u` of the recipient to the Edwards point with sign 0 and
//! runs ordinary Ed25519 verification. All curve and scalar arithmetic is `curve25519-dalek`'s;
//! the signature itself is `ed25519-dalek`'s hazmat signing and its strict verification.
//!
//! The nonce is deterministic, Ed25519-style, not Signal's random one: a nonce key derived from
//! the secret scalar (`SHA-512(0xFE || 0xFF^31 || a || label)`, cut to 32 bytes; the prefix is the
//! specification's `hash1` domain separator) is hashed with the message as Ed25519 does. The
//! reasons are in docs/SECURITY.md ("Signed authority"): no dependence on the random generator at signing
//! time, and reproducible test vectors.

use std::fmt;
use std::str::FromStr;

use bech32::{FromBase32, ToBase32, Variant};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::{clamp_integer, Scalar};
use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::VerifyingKey;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha512};
use subtle::{Choice, ConditionallySelectable};
use zeroize::Zeroizing;

/// An XEdDSA signature: `R || s`, 64 bytes.
pub type Signature = [u8; 64];

/// The human-readable part of age recipients and of age secret keys.
const RECIPIENT_HRP: &str = "age";
const SECRET_KEY_HRP: &str = "age-secret-key-";

/// Signal's `hash1` prefix: the 32-byte little-endian encoding of 2^256 - 1 - 1.
const HASH1_PREFIX: [u8; 32] = {
    let mut prefix = [0xFF; 32];
    prefix[0] = 0xFE;
    prefix
};
/// Separates ohx's nonce key from any other use of `hash1(a || ...)`.
const NONCE_KEY_LABEL: &[u8] = b"ohx xeddsa nonce key v1";
/// Prefix of secrets derived for other purposes; it cannot collide with the nonce key's input,
/// which starts with the `hash1` prefix (0xFE).
const DERIVE_LABEL: &[u8] = b"ohx xeddsa derived secret v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XeddsaError {
    #[error("'{0}' is not an age X25519 recipient (age1...)")]
    NotARecipient(String),
    #[error("the identity is not an age X25519 secret key (AGE-SECRET-KEY-1...)")]
    NotAnIdentity,
    #[error("the key {0} cannot verify signatures (not a point of Curve25519, or of small order)")]
    UnusableKey(String),
    #[error("the signature does not verify with {0}")]
    BadSignature(String),
}

/// A public key: the Montgomery `u` coordinate that an age recipient encodes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    pub fn from_bytes(u: [u8; 32]) -> PublicKey {
        PublicKey(u)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads an `age1...` recipient.
    pub fn from_recipient(text: &str) -> Result<PublicKey, XeddsaError> {
        let bad = || XeddsaError::NotARecipient(text.into());
        let (hrp, data, variant) = bech32::decode(text.trim()).map_err(|_| bad())?;
        if hrp != RECIPIENT_HRP || variant != Variant::Bech32 {
            return Err(bad());
        }
        let bytes = Vec::<u8>::from_base32(&data).map_err(|_| bad())?;
        let u: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(PublicKey(u))
    }

    /// The `age1...` text of this key.
    pub fn recipient(&self) -> String {
        // The human-readable part is a valid constant, so encoding cannot fail.
        bech32::encode(RECIPIENT_HRP, self.0.to_base32(), Variant::Bech32).unwrap_or_default()
    }

    /// Signal's `convert_mont`, with the checks of `xeddsa_verify`: `u` must be canonical (below
    /// 2^255 - 19, top bit clear) and on the curve, and the point must not have small order.
    fn verifying_key(&self) -> Result<VerifyingKey, XeddsaError> {
        let unusable = || XeddsaError::UnusableKey(self.recipient());
        let point = MontgomeryPoint(self.0).to_edwards(0).ok_or_else(unusable)?;
        // `to_edwards` reduces `u` silently; a non-canonical encoding is refused by comparing the
        // canonical encoding of the point it gave with the bytes we were handed.
        if point.to_montgomery().to_bytes() != self.0 || point.is_small_order() {
            return Err(unusable());
        }
        Ok(VerifyingKey::from(point))
    }

    /// Checks an XEdDSA signature (strict Ed25519 verification: canonical `s`, no small-order
    /// `R` or key).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), XeddsaError> {
        self.verifier()?.verify(message, signature)
    }

    /// The key converted once, for checking many signatures by the same signer.
    pub fn verifier(&self) -> Result<Verifier, XeddsaError> {
        Ok(Verifier {
            public: *self,
            key: self.verifying_key()?,
        })
    }
}

/// A public key already converted to its Edwards form (the conversion costs about as much as a
/// verification, and a log is signed by a few admins many times).
#[derive(Clone)]
pub struct Verifier {
    public: PublicKey,
    key: VerifyingKey,
}

impl Verifier {
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), XeddsaError> {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.key
            .verify_strict(message, &signature)
            .map_err(|_| XeddsaError::BadSignature(self.public.recipient()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.recipient())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.recipient())
    }
}

impl FromStr for PublicKey {
    type Err = XeddsaError;
    fn from_str(s: &str) -> Result<PublicKey, XeddsaError> {
        PublicKey::from_recipient(s)
    }
}

/// The signing half, derived from an age identity. No `Clone` or `Debug`; the expanded secret key
/// wipes itself when dropped.
pub struct SigningKey {
    expanded: ExpandedSecretKey,
    verifying: VerifyingKey,
    public: PublicKey,
}

impl SigningKey {
    /// The signing key of an age X25519 identity (its `AGE-SECRET-KEY-1...` text is decoded).
    pub fn from_age_identity(identity: &age::x25519::Identity) -> Result<SigningKey, XeddsaError> {
        let text = identity.to_string();
        let (hrp, mut data, variant) =
            bech32::decode(text.expose_secret()).map_err(|_| XeddsaError::NotAnIdentity)?;
        let decoded = Vec::<u8>::from_base32(&data);
        // bech32's 5-bit values cannot be zeroized through the trait; overwrite them by hand.
        data.iter_mut().for_each(|v| *v = Default::default());
        let bytes = Zeroizing::new(decoded.map_err(|_| XeddsaError::NotAnIdentity)?);
        if hrp != SECRET_KEY_HRP || variant != Variant::Bech32 || bytes.len() != 32 {
            return Err(XeddsaError::NotAnIdentity);
        }
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&bytes);
        Ok(SigningKey::from_secret_bytes(&secret))
    }

    /// Signal's `calculate_key_pair` for the X25519 secret `k` (clamped here, as X25519 does).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> SigningKey {
        let clamped = Zeroizing::new(clamp_integer(*secret));
        let k = Scalar::from_bytes_mod_order(*clamped);
        let e = EdwardsPoint::mul_base_clamped(*clamped);
        // The sign bit of E is secret (the recipient does not reveal it): select in constant time.
        let negative = Choice::from(e.compress().as_bytes()[31] >> 7);
        let a = Scalar::conditional_select(&k, &-k, negative);
        let public_point = EdwardsPoint::conditional_select(&e, &-e, negative);
        let mut nonce_input = Zeroizing::new(Vec::with_capacity(96));
        nonce_input.extend_from_slice(&HASH1_PREFIX);
        nonce_input.extend_from_slice(a.as_bytes());
        nonce_input.extend_from_slice(NONCE_KEY_LABEL);
        let digest: Zeroizing<[u8; 64]> =
            Zeroizing::new(Sha512::digest(nonce_input.as_slice()).into());
        let mut hash_prefix = [0u8; 32];
        hash_prefix.copy_from_slice(&digest[..32]);
        SigningKey {
            expanded: ExpandedSecretKey {
                scalar: a,
                hash_prefix,
            },
            verifying: VerifyingKey::from(public_point),
            public: PublicKey(e.to_montgomery().to_bytes()),
        }
    }

    /// The recipient this key signs as.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The Ed25519 public key `A` (for cross-checks with other implementations).
    pub fn edwards_public_key(&self) -> [u8; 32] {
        self.verifying.to_bytes()
    }

    /// A 32-byte secret for another purpose (e.g. the MAC of the user's pins), derived from the
    /// signing scalar and `label`, independent of every signature and nonce.
    pub fn derive_secret(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut input = Zeroizing::new(Vec::with_capacity(64 + label.len()));
        input.extend_from_slice(DERIVE_LABEL);
        input.extend_from_slice(&(label.len() as u64).to_be_bytes());
        input.extend_from_slice(label);
        input.extend_from_slice(self.expanded.scalar.as_bytes());
        let digest: Zeroizing<[u8; 64]> = Zeroizing::new(Sha512::digest(input.as_slice()).into());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&digest[..32]);
        out
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        raw_sign::<Sha512>(&self.expanded, message, &self.verifying).to_bytes()
    }
}

/// The Edwards public key `A` that verifies for `key` (for cross-checks and test vectors).
pub fn edwards_public_key(key: &PublicKey) -> Result<[u8; 32], XeddsaError> {
    key.verifying_key().map(|k| k.to_bytes())
}

#[cfg(test)]
mod tests;
