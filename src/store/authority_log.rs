//! The rows of the signed workspace logs (one canonical entry per row, numbered from the genesis)
//! and the signature column of connections. Rows are only stored and fetched here; whether they
//! are valid is decided by src/authority, never by SQL.

use super::engine::{Db, Row};
use crate::error::{DbFault, Error};

fn seq_param(seq: u64) -> i64 {
    // Logs never reach 2^63 entries; a larger number can only come from a caller's mistake and
    // then simply finds nothing.
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn seq_column(row: &Row<'_>, at: usize) -> Result<u64, Error> {
    let value: i64 = row.get(at)?;
    u64::try_from(value).map_err(|_| Error::Database {
        fault: DbFault::BadValue,
        detail: format!("column {at}: integer {value} out of range"),
    })
}

/// The stored bytes of entry `seq` of a workspace's log.
pub fn entry(db: &Db<'_>, workspace_id: i64, seq: u64) -> Result<Option<Vec<u8>>, Error> {
    db.query_opt(
        "SELECT entry FROM authority_log WHERE workspace_id = ?1 AND seq = ?2",
        &[&workspace_id, &seq_param(seq)],
        |r| r.get(0),
    )
}

/// Every entry numbered `from` or more, in order, with the number of the row it was stored under.
pub fn entries_from(
    db: &Db<'_>,
    workspace_id: i64,
    from: u64,
) -> Result<Vec<(u64, Vec<u8>)>, Error> {
    db.query_all(
        "SELECT seq, entry FROM authority_log WHERE workspace_id = ?1 AND seq >= ?2 ORDER BY seq",
        &[&workspace_id, &seq_param(from)],
        |r| Ok((seq_column(r, 0)?, r.get(1)?)),
    )
}

/// Stores a new entry. Inside the caller's write transaction, after verifying the log in that
/// same transaction, so two admins never append the same number.
pub fn append(db: &Db<'_>, workspace_id: i64, seq: u64, entry: &[u8]) -> Result<(), Error> {
    db.execute(
        "INSERT INTO authority_log (workspace_id, seq, entry) VALUES (?1, ?2, ?3)",
        &[&workspace_id, &seq_param(seq), &entry],
    )?;
    Ok(())
}

/// Removes the entries numbered `from` or more: the rejected tail an admin's new entry replaces
/// (only ever called with the number after the verified head).
pub fn remove_from(db: &Db<'_>, workspace_id: i64, from: u64) -> Result<(), Error> {
    db.execute(
        "DELETE FROM authority_log WHERE workspace_id = ?1 AND seq >= ?2",
        &[&workspace_id, &seq_param(from)],
    )?;
    Ok(())
}

/// Whether the workspace has a log at all (a workspace from before signed authority has none).
pub fn is_signed(db: &Db<'_>, workspace_id: i64) -> Result<bool, Error> {
    Ok(entry(db, workspace_id, 0)?.is_some())
}

/// The stored signature of connection `connection_id`'s record, if it has one.
pub fn record_signature(db: &Db<'_>, connection_id: i64) -> Result<Option<Vec<u8>>, Error> {
    Ok(db
        .query_opt(
            "SELECT signature FROM connections WHERE id = ?1",
            &[&connection_id],
            |r| r.get(0),
        )?
        .flatten())
}

pub fn set_record_signature(
    db: &Db<'_>,
    connection_id: i64,
    signature: &[u8],
) -> Result<(), Error> {
    db.execute(
        "UPDATE connections SET signature = ?2 WHERE id = ?1",
        &[&connection_id, &signature],
    )?;
    Ok(())
}
