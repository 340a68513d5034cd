//! What `ohx run` leaves behind: after `kill -9` of ohx the GCS key stayed on disk and the child
//! ran on as an orphan; inherited variables mixed with the native ones; the child got ohx's umask;
//! two PostgreSQL connections could not both be run; an environment over the system's limit gave
//! exit 126 from the kernel instead of an error.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::fixtures::{gcs_key, parse_env0, runtime_dir};
use crate::harness::{random_canary, Env, Outcome};
use crate::store_probe::files_under;

use crate::credentials::support::{
    add_connection, add_gcs_lake, one_connection, standard_connections, wait_for, WS,
};

fn kill(signal: &str, pid: &str) {
    std::process::Command::new("sh")
        .args(["-c", "kill -s \"$1\" \"$2\"", "sh", signal, pid])
        .status()
        .unwrap();
}

/// Whether process `pid` is gone (or only a zombie waiting for whoever adopted it).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

fn wait_gone(pid: &str, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    gone(pid)
}

#[test]
fn after_kill_9_of_ohx_no_key_is_on_disk_and_the_child_is_told() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let key = gcs_key(&random_canary());
    add_gcs_lake(&env, &key);
    let runtime = runtime_dir(&env);
    let report = env.root().join("report");
    std::fs::create_dir(&report).unwrap();
    let child = env
        .ohx()
        .env("XDG_RUNTIME_DIR", &runtime)
        .args(["run", "-c", "lake", "--", "sh", "-c"])
        .arg(
            r#"exec >/dev/null 2>&1
               cat "$GOOGLE_APPLICATION_CREDENTIALS" > "$1/key"
               printf %s "$GOOGLE_APPLICATION_CREDENTIALS" > "$1/path"
               echo $$ > "$1/pid.tmp"; mv "$1/pid.tmp" "$1/pid"
               sleep 30"#,
        )
        .arg("sh")
        .arg(&report)
        .spawn();
    let ohx_pid = child.id().to_string();
    assert!(wait_for(&report.join("pid")), "the child never started");
    let child_pid = std::fs::read_to_string(report.join("pid"))
        .unwrap()
        .trim()
        .to_string();
    kill("KILL", &ohx_pid);
    let _ = Outcome::of(child);
    assert_eq!(
        std::fs::read_to_string(report.join("key")).unwrap(),
        key,
        "the child did not get the key"
    );
    let left: Vec<_> = files_under(&runtime);
    assert!(left.is_empty(), "left on disk after kill -9: {left:?}");
    let given = std::fs::read_to_string(report.join("path")).unwrap();
    assert!(
        given.starts_with(&format!("/proc/{child_pid}/fd/")),
        "the key was given as {given}, a file"
    );
    assert!(
        wait_gone(&child_pid, Duration::from_secs(5)),
        "the child {child_pid} still runs after ohx died"
    );
}

#[test]
fn the_key_given_to_the_child_cannot_be_changed_by_it() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let key = gcs_key(&random_canary());
    add_gcs_lake(&env, &key);
    let out = env
        .ohx()
        .env("XDG_RUNTIME_DIR", runtime_dir(&env))
        .args(["run", "-c", "lake", "--", "sh", "-c"])
        .arg(r#"f="$GOOGLE_APPLICATION_CREDENTIALS"; (printf x >> "$f") 2>/dev/null; (: > "$f") 2>/dev/null; cat "$f""#)
        .ok();
    assert!(out.stdout == key, "the child changed its key:\n{out}");
}

#[test]
fn inherited_variables_that_pair_with_native_ones_are_removed() {
    let env = Env::new();
    standard_connections(&env);
    let removed = [
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "PGHOSTADDR",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGPASSFILE",
        "PGSSLCERT",
        "PGSSLKEY",
        "PGOPTIONS",
        "CLOUDSDK_CONFIG",
        "CLOUDSDK_CORE_ACCOUNT",
        "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE",
        "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
    ];
    // What only makes a connection stricter, or says where the caller is, stays.
    let kept = [
        ("PGSSLMODE", "verify-full"),
        ("AWS_REGION", "eu-west-1"),
        ("KEEP_ME", "1"),
    ];
    let mut cmd = env.ohx().env("XDG_RUNTIME_DIR", runtime_dir(&env));
    for name in removed {
        cmd = cmd.env(name, "inherited");
    }
    for (name, value) in kept {
        cmd = cmd.env(name, value);
    }
    let run = |cmd: crate::harness::Cmd, extra: &[&str]| {
        let out = cmd
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
    let vars = run(cmd.clone(), &[]);
    let still: Vec<&str> = removed
        .iter()
        .copied()
        .filter(|n| vars.contains_key(*n))
        .collect();
    assert!(still.is_empty(), "the child still got {still:?}");
    for (name, value) in kept {
        assert_eq!(
            vars.get(name).map(Vec::as_slice),
            Some(value.as_bytes()),
            "{name}"
        );
    }
    // Without native variables there is nothing to pair with: the caller's stay.
    let bare = run(cmd, &["--no-native"]);
    let lost: Vec<&str> = removed
        .iter()
        .copied()
        .filter(|n| !bare.contains_key(*n))
        .collect();
    assert!(lost.is_empty(), "--no-native removed {lost:?}");
}

#[test]
fn the_child_gets_the_callers_umask() {
    let env = Env::new();
    one_connection(&env);
    for mask in ["022", "002", "027"] {
        let out = env
            .ohx()
            .umask(mask)
            .args(["run", "-c", "kobo", "--", "sh", "-c", "umask"])
            .ok();
        assert_eq!(out.stdout.trim(), format!("0{mask}"), "{out}");
    }
}

/// Alice with two PostgreSQL connections, `main-db` and `replica`.
fn two_postgres(env: &Env) {
    env.admin_with_workspace(WS);
    for (id, host) in [
        ("main-db", "main.example.org"),
        ("replica", "replica.example.org"),
    ] {
        add_connection(
            env,
            "postgresql",
            id,
            &[
                ("host", host),
                ("port", "5432"),
                ("username", "etl"),
                ("db_name", "dwh"),
            ],
            &[("password", random_canary().as_bytes())],
        );
    }
}

#[test]
fn two_postgresql_connections_clash_and_the_hint_names_native_for() {
    let env = Env::new();
    two_postgres(&env);
    let out = env
        .ohx()
        .args(["run", "-c", "main-db", "-c", "replica", "--", "true"])
        .fails_somehow();
    assert!(out.stderr.contains("--native-for"), "{out}");
}

#[test]
fn native_for_chooses_which_connection_gets_the_pg_variables() {
    let env = Env::new();
    two_postgres(&env);
    let out = env
        .ohx()
        .args([
            "run",
            "-c",
            "main-db",
            "-c",
            "replica",
            "--native-for",
            "replica",
        ])
        .args(["--", "env", "-0"])
        .ok();
    let vars = parse_env0(out.stdout.as_bytes());
    let get = |n: &str| vars.get(n).map(|v| String::from_utf8_lossy(v).into_owned());
    assert_eq!(get("PGHOST").as_deref(), Some("replica.example.org"));
    assert_eq!(get("MAIN_DB_HOST").as_deref(), Some("main.example.org"));
    assert_eq!(get("REPLICA_HOST").as_deref(), Some("replica.example.org"));
    let out = env
        .ohx()
        .args([
            "run",
            "-c",
            "main-db",
            "--native-for",
            "replica",
            "--",
            "true",
        ])
        .fails(2);
    assert!(out.stderr.contains("replica"), "{out}");
}

#[test]
fn an_environment_over_the_system_limit_is_an_error_before_the_child_starts() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let limit = std::process::Command::new("getconf")
        .arg("ARG_MAX")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(2 * 1024 * 1024);
    // Values under the 128 KiB per-variable limit whose sum is over the total one.
    let each = 120 * 1024;
    let count = limit / each + 2;
    let values: Vec<(String, Vec<u8>)> = (0..count)
        .map(|i| (format!("v{i:02}"), vec![b'x'; each]))
        .collect();
    let secrets: Vec<(&str, &[u8])> = values
        .iter()
        .map(|(c, v)| (c.as_str(), v.as_slice()))
        .collect();
    add_connection(&env, "custom", "bulk", &[("url", "x")], &secrets);
    let started = env.root().join("started");
    let out = env
        .ohx()
        .args(["run", "-c", "bulk", "--", "sh", "-c", ": > \"$1\"", "sh"])
        .arg(&started)
        .fails(2);
    assert!(out.stderr.contains("environment"), "{out}");
    assert!(!Path::new(&started).exists(), "the child was started");
}

#[test]
fn a_grandchild_that_does_not_inherit_the_descriptor_still_reads_the_key() {
    // Python's subprocess closes inherited descriptors by default: `gsutil` started from a
    // pipeline must still find the key while the pipeline runs.
    let env = Env::new();
    env.admin_with_workspace(WS);
    let key = gcs_key(&random_canary());
    add_gcs_lake(&env, &key);
    let out = env
        .ohx()
        .env("XDG_RUNTIME_DIR", runtime_dir(&env))
        // bash applies `N<&-` to the grandchild alone (dash closes it in the shell itself).
        .args(["run", "-c", "lake", "--", "bash", "-c"])
        .arg(r#"f="$GOOGLE_APPLICATION_CREDENTIALS"; n="${f##*/}"; eval "cat \"\$f\" $n<&-""#)
        .ok();
    assert!(
        out.stdout == key,
        "the grandchild could not read the key:\n{out}"
    );
}
