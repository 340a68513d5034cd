//! Attack 13, upgrade: a workspace from before signed authority (no log, no record signatures,
//! made here with SQL) keeps working for readers who never pinned it, with a warning that it is
//! not signed; the first admin write signs it and says so once; afterwards nobody is warned. But
//! for a user who has pinned the workspace, a log deleted with SQL is an attack, not an old
//! store: every read and write is refused with status 5, and no admin signs it anew.

use crate::authority::support::{attack, forget_pins, refused, signed_log, sql, Team, WS};
use crate::fixtures::{add_postgresql, join};
use crate::harness::{random_canary, Env, Outcome};
use crate::store_probe::stored_workspace;

/// Deletes `ws`'s log and every record signature, as a store from before signed authority is.
fn unsign(env: &Env, ws: &str) {
    let id = stored_workspace(env, ws).id;
    sql(
        env,
        &format!(
            "DELETE FROM authority_log WHERE workspace_id = {id};
             UPDATE connections SET signature = NULL WHERE workspace_id = {id};"
        ),
    );
}

fn mentions_not_signed(out: &Outcome) -> bool {
    out.stderr.to_lowercase().contains("not signed")
}

attack! {
    fn an_unsigned_workspace_works_with_a_warning_until_an_admin_signs_it_once(store: Store) {
        let env = &store.env;
        env.admin_with_workspace(WS);
        join(env, "erin", "admin", Some(WS));
        join(env, "carol", "editor", Some(WS));
        let password = random_canary();
        add_postgresql(env, "warehouse", &password).ok();
        // Erin and carol come to this store fresh: nothing pinned (a new machine, a CI home).
        forget_pins(env, "erin");
        forget_pins(env, "carol");
        unsign(env, WS);
        let read = |who: &str| {
            env.ohx_as(who)
                .args(["connection", "get", "warehouse", "password", "-w", WS])
                .ok()
        };

        let before = read("carol");
        assert_eq!(before.stdout.trim_end(), password);
        assert!(
            mentions_not_signed(&before),
            "a reader is warned that the workspace is not signed\n{before}"
        );

        let first = env
            .ohx_as("erin")
            .args(["connection", "edit", "warehouse", "-w", WS])
            .args(["--set", "host=db3.example.org"])
            .ok();
        assert!(
            first.stderr.to_lowercase().contains("sign"),
            "the first admin write says it signed the workspace\n{first}"
        );
        assert!(!first.stderr.contains(&password), "{first}");
        signed_log(env, WS, 1);

        let second = env
            .ohx_as("erin")
            .args(["connection", "edit", "warehouse", "-w", WS])
            .args(["--set", "host=db4.example.org"])
            .ok();
        assert!(
            !second.stderr.to_lowercase().contains("sign"),
            "the upgrade is announced once only\n{second}"
        );

        for who in ["carol", "erin"] {
            let after = read(who);
            assert_eq!(after.stdout.trim_end(), password);
            assert!(
                !mentions_not_signed(&after),
                "no warning once the workspace is signed ({who})\n{after}"
            );
        }
        env.ohx_as("erin")
            .args(["-w", WS, "workspace", "verify"])
            .ok();
    }
}

attack! {
    fn a_log_deleted_under_a_user_who_pinned_it_is_refused_and_never_signed_anew(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        team.assert_reads("carol");
        unsign(env, WS);
        let canaries = team.canaries();
        refused(
            env.ohx_as("carol")
                .args(["connection", "env", "warehouse", "-w", WS]),
            &canaries,
        );
        refused(
            env.ohx()
                .args(["connection", "get", "warehouse", "password", "-w", WS]),
            &canaries,
        );
        // Alice pinned it too: her admin write must not sign the rows as they now are.
        let new = random_canary();
        refused(
            env.ohx()
                .args(["connection", "edit", "warehouse", "-w", WS])
                .args(["--secret", "password=env:PW"])
                .env("PW", &new),
            std::slice::from_ref(&new),
        );
        assert!(
            crate::authority::support::log_rows(env, WS).is_empty(),
            "no new genesis was signed"
        );
    }
}
