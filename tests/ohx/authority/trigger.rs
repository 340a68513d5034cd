//! Attack 5, a planted schema object: a trigger that re-inserts a removed membership inside the
//! admin's own transaction, or a view, an extra index or an extra table. The schema is ohx's: a
//! store holding anything its migrations did not create is refused by every command with status
//! 6, nothing on stdout, and left byte for byte as it was (no `-wal` or `-shm` appears either).

use crate::authority::support::{
    checkpoint, refused_with, restore_store_files, sql, store_files, Team, WS,
};

/// Plants `object` with SQL, then runs commands of every kind as alice and carol: each is refused
/// with status 6 and leaves the store's files exactly as they were.
#[track_caller]
fn store_with_planted_object_is_refused(object: &str) {
    let team = Team::new();
    let env = &team.env;
    sql(env, object);
    checkpoint(env);
    let before = store_files(env);
    let attempts: Vec<(&str, Vec<&str>)> = vec![
        ("alice", vec!["member", "remove", "carol", "--yes"]),
        ("alice", vec!["workspace", "rotate-key", WS]),
        ("alice", vec!["connection", "delete", "api", "--yes"]),
        ("alice", vec!["connection", "list"]),
        ("carol", vec!["connection", "env", "warehouse"]),
        ("carol", vec!["connection", "get", "warehouse", "password"]),
        ("bob", vec!["workspace", "list"]),
    ];
    let mut problems = Vec::new();
    for (person, args) in attempts {
        let cmd = env.ohx_as(person).args(&args).args(["-w", WS]);
        let what = cmd.describe();
        refused_with(cmd, &[6], &team.canaries());
        let after = store_files(env);
        for ((path, was), (_, is)) in before.iter().zip(&after) {
            if was != is {
                let size = |b: &Option<Vec<u8>>| match b {
                    Some(bytes) => format!("{} bytes", bytes.len()),
                    None => "absent".to_string(),
                };
                problems.push(format!(
                    "`{what}` as {person}: {} was {}, is {}",
                    path.display(),
                    size(was),
                    size(is)
                ));
            }
        }
        // Whatever happened, the next attempt starts from the planted store.
        restore_store_files(&before);
    }
    assert!(
        problems.is_empty(),
        "the refused store was not left as it was (planted: {object}):\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_trigger_that_re_inserts_a_removed_member_makes_the_store_refused_untouched() {
    store_with_planted_object_is_refused(
        "CREATE TRIGGER keep_member AFTER DELETE ON memberships BEGIN
             INSERT INTO memberships (workspace_id, user_id, role, wrapped_key, key_version)
             VALUES (old.workspace_id, old.user_id, old.role, old.wrapped_key, old.key_version);
         END;",
    );
}

#[test]
fn a_trigger_that_copies_secrets_makes_the_store_refused_untouched() {
    store_with_planted_object_is_refused(
        "CREATE TABLE loot (ciphertext BLOB);
         CREATE TRIGGER copy_secret AFTER UPDATE ON fields BEGIN
             INSERT INTO loot VALUES (new.ciphertext);
         END;",
    );
}

#[test]
fn a_planted_view_makes_the_store_refused_untouched() {
    store_with_planted_object_is_refused("CREATE VIEW secrets AS SELECT * FROM fields;");
}

#[test]
fn an_extra_index_makes_the_store_refused_untouched() {
    store_with_planted_object_is_refused("CREATE INDEX spy ON connections(name);");
}

#[test]
fn an_extra_table_makes_the_store_refused_untouched() {
    store_with_planted_object_is_refused("CREATE TABLE notes (x);");
}
