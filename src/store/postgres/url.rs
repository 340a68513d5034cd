//! `postgresql://USER@HOST:PORT/DATABASE?sslmode=...` (or `postgres://`) read as libpq reads it,
//! except that a password in the URL is refused: a URL is shown in messages and may come from
//! argv, so the password comes from `PGPASSWORD` or a password file instead.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;

/// How much TLS a connection demands (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked.
    Prefer,
    /// TLS always; the certificate is not checked (it protects against eavesdroppers only).
    Require,
    /// TLS always, with a certificate chaining to a trusted root and naming the host.
    VerifyFull,
}

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Tcp(String),
    /// The folder of a Unix socket (`?host=/run/postgresql`).
    Socket(PathBuf),
}

/// A PostgreSQL store as named by its URL.
#[derive(Debug, Clone)]
pub struct Target {
    pub user: String,
    pub host: Host,
    pub port: u16,
    pub database: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub passfile: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
    /// The URL as given, for messages (it holds no password).
    pub shown: String,
}

/// Whether `text` names a PostgreSQL store rather than a file.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgresql://") || text.starts_with("postgres://")
}

/// Reads a store URL; `env` gives libpq's environment defaults (`PGUSER`, `PGSSLMODE`, ...).
pub fn parse(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Target, Error> {
    let invalid = |why: &str| Error::StoreUrlInvalid {
        url: shown_without_secret(url),
        why: why.into(),
    };
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
        .ok_or_else(|| invalid("it must start with postgresql:// or postgres://"))?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if userinfo.is_some_and(|u| u.contains(':')) {
        return Err(Error::StoreUrlHasPassword(shown_without_secret(url)));
    }
    let user = match userinfo.filter(|u| !u.is_empty()) {
        Some(u) => decode(u).map_err(|w| invalid(&w))?,
        None => env("PGUSER")
            .or_else(|| env("USER"))
            .ok_or_else(|| invalid("it names no user, and neither PGUSER nor USER is set"))?,
    };
    let (host, port) = split_host_port(hostport).map_err(|w| invalid(&w))?;
    let mut target = Target {
        database: match path {
            "" => user.clone(),
            p => decode(p).map_err(|w| invalid(&w))?,
        },
        user,
        host: Host::Tcp(if host.is_empty() {
            "localhost".into()
        } else {
            decode(&host).map_err(|w| invalid(&w))?
        }),
        port: port.unwrap_or(5432),
        sslmode: SslMode::Prefer,
        sslrootcert: env("PGSSLROOTCERT").map(PathBuf::from),
        passfile: env("PGPASSFILE").map(PathBuf::from),
        connect_timeout: None,
        shown: url.to_string(),
    };
    if let Some(mode) = env("PGSSLMODE") {
        target.sslmode = sslmode(&mode).map_err(|w| invalid(&w))?;
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value).map_err(|w| invalid(&w))?;
        match key {
            "sslmode" => target.sslmode = sslmode(&value).map_err(|w| invalid(&w))?,
            "sslrootcert" => target.sslrootcert = Some(PathBuf::from(value)),
            "passfile" => target.passfile = Some(PathBuf::from(value)),
            "connect_timeout" => {
                let seconds: u64 = value
                    .parse()
                    .map_err(|_| invalid("connect_timeout must be a whole number of seconds"))?;
                target.connect_timeout = Some(Duration::from_secs(seconds));
            }
            "host" if value.starts_with('/') => target.host = Host::Socket(PathBuf::from(value)),
            "host" => target.host = Host::Tcp(value),
            "password" => return Err(Error::StoreUrlHasPassword(shown_without_secret(url))),
            other => {
                return Err(invalid(&format!(
                    "unknown parameter '{other}' (known: sslmode, sslrootcert, passfile, connect_timeout, host)"
                )))
            }
        }
    }
    Ok(target)
}

fn sslmode(text: &str) -> Result<SslMode, String> {
    match text {
        "disable" => Ok(SslMode::Disable),
        "prefer" => Ok(SslMode::Prefer),
        "require" => Ok(SslMode::Require),
        "verify-full" => Ok(SslMode::VerifyFull),
        other => Err(format!(
            "sslmode '{other}' is not one of disable, prefer, require, verify-full"
        )),
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("port '{p}' is not a number from 1 to 65535"))
            .and_then(|n| {
                if n == 0 {
                    Err("port 0 is not valid".to_string())
                } else {
                    Ok(n)
                }
            })
    };
    if let Some(v6) = text.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or("an IPv6 address must end with ']'")?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_string(), Some(port(p)?))),
            None if after.is_empty() => Ok((host.to_string(), None)),
            None => Err(format!("unexpected '{after}' after the host")),
        };
    }
    match text.rsplit_once(':') {
        Some((host, p)) => Ok((host.to_string(), Some(port(p)?))),
        None => Ok((text.to_string(), None)),
    }
}

/// Percent-decoding into UTF-8 text.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("'{text}' has a '%' not followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("'{text}' does not decode to UTF-8 text"))
}

/// The URL with anything after a `:` in its user part masked, for a message refusing it.
fn shown_without_secret(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?..."),
        None => tail.to_string(),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{masked}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn reads_every_part() {
        let t = parse(
            "postgresql://etl%40ohx@db.example.org:6543/dwh%202024%2F%C3%A9?sslmode=verify-full&sslrootcert=/etc/ca.pem",
            &no_env,
        )
        .unwrap();
        assert_eq!(t.user, "etl@ohx");
        assert_eq!(t.host, Host::Tcp("db.example.org".into()));
        assert_eq!(t.port, 6543);
        assert_eq!(t.database, "dwh 2024/é");
        assert_eq!(t.sslmode, SslMode::VerifyFull);
        assert_eq!(t.sslrootcert, Some(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn fills_in_libpq_defaults() {
        let env = |k: &str| (k == "PGUSER").then(|| "ann".to_string());
        let t = parse("postgres://[::1]", &env).unwrap();
        assert_eq!(
            (t.user.as_str(), t.database.as_str(), t.port),
            ("ann", "ann", 5432)
        );
        assert_eq!(t.host, Host::Tcp("::1".into()));
        assert_eq!(t.sslmode, SslMode::Prefer);
        let t = parse("postgresql://ann@/ohx?host=/run/postgresql", &no_env).unwrap();
        assert_eq!(t.host, Host::Socket(PathBuf::from("/run/postgresql")));
    }

    #[test]
    fn refuses_a_password_without_showing_it() {
        for url in [
            "postgresql://ann:hunter2@db/ohx",
            "postgresql://ann@db/ohx?password=hunter2",
        ] {
            let err = parse(url, &no_env).unwrap_err();
            assert!(matches!(err, Error::StoreUrlHasPassword(_)), "{err}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for url in [
            "postgresql://ann@db/ohx?sslmode=verify-ca",
            "postgresql://ann@db:99999/ohx",
            "postgresql://ann@db/ohx?options=-c",
            "postgresql://ann@db/%zz",
        ] {
            assert!(
                matches!(parse(url, &no_env), Err(Error::StoreUrlInvalid { .. })),
                "{url}"
            );
        }
    }
}
