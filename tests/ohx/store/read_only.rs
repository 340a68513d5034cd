//! A read-only store file or folder (by mode, and as root by `chattr +i` or a read-only bind
//! mount): every write fails with status 6 saying so, naming the folder, and the store is left
//! as it was; made writable again, it accepts writes from its owner.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::faults::{cannot_run, system};
use crate::fixtures::{add_custom, assert_store_intact, three_connections, WS};
use crate::harness::{in_path, is_root, random_canary, set_mode, Cmd, Env};
use crate::store_probe::{files_under, sidecar};

/// A file or folder made read-only even for root, restored when dropped.
struct ReadOnly {
    path: PathBuf,
    mode: u32,
    how: Protection,
}

enum Protection {
    /// Permission bits only: enough for anyone but root.
    Mode,
    /// `chattr +i`: not even root may write.
    Immutable,
    /// A read-only bind mount of the path over itself.
    BindMount,
}

impl ReadOnly {
    /// Makes `path` read-only with `mode` (0400 for a file, 0500 for a folder) and, as root,
    /// `chattr +i` or else a read-only bind mount; or says why it cannot.
    fn make(path: &Path, mode: u32) -> Result<ReadOnly, String> {
        let old = crate::harness::file_mode(path);
        set_mode(path, mode);
        let mut guard = ReadOnly {
            path: path.to_path_buf(),
            mode: old,
            how: Protection::Mode,
        };
        if !is_root() {
            return Ok(guard);
        }
        let chattr = system("chattr", &[OsStr::new("+i"), path.as_os_str()]);
        if chattr.is_ok() {
            guard.how = Protection::Immutable;
            return Ok(guard);
        }
        let bound = system(
            "mount",
            &[OsStr::new("--bind"), path.as_os_str(), path.as_os_str()],
        );
        if bound.is_ok() {
            guard.how = Protection::BindMount;
            let remount = system(
                "mount",
                &[
                    OsStr::new("-o"),
                    OsStr::new("remount,bind,ro"),
                    path.as_os_str(),
                ],
            );
            return remount.map(|()| guard);
        }
        Err(format!(
            "root ignores permissions, and neither chattr +i nor a read-only bind mount works: {} / {}",
            chattr.err().unwrap_or_default(),
            bound.err().unwrap_or_default()
        ))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        match self.how {
            Protection::Mode => {}
            Protection::Immutable => {
                let _ = system("chattr", &[OsStr::new("-i"), self.path.as_os_str()]);
            }
            Protection::BindMount => {
                let _ = system("umount", &[self.path.as_os_str()]);
            }
        }
        set_mode(&self.path, self.mode);
    }
}

/// The writes tried against a read-only store or folder.
fn writes(env: &Env) -> Vec<Cmd> {
    vec![
        add_custom(env, "new", &random_canary()),
        env.ohx().args([
            "connection",
            "edit",
            "a",
            "--description",
            "changed",
            "-w",
            WS,
        ]),
        env.ohx()
            .args(["connection", "delete", "b", "--yes", "-w", WS]),
        env.ohx().args(["workspace", "rotate-key", WS]),
        env.ohx()
            .args(["workspace", "create", "Another", "--slug", "another"]),
    ]
}

#[test]
fn a_read_only_store_file_refuses_writes_and_says_so() {
    let env = Env::new();
    let tokens = three_connections(&env);
    let before = std::fs::read(env.store()).expect("read store");
    let guard = match ReadOnly::make(&env.store(), 0o400) {
        Ok(g) => g,
        Err(reason) => {
            return cannot_run("a_read_only_store_file_refuses_writes_and_says_so", &reason)
        }
    };
    for cmd in writes(&env) {
        let what = cmd.describe();
        let out = cmd.fails(6);
        assert!(out.stderr.contains("read-only"), "{what}\n{out}");
    }
    assert!(
        std::fs::read(env.store()).expect("read") == before,
        "the read-only store changed"
    );
    drop(guard);
    // As an ordinary user, what follows meets the read-only -shm SQLite left beside the store:
    // that bug has its own test, a_store_made_writable_again_accepts_writes_from_its_owner.
    if is_root() {
        assert_store_intact(&env, &tokens, "after a read-only store");
        add_custom(&env, "after", &random_canary()).ok();
    }
}

/// Runs ohx as an ordinary user: as uid/gid 65534 (nobody) when the tests run as root, since root
/// skips the permission checks under test. [`hand_over`] gives that user the test's folder.
fn as_ordinary_user(cmd: Cmd) -> Cmd {
    if !is_root() {
        return cmd;
    }
    cmd.shell(
        "sh",
        r#"exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" "$@""#,
    )
}

/// Hands the test's folder to uid 65534 when running as root; or says why that cannot work.
fn hand_over(env: &Env) -> Result<(), String> {
    if !is_root() {
        return Ok(());
    }
    in_path("setpriv").ok_or("setpriv (util-linux) is not installed")?;
    std::os::unix::fs::chown(env.root(), Some(65534), Some(65534)).map_err(|e| e.to_string())?;
    // The ohx binary and the folders above it must be reachable by that user.
    system(
        "setpriv",
        &[
            OsStr::new("--reuid=65534"),
            OsStr::new("--regid=65534"),
            OsStr::new("--clear-groups"),
            OsStr::new("test"),
            OsStr::new("-x"),
            OsStr::new(env!("CARGO_BIN_EXE_ohx")),
        ],
    )
    .map_err(|e| format!("uid 65534 cannot run the ohx binary: {e}"))
}

#[test]
fn a_store_made_writable_again_accepts_writes_from_its_owner() {
    let env = Env::new();
    if let Err(reason) = hand_over(&env) {
        return cannot_run(
            "a_store_made_writable_again_accepts_writes_from_its_owner",
            &reason,
        );
    }
    let run = as_ordinary_user;
    run(env.ohx().args(["init", "--name", "alice"])).ok();
    run(env.ohx().args(["workspace", "create", WS, "--slug", WS])).ok();
    run(add_custom(&env, "a", &random_canary())).ok();

    set_mode(&env.store(), 0o400);
    let out = run(add_custom(&env, "b", &random_canary())).fails(6);
    assert!(out.stderr.contains("read-only"), "{out}");
    set_mode(&env.store(), 0o600);
    let out = run(add_custom(&env, "c", &random_canary())).run();
    let leftovers: Vec<String> = ["-wal", "-shm"]
        .iter()
        .filter_map(|s| {
            let p = sidecar(&env.store(), s);
            p.exists()
                .then(|| format!("{} {:o}", p.display(), crate::harness::file_mode(&p)))
        })
        .collect();
    assert_eq!(
        out.status, 0,
        "the store is writable again, but ohx still refuses (left beside it: {leftovers:?})\n{out}"
    );
}

#[test]
fn a_read_only_folder_refuses_writes_and_keeps_the_store() {
    let env = Env::new();
    let tokens = three_connections(&env);
    let before = std::fs::read(env.store()).expect("read store");
    let files_before = files_under(&env.home());
    let guard = match ReadOnly::make(&env.home(), 0o500) {
        Ok(g) => g,
        Err(reason) => {
            return cannot_run(
                "a_read_only_folder_refuses_writes_and_keeps_the_store",
                &reason,
            )
        }
    };
    for cmd in writes(&env) {
        cmd.fails(6);
    }
    assert!(
        std::fs::read(env.store()).expect("read") == before,
        "the store changed"
    );
    assert_eq!(files_under(&env.home()), files_before);
    drop(guard);
    assert_store_intact(&env, &tokens, "after a read-only folder");
    add_custom(&env, "after", &random_canary()).ok();
}

#[test]
fn a_read_only_folder_is_named_in_the_error() {
    let env = Env::new();
    three_connections(&env);
    let _guard = match ReadOnly::make(&env.home(), 0o500) {
        Ok(g) => g,
        Err(reason) => return cannot_run("a_read_only_folder_is_named_in_the_error", &reason),
    };
    let out = add_custom(&env, "new", &random_canary()).fails(6);
    let said = out.stderr.to_lowercase();
    assert!(
        said.contains(&env.home().display().to_string().to_lowercase())
            && (said.contains("read-only")
                || said.contains("not writable")
                || said.contains("permission")),
        "the error should say that the folder {} is read-only\n{out}",
        env.home().display()
    );
}
