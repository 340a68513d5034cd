//! `kill -9` at random moments: of `connection add`, which never leaves a half-written
//! connection and never loses an acknowledged one; and of `member remove`, whose key rotation is
//! all there or not at all, never a mix of old and new keys.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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
/// exactly its five fields, each complete, its secret under the current key version.
#[track_caller]
fn assert_no_half_written_connection(env: &Env) {
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
}

#[test]
fn kill_9_at_random_moments_of_connection_add_never_leaves_a_half_written_connection() {
    const KILLS: usize = 60;
    let env = Env::new();
    env.admin_with_workspace(WS);
    let mut held_open = 0;
    let seen = kill_adds(
        &env,
        KILLS,
        || stored_identifiers(&env, WS),
        |killed| {
            // SQLite removes the -shm when the last connection closes: one left behind means
            // the kill landed while ohx had the store open.
            if killed {
                held_open += usize::from(sidecar(&env.store(), "-shm").exists());
            }
            assert_no_half_written_connection(&env);
        },
    );
    eprintln!("connection add on SQLite: {seen}, {held_open} with the store open");
    assert!(
        held_open >= KILLS / 4,
        "only {held_open} of {KILLS} kills landed while ohx had the store open"
    );
}

/// What [`kill_adds`] saw.
pub struct AddKills {
    pub kills: usize,
    pub runs: usize,
    /// Kills that landed after the commit: the connection is there.
    pub after_commit: usize,
    /// Adds that exited 0.
    pub acknowledged: usize,
    pub took: Duration,
    /// Kills were sent after a random delay below this.
    pub typical: Duration,
}

impl std::fmt::Display for AddKills {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} kills in {} runs ({} after the commit, {} acknowledged), {:?}, delays below {:?}",
            self.kills, self.runs, self.after_commit, self.acknowledged, self.took, self.typical
        )
    }
}

/// Runs `connection add postgresql` of new connections in alice's [`WS`], each sent SIGKILL at a
/// random moment, until `kills` kills landed; on any store (`team_store::faults` too). After
/// every run `check(killed)` looks at the store first, then every acknowledged connection (its add
/// exited 0) must be among the `stored` identifiers of [`WS`]; every tenth kill, each connection
/// there opens with its password. At the end exactly those are stored, and each shows with
/// `--reveal`.
#[track_caller]
pub fn kill_adds(
    env: &Env,
    kills: usize,
    stored: impl Fn() -> Vec<String>,
    mut check: impl FnMut(bool),
) -> AddKills {
    // slug -> password, for every connection that must be there (acknowledged) or is (killed
    // after its commit).
    let mut acknowledged: BTreeMap<String, String> = BTreeMap::new();
    let mut present: BTreeMap<String, String> = BTreeMap::new();
    let typical = typical_run(5, |i| {
        let (slug, password) = (format!("warm-{i}"), random_canary());
        acknowledged.insert(slug.clone(), password.clone());
        add_postgresql(env, &slug, &password)
    });
    present.extend(acknowledged.clone());

    let mut seen = AddKills {
        kills: 0,
        runs: 0,
        after_commit: 0,
        acknowledged: 0,
        took: Duration::ZERO,
        typical,
    };
    let started = Instant::now();
    while seen.kills < kills {
        seen.runs += 1;
        let (slug, password) = (format!("c{:03}", seen.runs), random_canary());
        let outcome = kill_after(add_postgresql(env, &slug, &password), random_delay(typical));
        let killed = matches!(outcome, Killed::Yes);
        // First, before anything else opens the store.
        check(killed);
        let now = stored();
        match outcome {
            Killed::No(out) => {
                assert_eq!(out.status, 0, "an add that was not killed failed\n{out}");
                acknowledged.insert(slug.clone(), password.clone());
                present.insert(slug, password);
            }
            Killed::Yes => {
                seen.kills += 1;
                if now.contains(&slug) {
                    seen.after_commit += 1;
                    present.insert(slug, password);
                }
            }
        }
        for slug in acknowledged.keys() {
            assert!(
                now.contains(slug),
                "'{slug}' was acknowledged (exit 0) but is not in the store"
            );
        }
        if killed && (seen.kills % 10 == 0 || seen.kills == kills) {
            // Every connection there opens, with the password it was given.
            let ids: Vec<String> = present.keys().cloned().collect();
            let vars = env_json(env, &ids);
            for (slug, password) in &present {
                assert_eq!(
                    vars.get(&format!("{}_PASSWORD", prefix(slug))),
                    Some(password)
                );
            }
        }
    }
    assert_eq!(stored(), present.keys().cloned().collect::<Vec<_>>());
    for slug in present.keys() {
        env.ohx()
            .args(["connection", "show", slug, "--reveal", "-w", WS])
            .ok();
    }
    seen.acknowledged = acknowledged.len();
    seen.took = started.elapsed();
    seen
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
