//! `ohx store copy FROM TO`: a whole store, moved or backed up (docs/ARCHITECTURE.md, "Moving a
//! store"). It opens no identity and runs no first-run setup: the rows are copied sealed.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::session::Globals;
use crate::store::copy;
use crate::store::Location;

/// Progress lines come every this many connections (and ten times as many rows of other tables).
const PROGRESS_EVERY: u64 = 1000;

pub fn run(globals: &Globals, from: &Path, to: &Path) -> Result<()> {
    let printer = globals.printer();
    let (from, to) = (Location::of(from)?, Location::of(to)?);
    let (from_shown, to_shown) = (from.shown(), to.shown());
    let mut progress = |table: &'static str, rows: u64| {
        let every = if table == "connections" {
            PROGRESS_EVERY
        } else {
            PROGRESS_EVERY * 10
        };
        if rows > 0 && rows % every == 0 {
            printer.notice(&format!("copying {table}: {rows} so far"));
        }
    };
    let counts = copy::copy(&from, &to, &mut progress)?;
    let count = |table: &str| {
        counts
            .iter()
            .find(|(name, _)| *name == table)
            .map_or(0, |(_, n)| *n)
    };
    let rows: serde_json::Map<String, serde_json::Value> = counts
        .iter()
        .map(|(name, n)| (name.to_string(), json!(n)))
        .collect();
    let object = json!({
        "from": from_shown.display().to_string(),
        "to": to_shown.display().to_string(),
        "checked": true,
        "rows": rows,
    });
    let line = format!(
        "Copied {}, {}, {} from {} to {} (checked)",
        counted(count("workspaces"), "workspace"),
        counted(count("users"), "user"),
        counted(count("connections"), "connection"),
        from_shown.display(),
        to_shown.display()
    );
    printer.changed(&object, &line)
}

fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
