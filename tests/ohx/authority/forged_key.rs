//! Attack 3, forged workspace key: a file writer with no key at all makes a workspace key of her
//! own, wraps it for every key holder (their recipients are public), rewrites a host and every
//! secret sealed to her key, recomputes the record MACs with it and points
//! `workspaces.recipient`/`key_version` at it. The key each member unwraps then names another
//! recipient than the signed log, and the records carry no admin's signature, so editors' and
//! admins' `url`, `env` and `run` fail with status 5, print nothing on stdout, start no child, and
//! show neither the attacker's host and password nor the real ones.

use crate::authority::support::{attack, remac, Team, WS};
use crate::fixtures::runtime_dir;
use crate::harness::{random_canary, Cmd, Env};
use crate::store_probe::{connection_id, stored_workspace};
use crate::store_sql::{vals, StoreSql};

/// What the attacker planted: her host and her secrets.
struct Forgery {
    host: String,
    values: Vec<String>,
}

/// Replaces `code` of connection `slug` with `value` sealed to `key` for its place.
fn seal_field(env: &Env, key: &ohx::crypto::WorkspaceKey, slug: &str, code: &str, value: &str) {
    let ws = stored_workspace(env, WS);
    let id = connection_id(env, WS, slug);
    let place = ohx::crypto::SecretPlace {
        workspace_id: ws.id,
        connection_id: id,
        connection_slug: slug,
        field_code: code,
        key_version: key.version(),
    };
    let sealed = ohx::crypto::SealingKey::parse(&key.recipient())
        .and_then(|k| k.seal(&place, value))
        .expect("seal to the attacker's key");
    let changed = StoreSql::open(env).execute(
        "UPDATE fields SET ciphertext = ?3, key_version = ?4
         WHERE connection_id = ?1 AND code = ?2",
        &vals![id, code, sealed, key.version()],
    );
    assert_eq!(changed, 1, "no field {slug}/{code}");
}

/// The whole forgery, with a key at `version`.
fn forge(team: &Team, version: u32) -> Forgery {
    let env = &team.env;
    let ws = stored_workspace(env, WS);
    let key = ohx::crypto::WorkspaceKey::generate(version);
    let mut db = StoreSql::open(env);
    let holders: Vec<(i64, String)> = db
        .rows(
            "SELECT u.id, u.recipient FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE m.workspace_id = ?1 AND m.wrapped_key IS NOT NULL",
            &vals![ws.id],
        )
        .iter()
        .map(|r| (r[0].int(), r[1].text()))
        .collect();
    assert!(holders.len() >= 2, "alice and carol hold the key");
    for (user, recipient) in &holders {
        let wrapped = key.wrap_for(ws.id, recipient).expect("wrap");
        db.execute(
            "UPDATE memberships SET wrapped_key = ?3, key_version = ?4
             WHERE workspace_id = ?1 AND user_id = ?2",
            &vals![ws.id, *user, wrapped, version],
        );
    }
    let host = format!("{}.attacker.example", random_canary());
    db.execute(
        "UPDATE fields SET value = ?2 WHERE code = 'host' AND connection_id = ?1",
        &vals![connection_id(env, WS, "warehouse"), &host],
    );
    db.execute(
        "UPDATE workspaces SET recipient = ?2, key_version = ?3 WHERE id = ?1",
        &vals![ws.id, key.recipient(), version],
    );
    drop(db);
    let (password, token) = (random_canary(), random_canary());
    seal_field(env, &key, "warehouse", "password", &password);
    seal_field(env, &key, "api", "token", &token);
    for slug in ["warehouse", "api"] {
        remac(env, connection_id(env, WS, slug), &key);
    }
    Forgery {
        host,
        values: vec![password, token],
    }
}

/// Every use of the forged connections by `person` fails with status 5, prints nothing on
/// stdout, shows no planted or real value, and `run` starts no child. Every use is tried before
/// failing, so the report lists each one that let the forgery through.
#[track_caller]
fn every_use_refused(team: &Team, forgery: &Forgery, person: &str) {
    let env = &team.env;
    let started = env.root().join(format!("child-started-{person}"));
    let runtime = runtime_dir(env);
    let mut shown: Vec<&str> = vec![&forgery.host, &team.password, &team.token];
    shown.extend(forgery.values.iter().map(String::as_str));
    let uses: Vec<Cmd> = vec![
        env.ohx_as(person).args(["connection", "url", "warehouse"]),
        env.ohx_as(person).args(["connection", "env", "warehouse"]),
        env.ohx_as(person).args(["connection", "env", "api"]),
        env.ohx_as(person)
            .args(["connection", "env", "warehouse", "--format", "json"]),
        env.ohx_as(person)
            .args(["connection", "get", "warehouse", "host"]),
        env.ohx_as(person)
            .env("XDG_RUNTIME_DIR", &runtime)
            .args([
                "run",
                "-c",
                "warehouse",
                "--",
                "sh",
                "-c",
                ": > \"$1\"; env",
                "sh",
            ])
            .arg(&started),
    ];
    let mut let_through = Vec::new();
    for cmd in uses {
        let cmd = cmd.args(["-w", WS]);
        let what = cmd.describe();
        let out = cmd.run();
        let leaked = shown
            .iter()
            .any(|v| out.stdout.contains(v) || out.stderr.contains(v));
        if out.status != 5 || !out.stdout.is_empty() || leaked {
            let_through.push(format!(
                "`{what}` as {person}: status {}\n{out}",
                out.status
            ));
        } else {
            out.assert_clean_error(&what);
        }
    }
    if started.exists() {
        let_through.push(format!("`ohx run` as {person} started its child"));
    }
    assert!(
        let_through.is_empty(),
        "{} uses of the forged workspace were not refused with status 5:\n{}",
        let_through.len(),
        let_through.join("\n")
    );
}

attack! {
    fn a_forged_workspace_key_with_recomputed_macs_is_refused_by_every_editor_and_admin(
        store: Store
    ) {
        let team = Team::on(store);
        let version = u32::try_from(stored_workspace(&team.env, WS).key_version).expect("version");
        let forgery = forge(&team, version + 1);
        every_use_refused(&team, &forgery, "carol");
        every_use_refused(&team, &forgery, "alice");
    }
}

attack! {
    fn a_forged_workspace_key_at_the_current_version_is_refused_too(store: Store) {
        let team = Team::on(store);
        let version = u32::try_from(stored_workspace(&team.env, WS).key_version).expect("version");
        let forgery = forge(&team, version);
        every_use_refused(&team, &forgery, "carol");
    }
}

attack! {
    fn after_a_forged_key_is_refused_the_admins_next_secret_is_not_sealed_to_it(store: Store) {
        let team = Team::on(store);
        let version = u32::try_from(stored_workspace(&team.env, WS).key_version).expect("version");
        let env = &team.env;
        forge(&team, version + 1);
        // The key now in alice's row is the attacker's (she wrapped it for alice).
        let planted = crate::authority::support::alices_key(env, WS);
        let secret = random_canary();
        let out = crate::fixtures::add_custom(env, "later", &secret)
            .args(["-w", WS])
            .run();
        assert!(
            out.status == 0 || (out.status == 5 && out.stdout.is_empty()),
            "{out}"
        );
        assert!(!out.stderr.contains(&secret), "{out}");
        for ciphertext in crate::store_probe::all_secret_ciphertexts(env) {
            if let Ok(plain) = age::decrypt(&planted, &ciphertext) {
                assert!(
                    !crate::store_probe::contains(&plain, secret.as_bytes()),
                    "alice's next secret was sealed to the attacker's key"
                );
            }
        }
    }
}
