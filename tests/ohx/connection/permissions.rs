//! What viewers and editors may not do with connections: a viewer reveals no secret, neither
//! through ohx nor with the age library and the store file; neither adds, edits nor deletes, and
//! a refusal changes nothing.

use crate::connection::support::{
    add_cmd, all_types, new_secret, refused, team_with_every_type, with_secrets, Source, WS,
};
use crate::fixtures::{assert_no_canary_anywhere, assert_says};
use crate::store_probe::{age_identity, ciphertext, connection_id, unwrap_key, wrapped_key_of};

#[test]
fn a_viewer_cannot_reveal_secrets() {
    let (env, specs) = team_with_every_type();
    for spec in &specs {
        for json in [false, true] {
            let mut cmd = env
                .ohx_as("bob")
                .args(["connection", "show", spec.id, "--reveal"]);
            if json {
                cmd = cmd.arg("--json");
            }
            let out = cmd.fails(4);
            assert!(out.stdout.is_empty(), "a refusal printed on stdout\n{out}");
            assert_says(&out, &["viewer"]);
            assert_no_canary_anywhere(&spec.canaries(), &out);
        }
    }
}

#[test]
fn a_viewer_cannot_decrypt_stored_secrets_with_age() {
    let (env, specs) = team_with_every_type();
    let bob = age_identity(&env.identity_of("bob"));
    assert_eq!(
        wrapped_key_of(&env, WS, "bob"),
        None,
        "a viewer holds no key"
    );
    let alice_key = wrapped_key_of(&env, WS, "alice").expect("alice holds a key");
    assert!(unwrap_key(&alice_key, &bob).is_none());
    for spec in &specs {
        let id = connection_id(&env, WS, spec.id);
        for s in &spec.secrets {
            assert!(age::decrypt(&bob, &ciphertext(&env, id, s.code)).is_err());
        }
    }
}

#[test]
fn viewers_and_editors_cannot_add_connections() {
    let (env, _) = team_with_every_type();
    for person in ["bob", "carol"] {
        for spec in all_types() {
            let out = refused(&env, add_cmd(&env, person, &spec), 4);
            assert_no_canary_anywhere(&spec.canaries(), &out);
        }
    }
}

#[test]
fn viewers_and_editors_cannot_edit_connections() {
    let (env, specs) = team_with_every_type();
    for person in ["bob", "carol"] {
        for spec in &specs {
            let rename =
                env.ohx_as(person)
                    .args(["connection", "edit", spec.id, "--name", "Renamed"]);
            refused(&env, rename, 4);
            let reseal = with_secrets(
                &env,
                env.ohx_as(person).args(["connection", "edit", spec.id]),
                spec.id,
                &[new_secret(spec.secrets[0].code, Source::Stdin)],
            );
            refused(&env, reseal, 4);
        }
    }
}

#[test]
fn viewers_and_editors_cannot_delete_connections() {
    let (env, specs) = team_with_every_type();
    for person in ["bob", "carol"] {
        for spec in &specs {
            let delete = env
                .ohx_as(person)
                .args(["connection", "delete", spec.id, "--yes"]);
            refused(&env, delete, 4);
        }
    }
}
