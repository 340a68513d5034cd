//! PostgreSQL: connect with the stored fields, honouring libpq's `sslmode` (stored field, else
//! `PGSSLMODE`; `prefer` by default, as libpq), and run one query that proves who and where we
//! are: the user, the database, the server's version, and whether the session is encrypted.

use std::error::Error as _;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::error::SqlState;

use super::http::io_failure;
use super::tls::{self, Verify};
use super::{Class, Failure, Fields, Settings};

pub fn probe(fields: &Fields, settings: &Settings) -> Result<String, Failure> {
    let sslmode = fields
        .get("sslmode")
        .map(str::to_string)
        .or_else(|| settings.pg_sslmode.clone())
        .unwrap_or_else(|| "prefer".into());
    let (mode, verify) = match sslmode.trim().to_ascii_lowercase().as_str() {
        "disable" => (SslMode::Disable, Verify::Nothing),
        // libpq's `allow` tries without TLS first; tokio-postgres cannot, so it is `prefer`.
        "allow" | "prefer" => (SslMode::Prefer, Verify::Nothing),
        "require" => (SslMode::Require, Verify::Nothing),
        "verify-ca" => (SslMode::Require, Verify::Chain),
        "verify-full" => (SslMode::Require, Verify::Full),
        other => {
            return Err(Failure::new(
                Class::Other,
                format!("unknown sslmode '{other}': use disable, allow, prefer, require, verify-ca or verify-full"),
            ))
        }
    };
    let root_file = fields
        .get("sslrootcert")
        .map(str::to_string)
        .or_else(|| settings.pg_sslrootcert.clone());
    let tls_config = tls::client_config(verify, root_file.as_deref())?;

    let port: u16 = fields
        .text("port")
        .trim()
        .parse()
        .map_err(|_| Failure::new(Class::Other, "the port is not a number from 1 to 65535"))?;
    let mut config = postgres::Config::new();
    config
        .host(fields.text("host"))
        .port(port)
        .user(fields.text("username"))
        .password(fields.text("password").as_bytes())
        .dbname(fields.text("db_name"))
        .application_name("ohx connection test")
        .connect_timeout(settings.timeout.max(Duration::from_millis(1)))
        .ssl_mode(mode);
    let connector = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config);
    let mut client = config.connect(connector).map_err(|e| failure(&e))?;
    let row = client
        .query_one(
            "select current_user::text, current_database()::text, \
             current_setting('server_version'), \
             coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false), 1",
            &[],
        )
        .map_err(|e| failure(&e))?;
    let user: String = row.try_get(0).map_err(|e| failure(&e))?;
    let database: String = row.try_get(1).map_err(|e| failure(&e))?;
    let version: String = row.try_get(2).map_err(|e| failure(&e))?;
    let encrypted: bool = row.try_get(3).map_err(|e| failure(&e))?;
    // `server_version` may carry the packager's suffix: "15.18 (Debian 15.18-0+deb12u1)".
    let version = version.split_whitespace().next().unwrap_or_default();
    let transport = if encrypted { "TLS" } else { "not encrypted" };
    Ok(format!(
        "logged in as {user}, database {database}, PostgreSQL {version}, {transport}"
    ))
}

/// The class of a PostgreSQL error: the server's SQLSTATE when it answered, else what went
/// wrong on the way (DNS, refused, TLS, timeout).
fn failure(err: &postgres::Error) -> Failure {
    if let Some(db) = err.as_db_error() {
        let code = db.code();
        let class = if *code == SqlState::INVALID_PASSWORD {
            Class::CredentialsRejected
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            Class::NoSuchDatabase
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            // 28000 is pg_hba.conf refusing this user, database, address or encryption.
            Class::PermissionDenied
        } else {
            Class::Other
        };
        return Failure::new(class, db.message().to_string());
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = err.source();
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Failure::new(Class::Tls, inner.to_string());
            }
            let found = io_failure(io);
            if found.class != Class::Other {
                return Failure::new(found.class, chain(err));
            }
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Failure::new(Class::Tls, tls.to_string());
        }
        cause = e.source();
    }
    let text = chain(err);
    let lower = text.to_ascii_lowercase();
    let class = if lower.contains("tls") || lower.contains("ssl") {
        Class::Tls
    } else if lower.contains("timeout") || lower.contains("timed out") {
        Class::Timeout
    } else if lower.contains("failed to lookup address") {
        Class::NameNotFound
    } else {
        Class::Other
    };
    Failure::new(class, text)
}

/// The error and its causes, `outer: inner`, each said once.
fn chain(err: &postgres::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut cause = err.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        cause = e.source();
    }
    parts.join(": ")
}
