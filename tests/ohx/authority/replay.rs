//! Attack 8, one record replayed: an older signed version of a connection (every column of its
//! row and every field row) put back after an edit, or a deleted connection brought back with its
//! old rows. Both carry a genuine admin signature for the current key version, so a single read
//! between two rotations may not notice (docs/SECURITY.md says so); `ohx workspace verify`
//! compares every live record with the last digest the signed log gives it and reports the
//! connection, status 5, for every member.

use crate::authority::support::{
    assert_mentions, attack, put_back_record, save_record, verify_fails, Team, WS,
};
use crate::harness::random_canary;
use crate::store_probe::connection_id;

/// `workspace verify` as every member is refused with status 5 and names `connection`.
#[track_caller]
fn verify_reports(team: &Team, connection: &str, canaries: &[String]) {
    for person in ["alice", "carol", "bob"] {
        let out = verify_fails(
            team.env
                .ohx_as(person)
                .args(["-w", WS, "workspace", "verify"]),
            canaries,
        );
        assert_mentions(&out, connection);
    }
}

attack! {
    fn an_older_signed_version_of_a_record_put_back_is_reported_by_workspace_verify(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        env.ohx().args(["-w", WS, "workspace", "verify"]).ok();
        let old = save_record(env, connection_id(env, WS, "warehouse"));
        let new = random_canary();
        env.ohx()
            .args(["connection", "edit", "warehouse", "-w", WS])
            .args([
                "--secret",
                "password=env:PW",
                "--set",
                "host=new.example.org",
            ])
            .env("PW", &new)
            .ok();
        env.ohx().args(["-w", WS, "workspace", "verify"]).ok();
        put_back_record(env, &old);
        let mut canaries = team.canaries();
        canaries.push(new);
        verify_reports(&team, "warehouse", &canaries);
    }
}

attack! {
    fn a_deleted_connection_brought_back_is_reported_by_workspace_verify(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        let old = save_record(env, connection_id(env, WS, "api"));
        env.ohx()
            .args(["connection", "delete", "api", "--yes", "-w", WS])
            .ok();
        env.ohx().args(["-w", WS, "workspace", "verify"]).ok();
        put_back_record(env, &old);
        verify_reports(&team, "api", &team.canaries());
    }
}
