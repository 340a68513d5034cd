//! The personal login file, `openhexa.toml` next to `config.toml`: one entry per OpenHEXA server
//! and workspace, its token age-encrypted to the user's own identity. A personal credential: it
//! is not in the store, so workspace members never see it, and only the identity that logged in
//! can decrypt it. Written 0600, atomically (temporary file, then rename); a symbolic link or a
//! file others may read is refused.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::fsutil::{self, Entry};

/// One login: a server, a workspace on it, and the encrypted token.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Login {
    pub server: String,
    pub workspace: String,
    /// ASCII-armored age ciphertext; never the token itself.
    pub token: String,
}

#[derive(Serialize, Deserialize, Default)]
pub struct Logins {
    #[serde(default, rename = "login")]
    pub entries: Vec<Login>,
}

const HEADER: &str =
    "# Written by `ohx openhexa login`. Tokens are encrypted to your ohx identity.\n";

/// `<folder of config.toml>/openhexa.toml`.
pub fn path_next_to(config_file: &Path) -> PathBuf {
    config_file.with_file_name("openhexa.toml")
}

impl Logins {
    pub fn load(path: &Path) -> Result<Logins> {
        let shown = path.display();
        match fsutil::inspect(path).with_context(|| format!("cannot read {shown}"))? {
            Entry::Missing => return Ok(Logins::default()),
            Entry::Symlink | Entry::Other => {
                return Err(Error::LoginFileSymlink(path.into()).into())
            }
            Entry::File { mode, .. } if fsutil::is_shared(mode) => {
                return Err(Error::LoginFileUnprotected {
                    path: path.into(),
                    mode,
                }
                .into())
            }
            Entry::File { .. } => {}
        }
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {shown}"))?;
        toml::from_str(&text).map_err(|e| {
            Error::LoginFileInvalid {
                path: path.into(),
                message: e.message().to_string(),
            }
            .into()
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let body = toml::to_string(self).context("cannot encode the login file")?;
        fsutil::replace_private(path, format!("{HEADER}{body}").as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Adds or replaces the login for `server` and `workspace`.
    pub fn upsert(&mut self, login: Login) {
        self.entries
            .retain(|l| !(l.server == login.server && l.workspace == login.workspace));
        self.entries.push(login);
    }

    /// The login meant by `wanted` (an OpenHEXA workspace slug), or else the one whose slug is
    /// the local workspace's, or else the only one.
    pub fn choose(&self, wanted: Option<&str>, local_workspace: Option<&str>) -> Result<&Login> {
        if self.entries.is_empty() {
            return Err(Error::NotLoggedIn.into());
        }
        if let Some(slug) = wanted {
            return self
                .entries
                .iter()
                .find(|l| l.workspace == slug)
                .ok_or_else(|| {
                    Error::NoSuchLogin {
                        workspace: slug.to_string(),
                        known: self.names(),
                    }
                    .into()
                });
        }
        if let [only] = self.entries.as_slice() {
            return Ok(only);
        }
        if let Some(found) =
            local_workspace.and_then(|w| self.entries.iter().find(|l| l.workspace == w))
        {
            return Ok(found);
        }
        Err(Error::WhichLogin(self.names()).into())
    }

    fn names(&self) -> String {
        self.entries
            .iter()
            .map(|l| format!("{} ({})", l.workspace, l.server))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(ws: &str) -> Login {
        Login {
            server: "http://s".into(),
            workspace: ws.into(),
            token: "x".into(),
        }
    }

    #[test]
    fn choosing_a_login() {
        let mut logins = Logins::default();
        assert!(logins.choose(None, None).is_err());
        logins.upsert(login("a"));
        assert_eq!(
            logins
                .choose(None, Some("zz"))
                .map(|l| l.workspace.clone())
                .ok()
                .as_deref(),
            Some("a")
        );
        logins.upsert(login("b"));
        logins.upsert(login("b"));
        assert_eq!(logins.entries.len(), 2);
        assert!(logins.choose(None, None).is_err());
        assert_eq!(
            logins
                .choose(None, Some("b"))
                .map(|l| l.workspace.clone())
                .ok()
                .as_deref(),
            Some("b")
        );
        assert_eq!(
            logins
                .choose(Some("a"), Some("b"))
                .map(|l| l.workspace.clone())
                .ok()
                .as_deref(),
            Some("a")
        );
        assert!(logins.choose(Some("c"), None).is_err());
    }
}
