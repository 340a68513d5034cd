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

/// `bob` given `role` by `admin`.
fn give_role(log: &mut Log, admin: &Person, bob: &Person, role: Role) {
    log.push(
        admin,
        Body::RoleChanged {
            recipient: bob.public(),
            role,
        },
    );
}

#[test]
fn a_record_signed_by_an_admin_who_was_demoted_or_removed_fails() {
    let (alice, bob, mut log) = setup();
    give_role(&mut log, &alice, &bob, Role::Admin);
    let by_bob = sign(&bob, &log.state, b"r");
    assert_eq!(verify_record(&log.state, "db", b"r", &by_bob), Ok(()));
    give_role(&mut log, &alice, &bob, Role::Editor);
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

// ---------------------------------------------------------------------------------------------
// Remembered checks: a signature verified once is not verified again, but only that exact
// signature of that exact message by that signer, and its signer must still be an admin
// ---------------------------------------------------------------------------------------------

/// `verify_record_remembered` with the signatures in `remembered` taken as verified.
fn check(
    state: &State,
    record: &[u8],
    signature: &RecordSignature,
    remembered: &[Checked],
) -> Result<Option<Checked>, AuthorityError> {
    verify_record_remembered(state, "db", record, signature, |c| remembered.contains(c))
}

#[test]
fn a_signature_verified_once_is_remembered_and_not_verified_again() {
    let (alice, _, log) = setup();
    let signature = sign(&alice, &log.state, b"host=db.example");
    let checked = check(&log.state, b"host=db.example", &signature, &[]);
    let Ok(Some(checked)) = checked else {
        unreachable!("{checked:?}")
    };
    assert_eq!(
        check(&log.state, b"host=db.example", &signature, &[checked]),
        Ok(None)
    );
    // Another signature of the same record is another check.
    let mut broken = signature;
    broken.signature[0] ^= 1;
    assert!(check(&log.state, b"host=db.example", &broken, &[checked]).is_err());
}

#[test]
fn a_remembered_signature_does_not_cover_a_changed_record_signature_or_key_version() {
    let (alice, _, mut log) = setup();
    let signature = sign(&alice, &log.state, b"host=db.example");
    let Ok(Some(checked)) = check(&log.state, b"host=db.example", &signature, &[]) else {
        unreachable!()
    };
    assert_eq!(
        check(&log.state, b"host=evil.example", &signature, &[checked]),
        Err(AuthorityError::BadRecord {
            connection: "db".into()
        })
    );
    let other = sign(&alice, &log.state, b"host=evil.example");
    assert_ne!(
        check(&log.state, b"host=evil.example", &other, &[]),
        Ok(Some(checked))
    );
    log.push(
        &alice,
        Body::KeyRotated {
            version: 2,
            recipient: key_recipient(2),
        },
    );
    assert!(check(&log.state, b"host=db.example", &signature, &[checked]).is_err());
}

#[test]
fn a_remembered_signature_of_a_demoted_admin_is_refused() {
    let (alice, bob, mut log) = setup();
    give_role(&mut log, &alice, &bob, Role::Admin);
    let by_bob = sign(&bob, &log.state, b"r");
    let Ok(Some(checked)) = check(&log.state, b"r", &by_bob, &[]) else {
        unreachable!()
    };
    give_role(&mut log, &alice, &bob, Role::Editor);
    assert!(matches!(
        check(&log.state, b"r", &by_bob, &[checked]),
        Err(AuthorityError::RecordSignerNotAdmin { .. })
    ));
}

/// The digest a pin remembers for a fixed record signature (docs/SECURITY.md, section 8): vector
/// 1's key signs the record `host=db.example` in the fixed genesis's workspace at key version 1.
/// The digest was checked with Python's `hashlib` over the bytes the section gives.
#[test]
fn a_fixed_record_signature_has_a_fixed_digest() {
    let (alice, genesis) = fixed_genesis();
    let state = State::from_genesis(&genesis).unwrap_or_else(|e| unreachable!("{e}"));
    let signature = sign_record(&alice, &state.workspace_id(), 1, b"host=db.example");
    let hex = crate::authority::pins::hex;
    assert_eq!(
        hex(&signature.signature),
        "0bfe1a861c1b440642ed26966b98d13a55bfb8f1361fe300b70f7311d29ce1d4\
         015640bf749ba947e2b807856a5ff411a21225554b803e524a13817dcf790f06"
    );
    let checked = verify_record_remembered(&state, "db", b"host=db.example", &signature, |_| false);
    assert_eq!(
        checked.map(|c| c.map(|c| hex(&c))),
        Ok(Some(
            "8a110998b46d9a6fe957e626a8eda32c7c5e58cc37886f5d8f01a451f8ce0bb9".into()
        ))
    );
}
