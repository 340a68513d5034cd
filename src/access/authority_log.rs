//! The glue between the store's log rows and src/authority: a workspace's log read through the
//! user's pins, signed entries appended, and connection record signatures stored and read back.
//!
//! Generic over the caller's error type (any `E` that a store error and an authority error both
//! turn into), so the catalogue decides how each check failure is reported.

use std::marker::PhantomData;

use crate::authority::{AuthorityError, Entry, LogSource, Pins, RecordSignature, Verified};
use crate::error::Error;
use crate::store::authority_log as rows;
use crate::store::engine::Db;

/// One workspace's log as stored, for [`Pins::verify`].
pub struct StoreLog<'c, E> {
    conn: &'c Db<'c>,
    workspace_id: i64,
    error: PhantomData<E>,
}

impl<'c, E> StoreLog<'c, E> {
    pub fn new(conn: &'c Db<'c>, workspace_id: i64) -> StoreLog<'c, E> {
        StoreLog {
            conn,
            workspace_id,
            error: PhantomData,
        }
    }
}

/// Decodes a row; an entry stored under another number than its own was moved by someone.
fn decode(row_seq: u64, bytes: &[u8]) -> Result<Entry, AuthorityError> {
    let entry = Entry::from_bytes(bytes)?;
    if entry.seq != row_seq {
        return Err(AuthorityError::OutOfSequence {
            expected: row_seq,
            found: entry.seq,
        });
    }
    Ok(entry)
}

impl<E: From<Error> + From<AuthorityError>> LogSource for StoreLog<'_, E> {
    type Error = E;

    fn entry(&mut self, seq: u64) -> Result<Option<Entry>, E> {
        match rows::entry(self.conn, self.workspace_id, seq)? {
            Some(bytes) => Ok(Some(decode(seq, &bytes)?)),
            None => Ok(None),
        }
    }

    fn entries_from(&mut self, from: u64) -> Result<Vec<Result<Entry, AuthorityError>>, E> {
        Ok(rows::entries_from(self.conn, self.workspace_id, from)?
            .into_iter()
            .map(|(seq, bytes)| decode(seq, &bytes))
            .collect())
    }
}

/// Verifies a workspace's log against the user's pins (see [`Pins::verify`]); the caller pins the
/// result (`Pins::record`, `Pins::save`) when `advanced`, after its transaction.
pub fn verify<E: From<Error> + From<AuthorityError>>(
    conn: &Db<'_>,
    workspace_id: i64,
    pins: &Pins,
) -> Result<Verified, E> {
    pins.verify(&mut StoreLog::<E>::new(conn, workspace_id))
}

/// Stores an entry made by `State::propose`, inside the caller's write transaction. Rows after
/// the verified head that failed verification (`Verified::rejected`) are removed first: the new
/// entry takes their place, so a junk row never blocks an admin.
pub fn append(conn: &Db<'_>, workspace_id: i64, entry: &Entry) -> Result<(), Error> {
    rows::remove_from(conn, workspace_id, entry.seq)?;
    rows::append(conn, workspace_id, entry.seq, &entry.to_bytes())
}

/// The stored signature of a connection's record; `None` when it has none or it is not 96 bytes
/// (either way the record does not verify).
pub fn record_signature(
    conn: &Db<'_>,
    connection_id: i64,
) -> Result<Option<RecordSignature>, Error> {
    Ok(rows::record_signature(conn, connection_id)?
        .as_deref()
        .and_then(RecordSignature::from_bytes))
}

pub fn set_record_signature(
    conn: &Db<'_>,
    connection_id: i64,
    signature: &RecordSignature,
) -> Result<(), Error> {
    rows::set_record_signature(conn, connection_id, &signature.to_bytes())
}

#[cfg(test)]
mod tests;
