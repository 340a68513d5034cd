//! A store in a PostgreSQL database: connecting as libpq would (URL, password, TLS), and the
//! transactions. Writers take one advisory lock for the length of their transaction, so writes
//! are serialised exactly as SQLite's `BEGIN IMMEDIATE` serialises them, and every statement of a
//! write sees what the writer before it committed; reads run in one repeatable-read snapshot.

mod password;
mod tls;
pub mod url;

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::NoTls;
use secrecy::ExposeSecret;

use super::engine::{Db, PgConn};
use super::APPLICATION_ID;
use crate::error::Error;
use url::{Host, SslMode, Target};

/// The advisory lock every writer holds for its whole transaction.
pub(super) const WRITE_LOCK: i64 = APPLICATION_ID as i64;
/// The advisory lock of a first run or an upgrade creating or changing the schema.
pub(super) const SCHEMA_LOCK: i64 = APPLICATION_ID as i64 + 1;

/// How long to wait for a server that does not answer, unless the URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Connects to the database `target` names: through the connection `ohx store hold` keeps open
/// for it when one runs (`store::relay`), else directly.
pub(super) fn connect(target: &Target) -> Result<RefCell<PgConn>, Error> {
    if let Some(held) = super::relay::attach(target) {
        return Ok(RefCell::new(PgConn::held(held)));
    }
    connect_own(target).map(RefCell::new)
}

/// Connects this process itself to the database `target` names.
pub(super) fn connect_own(target: &Target) -> Result<PgConn, Error> {
    let mut config = ::postgres::Config::new();
    config
        .user(&target.user)
        .dbname(&target.database)
        .port(target.port)
        .application_name("ohx")
        .connect_timeout(target.connect_timeout.unwrap_or(CONNECT_TIMEOUT));
    match &target.host {
        Host::Tcp(host) => config.host(host),
        Host::Socket(folder) => config.host_path(folder),
    };
    if let Some(password) = password::find(target, &env)? {
        config.password(password.expose_secret());
    }
    let client = match target.sslmode {
        SslMode::Disable => config
            .ssl_mode(::postgres::config::SslMode::Disable)
            .connect(NoTls),
        mode => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls::client_config(target)?);
            config
                .ssl_mode(if mode == SslMode::Prefer {
                    ::postgres::config::SslMode::Prefer
                } else {
                    ::postgres::config::SslMode::Require
                })
                .connect(tls)
        }
    }
    .map_err(|e| connect_error(target, e))?;
    Ok(PgConn::new(client))
}

fn connect_error(target: &Target, e: ::postgres::Error) -> Error {
    let shown = target.shown.clone();
    let text = full_text(&e);
    match e.code() {
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => Error::StoreDatabaseMissing {
            target: shown,
            database: target.database.clone(),
        },
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            Error::StoreAuthFailed {
                target: shown,
                detail: e.as_db_error().map_or(text, |d| d.message().to_string()),
            }
        }
        _ if text.contains("password missing") => Error::StoreAuthFailed {
            target: shown,
            detail:
                "the server asks for a password, and none is in PGPASSWORD or the password file"
                    .into(),
        },
        _ if text.contains("TLS") || text.contains("tls") => Error::StoreTls {
            target: shown,
            detail: text,
        },
        _ => Error::StoreUnreachable {
            target: shown,
            detail: text,
        },
    }
}

/// An error with its causes, which the postgres crate keeps out of its own message.
fn full_text(e: &::postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Where a transaction runs, for the message when the server goes away in its middle.
#[derive(Clone, Copy)]
pub(super) struct On<'a> {
    /// The store, as messages name it.
    pub shown: &'a Path,
    /// Whether this command already committed a write, which stays saved whatever happens next.
    pub wrote_before: bool,
}

/// Runs `work` between `begin` and `COMMIT`; any failure rolls back. A connection lost on the
/// way (the server stopped, the session ended by an administrator) is told as such, naming the
/// store: before `COMMIT` the server has rolled the transaction back, so nothing of it was
/// saved; during `COMMIT` nobody can tell (docs/ARCHITECTURE.md, "Transactions on PostgreSQL").
pub(super) fn transaction<T, E: From<Error>>(
    conn: &RefCell<PgConn>,
    on: On<'_>,
    kind: Kind,
    work: impl FnOnce(&Db<'_>) -> Result<T, E>,
) -> Result<T, E> {
    // Each borrow ends with its statement: `work` and `still_connected` borrow again.
    let began = conn.borrow_mut().begin(&kind.begin());
    let done = match began {
        Ok(()) => work(&Db::postgres(conn)),
        Err(e) => Err(E::from(e)),
    };
    let target = || on.shown.display().to_string();
    match done {
        Ok(value) => {
            let committed = if kind == Kind::Read {
                conn.borrow_mut().end_read()
            } else {
                conn.borrow_mut().batch("COMMIT")
            };
            match committed {
                Ok(()) => Ok(value),
                Err(e) => match still_connected(conn) {
                    // The server refused the commit and rolled back.
                    Ok(()) => Err(e.into()),
                    Err(detail) => Err(Error::StoreCommitUncertain {
                        target: target(),
                        detail,
                    }
                    .into()),
                },
            }
        }
        Err(e) => match still_connected(conn) {
            Ok(()) => Err(e),
            Err(detail) => Err(Error::StoreConnectionLost {
                target: target(),
                detail,
                wrote_before: on.wrote_before,
            }
            .into()),
        },
    }
}

/// Ends whatever transaction is open (a failed one, or none, which the server only warns about);
/// fails, with why, only when the connection to the server is gone.
fn still_connected(conn: &RefCell<PgConn>) -> Result<(), String> {
    let rolled_back = conn.borrow_mut().batch("ROLLBACK");
    match rolled_back {
        Ok(()) => Ok(()),
        Err(Error::Database { detail, .. }) => Err(detail),
        Err(other) => Err(other.to_string()),
    }
}

/// What a transaction is for, which decides how it begins and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// One consistent snapshot, read-only.
    Read,
    /// One writer at a time, as SQLite's `BEGIN IMMEDIATE`.
    Write,
    /// A first run, an upgrade or a copy creating the schema: one at a time, and no writer
    /// meanwhile.
    Schema,
}

impl Kind {
    fn begin(self) -> String {
        let lock = match self {
            Kind::Read => return "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".into(),
            Kind::Write => WRITE_LOCK,
            Kind::Schema => SCHEMA_LOCK,
        };
        format!("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({lock})")
    }
}
