//! Attack 4, swaps: a file writer swaps two workspaces' slugs, or two users' names. The slug a
//! command asks for must be the slug the workspace's signed log gives it, so `-w staging` on
//! prod's rows hands out nothing (status 5); members are named by the log and found by their
//! recipient, so `member remove mallory` can only ever remove mallory's key (or refuse), never
//! bob's, and mallory reads nothing sealed after her removal.

use crate::authority::support::{
    assert_opens_nothing, attack, identity, refused, refused_with, sql,
};
use crate::fixtures::{add_postgresql, join, WS};
use crate::harness::{random_canary, Env};

/// Alice admin of `prod` and `staging`, carol editor of both; each has a `warehouse` with its
/// own canary password. Returns (prod's, staging's).
fn prod_and_staging(env: &Env) -> (String, String) {
    env.admin_with_workspace("prod");
    env.ohx()
        .args(["workspace", "create", "staging", "--slug", "staging"])
        .ok();
    join(env, "carol", "editor", Some("prod"));
    let carol = env.ohx_as("carol").args(["whoami", "--recipient"]).ok();
    env.ohx()
        .args([
            "member", "add", "carol", "--role", "editor", "-w", "staging",
        ])
        .args(["--recipient", carol.stdout.trim()])
        .ok();
    let mut passwords = Vec::new();
    for ws in ["prod", "staging"] {
        let password = format!("{ws}-{}", random_canary());
        add_postgresql(env, "warehouse", &password)
            .args(["-w", ws])
            .ok();
        passwords.push(password);
    }
    (passwords[0].clone(), passwords[1].clone())
}

attack! {
    fn swapped_workspace_slugs_hand_out_nobodys_credentials(store: Store) {
        let env = &store.env;
        let (prod, staging) = prod_and_staging(env);
        let canaries = [prod.clone(), staging.clone()];
        // Everyone has used both workspaces before the swap, so both are pinned.
        for (person, ws) in [("alice", "prod"), ("alice", "staging"), ("carol", "prod")] {
            env.ohx_as(person)
                .args(["connection", "env", "warehouse", "-w", ws])
                .ok();
        }
        sql(
            env,
            "UPDATE workspaces SET slug = 'swapping' WHERE slug = 'prod';
             UPDATE workspaces SET slug = 'prod' WHERE slug = 'staging';
             UPDATE workspaces SET slug = 'staging' WHERE slug = 'swapping';",
        );
        for (person, ws) in [
            ("alice", "staging"),
            ("alice", "prod"),
            ("carol", "staging"),
        ] {
            for args in [
                vec!["connection", "env", "warehouse"],
                vec!["connection", "url", "warehouse"],
                vec!["connection", "get", "warehouse", "password"],
            ] {
                let out = refused(env.ohx_as(person).args(&args).args(["-w", ws]), &canaries);
                assert!(out.stderr.contains(ws), "the error names '{ws}'\n{out}");
            }
        }
    }
}

attack! {
    fn swapped_slugs_are_refused_on_first_sight_too(store: Store) {
        let env = &store.env;
        let (prod, staging) = prod_and_staging(env);
        sql(
            env,
            "UPDATE workspaces SET slug = 'swapping' WHERE slug = 'prod';
             UPDATE workspaces SET slug = 'prod' WHERE slug = 'staging';
             UPDATE workspaces SET slug = 'staging' WHERE slug = 'swapping';",
        );
        // carol has never used prod: nothing is pinned for her, the log alone must refuse it.
        crate::authority::support::forget_pins(env, "carol");
        refused(
            env.ohx_as("carol")
                .args(["connection", "env", "warehouse", "-w", "staging"]),
            &[prod, staging],
        );
    }
}

attack! {
    fn swapped_user_names_never_make_member_remove_remove_someone_else(store: Store) {
        let env = &store.env;
        env.admin_with_workspace(WS);
        join(env, "bob", "editor", Some(WS));
        join(env, "mallory", "editor", Some(WS));
        let password = random_canary();
        add_postgresql(env, "warehouse", &password).ok();
        sql(
            env,
            "UPDATE users SET name = 'swapping' WHERE name = 'bob';
             UPDATE users SET name = 'bob' WHERE name = 'mallory';
             UPDATE users SET name = 'mallory' WHERE name = 'swapping';",
        );
        let out = env
            .ohx()
            .args(["member", "remove", "mallory", "--yes", "-w", WS])
            .run();
        assert!(
            out.status == 0 || (out.status == 5 && out.stdout.is_empty()),
            "`member remove mallory` after a name swap: expected success or status 5\n{out}"
        );
        // Bob was never removed: he still reads.
        let read = env
            .ohx_as("bob")
            .args(["connection", "get", "warehouse", "password", "-w", WS])
            .run();
        assert!(
            read.status == 0 && read.stdout.trim_end() == password,
            "bob lost his access after `member remove mallory`\n{out}\nbob's read:\n{read}"
        );
        if out.status == 0 {
            // Mallory was removed, and the key rotated away from her: a secret alice writes now is
            // out of her reach, through ohx and with the age library on the file.
            let later = random_canary();
            env.ohx()
                .args(["connection", "edit", "warehouse", "-w", WS])
                .args(["--secret", "password=env:PW"])
                .env("PW", &later)
                .ok();
            refused_with(
                env.ohx_as("mallory")
                    .args(["connection", "get", "warehouse", "password", "-w", WS]),
                &[4, 5],
                &[later.clone(), password.clone()],
            );
            assert_opens_nothing(env, &identity(env, "mallory"), "mallory");
        }
    }
}
