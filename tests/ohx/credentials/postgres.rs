//! A real PostgreSQL server accepts the stored credentials: `psql` under `ohx run` (libpq reads
//! PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) and `psql "$(ohx connection url ...)"`, with a
//! role and a database whose names and password need quoting and percent-encoding.
//!
//! The server is started by the tests, shared while several of them run, and stopped (`pg_ctl
//! stop -m immediate`) when the last one drops its handle, even after a failure. initdb refuses
//! to run as root, so as root (CI) the data folder belongs to the `postgres` user and the server
//! binaries run through `runuser`.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Weak};

use tempfile::TempDir;

use crate::harness::{is_root, random_canary, Env};

use super::support::{add_connection, require, Component, WS};

/// Where `runuser` and the server's helpers are found (the test's own PATH may lack sbin).
const SYSTEM_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// One running server with one login role and one database.
struct PgServer {
    bin: PathBuf,
    dir: TempDir,
    as_postgres: bool,
    port: u16,
    role: String,
    password: String,
    database: String,
}

/// The server the running tests share; the last handle dropped stops it.
static SERVER: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());

fn server(bin: &Path) -> Arc<PgServer> {
    let mut slot = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = slot.upgrade() {
        return server;
    }
    let server = Arc::new(PgServer::start(bin));
    *slot = Arc::downgrade(&server);
    server
}

impl PgServer {
    fn start(bin: &Path) -> PgServer {
        let dir = tempfile::Builder::new()
            .prefix("ohx-pg-")
            .tempdir()
            .expect("create a folder for PostgreSQL");
        // The postgres user must reach the data and socket folders inside.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod the PostgreSQL folder");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("find a free port")
            .port();
        let server = PgServer {
            bin: bin.to_path_buf(),
            dir,
            as_postgres: is_root(),
            port,
            // `@`, `:`, `/`, `%` and both quotes: every character a URL or a shell gets wrong.
            role: "etl@ohx".into(),
            password: format!("p@ss:w/rd%'\"{}", random_canary()),
            database: "dwh 2024/é".into(),
        };
        let data = server.dir.path().join("data");
        let sockets = server.dir.path().join("sockets");
        let pwfile = server.dir.path().join("pwfile");
        for folder in [&data, &sockets] {
            std::fs::create_dir(folder).expect("create a PostgreSQL folder");
        }
        std::fs::write(&pwfile, format!("{}\n", server.password)).expect("write the pwfile");
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o600))
            .expect("chmod the pwfile");
        if server.as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:"])
                .args([&data, &sockets, &pwfile])
                .status()
                .expect("run chown");
            assert!(status.success(), "chown to postgres failed");
        }
        server.pg(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                server.role.as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "--auth=scram-sha-256".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--no-locale".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        let settings = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             fsync = off\nmax_connections = 20\nshared_buffers = 16MB\n",
            sockets.display()
        );
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("read postgresql.conf");
        text.push_str(&settings);
        std::fs::write(&conf, text).expect("write postgresql.conf");
        let log = data.join("server.log");
        server.pg(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        );
        // From here on, dropping `server` stops it.
        let port = port.to_string();
        let created = Command::new(bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", &server.role])
            .args(["--maintenance-db=postgres", "--", &server.database])
            .env_clear()
            .env("PGPASSWORD", &server.password)
            .stdin(Stdio::null())
            .output()
            .expect("run createdb");
        assert!(
            created.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        server
    }

    /// One of the server's programs, to run as the postgres user when we are root, in the
    /// server's folder with only [`SYSTEM_PATH`] and an empty stdin.
    fn program(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        command
            .env_clear()
            .env("PATH", SYSTEM_PATH)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        command
    }

    /// Runs one of the server's programs, which must succeed.
    #[track_caller]
    fn pg(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let out = self
            .program(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Alice, admin of [`WS`], stores this server as the connection `warehouse`.
    fn add_as_warehouse(&self, env: &Env) {
        env.admin_with_workspace(WS);
        add_connection(
            env,
            "postgresql",
            "warehouse",
            &[
                ("host", "127.0.0.1"),
                ("port", &self.port.to_string()),
                ("username", &self.role),
                ("db_name", &self.database),
            ],
            &[("password", self.password.as_bytes())],
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self
            .program("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["stop", "-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The shared server, `psql`, and a fresh home where alice stores the server as `warehouse`; or
/// `None` (the test skips) without PostgreSQL.
fn warehouse_on_the_server() -> Option<(Arc<PgServer>, PathBuf, Env)> {
    let (Some(bin), Some(psql)) = (require(Component::PostgresServer), require(Component::Psql))
    else {
        return None;
    };
    let server = server(&bin);
    let env = Env::new();
    server.add_as_warehouse(&env);
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
