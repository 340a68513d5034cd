//! The private sockets of ohx's own background processes (the unlock agent, the connection
//! holder) in the runtime folder (`keyfiles::folder`): made 0600 in a private folder, answered
//! only for the same user, and trusted by a client only when that same user listens on them.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use anyhow::{Context, Result};

fn me() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Whether the process at the other end of `stream` is this user's.
pub fn peer_is_me(stream: &UnixStream) -> bool {
    rustix::net::sockopt::socket_peercred(stream).is_ok_and(|p| p.uid.as_raw() == me())
}

/// A connection to the socket at `path`, if it is this user's socket and this user listens on
/// it. The folder is private, but the listener proves itself anyway: a socket bound by another
/// user could hand over someone else's key, or rows of its choosing.
pub fn connect(path: &Path) -> Option<UnixStream> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_socket() || meta.uid() != me() {
        return None;
    }
    let stream = UnixStream::connect(path).ok()?;
    peer_is_me(&stream).then_some(stream)
}

/// Listens on `path` (0600, its folder made private first), replacing a stale socket left
/// there (anything else is left alone, and binding then fails and says so); returns the
/// listener and the socket's inode, by which its owner later knows it is still there.
pub fn bind(path: &Path) -> Result<(UnixListener, u64)> {
    let folder = path.parent().unwrap_or(Path::new("."));
    crate::keyfiles::prepare(folder)?;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let inode = std::fs::symlink_metadata(path)?.ino();
    Ok((listener, inode))
}

/// Whether `path` is still the socket bound with inode `inode` (not removed, not replaced).
pub fn is_ours(path: &Path, inode: u64) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.ino() == inode)
}

/// Removes the socket at `path` if it is still the one bound with inode `inode`.
pub fn remove_if_ours(path: &Path, inode: u64) {
    if is_ours(path, inode) {
        let _ = std::fs::remove_file(path);
    }
}

/// Whether `path` is named `<prefix>...sock` directly in the runtime folder: what the hidden
/// commands that serve these sockets accept, so they cannot be pointed at another file.
pub fn is_named_in_runtime_folder(path: &Path, prefix: &str) -> bool {
    let named_like_one = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".sock"));
    named_like_one && path.parent() == Some(crate::keyfiles::folder().as_path())
}
