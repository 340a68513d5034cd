//! `ohx openhexa login | logout | status`.

use std::path::PathBuf;

use anyhow::Result;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{client_for, logins_path};
use crate::crypto::personal;
use crate::error::Error;
use crate::openhexa::client::{self, server_base, Client};
use crate::openhexa::logins::{Login, Logins};
use crate::output;
use crate::secret_input::{self, SecretSource};
use crate::session::Session;

fn token_source(arg: Option<&str>) -> Result<SecretSource> {
    Ok(match arg {
        None => SecretSource::Prompt,
        Some("-") => SecretSource::Stdin,
        Some(s) if s.starts_with("env:") => SecretSource::Env(s["env:".len()..].to_string()),
        Some(s) if s.starts_with("file:") => SecretSource::File(PathBuf::from(&s["file:".len()..])),
        Some(_) => return Err(Error::TokenLiteral.into()),
    })
}

pub fn login(session: &mut Session, url: &str, source: Option<&str>) -> Result<()> {
    let Some(workspace) = session.globals.workspace.clone() else {
        return Err(Error::OpenhexaWorkspaceNeeded.into());
    };
    let server = server_base(url);
    let lower = server.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://"))
        || server.len() <= "https://".len()
    {
        return Err(Error::OpenhexaBadUrl(url.to_string()).into());
    }
    let source = token_source(source)?;
    let raw = secret_input::read("token", &source, session.globals.interactive())?;
    let token = SecretString::from(raw.expose_secret().trim().to_string());
    drop(raw);
    if token.expose_secret().is_empty() {
        return Err(Error::EmptyToken.into());
    }
    // Saved only once the server accepts it.
    let client = Client::new(&server, token.clone(), client::configured_timeout());
    let info = client.workspace(&workspace)?;
    let sealed = personal::seal_to_self(session.access.actor().identity(), &token)?;
    drop(token);
    let path = logins_path(session);
    let mut logins = Logins::load(&path)?;
    logins.upsert(Login {
        server: client.server().to_string(),
        workspace: info.slug.clone(),
        token: sealed,
    });
    logins.save(&path)?;
    session.printer.done(
        &format!(
            "Logged in to OpenHEXA workspace '{}' ({}) on {}. The token is in {}, encrypted to your identity.",
            info.slug,
            info.name,
            client.server(),
            path.display()
        ),
    )
}

pub fn logout(session: &mut Session, remote: Option<&str>) -> Result<()> {
    let path = logins_path(session);
    let mut logins = Logins::load(&path)?;
    let chosen = logins.choose(remote, None)?.clone();
    logins
        .entries
        .retain(|l| !(l.server == chosen.server && l.workspace == chosen.workspace));
    if logins.entries.is_empty() {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(
                    anyhow::Error::new(e).context(format!("cannot remove {}", path.display()))
                )
            }
            _ => {}
        }
    } else {
        logins.save(&path)?;
    }
    session.printer.done(
        &format!(
            "Logged out of OpenHEXA workspace '{}' ({}); its token is forgotten here (revoke it on OpenHEXA if it may have leaked).",
            chosen.workspace, chosen.server
        ),
    )
}

pub fn status(session: &mut Session, remote: Option<&str>) -> Result<()> {
    let logins = Logins::load(&logins_path(session))?;
    let chosen: Vec<Login> = match remote {
        Some(_) => vec![logins.choose(remote, None)?.clone()],
        None if logins.entries.is_empty() => return Err(Error::NotLoggedIn.into()),
        None => logins.entries.clone(),
    };
    let mut rows = Vec::new();
    let mut first_failure: Option<anyhow::Error> = None;
    for login in &chosen {
        let outcome = client_for(session, login)
            .and_then(|c| c.workspace(&login.workspace).map_err(anyhow::Error::from));
        let (works, detail) = match outcome {
            Ok(info) => (true, format!("works ({})", info.name)),
            Err(e) => {
                let text = crate::error::render(&e);
                first_failure.get_or_insert(e);
                (false, text)
            }
        };
        rows.push((login, works, detail));
    }
    if session.globals.json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|(l, works, detail)| {
                json!({ "server": l.server, "workspace": l.workspace, "token_works": works, "detail": detail })
            })
            .collect();
        output::json(&items)?;
    } else {
        output::table(
            &["SERVER", "WORKSPACE", "TOKEN"],
            rows.iter()
                .map(|(l, _, detail)| vec![l.server.clone(), l.workspace.clone(), detail.clone()])
                .collect(),
        )?;
    }
    match first_failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
