//! A small builder for running the real `ohx` binary against a temporary home, in the style of
//! `just`'s integration tests.
//!
//! Every child starts from an empty environment: the machine running the tests may export
//! `RUST_BACKTRACE`, `OHX_*` or a real `HOME`, and none of that must leak into a test. A child gets
//! only `PATH`, `HOME=<tmp>`, `OHX_HOME=<tmp>/home`, `USER` and whatever the test adds. Its stdin
//! is never a terminal (empty unless the test gives bytes or keeps a pipe open), so ohx must never
//! wait for a person; a child that runs longer than [`TIMEOUT`] is killed and the test fails
//! instead of hanging.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The longest a single ohx command may run before the test gives up on it.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The person `Env::ohx` acts as; their identity is the default one, `<home>/identity.txt`.
pub const DEFAULT_PERSON: &str = "alice";

/// A temporary folder holding one ohx home and the identities of everyone in a test.
pub struct Env {
    dir: TempDir,
    /// Variables every command run in this home gets (the team-store tests set `OHX_STORE`).
    vars: Vec<(String, OsString)>,
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

impl Env {
    /// A fresh temporary folder; `OHX_HOME` is `<tmp>/home`, which does not exist yet.
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("ohx-test-")
            .tempdir()
            .expect("cannot create a temporary folder");
        Env {
            dir,
            vars: Vec::new(),
        }
    }

    /// This home, with `name=value` given to every command run in it.
    pub fn with_var(mut self, name: &str, value: impl Into<OsString>) -> Env {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// The value this home gives every command for `name`, if any.
    pub fn var(&self, name: &str) -> Option<&OsStr> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_os_str())
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `<tmp>/home`, ohx's `OHX_HOME`.
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// The default store, `<tmp>/home/ohx.db`.
    pub fn store(&self) -> PathBuf {
        self.home().join("ohx.db")
    }

    /// The identity file a person's commands use: the default one for alice, and
    /// `<tmp>/people/<person>/identity.txt` for everyone else.
    pub fn identity_of(&self, person: &str) -> PathBuf {
        if person == DEFAULT_PERSON {
            self.home().join("identity.txt")
        } else {
            self.root().join("people").join(person).join("identity.txt")
        }
    }

    /// Runs ohx as alice, with the default identity.
    pub fn ohx(&self) -> Cmd {
        let cmd = Cmd::new(env!("CARGO_BIN_EXE_ohx"))
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("HOME", self.root())
            .env("OHX_HOME", self.home())
            .env("USER", DEFAULT_PERSON);
        self.vars
            .iter()
            .fold(cmd, |cmd, (name, value)| cmd.env(name, value))
    }

    /// Runs ohx as `person`: same store, but their own identity file and `USER`.
    pub fn ohx_as(&self, person: &str) -> Cmd {
        if person == DEFAULT_PERSON {
            return self.ohx();
        }
        self.ohx()
            .env("OHX_IDENTITY", self.identity_of(person))
            .env("USER", person)
    }

    /// Registers `name` (`ohx init --name NAME`, creating their identity) and returns their
    /// recipient, as `ohx whoami --recipient` prints it.
    #[track_caller]
    pub fn person(&self, name: &str) -> String {
        self.ohx_as(name).args(["init", "--name", name]).ok();
        let out = self.ohx_as(name).args(["whoami", "--recipient"]).ok();
        let recipient = out.stdout.trim().to_string();
        assert!(
            recipient.starts_with("age1"),
            "`whoami --recipient` printed {:?}",
            out.stdout
        );
        recipient
    }

    /// Alice registers and creates the workspace `slug` (named after it), so she is its admin.
    #[track_caller]
    pub fn admin_with_workspace(&self, slug: &str) {
        self.person(DEFAULT_PERSON);
        self.ohx()
            .args(["workspace", "create", slug, "--slug", slug])
            .ok();
    }
}

/// What a child's stdin is.
#[derive(Debug, Clone)]
enum Stdin {
    /// `/dev/null`.
    Null,
    /// A pipe that gets these bytes, then closes.
    Bytes(Vec<u8>),
    /// A pipe left to the test in [`Child::stdin`], open until the test drops it.
    KeptOpen,
}

/// One command line to run, built step by step.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Stdin,
    /// `(shell, script)`: run `shell -c script PROGRAM ARGS...`, so the script sees ohx as `$0`
    /// and its arguments as `"$@"`.
    shell: Option<(OsString, String)>,
}

impl Cmd {
    fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: Stdin::Null,
            shell: None,
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Self {
        self.env.retain(|(name, _)| name != k);
        self.env.push((k.into(), Some(v.as_ref().to_owned())));
        self
    }

    pub fn env_remove(mut self, k: &str) -> Self {
        self.env.retain(|(name, _)| name != k);
        self.env.push((k.into(), None));
        self
    }

    /// Bytes for the child's stdin (a pipe). Without this, stdin is `/dev/null`.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Stdin::Bytes(bytes.into());
        self
    }

    /// Stdin a pipe that [`Cmd::spawn`] leaves open in the child's `stdin`, for the test to write
    /// to or to keep silent: a prompt would wait on it.
    pub fn stdin_kept_open(mut self) -> Self {
        self.stdin = Stdin::KeptOpen;
        self
    }

    /// Runs ohx through `shell -c script`, where the script calls ohx as `"$0" "$@"`; for
    /// pipelines and redirections, e.g. `.shell("sh", r#"exec "$0" "$@" > /dev/full"#)`.
    pub fn shell(mut self, shell: &str, script: &str) -> Self {
        self.shell = Some((shell.into(), script.into()));
        self
    }

    /// Runs ohx under `umask MASK` (through `sh`), e.g. `.umask("000")`.
    pub fn umask(self, mask: &str) -> Self {
        self.shell("sh", &format!(r#"umask {mask}; exec "$0" "$@""#))
    }

    /// The command line, for failure messages.
    pub fn describe(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        if let Some((shell, script)) = &self.shell {
            words.push(shell.to_string_lossy().into_owned());
            words.push("-c".into());
            words.push(format!("{script:?}"));
        }
        words.push("ohx".into());
        words.extend(self.args.iter().map(|a| a.to_string_lossy().into_owned()));
        words.join(" ")
    }

    fn command(&self) -> Command {
        let mut command = match &self.shell {
            Some((shell, script)) => {
                let mut c = Command::new(shell);
                c.arg("-c").arg(script).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        command.args(&self.args).env_clear();
        for (name, value) in &self.env {
            match value {
                Some(v) => command.env(name, v),
                None => command.env_remove(name),
            };
        }
        command
            .stdin(match self.stdin {
                Stdin::Null => Stdio::null(),
                Stdin::Bytes(_) | Stdin::KeptOpen => Stdio::piped(),
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Starts the command and returns at once (for concurrency tests); stdout and stderr are
    /// pipes, collect them with [`Outcome::of`].
    #[track_caller]
    pub fn spawn(self) -> Child {
        let mut child = self
            .command()
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", self.describe()));
        // A kept-open stdin stays in `child.stdin`, for the test.
        if let Stdin::Bytes(bytes) = self.stdin {
            if let Some(mut pipe) = child.stdin.take() {
                // A child that exits without reading its stdin makes this fail; that is its right.
                std::thread::spawn(move || {
                    let _ = pipe.write_all(&bytes);
                });
            }
        }
        child
    }

    /// Runs the command to its end (at most [`TIMEOUT`]) and collects its status and output.
    #[track_caller]
    pub fn run(self) -> Outcome {
        let described = self.describe();
        let child = self.spawn();
        Outcome::wait(child, &described)
    }

    /// Runs the command and asserts it succeeded.
    #[track_caller]
    pub fn ok(self) -> Outcome {
        let described = self.describe();
        let out = self.run();
        assert!(
            out.status == 0,
            "`{described}` failed with status {}\n{out}",
            out.status
        );
        out
    }

    /// Runs the command and asserts it failed with exactly `status`, printing one clean error.
    #[track_caller]
    pub fn fails(self, status: i32) -> Outcome {
        let described = self.describe();
        let out = self.run();
        assert!(
            out.status == status,
            "`{described}`: expected status {status}, got {}\n{out}",
            out.status
        );
        out.assert_clean_error(&described);
        out
    }

    /// Runs the command and asserts it failed (any non-zero status), printing one clean error.
    #[track_caller]
    pub fn fails_somehow(self) -> Outcome {
        let described = self.describe();
        let out = self.run();
        assert!(
            out.status != 0,
            "`{described}`: expected a failure, got status 0\n{out}"
        );
        out.assert_clean_error(&described);
        out
    }
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit status; 128+N when the process was killed by signal N.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.stdout, self.stderr
        )
    }
}

impl Outcome {
    /// Waits for a spawned child (at most [`TIMEOUT`], then kills it and fails the test) and
    /// collects its output. `what` names the command in failure messages.
    #[track_caller]
    pub fn wait(mut child: Child, what: &str) -> Outcome {
        // Read both pipes while waiting, so a chatty child never blocks on a full pipe.
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("`{what}` still ran after {TIMEOUT:?}; killed it");
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) => panic!("cannot wait for `{what}`: {e}"),
            }
        };
        let collect = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
            h.map(|h| h.join().unwrap_or_default())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        Outcome {
            status: code_of(status),
            stdout: collect(stdout),
            stderr: collect(stderr),
        }
    }

    /// Like [`Outcome::wait`], for a child from [`Cmd::spawn`].
    #[track_caller]
    pub fn of(child: Child) -> Outcome {
        Outcome::wait(child, "spawned ohx")
    }

    /// Stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{self}"))
    }

    /// The error is one `error: ...` line (optionally a `hint:`), with no panic or backtrace.
    #[track_caller]
    pub fn assert_clean_error(&self, what: &str) {
        assert!(
            self.stderr.starts_with("error: "),
            "`{what}`: stderr does not start with `error: `\n{self}"
        );
        for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(
                !self.stderr.contains(bad),
                "`{what}`: stderr contains {bad:?}\n{self}"
            );
        }
    }
}

/// Waits for a child whose stdin is still open; failing the test if it is still running after
/// `limit` (it would be waiting for input that no terminal can give).
#[track_caller]
pub fn finishes_within(mut child: Child, limit: Duration, what: &str) -> Outcome {
    let started = Instant::now();
    while child.try_wait().expect("wait for ohx").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` still waited for input after {limit:?} without a terminal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Outcome::wait(child, what)
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn code_of(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// A random secret-like string to search for where it must never appear.
pub fn random_canary() -> String {
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("cannot read /dev/urandom");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("canary-{hex}")
}

/// Random bytes, from `/dev/urandom`.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("cannot read /dev/urandom");
    bytes
}

/// The permission bits of `path` (following a symbolic link).
#[track_caller]
pub fn file_mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Sets the permission bits of `path`.
#[track_caller]
pub fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

/// Whether the tests run as root (CI does): root ignores permission bits.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether `path` is a file someone may execute.
pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `name` in the test process's `PATH`, as an executable file.
pub fn in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}
