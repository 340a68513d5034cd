//! `ohx workspace verify`: every check a reader makes, over a whole workspace, reporting each
//! problem instead of stopping at the first: the log (checked when the workspace is entered),
//! entries after the verified head that fail, the user's wrapped key, and every connection's
//! MAC, signature, secrets and logged digest (docs/SECURITY.md, "What verify checks").

use super::fields;
use super::records;
use super::Workspace;
use crate::authority::record_digest;
use crate::error::Result;
use crate::store::authority_log as rows;
use crate::store::connections;

/// What `verify` found.
pub struct Report {
    pub fingerprint: Option<String>,
    pub entries: u64,
    pub connections: usize,
    pub problems: Vec<String>,
}

impl Workspace<'_> {
    /// Checks the whole workspace as far as the user's role allows.
    pub fn verify(&self) -> Result<Report> {
        let mut problems = Vec::new();
        let history = self.history()?;
        let head = history.as_ref().map(|h| h.state.head().seq);
        if history.is_none() {
            problems
                .push("the workspace is not signed yet: an admin's next change signs it".into());
        }
        if let Some(head) = head {
            let stored = rows::entries_from(self.tx, self.row().id, head + 1)?;
            if let Some((seq, _)) = stored.first() {
                problems.push(format!(
                    "log entries from {seq} on fail their checks and are ignored"
                ));
            }
        }
        let key = if self.role().holds_key() {
            match self.key() {
                Ok(key) => Some(key),
                Err(e) => {
                    problems.push(format!("your key: {e}"));
                    None
                }
            }
        } else {
            None
        };
        // Digests are compared for connections changed since the last rotation: a rotation
        // re-signs every record for the new key version, so an older version fails its
        // signature anyway.
        let last_rotation = history.as_ref().map_or(0, |h| {
            h.events
                .iter()
                .filter(|e| e.kind == "key-rotated")
                .map(|e| e.seq)
                .max()
                .unwrap_or(0)
        });
        let mut seen = std::collections::BTreeSet::new();
        let mut count = 0;
        for id in connections::ids(self.tx, self.row().id)? {
            count += 1;
            let Some(row) = connections::find_by_id(self.tx, id).ok().flatten() else {
                problems.push(format!("connection row {id} cannot be read"));
                continue;
            };
            seen.insert(row.slug.clone());
            let label = format!("{}/{}", self.slug(), row.slug);
            let stored = connections::fields(self.tx, id)?;
            let record = records::record_bytes(self.row().id, &row, &stored);
            if let Some(key) = key {
                if let Err(e) = records::verify(self.tx, self.slug(), key, &row, &record) {
                    problems.push(e.to_string());
                }
                if let Err(e) = fields::open(Some(key), self.row(), &row, stored) {
                    problems.push(e.to_string());
                }
            }
            if let Err(e) = self.check_record_signature_fully(&row, &record) {
                problems.push(e.to_string());
            }
            let logged = history.as_ref().and_then(|h| h.records.get(&row.slug));
            match logged {
                Some(entry) if entry.deleted => problems.push(format!(
                    "connection '{label}' was deleted (log entry {}) but is back in the store",
                    entry.seq
                )),
                Some(entry) if entry.seq > last_rotation && entry.digest != record_digest(&record) => {
                    problems.push(format!(
                        "connection '{label}' is not the version its last log entry ({}) names: an older copy was put back",
                        entry.seq
                    ))
                }
                _ => {}
            }
        }
        if let Some(h) = &history {
            for (identifier, entry) in &h.records {
                if !entry.deleted && !seen.contains(identifier) {
                    problems.push(format!(
                        "connection '{}/{identifier}' is in the log (entry {}) but missing from the store",
                        self.slug(),
                        entry.seq
                    ));
                }
            }
        }
        Ok(Report {
            fingerprint: self.fingerprint(),
            entries: head.map_or(0, |h| h + 1),
            connections: count,
            problems,
        })
    }
}
