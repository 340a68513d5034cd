//! One module per command group. Each is thin: arguments in, calls to the access layer, output
//! out. No command touches SQL, keys or ciphertexts (docs/ARCHITECTURE.md).

pub mod connection;
pub mod generate;
pub mod init;
pub mod log;
pub mod member;
pub mod openhexa;
pub mod run;
pub mod store;
pub mod unlock;
pub mod whoami;
pub mod workspace;

use anyhow::Result;

use crate::error::Error;
use crate::prompt;
use crate::session::Globals;

/// Asks before a destructive action on a terminal; without one, `--yes` is required.
pub fn confirm_or_yes(globals: &Globals, yes: bool, question: &str, flag_hint: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !globals.interactive() {
        return Err(Error::ConfirmationNeeded {
            command: flag_hint.into(),
        }
        .into());
    }
    // The question names what the store holds: escaped for the terminal.
    if prompt::confirm(&crate::terminal_text::inline(question))? {
        Ok(())
    } else {
        Err(Error::Cancelled("changed").into())
    }
}
