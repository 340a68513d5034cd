//! A real PostgreSQL server for the tests that need one (`credentials::postgres`,
//! `connection_test::postgres`): one login role and one database whose names and password need
//! quoting and percent-encoding, optionally TLS-only with a certificate from a CA the test makes
//! (`crate::test_certs`).
//!
//! Each kind of server is started once, shared while several tests run, and stopped (`pg_ctl
//! stop -m immediate`) when the last one drops its handle, even after a failure. initdb refuses
//! to run as root, so as root (CI) the data folder belongs to the `postgres` user and the server
//! binaries run through `runuser`.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Weak};

use tempfile::TempDir;

use crate::harness::{is_root, random_canary};

/// Where `runuser` and the server's helpers are found (the test's own PATH may lack sbin).
const SYSTEM_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Whether the server speaks TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP only (`ssl = off`).
    Plain,
    /// TLS only: `hostssl` lines in pg_hba.conf, with a certificate for `localhost` and
    /// 127.0.0.1 issued by a CA made for the test ([`PgServer::ca_file`]).
    TlsOnly,
}

/// One running server with one login role and one database.
pub struct PgServer {
    bin: PathBuf,
    dir: TempDir,
    as_postgres: bool,
    pub port: u16,
    pub role: String,
    pub password: String,
    pub database: String,
}

/// The servers the running tests share; the last handle dropped stops each.
static PLAIN: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());
static TLS_ONLY: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());

/// The shared server of kind `transport`, started if none runs.
pub fn shared(bin: &Path, transport: Transport) -> Arc<PgServer> {
    let slot = match transport {
        Transport::Plain => &PLAIN,
        Transport::TlsOnly => &TLS_ONLY,
    };
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = slot.upgrade() {
        return server;
    }
    let server = Arc::new(PgServer::start(bin, transport));
    *slot = Arc::downgrade(&server);
    server
}

impl PgServer {
    fn start(bin: &Path, transport: Transport) -> PgServer {
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
        server.chown_to_postgres(&[&data, &sockets, &pwfile]);
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
        // Room for the sixteen concurrent writers of `team_store::faults` and the tests beside them.
        let mut settings = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             fsync = off\nmax_connections = 50\nshared_buffers = 16MB\n",
            sockets.display()
        );
        if transport == Transport::TlsOnly {
            let (cert, key) = server.make_certificates();
            settings.push_str(&format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                cert.display(),
                key.display()
            ));
            // Only encrypted sessions may log in, from anywhere.
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all scram-sha-256\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n\
                 hostssl all all ::1/128 scram-sha-256\n",
            )
            .expect("write pg_hba.conf");
        }
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("read postgresql.conf");
        text.push_str(&settings);
        std::fs::write(&conf, text).expect("write postgresql.conf");
        server.start_again();
        // From here on, dropping `server` stops it.
        server.create_database(&server.database);
        server
    }

    /// A plain server of the test's own, which it may stop and start again: a server that goes
    /// away must not take the shared one from the tests running beside it.
    pub fn private(bin: &Path) -> PgServer {
        PgServer::start(bin, Transport::Plain)
    }

    /// Starts the (stopped) server, waiting until it takes connections.
    #[track_caller]
    pub fn start_again(&self) {
        let data = self.dir.path().join("data");
        let log = data.join("server.log");
        self.pg(
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
    }

    /// Stops the server at once, as a crash would: no session is let finish (`-m immediate`).
    pub fn stop_immediately(&self) {
        let _ = self
            .program("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["stop", "-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Creates the database `name`, owned by the server's role.
    #[track_caller]
    pub fn create_database(&self, name: &str) {
        let created = Command::new(self.tool("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                &self.role,
            ])
            .args(["--maintenance-db=postgres", "--", name])
            .env_clear()
            .env("PGPASSWORD", &self.password)
            .env("PGSSLMODE", "prefer")
            .stdin(Stdio::null())
            .output()
            .expect("run createdb");
        assert!(
            created.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
    }

    /// One of the server's client programs (psql, pg_dump, createdb), run as the test's user.
    pub fn tool(&self, program: &str) -> PathBuf {
        self.bin.join(program)
    }

    /// The CA certificate that issued a TLS-only server's certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls").join("ca.crt")
    }

    /// The test CA's certificate and key for a TLS-only server (`crate::test_certs`), the key
    /// readable by the server only. Returns the server's certificate and key files.
    fn make_certificates(&self) -> (PathBuf, PathBuf) {
        let tls = self.dir.path().join("tls");
        std::fs::create_dir(&tls).expect("create the tls folder");
        let certs = crate::test_certs::issue(&tls);
        std::fs::set_permissions(&tls, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the tls folder");
        self.chown_to_postgres(&[&certs.cert, &certs.key]);
        (certs.cert, certs.key)
    }

    /// Gives `paths` to the postgres user when the server runs as it.
    fn chown_to_postgres(&self, paths: &[&Path]) {
        if !self.as_postgres {
            return;
        }
        let status = Command::new("chown")
            .args(["-R", "postgres:"])
            .args(paths)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown to postgres failed");
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
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop_immediately();
    }
}
