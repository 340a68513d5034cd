//! `ohx unlock` and `ohx lock`: a passphrase asked once, then later commands served by the agent;
//! the key never on disk, the passphrase nowhere in the agent, other users refused, the agent
//! bound to the identity file it unlocked, gone after `--for` or `ohx lock`.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::fixtures::runtime_dir;
use crate::harness::{file_mode, is_root, random_canary, set_mode, Env, DEFAULT_PERSON};
use crate::skip::skip;

/// Alice with a passphrase-protected identity (a low scrypt work factor, so tests stay fast),
/// registered in a store; the runtime folder is the test's own.
struct Locked {
    env: Env,
    passphrase: String,
    /// The secret key, `AGE-SECRET-KEY-1...`, to look for where it must never be.
    key: String,
}

impl Locked {
    fn new() -> Locked {
        let env = Env::new();
        let passphrase = random_canary();
        let key = write_protected_identity(&env.identity_of(DEFAULT_PERSON), &passphrase);
        runtime_dir(&env);
        let fx = Locked {
            env,
            passphrase,
            key,
        };
        fx.ohx()
            .env("OHX_PASSPHRASE", &fx.passphrase)
            .args(["init", "--name", "alice"])
            .ok();
        fx
    }

    /// ohx as alice, with the test's runtime folder and no passphrase.
    fn ohx(&self) -> crate::harness::Cmd {
        self.env
            .ohx()
            .env("XDG_RUNTIME_DIR", runtime_dir(&self.env))
    }

    fn unlock(&self, args: &[&str]) -> crate::harness::Outcome {
        self.ohx()
            .env("OHX_PASSPHRASE", &self.passphrase)
            .arg("unlock")
            .args(args)
            .ok()
    }

    /// The agent sockets in the runtime folder.
    fn sockets(&self) -> Vec<PathBuf> {
        std::fs::read_dir(runtime_dir(&self.env).join("ohx"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with(".sock"))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[track_caller]
    fn socket(&self) -> PathBuf {
        let sockets = self.sockets();
        assert_eq!(sockets.len(), 1, "agent sockets: {sockets:?}");
        sockets[0].clone()
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        let _ = self.ohx().arg("lock").run();
    }
}

/// Writes an age-scrypt protected identity at `path` (0600); returns its secret key text.
fn write_protected_identity(path: &Path, passphrase: &str) -> String {
    use age::armor::{ArmoredWriter, Format};
    let key = age::x25519::Identity::generate();
    let secret = key.to_string().expose_secret().to_string();
    let text = format!("# created by the ohx tests\n{secret}\n");
    let mut scrypt = age::scrypt::Recipient::new(SecretString::from(passphrase.to_string()));
    scrypt.set_work_factor(10);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&scrypt as &dyn age::Recipient)).unwrap();
    let mut armored = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut armored, Format::AsciiArmor).unwrap();
    let mut writer = encryptor.wrap_output(armor).unwrap();
    writer.write_all(text.as_bytes()).unwrap();
    writer.finish().and_then(|a| a.finish()).unwrap();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path.parent().unwrap())
        .unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(&armored))
        .unwrap();
    secret
}

/// One request to the agent's socket, as ohx sends it; the reply line ("" when it hangs up).
fn ask(socket: &Path, request: &str) -> String {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(format!("{request}\n").as_bytes()).unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
}

/// `(pid, dumpable)` from the agent's STATUS.
fn status(socket: &Path) -> (u32, bool) {
    let reply = ask(socket, "STATUS");
    let words: Vec<&str> = reply.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"UNLOCKED"), "{reply}");
    let pid = words[2].trim_start_matches("pid=").parse().unwrap();
    (pid, words[3] == "dumpable=1")
}

/// The kB of process `pid`'s memory locked against swapping (`VmLck`).
fn locked_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if meta.is_file()
            && std::fs::read(&path)
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            found.push(path);
        }
    }
    found
}

#[test]
fn after_unlock_commands_need_no_passphrase_until_lock() {
    let fx = Locked::new();
    fx.ohx().arg("whoami").fails(5);
    let out = fx.unlock(&["--for", "10m"]);
    assert!(out.stdout.contains("unlocked"), "{out}");
    assert!(out.stdout.contains("for 10m"), "{out}");
    assert_eq!(file_mode(&fx.socket()), 0o600);
    assert_eq!(file_mode(&runtime_dir(&fx.env).join("ohx")), 0o700);

    let whoami = fx.ohx().args(["whoami", "--recipient"]).ok();
    assert!(whoami.stdout.starts_with("age1"), "{whoami}");
    fx.ohx().args(["workspace", "create", "Malaria"]).ok();
    fx.ohx().args(["workspace", "list"]).ok();

    let lock = fx.ohx().arg("lock").ok();
    assert!(lock.stdout.contains("locked"), "{lock}");
    assert!(fx.sockets().is_empty(), "the socket is still there");
    let again = fx.ohx().arg("whoami").fails(5);
    assert!(again.stderr.contains("passphrase"), "{again}");
    let nothing = fx.ohx().arg("lock").ok();
    assert!(nothing.stdout.contains("nothing to lock"), "{nothing}");
    for out in [&out, &whoami, &lock, &again] {
        assert!(!out.stderr.contains(&fx.passphrase) && !out.stdout.contains(&fx.passphrase));
        assert!(!out.stderr.contains(&fx.key) && !out.stdout.contains(&fx.key));
    }
}

#[test]
fn the_agent_holds_the_key_only_in_memory_and_never_the_passphrase() {
    let fx = Locked::new();
    fx.unlock(&[]);
    let socket = fx.socket();
    let (pid, dumpable) = status(&socket);
    assert!(!dumpable, "the agent is dumpable");
    // It says truly whether its memory is locked against swapping; where the kernel allows the
    // lock (root here, as in CI; a large `ulimit -l`), it is.
    let says_locked = ask(&socket, "STATUS").contains("locked=1");
    assert_eq!(says_locked, locked_kb(pid) > 0, "STATUS and VmLck disagree");
    if crate::harness::is_root() {
        assert!(says_locked, "the agent did not lock its memory as root");
    }
    // The key and the passphrase are in no file of the test: home, identity folder, runtime.
    for secret in [&fx.key, &fx.passphrase] {
        let found = files_containing(fx.env.root(), secret);
        assert!(found.is_empty(), "a secret is on disk: {found:?}");
    }
    // The agent was started with neither on its command line nor in its environment.
    for what in ["environ", "cmdline"] {
        let bytes = std::fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&fx.passphrase),
            "the passphrase is in /proc/{pid}/{what}"
        );
        assert!(!text.contains(&fx.key), "the key is in /proc/{pid}/{what}");
        assert!(
            !text.contains("OHX_PASSPHRASE"),
            "/proc/{pid}/{what}: {text}"
        );
    }
}

#[test]
fn the_agent_serves_only_the_identity_file_it_unlocked() {
    let fx = Locked::new();
    fx.unlock(&[]);
    fx.ohx().arg("whoami").ok();
    // The same path, other bytes (a user re-protected or replaced the file): asked again.
    let path = fx.env.identity_of(DEFAULT_PERSON);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&path, bytes).unwrap();
    let out = fx.ohx().arg("whoami").fails(5);
    assert!(out.stderr.contains("passphrase"), "{out}");
    assert_eq!(ask(&fx.socket(), "KEY 0000"), "NO\n");
}

#[test]
fn the_agent_ends_when_its_time_is_up() {
    let fx = Locked::new();
    fx.unlock(&["--for", "2s"]);
    fx.ohx().arg("whoami").ok();
    std::thread::sleep(Duration::from_millis(3500));
    assert!(fx.sockets().is_empty(), "the socket outlived --for");
    fx.ohx().arg("whoami").fails(5);
}

#[test]
fn the_agent_refuses_another_user_on_its_socket() {
    if !is_root() {
        skip("needs root, to connect as another user (CI runs as root)");
        return;
    }
    let Some(setpriv) = crate::harness::in_path("setpriv") else {
        skip("setpriv is missing (util-linux; install it with `bash .ci/setup`)");
        return;
    };
    // The system's Python: one under root's home is out of the stranger's reach.
    let python = Path::new("/usr/bin/python3");
    if !crate::harness::is_executable(python) {
        skip("/usr/bin/python3 is missing (install python3 with `bash .ci/setup`)");
        return;
    }
    let fx = Locked::new();
    fx.unlock(&[]);
    let socket = fx.socket();
    // Open the way as wide as a careless chmod would: only the agent's own check is left.
    set_mode(fx.env.root(), 0o755);
    set_mode(&runtime_dir(&fx.env), 0o755);
    set_mode(&runtime_dir(&fx.env).join("ohx"), 0o755);
    set_mode(&socket, 0o666);
    // Connecting works (the file allows it); the agent then hangs up without a word.
    let script = "import socket, sys\n\
                  s = socket.socket(socket.AF_UNIX)\n\
                  s.connect(sys.argv[1])\n\
                  s.settimeout(5)\n\
                  try:\n    s.sendall(b'STATUS\\n'); reply = s.recv(4096)\n\
                  except OSError:\n    reply = b''\n\
                  print(repr(reply))\n";
    let out = std::process::Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(python)
        .args(["-c", script])
        .arg(&socket)
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the stranger could not even connect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "b''", "the agent answered another user");
    // Its own user is still served.
    assert!(ask(&socket, "STATUS").starts_with("UNLOCKED"));
}

#[test]
fn unlock_asks_the_passphrase_and_a_wrong_one_starts_no_agent() {
    let fx = Locked::new();
    let out = fx
        .ohx()
        .env("OHX_PASSPHRASE", "not the passphrase")
        .arg("unlock")
        .fails(5);
    assert!(out.stderr.contains("wrong passphrase"), "{out}");
    assert!(fx.sockets().is_empty());
    fx.ohx().arg("unlock").fails(5);
    assert!(fx.sockets().is_empty());
}

#[test]
fn unlock_of_an_identity_without_passphrase_says_there_is_nothing_to_do() {
    let env = Env::new();
    env.person(DEFAULT_PERSON);
    let out = env
        .ohx()
        .env("XDG_RUNTIME_DIR", runtime_dir(&env))
        .arg("unlock")
        .ok();
    assert!(out.stdout.contains("nothing to unlock"), "{out}");
    assert!(!runtime_dir(&env).join("ohx").exists());
}

#[test]
fn a_bad_duration_is_a_usage_error_and_the_agent_cannot_be_started_by_hand() {
    let fx = Locked::new();
    for bad in ["8", "forever", "0s", "8w", "30d"] {
        let out = fx
            .ohx()
            .env("OHX_PASSPHRASE", &fx.passphrase)
            .args(["unlock", "--for", bad])
            .fails(2);
        assert!(out.stderr.contains("hint: "), "{out}");
    }
    let elsewhere = fx.env.root().join("agent-x.sock");
    fx.ohx()
        .arg("agent")
        .arg("--socket")
        .arg(&elsewhere)
        .args(["--seconds", "5"])
        .fails(2);
    assert!(!elsewhere.exists());
}
