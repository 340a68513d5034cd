//! A workspace's authority inside one transaction: the state its verified log defines (members,
//! roles, recipients, the workspace key), the entries an admin's change appends to it, and the
//! signatures on connection records (docs/SECURITY.md, "Signed authority").
//!
//! A workspace from before signed authority has no log: readers use its rows and are warned, and
//! the first admin change signs its current state as a genesis (and says so).

use crate::store::engine::Db;

use super::authority_log;
use super::records;
use super::Workspace;
use crate::authority::{
    history, record_digest, sign_current_state, sign_record, verify_record,
    verify_record_remembered, Body, Checked, Entry, History, Pins, PublicKey, RecordSignature,
    Rejected, State, Unsigned,
};
use crate::error::{AuthorityError, Error, Result};
use crate::store::authority_log as rows;
use crate::store::connections::{self, ConnectionRow};
use crate::store::members;
use crate::store::workspaces::Workspace as WorkspaceRow;

/// Where a workspace's authority comes from in this transaction.
#[allow(clippy::large_enum_variant)] // one per workspace entered, never in bulk
pub(super) enum Authority {
    /// The verified log; `changed` when it moved past the user's pin (or was extended here).
    Signed { state: State, changed: bool },
    /// No log yet: the rows, with a warning.
    Unsigned,
}

/// Something to tell the user after the transaction.
pub enum Note {
    Notice(String),
    Warning(String),
}

impl Authority {
    /// Verifies the log of `row` (asked for as `slug`) through the user's pins.
    pub(super) fn read(
        tx: &Db<'_>,
        pins: &Pins,
        row: &WorkspaceRow,
        slug: &str,
        notes: &mut Vec<Note>,
    ) -> Result<(Authority, Option<Rejected>)> {
        if !rows::is_signed(tx, row.id)? {
            // A workspace this user has seen signed cannot lose its log: someone removed it.
            if pins.knows_slug(slug) {
                return Err(Error::LogRemoved(slug.into()));
            }
            notes.push(Note::Warning(format!(
                "workspace '{slug}' is not signed yet, so its members and key are not verified; an admin's next change signs it"
            )));
            return Ok((Authority::Unsigned, None));
        }
        let verified = authority_log::verify::<Error>(tx, row.id, pins)?;
        if verified.state.slug() != slug {
            return Err(Error::SlugMismatch {
                asked: slug.into(),
                signed: verified.state.slug().into(),
            });
        }
        if let Some(rejected) = &verified.rejected {
            notes.push(Note::Warning(format!(
                "entry {} of the log of '{slug}' fails its checks and is ignored ({}); an admin's next change replaces it",
                rejected.seq, rejected.error
            )));
        }
        let authority = Authority::Signed {
            state: verified.state,
            changed: verified.advanced,
        };
        Ok((authority, verified.rejected))
    }
}

/// Seconds since the epoch, for log entries (the signer's clock).
pub(super) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Workspace<'_> {
    /// Appends an admin's signed change to the log (signing the workspace first if it has no
    /// log yet). The state's rules decide whether the change is allowed.
    pub(super) fn log(&self, body: Body) -> Result<()> {
        let state = self.signed_state()?;
        let (entry, next) = state.propose(&self.actor.signing, now(), body)?;
        authority_log::append(self.tx, self.row().id, &entry)?;
        *self.authority.borrow_mut() = Authority::Signed {
            state: next,
            changed: true,
        };
        Ok(())
    }

    /// The verified state, after signing the workspace's current rows if it had no log.
    pub(super) fn signed_state(&self) -> Result<State> {
        if let Authority::Signed { state, .. } = &*self.authority.borrow() {
            return Ok(state.clone());
        }
        let state = self.sign_rows()?;
        *self.authority.borrow_mut() = Authority::Signed {
            state: state.clone(),
            changed: true,
        };
        Ok(state)
    }

    /// Upgrade: turns an unsigned workspace's rows into a genesis by this admin plus one
    /// `member added` entry per other member, and tells the user whom they vouched for.
    fn sign_rows(&self) -> Result<State> {
        let me = self.actor.user()?;
        let rows = members::list(self.tx, self.row().id)?;
        let mut others = Vec::new();
        for member in rows.iter().filter(|m| m.user_id != me.id) {
            let recipient = PublicKey::from_recipient(&member.recipient)
                .map_err(|_| Error::BadRecipient(member.recipient.clone()))?;
            others.push((member.name.as_str(), recipient, member.role));
        }
        let key_recipient = PublicKey::from_recipient(&self.row().recipient)
            .map_err(|_| Error::BadRecipient(self.row().recipient.clone()))?;
        let unsigned = Unsigned {
            slug: &self.row().slug,
            name: &self.row().name,
            key_version: self.row().key_version,
            key_recipient,
            others,
        };
        let (entries, state) = sign_current_state(&self.actor.signing, &me.name, now(), &unsigned)?;
        for entry in &entries {
            authority_log::append(self.tx, self.row().id, entry)?;
        }
        self.sign_existing_records(&state)?;
        let names: Vec<&str> = rows.iter().map(|m| m.name.as_str()).collect();
        self.notes.borrow_mut().push(Note::Notice(format!(
            "Signed workspace '{}' for the first time, vouching for its members as they stand: {} (fingerprint {})",
            self.slug(),
            names.join(", "),
            state.fingerprint()
        )));
        Ok(state)
    }

    /// Signs, for a workspace being signed for the first time, every record that passes its MAC
    /// (a record that does not is left unsigned, and so unusable, as it was already).
    fn sign_existing_records(&self, state: &State) -> Result<()> {
        let key = self.key()?;
        for id in connections::ids(self.tx, self.row().id)? {
            let Some(row) = connections::find_by_id(self.tx, id)? else {
                continue;
            };
            let fields = connections::fields(self.tx, id)?;
            let record = records::record_bytes(self.row().id, &row, &fields);
            if records::verify(self.tx, self.slug(), key, &row, &record).is_ok() {
                self.sign_record_at(id, &record, state, state.key_version())?;
            }
        }
        Ok(())
    }

    /// Signs a connection record (its canonical bytes) for the current key version.
    pub(super) fn sign_record(&self, connection_id: i64, record: &[u8]) -> Result<()> {
        let state = self.signed_state()?;
        self.sign_record_at(connection_id, record, &state, state.key_version())
    }

    /// Signs a record for `state`'s workspace at `key_version` (a rotation signs for the new one).
    pub(super) fn sign_record_at(
        &self,
        connection_id: i64,
        record: &[u8],
        state: &State,
        key_version: u32,
    ) -> Result<()> {
        let signature = sign_record(
            &self.actor.signing,
            &state.workspace_id(),
            key_version,
            record,
        );
        authority_log::set_record_signature(self.tx, connection_id, &signature)
    }

    /// Checks a record's signature: by a current admin, for this workspace and key version.
    /// Needs no secret, so viewers check too. Unsigned workspaces have only the record MAC. A
    /// signature the user's pins remember as verified is not verified again (`Pins::remembers`);
    /// one verified here is remembered once the transaction is over.
    pub(super) fn check_record_signature(&self, row: &ConnectionRow, record: &[u8]) -> Result<()> {
        self.check_signature(row, record, Check::Remembered)
    }

    /// [`Workspace::check_record_signature`] with every signature verified again, for `workspace
    /// verify`: it checks the store, not what the user's ohx checked before.
    pub(super) fn check_record_signature_fully(
        &self,
        row: &ConnectionRow,
        record: &[u8],
    ) -> Result<()> {
        self.check_signature(row, record, Check::Full)
    }

    fn check_signature(&self, row: &ConnectionRow, record: &[u8], check: Check) -> Result<()> {
        let authority = self.authority.borrow();
        match &*authority {
            Authority::Signed { state, .. } => {
                let label = format!("{}/{}", self.slug(), row.slug);
                let signature = self.stored_signature(row, &label)?;
                let id = state.workspace_id();
                let remembered =
                    |c: &Checked| matches!(check, Check::Remembered) && self.pins.remembers(&id, c);
                let verified =
                    verify_record_remembered(state, &label, record, &signature, remembered)?;
                if let Some(checked) = verified {
                    self.pins.remember(&id, checked);
                }
                Ok(())
            }
            Authority::Unsigned => Ok(()),
        }
    }

    /// Checks a record's signature against `state`.
    pub(super) fn check_record_signature_in(
        &self,
        state: &State,
        row: &ConnectionRow,
        record: &[u8],
    ) -> Result<()> {
        let label = format!("{}/{}", self.slug(), row.slug);
        let signature = self.stored_signature(row, &label)?;
        Ok(verify_record(state, &label, record, &signature)?)
    }

    /// The signature stored with connection `row`; a record without one is not genuine.
    fn stored_signature(&self, row: &ConnectionRow, label: &str) -> Result<RecordSignature> {
        Ok(
            authority_log::record_signature(self.tx, row.id)?.ok_or_else(|| {
                AuthorityError::BadRecord {
                    connection: label.into(),
                }
            })?,
        )
    }

    /// The audit entry for a connection's create, edit or delete.
    pub(super) fn log_connection(
        &self,
        kind: ConnectionChange,
        identifier: &str,
        record: &[u8],
    ) -> Result<()> {
        let identifier = identifier.to_string();
        let digest = record_digest(record);
        self.log(match kind {
            ConnectionChange::Created => Body::ConnectionCreated { identifier, digest },
            ConnectionChange::Edited => Body::ConnectionEdited { identifier, digest },
            ConnectionChange::Deleted => Body::ConnectionDeleted { identifier, digest },
        })
    }

    /// The verified state, when the workspace is signed.
    pub fn state(&self) -> Option<State> {
        match &*self.authority.borrow() {
            Authority::Signed { state, .. } => Some(state.clone()),
            Authority::Unsigned => None,
        }
    }

    /// The short fingerprint of the workspace's genesis, which members compare out of band.
    pub fn fingerprint(&self) -> Option<String> {
        self.state().map(|s| s.fingerprint())
    }

    /// The verified history, for `ohx log` and `workspace verify`.
    pub fn history(&self) -> Result<Option<History>> {
        let Some(state) = self.state() else {
            return Ok(None);
        };
        let mut entries = Vec::new();
        for (seq, bytes) in rows::entries_from(self.tx, self.row().id, 0)? {
            if seq > state.head().seq {
                break;
            }
            entries.push(Entry::from_bytes(&bytes)?);
        }
        Ok(Some(history(&entries)?))
    }

    /// The state to pin after the transaction, when it moved on.
    pub(super) fn pin_update(&self) -> Option<State> {
        match &*self.authority.borrow() {
            Authority::Signed {
                state,
                changed: true,
            } => Some(state.clone()),
            _ => None,
        }
    }
}

/// Whether a record signature this user's ohx verified before is trusted as verified.
#[derive(Clone, Copy)]
enum Check {
    Remembered,
    Full,
}

/// Which audit entry a connection change gets.
pub(super) enum ConnectionChange {
    Created,
    Edited,
    Deleted,
}
