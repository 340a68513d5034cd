//! Help that depends on the line being parsed: `ohx connection add TYPE --help` ends with the
//! fields of TYPE, and `ohx run` given a command without `--` says where the command goes.

use std::ffi::OsString;

use clap::{CommandFactory, ValueEnum};

use crate::cli::{filled, Cli, ConnectionCommand};
use crate::domain::ConnectionType;

/// The command line to parse `args` with: the CLI, with the fields of the type named in
/// `connection add TYPE --help` added to that page.
pub fn command_for(args: &[OsString]) -> clap::Command {
    let Some(kind) = add_type_asked_about(args) else {
        return Cli::command();
    };
    let section = crate::commands::connection::types::help_section(kind);
    Cli::command().mut_subcommand("connection", |group| {
        // The group is built when the line enters it (cli::Deferred); this page needs it now.
        filled::<ConnectionCommand>(group).mut_subcommand("add", |add| {
            let examples = add
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            add.after_help(format!("{section}\n{examples}"))
        })
    })
}

/// TYPE in `... connection add TYPE ... --help` (or `-h`).
fn add_type_asked_about(args: &[OsString]) -> Option<ConnectionType> {
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    if !words.iter().any(|w| *w == "--help" || *w == "-h") {
        return None;
    }
    let add = words
        .windows(2)
        .position(|pair| pair == ["connection", "add"])?;
    words[add + 2..]
        .iter()
        .find(|w| !w.starts_with('-'))
        .and_then(|w| ConnectionType::from_str(w, true).ok())
}

/// One more line of advice for a clap error: `ohx run -c ID env` has its command before `--`.
pub fn hint_for(err: &clap::Error, args: &[OsString]) -> Option<&'static str> {
    use clap::error::ErrorKind;
    let before_dashes: Vec<&OsString> = args.iter().take_while(|a| *a != "--").collect();
    let is_run = before_dashes.iter().skip(1).any(|a| *a == "run");
    let no_dashes = before_dashes.len() == args.len();
    let kind_fits = matches!(
        err.kind(),
        ErrorKind::UnknownArgument | ErrorKind::MissingRequiredArgument
    );
    (is_run && no_dashes && kind_fits)
        .then_some("put the command after --, as in `ohx run -c ID -- env`")
}
