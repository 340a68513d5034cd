//! `connection delete`: every type deleted with `--yes` and its fields with it; nothing deleted
//! without a terminal and without `--yes`; a missing connection is not found.

use crate::connection::support::{identifiers, list_json, refused, team_with_every_type};
use crate::fixtures::assert_says;
use crate::store_probe::query_i64;

#[test]
fn an_admin_deletes_every_type_with_yes() {
    let (env, specs) = team_with_every_type();
    for (n, spec) in specs.iter().enumerate() {
        env.ohx()
            .args(["connection", "delete", spec.id, "--yes"])
            .ok();
        let left = identifiers(&list_json(&env));
        let expected: Vec<&str> = {
            let mut ids: Vec<&str> = specs[n + 1..].iter().map(|s| s.id).collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(left, expected, "after deleting '{}'", spec.id);
        env.ohx().args(["connection", "show", spec.id]).fails(3);
    }
    let rows = query_i64(&env, "SELECT count(*) FROM fields");
    assert_eq!(rows, 0, "deleting connections leaves no field behind");
}

#[test]
fn delete_without_a_terminal_and_without_yes_deletes_nothing() {
    let (env, specs) = team_with_every_type();
    for spec in &specs {
        let out = refused(&env, env.ohx().args(["connection", "delete", spec.id]), 2);
        assert_says(&out, &["--yes"]);
    }
}

#[test]
fn deleting_a_missing_connection_is_not_found() {
    let (env, _) = team_with_every_type();
    refused(
        &env,
        env.ohx()
            .args(["connection", "delete", "nothing-here", "--yes"]),
        3,
    );
}
