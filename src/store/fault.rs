//! SQLite's errors translated into the catalogue's engine-neutral [`Error::Database`], with what a
//! bare SQLite error lacks: the store's path when it cannot be opened, and "disk full" when an I/O
//! error happens on a full file system (SQLite reports some of those as a plain I/O error, e.g.
//! when it cannot map its -shm file).

use std::path::Path;

use crate::error::{DbFault, Error};

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Database {
            fault: fault_of(&e),
            detail: e.to_string(),
        }
    }
}

fn fault_of(e: &rusqlite::Error) -> DbFault {
    use rusqlite::ErrorCode::*;
    match e {
        // A stored value of the wrong type or range: written outside ohx.
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => return DbFault::BadValue,
        _ => {}
    }
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => DbFault::Locked,
        Some(DatabaseCorrupt | NotADatabase) => DbFault::Damaged,
        Some(ReadOnly) => DbFault::ReadOnly,
        Some(DiskFull) => DbFault::DiskFull,
        Some(CannotOpen) => DbFault::CannotOpen,
        Some(SystemIoFailure) => DbFault::Io,
        Some(PermissionDenied) => DbFault::CannotOpen,
        _ => DbFault::Other,
    }
}

/// Adds the store's path to an engine error met while working on the store at `path`.
pub(super) fn at(e: impl Into<Error>, path: &Path) -> Error {
    match e.into() {
        Error::Database {
            fault: DbFault::CannotOpen,
            detail,
        } => Error::StoreCannotOpen {
            path: path.into(),
            cause: why_cannot_open(path, detail),
        },
        Error::Database {
            fault: DbFault::DiskFull | DbFault::Io,
            ..
        } if disk_full(path) => Error::StoreDiskFull(path.into()),
        other => other,
    }
}

/// The folder holding the store ("." for a bare file name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// SQLite says only "unable to open database file"; the usual cause is a folder it cannot write
/// its -wal and -shm files into.
fn why_cannot_open(path: &Path, detail: String) -> String {
    let dir = folder_of(path);
    match rustix::fs::access(dir, rustix::fs::Access::WRITE_OK) {
        Err(errno) => format!(
            "its folder {} is not writable ({}), and SQLite needs it for the -wal and -shm files",
            dir.display(),
            std::io::Error::from(errno)
        ),
        Ok(()) => detail,
    }
}

/// Whether the file system holding `path` has (almost) no space left for unprivileged writers.
fn disk_full(path: &Path) -> bool {
    rustix::fs::statvfs(folder_of(path))
        .is_ok_and(|st| st.f_bavail.saturating_mul(st.f_frsize) < 256 * 1024)
}
