//! Without a terminal ohx never waits for a person: every command that may prompt (a type,
//! fields, a secret, a confirmation, a new or existing passphrase) ends at once with one clean
//! error, whether stdin is `/dev/null` or an open pipe that stays silent.

use std::time::{Duration, Instant};

use crate::fixtures::{add_postgresql, join, workspace_show_json, WS};
use crate::harness::{random_canary, Cmd, Env, Outcome};
use crate::store_probe::dump;

/// How long a command that cannot ask may take to say so.
const PROMPT_LIMIT: Duration = Duration::from_secs(5);

/// One command that would ask something on a terminal: its arguments and extra variables.
struct Asking {
    args: Vec<String>,
    vars: Vec<(String, String)>,
}

impl Asking {
    /// The command, run as alice with the extra variables.
    fn cmd(&self, env: &Env) -> Cmd {
        let mut cmd = env.ohx().args(&self.args);
        for (k, v) in &self.vars {
            cmd = cmd.env(k, v);
        }
        cmd
    }
}

/// Alice, admin of [`WS`] with `warehouse`, bob an editor, pia with a passphrase-protected
/// identity; and every command that may prompt: for a type, for missing fields, for a secret, for
/// a confirmation, for a passphrase (new or existing).
fn asking_commands(env: &Env) -> Vec<Asking> {
    env.admin_with_workspace(WS);
    add_postgresql(env, "warehouse", &random_canary()).ok();
    join(env, "bob", "editor", Some(WS));
    env.ohx_as("pia")
        .env("OHX_PASSPHRASE", random_canary())
        .args(["init", "--name", "pia", "--passphrase"])
        .ok();
    let alice = |words: &[&str]| Asking {
        args: words.iter().map(|w| w.to_string()).collect(),
        vars: Vec::new(),
    };
    let person = |name: &str, words: &[&str]| Asking {
        args: words.iter().map(|w| w.to_string()).collect(),
        vars: vec![
            ("USER".into(), name.into()),
            (
                "OHX_IDENTITY".into(),
                env.identity_of(name).display().to_string(),
            ),
        ],
    };
    vec![
        alice(&["connection", "add"]),
        alice(&["connection", "add", "dhis2"]),
        alice(&[
            "connection",
            "add",
            "dhis2",
            "--name",
            "D",
            "--set",
            "url=https://x.org",
        ]),
        alice(&[
            "connection",
            "add",
            "custom",
            "--name",
            "K",
            "--secret",
            "token",
        ]),
        alice(&["connection", "edit", "warehouse", "--secret", "password"]),
        alice(&["connection", "delete", "warehouse"]),
        alice(&["member", "remove", "bob"]),
        alice(&["workspace", "delete", WS]),
        person("newbie", &["init", "--name", "newbie", "--passphrase"]),
        person("pia", &["whoami"]),
        person("pia", &["init", "--name", "pia"]),
        person("pia", &["workspace", "list"]),
    ]
}

/// A command that could not ask: it ended quickly, failed with one clean error, and left the
/// store and the identities as they were.
#[track_caller]
fn assert_refused_quickly(env: &Env, what: &str, out: &Outcome, took: Duration, before: &str) {
    assert!(
        took < PROMPT_LIMIT,
        "`{what}` took {took:?} without a terminal"
    );
    assert_ne!(
        out.status, 0,
        "`{what}` succeeded without a terminal\n{out}"
    );
    out.assert_clean_error(what);
    assert_eq!(dump(env), before, "`{what}` changed the store");
    assert!(
        !env.identity_of("newbie").exists(),
        "`{what}` created an identity without its passphrase"
    );
}

#[test]
fn every_command_that_may_prompt_ends_at_once_with_stdin_from_dev_null() {
    let env = Env::new();
    let commands = asking_commands(&env);
    let before = dump(&env);
    for asking in &commands {
        let cmd = asking.cmd(&env);
        let what = cmd.describe();
        let started = Instant::now();
        let out = cmd.run(); // the harness gives /dev/null as stdin
        assert_refused_quickly(&env, &what, &out, started.elapsed(), &before);
    }
}

#[test]
fn every_command_that_may_prompt_ends_at_once_with_a_silent_open_stdin() {
    let env = Env::new();
    let commands = asking_commands(&env);
    let before = dump(&env);
    for asking in &commands {
        let what = format!("ohx {}", asking.args.join(" "));
        let started = Instant::now();
        let mut child = asking.cmd(&env).stdin_kept_open().spawn();
        // Kept open and never written to, as a pipe from a process that has nothing to say.
        let stdin = child.stdin.take();
        while child.try_wait().expect("wait").is_none() && started.elapsed() < PROMPT_LIMIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        let took = started.elapsed();
        if took >= PROMPT_LIMIT {
            let _ = child.kill();
        }
        let out = Outcome::wait(child, &what);
        drop(stdin);
        assert_refused_quickly(&env, &what, &out, took, &before);
    }
}

#[test]
fn deleting_without_a_terminal_needs_yes() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let out = env.ohx().args(["workspace", "delete", "w"]).fails(2);
    assert!(out.stderr.contains("--yes"), "{out}");
    workspace_show_json(&env, "w");
}
