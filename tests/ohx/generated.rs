//! Generated files (`completions/`, `man/`) and `--help` output stay in step with the CLI.
//! Run with `OHX_UPDATE_GENERATED=1` to rewrite them after changing the CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::Env;

fn updating() -> bool {
    std::env::var_os("OHX_UPDATE_GENERATED").is_some_and(|v| v == "1")
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| PathBuf::from(e.file_name()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let env = Env::new();
    let out = env.root().join("generated");
    env.ohx().args(["generate", "--out-dir"]).arg(&out).ok();
    for dir in ["completions", "man"] {
        let (fresh, committed) = (out.join(dir), repo().join(dir));
        if updating() {
            let _ = std::fs::remove_dir_all(&committed);
            std::fs::create_dir_all(&committed).unwrap();
            for name in files_in(&fresh) {
                std::fs::copy(fresh.join(&name), committed.join(&name)).unwrap();
            }
            continue;
        }
        assert_eq!(
            files_in(&fresh),
            files_in(&committed),
            "{dir}/ lists other files than `ohx generate` makes; run OHX_UPDATE_GENERATED=1 cargo test"
        );
        for name in files_in(&fresh) {
            let want = std::fs::read(fresh.join(&name)).unwrap();
            let have = std::fs::read(committed.join(&name)).unwrap();
            assert!(
                want == have,
                "{dir}/{} is stale; run OHX_UPDATE_GENERATED=1 cargo test",
                name.display()
            );
        }
    }
}

/// The help pages people read most, snapshotted so a change to them is a reviewed change.
const HELP_PAGES: &[&[&str]] = &[
    &[],
    &["init"],
    &["workspace"],
    &["member", "add"],
    &["connection"],
    &["connection", "add"],
    &["connection", "env"],
    &["run"],
    &["completions"],
];

#[test]
fn help_output_matches_the_snapshots() {
    let env = Env::new();
    let dir = repo().join("tests").join("snapshots").join("help");
    for page in HELP_PAGES {
        let out = env
            .ohx()
            .args(*page)
            .arg("--help")
            .env("COLUMNS", "100")
            .ok();
        let name = if page.is_empty() {
            "ohx".to_string()
        } else {
            format!("ohx-{}", page.join("-"))
        };
        let path = dir.join(format!("{name}.txt"));
        if updating() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &out.stdout).unwrap();
            continue;
        }
        let snapshot = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            out.stdout,
            snapshot,
            "`ohx {} --help` changed; review it, then run OHX_UPDATE_GENERATED=1 cargo test",
            page.join(" ")
        );
    }
}

#[test]
fn every_command_has_a_summary_and_the_main_ones_have_examples() {
    let env = Env::new();
    for page in [
        &["connection", "add"][..],
        &["connection", "env"],
        &["run"],
        &["member", "add"],
    ] {
        let out = env.ohx().args(page).arg("--help").ok();
        assert!(
            out.stdout.contains("Example"),
            "`ohx {} --help` has no examples",
            page.join(" ")
        );
    }
    let top = env.ohx().arg("--help").ok().stdout;
    for group in [
        "init",
        "whoami",
        "workspace",
        "member",
        "connection",
        "run",
        "completions",
    ] {
        let line = top
            .lines()
            .find(|l| l.trim_start().starts_with(group))
            .unwrap_or_default();
        assert!(
            line.trim().len() > group.len() + 10,
            "`{group}` has no summary in `ohx --help`"
        );
    }
}

#[test]
fn bash_completes_the_connection_identifiers_of_the_current_workspace() {
    let env = Env::new();
    env.ohx()
        .args(["workspace", "create", "Malaria", "--slug", "malaria"])
        .ok();
    for (name, host) in [("warehouse", "db"), ("reporting", "rep")] {
        env.ohx()
            .args([
                "connection",
                "add",
                "pg",
                "--name",
                name,
                "--set",
                &format!("host={host}"),
            ])
            .args([
                "--set",
                "username=u",
                "--set",
                "db_name=d",
                "--secret",
                "password=-",
            ])
            .stdin("pw\n")
            .ok();
    }
    let script = repo().join("completions").join("ohx.bash");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ohx")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let complete = |words: &str, cword: usize, current: &str| -> Vec<String> {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; _clap_complete_ohx ohx '{current}' x; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = Command::new("bash")
            .args(["--norc", "-c", &program])
            .env_clear()
            .env("PATH", &path)
            .env("HOME", env.root())
            .env("OHX_HOME", env.home())
            .env("USER", "alice")
            .output()
            .expect("bash runs");
        // Flags are offered too when the word is empty; the test is about values.
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('-'))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        complete("ohx connection env ''", 3, ""),
        ["reporting", "warehouse"]
    );
    assert_eq!(complete("ohx connection show war", 3, "war"), ["warehouse"]);
    assert_eq!(complete("ohx run -c ''", 3, ""), ["reporting", "warehouse"]);
    assert_eq!(complete("ohx workspace show ''", 3, ""), ["malaria"]);
    assert_eq!(complete("ohx connection list -w ''", 4, ""), ["malaria"]);
    assert!(complete("ohx connection ''", 2, "").contains(&"env".to_string()));
    assert!(complete("ohx connection env w", 3, "w") == ["warehouse"]);
}
