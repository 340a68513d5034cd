//! The `ohx` binary: parse, run, print the error once, exit with its status.

use std::process::ExitCode;

use clap::FromArgMatches;

fn main() -> ExitCode {
    // Before anything can hold a key: no core dumps, no reading of this process's memory.
    ohx::harden::at_start();
    if let Some(status) = ohx::child::exec_if_asked() {
        return ExitCode::from(status);
    }
    ohx::completion::answer_if_asked();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = ohx::help::command_for(&args)
        .try_get_matches_from(&args)
        .and_then(|matches| ohx::cli::Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            let status = clap_exit(&err);
            if let Some(hint) = ohx::help::hint_for(&err, &args) {
                eprintln!("hint: {hint}");
            }
            return status;
        }
    };
    match ohx::run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(err) if ohx::error::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let (status, hint) = ohx::error::classify(&err);
            // Messages quote what the user typed and what the store holds: escaped for the terminal.
            let message = ohx::error::render(&err);
            eprintln!("error: {}", ohx::terminal_text::multiline(&message));
            if let Some(hint) = hint {
                eprintln!("hint: {}", ohx::terminal_text::multiline(&hint));
            }
            ExitCode::from(status.code())
        }
    }
}

/// Prints clap's help, version or usage error. Unlike `Error::exit`, a failed write of `--help`
/// (to a full disk, say) is an error rather than a silent success; a closed pipe stays quiet.
fn clap_exit(err: &clap::Error) -> ExitCode {
    match err.print() {
        Ok(()) => ExitCode::from(err.exit_code().clamp(0, 255) as u8),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::from(1)
        }
    }
}
