//! Attack 6, junk rows: one junk connection inserted with SQL, or one junk entry in the log after
//! its head, must never block an admin. `member remove` (which rotates) still succeeds, names the
//! connection that did not verify, and afterwards every real secret is sealed under the new key
//! and still opens, while the removed member opens nothing.

use crate::authority::support::{
    alices_key, assert_mentions, assert_opens_nothing, identity, insert_log_entry, signed_log, sql,
    Team, WS,
};
use crate::fixtures::env_json;
use crate::harness::random_bytes;
use crate::store_probe::{open_db, stored_workspace};

/// Alice removes carol: it works; then every real secret is under the new key version, opens
/// with the new key and through ohx, and carol's identity opens nothing.
#[track_caller]
fn removal_goes_through(team: &Team) -> crate::harness::Outcome {
    let env = &team.env;
    let before = stored_workspace(env, WS).key_version;
    let out = env
        .ohx()
        .args(["member", "remove", "carol", "--yes", "-w", WS])
        .ok();
    let after = stored_workspace(env, WS).key_version;
    assert!(after > before, "the key was rotated\n{out}");
    let key = alices_key(env, WS);
    let db = open_db(&env.store());
    let mut stmt = db
        .prepare(
            "SELECT c.slug, f.ciphertext, f.key_version FROM fields f
             JOIN connections c ON c.id = f.connection_id
             WHERE f.secret = 1 AND c.slug IN ('warehouse', 'api')",
        )
        .expect("prepare");
    let secrets: Vec<(String, Vec<u8>, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(secrets.len(), 2, "warehouse's password and api's token");
    for (slug, ciphertext, version) in &secrets {
        assert_eq!(
            *version, after,
            "{slug}'s secret is under the new key version"
        );
        assert!(
            age::decrypt(&key, ciphertext).is_ok(),
            "{slug}'s secret opens with the new key"
        );
    }
    let vars = env_json(env, &["warehouse", "api", "-w", WS]);
    assert_eq!(vars.get("WAREHOUSE_PASSWORD"), Some(&team.password));
    assert_eq!(vars.get("API_TOKEN"), Some(&team.token));
    assert_opens_nothing(env, &identity(env, "carol"), "carol");
    out
}

#[test]
fn a_junk_connection_row_does_not_block_a_removal_and_is_named() {
    let team = Team::new();
    let ws = stored_workspace(&team.env, WS);
    sql(
        &team.env,
        &format!(
            "INSERT INTO connections (workspace_id, slug, name, type)
                 VALUES ({id}, 'junk', 'Junk', 'custom');
             INSERT INTO fields (connection_id, code, position, secret, ciphertext, key_version)
                 VALUES (last_insert_rowid(), 'token', 0, 1, X'6a756e6b', {v});",
            id = ws.id,
            v = ws.key_version
        ),
    );
    let out = removal_goes_through(&team);
    assert_mentions(&out, "junk");
}

#[test]
fn a_junk_entry_after_the_head_of_the_log_does_not_block_a_removal() {
    let team = Team::new();
    let env = &team.env;
    let log = signed_log(env, WS, 3);
    let head = log.last().map(|(seq, _)| *seq).expect("head");
    insert_log_entry(env, WS, head + 1, &random_bytes(200));
    // Readers are not blocked either.
    team.assert_reads("carol");
    removal_goes_through(&team);
    // The admin's entries replaced the junk: the whole workspace verifies again.
    env.ohx().args(["-w", WS, "workspace", "verify"]).ok();
}
