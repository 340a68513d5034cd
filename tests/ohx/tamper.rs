//! Records changed by someone who can write the store file: a ciphertext copied from another
//! field, connection or workspace, bit-flipped or truncated; a ciphertext forged for the public
//! workspace recipient, an old one put back after an edit or a key rotation, a plain field
//! changed with SQL. Every use of the changed connection fails with status 5, prints nothing on
//! stdout and starts no child. A forgery, a rollback after an edit and a changed plain field are
//! caught only by record authentication: a MAC over each connection's whole record, keyed from
//! the workspace key (see docs/SECURITY.md). Each test runs on a SQLite file and on a PostgreSQL
//! database (`crate::team_store::both`), tampering through `crate::store_sql`.

use std::str::FromStr;

use crate::store_sql::{vals, StoreSql};
use crate::team_store::both;

use crate::connection::support::{revealed, secret, two_workspaces_in, with_secrets, Source, WS};
use crate::fixtures::{add_postgresql, assert_no_canary_anywhere, assert_says, runtime_dir};
use crate::harness::{random_canary, Cmd, Env};
use crate::store_probe::{
    age_identity, ciphertext, connection_id, set_ciphertext, stored_workspace, unwrap_key,
    wrapped_key_of,
};

// ---------------------------------------------------------------------------------------------
// Ciphertexts moved, flipped and cut
// ---------------------------------------------------------------------------------------------

/// Alice admin with postgresql `a` and `b`, each with its own canary password.
fn two_connections(env: &Env) -> (String, String) {
    env.admin_with_workspace(WS);
    let (a, b) = (random_canary(), random_canary());
    add_postgresql(env, "a", &a).ok();
    add_postgresql(env, "b", &b).ok();
    (a, b)
}

/// Every way of using `id`'s secrets fails with status 5 and prints nothing on stdout.
#[track_caller]
fn secrets_are_rejected(env: &Env, id: &str, canaries: &[String]) {
    for args in [
        vec!["connection", "show", id, "--reveal"],
        vec!["connection", "show", id, "--reveal", "--json"],
        vec!["connection", "get", id, "password"],
        vec!["connection", "env", id],
        vec!["connection", "url", id],
    ] {
        let out = env.ohx().args(&args).fails(5);
        assert!(
            out.stdout.is_empty(),
            "`ohx {}` printed on stdout\n{out}",
            args.join(" ")
        );
        assert_says(&out, &[id, "password"]);
        assert_no_canary_anywhere(canaries, &out);
    }
}

both! {
    fn a_ciphertext_copied_from_another_connection_is_rejected(store: &Store) {
        let env = &store.env;
        let (a, b) = two_connections(env);
        let (id_a, id_b) = (connection_id(env, WS, "a"), connection_id(env, WS, "b"));
        let changed = StoreSql::open(env).execute(
            "UPDATE fields SET ciphertext = (SELECT ciphertext FROM fields
                 WHERE connection_id = ?1 AND code = 'password')
             WHERE connection_id = ?2 AND code = 'password'",
            &vals![id_a, id_b],
        );
        assert_eq!(changed, 1);
        secrets_are_rejected(env, "b", &[a.clone(), b]);
        assert_eq!(
            revealed(env, "a", "password"),
            a,
            "the original still opens"
        );
    }
}

both! {
    fn a_ciphertext_copied_from_another_field_is_rejected(store: &Store) {
        let env = &store.env;
        env.admin_with_workspace(WS);
        let token = secret("token", Source::Env);
        let password = secret("password", Source::Stdin);
        with_secrets(
            env,
            env.ohx()
                .args(["connection", "add", "custom", "--name", "K"]),
            "k",
            &[token, password],
        )
        .ok();
        let id = connection_id(env, WS, "k");
        let token_ciphertext = ciphertext(env, id, "token");
        set_ciphertext(env, id, "password", &token_ciphertext);
        let out = env
            .ohx()
            .args(["connection", "show", "k", "--reveal"])
            .fails(5);
        assert!(out.stdout.is_empty(), "{out}");
    }
}

both! {
    fn a_bit_flipped_ciphertext_is_rejected(store: &Store) {
        let env = &store.env;
        let (a, b) = two_connections(env);
        let id = connection_id(env, WS, "b");
        let original = ciphertext(env, id, "password");
        for at in [original.len() / 2, original.len() - 1] {
            let mut flipped = original.clone();
            flipped[at] ^= 0x01;
            set_ciphertext(env, id, "password", &flipped);
            secrets_are_rejected(env, "b", &[a.clone(), b.clone()]);
        }
        set_ciphertext(env, id, "password", &original);
        assert_eq!(revealed(env, "b", "password"), b, "the restored row opens");
    }
}

both! {
    fn a_truncated_ciphertext_is_rejected(store: &Store) {
        let env = &store.env;
        let (a, b) = two_connections(env);
        let id = connection_id(env, WS, "b");
        let original = ciphertext(env, id, "password");
        for len in [
            original.len() - 1,
            original.len() - 16,
            original.len() / 2,
            1,
        ] {
            set_ciphertext(env, id, "password", &original[..len]);
            secrets_are_rejected(env, "b", &[a.clone(), b.clone()]);
        }
    }
}

both! {
    fn a_ciphertext_moved_from_another_workspace_is_rejected(store: &Store) {
        let env = &store.env;
        two_workspaces_in(env);
        let from = connection_id(env, "malaria", "warehouse");
        let to = connection_id(env, "tb", "warehouse");
        let moved = ciphertext(env, from, "password");
        set_ciphertext(env, to, "password", &moved);
        for args in [
            vec!["connection", "show", "tb/warehouse", "--reveal"],
            vec!["connection", "get", "tb/warehouse", "password"],
        ] {
            let out = env.ohx().args(&args).fails(5);
            assert!(out.stdout.is_empty(), "{out}");
            assert!(!out.stderr.contains("malaria-"), "{out}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Records forged, rolled back and changed
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
    let changed = StoreSql::open(env).execute(
        "UPDATE fields SET ciphertext = ?1, key_version = ?2
         WHERE code = 'password' AND connection_id = ?3",
        &vals![ciphertext, key_version, connection_id(env, WS, slug)],
    );
    assert_eq!(changed, 1);
}

#[track_caller]
fn password_ciphertext(env: &Env, slug: &str) -> (Vec<u8>, i64) {
    let row = StoreSql::open(env)
        .row(
            "SELECT ciphertext, key_version FROM fields WHERE code = 'password' AND connection_id = ?1",
            &vals![connection_id(env, WS, slug)],
        )
        .expect("read ciphertext");
    (row[0].blob(), row[1].int())
}

both! {
    fn a_forged_ciphertext_sealed_to_the_workspace_recipient_is_rejected(store: &Store) {
        // Fails until record MACs: the forgery is framed for its place and ohx uses it.
        let env = &store.env;
        env.admin_with_workspace(WS);
        let real = random_canary();
        add_postgresql(env, "warehouse", &real).ok();
        let forged = format!("forged-{}", random_canary());
        let sealed = forge_password(env, "warehouse", &forged);
        let version = stored_workspace(env, WS).key_version;
        set_password_ciphertext(env, "warehouse", &sealed, version);
        assert_every_use_is_rejected(env, "warehouse", &[&forged, &real]);
    }
}

both! {
    fn a_plain_field_changed_with_sql_is_rejected(store: &Store) {
        // Fails until record MACs: a changed host sends the real password to another server.
        let env = &store.env;
        env.admin_with_workspace(WS);
        let password = random_canary();
        add_postgresql(env, "warehouse", &password).ok();
        let evil = "collector.attacker.example";
        let changed = StoreSql::open(env).execute(
            "UPDATE fields SET value = ?1 WHERE code = 'host' AND connection_id = ?2",
            &vals![evil, connection_id(env, WS, "warehouse")],
        );
        assert_eq!(changed, 1);
        assert_every_use_is_rejected(env, "warehouse", &[evil, &password]);
    }
}

both! {
    fn a_secret_rolled_back_to_its_ciphertext_before_an_edit_is_rejected(store: &Store) {
        // Fails until record MACs: the old ciphertext was sealed by ohx for this very place and key
        // version, so only authentication of the whole record can tell that it was replaced.
        let env = &store.env;
        env.admin_with_workspace(WS);
        let old = random_canary();
        add_postgresql(env, "warehouse", &old).ok();
        let (old_ciphertext, old_version) = password_ciphertext(env, "warehouse");
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
        set_password_ciphertext(env, "warehouse", &old_ciphertext, old_version);
        assert_every_use_is_rejected(env, "warehouse", &[&old, &new]);
    }
}

both! {
    fn a_ciphertext_from_before_a_key_rotation_put_back_is_rejected(store: &Store) {
        let env = &store.env;
        env.admin_with_workspace(WS);
        let password = random_canary();
        add_postgresql(env, "warehouse", &password).ok();
        let (old_ciphertext, old_version) = password_ciphertext(env, "warehouse");
        env.ohx().args(["workspace", "rotate-key", WS]).ok();
        let new_version = stored_workspace(env, WS).key_version;
        assert_eq!(new_version, old_version + 1);
        // Put back as it was, and relabelled with the current version.
        for version in [old_version, new_version] {
            set_password_ciphertext(env, "warehouse", &old_ciphertext, version);
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
}
