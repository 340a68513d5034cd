//! `ohx openhexa login | logout | status | pull | push`: a personal OpenHEXA login, and the sync
//! of connections between a local workspace and an OpenHEXA workspace.

mod local;
mod login;
mod sync;

use anyhow::Result;

use crate::cli::OpenhexaCommand;
use crate::crypto::personal;
use crate::openhexa::client::{self, Client};
use crate::openhexa::logins::{self, Login, Logins};
use crate::openhexa::plan::Prefer;
use crate::session::Session;

pub fn run(session: &mut Session, command: OpenhexaCommand) -> Result<()> {
    match command {
        OpenhexaCommand::Login { url, token } => login::login(session, &url, token.as_deref()),
        OpenhexaCommand::Logout { remote } => login::logout(session, remote.as_deref()),
        OpenhexaCommand::Status { remote } => login::status(session, remote.as_deref()),
        OpenhexaCommand::Pull {
            remote,
            dry_run,
            prefer,
        } => sync::pull(session, remote.as_deref(), dry_run, parse_prefer(prefer)),
        OpenhexaCommand::Push {
            ids,
            remote,
            dry_run,
            prefer,
            prune,
            yes,
        } => sync::push(
            session,
            &sync::PushOptions {
                ids,
                remote,
                dry_run,
                prefer: parse_prefer(prefer),
                prune,
                yes,
            },
        ),
    }
}

fn parse_prefer(text: Option<String>) -> Option<Prefer> {
    match text.as_deref() {
        Some("local") => Some(Prefer::Local),
        Some("remote") => Some(Prefer::Remote),
        _ => None,
    }
}

fn logins_path(session: &Session) -> std::path::PathBuf {
    logins::path_next_to(&session.setup.config_path)
}

/// A client for `login`, its token decrypted with the user's identity.
fn client_for(session: &Session, login: &Login) -> Result<Client> {
    let what = format!(
        "the token for OpenHEXA workspace '{}' ({})",
        login.workspace, login.server
    );
    let token = personal::open_by_self(session.access.actor().identity(), &login.token, &what)?;
    Ok(Client::new(
        &login.server,
        token,
        client::configured_timeout(),
    ))
}

/// The login meant by `--remote` (or the default one) and a client for it.
fn connect(
    session: &Session,
    remote: Option<&str>,
    local_workspace: Option<&str>,
) -> Result<(Login, Client)> {
    let logins = Logins::load(&logins_path(session))?;
    let login = logins.choose(remote, local_workspace)?.clone();
    let client = client_for(session, &login)?;
    Ok((login, client))
}
