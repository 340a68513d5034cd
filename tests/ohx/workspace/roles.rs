//! What each role may do with a workspace and which key it holds: viewers and editors read it
//! but cannot manage it, a refusal names the role, a stranger is refused everything and cannot
//! tell an existing workspace from a missing one; a viewer holds no wrapped key, and a stranger's
//! identity opens nothing in the store file.

use crate::fixtures::{add_custom, join, snapshot, team, WS};
use crate::harness::{random_canary, Env};
use crate::store_probe::{
    age_identity, all_secret_ciphertexts, all_wrapped_keys, fresh_recipient, membership_row,
    unwrap_key, wrapped_key_of,
};

// ---------------------------------------------------------------------------------------------
// The permission matrix
// ---------------------------------------------------------------------------------------------

/// The commands of the permission matrix, each with whether only an admin may run it.
fn matrix(newcomer: &str) -> Vec<(Vec<String>, bool)> {
    let cmd = |words: &[&str], admin_only| {
        (
            words.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            admin_only,
        )
    };
    vec![
        cmd(&["workspace", "show", "w"], false),
        cmd(&["member", "list", "-w", "w"], false),
        cmd(
            &[
                "member",
                "add",
                "xavier",
                "--recipient",
                newcomer,
                "--role",
                "viewer",
                "-w",
                "w",
            ],
            true,
        ),
        cmd(&["member", "set-role", "bob", "editor", "-w", "w"], true),
        cmd(&["member", "remove", "bob", "--yes", "-w", "w"], true),
        cmd(&["workspace", "edit", "w", "--name", "X"], true),
        cmd(&["workspace", "rotate-key", "w"], true),
        cmd(&["workspace", "delete", "w", "--yes"], true),
    ]
}

/// Runs the matrix as a member with a role below admin: reads succeed, the rest is status 4,
/// and nothing changes.
fn assert_member_below_admin(person: &str) {
    let env = Env::new();
    team(&env);
    let before = snapshot(&env, "w");
    for (args, admin_only) in matrix(&fresh_recipient()) {
        let cmd = env.ohx_as(person).args(&args);
        if admin_only {
            let out = cmd.fails(4);
            assert!(
                out.stderr.contains("admin"),
                "{person} `{}`: the refusal should name the role needed\n{out}",
                args.join(" ")
            );
        } else {
            cmd.ok();
        }
    }
    assert_eq!(snapshot(&env, "w"), before, "a refusal changed the store");
}

#[test]
fn a_viewer_may_read_the_workspace_but_not_manage_it() {
    assert_member_below_admin("bob");
}

#[test]
fn an_editor_may_read_the_workspace_but_not_manage_it() {
    assert_member_below_admin("carol");
}

#[test]
fn a_refusal_names_the_role_with_the_right_article() {
    let env = Env::new();
    team(&env);
    let out = env
        .ohx_as("carol")
        .args(["workspace", "rotate-key", "w"])
        .fails(4);
    assert!(
        out.stderr.contains("you are an editor of workspace 'w'"),
        "{out}"
    );
    let out = env
        .ohx_as("bob")
        .args(["workspace", "rotate-key", "w"])
        .fails(4);
    assert!(
        out.stderr.contains("you are a viewer of workspace 'w'"),
        "{out}"
    );
}

#[test]
fn a_stranger_is_refused_everything_and_changes_nothing() {
    let env = Env::new();
    team(&env);
    let before = snapshot(&env, "w");
    for (args, _) in matrix(&fresh_recipient()) {
        env.ohx_as("dave").args(&args).fails(4);
    }
    assert_eq!(snapshot(&env, "w"), before, "a refusal changed the store");
}

#[test]
fn a_stranger_cannot_tell_an_existing_workspace_from_a_missing_one() {
    let env = Env::new();
    team(&env);
    let newcomer = fresh_recipient();
    let refusals = |env: &Env| -> Vec<String> {
        let mut commands: Vec<Vec<String>> =
            matrix(&newcomer).into_iter().map(|(a, _)| a).collect();
        commands.push(vec!["workspace".into(), "use".into(), "w".into()]);
        commands.push(vec![
            "workspace".into(),
            "show".into(),
            "-w".into(),
            "w".into(),
        ]);
        commands
            .iter()
            .map(|args| env.ohx_as("dave").args(args).fails(4).stderr)
            .collect()
    };
    let while_it_exists = refusals(&env);
    env.ohx().args(["workspace", "delete", "w", "--yes"]).ok();
    let once_it_is_gone = refusals(&env);
    for (i, (a, b)) in while_it_exists.iter().zip(&once_it_is_gone).enumerate() {
        assert_eq!(a, b, "command {i} of the matrix leaks that 'w' exists");
    }
}

// ---------------------------------------------------------------------------------------------
// Who holds the key
// ---------------------------------------------------------------------------------------------

#[test]
fn a_viewer_holds_no_wrapped_key() {
    let env = Env::new();
    team(&env);
    assert_eq!(
        membership_row(&env, "w", "bob"),
        Some(None),
        "bob is a viewer"
    );
    let bob_id = age_identity(&env.identity_of("bob"));
    for wrapped in all_wrapped_keys(&env) {
        assert!(
            age::decrypt(&bob_id, &wrapped).is_err(),
            "a viewer can decrypt a key"
        );
    }
}

#[test]
fn a_strangers_identity_opens_nothing_in_the_store() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "carol", "editor", Some(WS));
    join(&env, "bob", "viewer", Some(WS));
    env.person("dave");
    env.ohx()
        .args(["workspace", "create", "Other", "--slug", "other"])
        .ok();
    let mut values = Vec::new();
    for (slug, ws) in [("a", WS), ("b", WS), ("c", "other")] {
        let token = random_canary();
        add_custom(&env, slug, &token).args(["-w", ws]).ok();
        values.push(token);
    }
    let (ciphertexts, wrapped) = (all_secret_ciphertexts(&env), all_wrapped_keys(&env));
    assert_eq!(ciphertexts.len(), 3);
    assert_eq!(wrapped.len(), 3, "alice twice, carol once");

    let dave = age_identity(&env.identity_of("dave"));
    let never_registered = age::x25519::Identity::generate();
    for (who, identity) in [("dave", &dave), ("a fresh identity", &never_registered)] {
        for blob in ciphertexts.iter().chain(&wrapped) {
            assert!(
                age::decrypt(identity, blob).is_err(),
                "{who} decrypts something in the store"
            );
        }
    }
    // The same method works for a member: alice opens her key, and it opens the secrets.
    let alice = age_identity(&env.identity_of("alice"));
    let key = wrapped_key_of(&env, WS, "alice")
        .and_then(|w| unwrap_key(&w, &alice))
        .expect("alice opens her key");
    let opened = ciphertexts
        .iter()
        .filter_map(|c| age::decrypt(&key, c).ok())
        .filter(|plain| values.iter().any(|v| plain.ends_with(v.as_bytes())))
        .count();
    assert_eq!(opened, 2, "the key of '{WS}' opens its two secrets");
    // And ohx refuses dave.
    for args in [
        ["connection", "show", "ws/a", "--reveal"],
        ["connection", "get", "ws/a", "token"],
    ] {
        let out = env.ohx_as("dave").args(args).fails(4);
        assert!(out.stdout.is_empty(), "{out}");
    }
}
