//! `ohx store copy FROM TO`: a whole store, moved or backed up (docs/ARCHITECTURE.md).

use std::path::Path;

use anyhow::{bail, Result};

use crate::session::Globals;

pub fn run(_globals: &Globals, _from: &Path, _to: &Path) -> Result<()> {
    bail!("ohx store copy is not built yet")
}
