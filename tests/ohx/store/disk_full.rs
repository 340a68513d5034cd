//! Out of space: on a small tmpfs filled to several levels, and under a file size limit
//! (`prlimit --fsize`), writes fail with one clean error that says the disk is full, and the
//! store stays whole. Mounting needs root: without it the test says why it skips, and fails
//! instead under `CI`.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::faults::{cannot_run, system};
use crate::fixtures::{add_custom, assert_store_intact, three_connections, WS};
use crate::harness::{in_path, random_canary, Cmd, Env, Outcome};

/// A tmpfs mounted over a folder, unmounted when dropped.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "1m") at `at` (created), or says why it cannot.
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let options = format!("size={size},mode=0700");
        system(
            "mount",
            &[
                OsStr::new("-t"),
                OsStr::new("tmpfs"),
                OsStr::new("-o"),
                OsStr::new(&options),
                OsStr::new("tmpfs"),
                at.as_os_str(),
            ],
        )?;
        Ok(Tmpfs {
            at: at.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if system("umount", &[self.at.as_os_str()]).is_err() {
            let _ = system("umount", &[OsStr::new("-l"), self.at.as_os_str()]);
        }
    }
}

/// Bytes free for an ordinary writer on the filesystem holding `path`.
fn free_bytes(path: &Path) -> u64 {
    let stat = rustix::fs::statvfs(path).expect("statvfs");
    stat.f_bavail * stat.f_frsize
}

/// Writes zeros to `filler` until only about `keep` bytes are left free.
fn fill_leaving(filler: &Path, keep: u64) {
    let _ = std::fs::remove_file(filler);
    let mut file = std::fs::File::create(filler).expect("create filler");
    let chunk = vec![0u8; 4096];
    while free_bytes(filler) > keep {
        let room = free_bytes(filler) - keep;
        let n = usize::try_from(room).unwrap_or(usize::MAX).min(chunk.len());
        if file
            .write_all(&chunk[..n])
            .and_then(|()| file.flush())
            .is_err()
        {
            break;
        }
    }
}

/// The write a fault test tries: `add` of the custom connection `slug` with `token`, or
/// `rotate-key`, which seals every secret again.
fn write_cmd(env: &Env, write: &str, slug: &str, token: &str) -> Cmd {
    match write {
        "add" => add_custom(env, slug, token),
        _ => env.ohx().args(["workspace", "rotate-key", WS, "-q"]),
    }
}

/// A failed write: status 6 (store problem) or 1, one clean `error:` line, no panic.
#[track_caller]
fn assert_failed_cleanly(out: &Outcome, what: &str) {
    assert!(
        out.status == 6 || out.status == 1,
        "{what}: expected status 6 or 1, got {}\n{out}",
        out.status
    );
    out.assert_clean_error(what);
}

#[test]
fn a_full_disk_fails_writes_cleanly_and_keeps_the_store() {
    let env = Env::new();
    let _tmpfs = match Tmpfs::mount(&env.home(), "1m") {
        Ok(t) => t,
        Err(reason) => {
            eprintln!("cannot mount a small tmpfs ({reason}); a file size limit stands in for a full disk");
            return file_size_limit_fails_writes_cleanly(&env);
        }
    };
    let mut tokens = three_connections(&env);
    for i in 0..20 {
        let slug = format!("more-{i:02}");
        let token = random_canary();
        add_custom(&env, &slug, &token).ok();
        tokens.insert(slug, token);
    }
    let filler = env.home().join("filler");
    let (mut full, mut failed, mut n) = (0, 0, 0);
    // With at least 36 KiB free, SQLite can map its 32 KiB -shm and runs out of space inside the
    // transaction, writing the WAL: those failures must say the disk is full.
    for keep_kib in [36u64, 40, 44, 48, 56, 64, 80, 96, 0] {
        for write in ["add", "rotate-key"] {
            n += 1;
            fill_leaving(&filler, keep_kib * 1024);
            let (slug, token) = (format!("full-{n:02}"), random_canary());
            let out = write_cmd(&env, write, &slug, &token).run();
            let what = format!("{write} with {keep_kib} KiB free");
            if out.status == 0 {
                if write == "add" {
                    tokens.insert(slug, token);
                }
            } else {
                failed += 1;
                assert_failed_cleanly(&out, &what);
                if out.stderr.contains("full") {
                    full += 1;
                } else {
                    assert_eq!(
                        keep_kib, 0,
                        "{what}: the error does not say the disk is full\n{out}"
                    );
                }
            }
            std::fs::remove_file(&filler).expect("remove filler");
            assert_store_intact(&env, &tokens, &what);
        }
    }
    eprintln!("full disk: {n} writes, {failed} failed, {full} said the disk was full");
    assert!(
        full > 0,
        "no write ran out of space inside its transaction: the test proves nothing"
    );
    // With the space back, writes work again.
    add_custom(&env, "after", &random_canary()).ok();
    env.ohx().args(["workspace", "rotate-key", WS, "-q"]).ok();
}

#[test]
fn a_completely_full_disk_is_reported_as_full() {
    let env = Env::new();
    let _tmpfs = match Tmpfs::mount(&env.home(), "1m") {
        Ok(t) => t,
        Err(reason) => return cannot_run("a_completely_full_disk_is_reported_as_full", &reason),
    };
    let tokens = three_connections(&env);
    let filler = env.home().join("filler");
    fill_leaving(&filler, 0);
    let out = add_custom(&env, "d", &random_canary()).run();
    std::fs::remove_file(&filler).expect("remove filler");
    assert_failed_cleanly(&out, "add on a full disk");
    assert!(
        out.stderr.contains("full") || out.stderr.contains("space"),
        "the error does not say the disk is full\n{out}"
    );
    assert_store_intact(&env, &tokens, "after a full disk");
}

/// `cmd` run with a maximum file size of `bytes` and SIGXFSZ ignored, so that writes past the
/// limit fail with EFBIG instead of killing the process.
fn with_file_size_limit(cmd: Cmd, prlimit: &Path, bytes: u64) -> Cmd {
    cmd.env("PRLIMIT", prlimit)
        .env("FSIZE", bytes.to_string())
        .shell(
            "sh",
            r#"trap '' XFSZ; exec "$PRLIMIT" --fsize="$FSIZE" "$0" "$@""#,
        )
}

fn file_size_limit_fails_writes_cleanly(env: &Env) {
    let Some(prlimit) = in_path("prlimit") else {
        return cannot_run("file size limit", "prlimit (util-linux) is not installed");
    };
    let mut tokens = three_connections(env);
    let (mut failed, mut n) = (0, 0);
    // Below 32 KiB the -shm cannot be mapped; above, the WAL stops growing mid-transaction.
    for limit in [8_000u64, 20_000, 33_000, 34_000, 36_000, 40_000, 60_000] {
        for write in ["add", "rotate-key"] {
            n += 1;
            let (slug, token) = (format!("limited-{n:02}"), random_canary());
            let cmd = write_cmd(env, write, &slug, &token);
            let out = with_file_size_limit(cmd, &prlimit, limit).run();
            let what = format!("{write} with files limited to {limit} bytes");
            if out.status == 0 {
                if write == "add" {
                    tokens.insert(slug, token);
                }
            } else {
                failed += 1;
                assert_failed_cleanly(&out, &what);
            }
            assert_store_intact(env, &tokens, &what);
        }
    }
    eprintln!("file size limit: {n} writes, {failed} failed");
    assert!(
        failed > 0,
        "no write hit the limit: the test proves nothing"
    );
    add_custom(env, "after", &random_canary()).ok();
}

#[test]
fn a_file_size_limit_fails_writes_cleanly_and_keeps_the_store() {
    file_size_limit_fails_writes_cleanly(&Env::new());
}
