//! `ohx run -c ID... -- COMMAND`: start a command, without a shell, with the connections in its
//! environment; forward SIGINT, SIGTERM and SIGHUP sent to ohx; exit with the command's status.
//!
//! The command is started through ohx itself (see `child`), so it gets SIGTERM if ohx dies, and
//! gets the caller's umask and core limit rather than ohx's. Its environment is the caller's,
//! without ohx's own variables and without inherited variables that would pair with or override
//! the native ones ohx sets (docs/SECURITY.md, "Environment variables").

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::{Handle, SignalsInfo};
use zeroize::Zeroizing;

use crate::access::Opened;
use crate::commands::connection::open_for_use;
use crate::credentials::{self, EnvVar, Native};
use crate::domain::{env, ConnectionType};
use crate::error::Error;
use crate::keyfiles::{self, KeyFiles};
use crate::session::Session;

/// Linux refuses a single `NAME=value` string longer than this (MAX_ARG_STRLEN, 32 pages).
const MAX_ENV_ENTRY: usize = 128 * 1024;

/// What `ohx run` was asked to do.
pub struct Request<'a> {
    pub references: &'a [String],
    pub no_native: bool,
    /// `--native-for ID`: which connection gets the native variables of its type.
    pub native_for: Option<&'a str>,
    pub command: &'a [OsString],
}

/// The child's environment: names and values, secrets wiped when dropped.
type Environment = Vec<(OsString, Zeroizing<Vec<u8>>)>;

pub fn run(session: &mut Session, request: &Request<'_>) -> Result<u8> {
    let Some((program, args)) = request.command.split_first() else {
        return Err(Error::NoCommand.into());
    };
    let opened = open_for_use(session, request.references)?;
    let only_for = native_choice(request, &opened)?;
    // Key files left by an ohx that was killed are removed by whichever run comes next.
    keyfiles::sweep_stale(&keyfiles::folder());
    let mut key_files = KeyFiles::default();
    let vars = variables(&opened, request.no_native, only_for, &mut key_files)?;
    drop(opened);
    check_entry_sizes(&vars)?;
    let descriptor_vars: Vec<String> = vars
        .iter()
        .filter(|v| key_files.is_memory_path(v.value.expose_secret()))
        .map(|v| v.name.clone())
        .collect();
    let mut environment = child_environment(vars);
    // A `@pipeline` script then reads ohx's variables instead of asking for a workspace.yaml.
    crate::openhexa::local_mode::apply(&session.printer, &mut environment, request.command);
    check_total_size(program, args, &environment)?;
    let status = start_and_wait(program, args, environment, &descriptor_vars);
    drop(key_files);
    status
}

/// The index of the connection `--native-for` names: by the reference given with `-c`, its
/// identifier or `workspace/identifier`.
fn native_choice(request: &Request<'_>, opened: &[Opened]) -> Result<Option<usize>> {
    let Some(wanted) = request.native_for else {
        return Ok(None);
    };
    let found = opened.iter().enumerate().position(|(i, c)| {
        request.references.get(i).map(String::as_str) == Some(wanted)
            || c.identifier == wanted
            || c.label() == wanted
    });
    match found {
        Some(index) => Ok(Some(index)),
        None => Err(Error::NativeForUnknown(wanted.to_string()).into()),
    }
}

/// The connections' variables, with native ones unless `no_native`; GCS keys handed over through
/// `key_files`, which must outlive the child.
fn variables(
    opened: &[Opened],
    no_native: bool,
    only_for: Option<usize>,
    key_files: &mut KeyFiles,
) -> Result<Vec<EnvVar>> {
    let mut gcs_key_files = std::collections::BTreeMap::new();
    if !no_native {
        for (index, connection) in opened.iter().enumerate() {
            let chosen = credentials::chooses_native(opened, only_for, index);
            if connection.kind == ConnectionType::Gcs && chosen {
                if let Some(key) = connection.value("service_account_key") {
                    gcs_key_files.insert(index, key_files.write(key)?);
                }
            }
        }
    }
    credentials::variables(
        opened,
        &Native {
            enabled: !no_native,
            only_for,
            gcs_key_files: &gcs_key_files,
        },
    )
    .map_err(Into::into)
}

fn check_entry_sizes(vars: &[EnvVar]) -> Result<()> {
    for var in vars {
        let size = var.name.len() + 1 + var.value.expose_secret().len() + 1;
        if size > MAX_ENV_ENTRY {
            return Err(Error::VariableTooLarge {
                origin: var.origin.clone(),
                size,
            }
            .into());
        }
    }
    Ok(())
}

/// The caller's environment without ohx's own variables (OHX_PASSPHRASE above all) and without
/// what would pair with the native variables set, then the connections' variables.
fn child_environment(vars: Vec<EnvVar>) -> Environment {
    let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
    let mut environment: Environment = std::env::vars_os()
        .filter(|(name, _)| {
            let name = name.to_string_lossy();
            !name.starts_with("OHX_")
                && !env::pairs_with_native(&name, &names)
                && !names.contains(&name.as_ref())
        })
        .map(|(name, value)| (name, Zeroizing::new(value.into_vec())))
        .collect();
    for var in &vars {
        environment.push((
            OsString::from(&var.name),
            Zeroizing::new(var.value.expose_secret().as_bytes().to_vec()),
        ));
    }
    environment
}

/// The kernel's limit on arguments and environment together: a quarter of the stack limit, at
/// most 6 MiB (three quarters of the default 8 MiB stack), at least 128 KiB.
fn exec_limit() -> usize {
    let stack = rustix::process::getrlimit(rustix::process::Resource::Stack).current;
    let quarter = stack.map_or(usize::MAX, |s| usize::try_from(s / 4).unwrap_or(usize::MAX));
    quarter.clamp(128 * 1024, 6 * 1024 * 1024)
}

/// Refuses, before anything starts, a command line and environment the kernel would refuse
/// (`exec` would fail with E2BIG, which used to surface as exit 126).
fn check_total_size(program: &OsStr, args: &[OsString], environment: &Environment) -> Result<()> {
    // The trampoline's own arguments, counted generously.
    const TRAMPOLINE: usize = 128;
    let strings: usize = std::iter::once(program)
        .chain(args.iter().map(OsString::as_os_str))
        .map(|a| a.len() + 1)
        .sum::<usize>()
        + environment
            .iter()
            .map(|(n, v)| n.len() + 1 + v.len() + 1)
            .sum::<usize>();
    let pointers = (args.len() + 6 + environment.len()) * std::mem::size_of::<usize>();
    let total = strings + pointers + TRAMPOLINE;
    let limit = exec_limit();
    if total > limit {
        return Err(Error::EnvironmentTooLarge { total, limit }.into());
    }
    Ok(())
}

/// The command to start: through ohx itself where it can (see `child`), else directly.
fn command(
    program: &OsStr,
    args: &[OsString],
    environment: &Environment,
    descriptor_vars: &[String],
) -> Command {
    let mut command = if crate::child::available() {
        let names: Vec<&str> = descriptor_vars.iter().map(String::as_str).collect();
        crate::child::command(program, args, &names)
    } else {
        let mut direct = Command::new(program);
        direct.args(args);
        direct
    };
    command.env_clear();
    for (name, value) in environment {
        command.env(name, OsStr::from_bytes(value));
    }
    command
}

/// Starts the command, forwards signals to it while it runs, and returns its exit status.
fn start_and_wait(
    program: &OsStr,
    args: &[OsString],
    environment: Environment,
    descriptor_vars: &[String],
) -> Result<u8> {
    let mut child_command = command(program, args, &environment, descriptor_vars);
    drop(environment);
    let child_pid = Arc::new(AtomicI32::new(0));
    let (handle, forwarder) = forward_signals(Arc::clone(&child_pid))?;
    let spawned = spawn(&mut child_command);
    drop(child_command);
    let stop_forwarding = || {
        handle.close();
        let _ = forwarder.join();
    };
    let program_name = crate::terminal_text::inline(&program.to_string_lossy()).into_owned();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            stop_forwarding();
            return Err(spawn_error(&program_name, &e).into());
        }
    };
    child_pid.store(child.id() as i32, Ordering::SeqCst);
    let status = child
        .wait()
        .with_context(|| format!("lost track of {program_name}"));
    stop_forwarding();
    let status = status?;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(signal)) => (128 + signal).min(255) as u8,
        (None, None) => 1,
    })
}

/// Starts `command`. Through the trampoline, the child sets the caller's umask itself; started
/// directly, it inherits ohx's, so the caller's is put back for the moment of the spawn (no other
/// thread of ohx creates files meanwhile).
fn spawn(command: &mut Command) -> std::io::Result<std::process::Child> {
    if crate::child::available() {
        return command.spawn();
    }
    let mask =
        rustix::fs::Mode::from_raw_mode(crate::harden::caller_umask() as rustix::fs::RawMode);
    let private = rustix::process::umask(mask);
    let spawned = command.spawn();
    rustix::process::umask(private);
    spawned
}

/// A thread that passes SIGINT, SIGTERM and SIGHUP sent to ohx on to the child.
fn forward_signals(child_pid: Arc<AtomicI32>) -> Result<(Handle, std::thread::JoinHandle<()>)> {
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP])
        .context("cannot install signal handlers")?;
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            // A signal from the terminal already reached the child, which shares our process
            // group; only signals sent by a process (kill, a scheduler) are forwarded.
            if origin.process.is_some() {
                forward(child_pid.load(Ordering::SeqCst), origin.signal);
            }
        }
    });
    Ok((handle, forwarder))
}

/// The shell's convention: 127 not found, 126 found but not runnable.
fn spawn_error(program_name: &str, e: &std::io::Error) -> Error {
    let program = program_name.to_string();
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::CommandNotFound(program),
        std::io::ErrorKind::PermissionDenied => Error::CommandNotExecutable(program),
        _ => Error::CommandFailedToStart {
            program,
            cause: e.to_string(),
        },
    }
}

fn forward(pid: i32, signal: i32) {
    use rustix::process::{kill_process, Pid, Signal};
    let Some(pid) = Pid::from_raw(pid) else {
        return;
    };
    let signal = match signal {
        SIGINT => Signal::INT,
        SIGTERM => Signal::TERM,
        SIGHUP => Signal::HUP,
        _ => return,
    };
    let _ = kill_process(pid, signal);
}
