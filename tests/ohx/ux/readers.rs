//! The real readers of `.env` files, found here or skipped with a reason (a failure under `CI`):
//! `.ci/setup` installs them all (direnv from Debian, node's `dotenv` package into
//! `target/test-node/`, python-dotenv into `.venv-test/`; the docker CLI when the distribution
//! has it).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use crate::fixtures::parse_env0;
use crate::harness::{in_path, is_executable, Env};
use crate::skip::skip;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A program in PATH, or `None` after reporting the skip.
pub fn program(name: &str) -> Option<PathBuf> {
    let found = in_path(name);
    if found.is_none() {
        skip(&format!(
            "{name} is missing: no executable `{name}` in PATH (install it with `bash .ci/setup`)"
        ));
    }
    found
}

/// The test venv's Python, if it imports python-dotenv.
pub fn python() -> Option<PathBuf> {
    let python = std::env::var_os("OHX_TEST_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join(".venv-test/bin/python"));
    let imports = is_executable(&python)
        && Command::new(&python)
            .args(["-c", "import dotenv"])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success());
    if !imports {
        skip(&format!(
            "python-dotenv is missing: {} cannot import dotenv (install it with `bash .ci/setup`)",
            python.display()
        ));
        return None;
    }
    Some(python)
}

/// node and the folder of node's `dotenv` package (`target/test-node/node_modules/dotenv`).
pub fn node_dotenv() -> Option<(PathBuf, PathBuf)> {
    let node = program("node")?;
    let module = crate_dir().join("target/test-node/node_modules/dotenv");
    if !module.join("package.json").is_file() {
        skip(&format!(
            "node's dotenv package is missing: no {} (install it with `bash .ci/setup`)",
            module.display()
        ));
        return None;
    }
    Some((node, module))
}

/// Runs a reader with an empty environment but `PATH`, `HOME=<tmp>` and `extra`.
#[track_caller]
pub fn run(env: &Env, program: &Path, args: &[&str], extra: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.root())
        .env("LC_ALL", "C.UTF-8")
        .current_dir(env.root())
        .stdin(Stdio::null());
    for (name, value) in extra {
        command.env(name, value);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
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

/// A JSON object of strings printed by a reader.
#[track_caller]
pub fn json_object(out: &Output) -> BTreeMap<String, String> {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the reader printed no JSON object of strings: {e}\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// What `env -0` printed, as text.
pub fn env0(out: &Output) -> BTreeMap<String, String> {
    parse_env0(&out.stdout)
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

/// A stand-in for the docker daemon on a unix socket: it answers the CLI's version check and
/// records the body of `POST .../containers/create`, which holds the environment the CLI read
/// from `--env-file`, then refuses to create anything. The parsing under test is the docker
/// CLI's own; only the daemon, which never sees the file, is replaced.
pub struct DockerStub {
    pub socket: PathBuf,
    created: Arc<Mutex<Option<serde_json::Value>>>,
}

impl DockerStub {
    pub fn start(dir: &Path) -> DockerStub {
        let socket = dir.join("docker.sock");
        let listener = UnixListener::bind(&socket).expect("bind the docker stub");
        let created = Arc::new(Mutex::new(None));
        let record = Arc::clone(&created);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let record = Arc::clone(&record);
                std::thread::spawn(move || serve_one(stream, &record));
            }
        });
        DockerStub { socket, created }
    }

    /// The `Env` list of the container the CLI asked to create, as a map.
    pub fn created_env(&self) -> Option<BTreeMap<String, String>> {
        let body = self.created.lock().ok()?.clone()?;
        let list = body.get("Env")?.as_array()?.clone();
        Some(
            list.iter()
                .filter_map(|e| e.as_str()?.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

fn serve_one(stream: std::os::unix::net::UnixStream, record: &Mutex<Option<serde_json::Value>>) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = request_line.split(' ').nth(1).unwrap_or_default();
        let (status, reply) = if path.ends_with("/_ping") {
            ("200 OK", "OK".to_string())
        } else if path.contains("/containers/create") {
            if let Ok(mut slot) = record.lock() {
                *slot = serde_json::from_slice(&body).ok();
            }
            (
                "500 Internal Server Error",
                r#"{"message":"stub daemon: request recorded"}"#.to_string(),
            )
        } else {
            ("404 Not Found", r#"{"message":"stub daemon"}"#.to_string())
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nApi-Version: 1.41\r\nOstype: linux\r\nDocker-Experimental: false\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        );
        if writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(reply.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}
