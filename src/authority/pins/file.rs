//! One workspace's pin in a file of its own, `<workspace id>.json` in the pins folder: the pin as
//! compact JSON and an HMAC-SHA256 over exactly those bytes, keyed from the owner's identity
//! (docs/SECURITY.md, section 5, has the format and a test vector).

use std::borrow::Cow;
use std::path::Path;

use hmac::Mac;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{hex, hmac_sha256, read_private_file, unhex, unhex_array, CachedState, Pin};
use crate::authority::{AuthorityError, EntryHash, WorkspaceId};

/// The label the MAC key is derived under (`SigningKey::derive_secret`).
pub(super) const MAC_LABEL: &[u8] = b"ohx pin mac v2";

const FORMAT_VERSION: u32 = 2;

/// The pin as the file holds it. The workspace id is inside what the MAC covers, so a genuine pin
/// file copied under another workspace's name is refused.
#[derive(Serialize, Deserialize)]
struct PinRecord<'a> {
    workspace: &'a str,
    /// A slug never needs escaping, but the reader must not fail on one that does.
    #[serde(borrow)]
    slug: Cow<'a, str>,
    genesis: &'a str,
    seq: u64,
    head: &'a str,
    /// The state at `head`, canonical bytes in hex.
    state: &'a str,
    /// Checks passed in this workspace, oldest first, each a SHA-256 in hex. Left
    /// out when there are none (so older ohx's pins read as they are, and theirs ignore it).
    #[serde(default, borrow, skip_serializing_if = "Vec::is_empty")]
    checked: Vec<&'a str>,
}

#[derive(Serialize)]
struct PinFile<'a> {
    version: u32,
    pin: &'a RawValue,
    mac: &'a str,
}

#[derive(Deserialize)]
struct PinFileRead<'a> {
    version: u32,
    #[serde(borrow)]
    pin: &'a RawValue,
    mac: &'a str,
}

/// The file's text for `pin` of workspace `id`, or `None` if it cannot be serialised.
pub(super) fn encode(key: &[u8; 32], id: &WorkspaceId, pin: &Pin) -> Option<String> {
    let (workspace, genesis, head) = (id.to_hex(), pin.genesis.to_hex(), pin.head.to_hex());
    let state = pin.state_hex();
    let checked: Vec<String> = pin.checked.iter().map(|c| hex(c)).collect();
    let record = PinRecord {
        workspace: &workspace,
        slug: Cow::Borrowed(&pin.slug),
        genesis: &genesis,
        seq: pin.seq,
        head: &head,
        state: &state,
        checked: checked.iter().map(String::as_str).collect(),
    };
    let pin_json = RawValue::from_string(serde_json::to_string(&record).ok()?).ok()?;
    let tag = hex(&hmac_sha256(key, pin_json.get().as_bytes())?
        .finalize()
        .into_bytes());
    let file = PinFile {
        version: FORMAT_VERSION,
        pin: &pin_json,
        mac: &tag,
    };
    let mut text = serde_json::to_string(&file).ok()?;
    text.push('\n');
    Some(text)
}

/// Reads the pin of workspace `id` at `path`: `None` when there is no file; refused when it is not
/// private, not genuine (the MAC), or not this workspace's.
pub(super) fn read(
    path: &Path,
    key: &[u8; 32],
    id: &WorkspaceId,
) -> Result<Option<Pin>, AuthorityError> {
    let Some(bytes) = read_private_file(path)? else {
        return Ok(None);
    };
    let damaged = || AuthorityError::PinsDamaged { path: path.into() };
    let file: PinFileRead<'_> = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
    if file.version != FORMAT_VERSION {
        return Err(damaged());
    }
    let tag = unhex(file.mac).unwrap_or_default();
    let pin_json = file.pin.get();
    let genuine =
        hmac_sha256(key, pin_json.as_bytes()).is_some_and(|m| m.verify_slice(&tag).is_ok());
    if !genuine {
        return Err(AuthorityError::PinsForged { path: path.into() });
    }
    let record: PinRecord<'_> = serde_json::from_str(pin_json).map_err(|_| damaged())?;
    if WorkspaceId::from_hex(record.workspace) != Some(*id) {
        // Genuine, but another workspace's pin under this one's name.
        return Err(AuthorityError::PinsForged { path: path.into() });
    }
    let pin = Pin {
        slug: record.slug.into_owned(),
        genesis: EntryHash::from_hex(record.genesis).ok_or_else(damaged)?,
        seq: record.seq,
        head: EntryHash::from_hex(record.head).ok_or_else(damaged)?,
        state: CachedState::stored(*id, record.state.into()),
        checked: record
            .checked
            .iter()
            .map(|c| unhex_array(c))
            .collect::<Option<_>>()
            .ok_or_else(damaged)?,
    };
    Ok(Some(pin))
}
