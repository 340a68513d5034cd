//! Connections, tested through the real binary: adding each of the six types, the rules their
//! values follow, how secrets come in, listing, showing, editing, deleting, who may do which, and
//! the interactive `add`. Every secret is a fresh random canary, and every refused command is
//! checked to leave the store exactly as it was (see `support`).

mod add;
mod delete;
mod edit;
mod gcs_key;
mod interactive;
mod list;
mod naming;
mod permissions;
mod references;
mod secret_input;
mod show;
pub mod support;
mod validation;
