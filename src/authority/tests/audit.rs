//! The audit trail: events in words, with the names of the moment, and the last logged digest of
//! each connection (what `workspace verify` uses to catch a replayed or resurrected record).

use super::*;

#[test]
fn the_history_tells_who_did_what_to_whom() {
    let alice = Person::new("alice");
    let bob = Person::new("bob");
    let mut log = Log::new(&alice, "prod");
    log.add(&alice, &bob, Role::Editor)
        .push(
            &alice,
            Body::ConnectionCreated {
                identifier: "dhis2".into(),
                digest: record_digest(b"v1"),
            },
        )
        .push(
            &alice,
            Body::ConnectionEdited {
                identifier: "dhis2".into(),
                digest: record_digest(b"v2"),
            },
        )
        .push(
            &alice,
            Body::ConnectionCreated {
                identifier: "pg".into(),
                digest: record_digest(b"p"),
            },
        )
        .push(
            &alice,
            Body::ConnectionDeleted {
                identifier: "pg".into(),
                digest: record_digest(b"p"),
            },
        )
        .push(
            &alice,
            Body::MemberRemoved {
                recipient: bob.public(),
            },
        )
        .push(
            &alice,
            Body::KeyRotated {
                version: 2,
                recipient: key_recipient(2),
            },
        );
    let history = history(&log.entries);
    let Ok(history) = history else {
        unreachable!("{history:?}")
    };
    let lines: Vec<String> = history
        .events
        .iter()
        .map(|e| format!("{} {}", e.actor, e.summary))
        .collect();
    assert_eq!(
        lines,
        [
            "alice created workspace 'prod' (Workspace prod) with key version 1",
            "alice added bob as editor",
            "alice created connection 'dhis2'",
            "alice edited connection 'dhis2'",
            "alice created connection 'pg'",
            "alice deleted connection 'pg'",
            "alice removed bob",
            "alice rotated the key to version 2",
        ]
    );
    assert_eq!(history.state, log.state);
    let dhis2 = history.records.get("dhis2");
    assert_eq!(
        dhis2.map(|r| (r.digest, r.deleted)),
        Some((record_digest(b"v2"), false))
    );
    assert_eq!(history.records.get("pg").map(|r| r.deleted), Some(true));
}

#[test]
fn the_history_of_a_tampered_log_is_refused() {
    let alice = Person::new("alice");
    let mut log = Log::new(&alice, "prod");
    log.push(
        &alice,
        Body::ConnectionDeleted {
            identifier: "pg".into(),
            digest: [0; 32],
        },
    );
    // The deletion taken out of the audit trail: the log still ends where it ended, so the entry
    // is replaced by another; its signature gives it away.
    let mut entries = log.entries.clone();
    entries[1].body = Body::ConnectionEdited {
        identifier: "pg".into(),
        digest: [0; 32],
    };
    assert_eq!(
        history(&entries).map(|_| ()),
        Err(AuthorityError::BadSignature { seq: 1 })
    );
}
