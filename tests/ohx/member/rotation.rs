//! The workspace key moves out of reach of whoever loses access: removing or demoting an editor
//! rotates it (new version and recipient, every secret of that workspace and no other sealed
//! again), checked with the age library on the store file itself; promoting a viewer wraps the
//! current key without rotating.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::connection::support::revealed;
use crate::fixtures::{add_custom, add_postgresql, join, team, workspace_show_json, WS};
use crate::harness::{random_canary, Env};
use crate::store_probe::{
    age_identity, all_wrapped_keys, ciphertext, connection_id, membership_row, open_db,
    recipient_of, stored_workspace, unwrap_key, wrapped_key, wrapped_key_of,
};

fn key_version(show: &Value) -> u64 {
    show["key_version"].as_u64().expect("key_version")
}

fn recipient_field(show: &Value) -> String {
    show["recipient"].as_str().expect("recipient").to_string()
}

/// Between two `workspace show --json` documents the key moved on: one version up, and another
/// recipient.
#[track_caller]
fn assert_rotated(before: &Value, after: &Value) {
    assert_eq!(key_version(after), key_version(before) + 1, "key_version");
    assert_ne!(recipient_field(after), recipient_field(before), "recipient");
}

#[test]
fn removing_an_editor_rotates_the_key_out_of_their_reach() {
    let env = Env::new();
    env.admin_with_workspace("w");
    join(&env, "carol", "editor", Some("w"));
    let before = workspace_show_json(&env, "w");
    let carols_old_wrapped = wrapped_key(&env, "w", "carol");

    env.ohx()
        .args(["member", "remove", "carol", "--yes", "-w", "w"])
        .ok();

    let after = workspace_show_json(&env, "w");
    assert_rotated(&before, &after);
    assert_eq!(
        membership_row(&env, "w", "carol"),
        None,
        "carol's row is gone"
    );

    // Carol's old wrapped key was hers: it opens, but holds the old key, which is retired.
    let carol_id = age_identity(&env.identity_of("carol"));
    let old_key = unwrap_key(&carols_old_wrapped, &carol_id).expect("carol's old wrapped key");
    assert_eq!(recipient_of(&old_key), recipient_field(&before));
    assert_ne!(recipient_of(&old_key), recipient_field(&after));

    // No wrapped key left in the store opens with carol's identity.
    let remaining = all_wrapped_keys(&env);
    assert!(!remaining.is_empty());
    for wrapped in &remaining {
        assert!(
            age::decrypt(&carol_id, wrapped).is_err(),
            "carol can still decrypt a wrapped key"
        );
    }
    // Alice's wrapped key holds the new key (so the check above is not vacuous).
    let alice_id = age_identity(&env.identity_of("alice"));
    let new_key = unwrap_key(&wrapped_key(&env, "w", "alice"), &alice_id).expect("alice's key");
    assert_eq!(recipient_of(&new_key), recipient_field(&after));
}

#[test]
fn demoting_an_editor_to_viewer_rotates_the_key() {
    let env = Env::new();
    team(&env);
    let before = workspace_show_json(&env, "w");
    let carols_old_wrapped = wrapped_key(&env, "w", "carol");
    env.ohx()
        .args(["member", "set-role", "carol", "viewer", "-w", "w"])
        .ok();
    let after = workspace_show_json(&env, "w");
    assert_rotated(&before, &after);
    assert_eq!(
        membership_row(&env, "w", "carol"),
        Some(None),
        "carol's wrapped_key"
    );
    let carol_id = age_identity(&env.identity_of("carol"));
    let old_key = unwrap_key(&carols_old_wrapped, &carol_id).expect("carol's old key");
    assert_ne!(recipient_of(&old_key), recipient_field(&after));
    for wrapped in all_wrapped_keys(&env) {
        assert!(age::decrypt(&carol_id, &wrapped).is_err());
    }
}

#[test]
fn promoting_a_viewer_wraps_the_current_key_without_rotating() {
    let env = Env::new();
    team(&env);
    let before = workspace_show_json(&env, "w");
    env.ohx()
        .args(["member", "set-role", "bob", "editor", "-w", "w"])
        .ok();
    let after = workspace_show_json(&env, "w");
    assert_eq!(key_version(&after), key_version(&before));
    assert_eq!(recipient_field(&after), recipient_field(&before));
    let bob_id = age_identity(&env.identity_of("bob"));
    let key = unwrap_key(&wrapped_key(&env, "w", "bob"), &bob_id).expect("bob's key");
    assert_eq!(recipient_of(&key), recipient_field(&after));
}

/// The secrets of workspace `ws`: (connection id, code) -> (ciphertext, key version).
fn secrets_of(env: &Env, ws: &str) -> BTreeMap<(i64, String), (Vec<u8>, i64)> {
    let db = open_db(&env.store());
    let mut stmt = db
        .prepare(
            "SELECT f.connection_id, f.code, f.ciphertext, f.key_version
             FROM fields f JOIN connections c ON c.id = f.connection_id
             JOIN workspaces w ON w.id = c.workspace_id WHERE w.slug = ?1 AND f.secret = 1",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([ws], |r| {
            Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
        })
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

#[test]
fn removing_a_member_re_encrypts_every_secret_of_the_workspace_and_no_other() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "carol", "editor", Some(WS));
    env.ohx()
        .args(["workspace", "create", "Other", "--slug", "other"])
        .ok();
    let mut values = Vec::new();
    for (slug, ws) in [("a", WS), ("b", WS), ("c", WS), ("d", "other")] {
        let token = random_canary();
        let api_key = random_canary();
        add_custom(&env, slug, &token)
            .args(["--secret", "api_key=env:API_KEY", "-w", ws])
            .env("API_KEY", &api_key)
            .ok();
        values.extend([token, api_key]);
    }
    let carol = age_identity(&env.identity_of("carol"));
    let old_key = wrapped_key_of(&env, WS, "carol")
        .and_then(|w| unwrap_key(&w, &carol))
        .expect("carol opens her key");
    let before = secrets_of(&env, WS);
    let other_before = secrets_of(&env, "other");
    let version = stored_workspace(&env, WS).key_version;
    assert_eq!(before.len(), 6);

    env.ohx()
        .args(["member", "remove", "carol", "--yes", "-w", WS])
        .ok();

    let after = secrets_of(&env, WS);
    let alice = age_identity(&env.identity_of("alice"));
    let new_key = wrapped_key_of(&env, WS, "alice")
        .and_then(|w| unwrap_key(&w, &alice))
        .expect("alice opens the new key");
    assert_eq!(stored_workspace(&env, WS).key_version, version + 1);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for (place, (ciphertext, key_version)) in &after {
        let (old_ciphertext, _) = &before[place];
        assert_eq!(*key_version, version + 1, "{place:?}: key version");
        assert!(
            age::decrypt(&old_key, ciphertext).is_err(),
            "{place:?}: the removed editor's key still opens it"
        );
        let old_plain = age::decrypt(&old_key, old_ciphertext).expect("old key, old ciphertext");
        let new_plain = age::decrypt(&new_key, ciphertext).expect("new key, new ciphertext");
        let value = values
            .iter()
            .find(|v| old_plain.ends_with(v.as_bytes()))
            .expect("a known value");
        assert!(
            new_plain.ends_with(value.as_bytes()),
            "{place:?}: value changed"
        );
    }
    assert_eq!(
        secrets_of(&env, "other"),
        other_before,
        "another workspace was touched"
    );
    let marks = |ws: &str| -> Vec<bool> {
        let db = open_db(&env.store());
        let mut stmt = db
            .prepare(
                "SELECT c.needs_rotation FROM connections c JOIN workspaces w
                 ON w.id = c.workspace_id WHERE w.slug = ?1",
            )
            .expect("prepare");
        let rows = stmt.query_map([ws], |r| r.get(0)).expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    assert_eq!(marks(WS), vec![true; 3]);
    assert_eq!(marks("other"), vec![false]);
}

#[test]
fn a_removed_editor_cannot_decrypt_the_stored_secret_with_age() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    join(&env, "carol", "editor", None);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password).ok();
    let id = connection_id(&env, WS, "warehouse");
    let carol = age_identity(&env.identity_of("carol"));

    // While she is an editor, carol's identity file opens the stored secret: this proves the
    // method that must fail afterwards.
    let old_sealed = ciphertext(&env, id, "password");
    let her_copy = wrapped_key_of(&env, WS, "carol").expect("carol holds a key");
    let old_key = unwrap_key(&her_copy, &carol).expect("carol unwraps her key");
    let plain = age::decrypt(&old_key, &old_sealed).expect("the old key opens the old secret");
    assert!(plain.ends_with(password.as_bytes()));

    env.ohx().args(["member", "remove", "carol", "--yes"]).ok();

    assert_eq!(
        wrapped_key_of(&env, WS, "carol"),
        None,
        "carol still holds a key"
    );
    let new_sealed = ciphertext(&env, id, "password");
    assert_ne!(new_sealed, old_sealed, "the secret was not re-encrypted");
    assert!(
        age::decrypt(&carol, &new_sealed).is_err(),
        "carol's identity decrypts the stored secret"
    );
    assert!(
        age::decrypt(&old_key, &new_sealed).is_err(),
        "the workspace key carol could have copied decrypts the stored secret"
    );
    let alices = wrapped_key_of(&env, WS, "alice").expect("alice holds a key");
    assert!(
        unwrap_key(&alices, &carol).is_none(),
        "carol unwraps the new key"
    );
    assert_eq!(revealed(&env, "warehouse", "password"), password);
}
