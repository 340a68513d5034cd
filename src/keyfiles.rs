//! The GCS service-account key for `ohx run`, which must reach the child as a path
//! (GOOGLE_APPLICATION_CREDENTIALS).
//!
//! On Linux the key never touches a disk: it is written to a memory file (`memfd_create`), sealed
//! so nobody can change, grow or shrink it, and passed on a descriptor the child inherits (named
//! `/dev/fd/N` here; the trampoline of `child` turns that into `/proc/PID/fd/N`); it disappears
//! with the last process holding it, however ohx ends (even `kill -9`). Elsewhere, or when the
//! kernel refuses memory files, the key is a 0600 file in a 0700 folder of the runtime directory,
//! removed when the child ends; files left by an ohx that was killed are swept by the next run.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::Error;
use crate::fsutil;

/// The folder: `$XDG_RUNTIME_DIR/ohx`, else `<tmp>/ohx-<uid>`.
pub fn folder() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("ohx"),
        None => std::env::temp_dir().join(format!("ohx-{}", rustix::process::getuid().as_raw())),
    }
}

/// Creates the folder if needed and checks it is a real folder, ours, private.
pub fn prepare(dir: &Path) -> Result<()> {
    fsutil::create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let meta =
        std::fs::symlink_metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let ours = meta.uid() == rustix::process::getuid().as_raw();
    if !meta.is_dir() || !ours || fsutil::is_shared(meta.permissions().mode()) {
        return Err(Error::RuntimeFolderUnsafe(dir.into()).into());
    }
    Ok(())
}

/// Removes key files whose ohx process no longer exists.
pub fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = owner_pid(&name.to_string_lossy()) else {
            continue;
        };
        let alive = rustix::process::Pid::from_raw(pid).is_some_and(|p| {
            rustix::process::test_kill_process(p).is_ok() || pid == std::process::id() as i32
        });
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `gcs-<pid>-<n>.json` gives `<pid>`.
fn owner_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("gcs-")?.strip_suffix(".json")?;
    rest.split('-').next()?.parse().ok()
}

/// Key files that exist while this value lives.
#[derive(Default)]
pub struct KeyFiles {
    paths: Vec<PathBuf>,
    /// Sealed memory files; the child inherits them, ohx closes its copies when this is dropped.
    memory: Vec<OwnedFd>,
}

impl KeyFiles {
    /// Whether `path` is one of the memory files handed over as `/dev/fd/N`.
    pub fn is_memory_path(&self, path: &str) -> bool {
        use std::os::fd::AsRawFd;
        self.memory
            .iter()
            .any(|fd| path == format!("/dev/fd/{}", fd.as_raw_fd()))
    }

    /// Hands `contents` over as a path: a sealed memory file where the platform has them, else a
    /// new 0600 file.
    pub fn write(&mut self, contents: &str) -> Result<PathBuf> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Ok(fd) = sealed_memory_file(contents) {
            use std::os::fd::AsRawFd;
            let path = PathBuf::from(format!("/dev/fd/{}", fd.as_raw_fd()));
            self.memory.push(fd);
            return Ok(path);
        }
        self.write_file(contents)
    }

    /// Writes `contents` to a new 0600 file and returns its path.
    fn write_file(&mut self, contents: &str) -> Result<PathBuf> {
        let dir = folder();
        prepare(&dir)?;
        let path = dir.join(format!(
            "gcs-{}-{}.json",
            std::process::id(),
            self.paths.len()
        ));
        let _ = std::fs::remove_file(&path);
        let mut file = fsutil::create_private_file(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        self.paths.push(path.clone());
        file.write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

/// A memory file holding `contents`, read-only to its owner and sealed against any change. Its
/// descriptor is inheritable on purpose (no close-on-exec): the child of `ohx run` opens it as
/// `/dev/fd/N`. Every other descriptor ohx opens is close-on-exec, as Rust makes them.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn sealed_memory_file(contents: &str) -> std::io::Result<OwnedFd> {
    use rustix::fs::{MemfdFlags, SealFlags};
    let fd = rustix::fs::memfd_create("ohx-gcs-key", MemfdFlags::ALLOW_SEALING)?;
    rustix::fs::fchmod(&fd, rustix::fs::Mode::from_raw_mode(0o400))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(contents.as_bytes())?;
    let fd = OwnedFd::from(file);
    rustix::fs::fcntl_add_seals(
        &fd,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
    )?;
    Ok(fd)
}

impl Drop for KeyFiles {
    fn drop(&mut self) {
        for path in &self.paths {
            let _ = std::fs::remove_file(path);
        }
    }
}
