//! Pins: trust on first use, rollback and fork detection, a replaced workspace, and the file
//! itself (0600, atomic, merged, refused when others may change it).

use std::os::unix::fs::PermissionsExt;

use super::*;

/// A store's log, as the pins read it.
struct Source(Vec<Entry>);

impl LogSource for Source {
    type Error = AuthorityError;
    fn entry(&mut self, seq: u64) -> Result<Option<Entry>, AuthorityError> {
        Ok(self.0.iter().find(|e| e.seq == seq).cloned())
    }
    fn entries_from(
        &mut self,
        from: u64,
    ) -> Result<Vec<Result<Entry, AuthorityError>>, AuthorityError> {
        Ok(self
            .0
            .iter()
            .filter(|e| e.seq >= from)
            .cloned()
            .map(Ok)
            .collect())
    }
}

/// The user whose pins these are.
fn owner() -> SigningKey {
    SigningKey::from_secret_bytes(&[42; 32])
}

fn pinned(log: &Log) -> (tempfile::TempDir, Pins) {
    let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
    let mut pins =
        Pins::load(&dir.path().join(PINS_FILE), &owner()).unwrap_or_else(|_| unreachable!());
    let seen = pins.verify(&mut Source(log.entries.clone()));
    assert!(
        matches!(
            seen,
            Ok(Verified {
                first_sight: true,
                ..
            })
        ),
        "{seen:?}"
    );
    pins.record(&log.state);
    assert_eq!(pins.save(), Ok(()));
    (dir, pins)
}

fn reload(pins: &Pins) -> Pins {
    Pins::load(pins.path(), &owner()).unwrap_or_else(|e| unreachable!("{e}"))
}

fn grown() -> (Person, Log) {
    let alice = Person::new("alice");
    let mut log = Log::new(&alice, "prod");
    log.add(&alice, &Person::new("bob"), Role::Editor).add(
        &alice,
        &Person::new("carol"),
        Role::Viewer,
    );
    (alice, log)
}

#[test]
fn first_sight_trusts_and_pins_then_the_same_log_passes() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let pins = reload(&pins);
    let pin = pins.get(&log.state.workspace_id());
    assert_eq!(
        pin.map(|p| (p.seq, p.head)),
        Some((2, log.state.head().hash))
    );
    assert_eq!(pin.map(|p| p.genesis), Some(log.entries[0].hash()));
    assert_eq!(pin.and_then(|p| p.state()), Some(&log.state));
    let again = pins.verify(&mut Source(log.entries.clone()));
    assert!(matches!(
        again,
        Ok(Verified {
            first_sight: false,
            advanced: false,
            ..
        })
    ));
}

#[test]
fn new_entries_are_verified_from_the_cached_state_and_advance_the_pin() {
    let (alice, mut log) = grown();
    let (_dir, mut pins) = pinned(&log);
    log.push(
        &alice,
        Body::WorkspaceRenamed {
            slug: "production".into(),
            name: "Production".into(),
        },
    );
    let seen = pins.verify(&mut Source(log.entries.clone()));
    let Ok(Verified {
        state,
        advanced: true,
        ..
    }) = seen
    else {
        unreachable!("{seen:?}")
    };
    assert_eq!(state, log.state);
    pins.record(&state);
    assert_eq!(pins.save(), Ok(()));
    assert_eq!(
        reload(&pins).get(&state.workspace_id()).map(|p| p.seq),
        Some(3)
    );
    // A forged entry after the pin is refused: the log is used up to it, and it is reported.
    let mallory = Person::new("mallory");
    let forged = log.forge(
        &mallory,
        Body::MemberAdded {
            name: "mallory".into(),
            recipient: mallory.public(),
            role: Role::Admin,
        },
    );
    let seen = pins.verify(&mut Source(log.with(forged)));
    let Ok(Verified {
        state,
        rejected: Some(rejected),
        ..
    }) = seen
    else {
        unreachable!("{seen:?}")
    };
    assert_eq!(state, log.state);
    assert_eq!(rejected.seq, 4);
    assert!(matches!(
        rejected.error,
        AuthorityError::NotAnAdmin { seq: 4, .. }
    ));
    assert_eq!(state.role_of(&mallory.public()), None);
}

/// Junk at the end of a log (a row that does not even decode, then a valid-looking one) stops
/// nobody: the valid part is used, the junk reported.
#[test]
fn a_junk_tail_is_reported_not_fatal() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    struct Junk(Vec<Entry>);
    impl LogSource for Junk {
        type Error = AuthorityError;
        fn entry(&mut self, seq: u64) -> Result<Option<Entry>, AuthorityError> {
            Ok(self.0.iter().find(|e| e.seq == seq).cloned())
        }
        fn entries_from(
            &mut self,
            from: u64,
        ) -> Result<Vec<Result<Entry, AuthorityError>>, AuthorityError> {
            let mut rows: Vec<_> = self
                .0
                .iter()
                .filter(|e| e.seq >= from)
                .cloned()
                .map(Ok)
                .collect();
            rows.push(Err(AuthorityError::Malformed {
                reason: "cut short",
            }));
            rows.push(Ok(self.0[1].clone()));
            Ok(rows)
        }
    }
    let seen = pins.verify(&mut Junk(log.entries.clone()));
    let Ok(Verified {
        state,
        advanced: false,
        rejected: Some(rejected),
        ..
    }) = seen
    else {
        unreachable!("{seen:?}")
    };
    assert_eq!(state, log.state);
    assert_eq!(rejected.seq, 3);
    assert_eq!(
        rejected.error,
        AuthorityError::Malformed {
            reason: "cut short"
        }
    );
}

#[test]
fn a_log_behind_the_pin_is_a_rollback() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    // The store put back from before carol was added.
    let older = log.entries[..2].to_vec();
    let outcome = pins.verify(&mut Source(older));
    assert_eq!(
        outcome.as_ref().map(|_| ()),
        Err(&AuthorityError::Rollback {
            workspace: "prod".into(),
            pinned: 2
        })
    );
    let message = outcome.err().map(|e| (e.to_string(), e.hint()));
    assert!(message.as_ref().is_some_and(
        |(m, h)| m.contains("'prod'") && h.as_deref().is_some_and(|h| h.contains("older copy"))
    ));
}

#[test]
fn a_different_entry_at_the_pinned_head_is_a_fork() {
    let (alice, log) = grown();
    let (_dir, pins) = pinned(&log);
    // An admin's other history: entry 2 makes carol an editor instead of a viewer.
    let mut other = Log {
        entries: log.entries[..2].to_vec(),
        state: State::from_genesis(&log.entries[0]).unwrap_or_else(|_| unreachable!()),
    };
    other.state = verify_log(&other.entries).unwrap_or_else(|_| unreachable!());
    other.add(&alice, &Person::new("carol"), Role::Editor);
    assert_eq!(
        pins.verify(&mut Source(other.entries)).map(|_| ()),
        Err(AuthorityError::Fork {
            workspace: "prod".into(),
            seq: 2
        })
    );
}

#[test]
fn another_genesis_under_a_pinned_id_is_a_fork() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let mallory = Person::new("mallory");
    let Body::Genesis(mut genesis) = log.entries[0].body.clone() else {
        unreachable!()
    };
    genesis.creator = mallory.public();
    genesis.creator_name = "alice".into();
    let fake = Entry::genesis(&mallory.key, 0, genesis);
    assert_eq!(
        pins.verify(&mut Source(vec![fake])).map(|_| ()),
        Err(AuthorityError::Fork {
            workspace: "prod".into(),
            seq: 0
        })
    );
}

/// A file writer replaces the workspace with one of her own, under the same slug, with the
/// victim as a member: the first sight of that new id is refused because the slug was pinned.
#[test]
fn a_new_workspace_under_a_pinned_slug_is_refused() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let mallory = Person::new("mallory");
    let fake = Log::new(&mallory, "prod");
    let outcome = pins.verify(&mut Source(fake.entries.clone()));
    assert_eq!(
        outcome.map(|_| ()),
        Err(AuthorityError::Replaced {
            workspace: "prod".into(),
            fingerprint: fake.state.fingerprint()
        })
    );
    // Another slug is simply a new workspace, trusted on first use.
    let staging = Log::new(&mallory, "staging");
    assert!(matches!(
        pins.verify(&mut Source(staging.entries)),
        Ok(Verified {
            first_sight: true,
            ..
        })
    ));
}

#[test]
fn a_pin_never_moves_back() {
    let (alice, mut log) = grown();
    let (_dir, mut pins) = pinned(&log);
    let at_two = log.state.clone();
    log.push(
        &alice,
        Body::KeyRotated {
            version: 2,
            recipient: key_recipient(2),
        },
    );
    pins.record(&log.state);
    pins.record(&at_two);
    assert_eq!(pins.get(&at_two.workspace_id()).map(|p| p.seq), Some(3));
    // Another process that saves an older view does not undo this one's pin.
    assert_eq!(pins.save(), Ok(()));
    let mut stale = Pins::load(pins.path(), &owner()).unwrap_or_else(|_| unreachable!());
    stale.forget(&at_two.workspace_id());
    stale.record(&at_two);
    assert_eq!(stale.save(), Ok(()));
    assert_eq!(
        reload(&pins).get(&at_two.workspace_id()).map(|p| p.seq),
        Some(3)
    );
}

#[test]
fn the_pins_file_is_private_and_refused_when_others_may_change_it() {
    let (_, log) = grown();
    let (dir, pins) = pinned(&log);
    let path = pins.path().to_path_buf();
    let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o600));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let mut expected = vec![
        std::ffi::OsString::from(PINS_FILE),
        std::ffi::OsString::from(format!("{PINS_FILE}.lock")),
    ];
    let mut leftovers = leftovers;
    leftovers.sort();
    expected.sort();
    assert_eq!(leftovers, expected, "no temporary file is left behind");
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664));
    assert!(matches!(
        Pins::load(&path, &owner()),
        Err(AuthorityError::PinsUnsafe { mode: 0o664, .. })
    ));
}

/// Someone who can write the user's files but lacks their identity cannot move a pin back (here:
/// to the head before carol was added); the change is reported, and the next save replaces it.
#[test]
fn a_pins_file_changed_without_the_owners_identity_is_refused() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let path = pins.path().to_path_buf();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let head = log.state.head().hash.to_hex();
    let earlier = log.entries[1].hash().to_hex();
    let moved_back = text
        .replace(&head, &earlier)
        .replace("\"seq\":2", "\"seq\":1");
    assert_ne!(moved_back, text);
    assert!(std::fs::write(&path, &moved_back).is_ok());
    assert!(matches!(
        Pins::load(&path, &owner()),
        Err(AuthorityError::PinsForged { .. })
    ));
    // Another identity's pins are not this user's either.
    assert!(std::fs::write(&path, &text).is_ok());
    let stranger = SigningKey::from_secret_bytes(&[43; 32]);
    assert!(matches!(
        Pins::load(&path, &stranger),
        Err(AuthorityError::PinsForged { .. })
    ));
    // Saving over a forged file writes genuine pins again.
    assert!(std::fs::write(&path, &moved_back).is_ok());
    assert_eq!(pins.save(), Ok(()));
    assert_eq!(
        reload(&pins).get(&log.state.workspace_id()).map(|p| p.seq),
        Some(2)
    );
    assert!(std::fs::write(&path, "{not json").is_ok());
    assert!(matches!(
        Pins::load(&path, &owner()),
        Err(AuthorityError::PinsDamaged { .. })
    ));
}

/// Saves from many threads at once (each its own `Pins`, as separate processes would be) lose no
/// workspace: each save merges under the lock.
#[test]
fn concurrent_saves_keep_every_workspace() {
    let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
    let path = dir.path().join(PINS_FILE);
    let logs: Vec<Log> = (0..8)
        .map(|i| Log::new(&Person::new("alice"), &format!("ws{i}")))
        .collect();
    std::thread::scope(|scope| {
        for log in &logs {
            let path = &path;
            scope.spawn(move || {
                let mut pins = Pins::load(path, &owner()).unwrap_or_else(|e| unreachable!("{e}"));
                pins.record(&log.state);
                assert_eq!(pins.save(), Ok(()));
            });
        }
    });
    let pins = Pins::load(&path, &owner()).unwrap_or_else(|e| unreachable!("{e}"));
    for log in &logs {
        assert!(
            pins.get(&log.state.workspace_id()).is_some(),
            "{}",
            log.state.slug()
        );
    }
}

#[test]
fn a_cached_state_never_decoded_is_saved_as_it_was_read() {
    // Reading pins leaves each cached state in hex until it is used; saving again must keep it
    // whole, so that the next reader still verifies only what is new.
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let id = log.state.workspace_id();
    let untouched = reload(&pins);
    assert_eq!(untouched.save(), Ok(()));
    let again = reload(&untouched);
    let state = again.get(&id).and_then(|pin| pin.state());
    assert_eq!(state.map(|s| s.head().seq), Some(log.state.head().seq));
}

#[test]
fn hex_round_trips_and_rejects_what_is_not_hex() {
    let bytes: Vec<u8> = (0..=255).collect();
    assert_eq!(
        crate::authority::pins::unhex(&crate::authority::pins::hex(&bytes)),
        Some(bytes)
    );
    assert_eq!(crate::authority::pins::unhex("0A"), Some(vec![10]));
    for bad in ["0", "0g", "+f", "é0", " 0"] {
        assert_eq!(crate::authority::pins::unhex(bad), None, "{bad:?}");
    }
    let id = WorkspaceId([0xab; 32]);
    assert_eq!(WorkspaceId::from_hex(&id.to_hex()), Some(id));
    assert_eq!(WorkspaceId::from_hex(&id.to_hex()[..62]), None);
    assert_eq!(WorkspaceId::from_hex(&format!("{}00", id.to_hex())), None);
}

#[test]
fn a_pins_file_an_older_ohx_wrote_pretty_printed_is_still_genuine() {
    // Older ohx versions wrote the file pretty-printed; the MAC covers the compact form, so such
    // a file is checked by serialising its workspaces again.
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let text = std::fs::read_to_string(pins.path()).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
    assert_ne!(pretty, text);
    assert!(std::fs::write(pins.path(), &pretty).is_ok());
    let id = log.state.workspace_id();
    assert_eq!(
        reload(&pins).get(&id).map(|p| p.seq),
        Some(log.state.head().seq)
    );
    // Pretty-printed or not, a changed pin is still refused.
    let moved = pretty.replace(&format!("\"seq\": {}", log.state.head().seq), "\"seq\": 1");
    assert_ne!(moved, pretty);
    assert!(std::fs::write(pins.path(), &moved).is_ok());
    assert!(matches!(
        Pins::load(pins.path(), &owner()),
        Err(AuthorityError::PinsForged { .. })
    ));
}
