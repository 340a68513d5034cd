//! Output to a closed pipe ends quietly with status 0 (`ohx ... | head -1`); output to a full
//! device is one clean error, never a panic, for every read command and for `--help` and
//! `--version`.

use std::path::Path;

use crate::faults::cannot_run;
use crate::fixtures::{add_custom, add_postgresql, WS};
use crate::harness::{random_canary, Env};

// ---------------------------------------------------------------------------------------------
// A closed pipe
// ---------------------------------------------------------------------------------------------

#[test]
fn a_closed_pipe_ends_quietly_with_status_zero() {
    let env = Env::new();
    env.admin_with_workspace("w");
    // Well over a pipe buffer (64 KiB) of output, so ohx must meet the closed pipe.
    let long = "d".repeat(2000);
    for i in 0..50 {
        env.ohx()
            .args([
                "workspace",
                "create",
                &format!("Workspace {i}"),
                "--description",
                &long,
            ])
            .ok();
    }
    for extra in [None, Some("--json")] {
        for _ in 0..3 {
            let out = env
                .ohx()
                .args(["workspace", "list"])
                .args(extra)
                .shell("bash", r#""$0" "$@" | head -n 0; exit "${PIPESTATUS[0]}""#)
                .run();
            assert_eq!(out.status, 0, "ohx's status in the pipeline\n{out}");
            assert_eq!(out.stderr, "", "a closed pipe must end quietly");
        }
    }
}

#[test]
fn connection_commands_piped_into_head_exit_zero_quietly() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    // Well over a pipe buffer (64 KiB) of output for each command below.
    let long = "d".repeat(2000);
    let ids: Vec<String> = (0..40).map(|i| format!("c{i:02}")).collect();
    for id in &ids {
        add_custom(&env, id, &random_canary())
            .args(["--description", &long, "--set"])
            .arg(format!("path=/{long}"))
            .ok();
    }
    let mut env_all = vec!["connection", "env", "--format", "json"];
    env_all.extend(ids.iter().map(String::as_str));
    for args in [
        vec!["connection", "list"],
        vec!["connection", "list", "--json"],
        env_all,
    ] {
        for _ in 0..3 {
            let out = env
                .ohx()
                .args(&args)
                .shell("bash", r#""$0" "$@" | head -1; exit "${PIPESTATUS[0]}""#)
                .run();
            assert_eq!(out.status, 0, "ohx {}\n{out}", args.join(" "));
            assert_eq!(
                out.stderr,
                "",
                "ohx {}: a closed pipe must end quietly",
                args.join(" ")
            );
            assert_eq!(out.stdout.lines().count(), 1, "{out}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A full device
// ---------------------------------------------------------------------------------------------

#[test]
fn writing_to_a_full_device_is_an_error_not_a_panic() {
    let env = Env::new();
    env.admin_with_workspace("w");
    for args in [
        vec!["workspace", "list"],
        vec!["workspace", "list", "--json"],
    ] {
        let out = env
            .ohx()
            .args(args)
            .shell("sh", r#"exec "$0" "$@" > /dev/full"#)
            .fails_somehow();
        assert_eq!(
            out.stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "{out}"
        );
    }
}

#[test]
fn every_read_command_writing_to_a_full_device_fails_cleanly() {
    if !Path::new("/dev/full").exists() {
        return cannot_run(
            "every_read_command_writing_to_a_full_device_fails_cleanly",
            "no /dev/full",
        );
    }
    let env = Env::new();
    env.admin_with_workspace(WS);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password).ok();
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["connection", "list"],
        vec!["connection", "list", "--json"],
        vec!["connection", "show", "warehouse"],
        vec!["connection", "show", "warehouse", "--reveal", "--json"],
        vec!["connection", "get", "warehouse", "password"],
        vec!["connection", "url", "warehouse"],
        vec!["member", "list"],
        vec!["workspace", "show", WS, "--json"],
        vec!["whoami", "--json"],
        vec!["completions", "bash"],
    ];
    for format in ["sh", "fish", "dotenv", "powershell", "json"] {
        commands.push(vec![
            "connection",
            "env",
            "warehouse",
            "--native",
            "--format",
            format,
        ]);
    }
    for args in commands {
        let out = env
            .ohx()
            .args(&args)
            .shell("sh", r#"exec "$0" "$@" > /dev/full"#)
            .fails_somehow();
        let errors = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count();
        assert_eq!(errors, 1, "ohx {}\n{out}", args.join(" "));
        assert!(!out.stderr.contains(&password), "{out}");
    }
}

#[test]
fn help_and_version_written_to_a_full_device_are_an_error() {
    let env = Env::new();
    for args in [
        vec!["--help"],
        vec!["--version"],
        vec!["help"],
        vec!["connection", "--help"],
    ] {
        let out = env
            .ohx()
            .args(&args)
            .shell("sh", r#"exec "$0" "$@" > /dev/full"#)
            .run();
        assert_ne!(
            out.status,
            0,
            "ohx {} > /dev/full succeeded\n{out}",
            args.join(" ")
        );
        assert!(
            out.stderr.contains("error"),
            "ohx {}\n{out}",
            args.join(" ")
        );
    }
}
