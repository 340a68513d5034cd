//! The pins as ohx kept them before one file per workspace: every workspace in one file
//! (`known-workspaces.json`), under one MAC. Only read, to move its pins into the folder once.

use std::collections::BTreeMap;
use std::path::Path;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{hmac_sha256, read_private_file, unhex, CachedState, Pin};
use crate::authority::{AuthorityError, EntryHash, WorkspaceId};
use crate::crypto::xeddsa::SigningKey;

/// The name every identity in a folder once used for its pins.
pub(super) const SHARED_FILE: &str = "known-workspaces.json";

/// The label the old file's MAC key was derived under.
const MAC_LABEL: &[u8] = b"ohx pins mac v1";

const FORMAT_VERSION: u32 = 1;

#[derive(Deserialize, serde::Serialize)]
struct PinRecord {
    slug: String,
    genesis: String,
    seq: u64,
    head: String,
    state: String,
}

#[derive(Deserialize)]
struct PinsFileRead<'a> {
    version: u32,
    #[serde(borrow)]
    workspaces: &'a serde_json::value::RawValue,
    mac: String,
}

/// Reads and authenticates `owner`'s old pins file: `None` when there is none (the usual case,
/// which costs one failed `open`). The MAC covers the workspaces' compact JSON; a file written
/// pretty-printed (by an even older ohx) is serialised again to be checked.
pub(super) fn read(
    path: &Path,
    owner: &SigningKey,
) -> Result<Option<BTreeMap<WorkspaceId, Pin>>, AuthorityError> {
    let Some(bytes) = read_private_file(path)? else {
        return Ok(None);
    };
    let key = &owner.derive_secret(MAC_LABEL);
    let damaged = || AuthorityError::PinsDamaged { path: path.into() };
    let file: PinsFileRead<'_> = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
    if file.version != FORMAT_VERSION {
        return Err(damaged());
    }
    let tag = unhex(&file.mac).unwrap_or_default();
    let stored = file.workspaces.get();
    let workspaces: BTreeMap<String, PinRecord> =
        serde_json::from_str(stored).map_err(|_| damaged())?;
    let matches = |mac: Option<Hmac<Sha256>>| mac.is_some_and(|m| m.verify_slice(&tag).is_ok());
    let compact = !stored.contains('\n');
    let genuine = (compact && matches(hmac_sha256(key, stored.as_bytes())))
        || serde_json::to_vec(&workspaces).is_ok_and(|json| matches(hmac_sha256(key, &json)));
    if !genuine {
        return Err(AuthorityError::PinsForged { path: path.into() });
    }
    let mut pins = BTreeMap::new();
    for (id, record) in workspaces {
        let id = WorkspaceId::from_hex(&id).ok_or_else(damaged)?;
        let pin = Pin {
            slug: record.slug,
            genesis: EntryHash::from_hex(&record.genesis).ok_or_else(damaged)?,
            seq: record.seq,
            head: EntryHash::from_hex(&record.head).ok_or_else(damaged)?,
            state: CachedState::stored(id, record.state),
            checked: Vec::new(),
        };
        pins.insert(id, pin);
    }
    Ok(Some(pins))
}
