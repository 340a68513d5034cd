//! Signed authority: who is a member of a workspace, with which role and key, which key is the
//! workspace's, what the workspace is called, and which connection records are genuine, decided
//! by admins' signatures that every reader verifies, never by rows anyone who can write the store
//! could change. docs/SECURITY-authority.md describes the construction and its limits.
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
use std::path::PathBuf;

pub use audit::{history, Event, History, LoggedRecord};
pub use entry::{Body, Entry, Genesis};
pub use pins::{LogSource, Pin, Pins, Verified, PINS_FILE};
pub use record::{record_digest, sign_record, verify_record, RecordSignature};
pub use state::{extend, extend_prefix, verify_log, Member, Rejected, State};
pub use upgrade::{sign_current_state, Unsigned};

pub use crate::crypto::xeddsa::{PublicKey, SigningKey, XeddsaError};

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
        pins::unhex(text)?.try_into().ok().map(WorkspaceId)
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
        pins::unhex(text)?.try_into().ok().map(EntryHash)
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

/// Everything that can go wrong when checking authority. Each check failure is exit status 5 in
/// the catalogue; the pins file's own problems are 1 (or 6 for an unsafe file, like the store's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    #[error("a log entry is malformed ({reason})")]
    Malformed { reason: &'static str },
    #[error("the workspace has no log (no genesis entry)")]
    EmptyLog,
    #[error("the workspace log does not start with a genesis entry")]
    NoGenesis,
    #[error("log entry {seq} is a second genesis")]
    SecondGenesis { seq: u64 },
    #[error("the genesis entry is not signed by the creator it names")]
    GenesisNotSelfSigned,
    #[error("log entry {expected} is missing or out of place (found entry {found} there): entries were removed, reordered or replayed")]
    OutOfSequence { expected: u64, found: u64 },
    #[error("log entry {seq} does not follow the entry before it: the log was edited")]
    BrokenChain { seq: u64 },
    #[error("log entry {seq} has a signature that does not verify: it was forged or altered")]
    BadSignature { seq: u64 },
    #[error("log entry {seq} is signed by {signer}, who was not an admin of the workspace then")]
    NotAnAdmin { seq: u64, signer: String },
    #[error("log entry {seq} adds '{name}', who is already a member")]
    AlreadyMember { seq: u64, name: String },
    #[error(
        "log entry {seq} adds a member under the name '{name}', which is empty or already taken"
    )]
    NameTaken { seq: u64, name: String },
    #[error("log entry {seq} changes {recipient}, who is not a member")]
    NotAMember { seq: u64, recipient: String },
    #[error("log entry {seq} would leave the workspace without an admin")]
    LastAdmin { seq: u64 },
    #[error("log entry {seq} rotates to key version {version}, which is not newer than {current} or reuses the current key")]
    BadRotation {
        seq: u64,
        version: u32,
        current: u32,
    },
    #[error("the key of workspace '{workspace}' (version {version}) stored for you is not the key its log names")]
    WrongWorkspaceKey { workspace: String, version: u32 },
    #[error(
        "connection '{connection}' is signed by {signer}, who is not an admin of the workspace"
    )]
    RecordSignerNotAdmin { connection: String, signer: String },
    #[error("connection '{connection}' fails its signature check: it was changed outside ohx, or signed for another key version")]
    BadRecord { connection: String },
    #[error("the store's log of workspace '{workspace}' ends before entry {pinned}, which you have already seen: the store was rolled back")]
    Rollback { workspace: String, pinned: u64 },
    #[error("the store's log of workspace '{workspace}' differs from the one you have seen at entry {seq}: the log was forked")]
    Fork { workspace: String, seq: u64 },
    #[error("the store's workspace '{workspace}' (fingerprint {fingerprint}) is not the workspace '{workspace}' you have seen before")]
    Replaced {
        workspace: String,
        fingerprint: String,
    },
    #[error("the pins file {} is unprotected: mode {mode:04o} lets other users change it", path.display())]
    PinsUnsafe { path: PathBuf, mode: u32 },
    #[error("cannot read the pins file {}: {cause}", path.display())]
    PinsUnreadable { path: PathBuf, cause: String },
    #[error("the pins file {} is damaged", path.display())]
    PinsDamaged { path: PathBuf },
    #[error("the pins file {} was changed by someone without your identity (or belongs to another identity)", path.display())]
    PinsForged { path: PathBuf },
    #[error("cannot write the pins file {}: {cause}", path.display())]
    PinsUnwritable { path: PathBuf, cause: String },
    #[error("no random numbers from the operating system: {0}")]
    NoRandomness(String),
}

impl AuthorityError {
    /// What the user should do next; the catalogue may use it as the hint.
    pub fn hint(&self) -> Option<String> {
        use AuthorityError::*;
        match self {
            Rollback { workspace, .. } => Some(format!(
                "someone put back an older copy of the store; nothing was used. Restore the newest copy, or ask an admin of '{workspace}' which one is current"
            )),
            Fork { workspace, .. } => Some(format!(
                "the history of '{workspace}' was rewritten; nothing was used. Ask an admin of '{workspace}' and compare `ohx workspace show` fingerprints"
            )),
            Replaced { workspace, .. } => Some(format!(
                "compare this fingerprint with an admin of '{workspace}'; if the workspace really was deleted and created again, forget the old one first"
            )),
            WrongWorkspaceKey { workspace, .. } => Some(format!(
                "someone planted a key in the store; an admin of '{workspace}' should run `ohx workspace rotate-key {workspace}`"
            )),
            RecordSignerNotAdmin { connection, .. } | BadRecord { connection } => Some(format!(
                "find out who could write the store file; an admin can delete the connection (`ohx connection delete {connection}`) and add it again"
            )),
            PinsUnsafe { path, .. } => Some(format!("run `chmod 600 {}`", path.display())),
            PinsForged { path } => Some(format!(
                "find out who can write {}; then move it aside: every workspace is trusted anew on first sight (compare fingerprints)",
                path.display()
            )),
            PinsDamaged { path } => Some(format!(
                "move {} aside; every workspace is then trusted anew on first sight (compare fingerprints)",
                path.display()
            )),
            PinsUnreadable { .. } | PinsUnwritable { .. } | NoRandomness(_) => None,
            _ => Some("the workspace log fails its checks: find out who could write the store file, and run `ohx workspace verify`".into()),
        }
    }
}

#[cfg(test)]
mod tests;
