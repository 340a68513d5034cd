//! The team store (docs/RELIABILITY.md, "Team store"): the same command flows on a SQLite file and
//! on a PostgreSQL database, and what only a database can get wrong (its URL, its password, a
//! missing or foreign database, a newer schema, many first runs at once, the server going away).
//!
//! - `flows`: every test there runs three times, as `sqlite`, `postgres` and `postgres_held` (through
//!   `ohx store hold`), through [`both`];
//! - `postgres`: what only a PostgreSQL store has;
//! - `copy`: `ohx store copy` between files and databases, in every direction;
//! - `share`: one store file shared by a Unix group, used from real accounts (root only).
//! - `faults`: many writers at once, `kill -9`, and the server going away mid-command;
//! - `hold`: what only held connections have (one session reused, a dropped session, a killed holder).
//!
//! The server is the one the credential tests start (`crate::pg_server`), or a private one for a
//! test that stops it or changes its settings; each test gets a database of its own, and finds its password in a `~/.pgpass` of mode 0600, as a user would.
//! Without PostgreSQL's server binaries the `postgres` tests skip with the reason, and fail
//! under `CI`.

mod copy;
mod faults;
mod flows;
mod hold;
mod postgres;
mod share;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::credentials::support::{require, Component};
use crate::harness::{random_canary, Env};
use crate::pg_server::{self, PgServer, Transport};

/// A home whose commands use one store, kept alive with the server behind it.
pub struct Store {
    pub env: Env,
    keep: Keep,
}

/// What a test's store needs kept while the test runs: the server behind it, and the holder of
/// its connections when the commands run through `ohx store hold`.
pub struct Keep {
    _server: Option<Arc<PgServer>>,
    _holder: Option<Holder>,
}

/// A holder process started for a test, ended with it.
struct Holder(u32);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.to_string()).status();
    }
}

impl Store {
    /// The home, and what it needs kept (nothing for SQLite).
    pub fn into_parts(self) -> (Env, Keep) {
        (self.env, self.keep)
    }
}

/// A home on the default SQLite store.
pub fn sqlite() -> Store {
    Store {
        env: Env::new(),
        keep: Keep {
            _server: None,
            _holder: None,
        },
    }
}

/// The shared server, or `None` (the test skips, or fails under `CI`) without PostgreSQL.
pub fn plain_server() -> Option<Arc<PgServer>> {
    require(Component::PostgresServer).map(|bin| pg_server::shared(&bin, Transport::Plain))
}

/// `%`-encodes everything but unreserved characters, for a URL's user and database parts.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A new, empty database on the shared server, with a name that needs encoding in a URL.
pub fn new_database(server: &PgServer) -> String {
    let name = format!("team store/{}", &random_canary()[..12]);
    server.create_database(&name);
    name
}

/// The URL of `database` on `server` (no sslmode: libpq's default, `prefer`).
pub fn url_of(server: &PgServer, database: &str) -> String {
    format!(
        "postgresql://{}@127.0.0.1:{}/{}",
        encode(&server.role),
        server.port,
        encode(database)
    )
}

/// Writes the server's password to `<HOME>/.pgpass` (mode 0600) for every database.
pub fn write_pgpass(env: &Env, server: &PgServer) {
    let escaped = server.password.replace('\\', "\\\\").replace(':', "\\:");
    let role = server.role.replace('\\', "\\\\").replace(':', "\\:");
    let path = env.root().join(".pgpass");
    std::fs::write(
        &path,
        format!("127.0.0.1:{}:*:{role}:{escaped}\n", server.port),
    )
    .expect("write .pgpass");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod .pgpass");
}

/// A home on a fresh PostgreSQL database, or `None` when the test skips.
pub fn postgres() -> Option<Store> {
    let server = plain_server()?;
    let database = new_database(&server);
    let url = url_of(&server, &database);
    let env = Env::new().with_var("OHX_STORE", &url);
    write_pgpass(&env, &server);
    Some(Store {
        env,
        keep: Keep {
            _server: Some(server),
            _holder: None,
        },
    })
}

/// Runs `ohx store hold --idle IDLE` in `env`, with `vars` given to that command only; returns
/// the holder's pid.
#[track_caller]
pub fn start_holder(env: &Env, idle: &str, vars: &[(&str, &str)]) -> u32 {
    let out = vars
        .iter()
        .fold(env.ohx(), |cmd, (name, value)| cmd.env(name, value))
        .args(["store", "hold", "--idle", idle, "--json"])
        .ok();
    let pid = out.json()["pid"].as_u64().unwrap_or(0) as u32;
    assert!(pid > 0, "hold --json gives the pid\n{out}");
    pid
}

/// A home on a fresh PostgreSQL database whose commands all run through `ohx store hold`'s held
/// connection, started before the first of them; `None` when the test skips.
pub fn postgres_held() -> Option<Store> {
    let Store { env, keep } = postgres()?;
    let runtime = crate::fixtures::runtime_dir(&env);
    let env = env.with_var("XDG_RUNTIME_DIR", runtime);
    let pid = start_holder(&env, "10m", &[]);
    Some(Store {
        env,
        keep: Keep {
            _holder: Some(Holder(pid)),
            ..keep
        },
    })
}

/// psql on `database`, as the server's role, quiet and unaligned, stopping at the first error;
/// the caller adds the SQL (`-c`, or stdin).
pub fn psql_command(server: &PgServer, database: &str) -> Command {
    let mut command = Command::new(server.tool("psql"));
    command
        .args([
            "-X",
            "-q",
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
        ])
        .args(["-p", &server.port.to_string(), "-U", &server.role])
        .args(["-d", database])
        .env_clear()
        .env("PGPASSWORD", &server.password);
    command
}

/// Runs `sql` in `database` with psql, as the server's role; returns what it printed.
#[track_caller]
pub fn psql(server: &PgServer, database: &str, sql: &str) -> String {
    let out = psql_command(server, database)
        .args(["-c", sql])
        .stdin(Stdio::null())
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// `pg_dump --data-only` of `database`: every row of every table, as text.
#[track_caller]
pub fn data_dump(server: &PgServer, database: &str) -> String {
    let out = Command::new(server.tool("pg_dump"))
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
        .args(["-U", &server.role, "--data-only", "-d", database])
        .env_clear()
        .env("PGPASSWORD", &server.password)
        .stdin(Stdio::null())
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A home with a `.pgpass` and a fresh database; the store is named with `--store`.
pub fn home_and_database(server: &PgServer) -> (Env, String, String) {
    let env = Env::new();
    write_pgpass(&env, server);
    let database = new_database(server);
    let url = url_of(server, &database);
    (env, database, url)
}

/// Runs `test` on a SQLite store, on a PostgreSQL store, and on one through held connections, as
/// three tests.
macro_rules! both {
    ($(#[$meta:meta])* fn $name:ident($store:ident: &Store) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($store: &crate::team_store::Store) $body

            #[test]
            fn sqlite() {
                run(&crate::team_store::sqlite());
            }

            #[test]
            fn postgres() {
                if let Some(store) = crate::team_store::postgres() {
                    run(&store);
                }
            }

            #[test]
            fn postgres_held() {
                if let Some(store) = crate::team_store::postgres_held() {
                    run(&store);
                }
            }
        }
    };
}
pub(crate) use both;
