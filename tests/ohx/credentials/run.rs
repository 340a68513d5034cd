//! `ohx run`: the child's exit status passed through (128+N, 127, 126), SIGTERM, SIGINT and
//! SIGHUP from another process forwarded, native variables unless `--no-native`, the GCS key
//! handed over as a sealed memory file (or, without one, a private file that disappears), stale
//! key files swept, ohx's own variables kept from the child, values up to the kernel's limit
//! passed and larger ones refused, and no child at all when a connection cannot be used.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::fixtures::{gcs_key, join, parse_env0, runtime_dir};
use crate::harness::{file_mode, random_canary, set_mode, Env, Outcome};
use crate::store_probe::flip_ciphertext_bit;

use super::support::{
    add_connection, add_gcs_lake, one_connection, standard_connections, wait_for, write_file, WS,
};

/// A pid no process can have: one above the kernel's `pid_max`.
fn dead_pid() -> u64 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(999_999, |max| max + 1)
}

/// The GCS key file `ohx run` with process id `pid` keeps under `runtime` (`XDG_RUNTIME_DIR`),
/// created empty and private in its private folder, as that process would leave it.
fn key_file_left_by(runtime: &Path, pid: u64) -> PathBuf {
    let folder = runtime.join("ohx");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&folder)
        .unwrap();
    let path = folder.join(format!("gcs-{pid}-0.json"));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    path
}

/// `kill -SIGNAL PID` from another process, as a scheduler would send it. Through `sh`'s builtin
/// `kill`, so the tests need neither procps (not essential on Debian) nor a signal crate.
fn send_signal(signal: &str, pid: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", "kill -s \"$1\" \"$2\"", "sh", signal, pid])
        .status()
        .expect("run sh")
        .success()
}

#[test]
fn run_exits_with_the_childs_status() {
    let env = Env::new();
    one_connection(&env);
    let out = env
        .ohx()
        .args(["run", "-c", "kobo", "--", "sh", "-c", "exit 7"])
        .run();
    assert_eq!(out.status, 7, "{out}");
}

#[test]
fn run_exits_128_plus_n_when_the_child_is_killed_by_signal_n() {
    let env = Env::new();
    one_connection(&env);
    let out = env
        .ohx()
        .args(["run", "-c", "kobo", "--", "sh", "-c", "kill -TERM $$"])
        .run();
    assert_eq!(out.status, 143, "{out}");
}

#[test]
fn run_exits_127_when_the_command_is_not_found() {
    let env = Env::new();
    one_connection(&env);
    let out = env
        .ohx()
        .args(["run", "-c", "kobo", "--", "ohx-test-no-such-command"])
        .fails(127);
    assert!(out.stderr.contains("ohx-test-no-such-command"), "{out}");
}

#[test]
fn run_exits_126_when_the_command_is_not_executable() {
    let env = Env::new();
    one_connection(&env);
    let script = write_file(&env, "not-executable.sh", b"#!/bin/sh\necho ran\n");
    set_mode(&script, 0o644);
    let out = env
        .ohx()
        .args(["run", "-c", "kobo", "--"])
        .arg(&script)
        .fails(126);
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn run_forwards_sigterm_to_the_child_and_exits_with_its_status() {
    let env = Env::new();
    one_connection(&env);
    let ready = env.root().join("child-ready");
    let child = env
        .ohx()
        .args(["run", "-c", "kobo", "--", "sh", "-c"])
        .arg("trap 'exit 42' TERM; : > \"$1\"; while :; do sleep 0.05; done")
        .arg("sh")
        .arg(&ready)
        .spawn();
    let ohx_pid = child.id().to_string();
    let started = wait_for(&ready);
    let killed = send_signal("TERM", &ohx_pid);
    let out = Outcome::of(child);
    assert!(started, "the child never started\n{out}");
    assert!(killed, "kill -TERM {ohx_pid} failed");
    assert_eq!(out.status, 42, "{out}");
}

#[test]
fn run_forwards_sigint_and_sighup_sent_by_another_process() {
    let env = Env::new();
    one_connection(&env);
    for (signal, status) in [("INT", 43), ("HUP", 44)] {
        let ready = env.root().join(format!("child-ready-{signal}"));
        let child = env
            .ohx()
            .args(["run", "-c", "kobo", "--", "sh", "-c"])
            .arg(format!(
                "trap 'exit {status}' {signal}; : > \"$1\"; while :; do sleep 0.05; done"
            ))
            .arg("sh")
            .arg(&ready)
            .spawn();
        let ohx_pid = child.id().to_string();
        let started = wait_for(&ready);
        let killed = send_signal(signal, &ohx_pid);
        let out = Outcome::of(child);
        assert!(started, "the child never started\n{out}");
        assert!(killed, "kill -{signal} {ohx_pid} failed");
        assert_eq!(out.status, status, "SIG{signal}\n{out}");
    }
}

#[test]
fn run_adds_native_variables_unless_no_native() {
    let env = Env::new();
    let s = standard_connections(&env);
    let runtime = runtime_dir(&env);
    let child_env = |extra: &[&str]| {
        let out = env
            .ohx()
            .env("XDG_RUNTIME_DIR", &runtime)
            .arg("run")
            .args(extra)
            .args([
                "-c",
                "warehouse",
                "-c",
                "archive",
                "-c",
                "lake",
                "--",
                "env",
                "-0",
            ])
            .ok();
        parse_env0(out.stdout.as_bytes())
    };
    let native = child_env(&[]);
    let get = |vars: &std::collections::BTreeMap<String, Vec<u8>>, name: &str| {
        vars.get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(get(&native, "PGPASSWORD"), Some(s.pg_password.clone()));
    assert_eq!(get(&native, "PGPORT").as_deref(), Some("6543"));
    assert_eq!(get(&native, "AWS_SECRET_ACCESS_KEY"), Some(s.s3_secret));
    assert!(native.contains_key("GOOGLE_APPLICATION_CREDENTIALS"));
    let bare = child_env(&["--no-native"]);
    let extra: Vec<&String> = bare
        .keys()
        .filter(|n| n.starts_with("PG") || n.starts_with("AWS_") || n.starts_with("GOOGLE_"))
        .collect();
    assert!(extra.is_empty(), "--no-native still set {extra:?}");
    assert_eq!(get(&bare, "WAREHOUSE_PASSWORD"), Some(s.pg_password));
}

#[test]
fn run_hands_the_gcs_key_privately_and_leaves_no_file() {
    // Under `umask 000`, so the file and its folder are private by ohx's doing, not the umask's.
    let env = Env::new();
    env.admin_with_workspace(WS);
    let key = gcs_key(&random_canary());
    add_gcs_lake(&env, &key);
    let runtime = runtime_dir(&env);
    let report = env.root().join("report");
    std::fs::create_dir(&report).unwrap();
    env.ohx()
        .umask("000")
        .env("XDG_RUNTIME_DIR", &runtime)
        .args(["run", "-c", "lake", "--", "sh", "-c"])
        .arg(
            r#"f="$GOOGLE_APPLICATION_CREDENTIALS"
               cat "$f" > "$1/key"; stat -L -c %a "$f" > "$1/mode"; printf %s "$f" > "$1/path""#,
        )
        .arg("sh")
        .arg(&report)
        .ok();
    let read = |name: &str| std::fs::read_to_string(report.join(name)).unwrap();
    assert!(read("key") == key, "the key file differs from the key");
    let path = PathBuf::from(read("path"));
    if path.starts_with("/proc") {
        // Linux: a sealed memory file, read-only to its owner, never on a disk.
        assert_eq!(read("mode").trim(), "400");
        assert!(
            crate::store_probe::files_under(&runtime).is_empty(),
            "a key file was written"
        );
        return;
    }
    assert_eq!(read("mode").trim(), "600");
    assert!(path.starts_with(runtime.join("ohx")), "{}", path.display());
    assert_eq!(file_mode(&runtime.join("ohx")), 0o700);
    assert!(!path.exists(), "{} is still there", path.display());
}

#[test]
fn run_sweeps_a_key_file_left_by_a_dead_ohx_and_keeps_a_live_ones() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_gcs_lake(&env, &gcs_key(&random_canary()));
    let runtime = runtime_dir(&env);
    let stale = key_file_left_by(&runtime, dead_pid());
    // This test process is alive.
    let live = key_file_left_by(&runtime, u64::from(std::process::id()));
    env.ohx()
        .env("XDG_RUNTIME_DIR", &runtime)
        .args(["run", "-c", "lake", "--", "true"])
        .ok();
    assert!(!stale.exists(), "{} was not swept", stale.display());
    assert!(
        live.exists(),
        "{} belongs to a live process",
        live.display()
    );
}

#[test]
fn run_without_a_gcs_connection_also_sweeps_stale_key_files() {
    // keyfiles.rs promises that files left by a killed ohx "are swept by the next run"; a run of
    // connections without a GCS key (or with --no-native) leaves the plaintext key on disk.
    let env = Env::new();
    one_connection(&env);
    let runtime = runtime_dir(&env);
    let stale = key_file_left_by(&runtime, dead_pid());
    env.ohx()
        .env("XDG_RUNTIME_DIR", &runtime)
        .args(["run", "-c", "kobo", "--", "true"])
        .ok();
    assert!(!stale.exists(), "{} was not swept", stale.display());
}

#[test]
fn run_keeps_ohx_variables_out_of_the_childs_environment() {
    let env = Env::new();
    one_connection(&env);
    let passphrase = random_canary();
    // Every path through variables ohx itself reads, instead of OHX_HOME.
    let out = env
        .ohx()
        .env_remove("OHX_HOME")
        .env("OHX_STORE", env.store())
        .env("OHX_IDENTITY", env.identity_of("alice"))
        .env("OHX_CONFIG", env.home().join("config.toml"))
        .env("OHX_PASSPHRASE", &passphrase)
        .env("OHX_WORKSPACE", WS)
        .env("OHX_NO_SUCH_SETTING", "x")
        .env("KEEP_ME", "kept")
        .args(["run", "-c", "kobo", "--", "env", "-0"])
        .ok();
    let vars = parse_env0(out.stdout.as_bytes());
    let ohx: Vec<&String> = vars.keys().filter(|n| n.starts_with("OHX_")).collect();
    assert!(ohx.is_empty(), "the child got {ohx:?}");
    assert!(!out.stdout.contains(&passphrase), "{out}");
    assert_eq!(vars.get("KEEP_ME").map(Vec::as_slice), Some(&b"kept"[..]));
    assert_eq!(vars.get("KOBO").map(Vec::as_slice), Some(&b"custom"[..]));
}

/// Alice adds a custom connection `huge` whose secret `blob` is `len` bytes starting with a canary.
fn huge_connection(env: &Env, len: usize) -> String {
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let mut big = canary.clone().into_bytes();
    big.resize(len, b'x');
    add_connection(env, "custom", "huge", &[("url", "x")], &[("blob", &big)]);
    canary
}

/// Linux takes one `NAME=value` string of at most 128 KiB, its final NUL included.
const KERNEL_LIMIT: usize = 128 * 1024;

#[test]
fn run_passes_a_value_exactly_at_the_kernel_limit() {
    let env = Env::new();
    let len = KERNEL_LIMIT - "HUGE_BLOB=".len() - 1;
    huge_connection(&env, len);
    let out = env
        .ohx()
        .args([
            "run",
            "-c",
            "huge",
            "--",
            "sh",
            "-c",
            "printf %s \"$HUGE_BLOB\" | wc -c",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), len.to_string(), "{out}");
}

#[test]
fn run_refuses_a_value_over_128_kib_naming_the_field_before_starting_the_child() {
    let env = Env::new();
    let canary = huge_connection(&env, 129 * 1024);
    let started = env.root().join("child-started");
    let out = env
        .ohx()
        .args(["run", "-c", "huge", "--", "sh", "-c", ": > \"$1\"", "sh"])
        .arg(&started)
        .fails(2);
    assert!(out.stderr.contains("blob"), "{out}");
    assert!(!out.stderr.contains(&canary), "{out}");
    assert!(!started.exists(), "the child was started");
}

#[test]
fn run_starts_nothing_when_a_connection_fails_to_decrypt() {
    let env = Env::new();
    standard_connections(&env);
    flip_ciphertext_bit(&env, WS, "dhis2-prod", "password");
    let started = env.root().join("child-started");
    let out = env
        .ohx()
        .args(["run", "-c", "warehouse", "-c", "dhis2-prod", "--"])
        .args(["sh", "-c", "env > \"$1\"", "sh"])
        .arg(&started)
        .fails(5);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(!started.exists(), "the child was started");
}

#[test]
fn a_viewer_is_refused_run_and_the_child_never_starts() {
    let env = Env::new();
    one_connection(&env);
    join(&env, "bob", "viewer", None);
    let started = env.root().join("child-started");
    let out = env
        .ohx_as("bob")
        .args(["run", "-c", "kobo", "--", "sh", "-c", ": > \"$1\"", "sh"])
        .arg(&started)
        .fails(4);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(!started.exists(), "the child was started");
}
