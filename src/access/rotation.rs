//! Workspace key rotation: a new key pair, every secret of every record that verifies re-sealed,
//! re-MACed and re-signed, the key wrapped for the key holders of the verified log (never for a
//! row someone planted), and a `key rotated` entry naming the new key. Runs inside the caller's
//! write transaction, so a crash or error leaves the old key and the old ciphertexts exactly as
//! they were. A record that fails its checks never stops a rotation: it is left out and listed
//! (docs/SECURITY.md, "Nothing blocks an admin").

use super::authority_log;
use super::records;
use super::Workspace;
use crate::authority::{
    sign_record, verify_record, Body, PublicKey, RecordSignature, SigningKey, State, WorkspaceId,
};
use crate::crypto::{SealingKey, SecretPlace, WorkspaceKey};
use crate::error::{Error, Result};
use crate::store::connections::{self, ConnectionRow, FieldRow};
use crate::store::engine::Db;
use crate::store::members::{self, WrappedKey};
use crate::store::users;
use crate::store::workspaces;

pub struct Rotated {
    pub new_version: u32,
    pub secrets: usize,
    /// Connections marked "rotate at source" (0 unless asked for).
    pub marked: usize,
    /// Connections whose records failed their checks: left out, never used.
    pub skipped: Vec<String>,
}

/// Replaces the workspace key. `old` must be the current key; `mark_for_rotation` marks every
/// connection with a secret, for when someone who could read the secrets has lost access;
/// `leaving` is a key holder who must not receive the new key (being removed or demoted).
pub(super) fn rotate(
    ws: &Workspace<'_>,
    old: &WorkspaceKey,
    mark_for_rotation: bool,
    leaving: Option<&PublicKey>,
) -> Result<Rotated> {
    let tx = ws.tx;
    let before = ws.signed_state()?;
    let new = WorkspaceKey::generate(before.key_version().max(old.version()) + 1);
    let move_record = MoveRecord {
        workspace_row: ws.row().id,
        workspace_slug: ws.slug(),
        workspace_id: before.workspace_id(),
        before: &before,
        old,
        new: &new,
        sealing: SealingKey::parse(&new.recipient())?,
        signing: &ws.actor.signing,
        mark_for_rotation,
    };
    let mut rotated = Rotated {
        new_version: new.version(),
        secrets: 0,
        marked: 0,
        skipped: Vec::new(),
    };
    // A batch of connections at a time, so memory stays flat however many secrets the workspace
    // holds. The SQL stays on this thread (the transaction is not shared); each batch's checks,
    // age work and signatures run on every core while this thread writes the batch before it and
    // reads the one after it.
    let ids = connections::ids(tx, ws.row().id)?;
    let mut batches = ids.chunks(BATCH);
    std::thread::scope(|scope| -> Result<()> {
        let mut next = batches.next().map(|b| read_batch(tx, b)).transpose()?;
        let mut in_flight = None;
        loop {
            let started = next.take().map(|stored| {
                let move_record = &move_record;
                scope.spawn(move || on_all_cores(&stored, |s| move_record.carry_over(s)))
            });
            if let Some(previous) = in_flight.take() {
                write_batch(tx, finish(previous)?, &mut rotated)?;
            }
            next = batches.next().map(|b| read_batch(tx, b)).transpose()?;
            match started {
                Some(handle) => in_flight = Some(handle),
                None => return Ok(()),
            }
        }
    })?;
    rewrap_for_key_holders(ws, &before, &new, leaving)?;
    let recipient = PublicKey::from_recipient(&new.recipient())
        .map_err(|_| Error::BadRecipient(new.recipient()))?;
    ws.log(Body::KeyRotated {
        version: new.version(),
        recipient,
    })?;
    workspaces::set_key(tx, ws.row().id, &new.recipient(), new.version())?;
    Ok(rotated)
}

/// One connection as stored: its row, fields, MAC and signature (or where reading it failed).
enum Stored {
    Read(Box<StoredRecord>),
    /// Unreadable, or without a signature: left out, named by its identifier (or row id).
    Unusable(String),
}

struct StoredRecord {
    row: ConnectionRow,
    fields: Vec<FieldRow>,
    mac: Vec<u8>,
    signature: RecordSignature,
}

/// What rotation makes of one connection.
enum Outcome {
    Moved(Moved),
    Skipped(String),
}

/// A record carried over to the new key: its fields as they now are (the secrets sealed for the
/// new key), MAC and signature.
struct Moved {
    id: i64,
    fields: Vec<FieldRow>,
    marked: bool,
    mac: Vec<u8>,
    signature: RecordSignature,
}

/// Reads one batch of connections, on the transaction's thread.
fn read_batch(tx: &Db<'_>, batch: &[i64]) -> Result<Vec<Stored>> {
    let mut stored = Vec::with_capacity(batch.len());
    for &id in batch {
        let row = match connections::find_by_id(tx, id) {
            Ok(Some(row)) => row,
            Ok(None) => continue,
            Err(_) => {
                stored.push(Stored::Unusable(format!("row {id}")));
                continue;
            }
        };
        let read = connections::fields(tx, id).and_then(|fields| {
            let mac = connections::mac(tx, id)?.unwrap_or_default();
            Ok((fields, mac, authority_log::record_signature(tx, id)?))
        });
        stored.push(match read {
            Ok((fields, mac, Some(signature))) => Stored::Read(Box::new(StoredRecord {
                row,
                fields,
                mac,
                signature,
            })),
            _ => Stored::Unusable(row.slug),
        });
    }
    Ok(stored)
}

/// Writes one batch's outcomes, on the transaction's thread.
fn write_batch(tx: &Db<'_>, outcomes: Vec<Outcome>, rotated: &mut Rotated) -> Result<()> {
    for outcome in outcomes {
        let moved = match outcome {
            Outcome::Moved(moved) => moved,
            Outcome::Skipped(slug) => {
                rotated.skipped.push(slug);
                continue;
            }
        };
        for field in moved.fields.iter().filter(|f| f.secret) {
            let ciphertext = field.ciphertext.as_deref().unwrap_or_default();
            connections::replace_ciphertext(
                tx,
                moved.id,
                &field.code,
                ciphertext,
                rotated.new_version,
            )?;
            rotated.secrets += 1;
        }
        if moved.marked {
            connections::set_needs_rotation(tx, moved.id, true)?;
            rotated.marked += 1;
        }
        connections::set_mac(tx, moved.id, &moved.mac)?;
        authority_log::set_record_signature(tx, moved.id, &moved.signature)?;
    }
    Ok(())
}

/// The outcomes of a batch handed to the workers.
fn finish(handle: std::thread::ScopedJoinHandle<'_, Result<Vec<Outcome>>>) -> Result<Vec<Outcome>> {
    handle.join().map_err(|_| Error::RotationWorkerLost)?
}

/// Everything a worker needs to carry one record over to the new key.
struct MoveRecord<'a> {
    workspace_row: i64,
    workspace_slug: &'a str,
    workspace_id: WorkspaceId,
    /// The verified state before the rotation: whose signatures count.
    before: &'a State,
    old: &'a WorkspaceKey,
    new: &'a WorkspaceKey,
    sealing: SealingKey,
    signing: &'a SigningKey,
    mark_for_rotation: bool,
}

impl MoveRecord<'_> {
    /// Re-sealing blesses whatever is stored, so only a record that passes its MAC and its
    /// signature (against the state before the rotation) is carried over: every secret opened
    /// with the old key and sealed for the new one, then the new record MACed and signed. Any
    /// other record is skipped. A secret that will not open fails the whole rotation.
    fn carry_over(&self, stored: &Stored) -> Result<Outcome> {
        let StoredRecord {
            row,
            fields,
            mac,
            signature,
        } = match stored {
            Stored::Read(record) => record.as_ref(),
            Stored::Unusable(name) => return Ok(Outcome::Skipped(name.clone())),
        };
        let record = records::record_bytes(self.workspace_row, row, fields);
        let label = format!("{}/{}", self.workspace_slug, row.slug);
        if !self.old.check_record(&record, mac)
            || verify_record(self.before, &label, &record, signature).is_err()
        {
            return Ok(Outcome::Skipped(row.slug.clone()));
        }
        let new_version = self.new.version();
        let mut moved_fields = fields.clone();
        for field in moved_fields.iter_mut().filter(|f| f.secret) {
            let mut place = SecretPlace {
                workspace_id: self.workspace_row,
                connection_id: row.id,
                connection_slug: &row.slug,
                field_code: &field.code,
                key_version: field.key_version.unwrap_or(0),
            };
            let value = self
                .old
                .open_secret(&place, field.ciphertext.as_deref().unwrap_or_default())?;
            place.key_version = new_version;
            field.ciphertext = Some(self.sealing.seal(&place, value.expose_secret())?);
            field.key_version = Some(new_version);
        }
        let marked = self.mark_for_rotation && moved_fields.iter().any(|f| f.secret);
        let mut moved_row = row.clone();
        moved_row.needs_rotation |= marked;
        // The record as the writes will leave it, MACed with the new key and signed for it.
        let record = records::record_bytes(self.workspace_row, &moved_row, &moved_fields);
        Ok(Outcome::Moved(Moved {
            id: row.id,
            marked,
            mac: self.new.seal_record(&record),
            signature: sign_record(self.signing, &self.workspace_id, new_version, &record),
            fields: moved_fields,
        }))
    }
}

/// Wraps the new key for the key holders of the verified state (but `leaving`), and takes the key
/// away from every other membership row, whatever its role column says.
fn rewrap_for_key_holders(
    ws: &Workspace<'_>,
    state: &State,
    new: &WorkspaceKey,
    leaving: Option<&PublicKey>,
) -> Result<()> {
    let (tx, id) = (ws.tx, ws.row().id);
    for row in members::list(tx, id)? {
        let member = PublicKey::from_recipient(&row.recipient)
            .ok()
            .and_then(|public| state.member(&public).map(|m| (public, m.role)));
        match member {
            Some((public, role)) if role.holds_key() && Some(&public) != leaving => {
                let wrapped = WrappedKey {
                    bytes: new.wrap_for(id, &row.recipient)?,
                    version: new.version(),
                };
                members::upsert(tx, id, row.user_id, role, Some(&wrapped))?;
            }
            Some((_, role)) if !role.holds_key() => {
                members::upsert(tx, id, row.user_id, role, None)?
            }
            Some(_) => {}
            None => members::remove(tx, id, row.user_id)?,
        }
    }
    // A key holder of the log whose row someone deleted gets a row again.
    for member in state.key_holders() {
        let recipient = member.recipient.recipient();
        if Some(&member.recipient) == leaving {
            continue;
        }
        if let Some(user) = users::find_by_recipient(tx, &recipient)? {
            if members::find(tx, id, &user.name)?.is_none() {
                let wrapped = WrappedKey {
                    bytes: new.wrap_for(id, &recipient)?,
                    version: new.version(),
                };
                members::upsert(tx, id, user.id, member.role, Some(&wrapped))?;
            }
        }
    }
    Ok(())
}

/// Connections read, checked and written per round of rotation.
const BATCH: usize = 256;

/// `work` applied to every item, spread over every core (the SQL stays on the caller's thread;
/// this is for the age and signature work). The results are in item order; any failure fails the
/// whole rotation.
fn on_all_cores<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if workers < 2 || items.len() < 16 {
        return items.iter().map(&work).collect();
    }
    let per_worker = items.len().div_ceil(workers);
    let work = &work;
    let results: Vec<std::thread::Result<Result<Vec<R>>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per_worker)
            .map(|part| scope.spawn(move || part.iter().map(work).collect::<Result<Vec<_>, _>>()))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut all = Vec::with_capacity(items.len());
    for result in results {
        match result {
            Ok(part) => all.extend(part?),
            Err(_) => return Err(Error::RotationWorkerLost),
        }
    }
    Ok(all)
}
