//! ohx: OpenHEXA-style workspaces and typed, age-encrypted connections in one SQLite file.
//!
//! The layers and what may import what are described in docs/ARCHITECTURE.md.

pub mod access;
pub mod agent;
pub mod authority;
pub mod background;
pub mod child;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod config;
pub mod credentials;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod fsutil;
pub mod harden;
pub mod help;
pub mod keyfiles;
pub mod openhexa;
pub mod output;
pub mod output_file;
pub mod paths;
pub mod probe;
pub mod prompt;
pub mod runtime_socket;
pub mod secret_input;
pub mod session;
pub mod store;
pub mod terminal_text;
pub mod tls;
pub mod unix_group;

use anyhow::Result;

use cli::{Cli, Command, Deferred};
use session::{Globals, Session};

impl From<&cli::GlobalArgs> for Globals {
    fn from(args: &cli::GlobalArgs) -> Globals {
        Globals {
            store: args.store.clone().filter(|p| !p.as_os_str().is_empty()),
            identity: args.identity.clone().filter(|p| !p.as_os_str().is_empty()),
            workspace: args.workspace.clone().filter(|w| !w.is_empty()),
            json: args.json,
            no_input: args.no_input,
            quiet: args.quiet,
        }
    }
}

/// Runs one parsed command line; returns the exit status (non-zero only for `ohx run`).
pub fn run(cli: Cli) -> Result<u8> {
    // Every file ohx creates (store, WAL, SHM, identity, config) is private to the user.
    harden::private_umask();
    let globals = Globals::from(&cli.globals);
    // A flag is never ignored silently: these commands have no JSON to print.
    match &cli.command {
        Command::Run { .. } if globals.json => {
            return Err(error::Error::JsonMeaningless("run").into())
        }
        Command::Completions { .. } if globals.json => {
            return Err(error::Error::JsonMeaningless("completions").into())
        }
        _ => {}
    }
    let done = match cli.command {
        Command::Run {
            connections,
            no_native,
            native_for,
            command,
        } => {
            let request = commands::run::Request {
                references: &connections,
                no_native,
                native_for: native_for.as_deref(),
                command: &command,
            };
            return commands::run::run(&mut Session::open(globals)?, &request);
        }
        Command::Unlock { duration } => commands::unlock::unlock(&globals, &duration),
        Command::Lock => commands::unlock::lock(&globals),
        Command::Agent { socket, seconds } => {
            agent::server::serve(&agent::server::checked_socket(socket)?, seconds)
        }
        Command::StoreRelay {
            socket,
            idle_seconds,
        } => commands::store::relay(&globals, socket, idle_seconds),
        Command::Completions { shell } => commands::generate::completions(&shell),
        Command::Generate { out_dir } => commands::generate::generate(&out_dir),
        Command::Init { name, passphrase } => {
            commands::init::run(&globals, name.as_deref(), passphrase)
        }
        Command::Whoami {
            recipient,
            rename: Some(name),
        } if !recipient => commands::whoami::rename(&mut Session::open(globals)?, &name),
        Command::Whoami { recipient, .. } => {
            commands::whoami::run(&Session::open(globals)?, recipient)
        }
        Command::Workspace(Deferred(command)) => {
            commands::workspace::run(&mut Session::open(globals)?, command)
        }
        Command::Member(Deferred(command)) => {
            commands::member::run(&mut Session::open(globals)?, command)
        }
        Command::Log => commands::log::run(&mut Session::open(globals)?),
        Command::Store(Deferred(command)) => commands::store::run(&globals, command),
        // The types need no store, so they can be read before `ohx init`.
        Command::Connection(Deferred(cli::ConnectionCommand::Types)) => {
            commands::connection::types::run(globals.json)
        }
        Command::Connection(Deferred(command)) => {
            commands::connection::run(&mut Session::open(globals)?, command)
        }
        Command::Openhexa(Deferred(command)) => {
            commands::openhexa::run(&mut Session::open(globals)?, command)
        }
    };
    done.map(|()| 0)
}
