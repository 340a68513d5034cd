//! `--output FILE`: credentials written to a file of their own instead of stdout.
//!
//! A shell redirection (`> .env`) creates the file with the umask's mode, usually 0644, and
//! leaves it half-written if ohx fails midway. Here the file is built complete under a private
//! temporary name (0600, by `fsutil::publish`) and renamed over FILE, so a reader sees either the
//! old file or the whole new one, and nobody else may read it. A symbolic link at FILE is
//! replaced, never followed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::error::Error;
use crate::fsutil;

/// Replaces `path` with a new 0600 file holding `contents`.
pub fn replace_private(path: &Path, contents: &[u8]) -> Result<()> {
    let shown = path.display();
    let name = path
        .file_name()
        .ok_or_else(|| Error::OutputNoFileName(path.into()))?;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder {
        if !folder.is_dir() {
            return Err(Error::OutputFolderMissing {
                path: path.into(),
                folder: folder.into(),
            }
            .into());
        }
    }
    let staging = path.with_file_name(format!(
        ".{}.ohx-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&staging);
    let build = |tmp: &Path| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)
            .and_then(|mut file| file.write_all(contents).and_then(|()| file.sync_all()))
    };
    let published = fsutil::publish(&staging, build, |e| e);
    let renamed = match published {
        Ok(true) => std::fs::rename(&staging, path),
        Ok(false) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "another ohx is writing it",
        )),
        Err(e) => Err(e),
    };
    if renamed.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    renamed.with_context(|| format!("cannot write {shown}"))
}
