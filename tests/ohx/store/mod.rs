//! The SQLite store: which files ohx opens, the settings it opens them with, private files,
//! many writers at once, `kill -9` mid-write, a full disk and a read-only file or folder. Tests
//! needing root or a tool (a tmpfs mount, `chattr +i`, `setpriv`, `prlimit`, `strace`) say why
//! when they cannot run, and fail instead when `CI` is set; `.ci/setup` installs the tools.

pub mod concurrency;
pub mod crash;
mod damaged_values;
mod disk_full;
mod open;
mod permissions;
mod read_only;
mod settings;
