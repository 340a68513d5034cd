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
