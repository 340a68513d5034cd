//! The audit trail: a verified log told as events (who did what, when, to whom), and the last
//! logged digest of every connection, against which `workspace verify` checks the live records.

use std::collections::BTreeMap;

use super::entry::Verifiers;
use super::{AuthorityError, Body, Entry, State};

/// One verified change, in words a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub timestamp: i64,
    /// The signer's name in the workspace when they signed.
    pub actor: String,
    /// `Body::kind`, e.g. `member-added`.
    pub kind: &'static str,
    /// E.g. "added bob as editor".
    pub summary: String,
}

/// What the log last said about one connection identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRecord {
    pub seq: u64,
    pub digest: [u8; 32],
    pub deleted: bool,
}

/// A verified log as events, plus the last logged state of every connection identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub events: Vec<Event>,
    pub records: BTreeMap<String, LoggedRecord>,
    pub state: State,
}

/// Verifies the whole log (as [`super::verify_log`]) and tells it.
pub fn history(entries: &[Entry]) -> Result<History, AuthorityError> {
    let (genesis, rest) = entries.split_first().ok_or(AuthorityError::EmptyLog)?;
    let mut state = State::from_genesis(genesis)?;
    let mut events = vec![describe(&state, genesis)];
    let mut records = BTreeMap::new();
    let mut verifiers = Verifiers::default();
    for entry in rest {
        // Described against the state before the entry, so names are the ones of the moment.
        let event = describe(&state, entry);
        state.apply_with(entry, &mut verifiers)?;
        events.push(event);
        let (identifier, digest, deleted) = match &entry.body {
            Body::ConnectionCreated { identifier, digest }
            | Body::ConnectionEdited { identifier, digest } => (identifier, digest, false),
            Body::ConnectionDeleted { identifier, digest } => (identifier, digest, true),
            _ => continue,
        };
        records.insert(
            identifier.clone(),
            LoggedRecord {
                seq: entry.seq,
                digest: *digest,
                deleted,
            },
        );
    }
    Ok(History {
        events,
        records,
        state,
    })
}

fn describe(before: &State, entry: &Entry) -> Event {
    let name_of = |key: &super::PublicKey| {
        before
            .member(key)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| key.recipient())
    };
    let summary = match &entry.body {
        Body::Genesis(g) => format!(
            "created workspace '{}' ({}) with key version {}",
            g.slug, g.name, g.key_version
        ),
        Body::MemberAdded { name, role, .. } => format!("added {name} as {role}"),
        Body::RoleChanged { recipient, role } => {
            format!("made {} {}", name_of(recipient), role.with_article())
        }
        Body::MemberRemoved { recipient } => format!("removed {}", name_of(recipient)),
        Body::KeyRotated { version, .. } => format!("rotated the key to version {version}"),
        Body::WorkspaceRenamed { slug, name } => {
            format!("renamed the workspace to '{slug}' ({name})")
        }
        Body::ConnectionCreated { identifier, .. } => format!("created connection '{identifier}'"),
        Body::ConnectionEdited { identifier, .. } => format!("edited connection '{identifier}'"),
        Body::ConnectionDeleted { identifier, .. } => format!("deleted connection '{identifier}'"),
    };
    let actor = match &entry.body {
        Body::Genesis(g) => g.creator_name.clone(),
        _ => name_of(&entry.signer),
    };
    Event {
        seq: entry.seq,
        timestamp: entry.timestamp,
        actor,
        kind: entry.body.kind(),
        summary,
    }
}
