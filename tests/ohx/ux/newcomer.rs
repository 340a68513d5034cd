//! The first steps of a new user, as the README orders them: who they are (`init` after a first
//! run, `whoami --rename`, a failed `init` leaving nothing behind), help that teaches (types and
//! their fields, examples on every command, the `--` of `run`), and a second workspace that does
//! not break scripts written for the first.

use crate::harness::Env;

#[test]
fn init_after_a_first_run_says_how_to_take_the_name_and_rename_does_it() {
    let env = Env::new();
    env.ohx().env("USER", "me").args(["workspace", "list"]).ok();
    let init = env.ohx().args(["init", "--name", "amina"]).ok();
    assert!(init.stdout.contains("Already initialised"), "{init}");
    assert!(init.stdout.contains("ohx whoami --rename amina"), "{init}");
    let renamed = env.ohx().args(["whoami", "--rename", "amina"]).ok();
    assert!(renamed.stdout.contains("'amina'"), "{renamed}");
    let whoami = env.ohx().args(["whoami", "--json"]).ok().json();
    assert_eq!(whoami["user"], "amina");
    // A name someone else has is refused.
    env.ohx_as("bob").args(["init", "--name", "bob"]).ok();
    env.ohx().args(["whoami", "--rename", "bob"]).fails(2);
    env.ohx().args(["whoami", "--rename", "not valid"]).fails(2);
}

#[test]
fn a_failed_init_leaves_no_new_identity_behind() {
    let env = Env::new();
    env.ohx().args(["init", "--name", "not valid"]).fails(2);
    assert!(!env.home().join("identity.txt").exists());
    env.ohx().args(["init", "--name", "alice"]).ok();
    // A name another identity holds: the newcomer's identity is not created either.
    let out = env
        .ohx_as("carol")
        .args(["init", "--name", "alice"])
        .fails(2);
    assert!(out.stderr.contains("already taken"), "{out}");
    assert!(!env.identity_of("carol").exists());
}

#[test]
fn connection_types_lists_every_type_with_its_fields() {
    let env = Env::new();
    let table = env.ohx().args(["connection", "types"]).ok();
    for needle in [
        "postgresql",
        "db_name",
        "5432",
        "access_key_secret",
        "service_account_key",
    ] {
        assert!(table.stdout.contains(needle), "{needle}\n{table}");
    }
    let json = env
        .ohx()
        .args(["connection", "types", "--json"])
        .ok()
        .json();
    let pg = &json.as_array().unwrap()[0];
    assert_eq!(pg["type"], "postgresql");
    let port = &pg["fields"][1];
    assert_eq!(port["code"], "port");
    assert_eq!(port["default"], "5432");
    assert_eq!(pg["fields"][3]["secret"], true);
    // Nothing was created to answer.
    assert!(!env.home().exists());
}

#[test]
fn connection_add_type_help_shows_that_types_fields() {
    let env = Env::new();
    let dhis2 = env
        .ohx()
        .args(["connection", "add", "DHIS2", "--help"])
        .ok();
    assert!(
        dhis2.stdout.contains("Fields of DHIS2 connections"),
        "{dhis2}"
    );
    assert!(dhis2.stdout.contains("--secret password"), "{dhis2}");
    let s3 = env.ohx().args(["connection", "add", "s3", "-h"]).ok();
    assert!(s3.stdout.contains("--set bucket_name=VALUE"), "{s3}");
    assert!(s3.stdout.contains("(optional)"), "{s3}");
    let plain = env.ohx().args(["connection", "add", "--help"]).ok();
    assert!(!plain.stdout.contains("Fields of"), "{plain}");
}

/// Every command a user runs (not the hidden ones) shows examples in its help.
#[test]
fn every_leaf_command_has_examples() {
    let env = Env::new();
    let leaves: &[&[&str]] = &[
        &["init"],
        &["whoami"],
        &["workspace", "create"],
        &["workspace", "list"],
        &["workspace", "show"],
        &["workspace", "edit"],
        &["workspace", "use"],
        &["workspace", "rotate-key"],
        &["workspace", "delete"],
        &["member", "add"],
        &["member", "list"],
        &["member", "set-role"],
        &["member", "remove"],
        &["connection", "add"],
        &["connection", "list"],
        &["connection", "types"],
        &["connection", "show"],
        &["connection", "edit"],
        &["connection", "delete"],
        &["connection", "get"],
        &["connection", "env"],
        &["connection", "url"],
        &["run"],
        &["unlock"],
        &["lock"],
        &["completions"],
    ];
    for leaf in leaves {
        let out = env.ohx().args(*leaf).arg("--help").ok();
        assert!(
            out.stdout.contains("Example"),
            "`ohx {} --help` has no examples",
            leaf.join(" ")
        );
    }
    let edit = env.ohx().args(["connection", "edit", "--help"]).ok();
    for flag in [
        "--name <NAME>",
        "--description <DESCRIPTION>",
        "--set <CODE=VALUE>",
    ] {
        let line = edit
            .stdout
            .lines()
            .find(|l| l.contains(flag))
            .unwrap_or_default();
        let next = edit
            .stdout
            .lines()
            .skip_while(|l| !l.contains(flag))
            .nth(1)
            .unwrap_or_default();
        assert!(
            line.trim().len() > flag.len() || !next.trim().starts_with('-'),
            "{flag} has no help\n{edit}"
        );
    }
}

#[test]
fn run_without_dashes_says_where_the_command_goes() {
    let env = Env::new();
    let out = env.ohx().args(["run", "-c", "warehouse", "env"]).fails(2);
    assert!(
        out.stderr.contains("hint: put the command after --"),
        "{out}"
    );
}

#[test]
fn the_first_workspace_becomes_the_default_so_a_second_one_breaks_no_script() {
    let env = Env::new();
    env.person("alice");
    let first = env.ohx().args(["workspace", "create", "Malaria"]).ok();
    assert!(first.stdout.contains("default workspace"), "{first}");
    let second = env.ohx().args(["workspace", "create", "Second"]).ok();
    assert!(!second.stdout.contains("default workspace"), "{second}");
    // A script that relied on "your only workspace" still means the first.
    let show = env.ohx().args(["workspace", "show", "--json"]).ok().json();
    assert_eq!(show["slug"], "malaria");
    let json = env
        .ohx()
        .args(["workspace", "create", "Third", "--json"])
        .ok()
        .json();
    assert_eq!(json["default"], false);
}

/// On a terminal (tmux), the first run asks for the name instead of taking `$USER` silently.
#[test]
fn the_first_run_on_a_terminal_asks_for_your_name() {
    let Some(tmux) = crate::ux::readers::program("tmux") else {
        return;
    };
    let env = Env::new();
    let socket = format!("ohx-first-{}", std::process::id());
    let tmux_cmd = |args: &[&str]| {
        std::process::Command::new(&tmux)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", env.root())
            .env("TMUX_TMPDIR", env.root())
            .args(["-L", &socket])
            .args(args)
            .output()
            .unwrap()
    };
    let done = env.root().join("done");
    let script = format!(
        "env -i PATH=\"$PATH\" HOME='{}' OHX_HOME='{}' USER=me TERM=screen '{}' workspace list; echo $? > '{}'",
        env.root().display(),
        env.home().display(),
        env!("CARGO_BIN_EXE_ohx"),
        done.display()
    );
    let started = tmux_cmd(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "30",
        "-s",
        "first",
        &script,
    ]);
    assert!(started.status.success());
    let screen = || {
        String::from_utf8_lossy(&tmux_cmd(&["capture-pane", "-p", "-t", "first"]).stdout)
            .into_owned()
    };
    let wait = |what: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !what() {
            assert!(
                start.elapsed().as_secs() < 15,
                "the terminal shows:\n{}",
                screen()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait(&|| screen().contains("Your name in ohx"));
    tmux_cmd(&["send-keys", "-t", "first", "C-u"]);
    tmux_cmd(&["send-keys", "-t", "first", "-l", "amina"]);
    tmux_cmd(&["send-keys", "-t", "first", "Enter"]);
    wait(&|| std::fs::read_to_string(&done).is_ok_and(|t| t.ends_with('\n')));
    let _ = tmux_cmd(&["kill-server"]);
    let whoami = env.ohx().args(["whoami", "--json"]).ok().json();
    assert_eq!(whoami["user"], "amina");
}
