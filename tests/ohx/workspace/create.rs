//! Creating workspaces and choosing one: a taken slug is named, a name that makes no slug asks
//! for `--slug`, and `workspace use` saves the default in a private config file.

use crate::harness::{file_mode, Env};
use crate::store_probe::query_i64;

#[test]
fn creating_a_workspace_with_a_taken_slug_fails_naming_it() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let out = env
        .ohx()
        .args(["workspace", "create", "Other", "--slug", "w"])
        .fails_somehow();
    assert!(out.stderr.contains("'w'"), "{out}");

    env.ohx()
        .args(["workspace", "create", "Malaria Programme"])
        .ok();
    let out = env
        .ohx()
        .args(["workspace", "create", "malaria  programme!"])
        .fails_somehow();
    assert!(out.stderr.contains("malaria-programme"), "{out}");
    assert_eq!(query_i64(&env, "SELECT count(*) FROM workspaces"), 2);
}

#[test]
fn a_name_that_makes_no_slug_asks_for_one() {
    let env = Env::new();
    env.person("alice");
    let out = env.ohx().args(["workspace", "create", "2024"]).fails(2);
    assert!(
        out.stderr.contains("--slug"),
        "the hint should mention --slug\n{out}"
    );
    env.ohx()
        .args(["workspace", "create", "2024", "--slug", "y2024"])
        .ok();
}

#[test]
fn workspace_use_saves_the_default_workspace() {
    let env = Env::new();
    env.admin_with_workspace("w");
    env.ohx()
        .args(["workspace", "create", "Other", "--slug", "other"])
        .ok();
    env.ohx().args(["workspace", "use", "w"]).ok();
    let path = env.home().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config.toml");
    let table: toml::Table = text.parse().expect("config.toml is TOML");
    assert_eq!(table["default_workspace"].as_str(), Some("w"), "{text}");
    assert_eq!(file_mode(&path), 0o600);
    // With two workspaces, the default decides.
    let show = env.ohx().args(["workspace", "show", "--json"]).ok().json();
    assert_eq!(show["slug"], "w");
}
