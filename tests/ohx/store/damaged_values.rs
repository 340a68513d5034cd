//! Stored values that fail their checks are a damaged store (exit 6), never a usage error: a
//! connection type ohx does not know, a ciphertext stored as text, an integer out of range. Each
//! is planted with SQL, as someone who can write the store file would (issue 14, item 6).

use crate::fixtures::{add_postgresql, WS};
use crate::harness::Env;
use crate::store_probe::open_db;

/// A team of one with a PostgreSQL connection `warehouse`, then `sql` run on the store.
fn planted(sql: &str) -> Env {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_postgresql(&env, "warehouse", "pw-damaged-canary").ok();
    open_db(&env.store())
        .execute_batch(sql)
        .expect("the planted change applies");
    env
}

fn assert_damaged(env: &Env, args: &[&str]) {
    let out = env.ohx().args(args).fails(6);
    assert!(out.stdout.is_empty(), "nothing on stdout\n{out}");
    assert!(!out.stderr.contains("pw-damaged-canary"), "{out}");
}

#[test]
fn a_stored_type_ohx_does_not_know_is_a_damaged_store() {
    let env = planted("UPDATE connections SET type = 'mysql'");
    assert_damaged(&env, &["connection", "list"]);
    assert_damaged(&env, &["connection", "env", "warehouse"]);
}

#[test]
fn a_ciphertext_stored_as_text_is_a_damaged_store() {
    let env = planted("UPDATE fields SET ciphertext = CAST(ciphertext AS TEXT) WHERE secret = 1");
    assert_damaged(&env, &["connection", "env", "warehouse"]);
}

#[test]
fn an_out_of_range_integer_is_a_damaged_store() {
    let env = planted("UPDATE fields SET key_version = 99999999999 WHERE secret = 1");
    assert_damaged(&env, &["connection", "env", "warehouse"]);
}
