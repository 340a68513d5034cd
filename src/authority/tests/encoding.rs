//! The canonical encoding on generated entries: every body reads back exactly, and arbitrary
//! bytes (or any cut or extension of a real entry) are refused without a panic.

use proptest::prelude::*;

use super::*;

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Viewer), Just(Role::Editor), Just(Role::Admin)]
}

fn key() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(PublicKey::from_bytes)
}

fn body() -> impl Strategy<Value = Body> {
    let text = ".{0,40}";
    prop_oneof![
        (text, key(), role()).prop_map(|(name, recipient, role)| Body::MemberAdded {
            name,
            recipient,
            role
        }),
        (key(), role()).prop_map(|(recipient, role)| Body::RoleChanged { recipient, role }),
        key().prop_map(|recipient| Body::MemberRemoved { recipient }),
        (any::<u32>(), key())
            .prop_map(|(version, recipient)| Body::KeyRotated { version, recipient }),
        (text, text).prop_map(|(slug, name)| Body::WorkspaceRenamed { slug, name }),
        (text, any::<[u8; 32]>())
            .prop_map(|(identifier, digest)| Body::ConnectionEdited { identifier, digest }),
        (
            any::<[u8; 32]>(),
            text,
            text,
            text,
            key(),
            any::<u32>(),
            key()
        )
            .prop_map(
                |(id, slug, name, creator_name, creator, key_version, key_recipient)| {
                    Body::Genesis(Genesis {
                        workspace_id: WorkspaceId(id),
                        slug,
                        name,
                        creator_name,
                        creator,
                        key_version,
                        key_recipient,
                    })
                }
            ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_entry_reads_back_exactly(
        seq in any::<u64>(),
        prev in any::<[u8; 32]>(),
        timestamp in any::<i64>(),
        body in body(),
        cut in 1usize..400,
    ) {
        let signer = SigningKey::from_secret_bytes(&prev);
        let entry = Entry::sign(&signer, seq, EntryHash(prev), timestamp, body);
        let bytes = entry.to_bytes();
        prop_assert_eq!(Entry::from_bytes(&bytes), Ok(entry.clone()));
        prop_assert_eq!(entry.check_signature(), Ok(()));
        let short = &bytes[..bytes.len().saturating_sub(cut)];
        prop_assert!(Entry::from_bytes(short).is_err());
        let mut long = bytes.clone();
        long.extend(std::iter::repeat_n(0u8, cut));
        prop_assert!(Entry::from_bytes(&long).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = b"ohx-log-entry\x01".to_vec();
        bytes.extend(tail);
        if let Ok(entry) = Entry::from_bytes(&bytes) {
            prop_assert_eq!(entry.to_bytes(), bytes);
        }
    }
}
