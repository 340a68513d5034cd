//! The database password, found as libpq finds it: `PGPASSWORD`, else the first matching line of
//! the password file (`passfile` in the URL, `PGPASSFILE`, or `~/.pgpass`), whose lines read
//! `host:port:database:user:password` with `*` matching anything and `\` escaping `:` and `\`.
//! Never from argv. A password file others may read is refused rather than ignored.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::url::{Host, Target};
use crate::error::Error;
use crate::fsutil::{self, Entry};

/// The password for `target`, if one is configured.
pub fn find(
    target: &Target,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SecretString>, Error> {
    if let Some(password) = env("PGPASSWORD") {
        return Ok(Some(SecretString::from(password)));
    }
    let file = match (&target.passfile, env("HOME")) {
        (Some(file), _) => file.clone(),
        (None, Some(home)) => Path::new(&home).join(".pgpass"),
        (None, None) => return Ok(None),
    };
    read_file(&file, target)
}

fn read_file(file: &PathBuf, target: &Target) -> Result<Option<SecretString>, Error> {
    let io = |source| Error::StoreIo {
        path: file.clone(),
        source,
    };
    match fsutil::inspect(file).map_err(io)? {
        Entry::Missing => return Ok(None),
        Entry::File { mode, .. } if mode & 0o077 != 0 => {
            return Err(Error::PasswordFileUnprotected {
                path: file.clone(),
                mode,
            })
        }
        _ => {}
    }
    let text = std::fs::read_to_string(file).map_err(io)?;
    let host = match &target.host {
        Host::Tcp(h) => h.clone(),
        // libpq matches a socket connection against "localhost".
        Host::Socket(_) => "localhost".to_string(),
    };
    let wanted = [
        host,
        target.port.to_string(),
        target.database.clone(),
        target.user.clone(),
    ];
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let fields = split_line(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = wanted
            .iter()
            .zip(&fields)
            .all(|(want, have)| have == "*" || have == want);
        if matches {
            return Ok(Some(SecretString::from(fields[4..].join(":"))));
        }
    }
    Ok(None)
}

/// A line split at unescaped `:`, with `\:` and `\\` unescaped.
fn split_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), fields.last_mut()) {
                    last.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::split_line;

    #[test]
    fn lines_split_at_unescaped_colons() {
        assert_eq!(
            split_line(r"db:5432:*:etl\:x:p\\w\:d"),
            ["db", "5432", "*", "etl:x", r"p\w:d"]
        );
    }
}
