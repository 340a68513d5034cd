//! `ohx run -c ID... -- COMMAND`: start a command, without a shell, with the connections in its
//! environment; forward SIGINT, SIGTERM and SIGHUP sent to ohx; exit with the command's status.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;

use crate::commands::connection::open_for_use;
use crate::credentials::{self, Native};
use crate::domain::ConnectionType;
use crate::error::Error;
use crate::keyfiles::KeyFiles;
use crate::session::Session;

/// Linux refuses a single `NAME=value` string longer than this (MAX_ARG_STRLEN, 32 pages).
const MAX_ENV_ENTRY: usize = 128 * 1024;

pub fn run(
    session: &mut Session,
    references: &[String],
    no_native: bool,
    command: &[OsString],
) -> Result<u8> {
    let Some((program, args)) = command.split_first() else {
        return Err(Error::NoCommand.into());
    };
    let opened = open_for_use(session, references)?;
    // Key files left by an ohx that was killed are removed by whichever run comes next.
    crate::keyfiles::sweep_stale(&crate::keyfiles::folder());
    let mut key_files = KeyFiles::default();
    let mut gcs_key_files = BTreeMap::new();
    if !no_native {
        for (index, connection) in opened.iter().enumerate() {
            if connection.kind == ConnectionType::Gcs {
                if let Some(key) = connection.value("service_account_key") {
                    gcs_key_files.insert(index, key_files.write(key)?);
                }
            }
        }
    }
    let vars = credentials::variables(
        &opened,
        &Native {
            enabled: !no_native,
            gcs_key_files: &gcs_key_files,
        },
    )?;
    drop(opened);
    for var in &vars {
        let size = var.name.len() + 1 + var.value.expose_secret().len() + 1;
        if size > MAX_ENV_ENTRY {
            return Err(Error::VariableTooLarge {
                origin: var.origin.clone(),
                size,
            }
            .into());
        }
    }
    // The child gets ohx's environment without ohx's own variables (OHX_PASSPHRASE above all).
    let inherited =
        std::env::vars_os().filter(|(name, _)| !name.to_string_lossy().starts_with("OHX_"));
    let mut child_command = std::process::Command::new(program);
    child_command.args(args).env_clear().envs(inherited);
    for var in &vars {
        child_command.env(&var.name, var.value.expose_secret());
    }
    drop(vars);

    let child_pid = Arc::new(AtomicI32::new(0));
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP])
        .context("cannot install signal handlers")?;
    let handle = signals.handle();
    let forward_to = Arc::clone(&child_pid);
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            // A signal from the terminal already reached the child, which shares our process
            // group; only signals sent by a process (kill, a scheduler) are forwarded.
            if origin.process.is_some() {
                forward(forward_to.load(Ordering::SeqCst), origin.signal);
            }
        }
    });

    let program_name = program.to_string_lossy().into_owned();
    let spawned = child_command.spawn();
    drop(child_command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            handle.close();
            let _ = forwarder.join();
            return Err(match e.kind() {
                std::io::ErrorKind::NotFound => Error::CommandNotFound(program_name),
                std::io::ErrorKind::PermissionDenied => Error::CommandNotExecutable(program_name),
                _ => Error::CommandFailedToStart {
                    program: program_name,
                    cause: e.to_string(),
                },
            }
            .into());
        }
    };
    child_pid.store(child.id() as i32, Ordering::SeqCst);
    let status = child
        .wait()
        .with_context(|| format!("lost track of {program_name}"));
    handle.close();
    let _ = forwarder.join();
    drop(key_files);
    let status = status?;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(signal)) => (128 + signal).min(255) as u8,
        (None, None) => 1,
    })
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
