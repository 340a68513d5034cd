//! Held connections (`ohx store hold`, docs/ARCHITECTURE.md "Held connections"): later commands
//! run on the one server session the holder keeps open, and lose nothing by it: every check still
//! runs per command (a trigger planted between two commands is refused), a session the server
//! dropped or a holder killed with `kill -9` costs the next command nothing, the holder keeps none
//! of the job's other secrets, sixteen writers share it, and it ends when told or when unused.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{home_and_database, plain_server, psql, start_holder};
use crate::fixtures::{add_postgresql, assert_says, runtime_dir, WS};
use crate::harness::{random_canary, Env};
use crate::pg_server::PgServer;
use crate::store::concurrency::sixteen_processes_add_forty_connections_each;

/// Alice's home on a fresh database (`OHX_STORE`) with her workspace and a private runtime
/// folder (where the holder's socket goes); returns the home and the database.
fn alice_on(server: &PgServer) -> (Env, String) {
    let (env, database, url) = home_and_database(server);
    let runtime = runtime_dir(&env);
    let env = env
        .with_var("OHX_STORE", &url)
        .with_var("XDG_RUNTIME_DIR", runtime);
    env.admin_with_workspace(WS);
    (env, database)
}

/// A running holder, released when the test ends however it ends.
struct Holding<'a> {
    env: &'a Env,
    pid: u32,
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        let _ = self.env.ohx().args(["store", "release"]).run();
    }
}

fn hold(env: &Env) -> Holding<'_> {
    let pid = start_holder(env, "5m", &[]);
    Holding { env, pid }
}

/// Commands work, and no holder answers any more.
#[track_caller]
fn works_without_a_holder(env: &Env, password: &str) {
    let out = env.ohx().args(["connection", "env", "warehouse"]).ok();
    assert!(out.stdout.contains(password), "{out}");
    let status = env.ohx().args(["store", "hold", "--status", "--json"]).ok();
    assert_eq!(status.json()["held"], false, "{status}");
}

/// The server sessions of ohx on `database`, by process id.
fn sessions(server: &PgServer, database: &str) -> Vec<String> {
    psql(
        server,
        database,
        &format!(
            "SELECT pid FROM pg_stat_activity WHERE datname = '{}' AND application_name = 'ohx' ORDER BY pid",
            database.replace('\'', "''")
        ),
    )
    .lines()
    .map(str::to_string)
    .collect()
}

fn alive(pid: u32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[track_caller]
fn wait_until(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn later_commands_run_on_the_one_held_session_and_see_the_same_store() {
    let Some(server) = plain_server() else { return };
    let (env, database) = alice_on(&server);
    let password = random_canary();
    let holding = hold(&env);
    let held = sessions(&server, &database);
    assert_eq!(held.len(), 1, "the holder keeps one session: {held:?}");

    add_postgresql(&env, "warehouse", &password).ok();
    let env_out = env.ohx().args(["connection", "env", "warehouse"]).ok();
    assert!(env_out.stdout.contains(&password), "{env_out}");
    let listed = env.ohx().args(["connection", "list", "--json"]).ok();
    assert_eq!(listed.json().as_array().map(Vec::len), Some(1), "{listed}");
    env.person("bob");
    env.ohx()
        .args(["member", "add", "bob", "--role", "viewer"])
        .ok();
    env.ohx().args(["workspace", "verify", WS]).ok();
    assert_eq!(
        sessions(&server, &database),
        held,
        "every command ran on the held session, and no other was opened"
    );
    let status = env.ohx().args(["store", "hold", "--status", "--json"]).ok();
    assert_eq!(status.json()["pid"].as_u64(), Some(u64::from(holding.pid)));

    let released = env.ohx().args(["store", "release"]).ok();
    assert!(released.stdout.contains("released"), "{released}");
    wait_until("the holder ends", Duration::from_secs(10), || {
        !alive(holding.pid)
    });
    wait_until("its session ends", Duration::from_secs(10), || {
        sessions(&server, &database).is_empty()
    });
    works_without_a_holder(&env, &password);
}

#[test]
fn a_trigger_planted_between_two_held_commands_is_still_refused() {
    let Some(server) = plain_server() else { return };
    let (env, database) = alice_on(&server);
    let _holding = hold(&env);
    env.ohx().args(["workspace", "list"]).ok();
    psql(
        &server,
        &database,
        "CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$;
         CREATE TRIGGER keep_bob BEFORE DELETE ON memberships FOR EACH ROW EXECUTE FUNCTION keep();",
    );
    let out = env.ohx().args(["workspace", "list"]).fails(6);
    assert_says(&out, &["keep_bob"]);
}

#[test]
fn a_dropped_session_or_a_killed_holder_costs_the_next_command_nothing() {
    let Some(server) = plain_server() else { return };
    let (env, database) = alice_on(&server);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password).ok();
    let holding = hold(&env);
    // An administrator ends the idle session (or the server restarted meanwhile).
    psql(
        &server,
        &database,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND application_name = 'ohx'",
            database.replace('\'', "''")
        ),
    );
    wait_until("the session ends", Duration::from_secs(10), || {
        sessions(&server, &database).is_empty()
    });
    let out = env.ohx().args(["connection", "env", "warehouse"]).ok();
    assert!(out.stdout.contains(&password), "{out}");
    assert_eq!(
        sessions(&server, &database).len(),
        1,
        "the holder reconnected"
    );

    // A holder killed outright leaves its socket behind; commands connect on their own.
    let _ = std::process::Command::new("kill")
        .args(["-9", &holding.pid.to_string()])
        .status();
    wait_until("the holder dies", Duration::from_secs(10), || {
        !alive(holding.pid)
    });
    works_without_a_holder(&env, &password);
}

#[test]
fn the_holder_keeps_none_of_the_jobs_other_secrets_and_no_password_on_argv() {
    let Some(server) = plain_server() else { return };
    let (env, _) = alice_on(&server);
    let job_secret = random_canary();
    let vars = [
        ("AWS_SECRET_ACCESS_KEY", job_secret.as_str()),
        ("OHX_PASSPHRASE", job_secret.as_str()),
        ("PGPASSWORD", server.password.as_str()),
    ];
    let holding = Holding {
        env: &env,
        pid: start_holder(&env, "15m", &vars),
    };
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", holding.pid)).expect("cmdline");
    let cmdline = String::from_utf8_lossy(&cmdline);
    assert!(
        !cmdline.contains(&server.password),
        "password on argv: {cmdline}"
    );
    // Only root (or the kernel's own checks) can read a non-dumpable process's environment.
    if let Ok(environ) = std::fs::read(format!("/proc/{}/environ", holding.pid)) {
        let environ = String::from_utf8_lossy(&environ);
        assert!(
            !environ.contains(&job_secret),
            "the job's secret is in the holder"
        );
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", holding.pid)).expect("status");
    assert!(status.contains("Uid:"), "{status}");
}

#[test]
fn sixteen_writers_share_the_holder_and_all_640_connections_are_saved() {
    let Some(server) = plain_server() else { return };
    let (env, _) = alice_on(&server);
    let _holding = hold(&env);
    sixteen_processes_add_forty_connections_each(&env);
}

#[test]
fn an_unused_holder_ends_by_itself() {
    let Some(server) = plain_server() else { return };
    let (env, database) = alice_on(&server);
    let pid = start_holder(&env, "1s", &[]);
    wait_until("the unused holder ends", Duration::from_secs(15), || {
        !alive(pid)
    });
    assert!(sessions(&server, &database).is_empty());
}

#[test]
fn holding_a_store_file_is_a_usage_error_with_a_hint() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let out = env.ohx().args(["store", "hold"]).fails(2);
    assert_says(&out, &["SQLite file", "postgresql://"]);
}
