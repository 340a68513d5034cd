//! A member who has never seen a workspace (nothing pinned) and whose membership the store's rows
//! show but the signed log does not: an entry before theirs removed (a gap), the log cut short
//! after the genesis, or a membership row planted for a stranger. Nothing is used, and instead of
//! "no such workspace" the reader is told that the log does not name them and why (status 5).

use crate::authority::support::{
    attack, delete_log_entry, forget_pins, refused, signed_log, Team, WS,
};
use crate::fixtures::assert_says;
use crate::store_sql::{vals, StoreSql};

/// Carol, who has forgotten her pins, is refused `connection env warehouse` with `words`.
#[track_caller]
fn carol_told(team: &Team, words: &[&str]) {
    forget_pins(&team.env, "carol");
    let out = refused(
        team.env
            .ohx_as("carol")
            .args(["connection", "env", "warehouse", "-w", WS]),
        &team.canaries(),
    );
    assert_says(&out, words);
    assert!(!out.stderr.contains("no workspace"), "{out}");
}

attack! {
    fn a_gap_before_a_members_entry_is_named_to_a_reader_who_never_saw_the_workspace(
        store: Store
    ) {
        let team = Team::on(store);
        signed_log(&team.env, WS, 4);
        // Entry 1 adds carol: without it, the log skips from 0 to 2.
        delete_log_entry(&team.env, WS, 1);
        carol_told(
            &team,
            &[WS, "signed log does not", "entry 1 fails its checks"],
        );
    }
}

attack! {
    fn a_log_cut_short_before_a_members_entry_is_named_to_a_reader_who_never_saw_it(
        store: Store
    ) {
        let team = Team::on(store);
        let last = signed_log(&team.env, WS, 4)
            .last()
            .map_or(0, |(seq, _)| *seq);
        for seq in (1..=last).rev() {
            delete_log_entry(&team.env, WS, seq);
        }
        carol_told(&team, &[WS, "ends at entry 0 without naming you"]);
    }
}

attack! {
    fn a_membership_row_planted_for_a_stranger_gives_nothing_and_says_the_log_does_not_name_them(
        store: Store
    ) {
        let team = Team::on(store);
        let env = &team.env;
        env.person("mallory");
        StoreSql::open(env).execute(
            "INSERT INTO memberships (workspace_id, user_id, role, wrapped_key, key_version)
             SELECT w.id, u.id, 'viewer', NULL, NULL FROM workspaces w, users u
             WHERE w.slug = ?1 AND u.name = 'mallory'",
            &vals![WS],
        );
        let out = refused(
            env.ohx_as("mallory").args(["connection", "list", "-w", WS]),
            &team.canaries(),
        );
        assert_says(&out, &[WS, "signed log does not", "planted"]);
    }
}
