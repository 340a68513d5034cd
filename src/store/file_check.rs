//! What is at the store's path, checked before SQLite may open (and so possibly write) it: a
//! symbolic link, permissions, size, header, `application_id`, a `user_version` from a newer ohx,
//! and the `-wal`/`-shm` companions.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{migrations, APPLICATION_ID};
use crate::error::Error;
use crate::fsutil::{self, Entry};

/// Checks what is at `path` before SQLite may open (and so possibly write) it; returns its folder.
pub(super) fn check_file(path: &Path) -> Result<fsutil::Folder, Error> {
    let io = |source| io_error(path, source);
    let (mode, gid) = match fsutil::inspect(path).map_err(io)? {
        Entry::Missing => return Err(Error::StoreMissing(path.into())),
        Entry::Symlink => return Err(Error::StoreSymlink(path.into())),
        Entry::Other => return Err(Error::StoreNotAFile(path.into())),
        Entry::File { len: 0, .. } => return Err(Error::StoreEmpty(path.into())),
        Entry::File { mode, gid, .. } => (mode, gid),
    };
    let folder = check_folder(path)?;
    check_mode(path, mode, gid, &folder)?;
    let mut header = [0u8; 100];
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if file.read_exact(&mut header).is_err() || !header.starts_with(b"SQLite format 3\0") {
        return Err(Error::NotAStore(path.into()));
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    if be32(68) != APPLICATION_ID {
        return Err(Error::NotAStore(path.into()));
    }
    let version = be32(60);
    if version > migrations::LATEST {
        return Err(Error::StoreNewer {
            path: path.into(),
            found: version,
            known: migrations::LATEST,
        });
    }
    if looks_short(&header, len) && stays_short(path) {
        return Err(Error::StoreTruncated(path.into()));
    }
    check_companions(path, &folder)?;
    Ok(folder)
}

/// A store the user may not even look at (a shared store of a group they are not in) is named as
/// such, not as an input/output error.
fn io_error(path: &Path, source: std::io::Error) -> Error {
    if source.kind() == std::io::ErrorKind::PermissionDenied {
        return Error::StoreDenied(path.into());
    }
    Error::StoreIo {
        path: path.into(),
        source,
    }
}

/// The modes a store file (or a `-wal`/`-shm` beside it) may have: private to its owner, or
/// exactly the shared shape of `ohx store share` (docs/SECURITY.md, "One store, several
/// accounts"): at most 0660, in a group folder, and of that folder's group. Anything looser, or
/// group bits outside a group folder, is refused.
fn check_mode(path: &Path, mode: u32, gid: u32, folder: &fsutil::Folder) -> Result<(), Error> {
    if !fsutil::is_shared(mode) {
        return Ok(());
    }
    if !fsutil::is_group_folder(folder.mode) || !fsutil::fits_group_folder(mode) {
        return Err(Error::StoreUnprotected {
            path: path.into(),
            mode,
        });
    }
    if gid != folder.gid {
        return Err(Error::StoreGroupMismatch {
            path: path.into(),
            group: crate::unix_group::name_of(gid),
            folder: folder.path.clone(),
            folder_group: crate::unix_group::name_of(folder.gid),
        });
    }
    Ok(())
}

/// Refuses a store whose folder group or others may write: they could plant or swap its `-wal`,
/// `-shm` and journal files. A folder others may only read (0755) is fine, and so is a group
/// folder of `ohx store share` (setgid, 2770): its group's members are the store's writers, which
/// signed authority allows (docs/SECURITY.md, "One store, several accounts").
pub(super) fn check_folder(path: &Path) -> Result<fsutil::Folder, Error> {
    let folder = fsutil::folder_of(path).map_err(|source| io_error(path, source))?;
    let shared = folder.mode & 0o002 != 0
        || (folder.mode & 0o020 != 0 && !fsutil::is_group_folder(folder.mode));
    if shared {
        return Err(Error::StoreFolderShared {
            path: folder.path,
            mode: folder.mode,
        });
    }
    Ok(folder)
}

/// Whether the file is shorter than the page count its header claims. The count is only valid when
/// its "version valid for" field matches the change counter.
fn looks_short(header: &[u8; 100], len: u64) -> bool {
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    be32(92) == be32(24) && len < u64::from(be32(28)) * page_size
}

/// A checkpoint in another process writes page 1, with the new page count, a moment before it
/// extends the file; a store is only called truncated when it stays short.
fn stays_short(path: &Path) -> bool {
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(20));
        let mut header = [0u8; 100];
        let Ok(mut file) = std::fs::File::open(path) else {
            return true;
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if file.read_exact(&mut header).is_err() || !looks_short(&header, len) {
            return false;
        }
    }
    true
}

/// The file SQLite keeps beside the store under `suffix` (`-wal`, `-shm`).
pub(super) fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The `-wal` and `-shm` files beside the store: never links, only regular files, never readable
/// by others, shared only as the store may be, and writable by their owner whenever the store is
/// (SQLite creates them with the store's mode, so a store once made read-only leaves a read-only
/// `-shm` behind that would keep it read-only forever).
fn check_companions(path: &Path, folder: &fsutil::Folder) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["-wal", "-shm"] {
        let companion = companion(path, suffix);
        match fsutil::inspect(&companion).map_err(|e| io_error(&companion, e))? {
            Entry::Missing => {}
            Entry::Symlink => return Err(Error::StoreSymlink(companion)),
            Entry::Other => return Err(Error::StoreNotAFile(companion)),
            Entry::File { mode, gid, .. } => {
                check_mode(&companion, mode, gid, folder)?;
                if mode & 0o600 != 0o600 {
                    let writable = std::fs::Permissions::from_mode(mode | 0o600);
                    // Failing here is fine: SQLite then reports the store read-only, with its
                    // hint.
                    let _ = std::fs::set_permissions(&companion, writable);
                }
            }
        }
    }
    Ok(())
}
