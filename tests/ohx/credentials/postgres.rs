//! A real PostgreSQL server accepts the stored credentials: `psql` under `ohx run` (libpq reads
//! PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) and `psql "$(ohx connection url ...)"`, with a
//! role and a database whose names and password need quoting and percent-encoding.
//!
//! The server is `crate::pg_server`'s, shared with the connection tests.

use std::path::PathBuf;
use std::sync::Arc;

use crate::harness::Env;
use crate::pg_server::{self, PgServer, Transport};

use super::support::{add_connection, require, Component, WS};

/// Alice, admin of [`WS`], stores `server` as the connection `warehouse`.
fn add_as_warehouse(server: &PgServer, env: &Env) {
    env.admin_with_workspace(WS);
    add_connection(
        env,
        "postgresql",
        "warehouse",
        &[
            ("host", "127.0.0.1"),
            ("port", &server.port.to_string()),
            ("username", &server.role),
            ("db_name", &server.database),
        ],
        &[("password", server.password.as_bytes())],
    );
}

/// The shared server, `psql`, and a fresh home where alice stores the server as `warehouse`; or
/// `None` (the test skips) without PostgreSQL.
fn warehouse_on_the_server() -> Option<(Arc<PgServer>, PathBuf, Env)> {
    let (Some(bin), Some(psql)) = (require(Component::PostgresServer), require(Component::Psql))
    else {
        return None;
    };
    let server = pg_server::shared(&bin, Transport::Plain);
    let env = Env::new();
    add_as_warehouse(&server, &env);
    Some((server, psql, env))
}

#[test]
fn psql_under_run_logs_in_with_the_stored_role_and_password() {
    let Some((server, psql, env)) = warehouse_on_the_server() else {
        return;
    };
    let out = env
        .ohx()
        .args(["run", "-c", "warehouse", "--"])
        .arg(&psql)
        .args([
            "-X",
            "-tA",
            "-c",
            "select current_user || '|' || current_database()",
        ])
        .ok();
    assert_eq!(
        out.stdout.trim_end(),
        format!("{}|{}", server.role, server.database),
        "{out}"
    );
}

#[test]
fn psql_connects_with_the_url() {
    let Some((server, psql, env)) = warehouse_on_the_server() else {
        return;
    };
    let script = format!(
        r#"exec '{}' -X -tA "$("$0" connection url warehouse)" -c 'select current_user || '"'|'"' || current_database()'"#,
        psql.display()
    );
    let out = env.ohx().shell("bash", &script).ok();
    assert_eq!(
        out.stdout.trim_end(),
        format!("{}|{}", server.role, server.database),
        "{out}"
    );
}
