//! Secrets against someone who can read or write the store file (RELIABILITY.md, Secrets):
//! records changed with SQL, a ciphertext forged for the public workspace recipient, an old
//! ciphertext put back, a stranger's identity, what a removal re-encrypts, and what a writer
//! killed mid-transaction leaves in the `-wal` and `-shm`.
//!
//! Three of these tests fail until records are authenticated (a MAC over each connection's whole
//! record, keyed from the workspace key, stored in `connections.mac`): anyone who can write the
//! file can seal a value to the public recipient or change a plain field, and today ohx uses it.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::fixtures::{join, runtime_dir};
use crate::harness::{random_canary, Cmd, Env};
use crate::store_probe::{
    age_identity, all_secret_ciphertexts, all_wrapped_keys, connection_id, contains, files_under,
    leaked_forms, open_db, stored_workspace, unwrap_key, wrapped_key_of,
};

use super::{add_custom, add_postgresql, kill_after, random_delay, typical_run, Killed, WS};

// ---------------------------------------------------------------------------------------------
// Records changed by someone who can write the file
// ---------------------------------------------------------------------------------------------

/// Every way an editor or admin uses or reveals `id`: each must fail with status 5, print nothing
/// on stdout, never show any of `values`, and `run` must not start its child. All commands are
/// tried before failing, so the report shows every one that let the change through.
#[track_caller]
fn assert_every_use_is_rejected(env: &Env, id: &str, values: &[&str]) {
    let started = env.root().join("child-started");
    let runtime = runtime_dir(env);
    let uses: Vec<Cmd> = vec![
        env.ohx().args(["connection", "show", id, "--reveal"]),
        env.ohx()
            .args(["connection", "show", id, "--reveal", "--json"]),
        env.ohx().args(["connection", "get", id, "password"]),
        env.ohx().args(["connection", "get", id, "host"]),
        env.ohx().args(["connection", "env", id]),
        env.ohx()
            .args(["connection", "env", id, "--format", "json", "--native"]),
        env.ohx().args(["connection", "url", id]),
        env.ohx()
            .env("XDG_RUNTIME_DIR", &runtime)
            .args(["run", "-c", id, "--", "sh", "-c", ": > \"$1\"; env", "sh"])
            .arg(&started),
    ];
    let mut let_through = Vec::new();
    for cmd in uses {
        let what = cmd.describe();
        let out = cmd.run();
        let shown = values
            .iter()
            .any(|v| out.stdout.contains(v) || out.stderr.contains(v));
        if out.status != 5 || !out.stdout.is_empty() || shown {
            let_through.push(format!("`{what}`: status {}\n{out}", out.status));
        } else {
            out.assert_clean_error(&what);
        }
    }
    if started.exists() {
        let_through.push("`ohx run` started its child".to_string());
    }
    assert!(
        let_through.is_empty(),
        "{} of 8 uses of the changed connection '{id}' were not refused with status 5:\n{}",
        let_through.len(),
        let_through.join("\n")
    );
}

/// Seals `value` for the password of `slug` exactly as ohx would: framed with its place and
/// encrypted to the workspace's public recipient, which anyone can read from the file.
fn forge_password(env: &Env, slug: &str, value: &str) -> Vec<u8> {
    let ws = stored_workspace(env, WS);
    let place = ohx::crypto::SecretPlace {
        workspace_id: ws.id,
        connection_id: connection_id(env, WS, slug),
        connection_slug: slug,
        field_code: "password",
        key_version: u32::try_from(ws.key_version).expect("key version"),
    };
    let recipient = age::x25519::Recipient::from_str(&ws.recipient).expect("recipient");
    let sealed = age::encrypt(&recipient, &ohx::crypto::frame(&place, value)).expect("encrypt");
    // The forgery is well-formed: the workspace key opens it to a frame naming exactly this
    // place, so only record authentication can tell it from ohx's own.
    let alice = age_identity(&env.identity_of("alice"));
    let key = wrapped_key_of(env, WS, "alice")
        .and_then(|w| unwrap_key(&w, &alice))
        .expect("alice's key");
    let plain = age::decrypt(&key, &sealed).expect("the workspace key opens the forgery");
    assert_eq!(ohx::crypto::unframe(&place, &plain), Some(value));
    sealed
}

#[track_caller]
fn set_password_ciphertext(env: &Env, slug: &str, ciphertext: &[u8], key_version: i64) {
    let changed = open_db(&env.store())
        .execute(
            "UPDATE fields SET ciphertext = ?1, key_version = ?2
             WHERE code = 'password' AND connection_id = ?3",
            rusqlite::params![ciphertext, key_version, connection_id(env, WS, slug)],
        )
        .expect("update ciphertext");
    assert_eq!(changed, 1);
}

#[track_caller]
fn password_ciphertext(env: &Env, slug: &str) -> (Vec<u8>, i64) {
    open_db(&env.store())
        .query_row(
            "SELECT ciphertext, key_version FROM fields WHERE code = 'password' AND connection_id = ?1",
            [connection_id(env, WS, slug)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("read ciphertext")
}

#[test]
fn a_forged_ciphertext_sealed_to_the_workspace_recipient_is_rejected() {
    // Fails until record MACs: the forgery is framed for its place and ohx uses it.
    let env = Env::new();
    env.admin_with_workspace(WS);
    let real = random_canary();
    add_postgresql(&env, "warehouse", &real).ok();
    let forged = format!("forged-{}", random_canary());
    let sealed = forge_password(&env, "warehouse", &forged);
    let version = stored_workspace(&env, WS).key_version;
    set_password_ciphertext(&env, "warehouse", &sealed, version);
    assert_every_use_is_rejected(&env, "warehouse", &[&forged, &real]);
}

#[test]
fn a_plain_field_changed_with_sql_is_rejected() {
    // Fails until record MACs: a changed host sends the real password to another server.
    let env = Env::new();
    env.admin_with_workspace(WS);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password).ok();
    let evil = "collector.attacker.example";
    let changed = open_db(&env.store())
        .execute(
            "UPDATE fields SET value = ?1 WHERE code = 'host' AND connection_id = ?2",
            rusqlite::params![evil, connection_id(&env, WS, "warehouse")],
        )
        .expect("change host");
    assert_eq!(changed, 1);
    assert_every_use_is_rejected(&env, "warehouse", &[evil, &password]);
}

#[test]
fn a_secret_rolled_back_to_its_ciphertext_before_an_edit_is_rejected() {
    // Fails until record MACs: the old ciphertext was sealed by ohx for this very place and key
    // version, so only authentication of the whole record can tell that it was replaced.
    let env = Env::new();
    env.admin_with_workspace(WS);
    let old = random_canary();
    add_postgresql(&env, "warehouse", &old).ok();
    let (old_ciphertext, old_version) = password_ciphertext(&env, "warehouse");
    let new = random_canary();
    env.ohx()
        .args([
            "connection",
            "edit",
            "warehouse",
            "--secret",
            "password=env:PW",
        ])
        .env("PW", &new)
        .ok();
    set_password_ciphertext(&env, "warehouse", &old_ciphertext, old_version);
    assert_every_use_is_rejected(&env, "warehouse", &[&old, &new]);
}

#[test]
fn a_ciphertext_from_before_a_key_rotation_put_back_is_rejected() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password).ok();
    let (old_ciphertext, old_version) = password_ciphertext(&env, "warehouse");
    env.ohx().args(["workspace", "rotate-key", WS]).ok();
    let new_version = stored_workspace(&env, WS).key_version;
    assert_eq!(new_version, old_version + 1);
    // Put back as it was, and relabelled with the current version.
    for version in [old_version, new_version] {
        set_password_ciphertext(&env, "warehouse", &old_ciphertext, version);
        for args in [
            vec!["connection", "show", "warehouse", "--reveal"],
            vec!["connection", "get", "warehouse", "password"],
            vec!["connection", "env", "warehouse"],
        ] {
            let out = env.ohx().args(&args).fails(5);
            assert!(out.stdout.is_empty(), "version {version}: {out}");
            assert!(!out.stderr.contains(&password), "{out}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Who can open what, with the age library and a copy of the file
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// What a killed writer leaves behind
// ---------------------------------------------------------------------------------------------

#[test]
fn a_writer_killed_mid_transaction_leaves_no_canary_in_the_store_files() {
    const KILLS: usize = 20;
    let env = Env::new();
    env.admin_with_workspace(WS);
    let typical = typical_run(5, |i| {
        add_postgresql(&env, &format!("warm-{i}"), &random_canary())
    });
    let (mut kills, mut n, mut sidecars_seen) = (0, 0, 0);
    while kills < KILLS {
        n += 1;
        if let Killed::No(out) = kill_after(
            add_postgresql(&env, &format!("c{n:03}"), &random_canary()),
            random_delay(typical),
        ) {
            assert_eq!(out.status, 0, "{out}");
            continue;
        }
        kills += 1;
        // Before anything opens the store again: what the killed process left on disk.
        let files = files_under(&env.home());
        sidecars_seen += usize::from(files.iter().any(|f| {
            f.to_string_lossy().ends_with("-wal") && std::fs::metadata(f).is_ok_and(|m| m.len() > 0)
        }));
        // Every canary starts with `canary-`, so its encodings start with those of the prefix:
        // searching for the prefix finds any of them, in one pass per form.
        let forms = leaked_forms("canary-");
        for file in &files {
            let bytes = std::fs::read(file).unwrap_or_default();
            for (form, needle) in &forms {
                assert!(
                    !contains(&bytes, needle),
                    "after kill {kills}, {} holds a secret ({form})",
                    file.display()
                );
            }
        }
    }
    eprintln!("killed writers: {kills} kills in {n} runs, {sidecars_seen} left a non-empty -wal");
}
