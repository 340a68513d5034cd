//! Opening a SQLite store to the members of one Unix group (`ohx store share`, docs/SECURITY.md,
//! "One store, several accounts"): its folder becomes the group's with mode 2770 (setgid, so every
//! file SQLite creates there gets the group too), the store and its `-wal`/`-shm` the group's with
//! mode 0660. Everything is changed on descriptors opened without following a link, and checked
//! there, so nothing can be swapped in between.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use super::Store;
use crate::error::Error;

/// The folder's mode once shared.
pub const FOLDER_MODE: u32 = 0o2770;
/// The mode of the store and its companions once shared.
pub const FILE_MODE: u32 = 0o660;

/// What [`share`] did.
#[derive(Debug)]
pub struct Shared {
    pub folder: PathBuf,
    /// The folder and files whose group or mode changed (empty when all was shared already).
    pub changed: Vec<PathBuf>,
    /// The first folder on the way to the store that members of the group cannot pass through,
    /// with its mode; they cannot use the store until its owner opens it.
    pub blocked_by: Option<(PathBuf, u32)>,
}

/// Gives the store at `path`, its companions and its folder to group `gid`. The store must be an
/// ohx store this ohx can open; its folder must be the caller's, hold nothing else, and not be
/// their home. Running it again changes nothing.
pub fn share(path: &Path, gid: u32) -> Result<Shared, Error> {
    // Refuses anything that is not a store (a file of something else, a newer store) untouched.
    drop(Store::open(path)?);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::NotAStore(path.into()))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let failed = |source: std::io::Error| Error::ShareFailed {
        path: dir.into(),
        source,
    };
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let folder = rustix::fs::open(dir, dir_flags, Mode::empty()).map_err(|e| failed(e.into()))?;
    let folder_meta = File::from(folder.try_clone().map_err(failed)?)
        .metadata()
        .map_err(failed)?;
    if is_home(&folder_meta) {
        return Err(Error::ShareHomeFolder(dir.into()));
    }
    let others = other_entries(&folder, &name).map_err(failed)?;
    if !others.is_empty() {
        return Err(Error::ShareFolderNotEmpty {
            path: dir.into(),
            others,
        });
    }
    let mut changed = Vec::new();
    // The folder first: stopped half-way, the store is still private in a group folder, which
    // every check accepts and which running the command again completes.
    if give(&folder, &folder_meta, dir, gid, FOLDER_MODE)? {
        changed.push(dir.to_path_buf());
    }
    for suffix in ["", "-wal", "-shm"] {
        let file_name = format!("{name}{suffix}");
        let file_path = dir.join(&file_name);
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        let fd = match rustix::fs::openat(&folder, file_name.as_str(), flags, Mode::empty()) {
            Ok(fd) => fd,
            // A companion exists only while some ohx has the store open.
            Err(rustix::io::Errno::NOENT) if !suffix.is_empty() => continue,
            Err(rustix::io::Errno::NOENT) => return Err(Error::StoreMissing(file_path)),
            Err(rustix::io::Errno::LOOP) => return Err(Error::StoreSymlink(file_path)),
            Err(e) => return Err(failed(e.into())),
        };
        let meta = File::from(fd.try_clone().map_err(failed)?)
            .metadata()
            .map_err(failed)?;
        if !meta.is_file() {
            return Err(Error::StoreNotAFile(file_path));
        }
        if give(&fd, &meta, &file_path, gid, FILE_MODE)? {
            changed.push(file_path);
        }
    }
    Ok(Shared {
        folder: dir.to_path_buf(),
        changed,
        blocked_by: first_blocking(dir, gid),
    })
}

/// Gives the open file or folder `fd` to group `gid` with `mode`, unless it has both already;
/// says whether it changed anything.
fn give(
    fd: &OwnedFd,
    meta: &std::fs::Metadata,
    path: &Path,
    gid: u32,
    mode: u32,
) -> Result<bool, Error> {
    if meta.gid() == gid && meta.permissions().mode() & 0o7777 == mode {
        return Ok(false);
    }
    let me = rustix::process::geteuid();
    if meta.uid() != me.as_raw() && !me.is_root() {
        return Err(Error::ShareNotOwner {
            path: path.into(),
            uid: meta.uid(),
        });
    }
    let failed = |e: rustix::io::Errno| Error::ShareFailed {
        path: path.into(),
        source: e.into(),
    };
    let group = rustix::fs::Gid::from_raw(gid);
    rustix::fs::fchown(fd, None, Some(group)).map_err(failed)?;
    // After the group: changing it may clear the setgid bit.
    rustix::fs::fchmod(fd, Mode::from_raw_mode(mode)).map_err(failed)?;
    let now = rustix::fs::fstat(fd).map_err(failed)?;
    if now.st_gid != gid || now.st_mode & 0o7777 != mode {
        // The kernel dropped a bit it may drop silently (setgid for a group the caller lacks).
        return Err(failed(rustix::io::Errno::PERM));
    }
    Ok(true)
}

/// Whether the folder is the caller's home folder (`$HOME`).
fn is_home(folder: &std::fs::Metadata) -> bool {
    crate::paths::non_empty_env("HOME")
        .and_then(|home| std::fs::metadata(home).ok())
        .is_some_and(|home| home.dev() == folder.dev() && home.ino() == folder.ino())
}

/// The names in the folder other than the store, its `-wal`, `-shm` and `-journal`, and the
/// temporary files of a store being created (`.NAME.new-PID`); at most five, for the message.
fn other_entries(folder: &OwnedFd, name: &str) -> std::io::Result<Vec<String>> {
    let ours = [
        name.to_string(),
        format!("{name}-wal"),
        format!("{name}-shm"),
        format!("{name}-journal"),
    ];
    let temporary = format!(".{name}.new-");
    let mut others = Vec::new();
    for entry in rustix::fs::Dir::read_from(folder)? {
        let entry = entry?;
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let expected = entry_name == "."
            || entry_name == ".."
            || ours.contains(&entry_name)
            || entry_name.starts_with(&temporary);
        if !expected {
            others.push(entry_name);
        }
    }
    others.sort();
    if others.len() > 5 {
        others.truncate(5);
        others.push("...".into());
    }
    Ok(others)
}

/// The first folder from `/` down to `dir` that members of group `gid` (who are not its owner)
/// may not search: neither searchable by others, nor by a group that is `gid`.
fn first_blocking(dir: &Path, gid: u32) -> Option<(PathBuf, u32)> {
    let full = std::fs::canonicalize(dir).ok()?;
    let mut ancestors: Vec<&Path> = full.ancestors().collect();
    ancestors.reverse();
    // The store's folder itself is the group's now; only the way to it is looked at.
    ancestors.pop();
    ancestors.into_iter().find_map(|folder| {
        let meta = std::fs::metadata(folder).ok()?;
        let mode = meta.permissions().mode() & 0o7777;
        let passable = mode & 0o001 != 0 || (meta.gid() == gid && mode & 0o010 != 0);
        (!passable).then(|| (folder.to_path_buf(), mode))
    })
}
