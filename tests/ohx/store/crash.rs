//! `kill -9` at random moments: of `connection add`, which never leaves a half-written
//! connection and never loses an acknowledged one; and of `member remove`, whose key rotation is
//! all there or not at all, never a mix of old and new keys.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::faults::{kill_after, random_delay, typical_run, Killed};
use crate::fixtures::{add_custom, add_postgresql, assert_tokens_open, env_json, prefix, WS};
use crate::harness::{random_canary, Env};
use crate::store_probe::{
    age_identity, integrity, membership_row, open_db, orphan_fields, sidecar, stored_identifiers,
    stored_workspace, unwrap_key, wrapped_key_of,
};

// ---------------------------------------------------------------------------------------------
// Killing connection add
// ---------------------------------------------------------------------------------------------

/// What `fields` rows a postgresql connection must have: code -> secret?
const POSTGRESQL_FIELDS: [(&str, bool); 5] = [
    ("host", false),
    ("port", false),
    ("username", false),
    ("db_name", false),
    ("password", true),
];

/// The store is sound and holds no half-written connection: every connection of [`WS`] has
/// exactly its five fields, each complete, its secret under the current key version; and every
/// connection in `acknowledged` (added by a command that exited 0) is there.
#[track_caller]
fn assert_no_half_written_connection(env: &Env, acknowledged: &BTreeMap<String, String>) {
    assert_eq!(integrity(env), "ok");
    let ws = stored_workspace(env, WS);
    let db = open_db(&env.store());
    let orphans = orphan_fields(env);
    assert_eq!(orphans, 0, "field rows without their connection");
    let mut stmt = db
        .prepare(
            "SELECT c.slug, c.name, c.type, f.code, f.secret, f.value, f.ciphertext, f.key_version
             FROM connections c LEFT JOIN fields f ON f.connection_id = c.id
             WHERE c.workspace_id = ?1",
        )
        .expect("prepare");
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<bool>,
        Option<String>,
        Option<Vec<u8>>,
        Option<i64>,
    );
    let rows: Vec<Row> = stmt
        .query_map([ws.id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    let mut fields: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for (slug, name, kind, code, secret, value, ciphertext, version) in rows {
        assert_eq!(
            (name.as_str(), kind.as_str()),
            (slug.as_str(), "postgresql")
        );
        let of_slug = fields.entry(slug.clone()).or_default();
        let Some(code) = code else { continue };
        let secret = secret.expect("secret flag");
        if secret {
            assert!(
                ciphertext.as_ref().is_some_and(|c| !c.is_empty()),
                "{slug}.{code}: no ciphertext"
            );
            assert_eq!(version, Some(ws.key_version), "{slug}.{code}: key version");
        } else {
            assert!(value.is_some(), "{slug}.{code}: no value");
        }
        of_slug.insert(code, secret);
    }
    let complete: BTreeMap<String, bool> = POSTGRESQL_FIELDS
        .iter()
        .map(|(c, s)| (c.to_string(), *s))
        .collect();
    for (slug, got) in &fields {
        assert_eq!(got, &complete, "connection '{slug}' is half-written");
    }
    for slug in acknowledged.keys() {
        assert!(
            fields.contains_key(slug),
            "'{slug}' was acknowledged (exit 0) but is not in the store"
        );
    }
}

#[test]
fn kill_9_at_random_moments_of_connection_add_never_leaves_a_half_written_connection() {
    const KILLS: usize = 60;
    let env = Env::new();
    env.admin_with_workspace(WS);
    // slug -> password, for every connection that must be there (acknowledged) or is (killed
    // after its commit).
    let mut acknowledged: BTreeMap<String, String> = BTreeMap::new();
    let mut present: BTreeMap<String, String> = BTreeMap::new();
    let typical = typical_run(5, |i| {
        let (slug, password) = (format!("warm-{i}"), random_canary());
        acknowledged.insert(slug.clone(), password.clone());
        add_postgresql(&env, &slug, &password)
    });
    present.extend(acknowledged.clone());

    let (mut kills, mut landed_after_commit, mut held_open, mut n) = (0, 0, 0, 0);
    let started = Instant::now();
    while kills < KILLS {
        n += 1;
        let (slug, password) = (format!("c{n:03}"), random_canary());
        match kill_after(
            add_postgresql(&env, &slug, &password),
            random_delay(typical),
        ) {
            Killed::No(out) => {
                assert_eq!(out.status, 0, "an add that was not killed failed\n{out}");
                acknowledged.insert(slug.clone(), password.clone());
                present.insert(slug, password);
            }
            Killed::Yes => {
                kills += 1;
                // SQLite removes the -shm when the last connection closes: one left behind means
                // the kill landed while ohx had the store open.
                held_open += usize::from(sidecar(&env.store(), "-shm").exists());
                if stored_identifiers(&env, WS).contains(&slug) {
                    landed_after_commit += 1;
                    present.insert(slug, password);
                }
            }
        }
        assert_no_half_written_connection(&env, &acknowledged);
        if kills % 10 == 0 || kills == KILLS {
            // Every connection there opens, with the password it was given.
            let ids: Vec<String> = present.keys().cloned().collect();
            let vars = env_json(&env, &ids);
            for (slug, password) in &present {
                assert_eq!(
                    vars.get(&format!("{}_PASSWORD", prefix(slug))),
                    Some(password)
                );
            }
        }
    }
    assert_eq!(
        stored_identifiers(&env, WS),
        present.keys().cloned().collect::<Vec<_>>()
    );
    for slug in present.keys() {
        env.ohx()
            .args(["connection", "show", slug, "--reveal", "-w", WS])
            .ok();
    }
    eprintln!(
        "connection add: {kills} kills in {n} runs ({held_open} with the store open, {landed_after_commit} after the commit, {} acknowledged), {:?}, delays below {typical:?}",
        acknowledged.len(),
        started.elapsed()
    );
    assert!(
        held_open >= KILLS / 4,
        "only {held_open} of {kills} kills landed while ohx had the store open"
    );
}

// ---------------------------------------------------------------------------------------------
// Killing member remove
// ---------------------------------------------------------------------------------------------

/// The store holds one key generation only: every secret of [`WS`] and every wrapped key are at
/// the workspace's key version, alice's wrapped key opens to the workspace's recipient, every
/// secret opens with ohx, and connections are marked for rotation exactly when a key holder left.
#[track_caller]
fn assert_one_key_generation(env: &Env, tokens: &BTreeMap<String, String>, check_values: bool) {
    assert_eq!(integrity(env), "ok");
    let ws = stored_workspace(env, WS);
    let db = open_db(&env.store());
    let versions = |sql: &str| -> Vec<Option<i64>> {
        let mut stmt = db.prepare(sql).expect("prepare");
        let rows = stmt.query_map([ws.id], |r| r.get(0)).expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    let secrets = versions(
        "SELECT f.key_version FROM fields f JOIN connections c ON c.id = f.connection_id
         WHERE c.workspace_id = ?1 AND f.secret = 1",
    );
    assert_eq!(secrets.len(), tokens.len());
    for v in &secrets {
        assert_eq!(
            *v,
            Some(ws.key_version),
            "a secret under another key version"
        );
    }
    for v in versions(
        "SELECT key_version FROM memberships WHERE workspace_id = ?1 AND wrapped_key IS NOT NULL",
    ) {
        assert_eq!(v, Some(ws.key_version), "a wrapped key of another version");
    }
    let marks = versions("SELECT needs_rotation FROM connections WHERE workspace_id = ?1");
    let rotated = ws.key_version > 1;
    for mark in marks {
        assert_eq!(
            mark,
            Some(i64::from(rotated)),
            "rotation marks at key version {}",
            ws.key_version
        );
    }
    let alice = age_identity(&env.identity_of("alice"));
    let key = wrapped_key_of(env, WS, "alice")
        .and_then(|w| unwrap_key(&w, &alice))
        .expect("alice's wrapped key opens");
    assert_eq!(key.to_public().to_string(), ws.recipient);
    if check_values {
        assert_tokens_open(env, tokens, "one key generation");
    }
}

/// Whether `person` is a member of [`WS`].
#[track_caller]
fn is_member(env: &Env, person: &str) -> bool {
    membership_row(env, WS, person).is_some()
}

#[test]
fn kill_9_at_random_moments_of_member_remove_never_mixes_old_and_new_keys() {
    const KILLS: usize = 50;
    const CONNECTIONS: usize = 30;
    let env = Env::new();
    env.admin_with_workspace(WS);
    let tokens: BTreeMap<String, String> = (0..CONNECTIONS)
        .map(|i| (format!("c{i:02}"), random_canary()))
        .collect();
    for (slug, token) in &tokens {
        add_custom(&env, slug, token).ok();
    }
    let bob = env.person("bob");
    let add_bob = || {
        env.ohx()
            .args(["member", "add", "bob", "--recipient", &bob])
            .args(["--role", "editor", "-w", WS, "-q"])
            .ok()
    };
    let remove_bob = || {
        env.ohx()
            .args(["member", "remove", "bob", "--yes", "-w", WS, "-q"])
    };
    let typical = typical_run(5, |_| {
        add_bob();
        remove_bob()
    });
    assert_one_key_generation(&env, &tokens, true);

    let (mut kills, mut rotated_by_killed, mut held_open, mut runs) = (0, 0, 0, 0);
    let started = Instant::now();
    while kills < KILLS {
        runs += 1;
        if !is_member(&env, "bob") {
            add_bob();
        }
        let version = stored_workspace(&env, WS).key_version;
        match kill_after(remove_bob(), random_delay(typical)) {
            Killed::No(out) => {
                assert_eq!(out.status, 0, "a remove that was not killed failed\n{out}");
                assert!(
                    !is_member(&env, "bob"),
                    "an acknowledged removal is not there"
                );
                assert_eq!(stored_workspace(&env, WS).key_version, version + 1);
            }
            Killed::Yes => {
                kills += 1;
                held_open += usize::from(sidecar(&env.store(), "-shm").exists());
                let now = stored_workspace(&env, WS).key_version;
                let removed = !is_member(&env, "bob");
                // All of the removal (member gone, key rotated) or none of it.
                assert_eq!(
                    (removed, now),
                    if removed {
                        (true, version + 1)
                    } else {
                        (false, version)
                    },
                    "kill {kills}: bob removed = {removed}, key version {version} -> {now}"
                );
                rotated_by_killed += usize::from(removed);
            }
        }
        assert_one_key_generation(&env, &tokens, kills % 5 == 0);
    }
    for slug in tokens.keys() {
        env.ohx()
            .args(["connection", "show", slug, "--reveal", "-w", WS])
            .ok();
    }
    eprintln!(
        "member remove: {kills} kills in {runs} runs ({held_open} with the store open, {rotated_by_killed} after the commit), {:?}, delays below {typical:?}",
        started.elapsed()
    );
    assert!(
        held_open >= KILLS / 4,
        "only {held_open} of {kills} kills landed while ohx had the store open"
    );
}
