//! The agent process (`ohx agent`, started by `ohx unlock`): made non-dumpable before it reads
//! the key from its stdin, it serves its socket until its time is up, `ohx lock` asks it to end,
//! or its socket is removed, and then exits, taking the key with it.
//!
//! Requests, one line each: `KEY <sha256 of the identity file>` gives `KEY AGE-SECRET-KEY-1...`
//! (the file's keys, separated by spaces)
//! when the digest is the one the agent was unlocked with (else `NO`); `STATUS` gives
//! `UNLOCKED <seconds left> pid=<pid> dumpable=<0|1> locked=<0|1>` (its memory locked, so never
//! swapped); `LOCK` gives `OK` and ends the agent.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::background;
use crate::crypto::identity::parse_identity_text;
use crate::error::Error;
use crate::runtime_socket;

/// How often the agent checks that its time is not up and its socket is still there.
const TICK: Duration = Duration::from_secs(1);

/// What the agent prints once it listens: with its memory locked, or without (when the memory
/// lock limit, `ulimit -l`, is too small).
const READY_LOCKED: &str = "ready\n";
const READY_UNLOCKED_MEMORY: &str = "ready memory-not-locked\n";

/// Starts an agent for `socket` that keeps `keys` (unlocked from the file whose SHA-256 is
/// `digest`) for `duration`; returns once it listens, saying whether its memory is locked.
pub fn start(
    socket: &Path,
    duration: Duration,
    digest: &str,
    keys: &[SecretString],
) -> Result<bool> {
    let mut input = Zeroizing::new(format!("{digest}\n"));
    for key in keys {
        input.push_str(key.expose_secret());
        input.push(' ');
    }
    input.push('\n');
    let seconds = duration.as_secs().to_string();
    let args = [
        OsStr::new("agent"),
        OsStr::new("--socket"),
        socket.as_os_str(),
        OsStr::new("--seconds"),
        OsStr::new(&seconds),
    ];
    // Nothing of our environment but what places the runtime folder: the agent must not hold
    // OHX_PASSPHRASE, or anything else.
    let env = background::kept_environment(|name| name == "XDG_RUNTIME_DIR" || name == "TMPDIR");
    let started = background::start(&args, env, Some(input.as_bytes()), 64, |line| {
        [READY_LOCKED, READY_UNLOCKED_MEMORY].contains(&line)
    })
    .context("cannot start the agent")?;
    match started {
        background::Started::Listening { said, .. } => Ok(said == READY_LOCKED),
        background::Started::Failed(_) => {
            Err(Error::AgentDidNotStart(crate::keyfiles::folder()).into())
        }
    }
}

/// Locks the agent's memory, present and future, as it is touched (`MCL_ONFAULT`: only the pages
/// it uses count against `ulimit -l`), so the key it holds for hours is never written to swap.
/// Whether that worked; without it the agent still serves, and `ohx unlock` says so.
fn lock_memory() -> bool {
    use rustix::mm::{mlockall, MlockAllFlags};
    mlockall(MlockAllFlags::CURRENT | MlockAllFlags::FUTURE | MlockAllFlags::ONFAULT).is_ok()
}

/// Whether the agent's pages are locked in memory (`VmLck` in `/proc/self/status` above zero).
fn memory_locked() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmLck:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .is_some_and(|kb| kb > 0)
    })
}

/// The agent itself.
pub fn serve(socket: &Path, seconds: u64) -> Result<()> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|_| Error::AgentDumpable)?;
    // Before the key arrives, so that no page holding it is ever swappable.
    let locked = lock_memory();
    let mut handed = Zeroizing::new(String::new());
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut handed)
        .context("cannot read the key")?;
    let (digest, key) = handed
        .split_once('\n')
        .map(|(d, k)| (d.to_string(), Zeroizing::new(k.trim().to_string())))
        .filter(|(_, k)| {
            !k.is_empty() && k.split(' ').all(|key| parse_identity_text(key).is_some())
        })
        .ok_or(Error::AgentWithoutKey)?;
    drop(handed);

    let (listener, inode) = runtime_socket::bind(socket)?;
    let mut out = std::io::stdout();
    let ready = if locked {
        READY_LOCKED
    } else {
        READY_UNLOCKED_MEMORY
    };
    out.write_all(ready.as_bytes())?;
    out.flush()?;

    let ends = Instant::now() + Duration::from_secs(seconds);
    watch(socket.to_path_buf(), inode, ends);
    let agent = Agent { digest, key, ends };
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if agent.answer(stream) == Next::End {
            break;
        }
    }
    runtime_socket::remove_if_ours(socket, inode);
    Ok(())
}

/// Ends the process when its time is up or its socket was removed or replaced (by a newer agent,
/// or with the folder of a test): checked every [`TICK`] by a thread of its own, so the agent
/// sleeps in `accept` the rest of the time. The key goes with the process's memory.
fn watch(socket: PathBuf, inode: u64, ends: Instant) {
    std::thread::spawn(move || loop {
        std::thread::sleep(TICK);
        if Instant::now() >= ends || !runtime_socket::is_ours(&socket, inode) {
            runtime_socket::remove_if_ours(&socket, inode);
            std::process::exit(0);
        }
    });
}

#[derive(PartialEq, Eq)]
enum Next {
    Serve,
    End,
}

struct Agent {
    digest: String,
    key: Zeroizing<String>,
    ends: Instant,
}

impl Agent {
    /// Answers one client. Another user's connection is closed unanswered.
    fn answer(&self, stream: UnixStream) -> Next {
        if !runtime_socket::peer_is_me(&stream) {
            return Next::Serve;
        }
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let mut request = String::new();
        let Ok(mut reader) = stream.try_clone().map(|s| BufReader::new(s.take(256))) else {
            return Next::Serve;
        };
        if reader.read_line(&mut request).is_err() {
            return Next::Serve;
        }
        let (reply, next) = self.reply(request.trim_end());
        let mut stream = stream;
        let _ = stream.write_all(reply.as_bytes());
        next
    }

    fn reply(&self, request: &str) -> (Zeroizing<String>, Next) {
        let text = |s: String| Zeroizing::new(s);
        match request.split_once(' ') {
            Some(("KEY", digest)) if digest == self.digest => {
                (text(format!("KEY {}\n", self.key.as_str())), Next::Serve)
            }
            Some(("KEY", _)) => (text("NO\n".into()), Next::Serve),
            _ if request == "STATUS" => {
                let left = self
                    .ends
                    .saturating_duration_since(Instant::now())
                    .as_secs();
                let dumpable = rustix::process::dumpable_behavior()
                    .map(|d| d != rustix::process::DumpableBehavior::NotDumpable)
                    .unwrap_or(true);
                (
                    text(format!(
                        "UNLOCKED {left} pid={} dumpable={} locked={}\n",
                        std::process::id(),
                        u8::from(dumpable),
                        u8::from(memory_locked())
                    )),
                    Next::Serve,
                )
            }
            _ if request == "LOCK" => (text("OK\n".into()), Next::End),
            _ => (text("ERR\n".into()), Next::Serve),
        }
    }
}

/// Where `ohx agent` was told to listen, checked to be an agent socket name in the runtime
/// folder, so the hidden command cannot be pointed at another file.
pub fn checked_socket(socket: PathBuf) -> Result<PathBuf> {
    if !runtime_socket::is_named_in_runtime_folder(&socket, "agent-") {
        return Err(Error::AgentByHand.into());
    }
    Ok(socket)
}
