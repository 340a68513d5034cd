//! The rules of the log: every way a file writer, a non-admin or a careless admin could try to
//! change authority, and what a valid history looks like.

use super::*;

fn team() -> (Person, Person, Person, Log) {
    let alice = Person::new("alice");
    let bob = Person::new("bob");
    let carol = Person::new("carol");
    let mut log = Log::new(&alice, "prod");
    log.add(&alice, &bob, Role::Editor)
        .add(&alice, &carol, Role::Viewer);
    (alice, bob, carol, log)
}

#[test]
fn a_genesis_makes_its_creator_the_only_admin() {
    let alice = Person::new("alice");
    let log = Log::new(&alice, "prod");
    let state = &log.state;
    assert_eq!(state.slug(), "prod");
    assert_eq!(state.role_of(&alice.public()), Some(Role::Admin));
    assert_eq!(state.members().len(), 1);
    assert_eq!(state.key_version(), 1);
    assert_eq!(state.head().seq, 0);
    assert_eq!(state.genesis_hash(), log.entries[0].hash());
}

#[test]
fn a_whole_history_replays_to_the_state_it_describes() {
    let (alice, bob, carol, mut log) = team();
    log.push(
        &alice,
        Body::RoleChanged {
            recipient: bob.public(),
            role: Role::Admin,
        },
    )
    .push(
        &bob,
        Body::WorkspaceRenamed {
            slug: "production".into(),
            name: "Production".into(),
        },
    )
    .push(
        &bob,
        Body::ConnectionCreated {
            identifier: "dhis2".into(),
            digest: [3; 32],
        },
    )
    .push(
        &alice,
        Body::MemberRemoved {
            recipient: carol.public(),
        },
    )
    .push(
        &alice,
        Body::KeyRotated {
            version: 2,
            recipient: key_recipient(2),
        },
    );
    let state = verify_log(&log.entries);
    assert_eq!(state.as_ref(), Ok(&log.state));
    let state = log.state;
    assert_eq!(state.slug(), "production");
    assert_eq!(state.name(), "Production");
    assert_eq!(state.role_of(&bob.public()), Some(Role::Admin));
    assert_eq!(state.role_of(&carol.public()), None);
    assert_eq!(state.key_version(), 2);
    assert_eq!(state.key_recipient(), key_recipient(2));
    assert_eq!(state.head().seq, 7);
    let holders: Vec<&str> = state.key_holders().map(|m| m.name.as_str()).collect();
    assert_eq!(holders.len(), 2);
    assert!(holders.contains(&"alice") && holders.contains(&"bob"));
}

#[test]
fn extending_a_verified_prefix_gives_the_same_state_as_replaying_everything() {
    let (alice, bob, _, mut log) = team();
    let prefix = log.state.clone();
    let seen = log.entries.len();
    log.push(
        &alice,
        Body::RoleChanged {
            recipient: bob.public(),
            role: Role::Viewer,
        },
    );
    assert_eq!(extend(prefix, &log.entries[seen..]), Ok(log.state.clone()));
}

#[test]
fn a_forged_signature_is_refused() {
    let (alice, _, carol, log) = team();
    // Carol's entry, with its role changed to admin after alice signed it.
    let mut entries = log.entries.clone();
    entries[2].body = Body::MemberAdded {
        name: carol.name.into(),
        recipient: carol.public(),
        role: Role::Admin,
    };
    assert_eq!(
        verify_log(&entries),
        Err(AuthorityError::BadSignature { seq: 2 })
    );
    // An entry whose signer field names alice but that someone else signed.
    let mallory = Person::new("mallory");
    let mut forged = log.forge(
        &mallory,
        Body::MemberAdded {
            name: "mallory".into(),
            recipient: mallory.public(),
            role: Role::Admin,
        },
    );
    forged.signer = alice.public();
    assert_eq!(
        verify_log(&log.with(forged)),
        Err(AuthorityError::BadSignature { seq: 3 })
    );
}

#[test]
fn an_entry_signed_by_a_non_admin_is_refused() {
    let (_, bob, carol, log) = team();
    let stranger = Person::new("mallory");
    for signer in [&bob, &carol, &stranger] {
        let entry = log.forge(
            signer,
            Body::MemberAdded {
                name: "eve".into(),
                recipient: key_recipient(9),
                role: Role::Editor,
            },
        );
        assert_eq!(
            verify_log(&log.with(entry)),
            Err(AuthorityError::NotAnAdmin {
                seq: 3,
                signer: signer.public().recipient()
            }),
            "{}",
            signer.name
        );
    }
}

#[test]
fn a_promotion_by_a_non_admin_is_refused() {
    let (_, bob, carol, log) = team();
    for (signer, who) in [(&carol, &carol), (&bob, &bob), (&bob, &carol)] {
        let entry = log.forge(
            signer,
            Body::RoleChanged {
                recipient: who.public(),
                role: Role::Admin,
            },
        );
        assert!(matches!(
            verify_log(&log.with(entry)),
            Err(AuthorityError::NotAnAdmin { seq: 3, .. })
        ));
    }
    // propose refuses it the same way, and leaves the state as it was.
    let before = log.state.clone();
    let proposed = log.state.propose(
        &carol.key,
        0,
        Body::RoleChanged {
            recipient: carol.public(),
            role: Role::Editor,
        },
    );
    assert!(matches!(proposed, Err(AuthorityError::NotAnAdmin { .. })));
    assert_eq!(log.state, before);
}

#[test]
fn a_removed_entry_breaks_the_log() {
    let (_, _, _, log) = team();
    let mut entries = log.entries.clone();
    entries.remove(1);
    assert_eq!(
        verify_log(&entries),
        Err(AuthorityError::OutOfSequence {
            expected: 1,
            found: 2
        })
    );
    // Removing the genesis leaves a log that does not start with one.
    assert_eq!(
        verify_log(&log.entries[1..]),
        Err(AuthorityError::NoGenesis)
    );
    assert_eq!(verify_log(&[]), Err(AuthorityError::EmptyLog));
}

#[test]
fn a_reordered_entry_breaks_the_log() {
    let (_, _, _, log) = team();
    let mut entries = log.entries.clone();
    entries.swap(1, 2);
    assert!(matches!(
        verify_log(&entries),
        Err(AuthorityError::OutOfSequence { expected: 1, .. })
    ));
    // Renumbering does not help: each entry names the hash of the one before it (and the
    // signatures cover the numbers).
    entries[1].seq = 1;
    entries[2].seq = 2;
    assert_eq!(
        verify_log(&entries),
        Err(AuthorityError::BrokenChain { seq: 1 })
    );
}

#[test]
fn a_replayed_entry_is_refused() {
    let (alice, bob, _, mut log) = team();
    log.push(
        &alice,
        Body::MemberRemoved {
            recipient: bob.public(),
        },
    );
    // The earlier "bob added" entry played again after his removal.
    let replayed = log.entries[1].clone();
    assert!(matches!(
        verify_log(&log.with(replayed)),
        Err(AuthorityError::OutOfSequence {
            expected: 4,
            found: 1
        })
    ));
    // The same entry appended twice.
    let last = log.entries[3].clone();
    assert!(matches!(
        verify_log(&log.with(last)),
        Err(AuthorityError::OutOfSequence {
            expected: 4,
            found: 3
        })
    ));
}

#[test]
fn an_entry_that_names_another_previous_entry_is_refused() {
    let (alice, _, _, log) = team();
    let entry = Entry::sign(
        &alice.key,
        3,
        log.entries[1].hash(),
        0,
        Body::WorkspaceRenamed {
            slug: "x".into(),
            name: "X".into(),
        },
    );
    assert_eq!(
        verify_log(&log.with(entry)),
        Err(AuthorityError::BrokenChain { seq: 3 })
    );
}

#[test]
fn a_swapped_recipient_is_refused() {
    let (_, _, _, log) = team();
    let mallory = Person::new("mallory");
    let mut entries = log.entries.clone();
    // Bob's recipient replaced with mallory's: the entry no longer matches its signature.
    if let Body::MemberAdded { recipient, .. } = &mut entries[1].body {
        *recipient = mallory.public();
    }
    assert_eq!(
        verify_log(&entries),
        Err(AuthorityError::BadSignature { seq: 1 })
    );
    // Nor can the workspace's own recipient be swapped in the genesis.
    let mut entries = log.entries.clone();
    if let Body::Genesis(g) = &mut entries[0].body {
        g.key_recipient = mallory.public();
    }
    assert_eq!(
        verify_log(&entries),
        Err(AuthorityError::BadSignature { seq: 0 })
    );
}

#[test]
fn the_last_admin_can_never_be_removed_or_demoted() {
    let (alice, bob, _, mut log) = team();
    for body in [
        Body::MemberRemoved {
            recipient: alice.public(),
        },
        Body::RoleChanged {
            recipient: alice.public(),
            role: Role::Editor,
        },
    ] {
        let entry = log.forge(&alice, body.clone());
        assert_eq!(
            verify_log(&log.with(entry)),
            Err(AuthorityError::LastAdmin { seq: 3 })
        );
    }
    // With a second admin, the first may leave, and then may no longer sign.
    log.push(
        &alice,
        Body::RoleChanged {
            recipient: bob.public(),
            role: Role::Admin,
        },
    )
    .push(
        &bob,
        Body::MemberRemoved {
            recipient: alice.public(),
        },
    );
    let entry = log.forge(
        &alice,
        Body::MemberAdded {
            name: "alice2".into(),
            recipient: key_recipient(7),
            role: Role::Admin,
        },
    );
    assert!(matches!(
        verify_log(&log.with(entry)),
        Err(AuthorityError::NotAnAdmin { seq: 5, .. })
    ));
    assert!(matches!(
        log.state.propose(
            &bob.key,
            0,
            Body::MemberRemoved {
                recipient: bob.public()
            }
        ),
        Err(AuthorityError::LastAdmin { .. })
    ));
}

#[test]
fn the_genesis_must_be_self_signed_and_come_once() {
    let alice = Person::new("alice");
    let mallory = Person::new("mallory");
    let log = Log::new(&alice, "prod");
    let Body::Genesis(genesis) = log.entries[0].body.clone() else {
        unreachable!()
    };
    // Mallory signs a genesis that names alice as its creator.
    let forged = Entry::sign(
        &mallory.key,
        0,
        EntryHash::ZERO,
        0,
        Body::Genesis(genesis.clone()),
    );
    assert_eq!(
        verify_log(&[forged]),
        Err(AuthorityError::GenesisNotSelfSigned)
    );
    let second = log.forge(&alice, Body::Genesis(genesis));
    assert_eq!(
        verify_log(&log.with(second)),
        Err(AuthorityError::SecondGenesis { seq: 1 })
    );
}

#[test]
fn a_member_is_added_once_and_under_a_name_of_their_own() {
    let (alice, bob, _, log) = team();
    let again = log.forge(
        &alice,
        Body::MemberAdded {
            name: "robert".into(),
            recipient: bob.public(),
            role: Role::Admin,
        },
    );
    assert_eq!(
        verify_log(&log.with(again)),
        Err(AuthorityError::AlreadyMember {
            seq: 3,
            name: "bob".into()
        })
    );
    // A second "bob" with another key would make `member remove bob` ambiguous.
    let namesake = log.forge(
        &alice,
        Body::MemberAdded {
            name: "bob".into(),
            recipient: key_recipient(8),
            role: Role::Viewer,
        },
    );
    assert_eq!(
        verify_log(&log.with(namesake)),
        Err(AuthorityError::NameTaken {
            seq: 3,
            name: "bob".into()
        })
    );
    let stranger = log.forge(
        &alice,
        Body::MemberRemoved {
            recipient: key_recipient(8),
        },
    );
    assert!(matches!(
        verify_log(&log.with(stranger)),
        Err(AuthorityError::NotAMember { seq: 3, .. })
    ));
}

#[test]
fn a_rotation_raises_the_version_and_changes_the_key() {
    let (alice, _, _, log) = team();
    for (version, recipient) in [
        (1, key_recipient(2)),
        (0, key_recipient(2)),
        (2, key_recipient(1)),
    ] {
        let entry = log.forge(&alice, Body::KeyRotated { version, recipient });
        assert!(
            matches!(
                verify_log(&log.with(entry)),
                Err(AuthorityError::BadRotation { seq: 3, .. })
            ),
            "version {version}"
        );
    }
}

/// The check a pin remembers for a wrapped key names the member, the wrapped key's bytes and the
/// key the log names: any other member, bytes, version or key is another check.
#[test]
fn a_remembered_key_check_covers_the_member_the_bytes_and_the_logged_key() {
    let (alice, bob, _, mut log) = team();
    let check = log.state.wrapped_key_check(&alice.public(), b"wrapped");
    assert_eq!(
        check,
        log.state.wrapped_key_check(&alice.public(), b"wrapped")
    );
    assert_ne!(
        check,
        log.state.wrapped_key_check(&bob.public(), b"wrapped")
    );
    assert_ne!(
        check,
        log.state.wrapped_key_check(&alice.public(), b"wrappeD")
    );
    assert_ne!(
        check,
        log.state.wrapped_key_check(&alice.public(), b"wrapped\0")
    );
    log.push(
        &alice,
        Body::KeyRotated {
            version: 2,
            recipient: key_recipient(2),
        },
    );
    assert_ne!(
        check,
        log.state.wrapped_key_check(&alice.public(), b"wrapped")
    );
}

/// The fixed genesis's state, the check for its creator and the bytes `wrapped` (docs/SECURITY.md,
/// section 8); checked with Python's `hashlib` over the bytes that section gives.
#[test]
fn a_fixed_key_check_has_a_fixed_digest() {
    let (alice, genesis) = fixed_genesis();
    let state = State::from_genesis(&genesis).unwrap_or_else(|e| unreachable!("{e}"));
    let check = state.wrapped_key_check(&alice.public_key(), b"wrapped");
    assert_eq!(
        crate::authority::pins::hex(&check),
        "3568c9e56c19fa7b071dcaf2a0851df05a2568afd591152a6b18326b392ad729"
    );
}

/// What a wrapped key opens to must be the key the log names: a key planted by a file writer (for
/// every member, since recipients are public) is refused, as is a key of the wrong version.
#[test]
fn a_workspace_key_that_is_not_the_logged_one_is_refused() {
    let (alice, _, _, mut log) = team();
    assert_eq!(log.state.check_workspace_key(1, &key_recipient(1)), Ok(()));
    let planted = Person::new("planted").public();
    assert!(matches!(
        log.state.check_workspace_key(1, &planted),
        Err(AuthorityError::WrongWorkspaceKey { version: 1, .. })
    ));
    log.push(
        &alice,
        Body::KeyRotated {
            version: 2,
            recipient: key_recipient(2),
        },
    );
    assert!(log.state.check_workspace_key(1, &key_recipient(1)).is_err());
    assert!(log.state.check_workspace_key(2, &key_recipient(1)).is_err());
    assert_eq!(log.state.check_workspace_key(2, &key_recipient(2)), Ok(()));
}

#[test]
fn removing_or_demoting_a_key_holder_makes_a_rotation_due() {
    let (alice, bob, carol, mut log) = team();
    log.push(
        &alice,
        Body::MemberRemoved {
            recipient: carol.public(),
        },
    );
    assert!(!log.state.rotation_due(), "carol was a viewer");
    log.push(
        &alice,
        Body::RoleChanged {
            recipient: bob.public(),
            role: Role::Viewer,
        },
    );
    assert!(log.state.rotation_due());
    log.push(
        &alice,
        Body::KeyRotated {
            version: 2,
            recipient: key_recipient(2),
        },
    );
    assert!(!log.state.rotation_due());
}

#[test]
fn stored_entries_read_back_exactly_and_refuse_any_other_encoding() {
    let (_, _, _, log) = team();
    for entry in &log.entries {
        let bytes = entry.to_bytes();
        assert_eq!(Entry::from_bytes(&bytes).as_ref(), Ok(entry));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Entry::from_bytes(&longer),
            Err(AuthorityError::Malformed { .. })
        ));
        assert!(Entry::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }
    // Flipping any bit of a stored entry makes the log fail, whichever check catches it.
    let bytes = log.entries[1].to_bytes();
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x10;
        let outcome = Entry::from_bytes(&flipped).and_then(|entry| {
            let mut entries = log.entries.clone();
            entries[1] = entry;
            verify_log(&entries)
        });
        assert!(outcome.is_err(), "byte {i}");
    }
}

#[test]
fn a_cached_state_reads_back_exactly() {
    let (_, _, _, log) = team();
    let bytes = log.state.to_bytes();
    assert_eq!(State::from_bytes(&bytes), Ok(log.state.clone()));
    assert!(State::from_bytes(&bytes[1..]).is_err());
}

#[test]
fn a_fingerprint_is_eight_groups_of_four() {
    let print = fingerprint(&EntryHash([0; 32]));
    assert_eq!(print, "aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa");
    let print = fingerprint(&EntryHash([0xFF; 32]));
    assert_eq!(print, "7777-7777-7777-7777-7777-7777-7777-7777");
    let mut hash = [0u8; 32];
    hash[..5].copy_from_slice(b"hello");
    assert!(fingerprint(&EntryHash(hash)).starts_with("nbsw-y3dp-"));
}

/// The test vector of docs/SECURITY.md ("Signed authority"): signatures are deterministic, so a genesis made
/// from fixed inputs has a fixed encoding, hash and fingerprint.
#[test]
fn a_fixed_genesis_has_a_fixed_hash_and_fingerprint() {
    let (alice, genesis) = fixed_genesis();
    let state = verify_log(std::slice::from_ref(&genesis));
    assert!(state.is_ok());
    let bytes: String = genesis
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        bytes,
        "6f68782d6c6f672d656e74727901\
         0000000000000000\
         0000000000000000000000000000000000000000000000000000000000000000\
         000000006553f100\
         8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a\
         01\
         1111111111111111111111111111111111111111111111111111111111111111\
         0000000470726f64\
         0000000a50726f64756374696f6e\
         00000005616c696365\
         8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a\
         00000001\
         ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59\
         05d9d7a764e490be3e5640c708c8813c9722f0ec0ae31496748fb818e37ce7e5\
         20ce7350542a57ef44752fb693e3b806222a5cdc61c746bbbddc825a4d7afd0a"
    );
    assert_eq!(
        genesis.hash().to_hex(),
        "3c0049f714a4c3c72971a51206e8ad145fa38fd28179a15990f1474be4422b6c"
    );
    assert_eq!(
        fingerprint(&genesis.hash()),
        "hqae-t5yu-utb4-oklr-uuja-n2fn-crp2-hd6s"
    );
    assert_eq!(
        alice.public_key().recipient(),
        "age1s5s0qzvfxzn4gayt0hwtg0hhtgxm7wsdycup4a8t5j5ca25mfe4qt4hs7q"
    );
}
