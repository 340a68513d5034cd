//! Attack 1, promote: a viewer (or a registered stranger) who can write the store makes herself an
//! editor with SQL, with a wrapped key of her own making in her row. Roles come from the signed
//! log only, so the admin's next rotation does not wrap the new key for her, and she decrypts
//! nothing: not through ohx, and not with the age library on every row of the store. Each test
//! runs on a SQLite file and on a PostgreSQL database.

use crate::authority::support::{
    assert_opens_nothing, attack, identity, refused_with, sql, Team, WS,
};
use crate::harness::Env;
use crate::store_probe::stored_workspace;
use crate::store_sql::{vals, StoreSql};

/// `person`'s membership of [`WS`] made `editor` with SQL, holding a key she wrapped for herself
/// (she has no workspace key, so she makes one; recipients are public). Inserts the row when she
/// has none.
fn promote_with_sql(env: &Env, person: &str) {
    let ws = stored_workspace(env, WS);
    let recipient = crate::store_probe::recipient_of(&identity(env, person));
    let version = u32::try_from(ws.key_version).expect("key version");
    let planted = ohx::crypto::WorkspaceKey::generate(version)
        .wrap_for(ws.id, &recipient)
        .expect("wrap a key of her own");
    StoreSql::open(env).execute(
        "INSERT INTO memberships (workspace_id, user_id, role, wrapped_key, key_version)
         VALUES (?1, (SELECT id FROM users WHERE name = ?2), 'editor', ?3, ?4)
         ON CONFLICT (workspace_id, user_id) DO UPDATE
         SET role = excluded.role, wrapped_key = excluded.wrapped_key,
             key_version = excluded.key_version",
        &vals![ws.id, person, planted, ws.key_version],
    );
}

/// After the promotion and a rotation by alice (removing carol), `person` gets no secret from
/// ohx (status 4 or 5, nothing on stdout) and no key of hers opens any secret in the file.
#[track_caller]
fn cannot_read_after_rotation(team: &Team, person: &str) {
    let env = &team.env;
    let before = stored_workspace(env, WS).key_version;
    env.ohx()
        .args(["member", "remove", "carol", "--yes", "-w", WS])
        .ok();
    assert!(
        stored_workspace(env, WS).key_version > before,
        "removing an editor rotated the key"
    );
    for args in [
        vec!["connection", "get", "warehouse", "password"],
        vec!["connection", "env", "warehouse", "api"],
        vec!["connection", "show", "warehouse", "--reveal"],
    ] {
        refused_with(
            env.ohx_as(person).args(&args).args(["-w", WS]),
            &[4, 5],
            &team.canaries(),
        );
    }
    assert_opens_nothing(env, &identity(env, person), person);
}

attack! {
    fn a_viewer_who_promotes_herself_with_sql_reads_nothing_after_the_next_rotation(store: Store) {
        let team = Team::on(store);
        promote_with_sql(&team.env, "bob");
        cannot_read_after_rotation(&team, "bob");
        // Alice, whose authority is signed, still reads.
        team.assert_reads("alice");
    }
}

attack! {
    fn a_viewer_who_makes_herself_admin_with_sql_reads_nothing_after_the_next_rotation(
        store: Store
    ) {
        let team = Team::on(store);
        promote_with_sql(&team.env, "bob");
        sql(
            &team.env,
            "UPDATE memberships SET role = 'admin'
             WHERE user_id = (SELECT id FROM users WHERE name = 'bob')",
        );
        cannot_read_after_rotation(&team, "bob");
    }
}

attack! {
    fn a_registered_stranger_who_inserts_a_membership_reads_nothing_after_the_next_rotation(
        store: Store
    ) {
        let team = Team::on(store);
        team.env.person("dave");
        promote_with_sql(&team.env, "dave");
        cannot_read_after_rotation(&team, "dave");
    }
}
