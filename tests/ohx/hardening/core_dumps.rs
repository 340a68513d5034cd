//! No secrets in core dumps: with `ulimit -c unlimited`, Ctrl-\ (SIGQUIT) on a waiting `ohx run`
//! wrote a core holding the plaintext password and the identity's secret scalar. Every ohx process
//! now makes itself non-dumpable and sets its core limit to zero first; the child it starts gets
//! the caller's limit back.

use std::path::{Path, PathBuf};

use crate::harness::{Env, Outcome};
use crate::store_probe::contains;

use crate::credentials::support::{one_connection, wait_for};

/// The soft core-size limit of process `pid`, as `/proc/PID/limits` shows it.
fn soft_core_limit(pid: &str) -> Option<String> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))?;
    line.split_whitespace().nth(4).map(str::to_string)
}

/// Whether the kernel writes cores as plain files named by a relative pattern without `%`
/// (like the default `core`): then a core of a process would land in its working folder.
fn core_files_land_in_cwd() -> Option<String> {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").ok()?;
    let pattern = pattern.trim().to_string();
    let plain = !pattern.is_empty()
        && !pattern.starts_with('|')
        && !pattern.contains('/')
        && !pattern.contains('%');
    plain.then_some(pattern)
}

fn cores_in(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(pattern))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sigquit_on_a_waiting_run_writes_no_core_and_the_child_keeps_its_limit() {
    let env = Env::new();
    let token = one_connection(&env);
    let work = env.root().join("work");
    std::fs::create_dir(&work).unwrap();
    let ready = env.root().join("ready");
    let child_limit = env.root().join("child-limit");
    // The child reports its own core limit, then waits to be killed with ohx. SIGQUIT is set
    // back to its default for ohx: a test run started in the background by a shell without job
    // control inherits it ignored, and ohx rightly keeps an ignored signal ignored.
    let child = env
        .ohx()
        .shell(
            "sh",
            r#"ulimit -c unlimited; cd "$OHX_TEST_WORK"; exec env --default-signal=QUIT "$0" "$@""#,
        )
        .env("OHX_TEST_WORK", &work)
        .args(["run", "-c", "kobo", "--", "sh", "-c"])
        .arg(r#"exec >/dev/null 2>&1; ulimit -c > "$2"; : > "$1"; sleep 20"#)
        .arg("sh")
        .arg(&ready)
        .arg(&child_limit)
        .spawn();
    let ohx_pid = child.id().to_string();
    assert!(wait_for(&ready), "the child never started");
    let ohx_limit = soft_core_limit(&ohx_pid);
    let sent = std::process::Command::new("sh")
        .args(["-c", "kill -QUIT \"$1\"", "sh", &ohx_pid])
        .status()
        .is_ok_and(|s| s.success());
    assert!(sent, "could not send SIGQUIT to ohx ({ohx_pid})");
    let out = Outcome::of(child);
    assert_eq!(out.status, 128 + 3, "ohx should die of SIGQUIT\n{out}");
    assert_eq!(ohx_limit.as_deref(), Some("0"), "ohx's own soft core limit");
    let limit = std::fs::read_to_string(&child_limit).unwrap_or_default();
    assert_eq!(
        limit.trim(),
        "unlimited",
        "the child must get the caller's core limit"
    );
    match core_files_land_in_cwd() {
        Some(pattern) => {
            let cores = cores_in(&work, &pattern);
            let leaked: Vec<&PathBuf> = cores
                .iter()
                .filter(|p| std::fs::read(p).is_ok_and(|b| contains(&b, token.as_bytes())))
                .collect();
            assert!(
                cores.is_empty(),
                "ohx left cores {cores:?}; holding the secret: {leaked:?}"
            );
        }
        None => eprintln!(
            "skipping the core-file part: core_pattern is not a plain relative name, so a core \
             would not land in the working folder (the limit was still checked)"
        ),
    }
}

#[test]
fn every_ohx_command_runs_without_a_core_limit() {
    // `connection get` holds the identity and a secret too; a waiting prompt is the easiest
    // moment to look at it, so look at a process blocked on a passphrase-free long stdin read.
    let env = Env::new();
    one_connection(&env);
    let mut child = env
        .ohx()
        .shell("sh", r#"ulimit -c unlimited; exec "$0" "$@""#)
        .args(["connection", "edit", "kobo", "--secret", "token=-"])
        .stdin_kept_open()
        .spawn();
    let pid = child.id().to_string();
    let mut limit = None;
    for _ in 0..200 {
        limit = soft_core_limit(&pid);
        if limit.as_deref() == Some("0") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(child.stdin.take());
    let _ = Outcome::of(child);
    assert_eq!(
        limit.as_deref(),
        Some("0"),
        "soft core limit of a waiting ohx"
    );
}

/// `nobody`, for a test that needs two processes of one ordinary user.
const NOBODY: u32 = 65534;

/// Runs `cmd` as `nobody` through `setpriv` (util-linux).
fn as_nobody(cmd: crate::harness::Cmd) -> crate::harness::Cmd {
    cmd.shell(
        "sh",
        &format!(r#"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "$0" "$@""#),
    )
}

#[test]
fn another_process_of_the_same_user_cannot_read_a_waiting_ohx() {
    // Non-dumpable also closes /proc/PID/environ and /proc/PID/mem to the user's other
    // processes: a compromised tool of the same user cannot lift OHX_PASSPHRASE or a key.
    if !crate::harness::is_root() || crate::harness::in_path("setpriv").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test as root with setpriv"
        );
        eprintln!("skipping: needs root and setpriv to act as two processes of one user");
        return;
    }
    let env = Env::new();
    let chown = |p: &Path| {
        rustix::fs::chown(
            p,
            Some(rustix::process::Uid::from_raw(NOBODY)),
            Some(rustix::process::Gid::from_raw(NOBODY)),
        )
        .unwrap()
    };
    chown(env.root());
    as_nobody(env.ohx()).args(["init", "--name", "nobody"]).ok();
    as_nobody(env.ohx())
        .args(["workspace", "create", "ws", "--slug", "ws"])
        .ok();
    let canary = crate::harness::random_canary();
    // Waits for the secret on stdin, which the test keeps open.
    let mut waiting = as_nobody(env.ohx())
        .env("OHX_PASSPHRASE", &canary)
        .args([
            "connection",
            "add",
            "custom",
            "--name",
            "k",
            "--set",
            "url=x",
        ])
        .args(["--secret", "token=-"])
        .stdin_kept_open()
        .spawn();
    // Give it time to be running ohx (after setpriv's exec) with the canary in its environment.
    let pid = waiting.id().to_string();
    let mut read = None;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if contains(&cmdline, b"token=-") {
            let out = std::process::Command::new("setpriv")
                .args([
                    &format!("--reuid={NOBODY}"),
                    &format!("--regid={NOBODY}"),
                    "--clear-groups",
                ])
                .args(["cat", &format!("/proc/{pid}/environ")])
                .output()
                .unwrap();
            read = Some(out);
            break;
        }
    }
    drop(waiting.stdin.take());
    let _ = Outcome::of(waiting);
    let read = read.expect("the waiting ohx never showed up");
    assert!(
        !contains(&read.stdout, canary.as_bytes()),
        "another process of the same user read OHX_PASSPHRASE from /proc/PID/environ"
    );
    assert!(
        !read.status.success(),
        "reading /proc/PID/environ should be refused"
    );
}
