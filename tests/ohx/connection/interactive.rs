//! What `connection add` asks: without a terminal it never waits and names every missing flag
//! in one error; on a real pseudo-terminal (tmux) it asks for every field, hides the password
//! and shows a masked summary before saving.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::connection::support::{
    entry, fields_of, identifiers, list_json, refused, show_json, WS,
};
use crate::fixtures::assert_says;
use crate::harness::{finishes_within, random_canary, Env};

// ---------------------------------------------------------------------------------------------
// Without a terminal
// ---------------------------------------------------------------------------------------------

#[test]
fn add_without_a_terminal_names_every_missing_flag_at_once() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let cases: [(&str, &[&str]); 5] = [
        (
            "postgresql",
            &[
                "--set host=",
                "--set username=",
                "--secret password=",
                "--set db_name=",
            ],
        ),
        (
            "dhis2",
            &["--set url=", "--set username=", "--secret password="],
        ),
        (
            "iaso",
            &["--set url=", "--set username=", "--secret password="],
        ),
        ("s3", &["--set bucket_name="]),
        (
            "gcs",
            &["--set bucket_name=", "--secret service_account_key="],
        ),
    ];
    for (kind, missing) in cases {
        let named = refused(
            &env,
            env.ohx().args(["connection", "add", kind, "--name", "X"]),
            2,
        );
        assert_says(&named, missing);
        assert!(
            !named.stderr.contains("--name"),
            "the name was given\n{named}"
        );
        let unnamed = refused(&env, env.ohx().args(["connection", "add", kind]), 2);
        assert_says(&unnamed, missing);
        assert_says(&unnamed, &["--name"]);
        assert_eq!(
            unnamed
                .stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "one error line names them all\n{unnamed}"
        );
    }
    let port = refused(
        &env,
        env.ohx().args(["connection", "add", "pg", "--name", "X"]),
        2,
    );
    assert!(
        !port.stderr.contains("--set port"),
        "port has a default and is not missing\n{port}"
    );
}

#[test]
fn add_never_waits_for_input_without_a_terminal() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let cases: [&[&str]; 5] = [
        &["connection", "add"],
        &["connection", "add", "dhis2"],
        &["connection", "add", "custom", "--name", "Kobo"],
        &[
            "connection",
            "add",
            "pg",
            "--name",
            "W",
            "--set",
            "host=h",
            "--set",
            "username=u",
            "--set",
            "db_name=d",
            "--secret",
            "password",
        ],
        &["connection", "delete", "anything"],
    ];
    for args in cases {
        let mut child = env.ohx().args(args).stdin_kept_open().spawn();
        // Stdin stays open and silent: a prompt would wait forever.
        let stdin = child.stdin.take();
        let out = finishes_within(child, Duration::from_secs(10), &args.join(" "));
        drop(stdin);
        assert!(
            out.status == 2 || (args.contains(&"delete") && out.status == 3),
            "`ohx {}` gave status {}\n{out}",
            args.join(" "),
            out.status
        );
        out.assert_clean_error(&args.join(" "));
    }
    assert_eq!(identifiers(&list_json(&env)), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// On a real terminal (tmux)
// ---------------------------------------------------------------------------------------------

/// A private tmux server, killed when dropped.
struct Tmux {
    socket: String,
    tmpdir: PathBuf,
    session: String,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("HOME", &self.tmpdir)
            .env("TMUX_TMPDIR", &self.tmpdir)
            .env("SHELL", "/bin/sh")
            .args(["-L", &self.socket]);
        c
    }

    #[track_caller]
    fn run(&self, args: &[&str]) -> String {
        let out = self
            .command()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux {args:?}: {e}"));
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The whole pane, scrollback included.
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", &self.session])
    }

    /// Types `text` literally, then Enter.
    fn type_line(&self, text: &str) {
        self.run(&["send-keys", "-t", &self.session, "-l", text]);
        self.run(&["send-keys", "-t", &self.session, "Enter"]);
    }

    /// Waits until the pane shows `text`; fails (showing the pane) after ten seconds.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the terminal never showed {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `'text'` for sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[test]
fn an_interactive_dhis2_add_asks_for_everything_and_hides_the_password() {
    if !tmux_available() {
        crate::skip::skip("tmux is not installed (install it with `bash .ci/setup`)");
        return;
    }
    let env = Env::new();
    env.admin_with_workspace(WS);
    let password = random_canary();
    let exit_file = env.root().join("exit-status");
    let conf = env.root().join("tmux.conf");
    // Keep the pane after ohx exits, so a failure can still be read on it.
    std::fs::write(&conf, "set -g remain-on-exit on\n").expect("write tmux.conf");
    let tag = random_canary();
    let tmux = Tmux {
        socket: format!("ohx-{}-{}", std::process::id(), &tag[7..15]),
        tmpdir: env.root().to_path_buf(),
        session: "add".to_string(),
    };
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    let script = format!(
        "env -i PATH={} HOME={} OHX_HOME={} USER=alice TERM=screen {} connection add dhis2; echo EXIT=$? > {}",
        sh_quote(&path),
        sh_quote(&env.root().display().to_string()),
        sh_quote(&env.home().display().to_string()),
        sh_quote(env!("CARGO_BIN_EXE_ohx")),
        sh_quote(&exit_file.display().to_string()),
    );
    tmux.run(&[
        "-f",
        &conf.display().to_string(),
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "50",
        "-s",
        "add",
        &script,
    ]);

    let mut screens = Vec::new();
    for (prompt, answer) in [
        ("Name", "DHIS2 Prod"),
        ("URL", "https://play.dhis2.org/40/api/"),
        ("Username", "dhis2_admin"),
        ("Password (hidden)", password.as_str()),
        ("Repeat", password.as_str()),
    ] {
        screens.push(tmux.wait_for(prompt));
        tmux.type_line(answer);
    }
    let summary = tmux.wait_for("Save this connection?");
    assert!(summary.contains("https://play.dhis2.org/40"), "{summary}");
    assert!(summary.contains("********"), "{summary}");
    screens.push(summary);
    tmux.run(&["send-keys", "-t", "add", "y"]);

    let started = Instant::now();
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&exit_file) {
            if text.ends_with('\n') {
                break text.trim().to_string();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "ohx did not finish:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let last = tmux.screen();
    assert_eq!(status, "EXIT=0", "{last}");
    screens.push(last);
    for screen in &screens {
        assert!(
            !screen.contains(&password),
            "the typed password is on the terminal:\n{screen}"
        );
    }
    drop(tmux);

    let fields = fields_of(&show_json(&env, "alice", "dhis2-prod", true));
    assert_eq!(
        fields,
        BTreeMap::from([
            (
                "url".to_string(),
                (false, "https://play.dhis2.org/40".to_string())
            ),
            ("username".to_string(), (false, "dhis2_admin".to_string())),
            ("password".to_string(), (true, password.clone())),
        ])
    );
    assert_eq!(entry(&list_json(&env), "dhis2-prod")["name"], "DHIS2 Prod");
}
