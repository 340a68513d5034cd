//! Where secrets must never appear: random canary secrets searched for, plain, hex and base64,
//! in every file of the ohx home (store, `-wal`, `-shm`, journals), also right after a writer is
//! killed mid-transaction; on the stderr of every command; and on the command line of a running
//! ohx. The search itself is checked first: it finds what is there.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::connection::support::{
    add_cmd, all_types, postgresql_cmd, revealed, secret, team_with_every_type, with_secrets,
    Source, Spec, WS,
};
use crate::faults::{kill_after, random_delay, typical_run, Killed};
use crate::fixtures::{
    add_postgresql, assert_no_canary_anywhere, assert_no_canary_on_stderr, join,
};
use crate::harness::{finishes_within, random_canary, Env, Outcome};
use crate::store_probe::{
    assert_no_canary_in_files, base64, base64_core, contains, files_under, leaked_forms, open_db,
    sidecar,
};

// ---------------------------------------------------------------------------------------------
// The search finds what is there
// ---------------------------------------------------------------------------------------------

#[test]
fn the_canary_search_finds_what_is_there() {
    // base64 of "Man" is "TWFu"; of "xMan", "eE1hbg" of which "1hbg" encodes only "Man"'s bits.
    assert_eq!(base64(b"Man"), "TWFu");
    assert_eq!(base64(b"Ma"), "TWE");
    assert_eq!(base64_core(b"Man", 0), "TWFu");
    assert_eq!(base64(b"xMan"), "eE1hbg");
    assert_eq!(base64_core(b"Man", 1), "1hb");
    let secret = b"canary-0123456789abcdef01234567";
    for skip in 0..3 {
        let mut blob = b"prefix".to_vec();
        blob.extend(std::iter::repeat_n(b'x', skip));
        blob.extend_from_slice(secret);
        blob.extend_from_slice(b"suffix");
        let encoded = base64(&blob);
        // Whatever the alignment in the blob, one of the three forms is in its encoding.
        let found = (0..3).any(|k| encoded.contains(&base64_core(secret, k)));
        assert!(found, "alignment {skip}: {encoded}");
    }
}

#[test]
fn the_canary_forms_are_found_in_encoded_text() {
    let canary = "canary-00112233445566778899aabb";
    for skip in 0..3 {
        let mut blob = b"prefix".to_vec();
        blob.extend(std::iter::repeat_n(b'y', skip));
        blob.extend_from_slice(canary.as_bytes());
        blob.extend_from_slice(b"suffix");
        let encoded = base64(&blob);
        assert!(
            leaked_forms(canary)
                .iter()
                .any(|(_, needle)| contains(encoded.as_bytes(), needle)),
            "alignment {skip}: {encoded}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Store files, stderr, the command line
// ---------------------------------------------------------------------------------------------

#[test]
fn canary_secrets_never_reach_the_store_files_in_any_form() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "carol", "editor", None);
    // An open connection keeps the -wal and -shm files (and everything written to them) on disk
    // while ohx runs; without it, the last ohx to close would fold the WAL into the store.
    let keeper = open_db(&env.store());
    let _: i64 = keeper
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .expect("read the store");

    let specs = all_types();
    let mut canaries: Vec<String> = specs.iter().flat_map(Spec::canaries).collect();
    let mut outcomes = Vec::new();
    for spec in &specs {
        outcomes.push(add_cmd(&env, "alice", spec).ok());
    }
    // A secret replaced by an edit, one refused by a validation after it was read, one whose
    // connection is deleted, and a key rotation re-encrypting everything.
    let replaced = secret("password", Source::Stdin);
    canaries.push(replaced.canary.clone());
    outcomes.push(
        with_secrets(
            &env,
            env.ohx().args(["connection", "edit", "warehouse"]),
            "edit",
            std::slice::from_ref(&replaced),
        )
        .ok(),
    );
    let refused_canary = random_canary();
    canaries.push(refused_canary.clone());
    outcomes.push(
        postgresql_cmd(&env, &["port=70000"], "password=env:PW")
            .env("PW", &refused_canary)
            .fails(2),
    );
    let deleted = random_canary();
    canaries.push(deleted.clone());
    outcomes.push(add_postgresql(&env, "short-lived", &deleted).ok());
    outcomes.push(
        env.ohx()
            .args(["connection", "delete", "short-lived", "--yes"])
            .ok(),
    );
    outcomes.push(env.ohx().args(["member", "remove", "carol", "--yes"]).ok());
    for spec in &specs {
        outcomes.push(
            env.ohx()
                .args(["connection", "show", spec.id, "--reveal"])
                .ok(),
        );
    }

    let wal = sidecar(&env.store(), "-wal");
    let shm = sidecar(&env.store(), "-shm");
    let searched = assert_no_canary_in_files(&env, &canaries);
    for file in [&env.store(), &wal, &shm] {
        assert!(
            searched.contains(file),
            "{} was not there to search",
            file.display()
        );
    }
    assert!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0,
        "the WAL is empty: the search proves nothing"
    );
    // The search works: plain values are there, in the WAL or the store.
    let all: Vec<u8> = [&env.store(), &wal]
        .iter()
        .flat_map(|p| std::fs::read(p).expect("read store file"))
        .collect();
    for plain in [
        "db.example.org",
        "etl_reader",
        "AKIAIOSFODNN7EXAMPLE",
        "kf.kobotoolbox.org",
    ] {
        assert!(
            contains(&all, plain.as_bytes()),
            "{plain} is not in the store"
        );
    }

    drop(keeper);
    assert_no_canary_in_files(&env, &canaries);
    let outcome_refs: Vec<&Outcome> = outcomes.iter().collect();
    assert_no_canary_on_stderr(&canaries, &outcome_refs);
}

#[test]
fn canary_secrets_never_appear_on_stderr_of_any_command() {
    let (env, specs) = team_with_every_type();
    let canaries: Vec<String> = specs.iter().flat_map(Spec::canaries).collect();
    let mut outcomes = Vec::new();
    for spec in &specs {
        for person in ["alice", "bob", "carol"] {
            for args in [
                vec!["connection", "show", spec.id],
                vec!["connection", "show", spec.id, "--reveal"],
                vec!["connection", "show", spec.id, "--reveal", "--json"],
                vec!["connection", "list"],
                vec!["connection", "list", "--json"],
                vec!["connection", "edit", spec.id, "--description", "d"],
                vec!["connection", "get", spec.id, spec.secrets[0].code],
                vec!["connection", "env", spec.id],
                vec!["connection", "url", spec.id],
            ] {
                outcomes.push(env.ohx_as(person).args(&args).run());
            }
        }
        // The same secrets fed again into commands that fail: after reading them (an identifier
        // clash, an invalid identifier) or before (a viewer).
        outcomes.push(add_cmd(&env, "alice", spec).run());
        outcomes.push(
            add_cmd(&env, "alice", spec)
                .args(["--slug", "Bad Slug"])
                .run(),
        );
        outcomes.push(add_cmd(&env, "bob", spec).run());
    }
    let refs: Vec<&Outcome> = outcomes.iter().collect();
    assert!(
        refs.iter().any(|o| o.status != 0) && refs.iter().any(|o| o.status == 0),
        "the battery should hold successes and failures"
    );
    assert_no_canary_on_stderr(&canaries, &refs);
}

#[test]
fn a_secret_from_stdin_is_not_on_the_command_line_of_the_running_process() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let args = [
        "connection",
        "add",
        "postgresql",
        "--name",
        "Warehouse",
        "--set",
        "host=db.example.org",
        "--set",
        "username=etl",
        "--set",
        "db_name=dwh",
        "--secret",
        "password=-",
    ];
    let mut child = env.ohx().args(args).stdin_kept_open().spawn();
    let mut stdin = child.stdin.take().expect("stdin pipe");
    let proc_dir = PathBuf::from(format!("/proc/{}", child.id()));

    // ohx now waits on its stdin, which is open and empty.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().expect("poll ohx").is_none(),
        "ohx did not wait for the secret on stdin"
    );
    let exe = std::fs::read_link(proc_dir.join("exe")).expect("read /proc/PID/exe");
    let ohx = std::fs::canonicalize(env!("CARGO_BIN_EXE_ohx")).expect("canonical ohx path");
    assert_eq!(exe, ohx, "the process is not ohx yet");
    let cmdline = std::fs::read(proc_dir.join("cmdline")).expect("read /proc/PID/cmdline");
    let words: Vec<&[u8]> = cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(
        words.len(),
        args.len() + 1,
        "{:?}",
        String::from_utf8_lossy(&cmdline)
    );
    assert!(cmdline.windows(10).any(|w| w == b"password=-"));
    for (form, needle) in leaked_forms(&canary) {
        assert!(
            !contains(&cmdline, &needle),
            "cmdline holds the canary ({form})"
        );
    }

    stdin
        .write_all(format!("{canary}\n").as_bytes())
        .expect("write the secret");
    drop(stdin);
    let out = finishes_within(child, Duration::from_secs(30), "connection add");
    assert_eq!(out.status, 0, "{out}");
    assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    assert_eq!(revealed(&env, "warehouse", "password"), canary);
}

#[test]
fn a_writer_killed_mid_transaction_leaves_no_canary_in_the_store_files() {
    const KILLS: usize = 20;
    let env = Env::new();
    env.admin_with_workspace(WS);
    let typical = typical_run(5, |i| {
        add_postgresql(&env, &format!("warm-{i}"), &random_canary())
    });
    let (mut kills, mut n, mut sidecars_seen) = (0, 0, 0);
    while kills < KILLS {
        n += 1;
        if let Killed::No(out) = kill_after(
            add_postgresql(&env, &format!("c{n:03}"), &random_canary()),
            random_delay(typical),
        ) {
            assert_eq!(out.status, 0, "{out}");
            continue;
        }
        kills += 1;
        // Before anything opens the store again: what the killed process left on disk.
        let files = files_under(&env.home());
        sidecars_seen += usize::from(files.iter().any(|f| {
            f.to_string_lossy().ends_with("-wal") && std::fs::metadata(f).is_ok_and(|m| m.len() > 0)
        }));
        // Every canary starts with `canary-`, so its encodings start with those of the prefix:
        // searching for the prefix finds any of them, in one pass per form.
        let forms = leaked_forms("canary-");
        for file in &files {
            let bytes = std::fs::read(file).unwrap_or_default();
            for (form, needle) in &forms {
                assert!(
                    !contains(&bytes, needle),
                    "after kill {kills}, {} holds a secret ({form})",
                    file.display()
                );
            }
        }
    }
    eprintln!("killed writers: {kills} kills in {n} runs, {sidecars_seen} left a non-empty -wal");
}
