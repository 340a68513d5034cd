//! Shell completion: clap_complete's environment-activated engine, so that bash, zsh, fish, elvish
//! and PowerShell all complete subcommands and flags from the clap definitions, and workspace slugs
//! and connection identifiers from the store.
//!
//! The shell script only registers a function that calls `COMPLETE=<shell> ohx -- <words>`; the
//! candidates come from this binary, so they never go stale. Looking up candidates never creates a
//! store, never prompts and never prints an error: a shell's TAB must stay silent.

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::Shells;

use crate::cli::Cli;
use crate::domain::Action;
use crate::session::{Globals, Session};

/// The shells `ohx completions` knows.
pub const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

/// Answers a completion request from a shell, exiting, when `COMPLETE` is set; otherwise returns.
pub fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .completer("ohx")
        .complete();
}

/// The registration script for `shell`.
pub fn script(shell: &str) -> Result<String> {
    let shells = Shells::builtins();
    let completer = shells
        .completer(shell)
        .ok_or_else(|| anyhow::anyhow!("unknown shell '{shell}'"))?;
    let mut buf = Vec::new();
    completer.write_registration("COMPLETE", "ohx", "ohx", "ohx", &mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// A session for completion: only an existing store, never a prompt.
fn quiet_session() -> Option<Session> {
    let env = |name: &str| crate::paths::non_empty_env(name);
    let globals = Globals {
        store: env("OHX_STORE").map(Into::into),
        identity: env("OHX_IDENTITY").map(Into::into),
        workspace: env("OHX_WORKSPACE").and_then(|w| w.into_string().ok()),
        json: false,
        no_input: true,
        quiet: true,
    };
    let setup = crate::session::Setup::resolve(&globals).ok()?;
    if std::fs::symlink_metadata(&setup.store.path).is_err() {
        return None;
    }
    Session::open(globals).ok()
}

/// Identifiers of the current workspace's connections.
pub fn connection_candidates() -> Vec<CompletionCandidate> {
    let Some(mut session) = quiet_session() else {
        return Vec::new();
    };
    let Ok(slug) = session.workspace_slug(None) else {
        return Vec::new();
    };
    let mut candidates = Vec::new();
    let listed = session.access.read(&slug, Action::ListConnections, |ws| {
        ws.each_connection(|row| {
            candidates.push(
                CompletionCandidate::new(&row.slug)
                    .help(Some(format!("{} ({})", row.name, row.kind).into())),
            );
            Ok(())
        })
    });
    match listed {
        Ok(()) => candidates,
        Err(_) => Vec::new(),
    }
}

/// Slugs of the workspaces the user belongs to.
pub fn workspace_candidates() -> Vec<CompletionCandidate> {
    let Some(session) = quiet_session() else {
        return Vec::new();
    };
    session
        .access
        .my_workspaces()
        .unwrap_or_default()
        .into_iter()
        .map(|(slug, role)| CompletionCandidate::new(slug).help(Some(role.as_str().into())))
        .collect()
}
