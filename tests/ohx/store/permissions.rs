//! The store, its `-wal` and `-shm`, and the identity stay private (0600 in a 0700 folder) under
//! any umask, even while writers keep the side files open; a store readable by others or behind a
//! symbolic link is refused.

use std::path::{Path, PathBuf};

use crate::harness::{file_mode, set_mode, Env, Outcome};

/// The files of a folder (not following links) that group or others may access.
fn shared_entries(dir: &Path) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut shared = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return shared;
    };
    for entry in entries.flatten() {
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue; // removed meanwhile (a -wal or -shm at close)
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            shared.push((entry.path(), mode));
        }
        if meta.is_dir() {
            shared.extend(shared_entries(&entry.path()));
        }
    }
    shared
}

#[test]
fn store_wal_shm_and_identity_stay_private_under_any_umask() {
    for mask in ["022", "000"] {
        let env = Env::new();
        env.ohx().arg("whoami").umask(mask).ok();
        assert_eq!(file_mode(&env.home()), 0o700, "home folder, umask {mask}");
        assert_eq!(file_mode(&env.store()), 0o600, "store, umask {mask}");
        assert_eq!(
            file_mode(&env.identity_of("alice")),
            0o600,
            "identity, umask {mask}"
        );
        // Concurrent writers keep a -wal and -shm around for a while: look at them as they live.
        let mut children: Vec<_> = (0..4)
            .map(|i| {
                env.ohx()
                    .args(["workspace", "create", &format!("W {i}"), "--slug"])
                    .arg(format!("w{i}"))
                    .umask(mask)
                    .spawn()
            })
            .collect();
        let mut shared = Vec::new();
        while children
            .iter_mut()
            .any(|c| matches!(c.try_wait(), Ok(None)))
        {
            shared.extend(shared_entries(&env.home()));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        shared.extend(shared_entries(&env.home()));
        for child in children {
            let out = Outcome::of(child);
            assert_eq!(out.status, 0, "workspace create under umask {mask}\n{out}");
        }
        assert!(
            shared.is_empty(),
            "files readable by group or others under umask {mask}: {shared:?}"
        );
    }
}

#[test]
fn a_store_readable_by_others_is_refused() {
    let env = Env::new();
    env.person("alice");
    set_mode(&env.store(), 0o644);
    let out = env.ohx().arg("whoami").fails(6);
    assert!(
        out.stderr.contains("chmod"),
        "the hint should say chmod\n{out}"
    );
    assert_eq!(file_mode(&env.store()), 0o644, "left as it was");
}

#[test]
fn a_store_behind_a_symlink_is_refused() {
    let env = Env::new();
    env.person("alice");
    let real = env.root().join("real.db");
    std::fs::rename(env.store(), &real).expect("move store");
    std::os::unix::fs::symlink(&real, env.store()).expect("symlink");
    let out = env.ohx().arg("whoami").fails(6);
    assert!(out.stderr.contains("symbolic link"), "{out}");
}
