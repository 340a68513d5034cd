//! Workspace key rotation: a new key pair, every secret re-encrypted, the key re-wrapped for the
//! remaining editors and admins. Runs inside the caller's write transaction, so a crash or error
//! leaves the old key and the old ciphertexts exactly as they were.

use rusqlite::Connection;

use super::records;
use crate::crypto::{SealingKey, SecretPlace, WorkspaceKey};
use crate::error::{Error, Result};
use crate::store::connections;
use crate::store::members::{self, WrappedKey};
use crate::store::workspaces::{self, Workspace};

pub struct Rotated {
    pub new_version: u32,
    pub secrets: usize,
    /// Connections marked "rotate at source" (0 unless asked for).
    pub marked: usize,
}

/// Replaces the workspace key. `old` must be the current key; `mark_for_rotation` marks every
/// connection with a secret, for when someone who could read the secrets has lost access.
pub(super) fn rotate(
    tx: &Connection,
    workspace: &Workspace,
    old: &WorkspaceKey,
    mark_for_rotation: bool,
) -> Result<Rotated> {
    let new = WorkspaceKey::generate(old.version() + 1);
    let sealing = SealingKey::parse(&new.recipient())?;
    let mut rotated = Rotated {
        new_version: new.version(),
        secrets: 0,
        marked: 0,
    };
    // A batch of connections at a time, so memory stays flat however many secrets the workspace
    // holds; the SQL stays on this thread, the age work of a batch is spread over every core.
    for batch in connections::ids(tx, workspace.id)?.chunks(BATCH) {
        let (jobs, with_secrets) = read_batch(tx, workspace, old, batch)?;
        let sealed = reseal_all(&jobs, workspace.id, old, &sealing, new.version())?;
        for (job, ciphertext) in jobs.iter().zip(&sealed) {
            connections::replace_ciphertext(
                tx,
                job.connection_id,
                &job.code,
                ciphertext,
                new.version(),
            )?;
        }
        rotated.secrets += jobs.len();
        if mark_for_rotation {
            for &id in &with_secrets {
                connections::set_needs_rotation(tx, id, true)?;
            }
            rotated.marked += with_secrets.len();
        }
        // The MAC key derives from the workspace key, so every record is sealed again.
        for &id in batch {
            records::reseal(tx, workspace.id, &new, id)?;
        }
    }
    rewrap_for_key_holders(tx, workspace, &new)?;
    workspaces::set_key(tx, workspace.id, &new.recipient(), new.version())?;
    Ok(rotated)
}

/// Reads and checks one batch of connections: the secrets to move, and which connections have
/// any. Re-sealing blesses whatever is stored, so every record must pass its check first.
fn read_batch(
    tx: &Connection,
    workspace: &Workspace,
    old: &WorkspaceKey,
    batch: &[i64],
) -> Result<(Vec<Job>, Vec<i64>)> {
    let mut jobs = Vec::new();
    let mut with_secrets = Vec::new();
    for &id in batch {
        let Some(row) = connections::find_by_id(tx, id)? else {
            continue;
        };
        let fields = connections::fields(tx, id)?;
        let record = records::record_bytes(workspace.id, &row, &fields);
        records::verify(tx, &workspace.slug, old, &row, &record)?;
        let before = jobs.len();
        for field in fields.into_iter().filter(|f| f.secret) {
            jobs.push(Job {
                connection_id: id,
                connection_slug: row.slug.clone(),
                code: field.code,
                ciphertext: field.ciphertext.unwrap_or_default(),
                key_version: field.key_version.unwrap_or(0),
            });
        }
        if jobs.len() > before {
            with_secrets.push(id);
        }
    }
    Ok((jobs, with_secrets))
}

/// Wraps the new key for every member whose role holds it.
fn rewrap_for_key_holders(
    tx: &Connection,
    workspace: &Workspace,
    new: &WorkspaceKey,
) -> Result<()> {
    for member in members::list(tx, workspace.id)? {
        if member.role.holds_key() {
            let wrapped = WrappedKey {
                bytes: new.wrap_for(workspace.id, &member.recipient)?,
                version: new.version(),
            };
            members::upsert(
                tx,
                workspace.id,
                member.user_id,
                member.role,
                Some(&wrapped),
            )?;
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
    let reseal = |job: &Job| -> Result<Vec<u8>> {
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
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if workers < 2 || jobs.len() < 16 {
        return jobs.iter().map(reseal).collect();
    }
    let per_worker = jobs.len().div_ceil(workers);
    let results: Vec<std::thread::Result<Result<Vec<Vec<u8>>>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(per_worker)
            .map(|part| scope.spawn(move || part.iter().map(reseal).collect::<Result<Vec<_>, _>>()))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut sealed = Vec::with_capacity(jobs.len());
    for result in results {
        match result {
            Ok(part) => sealed.extend(part?),
            Err(_) => return Err(Error::RotationWorkerLost),
        }
    }
    Ok(sealed)
}
