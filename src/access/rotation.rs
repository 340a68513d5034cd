//! Workspace key rotation: a new key pair, every secret of every record that verifies re-sealed,
//! re-MACed and re-signed, the key wrapped for the key holders of the verified log (never for a
//! row someone planted), and a `key rotated` entry naming the new key. Runs inside the caller's
//! write transaction, so a crash or error leaves the old key and the old ciphertexts exactly as
//! they were. A record that fails its checks never stops a rotation: it is left out and listed
//! (docs/SECURITY.md, "Nothing blocks an admin").

use super::authority_log;
use super::records;
use super::Workspace;
use crate::authority::{sign_record, verify_record, Body, PublicKey, State};
use crate::crypto::{SealingKey, SecretPlace, WorkspaceKey};
use crate::error::{Error, Result};
use crate::store::connections;
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
    let sealing = SealingKey::parse(&new.recipient())?;
    let mut rotated = Rotated {
        new_version: new.version(),
        secrets: 0,
        marked: 0,
        skipped: Vec::new(),
    };
    // A batch of connections at a time, so memory stays flat however many secrets the workspace
    // holds; the SQL stays on this thread, the age work of a batch is spread over every core.
    for batch in connections::ids(tx, ws.row().id)?.chunks(BATCH) {
        let checked = read_batch(ws, &before, old, batch, &mut rotated.skipped)?;
        let sealed = reseal_all(&checked.jobs, ws.row().id, old, &sealing, new.version())?;
        for (job, ciphertext) in checked.jobs.iter().zip(&sealed) {
            connections::replace_ciphertext(
                tx,
                job.connection_id,
                &job.code,
                ciphertext,
                new.version(),
            )?;
        }
        rotated.secrets += checked.jobs.len();
        if mark_for_rotation {
            for &id in &checked.with_secrets {
                connections::set_needs_rotation(tx, id, true)?;
            }
            rotated.marked += checked.with_secrets.len();
        }
        // The new MACs are written on this thread; the signatures are made on every core.
        let mut resealed = Vec::with_capacity(checked.verified.len());
        for &id in &checked.verified {
            if let Some(record) = records::reseal(tx, ws.row().id, &new, id)? {
                resealed.push((id, record));
            }
        }
        let (signing, workspace_id) = (&ws.actor.signing, before.workspace_id());
        let signatures = on_all_cores(&resealed, |(_, record)| {
            Ok(sign_record(signing, &workspace_id, new.version(), record))
        })?;
        for ((id, _), signature) in resealed.iter().zip(&signatures) {
            authority_log::set_record_signature(tx, *id, signature)?;
        }
    }
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

/// One batch, checked: the secrets to move, the connections that have any, the records that
/// verified (to re-seal and re-sign).
struct Checked {
    jobs: Vec<Job>,
    with_secrets: Vec<i64>,
    verified: Vec<i64>,
}

/// Reads and checks one batch of connections. Re-sealing blesses whatever is stored, so only a
/// record that passes its MAC and its signature (against the state before the rotation) is
/// carried over; the others are listed in `skipped`.
fn read_batch(
    ws: &Workspace<'_>,
    before: &State,
    old: &WorkspaceKey,
    batch: &[i64],
    skipped: &mut Vec<String>,
) -> Result<Checked> {
    let tx = ws.tx;
    let mut checked = Checked {
        jobs: Vec::new(),
        with_secrets: Vec::new(),
        verified: Vec::new(),
    };
    // First on this thread, with SQL: each record, its MAC checked, and its stored signature.
    let mut candidates = Vec::with_capacity(batch.len());
    for &id in batch {
        let row = match connections::find_by_id(tx, id) {
            Ok(Some(row)) => row,
            Ok(None) => continue,
            Err(_) => {
                skipped.push(format!("row {id}"));
                continue;
            }
        };
        let Ok(fields) = connections::fields(tx, id) else {
            skipped.push(row.slug);
            continue;
        };
        let record = records::record_bytes(ws.row().id, &row, &fields);
        let signature = match authority_log::record_signature(tx, id) {
            Ok(Some(signature)) if records::verify(tx, ws.slug(), old, &row, &record).is_ok() => {
                signature
            }
            _ => {
                skipped.push(row.slug);
                continue;
            }
        };
        candidates.push((row, fields, record, signature));
    }
    // Then the signatures, against the state before the rotation, on every core.
    let slug = ws.slug();
    let signed_by_an_admin = on_all_cores(&candidates, |(row, _, record, signature)| {
        let label = format!("{slug}/{}", row.slug);
        Ok(verify_record(before, &label, record, signature).is_ok())
    })?;
    for ((row, fields, _, _), good) in candidates.into_iter().zip(signed_by_an_admin) {
        if !good {
            skipped.push(row.slug);
            continue;
        }
        let id = row.id;
        checked.verified.push(id);
        let before_jobs = checked.jobs.len();
        for field in fields.into_iter().filter(|f| f.secret) {
            checked.jobs.push(Job {
                connection_id: id,
                connection_slug: row.slug.clone(),
                code: field.code,
                ciphertext: field.ciphertext.unwrap_or_default(),
                key_version: field.key_version.unwrap_or(0),
            });
        }
        if checked.jobs.len() > before_jobs {
            checked.with_secrets.push(id);
        }
    }
    Ok(checked)
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

/// One secret to move from the old key to the new one.
struct Job {
    connection_id: i64,
    connection_slug: String,
    code: String,
    ciphertext: Vec<u8>,
    key_version: u32,
}

/// Opens every job's secret with the old key and seals it for the new one, on all cores. The
/// result is in job order; any failure fails the whole rotation.
fn reseal_all(
    jobs: &[Job],
    workspace_id: i64,
    old: &WorkspaceKey,
    new: &SealingKey,
    new_version: u32,
) -> Result<Vec<Vec<u8>>> {
    on_all_cores(jobs, |job: &Job| -> Result<Vec<u8>> {
        let mut place = SecretPlace {
            workspace_id,
            connection_id: job.connection_id,
            connection_slug: &job.connection_slug,
            field_code: &job.code,
            key_version: job.key_version,
        };
        let value = old.open_secret(&place, &job.ciphertext)?;
        place.key_version = new_version;
        new.seal(&place, value.expose_secret())
    })
}

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
