//! File-system helpers for private files: 0700 folders, 0600 files, refusal of symbolic links.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and its missing parents with mode 0700 (existing folders are left as they are).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// What is at a path, looked at without following a symbolic link.
pub enum Entry {
    Missing,
    Symlink,
    File { mode: u32, len: u64 },
    Other,
}

pub fn inspect(path: &Path) -> std::io::Result<Entry> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Entry::Missing),
        Err(e) => Err(e),
        Ok(meta) if meta.file_type().is_symlink() => Ok(Entry::Symlink),
        Ok(meta) if meta.is_file() => Ok(Entry::File {
            mode: meta.permissions().mode() & 0o777,
            len: meta.len(),
        }),
        Ok(_) => Ok(Entry::Other),
    }
}

/// Whether group or others may read, write or run the file.
pub fn is_shared(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// Creates the file at `path` without ever showing it half-built or replacing one that exists:
/// `build` writes it under a temporary sibling name, which is then hard-linked into place.
/// Returns `false` when `path` already existed (another process won the race).
pub fn publish<E>(
    path: &Path,
    build: impl FnOnce(&Path) -> Result<(), E>,
    io_error: impl Fn(std::io::Error) -> E,
) -> Result<bool, E> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.new-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let linked = build(&tmp).and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_error(e)),
    });
    let _ = std::fs::remove_file(&tmp);
    linked
}
