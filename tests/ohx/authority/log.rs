//! Attacks 9 and 10 on the log itself, and the audit trail (item 11). An entry removed from the
//! middle of the log, a changed byte, a reordered pair or a replayed entry breaks the hash chain
//! or a signature: `workspace verify` and `ohx log` fail with status 5, and a reader whose pinned
//! head, genesis or key depends on the changed entries is refused with status 5. `ohx log`
//! prints the verified history, one event per entry, in order.

use serde_json::Value;

use crate::authority::support::{
    assert_opens_nothing, attack, delete_log_entry, identity, insert_log_entry, last_entry_of_kind,
    refused, refused_with, set_log_entry, signed_log, verify_fails, Team, WS,
};
use crate::fixtures::{add_postgresql, join};
use crate::harness::{random_canary, Env};
use crate::store_probe::recipient_of;

/// `workspace verify` as alice fails with status 5.
#[track_caller]
fn verify_refused(team: &Team) {
    verify_fails(
        team.env.ohx().args(["-w", WS, "workspace", "verify"]),
        &team.canaries(),
    );
}

/// Carol's `connection env warehouse` fails with status 5.
#[track_caller]
fn carol_refused(team: &Team) {
    refused(
        team.env
            .ohx_as("carol")
            .args(["connection", "env", "warehouse", "-w", WS]),
        &team.canaries(),
    );
}

fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut changed = bytes.to_vec();
    changed[at] ^= 0x01;
    changed
}

// ---------------------------------------------------------------------------------------------
// Attack 9: an entry removed from the middle
// ---------------------------------------------------------------------------------------------

attack! {
    fn a_rotation_removed_from_the_middle_of_the_log_is_refused_by_readers(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        team.assert_reads("carol");
        env.ohx().args(["workspace", "rotate-key", WS]).ok();
        env.ohx()
            .args(["connection", "edit", "api", "-w", WS])
            .args(["--set", "url=https://example.org/v2"])
            .ok();
        let rotation = last_entry_of_kind(env, WS, "key-rotated");
        assert!(
            signed_log(env, WS, 2).last().map(|(seq, _)| *seq) > Some(rotation),
            "the edit is logged after the rotation"
        );
        delete_log_entry(env, WS, rotation);
        // Carol pinned the log before the rotation: her key and the records are now of a version
        // her log does not reach.
        carol_refused(&team);
    }
}

attack! {
    fn an_entry_removed_from_the_middle_of_the_log_is_reported_by_workspace_verify(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        signed_log(env, WS, 4);
        team.assert_reads("carol");
        // Entry 1 adds carol: without it, the log skips from 0 to 2.
        delete_log_entry(env, WS, 1);
        verify_refused(&team);
        verify_fails(
            env.ohx_as("carol").args(["-w", WS, "workspace", "verify"]),
            &team.canaries(),
        );
        // A reader who never saw the workspace gets nothing from it (the log no longer makes her a
        // member, or fails its checks).
        crate::authority::support::forget_pins(env, "carol");
        for args in [
            vec!["connection", "env", "warehouse"],
            vec!["workspace", "verify"],
        ] {
            refused_with(
                env.ohx_as("carol").args(&args).args(["-w", WS]),
                &[4, 5],
                &team.canaries(),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Attack 10: a changed byte, a reordered pair, a replayed entry
// ---------------------------------------------------------------------------------------------

attack! {
    fn a_changed_byte_in_any_log_entry_is_reported_by_workspace_verify(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        let log = signed_log(env, WS, 4);
        for (seq, bytes) in &log {
            for at in [bytes.len() / 2, bytes.len() - 1] {
                set_log_entry(env, WS, *seq, &flipped(bytes, at));
                verify_refused(&team);
                set_log_entry(env, WS, *seq, bytes);
            }
        }
        env.ohx().args(["-w", WS, "workspace", "verify"]).ok();
    }
}

attack! {
    fn a_changed_byte_in_the_pinned_head_or_the_genesis_is_refused_by_a_reader(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        team.assert_reads("carol");
        let log = signed_log(env, WS, 4);
        for (seq, bytes) in [&log[0], &log[log.len() - 1]] {
            set_log_entry(env, WS, *seq, &flipped(bytes, bytes.len() / 2));
            carol_refused(&team);
            set_log_entry(env, WS, *seq, bytes);
        }
        team.assert_reads("carol");
    }
}

/// Swaps the stored entries `a` and `b` of the log, runs `check`, and swaps them back.
fn with_pair_reordered(team: &Team, a: usize, b: usize, check: impl Fn(&Team)) {
    let env = &team.env;
    let log = signed_log(env, WS, 4);
    set_log_entry(env, WS, log[a].0, &log[b].1);
    set_log_entry(env, WS, log[b].0, &log[a].1);
    check(team);
    set_log_entry(env, WS, log[a].0, &log[a].1);
    set_log_entry(env, WS, log[b].0, &log[b].1);
}

attack! {
    fn a_reordered_pair_of_log_entries_is_reported_by_workspace_verify(store: Store) {
        let team = Team::on(store);
        let n = signed_log(&team.env, WS, 4).len();
        for (a, b) in [(1, 2), (n - 2, n - 1)] {
            with_pair_reordered(&team, a, b, verify_refused);
        }
    }
}

attack! {
    fn a_reordered_pair_at_the_pinned_head_is_refused_by_a_reader(store: Store) {
        let team = Team::on(store);
        team.assert_reads("carol");
        let n = signed_log(&team.env, WS, 4).len();
        // Carol pinned the head, which is no longer where it was.
        with_pair_reordered(&team, n - 2, n - 1, carol_refused);
        team.assert_reads("carol");
    }
}

attack! {
    fn an_older_entry_replayed_at_the_pinned_head_is_refused_by_a_reader(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        team.assert_reads("carol");
        let log = signed_log(env, WS, 4);
        let (head, _) = &log[log.len() - 1];
        set_log_entry(env, WS, *head, &log[1].1);
        carol_refused(&team);
    }
}

attack! {
    fn a_replayed_log_entry_is_reported_by_workspace_verify(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        let log = signed_log(env, WS, 4);
        let head = log[log.len() - 1].0;
        // An old entry stored again after the head, and an old entry in place of a later one.
        crate::authority::support::insert_log_entry(env, WS, head + 1, &log[1].1);
        verify_refused(&team);
        delete_log_entry(env, WS, head + 1);
        set_log_entry(env, WS, log[2].0, &log[1].1);
        verify_refused(&team);
    }
}

// ---------------------------------------------------------------------------------------------
// An entry in an admin's name that the admin never signed
// ---------------------------------------------------------------------------------------------

/// Bob (a viewer who can write the store) appends, chained after the head, an entry that names
/// alice as its signer and makes him an editor; he signs it with his own key, as he holds no
/// admin's. Returns the entry's bytes.
fn append_role_change_in_alices_name(team: &Team) -> Vec<u8> {
    let env = &team.env;
    let log = signed_log(env, WS, 4);
    let (seq, bytes) = log.last().expect("a head");
    let head = ohx::authority::Entry::from_bytes(bytes).expect("the head decodes");
    let bob = identity(env, "bob");
    let bobs_key = ohx::authority::SigningKey::from_age_identity(&bob).expect("bob's key");
    let alice = ohx::authority::PublicKey::from_recipient(&recipient_of(&identity(env, "alice")))
        .expect("alice's public key");
    let mut forged = ohx::authority::Entry::sign(
        &bobs_key,
        head.seq + 1,
        head.hash(),
        head.timestamp + 1,
        ohx::authority::Body::RoleChanged {
            recipient: bobs_key.public_key(),
            role: ohx::domain::Role::Editor,
        },
    );
    forged.signer = alice;
    let forged = forged.to_bytes();
    insert_log_entry(env, WS, seq + 1, &forged);
    forged
}

attack! {
    /// Only a signature check tells this entry from alice's own: its chain is sound and its
    /// signer is an admin. Whatever alice does next, bob gets no key and no secret.
    fn an_entry_in_an_admins_name_with_a_signature_not_hers_gives_nothing(store: Store) {
        let team = Team::on(store);
        let env = &team.env;
        team.assert_reads("carol");
        append_role_change_in_alices_name(&team);
        for person in ["alice", "carol"] {
            verify_fails(
                env.ohx_as(person).args(["-w", WS, "workspace", "verify"]),
                &team.canaries(),
            );
        }
        // Alice rotates the key (or is refused): the new key is not wrapped for bob.
        let out = env.ohx().args(["workspace", "rotate-key", WS]).run();
        assert!(
            out.status == 0 || (out.status == 5 && out.stdout.is_empty()),
            "{out}"
        );
        refused_with(
            env.ohx_as("bob")
                .args(["connection", "get", "warehouse", "password", "-w", WS]),
            &[4, 5],
            &team.canaries(),
        );
        assert_opens_nothing(env, &identity(env, "bob"), "bob");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 11: ohx log
// ---------------------------------------------------------------------------------------------

/// A real sequence of admin commands, with the kinds of log entries each must leave.
fn history_of_commands(env: &Env) -> Vec<&'static str> {
    env.admin_with_workspace(WS);
    join(env, "carol", "editor", Some(WS));
    join(env, "bob", "viewer", Some(WS));
    env.ohx()
        .args(["member", "set-role", "bob", "editor", "-w", WS])
        .ok();
    add_postgresql(env, "warehouse", &random_canary()).ok();
    env.ohx()
        .args(["connection", "edit", "warehouse", "-w", WS])
        .args(["--set", "host=db2.example.org"])
        .ok();
    env.ohx()
        .args(["connection", "delete", "warehouse", "--yes", "-w", WS])
        .ok();
    env.ohx()
        .args(["member", "remove", "carol", "--yes", "-w", WS])
        .ok();
    env.ohx()
        .args(["workspace", "edit", WS, "--name", "Renamed"])
        .ok();
    env.ohx().args(["workspace", "rotate-key", WS]).ok();
    vec![
        "workspace-created",
        "member-added",
        "member-added",
        "role-changed",
        "connection-created",
        "connection-edited",
        "connection-deleted",
        // A removal rotates first, then removes (docs/SECURITY.md, "Order of a removal").
        "key-rotated",
        "member-removed",
        "workspace-renamed",
        "key-rotated",
    ]
}

/// An RFC 3339 time in UTC: `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z` or `+00:00`.
fn is_rfc3339_utc(text: &str) -> bool {
    let Some(body) = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))
    else {
        return false;
    };
    let (seconds, fraction) = body.split_once('.').unwrap_or((body, "0"));
    let b = seconds.as_bytes();
    b.len() == 19
        && [4, 7].iter().all(|&i| b[i] == b'-')
        && b[10] == b'T'
        && [13, 16].iter().all(|&i| b[i] == b':')
        && b.iter()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16].contains(&i) || c.is_ascii_digit())
        && !fraction.is_empty()
        && fraction.bytes().all(|c| c.is_ascii_digit())
}

attack! {
    fn ohx_log_prints_the_verified_history_of_a_real_sequence_of_commands(store: Store) {
        let env = &store.env;
        let expected = history_of_commands(env);
        for person in ["alice", "bob"] {
            let out = env.ohx_as(person).args(["log", "-w", WS, "--json"]).ok();
            let Value::Array(events) = out.json() else {
                panic!("`ohx log --json` is not an array\n{out}");
            };
            let kinds: Vec<&str> = events
                .iter()
                .map(|e| e["kind"].as_str().unwrap_or("?"))
                .collect();
            assert_eq!(kinds, expected, "as {person}\n{out}");
            for (i, event) in events.iter().enumerate() {
                assert_eq!(event["seq"].as_u64(), Some(i as u64), "seq of {event}");
                let time = event["time"].as_str().unwrap_or("");
                assert!(is_rfc3339_utc(time), "time of {event}");
                assert_eq!(event["actor"].as_str(), Some("alice"), "actor of {event}");
                assert!(
                    event["summary"].as_str().is_some_and(|s| !s.is_empty()),
                    "summary of {event}"
                );
            }
            let summary = |i: usize| events[i]["summary"].as_str().unwrap_or("").to_string();
            for (i, who) in [(1, "carol"), (2, "bob"), (3, "bob"), (4, "warehouse")] {
                assert!(summary(i).contains(who), "event {i} names {who}\n{out}");
            }
            for (i, who) in [(5, "warehouse"), (6, "warehouse"), (8, "carol")] {
                assert!(summary(i).contains(who), "event {i} names {who}\n{out}");
            }
        }
        let text = env.ohx().args(["log", "-w", WS]).ok();
        for fragment in ["alice", "carol", "bob", "warehouse", "Renamed"] {
            assert!(
                text.stdout.contains(fragment),
                "`ohx log` names {fragment}\n{text}"
            );
        }
    }
}

attack! {
    fn ohx_log_refuses_an_edited_log(store: Store) {
        let env = &store.env;
        history_of_commands(env);
        let log = signed_log(env, WS, 11);
        let (seq, bytes) = &log[4];
        set_log_entry(env, WS, *seq, &flipped(bytes, bytes.len() / 2));
        for args in [vec!["log", "-w", WS], vec!["log", "-w", WS, "--json"]] {
            refused(env.ohx().args(&args), &[]);
        }
    }
}
