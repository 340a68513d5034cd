//! Starting one of ohx's own background processes (the unlock agent, the connection holder): a
//! hidden subcommand of this same program, in its own process group, with only the environment
//! it is given, that prints one line once it listens and then lives on without us.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// What the process printed first, and whether that meant it listens.
pub enum Started {
    /// The line, and the process's id (it is this process's child, not forked again).
    Listening { said: String, pid: u32 },
    /// It printed something else or nothing, or would not take its input: it was killed.
    Failed(String),
}

/// Starts this program with `args` and only `env`, writes `input` (if any) to its stdin, and reads
/// the first line it prints (at most `limit` bytes); `listening` decides from that line. A process
/// that does not listen is killed and waited for. An error is only a failure to start it at all.
pub fn start(
    args: &[&OsStr],
    env: impl IntoIterator<Item = (OsString, OsString)>,
    input: Option<&[u8]>,
    limit: u64,
    listening: impl Fn(&str) -> bool,
) -> std::io::Result<Started> {
    let mut child = Command::new(std::env::current_exe()?)
        .env_clear()
        .envs(env)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so the terminal's Ctrl-C for the shell does not reach it.
        .process_group(0)
        .spawn()?;
    let handed = match (input, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => pipe.write_all(bytes).is_ok(),
        (Some(_), None) => false,
        (None, _) => true,
    };
    let mut said = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out.take(limit)).read_line(&mut said);
    }
    if handed && listening(&said) {
        let pid = child.id();
        // It lives on without us; it is not our child to wait for.
        drop(child);
        return Ok(Started::Listening { said, pid });
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(Started::Failed(said))
}

/// The variables of this process that `keep` accepts, for a background process's environment.
pub fn kept_environment(keep: impl Fn(&str) -> bool) -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(name, _)| name.to_str().is_some_and(&keep))
        .collect()
}
