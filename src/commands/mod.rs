//! One module per command group. Each is thin: arguments in, session/store/domain calls, output out.

pub mod connection;
pub mod generate;
pub mod init;
pub mod member;
pub mod run;
pub mod whoami;
pub mod workspace;

use anyhow::Result;

use crate::error::Fail;
use crate::prompt;
use crate::session::Globals;

/// Asks before a destructive action on a terminal; without one, `--yes` is required.
pub fn confirm_or_yes(globals: &Globals, yes: bool, question: &str, flag_hint: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !globals.interactive() {
        return Err(
            Fail::usage("refusing to delete without confirmation (no terminal to ask on)")
                .hint(format!("add --yes: `{flag_hint} --yes`"))
                .into(),
        );
    }
    if prompt::confirm(question)? {
        Ok(())
    } else {
        Err(Fail::failure("cancelled; nothing was changed").into())
    }
}
