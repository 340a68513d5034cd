//! `ohx store`: what is done to a whole store rather than to a workspace in it.

mod copy;
mod hold;
mod share;

pub use hold::relay;

use anyhow::Result;

use crate::cli::StoreCommand;
use crate::session::Globals;

pub fn run(globals: &Globals, command: StoreCommand) -> Result<()> {
    match command {
        StoreCommand::Copy { from, to } => copy::run(globals, &from, &to),
        StoreCommand::Share { group } => share::run(globals, &group),
        StoreCommand::Hold { idle, status } => hold::hold(globals, &idle, status),
        StoreCommand::Release => hold::release(globals),
    }
}
