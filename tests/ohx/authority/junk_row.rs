//! Attack 6, junk rows: one junk connection inserted with SQL, or one junk entry in the log after
//! its head, must never block an admin. `member remove` (which rotates) still succeeds, names the
//! connection that did not verify, and afterwards every real secret is sealed under the new key
//! and still opens, while the removed member opens nothing.

use crate::authority::support::{
    alices_key, assert_mentions, assert_opens_nothing, attack, identity, insert_log_entry,
    signed_log, Team, WS,
};
use crate::fixtures::env_json;
use crate::harness::random_bytes;
use crate::store_probe::stored_workspace;
use crate::store_sql::{vals, StoreSql};

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
    let secrets: Vec<(String, Vec<u8>, i64)> = StoreSql::open(env)
        .rows(
            "SELECT c.slug, f.ciphertext, f.key_version FROM fields f
             JOIN connections c ON c.id = f.connection_id
             WHERE f.secret = 1 AND c.slug IN ('warehouse', 'api')",
            &[],
        )
        .iter()
        .map(|r| (r[0].text(), r[1].blob(), r[2].int()))
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

attack! {
    fn a_junk_connection_row_does_not_block_a_removal_and_is_named(store: Store) {
        let team = Team::on(store);
        let ws = stored_workspace(&team.env, WS);
        let mut db = StoreSql::open(&team.env);
        let junk = db.query_i64(
            "INSERT INTO connections (workspace_id, slug, name, type, created_at, updated_at)
             VALUES (?1, 'junk', 'Junk', 'custom', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')
             RETURNING id",
            &vals![ws.id],
        );
        db.execute(
            "INSERT INTO fields (connection_id, code, position, secret, ciphertext, key_version)
             VALUES (?1, 'token', 0, 1, ?2, ?3)",
            &vals![junk, b"junk".as_slice(), ws.key_version],
        );
        drop(db);
        let out = removal_goes_through(&team);
        assert_mentions(&out, "junk");
    }
}

attack! {
    fn a_junk_entry_after_the_head_of_the_log_does_not_block_a_removal(store: Store) {
        let team = Team::on(store);
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
}
