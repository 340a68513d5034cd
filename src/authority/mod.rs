//! Signed authority: who is a member of a workspace, with which role and key, which key is the
//! workspace's, what the workspace is called, and which connection records are genuine, decided
//! by admins' signatures that every reader verifies, never by rows anyone who can write the store
//! could change. docs/SECURITY.md ("Signed authority") describes the construction and its limits.
//!
//! - [`Entry`]: one signed change of a per-workspace, hash-chained, append-only log;
//! - [`verify_log`] / [`extend`] / [`State::propose`]: the rules, and the [`State`] a log defines;
//! - [`sign_record`] / [`verify_record`]: connection records signed by a current admin, bound to
//!   the workspace id and the current key version;
//! - [`history`]: the verified log told as events (`ohx log`), with the last logged digest of
//!   every connection (`workspace verify` compares the live records with it);
//! - [`sign_current_state`]: the first signed log of a workspace from before signed authority;
//! - [`Pins`]: the last verified head of every workspace a user has seen (rollback and fork
//!   detection, trust on first use) and the genesis [`fingerprint`] members compare.
//!
//! This module depends on `crypto::xeddsa`, `domain::Role` and `fsutil` only; it does no SQL.

mod audit;
mod encoding;
mod entry;
mod pins;
mod record;
mod state;
mod upgrade;

use std::fmt;

pub use audit::{history, Event, History, LoggedRecord};
pub use entry::{Body, Entry, Genesis};
pub use pins::{pins_dir_for, LogSource, Pin, Pins, Verified, PINS_DIR};
pub use record::{
    record_digest, sign_record, verify_record, verify_record_remembered, RecordSignature,
};
pub use state::{extend, extend_prefix, verify_log, Member, Rejected, State};
pub use upgrade::{sign_current_state, Unsigned};

pub use crate::crypto::xeddsa::{PublicKey, SigningKey, XeddsaError};

/// A check that a user's pins remember as passed, named by a SHA-256 of everything it depended
/// on: a record signature verified, a wrapped key found to open to the key the log names
/// (docs/SECURITY.md, "Remembered checks").
pub type Checked = [u8; 32];

/// A workspace's permanent identity: 32 random bytes chosen at its genesis.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkspaceId(pub [u8; 32]);

impl WorkspaceId {
    /// A fresh random id for a new workspace.
    pub fn random() -> Result<WorkspaceId, AuthorityError> {
        let mut id = [0u8; 32];
        getrandom::getrandom(&mut id).map_err(|e| AuthorityError::NoRandomness(e.to_string()))?;
        Ok(WorkspaceId(id))
    }

    pub fn to_hex(&self) -> String {
        pins::hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Option<WorkspaceId> {
        pins::unhex_array(text).map(WorkspaceId)
    }
}

impl fmt::Debug for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The SHA-256 hash of an entry's stored bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryHash(pub [u8; 32]);

impl EntryHash {
    /// What the genesis names as the entry before it.
    pub const ZERO: EntryHash = EntryHash([0; 32]);

    pub fn to_hex(&self) -> String {
        pins::hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Option<EntryHash> {
        pins::unhex_array(text).map(EntryHash)
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The last entry of a log: its number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: EntryHash,
}

/// The short fingerprint of a genesis: the first 160 bits of its hash in base32 (RFC 4648
/// alphabet, lower case), in eight groups of four, e.g. `k7q2-mx4d-...`. Members read it to each
/// other to check that they trust the same workspace.
pub fn fingerprint(genesis: &EntryHash) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut chars = Vec::with_capacity(32);
    for byte in &genesis.0[..20] {
        bits = (bits << 8) | u64::from(*byte);
        count += 8;
        while count >= 5 {
            count -= 5;
            chars.push(ALPHABET[((bits >> count) & 31) as usize] as char);
        }
    }
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

pub use crate::error::AuthorityError;

#[cfg(test)]
mod tests;
