//! Attack 2, recipient swap: a file writer replaces a member's recipient (`users.recipient`) or
//! the workspace's recipient (`workspaces.recipient`) with a key she holds. Secrets are sealed,
//! and keys wrapped, only to recipients from the signed log, so whatever the admin does next
//! (adds a secret, edits one, rotates the key) opens nothing with the attacker's key; the admin's
//! command may instead fail with status 5.

use crate::authority::support::{assert_opens_nothing, attack, refused, sql, Team, WS};
use crate::fixtures::add_custom;
use crate::harness::random_canary;
use crate::store_probe::recipient_of;

/// What alice does after the swap: add a connection with a secret, edit a secret, rotate the key.
/// Each either works or fails with status 5; returns the new canaries.
fn admin_writes(team: &Team) -> Vec<String> {
    let env = &team.env;
    let (added, edited) = (random_canary(), random_canary());
    let outcomes = vec![
        add_custom(env, "new-api", &added).args(["-w", WS]).run(),
        env.ohx()
            .args(["connection", "edit", "warehouse", "-w", WS])
            .args(["--secret", "password=env:PW"])
            .env("PW", &edited)
            .run(),
        env.ohx().args(["workspace", "rotate-key", WS]).run(),
    ];
    for out in &outcomes {
        assert!(
            out.status == 0 || (out.status == 5 && out.stdout.is_empty()),
            "an admin write after a recipient swap: expected success or status 5\n{out}"
        );
        for canary in [&added, &edited, &team.password, &team.token] {
            assert!(!out.stderr.contains(canary.as_str()), "{out}");
        }
    }
    vec![added, edited]
}

attack! {
    fn a_members_recipient_swapped_for_the_attackers_receives_nothing(store: Store) {
        let team = Team::on(store);
        let attacker = age::x25519::Identity::generate();
        sql(
            &team.env,
            &format!(
                "UPDATE users SET recipient = '{}' WHERE name = 'carol'",
                recipient_of(&attacker)
            ),
        );
        admin_writes(&team);
        assert_opens_nothing(&team.env, &attacker, "the attacker");
    }
}

attack! {
    fn the_workspace_recipient_swapped_for_the_attackers_receives_nothing(store: Store) {
        let team = Team::on(store);
        let attacker = age::x25519::Identity::generate();
        sql(
            &team.env,
            &format!(
                "UPDATE workspaces SET recipient = '{}' WHERE slug = '{WS}'",
                recipient_of(&attacker)
            ),
        );
        let new_secrets = admin_writes(&team);
        assert_opens_nothing(&team.env, &attacker, "the attacker");
        // Carol, an editor, reads the secrets alice wrote (or, if alice's writes were refused,
        // what was there before); she never gets one sealed to the attacker.
        let out = team
            .env
            .ohx_as("carol")
            .args(["connection", "env", "warehouse", "-w", WS])
            .run();
        if out.status != 0 {
            refused(
                team.env
                    .ohx_as("carol")
                    .args(["connection", "env", "warehouse", "-w", WS]),
                &[team.password.clone(), new_secrets[1].clone()],
            );
        }
    }
}
