//! The log through a real store: what a file writer can do with SQL to the log's rows (delete,
//! move, edit, cut back) and what readers then see.

use rusqlite::params;

use super::*;
use crate::authority::{sign_record, verify_record, Body, Genesis, SigningKey, State, WorkspaceId};
use crate::domain::Role;
use crate::store::{workspaces, Store};

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    workspace_id: i64,
    alice: SigningKey,
    state: State,
    pins: Pins,
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_secret_bytes(&[n; 32])
}

/// A store with workspace `prod`: alice (admin) created it and added bob as a viewer.
fn fixture() -> anyhow::Result<Fixture> {
    let dir = tempfile::tempdir()?;
    let mut store = Store::create(&dir.path().join("ohx.db"))?;
    let alice = key(1);
    let genesis = Entry::genesis(
        &alice,
        1_700_000_000,
        Genesis {
            workspace_id: WorkspaceId::random()?,
            slug: "prod".into(),
            name: "Production".into(),
            creator_name: "alice".into(),
            creator: alice.public_key(),
            key_version: 1,
            key_recipient: key(9).public_key(),
        },
    );
    let state = State::from_genesis(&genesis)?;
    let (added, state) = state.propose(
        &alice,
        1_700_000_001,
        Body::MemberAdded {
            name: "bob".into(),
            recipient: key(2).public_key(),
            role: Role::Viewer,
        },
    )?;
    let workspace_id = store.write(|tx| -> anyhow::Result<i64> {
        let id = workspaces::insert(
            tx,
            "prod",
            "Production",
            "",
            &key(9).public_key().recipient(),
            1,
        )?;
        append(tx, id, &genesis)?;
        append(tx, id, &added)?;
        Ok(id)
    })?;
    let pins = Pins::load(&dir.path().join(crate::authority::PINS_DIR), &key(2))?;
    Ok(Fixture {
        _dir: dir,
        store,
        workspace_id,
        alice,
        state,
        pins,
    })
}

fn read(f: &Fixture) -> anyhow::Result<Verified> {
    verify::<anyhow::Error>(&f.store.db(), f.workspace_id, &f.pins)
}

/// The check that failed: the error, or the entry rejected after the valid part of the log.
fn authority_error(outcome: anyhow::Result<Verified>) -> Option<AuthorityError> {
    match outcome {
        Ok(verified) => verified.rejected.map(|r| r.error),
        Err(e) => e.downcast::<AuthorityError>().ok(),
    }
}

#[test]
fn a_log_stored_and_read_back_verifies_and_is_pinned() -> anyhow::Result<()> {
    let mut f = fixture()?;
    let seen = read(&f)?;
    assert!(seen.first_sight && seen.advanced);
    assert_eq!(seen.state, f.state);
    f.pins.record(&seen.state);
    f.pins.save()?;
    let again = read(&f)?;
    assert!(!again.first_sight && !again.advanced);
    Ok(())
}

/// On first sight the entries before the gap are used, and the gap is reported.
#[test]
fn a_row_deleted_from_the_middle_of_the_log_is_refused() -> anyhow::Result<()> {
    let f = fixture()?;
    let (entry, _) = f.state.propose(
        &f.alice,
        0,
        Body::RoleChanged {
            recipient: key(2).public_key(),
            role: Role::Editor,
        },
    )?;
    append(&f.store.db(), f.workspace_id, &entry)?;
    f.store.sqlite()?.execute(
        "DELETE FROM authority_log WHERE workspace_id = ?1 AND seq = 1",
        [f.workspace_id],
    )?;
    assert_eq!(
        authority_error(read(&f)),
        Some(AuthorityError::OutOfSequence {
            expected: 1,
            found: 2
        })
    );
    Ok(())
}

#[test]
fn an_entry_moved_to_another_number_is_refused() -> anyhow::Result<()> {
    let f = fixture()?;
    f.store.sqlite()?.execute(
        "UPDATE authority_log SET seq = 5 WHERE workspace_id = ?1 AND seq = 1",
        [f.workspace_id],
    )?;
    assert_eq!(
        authority_error(read(&f)),
        Some(AuthorityError::OutOfSequence {
            expected: 5,
            found: 1
        })
    );
    Ok(())
}

/// Bob (a viewer who can write the file) makes himself an admin in the entry that added him.
#[test]
fn an_entry_edited_with_sql_is_refused() -> anyhow::Result<()> {
    let f = fixture()?;
    let bytes = rows::entry(&f.store.db(), f.workspace_id, 1)?.unwrap_or_default();
    let mut promoted = bytes.clone();
    // The role byte sits just before the 64-byte signature.
    let at = promoted.len() - 65;
    assert_eq!(promoted[at], 1, "the viewer role code");
    promoted[at] = 3;
    f.store.sqlite()?.execute(
        "UPDATE authority_log SET entry = ?2 WHERE workspace_id = ?1 AND seq = 1",
        params![f.workspace_id, promoted],
    )?;
    assert_eq!(
        authority_error(read(&f)),
        Some(AuthorityError::BadSignature { seq: 1 })
    );
    Ok(())
}

/// A copy of the store from before bob's removal put back: rows after entry 1 are gone.
#[test]
fn a_log_cut_back_behind_the_pin_is_a_rollback() -> anyhow::Result<()> {
    let mut f = fixture()?;
    let (removal, _) = f.state.propose(
        &f.alice,
        0,
        Body::MemberRemoved {
            recipient: key(2).public_key(),
        },
    )?;
    append(&f.store.db(), f.workspace_id, &removal)?;
    let seen = read(&f)?;
    f.pins.record(&seen.state);
    f.pins.save()?;
    f.store.sqlite()?.execute(
        "DELETE FROM authority_log WHERE workspace_id = ?1 AND seq >= 2",
        [f.workspace_id],
    )?;
    assert_eq!(
        authority_error(read(&f)),
        Some(AuthorityError::Rollback {
            workspace: "prod".into(),
            pinned: 2
        })
    );
    Ok(())
}

/// One junk row after the head (here: bytes that are no entry) is reported, the valid log before
/// it is used, and the admin's next entry takes its place: it never blocks anyone.
#[test]
fn a_junk_row_is_reported_and_replaced_by_the_next_entry() -> anyhow::Result<()> {
    let f = fixture()?;
    rows::append(&f.store.db(), f.workspace_id, 2, b"junk")?;
    let seen = read(&f)?;
    assert_eq!(seen.state, f.state);
    assert!(matches!(
        seen.rejected,
        Some(crate::authority::Rejected {
            seq: 2,
            error: AuthorityError::Malformed { .. }
        })
    ));
    let (entry, next) = seen.state.propose(
        &f.alice,
        0,
        Body::WorkspaceRenamed {
            slug: "p".into(),
            name: "P".into(),
        },
    )?;
    append(&f.store.db(), f.workspace_id, &entry)?;
    let again = read(&f)?;
    assert_eq!((again.state, again.rejected), (next, None));
    Ok(())
}

#[test]
fn record_signatures_are_stored_and_read_back() -> anyhow::Result<()> {
    let f = fixture()?;
    f.store.sqlite()?.execute(
        "INSERT INTO connections (workspace_id, slug, name, type) VALUES (?1, 'db', 'DB', 'postgresql')",
        [f.workspace_id],
    )?;
    let id = f.store.sqlite()?.last_insert_rowid();
    assert_eq!(record_signature(&f.store.db(), id)?, None);
    let record = b"canonical record bytes";
    let signature = sign_record(&f.alice, &f.state.workspace_id(), 1, record);
    set_record_signature(&f.store.db(), id, &signature)?;
    let stored = record_signature(&f.store.db(), id)?;
    assert_eq!(stored, Some(signature));
    assert!(stored.is_some_and(|s| verify_record(&f.state, "db", record, &s).is_ok()));
    // A junk value in the column is no signature at all.
    f.store.sqlite()?.execute(
        "UPDATE connections SET signature = x'00' WHERE id = ?1",
        [id],
    )?;
    assert_eq!(record_signature(&f.store.db(), id)?, None);
    Ok(())
}
