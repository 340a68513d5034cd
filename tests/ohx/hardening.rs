//! The second round of hardening: each test is an attack that worked against an earlier ohx.
//!
//! - `terminal`: escape sequences in stored text never reach the terminal; input refuses them;
//! - `names`: connections cannot set variables that run code or redirect trust;
//! - `core_dumps`: an ohx process that holds a key leaves no core file;
//! - `files`: identity and config are opened once and checked on the descriptor; FIFOs, links,
//!   huge files, shared folders and multi-key identities;
//! - `readme`: the README recommends only safe patterns;
//! - `run_leftovers`: what `ohx run` leaves behind when it is killed, the child's environment
//!   and umask, two PostgreSQL connections, and an environment over the system's limit.

mod core_dumps;
mod files;
mod names;
mod readme;
mod run_leftovers;
mod terminal;
