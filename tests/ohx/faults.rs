//! Causing and surviving faults: `kill -9` of an ohx process at a random moment of its run, the
//! system tools that mount, `chattr` and limit (run as themselves, not through the harness), and
//! skipping a test that cannot run here, which fails instead under `CI`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{random_bytes, Cmd, Outcome};

/// A uniformly random integer below `n` (n > 0).
pub fn random_below(n: u64) -> u64 {
    let bytes: [u8; 8] = random_bytes(8).try_into().expect("8 bytes");
    u64::from_le_bytes(bytes) % n.max(1)
}

/// A random duration in `[0, max)`, with microsecond resolution.
pub fn random_delay(max: Duration) -> Duration {
    Duration::from_micros(random_below(max.as_micros().max(1) as u64))
}

/// How a command sent SIGKILL after a delay ended.
pub enum Killed {
    /// The kill arrived while it ran.
    Yes,
    /// It had already finished; its outcome.
    No(Outcome),
}

/// SIGKILL, as `kill -9` sends it: 128 + 9.
pub const KILLED_STATUS: i32 = 128 + 9;

/// Starts `cmd`, sends it SIGKILL after `delay` and reaps it.
pub fn kill_after(cmd: Cmd, delay: Duration) -> Killed {
    let described = cmd.describe();
    let mut child = cmd.spawn();
    std::thread::sleep(delay);
    // An already finished (not yet reaped) child ignores the signal.
    let _ = child.kill();
    let out = Outcome::wait(child, &described);
    if out.status == KILLED_STATUS {
        Killed::Yes
    } else {
        Killed::No(out)
    }
}

/// How long the command `make` builds typically runs: the median of `runs` runs (each must
/// succeed), plus a quarter. Random kill delays are drawn below it, so that most kills land while
/// the command runs and a few after it finished; a maximum would let one slow run (the machine
/// is busy with other tests) send most kills after the end.
#[track_caller]
pub fn typical_run(runs: usize, mut make: impl FnMut(usize) -> Cmd) -> Duration {
    let mut took: Vec<Duration> = (0..runs)
        .map(|i| {
            let cmd = make(i);
            let started = Instant::now();
            cmd.ok();
            started.elapsed()
        })
        .collect();
    took.sort();
    took.get(took.len() / 2)
        .map_or(Duration::from_millis(50), |median| *median * 5 / 4)
}

/// Reports why `test` cannot run here. Under `CI` that is a failure: CI runs as root on a machine
/// `.ci/setup` prepared, so a skip there would hide a gap.
#[track_caller]
pub fn cannot_run(test: &str, reason: &str) {
    crate::skip::skip(&format!("{test} cannot run here: {reason}"));
}

/// Runs a program that is not ohx (mount, chattr, ...), returning stderr when it fails.
pub fn system(program: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
