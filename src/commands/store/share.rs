//! `ohx store share GROUP`: one SQLite store used by a Unix group's members from their own
//! accounts (docs/ARCHITECTURE.md).

use anyhow::{bail, Result};

use crate::session::Globals;

pub fn run(_globals: &Globals, _group: &str) -> Result<()> {
    bail!("ohx store share is not built yet")
}
