//! `connection list`: every type in the JSON document and in the table, and which workspace it
//! lists when there are several (`-w`, `--workspace`, `OHX_WORKSPACE`, or an error naming them).

use crate::connection::support::{
    entry, identifiers, list_json, team_with_every_type, two_workspaces, Spec, WS,
};
use crate::fixtures::{assert_no_canary_anywhere, assert_says};

#[test]
fn every_type_is_added_from_flags_and_listed_as_json() {
    let (env, specs) = team_with_every_type();
    let list = list_json(&env);
    assert_eq!(list.as_array().map(Vec::len), Some(specs.len()), "{list:#}");
    for spec in &specs {
        let e = entry(&list, spec.id);
        assert_eq!(e["name"], spec.name, "{e:#}");
        assert_eq!(e["type"], spec.kind, "{e:#}");
        assert_eq!(e["description"], spec.description, "{e:#}");
        assert_eq!(e["workspace"], WS, "{e:#}");
        assert_eq!(e["needs_rotation"], false, "{e:#}");
    }
}

#[test]
fn every_type_appears_in_the_list_table() {
    let (env, specs) = team_with_every_type();
    let out = env.ohx().args(["connection", "list"]).ok();
    let mut lines = out.stdout.lines();
    let header = lines.next().unwrap_or_default();
    for column in ["IDENTIFIER", "NAME", "TYPE", "DESCRIPTION"] {
        assert!(header.contains(column), "no {column} column\n{out}");
    }
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), specs.len(), "one row per connection\n{out}");
    for spec in &specs {
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("{} ", spec.id)))
            .unwrap_or_else(|| panic!("no row for '{}'\n{out}", spec.id));
        for shown in [spec.name, spec.kind, spec.description] {
            assert!(
                row.contains(shown),
                "row of '{}' lacks {shown:?}\n{out}",
                spec.id
            );
        }
    }
    let canaries: Vec<String> = specs.iter().flat_map(Spec::canaries).collect();
    assert_no_canary_anywhere(&canaries, &out);
}

#[test]
fn list_without_a_default_among_two_workspaces_names_the_choices() {
    let env = two_workspaces();
    // The first workspace became the default when it was created; without one, ohx asks.
    std::fs::remove_file(env.home().join("config.toml")).unwrap();
    let out = env.ohx().args(["connection", "list"]).fails(2);
    assert_says(&out, &["malaria", "tb"]);
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn list_takes_the_workspace_from_w_workspace_or_ohx_workspace() {
    let env = two_workspaces();
    let cases = [
        env.ohx()
            .args(["connection", "list", "--workspace", "malaria", "--json"]),
        env.ohx()
            .args(["connection", "list", "-w", "malaria", "--json"]),
        env.ohx()
            .args(["-w", "malaria", "connection", "list", "--json"]),
        env.ohx()
            .args(["connection", "list", "--json"])
            .env("OHX_WORKSPACE", "malaria"),
    ];
    for cmd in cases {
        let list = cmd.ok().json();
        assert_eq!(identifiers(&list), ["warehouse"]);
        assert_eq!(entry(&list, "warehouse")["workspace"], "malaria");
    }
    let tb = env
        .ohx()
        .args(["connection", "list", "-w", "tb", "--json"])
        .ok()
        .json();
    assert_eq!(identifiers(&tb), ["tb-lake", "warehouse"]);
    let table = env.ohx().args(["connection", "list", "-w", "tb"]).ok();
    assert!(table.stdout.contains("tb-lake"), "{table}");
}
