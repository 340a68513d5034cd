//! Connection record signatures: valid only from a current admin, for their own workspace, at the
//! current key version, over exactly the bytes that were signed.

use super::*;

fn setup() -> (Person, Person, Log) {
    let alice = Person::new("alice");
    let bob = Person::new("bob");
    let mut log = Log::new(&alice, "prod");
    log.add(&alice, &bob, Role::Editor);
    (alice, bob, log)
}

fn sign(person: &Person, state: &State, record: &[u8]) -> RecordSignature {
    sign_record(
        &person.key,
        &state.workspace_id(),
        state.key_version(),
        record,
    )
}

#[test]
fn a_record_signed_by_an_admin_verifies() {
    let (alice, _, log) = setup();
    let signature = sign(&alice, &log.state, b"host=db.example");
    assert_eq!(
        verify_record(&log.state, "db", b"host=db.example", &signature),
        Ok(())
    );
}

#[test]
fn a_record_changed_after_signing_fails() {
    let (alice, _, log) = setup();
    let signature = sign(&alice, &log.state, b"host=db.example");
    assert_eq!(
        verify_record(&log.state, "db", b"host=evil.example", &signature),
        Err(AuthorityError::BadRecord {
            connection: "db".into()
        })
    );
}

#[test]
fn a_record_signed_by_an_editor_or_a_stranger_fails() {
    let (_, bob, log) = setup();
    let mallory = Person::new("mallory");
    for person in [&bob, &mallory] {
        let signature = sign(person, &log.state, b"r");
        assert!(matches!(
            verify_record(&log.state, "db", b"r", &signature),
            Err(AuthorityError::RecordSignerNotAdmin { .. })
        ));
    }
}

#[test]
fn a_signature_names_its_signer_truthfully() {
    let (alice, _, log) = setup();
    let mallory = Person::new("mallory");
    let mut signature = sign(&mallory, &log.state, b"r");
    signature.signer = alice.public();
    assert!(matches!(
        verify_record(&log.state, "db", b"r", &signature),
        Err(AuthorityError::BadRecord { .. })
    ));
}

#[test]
fn a_record_from_another_workspace_fails() {
    let (alice, _, log) = setup();
    let other = Log::new(&alice, "staging");
    let signature = sign(&alice, &other.state, b"r");
    assert!(matches!(
        verify_record(&log.state, "db", b"r", &signature),
        Err(AuthorityError::BadRecord { .. })
    ));
}

#[test]
fn a_rotation_invalidates_records_signed_for_the_old_key() {
    let (alice, _, mut log) = setup();
    let old = sign(&alice, &log.state, b"r");
    log.push(
        &alice,
        Body::KeyRotated {
            version: 2,
            recipient: key_recipient(2),
        },
    );
    assert!(verify_record(&log.state, "db", b"r", &old).is_err());
    let resigned = sign(&alice, &log.state, b"r");
    assert_eq!(verify_record(&log.state, "db", b"r", &resigned), Ok(()));
}

#[test]
fn a_record_signed_by_an_admin_who_was_demoted_or_removed_fails() {
    let (alice, bob, mut log) = setup();
    log.push(
        &alice,
        Body::RoleChanged {
            recipient: bob.public(),
            role: Role::Admin,
        },
    );
    let by_bob = sign(&bob, &log.state, b"r");
    assert_eq!(verify_record(&log.state, "db", b"r", &by_bob), Ok(()));
    log.push(
        &alice,
        Body::RoleChanged {
            recipient: bob.public(),
            role: Role::Editor,
        },
    );
    assert!(matches!(
        verify_record(&log.state, "db", b"r", &by_bob),
        Err(AuthorityError::RecordSignerNotAdmin { .. })
    ));
}

/// A log entry's signature is over a different context, so it can never pass as a record's.
#[test]
fn signatures_of_log_entries_and_records_are_not_interchangeable() {
    let (alice, _, log) = setup();
    let entry = &log.entries[1];
    let as_record = RecordSignature {
        signer: alice.public(),
        signature: entry.signature,
    };
    assert!(verify_record(&log.state, "db", &entry.to_bytes(), &as_record).is_err());
}

#[test]
fn stored_record_signatures_read_back() {
    let (alice, _, log) = setup();
    let signature = sign(&alice, &log.state, b"r");
    let bytes = signature.to_bytes();
    assert_eq!(RecordSignature::from_bytes(&bytes), Some(signature));
    assert_eq!(RecordSignature::from_bytes(&bytes[1..]), None);
    assert_ne!(record_digest(b"a"), record_digest(b"b"));
}
