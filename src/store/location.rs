//! Where the store is: a SQLite file or a PostgreSQL database. Anything of the form `scheme://...`
//! is a URL and never a file name, so `--store postgresql://...` can never create a folder called
//! `postgresql:`, and an unknown scheme is an error rather than a new file.

use std::path::{Path, PathBuf};

use super::postgres::url::{self, Target};
use crate::error::Error;

#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    Postgres(Target),
}

impl Location {
    /// Reads `--store`, `OHX_STORE` or the config's `store`.
    pub fn of(given: &Path) -> Result<Location, Error> {
        let Some(text) = given.to_str() else {
            return Ok(Location::File(given.to_path_buf()));
        };
        if url::is_postgres_url(text) {
            let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
            return Ok(Location::Postgres(url::parse(text, &env)?));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            let looks_like_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if looks_like_scheme {
                return Err(Error::StoreUrlInvalid {
                    url: format!("{scheme}://..."),
                    why: format!("'{scheme}' is not a kind of store ohx knows"),
                });
            }
        }
        Ok(Location::File(given.to_path_buf()))
    }

    /// Whether this is a file that does not exist yet (a database is never "missing" here: the
    /// server says so when connecting). A file behind a folder the user may not enter is not
    /// missing: opening it says that they are refused, rather than creating a store beside it.
    pub fn is_missing_file(&self) -> bool {
        match self {
            Location::File(path) => matches!(
                std::fs::symlink_metadata(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound
            ),
            Location::Postgres(_) => false,
        }
    }

    /// How the store is named in messages: its path, or its URL (which holds no password).
    pub fn shown(&self) -> PathBuf {
        match self {
            Location::File(path) => path.clone(),
            Location::Postgres(target) => PathBuf::from(&target.shown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_never_files() {
        assert!(matches!(
            Location::of(Path::new("postgres://ann@db/ohx")),
            Ok(Location::Postgres(_))
        ));
        assert!(matches!(
            Location::of(Path::new("mysql://ann@db/ohx")),
            Err(Error::StoreUrlInvalid { .. })
        ));
        for file in ["ohx.db", "./a://b", "/srv/ohx/team.db", "postgresql:x.db"] {
            assert!(
                matches!(Location::of(Path::new(file)), Ok(Location::File(_))),
                "{file}"
            );
        }
    }
}
