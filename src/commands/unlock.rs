//! `ohx unlock [--for DURATION]` and `ohx lock`: start and stop the agent that keeps a
//! passphrase-protected identity unlocked (src/agent/, docs/AGENT.md).

use anyhow::Result;
use serde_json::json;

use crate::agent::{self, duration};
use crate::session::{passphrase_source, Globals, Setup};

pub fn unlock(globals: &Globals, for_text: &str) -> Result<()> {
    let how_long = duration::parse(for_text)?;
    let setup = Setup::resolve(globals)?;
    let path = &setup.identity.path;
    let outcome = agent::unlock(path, &mut passphrase_source(globals), how_long)?;
    let unlocked = outcome != agent::Unlocked::NothingToUnlock;
    // Most accounts' `ulimit -l` (8 MiB) is below the agent's size, so this is common and
    // nothing is wrong with the unlock itself: a notice, not a warning (docs/AGENT.md).
    if outcome
        == (agent::Unlocked::Agent {
            memory_locked: false,
        })
    {
        globals.printer().notice(
            "note: the agent's memory is not locked against swapping (`ulimit -l` is below its size); with encrypted swap, or none, that does not matter",
        );
    }
    let line = if unlocked {
        format!(
            "unlocked {} for {}; `ohx lock` forgets it sooner",
            path.display(),
            duration::show(how_long)
        )
    } else {
        format!(
            "your identity {} has no passphrase: there is nothing to unlock",
            path.display()
        )
    };
    let seconds = if unlocked { how_long.as_secs() } else { 0 };
    globals.printer().changed(
        &json!({"identity": path, "unlocked": unlocked, "seconds": seconds}),
        &line,
    )
}

pub fn lock(globals: &Globals) -> Result<()> {
    let setup = Setup::resolve(globals)?;
    let path = &setup.identity.path;
    let locked = agent::client::lock(path);
    let line = if locked {
        format!("locked: the agent forgot {}", path.display())
    } else {
        format!("nothing to lock: no agent holds {}", path.display())
    };
    globals
        .printer()
        .changed(&json!({"identity": path, "locked": locked}), &line)
}
