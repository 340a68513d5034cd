//! File-system helpers for private files: 0700 folders, 0600 files created one way, files read
//! by opening once and checking the open descriptor, refusal of symbolic links, and the one
//! shape of a folder shared with a group.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rustix::fs::OFlags;

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
    /// `gid` is the file's group, which a store shared with a group must have.
    File {
        mode: u32,
        len: u64,
        gid: u32,
    },
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
            gid: meta.gid(),
        }),
        Ok(_) => Ok(Entry::Other),
    }
}

/// Whether group or others may read, write or run the file.
pub fn is_shared(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// Whether a folder has exactly the shape `ohx store share` gives it (docs/SECURITY.md, "One
/// store, several accounts"): setgid, so every file created in it gets the folder's group; read,
/// write and search for that group; nothing at all for others.
pub fn is_group_folder(mode: u32) -> bool {
    mode & 0o2000 != 0 && mode & 0o070 == 0o070 && mode & 0o007 == 0
}

/// Whether a file's mode stays within 0660 for group and others: the group may read and write
/// it (never run it), others nothing.
pub fn fits_group_folder(mode: u32) -> bool {
    mode & 0o017 == 0
}

/// Creates a new private file (0600) at `path` for writing: never over an existing file, never
/// through a symbolic link. The one way ohx creates a file that holds anything private.
pub fn create_private_file(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

/// How [`publish_with`] puts the finished file in place.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Placing {
    /// Only if nothing is at the path yet (hard link): a file that exists is never replaced.
    New,
    /// Replacing what is there in one step (rename): readers see the old file or the new one.
    Replace,
}

/// Creates the file at `path` without ever showing it half-built or replacing one that exists:
/// `build` writes it under a temporary sibling name, which is then hard-linked into place.
/// Returns `false` when `path` already existed (another process won the race).
pub fn publish<E>(
    path: &Path,
    build: impl FnOnce(&Path) -> Result<(), E>,
    io_error: impl Fn(std::io::Error) -> E,
) -> Result<bool, E> {
    publish_with(path, Placing::New, build, io_error)
}

/// The one atomic writer: `build` writes the file under a temporary sibling name, which is then
/// put in place as `placing` says. Returns `false` when `Placing::New` found a file there.
pub fn publish_with<E>(
    path: &Path,
    placing: Placing,
    build: impl FnOnce(&Path) -> Result<(), E>,
    io_error: impl Fn(std::io::Error) -> E,
) -> Result<bool, E> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.new-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let placed = build(&tmp).and_then(|()| {
        let done = match placing {
            Placing::New => std::fs::hard_link(&tmp, path),
            Placing::Replace => std::fs::rename(&tmp, path),
        };
        match done {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error(e)),
        }
    });
    let _ = std::fs::remove_file(&tmp);
    placed
}

/// Replaces the file at `path` with `bytes` in one step (a durable 0600 temporary file renamed
/// over it), creating its folder (0700) when missing: readers see the old file or the new one.
pub fn replace_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    publish_with(
        path,
        Placing::Replace,
        |tmp| write_private(tmp, bytes),
        |e| e,
    )
    .map(|_| ())
}

/// Writes `bytes` to a new private file at `tmp` and makes it durable; a `build` for
/// [`publish_with`].
pub fn write_private(tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = create_private_file(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Why a file that must be ours and private was not read.
#[derive(Debug)]
pub enum Refusal {
    Missing,
    Symlink,
    NotAFile,
    /// Group or others may do what the rule forbids; the mode shows what.
    Shared {
        mode: u32,
    },
    NotOwner {
        uid: u32,
    },
    TooLarge {
        len: u64,
        max: u64,
    },
    Io(std::io::Error),
}

/// What a private file must be, checked on the open descriptor.
pub struct Rule {
    /// Permission bits group and others must not have (0o077: not even read; 0o022: not write).
    pub forbidden_bits: u32,
    /// The largest size read.
    pub max_len: u64,
}

/// Reads the file at `path` by opening it once, without following a symbolic link and without
/// blocking (a FIFO would otherwise wait forever for a writer), then checking the open
/// descriptor: a regular file, owned by this user (or root), no `rule.forbidden_bits`, at most
/// `rule.max_len` bytes. Nothing can be swapped in between the check and the read.
pub fn read_private(path: &Path, rule: &Rule) -> Result<Vec<u8>, Refusal> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = match rustix::fs::open(path, flags, rustix::fs::Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Err(Refusal::Missing),
        Err(rustix::io::Errno::LOOP) => return Err(Refusal::Symlink),
        Err(e) => return Err(Refusal::Io(e.into())),
    };
    let file = File::from(fd);
    let meta = file.metadata().map_err(Refusal::Io)?;
    if !meta.is_file() {
        return Err(Refusal::NotAFile);
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & rule.forbidden_bits != 0 {
        return Err(Refusal::Shared { mode });
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(Refusal::NotOwner { uid: meta.uid() });
    }
    if meta.len() > rule.max_len {
        return Err(Refusal::TooLarge {
            len: meta.len(),
            max: rule.max_len,
        });
    }
    // The file may grow after the check: read one byte more than allowed to notice.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(rule.max_len + 1)
        .read_to_end(&mut bytes)
        .map_err(Refusal::Io)?;
    if bytes.len() as u64 > rule.max_len {
        return Err(Refusal::TooLarge {
            len: bytes.len() as u64,
            max: rule.max_len,
        });
    }
    Ok(bytes)
}

/// The folder holding a file: its path, permission bits (setgid included) and group.
#[derive(Debug, Clone)]
pub struct Folder {
    pub path: std::path::PathBuf,
    pub mode: u32,
    pub gid: u32,
}

/// The folder holding `path` (`.` for a bare file name).
pub fn folder_of(path: &Path) -> std::io::Result<Folder> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let meta = std::fs::metadata(dir)?;
    Ok(Folder {
        path: dir.to_path_buf(),
        mode: meta.permissions().mode() & 0o7777,
        gid: meta.gid(),
    })
}
