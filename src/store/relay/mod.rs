//! Held connections (`ohx store hold`): a small background process of the user's keeps
//! connections to one PostgreSQL store open, and later commands of the same user run their
//! statements through it instead of connecting, authenticating and warming a fresh server
//! backend every time (BENCHMARKS.md: most of a command's time on PostgreSQL).
//!
//! The holder is a pipe, not a judge: each command still runs every check of its own (the
//! store's version, the planted-object check, every signature), on its own transaction, so a
//! store planted with a trigger between two commands is refused exactly as without it. What it
//! holds: open connections and the database password it logged in with (from `PGPASSWORD` or the
//! password file, in its environment and memory; it is not dumpable, like every ohx process).
//! It answers only its own user (SO_PEERCRED) on a 0600 socket in the private runtime folder,
//! named after the store; clients talk only to a holder of their own user. It ends after being
//! unused for `--idle`, at `ohx store release`, or when its socket disappears
//! (docs/ARCHITECTURE.md, "Held connections"; docs/SECURITY.md, "What the connection holder
//! sees").

mod client;
pub mod server;
mod wire;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use client::Held;
use wire::{Reply, Request};

use super::postgres::url::Target;
use crate::background;
use crate::error::Error;

/// The socket of the holder for the store `target` names: one per store, told apart by
/// everything that decides where and as whom it connects.
pub fn socket_for(target: &Target) -> PathBuf {
    let identity = format!(
        "{}\n{:?}\n{}\n{}\n{:?}\n{:?}\n{:?}",
        target.user,
        target.host,
        target.port,
        target.database,
        target.sslmode,
        target.sslrootcert,
        target.passfile
    );
    let digest = Sha256::digest(identity.as_bytes());
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    crate::keyfiles::folder().join(format!("store-{name}.sock"))
}

/// A connection held for `target`, when a holder of this user runs for it.
pub fn attach(target: &Target) -> Option<Held> {
    Held::attach(&socket_for(target))
}

/// What a running holder says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// After how long unused it ends.
    pub idle: Duration,
}

/// The holder for `target`, if one runs.
pub fn status(target: &Target) -> Option<Holder> {
    match Held::ask(&socket_for(target), &Request::Status)? {
        Reply::Status {
            pid, idle_seconds, ..
        } => Some(Holder {
            pid,
            idle: Duration::from_secs(idle_seconds),
        }),
        _ => None,
    }
}

/// Asks the holder for `target` to end (once the commands using it are done); whether one did.
pub fn release(target: &Target) -> bool {
    matches!(
        Held::ask(&socket_for(target), &Request::Release),
        Some(Reply::Done)
    )
}

/// The environment the holder keeps: what libpq-style connecting reads (`PG*`, `HOME` for
/// `~/.pgpass`, the certificate bundle) and what places the runtime folder; nothing else of the
/// caller's, so a job's other secrets never sit in a long-lived process.
fn kept_variable(name: &str) -> bool {
    name.starts_with("PG")
        || [
            "HOME",
            "USER",
            "LOGNAME",
            "XDG_RUNTIME_DIR",
            "TMPDIR",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        ]
        .contains(&name)
}

/// Starts a holder for `target` (the URL `url`) that ends after `idle` unused, replacing one
/// that ran for it (that one ends once the commands using it are done). Returns once the new one
/// has connected and listens.
pub fn hold(url: &str, target: &Target, idle: Duration) -> Result<Holder, Error> {
    let socket = socket_for(target);
    let did_not_start = |detail: String| Error::HoldDidNotStart {
        store: target.shown.clone(),
        detail,
    };
    let idle_seconds = idle.as_secs().to_string();
    let args = [
        OsStr::new("--store"),
        OsStr::new(url),
        OsStr::new("store-relay"),
        OsStr::new("--socket"),
        socket.as_os_str(),
        OsStr::new("--idle-seconds"),
        OsStr::new(&idle_seconds),
    ];
    let env = background::kept_environment(kept_variable);
    let started = background::start(&args, env, None, 4096, |line| line == server::READY)
        .map_err(|e| did_not_start(e.to_string()))?;
    match started {
        background::Started::Listening { pid, .. } => Ok(Holder { pid, idle }),
        background::Started::Failed(said) => {
            let why = said
                .strip_prefix(server::FAILED)
                .map(str::trim_end)
                .filter(|w| !w.is_empty())
                .unwrap_or("it ended before it listened");
            Err(did_not_start(why.to_string()))
        }
    }
}

/// Where `ohx store-relay` was told to listen, checked to be a holder's socket name in the
/// runtime folder, so the hidden command cannot be pointed at another file.
pub fn checked_socket(socket: PathBuf) -> Result<PathBuf, Error> {
    if !crate::runtime_socket::is_named_in_runtime_folder(&socket, "store-") {
        return Err(Error::HoldByHand);
    }
    Ok(socket)
}
