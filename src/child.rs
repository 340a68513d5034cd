//! The command `ohx run` starts, started through ohx itself so that it learns when ohx dies.
//!
//! Asking the kernel to signal a child when its parent dies (`PR_SET_PDEATHSIG`) must happen in
//! the child, between `fork` and `exec`, which Rust allows only in `unsafe` code (`pre_exec`),
//! and this crate forbids `unsafe`. So ohx starts its own executable (`/proc/self/exe`) with
//! [`MARKER`] as its first argument: that process is already the child, so it asks for SIGTERM
//! on ohx's death in ordinary safe code, checks ohx has not died meanwhile, gives itself back the
//! caller's umask and core limit, and replaces itself with the command (`exec`), keeping its
//! process id, its environment and the descriptor of a sealed GCS key. ohx stays the parent: it
//! waits for the command, forwards signals and passes its exit status on.
//!
//! SIGTERM rather than SIGKILL: the command is told, as a service manager tells it, and may clean
//! up; a command that ignores SIGTERM was written to outlive its parent.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The first argument that makes `ohx` the trampoline instead of the command-line tool.
pub const MARKER: &str = "__ohx-run-child";

/// Where the running ohx executable is, whatever happened to its path since it started.
const SELF_EXE: &str = "/proc/self/exe";

/// A command to start `program` with `args` through the trampoline, with ohx as its parent.
/// `descriptor_vars` name variables whose value is `/dev/fd/N`: the trampoline rewrites them to
/// `/proc/PID/fd/N` with its own (and so the command's) process id, which the command's own
/// children can open too, even when they were started without inherited descriptors (as
/// Python's `subprocess` starts them). Only processes of the same user may open it, and they may
/// read the command's environment and memory anyway.
pub fn command(program: &OsStr, args: &[OsString], descriptor_vars: &[&str]) -> Command {
    let mut command = Command::new(SELF_EXE);
    let descriptor_vars = if descriptor_vars.is_empty() {
        "-".to_string()
    } else {
        descriptor_vars.join(",")
    };
    command
        .arg(MARKER)
        .arg(rustix::process::getpid().as_raw_nonzero().to_string())
        .arg(format!("{:o}", crate::harden::caller_umask()))
        .arg(
            crate::harden::caller_core_limit()
                .map_or_else(|| "unlimited".to_string(), |l| l.to_string()),
        )
        .arg(descriptor_vars)
        .arg(program)
        .args(args);
    command
}

/// Whether ohx can start commands through itself here (Linux's `/proc/self/exe`).
pub fn available() -> bool {
    cfg!(any(target_os = "linux", target_os = "android")) && std::path::Path::new(SELF_EXE).exists()
}

/// In `main`, before anything else: when this process is the trampoline, becomes the command
/// and never returns (unless the command cannot be started: then the exit status to use).
pub fn exec_if_asked() -> Option<u8> {
    let mut argv = std::env::args_os().skip(1);
    if argv.next().as_deref() != Some(OsStr::new(MARKER)) {
        return None;
    }
    let setup = Setup {
        parent: argv.next()?,
        umask: argv.next()?,
        core: argv.next()?,
        descriptor_vars: argv.next()?,
    };
    let program = argv.next()?;
    Some(become_command(&setup, &program, argv.collect()))
}

/// What the trampoline is told, as ohx wrote it on its command line.
struct Setup {
    parent: OsString,
    umask: OsString,
    core: OsString,
    descriptor_vars: OsString,
}

fn become_command(setup: &Setup, program: &OsStr, args: Vec<OsString>) -> u8 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
        // ohx may have died before the request: then the signal will never come.
        let expected = parse(&setup.parent);
        let actual =
            rustix::process::getppid().map(|p| u64::from(p.as_raw_nonzero().get().unsigned_abs()));
        if expected.is_none() || expected != actual {
            return 128 + 15;
        }
    }
    let umask = std::str::from_utf8(setup.umask.as_bytes())
        .ok()
        .and_then(|m| u32::from_str_radix(m, 8).ok());
    if let Some(mask) = umask {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask as rustix::fs::RawMode));
    }
    crate::harden::restore_core_limit(parse(&setup.core));
    let mut command = Command::new(program);
    command.args(&args);
    for name in setup.descriptor_vars.to_string_lossy().split(',') {
        let fd = std::env::var(name)
            .ok()
            .and_then(|v| v.strip_prefix("/dev/fd/").map(String::from));
        if let Some(fd) = fd {
            command.env(name, format!("/proc/{}/fd/{fd}", std::process::id()));
        }
    }
    let error = command.exec();
    report_exec_error(program, &error)
}

fn parse(text: &OsStr) -> Option<u64> {
    std::str::from_utf8(text.as_bytes()).ok()?.parse().ok()
}

/// The shell's convention, which `ohx run` keeps: 127 not found, 126 found but not runnable.
fn report_exec_error(program: &OsStr, error: &std::io::Error) -> u8 {
    let name = crate::terminal_text::inline(&program.to_string_lossy()).into_owned();
    let (status, message) = match error.kind() {
        std::io::ErrorKind::NotFound => (127, format!("command not found: {name}")),
        std::io::ErrorKind::PermissionDenied => (126, format!("command not executable: {name}")),
        _ => (126, format!("cannot start {name}: {error}")),
    };
    eprintln!("error: {message}");
    status
}
