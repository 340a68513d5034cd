//! The optional `config.toml`: default workspace, store and identity paths.
//!
//! Unknown keys are kept when ohx rewrites the file (for `ohx workspace use`), so a newer ohx's
//! settings survive an older one; comments are not, which the file's header line says.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::fsutil::{self, Refusal};

/// The settings ohx reads from `config.toml`.
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub default_workspace: Option<String>,
    pub store: Option<PathBuf>,
    pub identity: Option<PathBuf>,
    /// The whole document, so that rewriting keeps keys this version does not know.
    table: toml::Table,
}

impl Config {
    /// Reads the file; a missing file is an empty configuration. The file says which store and
    /// identity to use, so it is opened once without following a link or waiting on a FIFO, and
    /// refused unless it is a regular file of ours that nobody else may write.
    pub fn load(path: &Path) -> Result<Config, Error> {
        // `OHX_CONFIG=/dev/null` is the usual way to say "no config file".
        if path == Path::new("/dev/null") {
            return Ok(Config::default());
        }
        let refused = |reason: String| Error::ConfigRefused {
            path: path.into(),
            reason,
        };
        let bytes = match fsutil::read_private(path, &CONFIG_RULE) {
            Ok(bytes) => bytes,
            Err(Refusal::Missing) => return Ok(Config::default()),
            Err(Refusal::Symlink) => return Err(refused("is a symbolic link".into())),
            Err(Refusal::NotAFile) => return Err(refused("is not a regular file".into())),
            Err(Refusal::Shared { mode }) => {
                return Err(refused(format!(
                    "has mode {mode:04o}: other users may change it"
                )))
            }
            Err(Refusal::NotOwner { uid }) => {
                return Err(refused(format!("belongs to another user (uid {uid})")))
            }
            Err(Refusal::TooLarge { len, max }) => {
                return Err(refused(format!(
                    "is too large ({len} bytes; at most {max})"
                )))
            }
            Err(Refusal::Io(source)) => {
                return Err(Error::ConfigUnreadable {
                    path: path.into(),
                    source,
                })
            }
        };
        let text = String::from_utf8(bytes).map_err(|_| Error::ConfigInvalid {
            path: path.into(),
            message: "it is not UTF-8 text".into(),
        })?;
        Self::parse(path, &text)
    }

    /// Parses the text of a config file; `path` only names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Error> {
        let invalid = |message: String| Error::ConfigInvalid {
            path: path.into(),
            message,
        };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e.span().map(|span| line_of(text, span.start));
            match line {
                Some(line) => invalid(format!("line {line}: {}", e.message())),
                None => invalid(e.message().to_string()),
            }
        })?;
        let string = |key: &str| -> Result<Option<String>, Error> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(invalid(format!(
                    "line {}: `{key}` must be a string, not {}",
                    key_line(text, key),
                    with_article(other.type_str())
                ))),
            }
        };
        Ok(Config {
            default_workspace: string("default_workspace")?,
            store: string("store")?.map(PathBuf::from),
            identity: string("identity")?.map(PathBuf::from),
            table,
        })
    }

    /// Sets the default workspace and writes the file atomically (temp file, then rename), 0600.
    pub fn save_default_workspace(&mut self, path: &Path, slug: &str) -> Result<(), Error> {
        self.default_workspace = Some(slug.to_string());
        self.table
            .insert("default_workspace".into(), toml::Value::String(slug.into()));
        let body = toml::to_string(&self.table).map_err(|e| Error::ConfigInvalid {
            path: path.into(),
            message: e.to_string(),
        })?;
        let text = format!("# ohx configuration (rewritten by `ohx workspace use`)\n{body}");
        fsutil::replace_private(path, text.as_bytes()).map_err(|source| Error::ConfigUnwritable {
            path: path.into(),
            source,
        })
    }
}

/// A config file may be read by others, but nobody else may write it; it is a few lines.
const CONFIG_RULE: fsutil::Rule = fsutil::Rule {
    forbidden_bits: 0o022,
    max_len: 1024 * 1024,
};

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// "an integer", "a boolean": how the message names a TOML type.
fn with_article(type_name: &str) -> String {
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}

/// The line where `key` is set at the top level: the key part of `key = value`, quotes removed.
fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .position(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches(['"', '\'']) == key)
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_the_line() {
        let err = Config::parse(Path::new("c.toml"), "store = \"a\"\ndefault_workspace = \n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key_and_line() {
        let err = Config::parse(Path::new("c.toml"), "# x\nstore = 3\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 2") && err.contains("`store`"), "{err}");
    }
}
