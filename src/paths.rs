//! Where ohx keeps its files: the home, store, identity and config paths of DESIGN.md section 1.
//!
//! Precedence is flag (or its environment variable, which clap merges), then the config file, then
//! the default. Only a store at its *default* path is created silently on first run; a store named
//! explicitly must already exist, so a typo in `--store` never produces a new empty store.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::error::Error;

/// The folders ohx uses when nothing overrides them.
#[derive(Debug, Clone)]
pub struct Homes {
    pub data_dir: PathBuf,
    pub config_dir: PathBuf,
}

impl Homes {
    /// `OHX_HOME` holds everything when set; otherwise the XDG-style folders of the platform.
    pub fn discover() -> Result<Homes> {
        if let Some(home) = non_empty_env("OHX_HOME") {
            let home = PathBuf::from(home);
            return Ok(Homes {
                data_dir: home.clone(),
                config_dir: home,
            });
        }
        let dirs = directories::ProjectDirs::from("", "", "ohx").ok_or(Error::NoHomeFolder)?;
        Ok(Homes {
            data_dir: dirs.data_dir().to_path_buf(),
            config_dir: dirs.config_dir().to_path_buf(),
        })
    }

    pub fn default_store(&self) -> PathBuf {
        self.data_dir.join("ohx.db")
    }

    pub fn default_identity(&self) -> PathBuf {
        self.config_dir.join("identity.txt")
    }

    pub fn config_file(&self) -> PathBuf {
        match non_empty_env("OHX_CONFIG") {
            Some(path) => PathBuf::from(path),
            None => self.config_dir.join("config.toml"),
        }
    }
}

/// A path together with whether it is ohx's default or was chosen by the user.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub path: PathBuf,
    pub is_default: bool,
}

/// Picks the first of flag, config value and default.
pub fn choose(flag: Option<&Path>, configured: Option<&Path>, default: PathBuf) -> Chosen {
    match flag.or(configured) {
        Some(path) => Chosen {
            path: path.to_path_buf(),
            is_default: false,
        },
        None => Chosen {
            path: default,
            is_default: true,
        },
    }
}

/// An environment variable, treating an empty value as unset (as shells make it easy to export one).
pub fn non_empty_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}
