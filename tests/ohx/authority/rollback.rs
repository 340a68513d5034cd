//! Attack 7, whole-file rollback: a copy of the store from before a member's removal, put back
//! after it, would silently undo the removal. Every user who has seen the removal (the admin who
//! made it, a member who ran any command after it) has pinned the log's head, so their next
//! command is status 5, names the workspace and says it was rolled back, and `workspace verify`
//! says the same. Attack 9 (the last entry removed from the log) is the same rollback, made with
//! SQL on one row.
//!
//! On PostgreSQL the copy is of every row of every table, put back in place of the later rows
//! (what restoring an older dump does); the copy of a SQLite file "with its `-wal`" has no
//! counterpart on a database, so that test runs on SQLite only.

use crate::authority::support::{
    attack, checkpoint, delete_log_entry, refused, signed_log, verify_fails, Team, WS,
};
use crate::fixtures::{assert_says, join};
use crate::store_sql::Snapshot;
use crate::team_store::Store;

/// Who looks at the rolled-back store, and how.
#[derive(Clone, Copy)]
enum Check {
    /// `connection env warehouse`, as carol and alice.
    Readers,
    /// `workspace verify`, as carol and alice.
    Verify,
}

/// `check` as carol and alice is refused as a rollback: status 5, naming the workspace and
/// saying it was rolled back.
#[track_caller]
fn sees_a_rollback(team: &Team, check: Check) {
    let args = match check {
        Check::Readers => vec!["connection", "env", "warehouse"],
        Check::Verify => vec!["workspace", "verify"],
    };
    for person in ["carol", "alice"] {
        let cmd = team.env.ohx_as(person).args(["-w", WS]).args(&args);
        let out = match check {
            Check::Readers => refused(cmd, &team.canaries()),
            Check::Verify => verify_fails(cmd, &team.canaries()),
        };
        assert_says(&out, &[WS, "rolled back"]);
    }
}

/// Alice removes dave (an editor); carol has used the workspace before and after. Then the copy
/// from before the removal is put back. `checkpointed`: on SQLite, the copy is taken after a
/// checkpoint (one file), else as it lies (with its `-wal` and `-shm`).
fn removal_rolled_back(store: Store, checkpointed: bool, check: Check) {
    let team = Team::on(store);
    let env = &team.env;
    join(env, "dave", "editor", Some(WS));
    team.assert_reads("carol");
    if checkpointed {
        checkpoint(env);
    }
    let before_removal = Snapshot::take(env);
    env.ohx()
        .args(["member", "remove", "dave", "--yes", "-w", WS])
        .ok();
    // Carol runs one command after the removal: her pin moves to the new head.
    team.assert_reads("carol");
    before_removal.restore(env);
    sees_a_rollback(&team, check);
}

attack! {
    fn a_store_copy_from_before_a_removal_put_back_is_a_rollback_for_who_saw_the_removal(
        store: Store
    ) {
        removal_rolled_back(store, true, Check::Readers);
    }
}

#[test]
fn a_store_copy_with_its_wal_from_before_a_removal_put_back_is_a_rollback() {
    removal_rolled_back(crate::team_store::sqlite(), false, Check::Readers);
}

attack! {
    fn a_store_copy_from_before_a_removal_put_back_is_reported_by_workspace_verify(store: Store) {
        removal_rolled_back(store, true, Check::Verify);
    }
}

/// Carol reads (her pin moves to the head), then the last entry of the log is deleted.
fn last_entry_removed(store: Store, check: Check) {
    let team = Team::on(store);
    let env = &team.env;
    team.assert_reads("carol");
    let log = signed_log(env, WS, 3);
    let head = log.last().map(|(seq, _)| *seq).expect("head");
    delete_log_entry(env, WS, head);
    sees_a_rollback(&team, check);
}

attack! {
    fn the_last_log_entry_removed_is_a_rollback_for_a_reader_who_pinned_it(store: Store) {
        last_entry_removed(store, Check::Readers);
    }
}

attack! {
    fn the_last_log_entry_removed_is_reported_by_workspace_verify(store: Store) {
        last_entry_removed(store, Check::Verify);
    }
}
