//! Private temporary files for `ohx run`: a GCS service-account key must reach the child as a
//! path (GOOGLE_APPLICATION_CREDENTIALS). Files live in a 0700 folder of the runtime directory,
//! are 0600, are removed when the child ends, and files left by an ohx that was killed are swept
//! by the next run.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
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
fn prepare(dir: &Path) -> Result<()> {
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
}

impl KeyFiles {
    /// Writes `contents` to a new 0600 file and returns its path.
    pub fn write(&mut self, contents: &str) -> Result<PathBuf> {
        let dir = folder();
        prepare(&dir)?;
        let path = dir.join(format!(
            "gcs-{}-{}.json",
            std::process::id(),
            self.paths.len()
        ));
        let _ = std::fs::remove_file(&path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        self.paths.push(path.clone());
        file.write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

impl Drop for KeyFiles {
    fn drop(&mut self) {
        for path in &self.paths {
            let _ = std::fs::remove_file(path);
        }
    }
}
