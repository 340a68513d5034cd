//! The `ohx` binary: parse, run, print the error once, exit with its status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    ohx::completion::answer_if_asked();
    let cli = ohx::cli::Cli::parse();
    match ohx::run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(err) if ohx::error::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let (status, hint) = ohx::error::classify(&err);
            eprintln!("error: {}", ohx::error::render(&err));
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(status.code())
        }
    }
}
