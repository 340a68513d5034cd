//! `ohx store hold` and `ohx store release`: start and stop the process that keeps connections
//! to a PostgreSQL store open for the user's later commands (`store::relay`,
//! docs/ARCHITECTURE.md, "Held connections").

use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;

use crate::agent::duration;
use crate::error::Error;
use crate::session::{Globals, Setup};
use crate::store::{relay, Location, Store};

/// The store every command would use, which must be a database.
fn database(globals: &Globals) -> Result<(String, crate::store::Target)> {
    let setup = Setup::resolve(globals)?;
    match Location::of(&setup.store.path)? {
        Location::Postgres(target) => {
            let url = setup.store.path.to_string_lossy().into_owned();
            Ok((url, target))
        }
        Location::File(path) => Err(Error::HoldNeedsDatabase(path.display().to_string()).into()),
    }
}

pub fn hold(globals: &Globals, idle_text: &str, status_only: bool) -> Result<()> {
    let (url, target) = database(globals)?;
    let printer = globals.printer();
    if status_only {
        let holder = relay::status(&target);
        let line = match &holder {
            Some(h) => format!(
                "connections to {} are held by process {}; they close after {} unused, or at `ohx store release`",
                target.shown,
                h.pid,
                duration::show(h.idle)
            ),
            None => format!(
                "no connections to {} are held; `ohx store hold` keeps some open",
                target.shown
            ),
        };
        let object = json!({
            "store": target.shown,
            "held": holder.is_some(),
            "pid": holder.as_ref().map(|h| h.pid),
            "idle_seconds": holder.as_ref().map(|h| h.idle.as_secs()),
        });
        return printer.changed(&object, &line);
    }
    let idle = duration::parse(idle_text)?;
    // The store is checked as any command checks it first, so that a wrong URL, password or
    // database is told with its own message rather than as a holder that did not start. An
    // empty database is fine: `ohx init` may come next, through the held connection.
    match Store::open_at(&Location::Postgres(target.clone())) {
        Ok(_) | Err(Error::StoreMissing(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let holder = relay::hold(&url, &target, idle)?;
    let line = format!(
        "holding connections to {} open (process {}): your commands reuse them until {} pass without one, or `ohx store release`",
        target.shown,
        holder.pid,
        duration::show(idle)
    );
    printer.changed(
        &json!({"store": target.shown, "held": true, "pid": holder.pid, "idle_seconds": idle.as_secs()}),
        &line,
    )
}

pub fn release(globals: &Globals) -> Result<()> {
    let (_, target) = database(globals)?;
    let released = relay::release(&target);
    let line = if released {
        format!(
            "released the connections to {}: commands connect on their own again",
            target.shown
        )
    } else {
        format!(
            "nothing to release: no connections to {} are held",
            target.shown
        )
    };
    globals
        .printer()
        .changed(&json!({"store": target.shown, "released": released}), &line)
}

/// `ohx store-relay`: the holder process itself, which `hold` starts.
pub fn relay(globals: &Globals, socket: PathBuf, idle_seconds: u64) -> Result<()> {
    let socket = relay::checked_socket(socket)?;
    let (_, target) = database(globals)?;
    relay::server::serve(
        &socket,
        target,
        std::time::Duration::from_secs(idle_seconds),
    )
}
