//! The rows of the signed workspace logs (one canonical entry per row, numbered from the genesis)
//! and the signature column of connections. Rows are only stored and fetched here; whether they
//! are valid is decided by src/authority, never by SQL.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Error;

fn seq_param(seq: u64) -> i64 {
    // Logs never reach 2^63 entries; a larger number can only come from a caller's mistake and
    // then simply finds nothing.
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn seq_column(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(at)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(at, value))
}

/// The stored bytes of entry `seq` of a workspace's log.
pub fn entry(c: &Connection, workspace_id: i64, seq: u64) -> Result<Option<Vec<u8>>, Error> {
    let mut stmt =
        c.prepare_cached("SELECT entry FROM authority_log WHERE workspace_id = ?1 AND seq = ?2")?;
    Ok(stmt
        .query_row(params![workspace_id, seq_param(seq)], |r| r.get(0))
        .optional()?)
}

/// Every entry numbered `from` or more, in order, with the number of the row it was stored under.
pub fn entries_from(
    c: &Connection,
    workspace_id: i64,
    from: u64,
) -> Result<Vec<(u64, Vec<u8>)>, Error> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, entry FROM authority_log WHERE workspace_id = ?1 AND seq >= ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![workspace_id, seq_param(from)], |r| {
        Ok((seq_column(r, 0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores a new entry. Inside the caller's `BEGIN IMMEDIATE` transaction, after verifying the log
/// in that same transaction, so two admins never append the same number.
pub fn append(c: &Connection, workspace_id: i64, seq: u64, entry: &[u8]) -> Result<(), Error> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO authority_log (workspace_id, seq, entry) VALUES (?1, ?2, ?3)",
    )?;
    stmt.execute(params![workspace_id, seq_param(seq), entry])?;
    Ok(())
}

/// Removes the entries numbered `from` or more: the rejected tail an admin's new entry replaces
/// (only ever called with the number after the verified head).
pub fn remove_from(c: &Connection, workspace_id: i64, from: u64) -> Result<(), Error> {
    let mut stmt =
        c.prepare_cached("DELETE FROM authority_log WHERE workspace_id = ?1 AND seq >= ?2")?;
    stmt.execute(params![workspace_id, seq_param(from)])?;
    Ok(())
}

/// Whether the workspace has a log at all (a workspace from before signed authority has none).
pub fn is_signed(c: &Connection, workspace_id: i64) -> Result<bool, Error> {
    Ok(entry(c, workspace_id, 0)?.is_some())
}

/// The stored signature of connection `connection_id`'s record, if it has one.
pub fn record_signature(c: &Connection, connection_id: i64) -> Result<Option<Vec<u8>>, Error> {
    let mut stmt = c.prepare_cached("SELECT signature FROM connections WHERE id = ?1")?;
    Ok(stmt
        .query_row([connection_id], |r| r.get(0))
        .optional()?
        .flatten())
}

pub fn set_record_signature(
    c: &Connection,
    connection_id: i64,
    signature: &[u8],
) -> Result<(), Error> {
    let mut stmt = c.prepare_cached("UPDATE connections SET signature = ?2 WHERE id = ?1")?;
    stmt.execute(params![connection_id, signature])?;
    Ok(())
}
