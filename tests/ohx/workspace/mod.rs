//! Workspaces: creating them and choosing the default one, and what each role may do with them.

mod create;
mod roles;
