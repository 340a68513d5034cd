//! What is at the store's path, checked before SQLite may open (and so possibly write) it: a
//! symbolic link, permissions, size, header, `application_id`, a `user_version` from a newer ohx,
//! and the `-wal`/`-shm` companions.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{migrations, APPLICATION_ID};
use crate::error::Error;
use crate::fsutil::{self, Entry};

/// Checks what is at `path` before SQLite may open (and so possibly write) it.
pub(super) fn check_file(path: &Path) -> Result<(), Error> {
    let io = |source| Error::StoreIo {
        path: path.into(),
        source,
    };
    match fsutil::inspect(path).map_err(io)? {
        Entry::Missing => return Err(Error::StoreMissing(path.into())),
        Entry::Symlink => return Err(Error::StoreSymlink(path.into())),
        Entry::Other => return Err(Error::StoreNotAFile(path.into())),
        Entry::File { len: 0, .. } => return Err(Error::StoreEmpty(path.into())),
        Entry::File { mode, .. } if fsutil::is_shared(mode) => {
            return Err(Error::StoreUnprotected {
                path: path.into(),
                mode,
            })
        }
        Entry::File { .. } => {}
    }
    check_folder(path)?;
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
    check_companions(path)
}

/// Refuses a store whose folder group or others may write: they could plant or swap its `-wal`,
/// `-shm` and journal files. A folder others may only read (0755) is fine.
pub(super) fn check_folder(path: &Path) -> Result<(), Error> {
    let shared = fsutil::writable_by_others(path).map_err(|source| Error::StoreIo {
        path: path.into(),
        source,
    })?;
    match shared {
        Some((dir, mode)) => Err(Error::StoreFolderShared { path: dir, mode }),
        None => Ok(()),
    }
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

/// The `-wal` and `-shm` files beside the store: never links, never readable by others, and
/// writable whenever the store is (SQLite creates them with the store's mode, so a store once
/// made read-only leaves a read-only `-shm` behind that would keep it read-only forever).
fn check_companions(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        let companion = PathBuf::from(name);
        let io = |source| Error::StoreIo {
            path: companion.clone(),
            source,
        };
        match fsutil::inspect(&companion).map_err(io)? {
            Entry::Symlink => return Err(Error::StoreSymlink(companion)),
            Entry::File { mode, .. } if fsutil::is_shared(mode) => {
                return Err(Error::StoreUnprotected {
                    path: companion,
                    mode,
                })
            }
            Entry::File { mode, .. } if mode & 0o600 != 0o600 => {
                let writable = std::fs::Permissions::from_mode(0o600);
                // Failing here is fine: SQLite then reports the store read-only, with its hint.
                let _ = std::fs::set_permissions(&companion, writable);
            }
            _ => {}
        }
    }
    Ok(())
}
