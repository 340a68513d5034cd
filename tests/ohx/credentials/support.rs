//! What the credential tests share: [`require`] finds a real component (a shell, the Python venv
//! with the OpenHEXA SDK, PostgreSQL) or skips the test with a reason, failing instead under `CI`;
//! fixtures add typed connections whose secrets come from files, so every byte is exact.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::fixtures::{connection_add, gcs_key};
use crate::harness::{in_path, is_executable, is_root, random_canary, Env};

// The workspace and the readers of `connection env` are the whole suite's (see `fixtures`); the
// credential tests, and the ones built on them, import them from here too.
pub use crate::fixtures::{env_json, json_object, WS};

/// A real program a test needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Dash,
    Bash,
    Zsh,
    Fish,
    /// The PostgreSQL client.
    Psql,
    /// The PostgreSQL server binaries (initdb, pg_ctl, postgres, createdb); gives their folder.
    PostgresServer,
    /// The test venv's Python with `openhexa-sdk` and `python-dotenv` importable.
    Python,
    /// The `openssl` command, to make certificates.
    Openssl,
    /// The test venv's Python with the servers of the connection tests importable: moto's S3
    /// server with boto3, the GCS emulator, PyJWT and cryptography.
    ServerPython,
}

/// The path of `component` (for [`Component::PostgresServer`], the folder of its binaries), or
/// `None` after printing why the test is skipped. With `CI` set, a missing component fails the
/// test instead: CI installs everything with `.ci/setup`, so a skip there would hide a gap.
#[track_caller]
pub fn require(component: Component) -> Option<PathBuf> {
    match find(component) {
        Ok(path) => Some(path),
        Err(reason) => {
            crate::skip::skip(&format!(
                "{component:?} is missing: {reason} (install it with `bash .ci/setup`)"
            ));
            None
        }
    }
}

fn find(component: Component) -> Result<PathBuf, String> {
    match component {
        Component::Dash => executable_in_path("dash"),
        Component::Bash => executable_in_path("bash"),
        Component::Zsh => executable_in_path("zsh"),
        Component::Fish => executable_in_path("fish"),
        Component::Psql => executable_in_path("psql"),
        Component::PostgresServer => postgres_bin_dir(),
        // Importing the SDK takes a while: check once for the whole test binary.
        Component::Python => {
            static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
            PYTHON
                .get_or_init(|| venv_python("import openhexa.sdk, dotenv"))
                .clone()
        }
        Component::Openssl => executable_in_path("openssl"),
        Component::ServerPython => {
            static SERVERS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
            SERVERS
                .get_or_init(|| {
                    venv_python(
                        "import moto.server, boto3, gcp_storage_emulator, jwt, cryptography",
                    )
                })
                .clone()
        }
    }
}

/// `name` in the test process's `PATH`, as an executable file, or why not.
fn executable_in_path(name: &str) -> Result<PathBuf, String> {
    in_path(name).ok_or_else(|| format!("no executable `{name}` in PATH"))
}

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian), else the folder of `initdb` in PATH.
/// initdb refuses to run as root, so as root the `postgres` user and `runuser` must exist too.
fn postgres_bin_dir() -> Result<PathBuf, String> {
    let needed = ["initdb", "pg_ctl", "postgres", "createdb"];
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    candidates.sort();
    let found = candidates
        .into_iter()
        .rev()
        .map(|(_, dir)| dir)
        .chain(in_path("initdb").and_then(|p| p.parent().map(Path::to_path_buf)))
        .find(|dir| needed.iter().all(|n| is_executable(&dir.join(n))))
        .ok_or_else(|| {
            "no folder with initdb, pg_ctl, postgres and createdb (looked in /usr/lib/postgresql/*/bin and PATH)"
                .to_string()
        })?;
    if is_root() {
        executable_in_path("runuser")?;
        let known = Command::new("id")
            .args(["-u", "postgres"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !known {
            return Err("running as root, and there is no `postgres` user to run initdb as".into());
        }
    }
    Ok(found)
}

/// `OHX_TEST_PYTHON`, else `<crate>/.venv-test/bin/python`, if it runs `imports`.
fn venv_python(imports: &str) -> Result<PathBuf, String> {
    let python = std::env::var_os("OHX_TEST_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python"));
    if !is_executable(&python) {
        return Err(format!("no Python at {}", python.display()));
    }
    let out = Command::new(&python)
        .args(["-c", imports])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} cannot run `{imports}`: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(python)
}

/// Runs a real program (not ohx) with a clean environment: `PATH`, `HOME=<tmp>`, a UTF-8
/// locale, and `vars`; stdin is empty.
#[track_caller]
pub fn run_tool(env: &Env, program: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("HOME", env.root())
        .env("LC_ALL", "C.UTF-8")
        .envs(vars.iter().copied())
        .current_dir(env.root())
        .stdin(Stdio::null());
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

/// Like [`run_tool`], and asserts the program succeeded.
#[track_caller]
pub fn run_tool_ok(env: &Env, program: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let out = run_tool(env, program, args, vars);
    assert!(
        out.status.success(),
        "`{} {}` failed with {}\n--- stdout ---\n{}--- stderr ---\n{}",
        program.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes `bytes` to a fresh file under the test's folder and returns its path.
#[track_caller]
pub fn write_file(env: &Env, name: &str, bytes: &[u8]) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = env.root().join("files");
    std::fs::create_dir_all(&dir).expect("create files folder");
    let path = dir.join(format!(
        "{}-{name}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// A fresh empty folder under the test's folder.
#[track_caller]
pub fn fresh_dir(env: &Env, name: &str) -> PathBuf {
    let dir = env.root().join(name);
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Alice, admin of [`WS`], adds a connection: `plain` fields with `--set`, `secrets` with
/// `--secret CODE=file:PATH` so their bytes are stored exactly.
#[track_caller]
pub fn add_connection(
    env: &Env,
    kind: &str,
    id: &str,
    plain: &[(&str, &str)],
    secrets: &[(&str, &[u8])],
) {
    let mut cmd = connection_add(env, kind, id, plain);
    for (code, bytes) in secrets {
        let path = write_file(env, code, bytes);
        cmd = cmd
            .arg("--secret")
            .arg(format!("{code}=file:{}", path.display()));
    }
    cmd.ok();
}

/// Alice, admin of [`WS`], adds `lake`: a gcs connection to the bucket `hmis-lake` whose
/// service-account key is `key`.
#[track_caller]
pub fn add_gcs_lake(env: &Env, key: &str) {
    add_connection(
        env,
        "gcs",
        "lake",
        &[("bucket_name", "hmis-lake")],
        &[("service_account_key", key.as_bytes())],
    );
}

/// The secrets of the connections [`standard_connections`] adds, each a random canary.
pub struct Standard {
    pub pg_password: String,
    pub dhis2_password: String,
    pub s3_secret: String,
    pub gcs_key: String,
    pub kobo_token: String,
}

/// Alice, admin of [`WS`], with one connection of each kind the SDK reads:
/// - `warehouse` postgresql: db.example.org:6543, user `etl`, database `dwh`;
/// - `dhis2-prod` dhis2: https://play.dhis2.org/40, user `admin`;
/// - `archive` s3: bucket `hmis-archive`, key id `AKIAOHXTEST`;
/// - `lake` gcs: bucket `hmis-lake`, a multi-line key;
/// - `kobo` custom: plain `url`, secret `token`.
#[track_caller]
pub fn standard_connections(env: &Env) -> Standard {
    env.admin_with_workspace(WS);
    let standard = Standard {
        pg_password: format!("pg-{}", random_canary()),
        dhis2_password: format!("dhis2-{}", random_canary()),
        s3_secret: format!("s3-{}", random_canary()),
        gcs_key: gcs_key(&random_canary()),
        kobo_token: format!("kobo-{}", random_canary()),
    };
    add_connection(
        env,
        "postgresql",
        "warehouse",
        &[
            ("host", "db.example.org"),
            ("port", "6543"),
            ("username", "etl"),
            ("db_name", "dwh"),
        ],
        &[("password", standard.pg_password.as_bytes())],
    );
    add_connection(
        env,
        "dhis2",
        "dhis2-prod",
        &[("url", "https://play.dhis2.org/40"), ("username", "admin")],
        &[("password", standard.dhis2_password.as_bytes())],
    );
    add_connection(
        env,
        "s3",
        "archive",
        &[
            ("bucket_name", "hmis-archive"),
            ("access_key_id", "AKIAOHXTEST"),
        ],
        &[("access_key_secret", standard.s3_secret.as_bytes())],
    );
    add_gcs_lake(env, &standard.gcs_key);
    add_connection(
        env,
        "custom",
        "kobo",
        &[("url", "https://kf.kobotoolbox.org")],
        &[("token", standard.kobo_token.as_bytes())],
    );
    standard
}

/// Alice, admin of [`WS`], with one custom connection `kobo` (plain `url`, secret `token`, read
/// from stdin as `printf '%s\n' "$TOKEN" | ohx ...` gives it), the least a `run` test needs.
/// Returns the token.
#[track_caller]
pub fn one_connection(env: &Env) -> String {
    env.admin_with_workspace(WS);
    let token = random_canary();
    connection_add(
        env,
        "custom",
        "kobo",
        &[("url", "https://kf.kobotoolbox.org")],
    )
    .args(["--secret", "token=-"])
    .stdin(format!("{token}\n"))
    .ok();
    token
}

/// Waits up to ten seconds for `path` to exist.
pub fn wait_for(path: &Path) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        if path.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}
