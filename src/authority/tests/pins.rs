//! Pins: trust on first use, rollback and fork detection, a replaced workspace, the files
//! themselves (one per workspace, 0600, atomic, merged, refused when others may change them), and
//! the move of pins kept the older way, in one file, into the folder.

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
        Pins::load(&dir.path().join(PINS_DIR), &owner()).unwrap_or_else(|_| unreachable!());
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
    Pins::load(pins.dir(), &owner()).unwrap_or_else(|e| unreachable!("{e}"))
}

/// The pin of `id`, which must be readable.
#[track_caller]
fn pin_of(pins: &Pins, id: &WorkspaceId) -> Option<Pin> {
    pins.get(id).unwrap_or_else(|e| unreachable!("{e}"))
}

/// The file of `log`'s workspace's pin.
fn pin_path(pins: &Pins, log: &Log) -> std::path::PathBuf {
    pins.dir()
        .join(format!("{}.json", log.state.workspace_id().to_hex()))
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
    let pin = pin_of(&pins, &log.state.workspace_id());
    let pin = pin.as_ref();
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
        pin_of(&reload(&pins), &state.workspace_id()).map(|p| p.seq),
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
            fingerprint: fake.state.fingerprint(),
            pinned: pin_path(&pins, &log),
        })
    );
    // The same, for a process that reads the pin from its file rather than having recorded it.
    assert!(matches!(
        reload(&pins).verify(&mut Source(fake.entries.clone())),
        Err(AuthorityError::Replaced { pinned, .. }) if pinned == pin_path(&pins, &log)
    ));
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
    assert_eq!(
        pin_of(&pins, &at_two.workspace_id()).map(|p| p.seq),
        Some(3)
    );
    // Another process that saves an older view does not undo this one's pin.
    assert_eq!(pins.save(), Ok(()));
    let mut stale = reload(&pins);
    stale.record(&at_two);
    assert_eq!(stale.save(), Ok(()));
    assert_eq!(
        pin_of(&reload(&pins), &at_two.workspace_id()).map(|p| p.seq),
        Some(3)
    );
}

#[test]
fn each_pin_is_a_private_file_in_a_private_folder_and_refused_when_others_may_change_them() {
    let (_, log) = grown();
    let (dir, pins) = pinned(&log);
    let path = pin_path(&pins, &log);
    let mode = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode(&path).ok(), Some(0o600));
    assert_eq!(mode(pins.dir()).ok(), Some(0o700));
    let names = |p: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(p)
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    assert_eq!(names(dir.path()), vec![std::ffi::OsString::from(PINS_DIR)]);
    let mut expected = vec![
        std::ffi::OsString::from(".lock"),
        path.file_name().map(Into::into).unwrap_or_default(),
    ];
    expected.sort();
    assert_eq!(
        names(pins.dir()),
        expected,
        "no temporary file is left behind"
    );
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664));
    assert!(matches!(
        reload(&pins).get(&log.state.workspace_id()),
        Err(AuthorityError::PinsUnsafe { mode: 0o664, .. })
    ));
    // A folder others may change: they could set a genuine pin aside and put it back later.
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    let _ = std::fs::set_permissions(pins.dir(), std::fs::Permissions::from_mode(0o770));
    assert!(matches!(
        reload(&pins).get(&log.state.workspace_id()),
        Err(AuthorityError::PinsFolderUnsafe { .. })
    ));
    let _ = std::fs::set_permissions(pins.dir(), std::fs::Permissions::from_mode(0o700));
    assert!(reload(&pins).get(&log.state.workspace_id()).is_ok());
}

/// Someone who can write the user's files but lacks their identity cannot move a pin back (here:
/// to the head before carol was added); the change is reported, and the next save replaces it.
#[test]
fn a_pin_changed_without_the_owners_identity_is_refused() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let id = log.state.workspace_id();
    let path = pin_path(&pins, &log);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let head = log.state.head().hash.to_hex();
    let earlier = log.entries[1].hash().to_hex();
    let moved_back = text
        .replace(&head, &earlier)
        .replace("\"seq\":2", "\"seq\":1");
    assert_ne!(moved_back, text);
    assert!(std::fs::write(&path, &moved_back).is_ok());
    assert!(matches!(
        reload(&pins).get(&id),
        Err(AuthorityError::PinsForged { path: p }) if p == path
    ));
    // Another identity's pins are not this user's either.
    assert!(std::fs::write(&path, &text).is_ok());
    let stranger = SigningKey::from_secret_bytes(&[43; 32]);
    let theirs = Pins::load(pins.dir(), &stranger).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(matches!(
        theirs.get(&id),
        Err(AuthorityError::PinsForged { .. })
    ));
    // Saving over a forged file writes a genuine pin again.
    assert!(std::fs::write(&path, &moved_back).is_ok());
    assert_eq!(pins.save(), Ok(()));
    assert_eq!(pin_of(&reload(&pins), &id).map(|p| p.seq), Some(2));
    assert!(std::fs::write(&path, "{not json").is_ok());
    assert!(matches!(
        reload(&pins).get(&id),
        Err(AuthorityError::PinsDamaged { .. })
    ));
}

/// Two workspaces pinned: `grown()`'s at its head and a second, "staging", at its genesis.
fn two_pinned() -> (tempfile::TempDir, Pins, Log, Log) {
    let (log, other) = two_logs();
    let (dir, mut pins) = pinned(&log);
    pins.record(&other.state);
    assert_eq!(pins.save(), Ok(()));
    (dir, pins, log, other)
}

/// A genuine pin of one workspace put in the place of another's (here a workspace pinned at its
/// genesis over one pinned further on) is refused: the MAC covers the workspace id.
#[test]
fn a_pin_copied_under_another_workspaces_name_is_refused() {
    let (_dir, pins, log, other) = two_pinned();
    assert!(std::fs::copy(pin_path(&pins, &other), pin_path(&pins, &log)).is_ok());
    assert!(matches!(
        reload(&pins).get(&log.state.workspace_id()),
        Err(AuthorityError::PinsForged { .. })
    ));
    // The other workspace's own pin is untouched and still read.
    assert_eq!(
        pin_of(&reload(&pins), &other.state.workspace_id()).map(|p| p.seq),
        Some(0)
    );
}

/// A command reads only the pin of the workspace it uses: a damaged pin of another workspace
/// stops nothing.
#[test]
fn a_damaged_pin_of_another_workspace_does_not_stop_this_one() {
    let (_dir, pins, log, other) = two_pinned();
    assert!(std::fs::write(pin_path(&pins, &other), "{not json").is_ok());
    let seen = reload(&pins).verify(&mut Source(log.entries.clone()));
    assert!(
        matches!(
            seen,
            Ok(Verified {
                first_sight: false,
                ..
            })
        ),
        "{seen:?}"
    );
}

/// Saves from many threads at once (each its own `Pins`, as separate processes would be) lose no
/// workspace: each save merges under the lock.
/// A reader's snapshot began before another ohx process appended an entry and pinned it, and the
/// reader read the pin after: the log looks behind the pin. The pin is read once per process, so
/// the retry in a new snapshot (`access`, `Attempt::Raced`) checks against that pin, read before
/// the new snapshot began, and a real rollback is still one without another read.
#[test]
fn a_pin_is_read_once_so_a_retry_is_checked_against_the_pin_read_before_it() {
    let alice = Person::new("alice");
    let mut log = Log::new(&alice, "prod");
    log.add(&alice, &Person::new("bob"), Role::Editor);
    let (_dir, earlier) = pinned(&log);
    let reader = reload(&earlier);
    let snapshot = log.entries.clone();
    // Another process appends carol's entry, commits, then saves its pin.
    log.add(&alice, &Person::new("carol"), Role::Viewer);
    let mut writer = reload(&earlier);
    assert!(writer.verify(&mut Source(log.entries.clone())).is_ok());
    writer.record(&log.state);
    assert_eq!(writer.save(), Ok(()));

    assert_eq!(reader.read_count(), 0);
    let raced = reader.verify(&mut Source(snapshot.clone()));
    assert!(
        matches!(raced, Err(AuthorityError::Rollback { pinned: 2, .. })),
        "{raced:?}"
    );
    assert_eq!(reader.read_count(), 1, "the pin was read in this attempt");
    // The retry's snapshot has carol's entry: it passes.
    let retried = reader.verify(&mut Source(log.entries.clone()));
    assert!(retried.is_ok(), "{retried:?}");
    // The store really put back as it was: still a rollback, and no new read to retry on.
    let rolled_back = reader.verify(&mut Source(snapshot));
    assert!(matches!(rolled_back, Err(AuthorityError::Rollback { .. })));
    assert_eq!(reader.read_count(), 1);
}

#[test]
fn concurrent_saves_keep_every_workspace() {
    let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
    let path = dir.path().join(PINS_DIR);
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
            pin_of(&pins, &log.state.workspace_id()).is_some(),
            "{}",
            log.state.slug()
        );
    }
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

/// Writes pins the way ohx kept them before one file per workspace: every workspace in one file
/// at `path` under one MAC keyed by `owner`, compact or pretty-printed (as the oldest ohx did).
fn write_v1(path: &std::path::Path, owner: &SigningKey, logs: &[&Log], pretty: bool) {
    use hmac::{Hmac, Mac};
    #[derive(serde::Serialize)]
    struct OldPin {
        slug: String,
        genesis: String,
        seq: u64,
        head: String,
        state: String,
    }
    let workspaces: std::collections::BTreeMap<String, OldPin> = logs
        .iter()
        .map(|log| {
            let pin = OldPin {
                slug: log.state.slug().into(),
                genesis: log.entries[0].hash().to_hex(),
                seq: log.state.head().seq,
                head: log.state.head().hash.to_hex(),
                state: crate::authority::pins::hex(&log.state.to_bytes()),
            };
            (log.state.workspace_id().to_hex(), pin)
        })
        .collect();
    let compact = serde_json::to_vec(&workspaces).unwrap_or_default();
    let key = owner.derive_secret(b"ohx pins mac v1");
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(key.as_slice()).unwrap_or_else(|_| unreachable!());
    mac.update(&compact);
    let file = serde_json::json!({
        "version": 1,
        "workspaces": workspaces,
        "mac": crate::authority::pins::hex(&mac.finalize().into_bytes()),
    });
    let text = if pretty {
        serde_json::to_string_pretty(&file)
    } else {
        serde_json::to_string(&file)
    };
    assert!(std::fs::write(path, text.unwrap_or_default()).is_ok());
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

/// Two workspaces as the tests below pin them: `prod` with two entries after its genesis, and
/// `staging`.
fn two_logs() -> (Log, Log) {
    (grown().1, Log::new(&Person::new("alice"), "staging"))
}

#[track_caller]
fn assert_pinned_at_head(pins: &Pins, log: &Log) {
    let pin = pin_of(pins, &log.state.workspace_id());
    assert_eq!(
        pin.as_ref().map(|p| (p.slug.as_str(), p.seq, p.head)),
        Some((
            log.state.slug(),
            log.state.head().seq,
            log.state.head().hash
        ))
    );
    // The cached state came along, so the next read verifies only what is new.
    assert_eq!(pin.as_ref().and_then(|p| p.state()), Some(&log.state));
}

#[test]
fn pins_kept_in_one_file_move_into_the_folder_once() {
    let (prod, staging) = two_logs();
    let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
    let folder = dir.path().join(PINS_DIR);
    let old = dir.path().join("known-workspaces.json");
    write_v1(&old, &owner(), &[&prod, &staging], false);
    assert!(std::fs::write(dir.path().join("known-workspaces.json.lock"), "").is_ok());
    let pins = Pins::load(&folder, &owner()).unwrap_or_else(|e| unreachable!("{e}"));
    assert_pinned_at_head(&pins, &prod);
    assert!(
        !old.exists(),
        "the old file is removed once its pins are in the folder"
    );
    assert!(!dir.path().join("known-workspaces.json.lock").exists());
    // A later process reads them from the folder, one file each.
    let again = Pins::load(&folder, &owner()).unwrap_or_else(|e| unreachable!("{e}"));
    assert_pinned_at_head(&again, &prod);
    assert_pinned_at_head(&again, &staging);
    // And the moved pins still catch a rollback.
    assert!(matches!(
        again.verify(&mut Source(prod.entries[..2].to_vec())),
        Err(AuthorityError::Rollback { pinned: 2, .. })
    ));
}

#[test]
fn an_old_pins_file_is_checked_before_it_moves_pretty_printed_or_not() {
    let (prod, staging) = two_logs();
    let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
    let folder = dir.path().join(PINS_DIR);
    let old = dir.path().join("known-workspaces.json");
    // The oldest ohx wrote the file pretty-printed; the MAC covers the compact form.
    write_v1(&old, &owner(), &[&prod, &staging], true);
    let text = std::fs::read_to_string(&old).unwrap_or_default();
    assert!(text.contains('\n'));
    // Changed without the owner's identity: refused, and left where it is for the user to see.
    let moved = text.replace("\"seq\": 2", "\"seq\": 1");
    assert_ne!(moved, text);
    assert!(std::fs::write(&old, &moved).is_ok());
    assert!(matches!(
        Pins::load(&folder, &owner()),
        Err(AuthorityError::PinsForged { path }) if path == old
    ));
    assert!(old.exists() && !folder.exists());
    assert!(std::fs::write(&old, &text).is_ok());
    let pins = Pins::load(&folder, &owner()).unwrap_or_else(|e| unreachable!("{e}"));
    assert_pinned_at_head(&pins, &prod);
    assert_pinned_at_head(&pins, &staging);
}

/// Before pins were kept per identity file, an identity of another name used
/// `known-workspaces.json` too: its pins there are adopted if they are its own, and left alone.
#[test]
fn pins_under_the_old_shared_name_are_adopted_only_by_their_owner() {
    let (prod, staging) = two_logs();
    let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
    let identity = dir.path().join("work.txt");
    let folder = pins_dir_for(&identity);
    assert_eq!(folder, dir.path().join("known-workspaces.work.txt"));
    let shared = dir.path().join("known-workspaces.json");
    let stranger = SigningKey::from_secret_bytes(&[43; 32]);
    write_v1(&shared, &stranger, &[&prod], false);
    let pins = Pins::load(&folder, &owner()).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(pin_of(&pins, &prod.state.workspace_id()).is_none());
    write_v1(&shared, &owner(), &[&prod, &staging], false);
    let pins = Pins::load(&folder, &owner()).unwrap_or_else(|e| unreachable!("{e}"));
    assert_pinned_at_head(&pins, &prod);
    assert!(
        shared.exists(),
        "the shared file may still be another identity's"
    );
    // Once the folder exists, the shared file is no longer read.
    assert!(std::fs::write(&shared, "{not json").is_ok());
    let pins = Pins::load(&folder, &owner()).unwrap_or_else(|e| unreachable!("{e}"));
    assert_pinned_at_head(&pins, &staging);
}

/// The pin of the fixed genesis of `a_fixed_genesis_has_a_fixed_hash_and_fingerprint`, kept by
/// the owner of that genesis's key (XEdDSA vector 1): the MAC key and the file are fixed
/// (docs/SECURITY.md, section 8). The MAC was checked with Python's `hmac` over the pin's bytes.
#[test]
fn a_fixed_pin_has_a_fixed_mac() {
    let (alice, genesis) = fixed_genesis();
    let state = State::from_genesis(&genesis).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(
        crate::authority::pins::hex(alice.derive_secret(b"ohx pin mac v2").as_slice()),
        "53783691e37ddfbc54d25b8add9fb089606b02cfdc68032058a44ae0032dedab"
    );
    let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
    let mut pins =
        Pins::load(&dir.path().join(PINS_DIR), &alice).unwrap_or_else(|e| unreachable!("{e}"));
    pins.record(&state);
    assert_eq!(pins.save(), Ok(()));
    let text = std::fs::read_to_string(
        dir.path()
            .join(PINS_DIR)
            .join(format!("{}.json", "11".repeat(32))),
    )
    .unwrap_or_default();
    let state_hex = crate::authority::pins::hex(&state.to_bytes());
    let hash = "3c0049f714a4c3c72971a51206e8ad145fa38fd28179a15990f1474be4422b6c";
    let expected = format!(
        "{{\"version\":2,\"pin\":{{\"workspace\":\"{}\",\"slug\":\"prod\",\"genesis\":\"{hash}\",\
         \"seq\":0,\"head\":\"{hash}\",\"state\":\"{state_hex}\"}},\"mac\":\"0f2251285d265746de917193e8425dcf34fbc8a1d77d60cb3d85fb7b4c29cf75\"}}\n",
        "11".repeat(32)
    );
    assert_eq!(text, expected);
    assert_eq!(
        state_hex,
        "6f68782d6c6f672d737461746501\
         1111111111111111111111111111111111111111111111111111111111111111\
         0000000470726f64\
         0000000a50726f64756374696f6e\
         00000001\
         ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59\
         3c0049f714a4c3c72971a51206e8ad145fa38fd28179a15990f1474be4422b6c\
         0000000000000000\
         3c0049f714a4c3c72971a51206e8ad145fa38fd28179a15990f1474be4422b6c\
         00000000\
         01\
         00000005616c696365\
         8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a\
         03"
    );
}

// ---------------------------------------------------------------------------------------------
// Remembered record signatures
// ---------------------------------------------------------------------------------------------

fn digest(n: u8) -> Checked {
    [n; 32]
}

#[test]
fn remembered_signatures_are_kept_with_the_pin_and_written_only_when_new() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let id = log.state.workspace_id();
    let path = pin_path(&pins, &log);
    assert!(!pins.remembers(&id, &digest(1)));
    pins.remember(&id, digest(1));
    assert!(pins.remembers(&id, &digest(1)), "this process's own check");
    assert_eq!(pins.save(), Ok(()));
    let again = reload(&pins);
    assert!(again.remembers(&id, &digest(1)));
    assert!(!again.remembers(&id, &digest(2)));
    // The same check noted again changes nothing on disk.
    let inode = |p: &std::path::Path| {
        std::os::unix::fs::MetadataExt::ino(
            &std::fs::metadata(p).unwrap_or_else(|e| unreachable!("{e}")),
        )
    };
    let before = (inode(&path), std::fs::read(&path).unwrap_or_default());
    again.remember(&id, digest(1));
    assert_eq!(again.save(), Ok(()));
    assert_eq!(
        (inode(&path), std::fs::read(&path).unwrap_or_default()),
        before
    );
    // Another workspace's signature is not this one's.
    assert!(!again.remembers(&WorkspaceId([7; 32]), &digest(1)));
}

#[test]
fn a_pin_remembers_the_newest_signatures_only() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let id = log.state.workspace_id();
    for n in 0..70 {
        pins.remember(&id, digest(n));
    }
    assert_eq!(pins.save(), Ok(()));
    let again = reload(&pins);
    assert!((0..6).all(|n| !again.remembers(&id, &digest(n))));
    assert!((6..70).all(|n| again.remembers(&id, &digest(n))));
    let size = std::fs::metadata(pin_path(&pins, &log)).map(|m| m.len());
    assert!(size.as_ref().is_ok_and(|s| *s < 6 * 1024), "{size:?}");
}

#[test]
fn remembered_signatures_and_the_further_head_are_both_kept_across_processes() {
    let (alice, mut log) = grown();
    let (_dir, pins) = pinned(&log);
    let id = log.state.workspace_id();
    // One process moves the pin on and remembers a signature ...
    let mut ahead = reload(&pins);
    log.push(
        &alice,
        Body::KeyRotated {
            version: 2,
            recipient: key_recipient(2),
        },
    );
    ahead.record(&log.state);
    ahead.remember(&id, digest(1));
    // ... while another, still at the older head, remembers one of its own and saves last.
    let behind = reload(&pins);
    behind.remember(&id, digest(2));
    assert_eq!(ahead.save(), Ok(()));
    assert_eq!(behind.save(), Ok(()));
    let after = reload(&pins);
    assert_eq!(pin_of(&after, &id).map(|p| p.seq), Some(3));
    assert!(after.remembers(&id, &digest(1)) && after.remembers(&id, &digest(2)));
    // And a head recorded later keeps what the file remembers.
    let mut later = reload(&pins);
    log.push(
        &alice,
        Body::KeyRotated {
            version: 3,
            recipient: key_recipient(3),
        },
    );
    later.record(&log.state);
    assert_eq!(later.save(), Ok(()));
    let after = reload(&pins);
    assert_eq!(pin_of(&after, &id).map(|p| p.seq), Some(4));
    assert!(after.remembers(&id, &digest(1)) && after.remembers(&id, &digest(2)));
}

#[test]
fn a_signature_written_into_a_pin_without_the_owners_identity_is_refused() {
    let (_, log) = grown();
    let (_dir, pins) = pinned(&log);
    let id = log.state.workspace_id();
    pins.remember(&id, digest(1));
    assert_eq!(pins.save(), Ok(()));
    let path = pin_path(&pins, &log);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let one = crate::authority::pins::hex(&digest(1));
    let planted = text.replace(
        &one,
        &format!("{one}\",\"{}", crate::authority::pins::hex(&digest(9))),
    );
    assert_ne!(planted, text);
    assert!(std::fs::write(&path, &planted).is_ok());
    let again = reload(&pins);
    assert!(!again.remembers(&id, &digest(9)));
    assert!(matches!(
        again.get(&id),
        Err(AuthorityError::PinsForged { path: p }) if p == path
    ));
}
