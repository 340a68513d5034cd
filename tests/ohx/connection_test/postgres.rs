//! PostgreSQL: a real server started by the test (`crate::pg_server`) accepts the stored role
//! and password, and refuses a wrong password or database with its own words; a TLS-only
//! server shows that `sslmode` (from `PGSSLMODE`, as libpq reads it) is honoured: encrypted by
//! default, refused with `disable`, verified with `verify-full` and the server's CA.

use std::sync::Arc;

use crate::credentials::support::{add_connection, require, Component, WS};
use crate::harness::{random_canary, Env};
use crate::pg_server::{self, PgServer, Transport};

use super::support::{assert_no_secret, connection_test, failed_with, passed};

/// The shared server of kind `transport` and a fresh home with alice admin of [`WS`]; `None`
/// (the test skips) without PostgreSQL, or without openssl for a TLS server.
fn server(transport: Transport) -> Option<(Arc<PgServer>, Env)> {
    let bin = require(Component::PostgresServer)?;
    if transport == Transport::TlsOnly {
        require(Component::Openssl)?;
    }
    let server = pg_server::shared(&bin, transport);
    let env = Env::new();
    env.admin_with_workspace(WS);
    Some((server, env))
}

/// Stores `server` as connection `id` with `password` and database `db`.
fn add(env: &Env, server: &PgServer, id: &str, password: &str, db: &str) {
    add_connection(
        env,
        "postgresql",
        id,
        &[
            ("host", "127.0.0.1"),
            ("port", &server.port.to_string()),
            ("username", &server.role),
            ("db_name", db),
        ],
        &[("password", password.as_bytes())],
    );
}

#[test]
fn the_stored_role_logs_in_and_the_line_says_who_where_and_which_version() {
    let Some((server, env)) = server(Transport::Plain) else {
        return;
    };
    add(
        &env,
        &server,
        "warehouse",
        &server.password,
        &server.database,
    );
    let out = connection_test(&env, &["warehouse"], &[]);
    let proven = passed(&out, "warehouse");
    let expected = format!(
        "logged in as {}, database {}, PostgreSQL ",
        server.role, server.database
    );
    assert!(proven.starts_with(&expected), "{out}");
    assert!(proven.ends_with(", not encrypted"), "{out}");
    assert_no_secret(&out, &[&server.password]);
}

#[test]
fn a_wrong_password_is_credentials_rejected_with_the_servers_message() {
    let Some((server, env)) = server(Transport::Plain) else {
        return;
    };
    let wrong = random_canary();
    add(&env, &server, "warehouse", &wrong, &server.database);
    let out = connection_test(&env, &["warehouse"], &[]);
    let said = failed_with(&out, "warehouse", "credentials rejected");
    assert!(said.contains("password authentication failed"), "{out}");
    assert_no_secret(&out, &[&wrong, &server.password]);
}

#[test]
fn a_wrong_database_is_no_such_database() {
    let Some((server, env)) = server(Transport::Plain) else {
        return;
    };
    add(&env, &server, "warehouse", &server.password, "no_such_db");
    let out = connection_test(&env, &["warehouse"], &[]);
    let said = failed_with(&out, "warehouse", "no such database");
    assert!(said.contains("\"no_such_db\" does not exist"), "{out}");
    assert_no_secret(&out, &[&server.password]);
}

#[test]
fn sslmode_require_against_a_server_without_tls_is_a_tls_failure() {
    let Some((server, env)) = server(Transport::Plain) else {
        return;
    };
    add(
        &env,
        &server,
        "warehouse",
        &server.password,
        &server.database,
    );
    let out = connection_test(&env, &["warehouse"], &[("PGSSLMODE", "require")]);
    failed_with(&out, "warehouse", "TLS");
    assert_no_secret(&out, &[&server.password]);
}

#[test]
fn a_tls_only_server_is_reached_over_tls_by_default() {
    let Some((server, env)) = server(Transport::TlsOnly) else {
        return;
    };
    add(
        &env,
        &server,
        "warehouse",
        &server.password,
        &server.database,
    );
    let out = connection_test(&env, &["warehouse"], &[]);
    assert!(passed(&out, "warehouse").ends_with(", TLS"), "{out}");
    assert_no_secret(&out, &[&server.password]);
}

#[test]
fn sslmode_disable_is_refused_by_a_tls_only_server() {
    let Some((server, env)) = server(Transport::TlsOnly) else {
        return;
    };
    add(
        &env,
        &server,
        "warehouse",
        &server.password,
        &server.database,
    );
    let out = connection_test(&env, &["warehouse"], &[("PGSSLMODE", "disable")]);
    let said = failed_with(&out, "warehouse", "permission denied");
    assert!(said.contains("no encryption"), "{out}");
    assert_no_secret(&out, &[&server.password]);
}

#[test]
fn verify_full_passes_with_the_servers_ca_and_fails_without_it() {
    let Some((server, env)) = server(Transport::TlsOnly) else {
        return;
    };
    add(
        &env,
        &server,
        "warehouse",
        &server.password,
        &server.database,
    );
    let ca = server.ca_file();
    let ca = ca.to_str().expect("a UTF-8 path");
    let out = connection_test(
        &env,
        &["warehouse"],
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca)],
    );
    assert!(passed(&out, "warehouse").ends_with(", TLS"), "{out}");

    // Without the CA, the certificate is checked against Mozilla's roots and refused.
    let out = connection_test(&env, &["warehouse"], &[("PGSSLMODE", "verify-full")]);
    let said = failed_with(&out, "warehouse", "TLS");
    assert!(said.to_lowercase().contains("certificate"), "{out}");
    assert_no_secret(&out, &[&server.password]);
}

#[test]
fn a_role_without_connect_on_the_database_is_permission_denied() {
    let (Some((server, env)), Some(psql)) = (server(Transport::Plain), require(Component::Psql))
    else {
        return;
    };
    // A second role, and a database it may not connect to (the superuser of the other tests
    // is not bound by CONNECT privileges).
    let password = random_canary();
    let create_role = format!("CREATE ROLE reader LOGIN PASSWORD '{password}'");
    let setup = std::process::Command::new(&psql)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
        .args([
            "-p",
            &server.port.to_string(),
            "-U",
            &server.role,
            "-d",
            "postgres",
        ])
        // Each -c is its own transaction: CREATE DATABASE cannot run inside one.
        .args(["-c", &create_role, "-c", "CREATE DATABASE closed"])
        .args(["-c", "REVOKE CONNECT ON DATABASE closed FROM PUBLIC"])
        .env_clear()
        .env("PGPASSWORD", &server.password)
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    add_connection(
        &env,
        "postgresql",
        "closed",
        &[
            ("host", "127.0.0.1"),
            ("port", &server.port.to_string()),
            ("username", "reader"),
            ("db_name", "closed"),
        ],
        &[("password", password.as_bytes())],
    );
    let out = connection_test(&env, &["closed"], &[]);
    let said = failed_with(&out, "closed", "permission denied");
    assert!(said.contains("permission denied for database"), "{out}");
    assert_no_secret(&out, &[&password, &server.password]);
}
