//! `WORKSPACE/IDENTIFIER` references: they pick the connection of that workspace for `show`,
//! `edit` and `delete`, leave the same identifier in another workspace alone, and win over `-w`.

use crate::connection::support::{fields_of, identifiers, two_workspaces};

#[test]
fn workspace_slash_identifier_works_for_show_edit_and_delete() {
    let env = two_workspaces();
    let host = |reference: &str| {
        let shown = env
            .ohx()
            .args(["connection", "show", reference, "--json"])
            .ok()
            .json();
        fields_of(&shown)["host"].1.clone()
    };
    assert_eq!(host("malaria/warehouse"), "malaria.example.org");
    assert_eq!(host("tb/warehouse"), "tb.example.org");
    let revealed = env
        .ohx()
        .args(["connection", "show", "tb/warehouse", "--reveal", "--json"])
        .ok()
        .json();
    assert!(fields_of(&revealed)["password"].1.starts_with("tb-"));

    env.ohx()
        .args([
            "connection",
            "edit",
            "tb/warehouse",
            "--set",
            "host=new.example.org",
        ])
        .ok();
    assert_eq!(host("tb/warehouse"), "new.example.org");
    assert_eq!(host("malaria/warehouse"), "malaria.example.org");

    env.ohx()
        .args(["connection", "delete", "malaria/warehouse", "--yes"])
        .ok();
    env.ohx()
        .args(["connection", "show", "malaria/warehouse"])
        .fails(3);
    assert_eq!(host("tb/warehouse"), "new.example.org");
    let malaria = env
        .ohx()
        .args(["connection", "list", "-w", "malaria", "--json"])
        .ok()
        .json();
    assert_eq!(identifiers(&malaria), Vec::<String>::new());
}

#[test]
fn a_reference_to_another_workspace_wins_over_w() {
    let env = two_workspaces();
    let shown = env
        .ohx()
        .args([
            "connection",
            "show",
            "tb/tb-lake",
            "-w",
            "malaria",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(shown["workspace"], "tb");
}
