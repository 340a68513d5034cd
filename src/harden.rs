//! What every ohx process does to itself first, before it can hold a key: no core dumps (it
//! makes itself non-dumpable, which also keeps other processes of the same user from reading its
//! memory through ptrace or `/proc/PID/mem`, and sets its soft core limit to zero), and a private
//! umask. The caller's core limit and umask are remembered, so the command `ohx run` starts gets
//! them back (see `child`).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use rustix::process::{Resource, Rlimit};

/// `u64::MAX` stands for "unlimited" (the kernel's RLIM_INFINITY).
static CALLER_CORE_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);
/// `u32::MAX` until [`private_umask`] has run.
static CALLER_UMASK: AtomicU32 = AtomicU32::new(u32::MAX);

/// Called first thing in `main`. Failures are ignored on purpose: a kernel without these
/// controls must still run ohx, and neither call can fail on Linux for a process changing itself.
pub fn at_start() {
    let core = rustix::process::getrlimit(Resource::Core);
    CALLER_CORE_LIMIT.store(core.current.unwrap_or(u64::MAX), Ordering::SeqCst);
    // Only the soft limit: the hard one stays, so the child can be given the caller's back.
    let _ = rustix::process::setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: core.maximum,
        },
    );
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

/// Sets the umask to 077, so every file ohx creates is private, and remembers the caller's.
pub fn private_umask() {
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let _ = CALLER_UMASK.compare_exchange(
        u32::MAX,
        old.bits() as u32,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
}

/// Sets the umask to 007 for a store in a group folder (`ohx store share`, docs/SECURITY.md, "One
/// store, several accounts"). SQLite creates the `-wal` and `-shm` with the store's mode (0660)
/// through the umask, then corrects the mode with `fchmod` a moment later; under 077 they would be
/// 0600 in between, and another member opening the store just then would be refused. Every file
/// and folder ohx itself creates names its mode (0600, 0700), which a umask can only narrow, so
/// nothing private is loosened; `ohx run`'s command still gets the caller's umask.
pub fn group_umask() {
    private_umask();
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o007));
}

/// The umask ohx was started with (its current one if [`private_umask`] never ran).
pub fn caller_umask() -> u32 {
    match CALLER_UMASK.load(Ordering::SeqCst) {
        u32::MAX => {
            let current = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
            rustix::process::umask(current);
            current.bits() as u32
        }
        mask => mask,
    }
}

/// The soft core limit ohx was started with; `None` for unlimited.
pub fn caller_core_limit() -> Option<u64> {
    Some(CALLER_CORE_LIMIT.load(Ordering::SeqCst)).filter(|&l| l != u64::MAX)
}

/// Gives the current process the caller's core limit back (in the child, before it execs).
pub fn restore_core_limit(soft: Option<u64>) {
    let core = rustix::process::getrlimit(Resource::Core);
    let _ = rustix::process::setrlimit(
        Resource::Core,
        Rlimit {
            current: soft,
            maximum: core.maximum,
        },
    );
}
