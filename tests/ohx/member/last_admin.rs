//! A workspace always keeps an admin: the only admin can neither remove nor demote themselves,
//! and two admins demoting each other at once leave exactly one (the check and the write are one
//! transaction).

use crate::fixtures::{join, members_json, snapshot};
use crate::harness::{Env, Outcome};

/// The members of `slug` with the admin role, as `person` sees them.
#[track_caller]
fn admins(env: &Env, person: &str, slug: &str) -> Vec<String> {
    let list = members_json(env, person, slug);
    list["members"]
        .as_array()
        .expect("members is an array")
        .iter()
        .filter(|m| m["role"] == "admin")
        .map(|m| m["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn the_only_admin_cannot_remove_themselves() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let before = snapshot(&env, "w");
    let out = env
        .ohx()
        .args(["member", "remove", "alice", "--yes", "-w", "w"])
        .fails_somehow();
    assert!(out.stderr.contains("last admin"), "{out}");
    assert_eq!(snapshot(&env, "w"), before);
}

#[test]
fn the_only_admin_cannot_demote_themselves() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let before = snapshot(&env, "w");
    let out = env
        .ohx()
        .args(["member", "set-role", "alice", "editor", "-w", "w"])
        .fails_somehow();
    assert!(out.stderr.contains("last admin"), "{out}");
    assert_eq!(snapshot(&env, "w"), before);
}

#[test]
fn two_admins_demoting_each_other_at_once_leave_exactly_one_admin() {
    let env = Env::new();
    env.admin_with_workspace("w");
    join(&env, "erin", "admin", Some("w"));
    for round in 0..10 {
        // Whoever is still admin makes the other admin again.
        let remaining = admins(&env, "alice", "w");
        let (keeper, other) = if remaining.contains(&"alice".to_string()) {
            ("alice", "erin")
        } else {
            ("erin", "alice")
        };
        if remaining.len() < 2 {
            env.ohx_as(keeper)
                .args(["member", "set-role", other, "admin", "-w", "w"])
                .ok();
        }
        assert_eq!(admins(&env, "alice", "w").len(), 2, "round {round} setup");

        let a = env
            .ohx_as("alice")
            .args(["member", "set-role", "erin", "editor", "-w", "w"])
            .spawn();
        let e = env
            .ohx_as("erin")
            .args(["member", "set-role", "alice", "editor", "-w", "w"])
            .spawn();
        let outcomes = [Outcome::of(a), Outcome::of(e)];
        let succeeded = outcomes.iter().filter(|o| o.status == 0).count();
        assert_eq!(
            succeeded, 1,
            "round {round}: exactly one demotion must pass\n{}\n{}",
            outcomes[0], outcomes[1]
        );
        for out in outcomes.iter().filter(|o| o.status != 0) {
            out.assert_clean_error("the losing demotion");
        }
        let left = admins(&env, "alice", "w");
        assert_eq!(left.len(), 1, "round {round}: admins left: {left:?}");
    }
}
