//! The unlock agent: `ohx unlock` asks for the passphrase of a protected identity once and hands
//! the unlocked key to a small background process, which later ohx commands of the same user ask
//! for it instead of asking for the passphrase (and spending a second and a half on scrypt).
//!
//! What the agent holds and where (docs/AGENT.md tells the whole design):
//! - only the key, in memory: never the passphrase (it starts with an empty environment, so not
//!   even `OHX_PASSPHRASE`), never anything on disk; it is made non-dumpable, so no core file and
//!   no other process of the user (ptrace, /proc/PID/mem) can read its memory, and it locks its
//!   memory (`mlockall`) so the key is never swapped out;
//! - one agent per identity file, on a 0600 socket in the private runtime folder
//!   (`$XDG_RUNTIME_DIR/ohx/`), named after the identity file's path;
//! - it gives the key only for the identity file it was unlocked from: a client sends the SHA-256
//!   of the file it is about to use, so a replaced or re-protected file is asked for again;
//! - it answers only its own user (SO_PEERCRED), and clients talk only to an agent of their own
//!   user; it ends after `--for`, at `ohx lock`, or when its socket disappears.
//!
//! Dependency direction: commands -> agent -> crypto (the identity), keyfiles (the folder).

pub mod client;
pub mod duration;
pub mod server;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::crypto::identity::PassphraseSource;
use crate::crypto::UserIdentity;
use crate::error::Error;

/// The agent's socket for the identity file at `identity`.
pub fn socket_for(identity: &Path) -> PathBuf {
    let absolute = std::path::absolute(identity).unwrap_or_else(|_| identity.to_path_buf());
    let digest = Sha256::digest(absolute.as_os_str().as_encoded_bytes());
    crate::keyfiles::folder().join(format!("agent-{}.sock", &hex(&digest)[..16]))
}

/// The SHA-256 of the identity file's bytes, which binds an agent to the file it unlocked.
pub fn file_digest(identity: &Path) -> std::io::Result<String> {
    std::fs::read(identity).map(|bytes| hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the identity file at `path` is passphrase-protected; `Ok(Some(keys))` when it is
/// not (the file is loaded then, with every check of [`UserIdentity::load_all`]).
pub fn load_unprotected(path: &Path) -> Result<Option<Vec<UserIdentity>>> {
    let protected = Cell::new(false);
    let mut probe = || {
        protected.set(true);
        Err(anyhow::anyhow!("the identity is protected"))
    };
    match UserIdentity::load_all(path, &mut probe) {
        Ok(keys) => Ok(Some(keys)),
        Err(_) if protected.get() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Unlocks the protected identity at `path` with `passphrase` (always asked: a running agent is
/// never used to start a new one, so an unlocked terminal cannot extend itself for ever) and
/// starts an agent that holds its keys for `how_long`, replacing one that held them. `Ok(false)`
/// when the identity has no passphrase, so there is nothing to unlock.
pub fn unlock(
    path: &Path,
    passphrase: PassphraseSource<'_>,
    how_long: Duration,
) -> Result<Unlocked> {
    if load_unprotected(path)?.is_some() {
        return Ok(Unlocked::NothingToUnlock);
    }
    let keys = UserIdentity::load_all(path, passphrase)?;
    let digest = file_digest(path).map_err(|e| Error::IdentityDamaged {
        path: path.into(),
        detail: Some(e.to_string()),
    })?;
    client::lock(path);
    let secrets: Vec<SecretString> = keys.iter().map(UserIdentity::expose_secret_key).collect();
    let memory_locked = server::start(&socket_for(path), how_long, &digest, &secrets)?;
    Ok(Unlocked::Agent { memory_locked })
}

/// What `ohx unlock` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlocked {
    /// The identity has no passphrase.
    NothingToUnlock,
    /// An agent holds the key; `memory_locked` when its memory can never be swapped out.
    Agent { memory_locked: bool },
}

/// Every key of the identity file at `path`: an unprotected file as it is; a protected one from
/// the agent when `ohx unlock` left one running for it, else by asking `passphrase`.
pub fn load_identities(path: &Path, passphrase: PassphraseSource<'_>) -> Result<Vec<UserIdentity>> {
    if let Some(keys) = load_unprotected(path)? {
        return Ok(keys);
    }
    if let Some(keys) = client::fetch(path) {
        return Ok(keys);
    }
    UserIdentity::load_all(path, passphrase)
}

/// The first key of the identity file at `path`, as [`load_identities`] finds it.
pub fn load_identity(path: &Path, passphrase: PassphraseSource<'_>) -> Result<UserIdentity> {
    let mut keys = load_identities(path, passphrase)?;
    Ok(keys.remove(0))
}
