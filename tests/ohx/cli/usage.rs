//! The command line and the config file: `--help` exits 0 and creates nothing, an unknown flag
//! is a usage error, invalid UTF-8 in a plain argument is refused and stores nothing, and an
//! invalid config file is named with its line.

use std::os::unix::ffi::OsStrExt;

use crate::fixtures::{add_postgresql, WS};
use crate::harness::{random_canary, Env};
use crate::store_probe::dump;

#[test]
fn help_exits_zero() {
    let env = Env::new();
    let out = env.ohx().arg("--help").ok();
    assert!(out.stdout.contains("Usage"), "{out}");
    env.ohx().args(["workspace", "--help"]).ok();
    assert!(!env.home().exists(), "--help should not create anything");
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let env = Env::new();
    env.ohx()
        .args(["workspace", "list", "--frobnicate"])
        .fails(2);
}

#[test]
fn invalid_utf8_in_plain_arguments_is_refused_and_stores_nothing() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_postgresql(&env, "warehouse", &random_canary()).ok();
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff");
    let mut url = std::ffi::OsString::from("url=");
    url.push(latin1);
    let mut host = std::ffi::OsString::from("host=");
    host.push(latin1);
    let custom = || {
        env.ohx()
            .args(["connection", "add", "custom", "--secret", "token=env:T"])
            .env("T", "t")
    };
    let before = dump(&env);
    for cmd in [
        custom().args(["--name", "K", "--set"]).arg(&url),
        custom().arg("--name").arg(latin1).args(["--set", "url=x"]),
        custom()
            .args(["--name", "K", "--set", "url=x", "--description"])
            .arg(latin1),
        env.ohx()
            .args(["connection", "edit", "warehouse", "--set"])
            .arg(&host),
        env.ohx().args(["workspace", "create"]).arg(latin1),
    ] {
        let what = cmd.describe();
        let out = cmd.fails(2);
        assert!(out.stderr.contains("UTF-8"), "{what}\n{out}");
        assert_eq!(dump(&env), before, "{what} changed the store");
    }
}

#[test]
fn an_invalid_config_file_names_the_line() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let path = env.home().join("config.toml");
    std::fs::write(&path, "# my settings\ndefault_workspace = \n").expect("write config");
    let out = env.ohx().args(["workspace", "list"]).fails_somehow();
    assert!(out.stderr.contains("line 2"), "{out}");
    assert!(out.stderr.contains(&path.display().to_string()), "{out}");
}
