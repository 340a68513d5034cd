//! The store: one SQLite file, the only place with SQL.
//!
//! Opening checks the file before SQLite touches it (symbolic link, permissions, size, header,
//! `application_id`, a `user_version` from a newer ohx), so that a foreign, damaged or newer file is
//! refused and left byte-for-byte untouched. Every write is one `BEGIN IMMEDIATE` transaction.

pub mod connections;
pub mod members;
mod migrations;
pub mod users;
pub mod workspaces;

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Classified, Status};
use crate::fsutil::{self, Entry};

/// "OHX1" in the SQLite header's application id field.
pub const APPLICATION_ID: u32 = 0x4F48_5831;

/// How long a writer waits for another process's transaction before reporting the store locked.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no store at {0}")]
    Missing(PathBuf),
    #[error("store {0} is a symbolic link; refusing to use it")]
    Symlink(PathBuf),
    #[error("store {0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("store {path} is unprotected: mode {mode:04o} lets other users read it")]
    Unsafe { path: PathBuf, mode: u32 },
    #[error("store {0} is empty (0 bytes)")]
    Empty(PathBuf),
    #[error("{0} is not an ohx store")]
    NotOhx(PathBuf),
    #[error("store {0} is truncated")]
    Truncated(PathBuf),
    #[error(
        "store {path} was written by a newer ohx (schema {found}; this ohx knows up to {known})"
    )]
    Newer {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("cannot access store {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the store {path}: {cause}")]
    CannotOpen { path: PathBuf, cause: String },
    #[error("the disk holding the store {path} is full; nothing was changed")]
    DiskFull { path: PathBuf },
    #[error("{}", describe_sqlite(.0))]
    Sqlite(#[from] rusqlite::Error),
}

fn describe_sqlite(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => "the store is locked by another ohx process".into(),
        Some(DatabaseCorrupt | NotADatabase) => format!("the store is damaged ({e})"),
        Some(ReadOnly) => "the store is read-only".into(),
        Some(DiskFull) => "the disk holding the store is full; nothing was changed".into(),
        Some(CannotOpen) => format!("cannot open the store ({e})"),
        Some(SystemIoFailure) => format!("input/output error on the store ({e})"),
        _ => format!("store error: {e}"),
    }
}

impl StoreError {
    /// Adds what a bare SQLite error lacks: the store's path when it cannot be opened, and "disk
    /// full" when an I/O error happens on a full file system (SQLite reports some of those as a
    /// plain I/O error, e.g. when it cannot map its -shm file).
    fn at(self, path: &Path) -> StoreError {
        let StoreError::Sqlite(e) = self else {
            return self;
        };
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::CannotOpen) => StoreError::CannotOpen {
                path: path.into(),
                cause: why_cannot_open(path, &e),
            },
            Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure)
                if disk_full(path) =>
            {
                StoreError::DiskFull { path: path.into() }
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

/// SQLite says only "unable to open database file"; the usual cause is a folder it cannot write
/// its -wal and -shm files into.
fn why_cannot_open(path: &Path, e: &rusqlite::Error) -> String {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match rustix::fs::access(dir, rustix::fs::Access::WRITE_OK) {
        Err(errno) => format!(
            "its folder {} is not writable ({}), and SQLite needs it for the -wal and -shm files",
            dir.display(),
            std::io::Error::from(errno)
        ),
        Ok(()) => e.to_string(),
    }
}

/// Whether the file system holding `path` has (almost) no space left for unprivileged writers.
fn disk_full(path: &Path) -> bool {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    rustix::fs::statvfs(dir).is_ok_and(|st| st.f_bavail.saturating_mul(st.f_frsize) < 256 * 1024)
}

impl Classified for StoreError {
    fn status(&self) -> Status {
        match self {
            StoreError::Sqlite(e) => {
                use rusqlite::ErrorCode::*;
                match e.sqlite_error_code() {
                    Some(
                        DatabaseBusy | DatabaseLocked | DatabaseCorrupt | NotADatabase | ReadOnly
                        | DiskFull | CannotOpen | SystemIoFailure | PermissionDenied,
                    ) => Status::Store,
                    _ => Status::Failure,
                }
            }
            _ => Status::Store,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            StoreError::Missing(p) => {
                Some(format!("create it with `ohx init --store {}`", p.display()))
            }
            StoreError::Symlink(_) => Some("point --store at the real file".into()),
            StoreError::Unsafe { path, .. } => Some(format!("run `chmod 600 {}`", path.display())),
            StoreError::Empty(_) | StoreError::Truncated(_) => {
                Some("restore it from a backup; ohx will not replace it with an empty store".into())
            }
            StoreError::NotOhx(_) => Some("check --store / OHX_STORE".into()),
            StoreError::CannotOpen { path, .. } => Some(format!(
                "check that you may read and write the store and its folder {} (SQLite keeps -wal and -shm files beside the store)",
                path.parent().map(|d| d.display().to_string()).unwrap_or_default()
            )),
            StoreError::DiskFull { .. } => Some("free some space and try again".into()),
            StoreError::Newer { .. } => Some("upgrade ohx; this store was left untouched".into()),
            StoreError::Sqlite(e) => match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    Some("try again when the other ohx command has finished".into())
                }
                Some(rusqlite::ErrorCode::ReadOnly) => {
                    Some("check the permissions of the store and its folder".into())
                }
                Some(rusqlite::ErrorCode::DiskFull) => Some("free some space and try again".into()),
                _ => None,
            },
            StoreError::NotAFile(_) | StoreError::Io { .. } => None,
        }
    }
}

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens an existing store, refusing anything that is not a current or older ohx store.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        check_file(path)?;
        Store::open_checked(path).map_err(|e| e.at(path))
    }

    fn open_checked(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Until the store is known to be ours and not newer, closing must not checkpoint: that would
        // copy a newer ohx's WAL into the main file of a store we refuse.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.configure()?;
        // The header read above may predate changes still in the WAL; ask SQLite too.
        let app_id: u32 = store
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if app_id != APPLICATION_ID {
            return Err(StoreError::NotOhx(path.into()));
        }
        migrations::migrate(&mut store.conn, path)?;
        store
            .conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
        Ok(store)
    }

    /// Creates a new store at `path`, or opens the one that is already there.
    ///
    /// The store is built under a temporary name and hard-linked into place, so a concurrent first
    /// run either sees a complete store or none, and an existing file is never replaced.
    pub fn create(path: &Path) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            path: path.into(),
            source,
        };
        if let Some(dir) = path.parent() {
            fsutil::create_private_dir(dir).map_err(io)?;
        }
        fsutil::publish(path, build_new, io)?;
        Store::open(path)
    }

    fn configure(&mut self) -> Result<(), StoreError> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // journal_mode answers with a row, so it is queried rather than executed.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sqlite(rusqlite::Error::InvalidQuery));
        }
        self.conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON;
             PRAGMA trusted_schema = OFF;",
        )?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for reads outside a transaction.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction, committed only if it succeeds.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from(e).at(&path))?;
        let value = work(&tx)?;
        tx.commit().map_err(|e| StoreError::from(e).at(&path))?;
        Ok(value)
    }

    /// Runs `work` in one read transaction, so it sees one consistent state of the store.
    pub fn read<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| StoreError::from(e).at(&path))?;
        let value = work(&tx)?;
        tx.finish().map_err(|e| StoreError::from(e).at(&path))?;
        Ok(value)
    }
}

/// Creates and initialises a fresh store file at `tmp` (0600).
fn build_new(tmp: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: tmp.into(),
        source,
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(io)?;
    let mut conn = Connection::open_with_flags(
        tmp,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA foreign_keys = ON;"
    ))?;
    migrations::migrate(&mut conn, tmp)?;
    // Switch to WAL while nobody else can see the file; closing checkpoints and removes the -wal.
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.close().map_err(|(_, e)| StoreError::Sqlite(e))?;
    Ok(())
}

/// Checks what is at `path` before SQLite may open (and so possibly write) it.
fn check_file(path: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.into(),
        source,
    };
    match fsutil::inspect(path).map_err(io)? {
        Entry::Missing => return Err(StoreError::Missing(path.into())),
        Entry::Symlink => return Err(StoreError::Symlink(path.into())),
        Entry::Other => return Err(StoreError::NotAFile(path.into())),
        Entry::File { len: 0, .. } => return Err(StoreError::Empty(path.into())),
        Entry::File { mode, .. } if fsutil::is_shared(mode) => {
            return Err(StoreError::Unsafe {
                path: path.into(),
                mode,
            })
        }
        Entry::File { .. } => {}
    }
    let mut header = [0u8; 100];
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if file.read_exact(&mut header).is_err() || !header.starts_with(b"SQLite format 3\0") {
        return Err(StoreError::NotOhx(path.into()));
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    if be32(68) != APPLICATION_ID {
        return Err(StoreError::NotOhx(path.into()));
    }
    let version = be32(60);
    if version > migrations::LATEST {
        return Err(StoreError::Newer {
            path: path.into(),
            found: version,
            known: migrations::LATEST,
        });
    }
    if looks_short(&header, len) && stays_short(path) {
        return Err(StoreError::Truncated(path.into()));
    }
    check_companions(path)
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
fn check_companions(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        let companion = PathBuf::from(name);
        let io = |source| StoreError::Io {
            path: companion.clone(),
            source,
        };
        match fsutil::inspect(&companion).map_err(io)? {
            Entry::Symlink => return Err(StoreError::Symlink(companion)),
            Entry::File { mode, .. } if fsutil::is_shared(mode) => {
                return Err(StoreError::Unsafe {
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
