//! `connection show`: every secret masked and every plain value given, for each role; the exact
//! secret values of every type revealed to an editor and an admin.

use std::collections::BTreeMap;

use crate::connection::support::{fields_of, show_json, team_with_every_type};
use crate::fixtures::{assert_no_canary_anywhere, assert_no_canary_on_stderr};

#[test]
fn show_masks_every_secret_and_gives_plain_values() {
    let (env, specs) = team_with_every_type();
    for person in ["alice", "bob", "carol"] {
        for spec in &specs {
            let shown = fields_of(&show_json(&env, person, spec.id, false));
            let expected: BTreeMap<String, (bool, String)> = spec
                .expected_fields()
                .into_iter()
                .map(|(code, (secret, value))| {
                    let value = if secret { "********".into() } else { value };
                    (code, (secret, value))
                })
                .collect();
            assert_eq!(shown, expected, "{person} shows '{}'", spec.id);

            let out = env
                .ohx_as(person)
                .args(["connection", "show", spec.id])
                .ok();
            assert_no_canary_anywhere(&spec.canaries(), &out);
            for s in &spec.secrets {
                assert!(
                    out.stdout
                        .lines()
                        .any(|l| l.starts_with(s.code) && l.trim_end().ends_with("********")),
                    "'{}' is not masked in the table\n{out}",
                    s.code
                );
            }
            for (code, value) in &spec.plain {
                assert!(
                    out.stdout
                        .lines()
                        .any(|l| l.starts_with(code) && l.trim_end().ends_with(value.as_str())),
                    "'{code}' is not shown as {value:?}\n{out}"
                );
            }
        }
    }
}

#[test]
fn an_editor_reveals_the_exact_secret_values_of_every_type() {
    let (env, specs) = team_with_every_type();
    for person in ["carol", "alice"] {
        for spec in &specs {
            let shown = show_json(&env, person, spec.id, true);
            assert_eq!(fields_of(&shown), spec.expected_fields(), "'{}'", spec.id);
            let out = env
                .ohx_as(person)
                .args(["connection", "show", spec.id, "--reveal"])
                .ok();
            for canary in spec.canaries() {
                assert!(out.stdout.contains(&canary), "not revealed\n{out}");
            }
            assert_no_canary_on_stderr(&spec.canaries(), &[&out]);
        }
    }
}
