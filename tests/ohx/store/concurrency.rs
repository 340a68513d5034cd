//! Many ohx processes at once: sixteen creating workspaces, eight first runs on a fresh machine,
//! sixteen adding forty connections each, and processes starting while another checkpoints a
//! growing WAL. All succeed and the store stays sound.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::fixtures::{add_custom, env_json, prefix, WS};
use crate::harness::{random_canary, Env, Outcome};
use crate::store_probe::{integrity, open_db, query_i64};

#[test]
fn sixteen_processes_creating_workspaces_at_once_all_succeed() {
    let env = Env::new();
    env.person("alice");
    let children: Vec<_> = (0..16)
        .map(|i| {
            env.ohx()
                .args(["workspace", "create", &format!("Workspace {i}")])
                .args(["--slug", &format!("ws-{i}")])
                .spawn()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = Outcome::of(child);
        assert_eq!(out.status, 0, "process {i}\n{out}");
    }
    let list = env.ohx().args(["workspace", "list", "--json"]).ok().json();
    assert_eq!(list.as_array().expect("array").len(), 16, "{list}");
    assert_eq!(integrity(&env), "ok");
}

#[test]
fn concurrent_first_runs_all_succeed_with_one_identity() {
    // Store::create is built for concurrent first runs (hard link into place); the identity and
    // the user must be just as safe, e.g. for jobs started in parallel on a fresh machine.
    for trial in 0..20 {
        let env = Env::new();
        let children: Vec<_> = (0..8).map(|_| env.ohx().arg("whoami").spawn()).collect();
        for (i, child) in children.into_iter().enumerate() {
            let out = Outcome::of(child);
            assert_eq!(out.status, 0, "trial {trial}, process {i}\n{out}");
        }
        assert_eq!(query_i64(&env, "SELECT count(*) FROM users"), 1);
        let recipient = env.ohx().args(["whoami", "--recipient"]).ok().stdout;
        let registered: String = open_db(&env.store())
            .query_row("SELECT recipient FROM users", [], |r| r.get(0))
            .expect("user");
        assert_eq!(recipient.trim(), registered);
    }
}

#[test]
fn sixteen_processes_adding_forty_connections_each_end_with_640() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    sixteen_processes_add_forty_connections_each(&env);
    assert_eq!(integrity(&env), "ok");
}

/// Sixteen processes at once each add forty connections to alice's [`WS`], one after the other,
/// all with one token: every add succeeds, `connection list` then shows exactly the 640, and
/// every secret written under contention opens. On any store (`team_store::faults` too).
#[track_caller]
pub fn sixteen_processes_add_forty_connections_each(env: &Env) {
    const WORKERS: usize = 16;
    const EACH: usize = 40;
    let token = random_canary();
    let start = std::sync::Barrier::new(WORKERS);
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (start, token) = (&start, &token);
                scope.spawn(move || {
                    start.wait();
                    let mut failed = Vec::new();
                    for i in 0..EACH {
                        let out = add_custom(env, &format!("w{w:02}-c{i:02}"), token).run();
                        if out.status != 0 {
                            failed
                                .push(format!("worker {w}, add {i}: status {}\n{out}", out.status));
                        }
                    }
                    failed
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker thread panicked"))
            .collect()
    });
    eprintln!(
        "{} adds by {WORKERS} processes took {:?}",
        WORKERS * EACH,
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} adds failed; the first:\n{}",
        failures.len(),
        WORKERS * EACH,
        failures[..failures.len().min(3)].join("\n")
    );

    let list = env
        .ohx()
        .args(["connection", "list", "--json", "-w", WS])
        .ok()
        .json();
    let listed: BTreeSet<String> = list
        .as_array()
        .expect("list --json is an array")
        .iter()
        .map(|c| c["identifier"].as_str().expect("identifier").to_string())
        .collect();
    let expected: BTreeSet<String> = (0..WORKERS)
        .flat_map(|w| (0..EACH).map(move |i| format!("w{w:02}-c{i:02}")))
        .collect();
    assert_eq!(list.as_array().map(Vec::len), Some(WORKERS * EACH));
    assert_eq!(listed, expected);
    // Every secret written under contention opens.
    let ids: Vec<String> = expected.into_iter().collect();
    let vars = env_json(env, &ids);
    for id in &ids {
        assert_eq!(
            vars.get(&format!("{}_TOKEN", prefix(id))),
            Some(&token),
            "{id}"
        );
    }
}

#[test]
fn a_store_growing_in_a_checkpoint_is_never_reported_truncated() {
    // A checkpoint copies the WAL into the store page by page, page 1 (whose header holds the new
    // page count) first: for a moment the header promises pages the file does not have yet.
    // Another ohx starting then must wait for SQLite, not call the store truncated.
    const CYCLES: usize = 10;
    const READERS: usize = 4;
    let env = Env::new();
    env.admin_with_workspace(WS);
    let ballast = "b".repeat(100 * 1024);
    let mut refused = Vec::new();
    let mut n = 0;
    for cycle in 0..CYCLES {
        // While a connection is open and reading, ohx cannot checkpoint at exit: the WAL grows.
        let keeper = open_db(&env.store());
        keeper
            .set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            )
            .expect("no checkpoint when the keeper closes");
        let _: i64 = keeper
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .expect("read");
        for _ in 0..8 {
            n += 1;
            add_custom(&env, &format!("c{n:03}"), &random_canary())
                .args(["--description", &ballast])
                .ok();
        }
        drop(keeper);
        // The first of these to exit alone checkpoints ~200 pages; the others keep starting.
        let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
            let readers: Vec<_> = (0..READERS)
                .map(|_| {
                    let env = &env;
                    scope.spawn(move || {
                        (0..12)
                            .map(|_| env.ohx().arg("whoami").run())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            readers
                .into_iter()
                .flat_map(|r| r.join().expect("reader thread"))
                .collect()
        });
        refused.extend(
            outcomes
                .into_iter()
                .filter(|o| o.status != 0)
                .map(|o| format!("cycle {cycle}: status {}\n{o}", o.status)),
        );
    }
    assert!(
        refused.is_empty(),
        "{} of {} commands failed while another ohx checkpointed; the first:\n{}",
        refused.len(),
        CYCLES * READERS * 12,
        refused[0]
    );
    assert_eq!(integrity(&env), "ok");
}
