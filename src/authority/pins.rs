//! Pins, like SSH's known_hosts: for every workspace a user has seen, the hash of its genesis and
//! the last log head they verified, kept in a 0600 file in their own config folder together with
//! the state at that head (so a reader verifies only the entries that are new since its last run).
//!
//! A store whose log no longer reaches the pinned head is a rollback; one whose entry at the pinned
//! number differs is a fork. The first sight of a workspace is trusted (and pinned), unless the
//! same slug was pinned for another workspace before: then the store was replaced.
//!
//! The file carries a MAC keyed from the user's own identity, so that someone who can write the
//! user's files but does not hold their identity (a co-user of a shared account) cannot move a
//! pin back; they can only delete the file, which makes every workspace a first sight again.

use std::collections::BTreeMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{extend_prefix, AuthorityError, Body, Entry, EntryHash, Rejected, State, WorkspaceId};
use crate::crypto::xeddsa::SigningKey;
use crate::fsutil::{self, Refusal};

/// The file name of the pins beside the default identity, `identity.txt`.
pub const PINS_FILE: &str = "known-workspaces.json";

/// The default identity's file name, whose pins keep the plain [`PINS_FILE`] name.
const DEFAULT_IDENTITY_FILE: &str = "identity.txt";

/// Where the pins of the identity file at `identity` live: [`PINS_FILE`] beside the default
/// `identity.txt`, `known-workspaces.<file name>.json` beside any other, so that two identities
/// kept in one folder (a person's and a nightly job's, say) each have their own pins instead of
/// refusing each other's file as forged.
pub fn pins_path_for(identity: &Path) -> PathBuf {
    let dir = identity.parent().unwrap_or(Path::new("."));
    match identity.file_name() {
        Some(name) if name != DEFAULT_IDENTITY_FILE => {
            let mut file = std::ffi::OsString::from("known-workspaces.");
            file.push(name);
            file.push(".json");
            dir.join(file)
        }
        _ => dir.join(PINS_FILE),
    }
}

const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PinRecord {
    slug: String,
    genesis: String,
    seq: u64,
    head: String,
    /// The state at `head`, canonical bytes in hex.
    state: String,
}

/// A pins file as written (read through [`PinsFileRead`]).
#[derive(Serialize)]
struct PinsFile {
    version: u32,
    workspaces: BTreeMap<String, PinRecord>,
    /// HMAC-SHA256 of the workspaces (their JSON), keyed from the owner's identity.
    mac: String,
}

const MAC_LABEL: &[u8] = b"ohx pins mac v1";

/// The MAC of the workspaces: over their compact JSON (`serde_json::to_vec`), which is also how
/// the file holds them, so that a reader can check the bytes it read without writing them again.
fn pins_mac(key: &[u8; 32], workspaces: &BTreeMap<String, PinRecord>) -> Option<Hmac<Sha256>> {
    mac_over(key, &serde_json::to_vec(workspaces).ok()?)
}

fn mac_over(key: &[u8; 32], compact_json: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(compact_json);
    Some(mac)
}

/// A pins file as read: the workspaces kept as the text they are, for their MAC.
#[derive(Deserialize)]
struct PinsFileRead<'a> {
    version: u32,
    #[serde(borrow)]
    workspaces: &'a serde_json::value::RawValue,
    mac: String,
}

/// One workspace's pin.
#[derive(Debug, Clone)]
pub struct Pin {
    pub slug: String,
    pub genesis: EntryHash,
    pub seq: u64,
    pub head: EntryHash,
    state: CachedState,
}

/// A pin's cached state. A user who has seen a hundred workspaces has a hundred of them in the
/// file, and a command uses one: each stays in hex until it is asked for (and is written back as
/// it was read when it never was).
#[derive(Debug, Clone)]
enum CachedState {
    Decoded(State),
    Stored {
        workspace: WorkspaceId,
        hex: String,
        decoded: OnceLock<Option<State>>,
    },
}

impl Pin {
    /// The verified state at the pinned head, when it is cached and consistent with the pin.
    pub fn state(&self) -> Option<&State> {
        match &self.state {
            CachedState::Decoded(state) => Some(state),
            CachedState::Stored {
                workspace,
                hex,
                decoded,
            } => decoded
                .get_or_init(|| self.decode_state(workspace, hex))
                .as_ref(),
        }
    }

    /// A cached state that does not match the pin around it is dropped (the log is then verified
    /// from its genesis), never trusted.
    fn decode_state(&self, workspace: &WorkspaceId, hex: &str) -> Option<State> {
        unhex(hex)
            .and_then(|bytes| State::from_bytes(&bytes).ok())
            .filter(|s| {
                s.workspace_id() == *workspace
                    && s.genesis_hash() == self.genesis
                    && s.head().seq == self.seq
                    && s.head().hash == self.head
            })
    }

    /// The cached state's canonical bytes in hex, for the file.
    fn state_hex(&self) -> String {
        match &self.state {
            CachedState::Stored { hex, decoded, .. } if decoded.get().is_none() => hex.clone(),
            _ => self.state().map(|s| hex(&s.to_bytes())).unwrap_or_default(),
        }
    }
}

/// All of a user's pins, read from and written to one file.
pub struct Pins {
    path: PathBuf,
    pins: BTreeMap<WorkspaceId, Pin>,
    mac_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Pins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pins")
            .field("path", &self.path)
            .field("pins", &self.pins)
            .finish_non_exhaustive()
    }
}

/// The outcome of checking a store's log against the pins.
#[derive(Debug)]
pub struct Verified {
    /// The state of the longest valid log: everything up to `rejected`, if anything was.
    pub state: State,
    /// The workspace had never been seen: its genesis was trusted on first use.
    pub first_sight: bool,
    /// The head moved on (or was seen for the first time): save the pins.
    pub advanced: bool,
    /// An entry after the pinned head that failed (and everything after it, which is ignored):
    /// report it; an admin's next entry removes it.
    pub rejected: Option<Rejected>,
}

/// Where the entries of one workspace's log come from (the store, in ohx).
pub trait LogSource {
    type Error: From<AuthorityError>;
    /// The entry numbered `seq`, if the log has one.
    fn entry(&mut self, seq: u64) -> Result<Option<Entry>, Self::Error>;
    /// Every entry numbered `from` or more, in order, each decoded on its own so that one junk
    /// row is reported rather than fatal.
    fn entries_from(
        &mut self,
        from: u64,
    ) -> Result<Vec<Result<Entry, AuthorityError>>, Self::Error>;
}

impl Pins {
    /// Reads `owner`'s pins at `path`; a missing file is an empty set of pins.
    pub fn load(path: &Path, owner: &SigningKey) -> Result<Pins, AuthorityError> {
        let mac_key = owner.derive_secret(MAC_LABEL);
        let pins = read_pins(path, &mac_key)?;
        Ok(Pins {
            path: path.into(),
            pins,
            mac_key,
        })
    }

    /// Like [`Pins::load`], but when `path` does not exist yet, adopts the pins at `legacy` if
    /// they are `owner`'s own: before pins were kept per identity file, every identity in a
    /// folder used [`PINS_FILE`]. Pins of another identity there are left alone. The next save
    /// writes `path`.
    pub fn load_adopting(
        path: &Path,
        legacy: &Path,
        owner: &SigningKey,
    ) -> Result<Pins, AuthorityError> {
        if path == legacy || std::fs::symlink_metadata(path).is_ok() {
            return Pins::load(path, owner);
        }
        let mac_key = owner.derive_secret(MAC_LABEL);
        let pins = read_pins(legacy, &mac_key).unwrap_or_default();
        Ok(Pins {
            path: path.into(),
            pins,
            mac_key,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, id: &WorkspaceId) -> Option<&Pin> {
        self.pins.get(id)
    }

    /// Whether some workspace with this slug has been pinned: its log was seen signed.
    pub fn knows_slug(&self, slug: &str) -> bool {
        self.pins.values().any(|pin| pin.slug == slug)
    }

    /// Forgets a workspace, so that its next sight is trusted anew (after the user compared its
    /// fingerprint with an admin's, for a workspace that was deleted and created again).
    pub fn forget(&mut self, id: &WorkspaceId) -> bool {
        self.pins.remove(id).is_some()
    }

    /// Pins `state`'s head. A pin never moves back: an older state leaves it as it is.
    pub fn record(&mut self, state: &State) {
        let head = state.head();
        if self
            .pins
            .get(&state.workspace_id())
            .is_some_and(|p| p.seq > head.seq)
        {
            return;
        }
        self.pins.insert(
            state.workspace_id(),
            Pin {
                slug: state.slug().into(),
                genesis: state.genesis_hash(),
                seq: head.seq,
                head: head.hash,
                state: CachedState::Decoded(state.clone()),
            },
        );
    }

    /// Verifies a workspace's log against the pins: the genesis and the entry at the pinned head
    /// must be the pinned ones (else a fork or a rollback), and only the entries after it are
    /// verified, from the cached state; of those, the longest valid run is used and the first
    /// failure reported in `rejected`. Does not save; call [`Pins::record`] and [`Pins::save`]
    /// when `advanced`.
    pub fn verify<S: LogSource>(&self, source: &mut S) -> Result<Verified, S::Error> {
        let genesis = source.entry(0)?.ok_or(AuthorityError::EmptyLog)?;
        let Body::Genesis(g) = &genesis.body else {
            return Err(AuthorityError::NoGenesis.into());
        };
        let Some(pin) = self.pins.get(&g.workspace_id) else {
            let (state, rejected) =
                extend_prefix(State::from_genesis(&genesis)?, source.entries_from(1)?);
            self.check_not_replacing(&state)?;
            return Ok(Verified {
                state,
                first_sight: true,
                advanced: true,
                rejected,
            });
        };
        let workspace = pin.slug.clone();
        if genesis.hash() != pin.genesis {
            return Err(AuthorityError::Fork { workspace, seq: 0 }.into());
        }
        let at_pin = match pin.seq {
            0 => Some(genesis.clone()),
            seq => source.entry(seq)?,
        };
        match at_pin {
            None => {
                return Err(AuthorityError::Rollback {
                    workspace,
                    pinned: pin.seq,
                }
                .into())
            }
            Some(entry) if entry.hash() != pin.head => {
                return Err(AuthorityError::Fork {
                    workspace,
                    seq: pin.seq,
                }
                .into())
            }
            Some(_) => {}
        }
        let (state, rejected) = match pin.state() {
            Some(cached) => extend_prefix(cached.clone(), source.entries_from(pin.seq + 1)?),
            None => {
                let from_genesis = State::from_genesis(&genesis)?;
                let (state, rejected) = extend_prefix(from_genesis, source.entries_from(1)?);
                // Entries up to the pin were verified before; one failing now was changed.
                match rejected {
                    Some(r) if r.seq <= pin.seq => return Err(r.error.into()),
                    rejected => (state, rejected),
                }
            }
        };
        Ok(Verified {
            advanced: state.head().seq > pin.seq,
            state,
            first_sight: false,
            rejected,
        })
    }

    /// A workspace seen for the first time must not carry the slug of another pinned workspace:
    /// that is what a store replaced by someone else's copy looks like.
    fn check_not_replacing(&self, state: &State) -> Result<(), AuthorityError> {
        match self
            .pins
            .iter()
            .find(|(id, pin)| pin.slug == state.slug() && **id != state.workspace_id())
        {
            Some(_) => Err(AuthorityError::Replaced {
                workspace: state.slug().into(),
                fingerprint: state.fingerprint(),
            }),
            None => Ok(()),
        }
    }

    /// Writes the pins atomically (a 0600 temporary file renamed over the old one), first merging
    /// what another ohx process may have pinned meanwhile: for each workspace the further head wins.
    pub fn save(&self) -> Result<(), AuthorityError> {
        let unwritable = |e: std::io::Error| AuthorityError::PinsUnwritable {
            path: self.path.clone(),
            cause: e.to_string(),
        };
        // Read, merge and replace under an exclusive lock, so that two ohx processes saving at
        // once cannot lose each other's new pins. The lock file is held open until we return.
        let _lock = lock_beside(&self.path).map_err(unwritable)?;
        // A damaged or forged file on disk is replaced; its pins were not trusted anyway.
        let mut merged = match read_pins(&self.path, &self.mac_key) {
            Ok(on_disk) => on_disk,
            Err(AuthorityError::PinsDamaged { .. } | AuthorityError::PinsForged { .. }) => {
                BTreeMap::new()
            }
            Err(e) => return Err(e),
        };
        for (id, pin) in &self.pins {
            if merged.get(id).is_none_or(|p| p.seq <= pin.seq) {
                merged.insert(*id, pin.clone());
            }
        }
        let workspaces: BTreeMap<String, PinRecord> = merged
            .iter()
            .map(|(id, pin)| (id.to_hex(), record_from_pin(pin)))
            .collect();
        let mac = pins_mac(&self.mac_key, &workspaces)
            .map(|m| hex(&m.finalize().into_bytes()))
            .unwrap_or_default();
        let file = PinsFile {
            version: FORMAT_VERSION,
            workspaces,
            mac,
        };
        // Compact, as the MAC covers it (see `pins_mac`).
        let mut text =
            serde_json::to_string(&file).map_err(|e| AuthorityError::PinsUnwritable {
                path: self.path.clone(),
                cause: e.to_string(),
            })?;
        text.push('\n');
        fsutil::replace_private(&self.path, text.as_bytes()).map_err(|e| {
            AuthorityError::PinsUnwritable {
                path: self.path.clone(),
                cause: e.to_string(),
            }
        })
    }
}

/// Reads and authenticates a pins file.
/// The largest pins file read: far more than any user's workspaces need.
const MAX_PINS_FILE: u64 = 16 * 1024 * 1024;

/// Why a pins file was refused, in words.
fn refusal_cause(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Symlink => "it is a symbolic link".into(),
        Refusal::NotAFile => "it is not a regular file".into(),
        Refusal::NotOwner { uid } => format!("it belongs to user {uid}"),
        Refusal::TooLarge { len, max } => format!("it has {len} bytes, more than {max}"),
        Refusal::Missing | Refusal::Shared { .. } | Refusal::Io(_) => "it cannot be read".into(),
    }
}

fn read_pins(path: &Path, key: &[u8; 32]) -> Result<BTreeMap<WorkspaceId, Pin>, AuthorityError> {
    let io = |e: std::io::Error| AuthorityError::PinsUnreadable {
        path: path.into(),
        cause: e.to_string(),
    };
    // Opened once and checked on the descriptor: no link, no FIFO, ours, 0600, bounded.
    let rule = fsutil::Rule {
        forbidden_bits: 0o077,
        max_len: MAX_PINS_FILE,
    };
    let bytes = match fsutil::read_private(path, &rule) {
        Ok(bytes) => bytes,
        Err(Refusal::Missing) => return Ok(BTreeMap::new()),
        Err(Refusal::Shared { mode }) => {
            return Err(AuthorityError::PinsUnsafe {
                path: path.into(),
                mode,
            })
        }
        Err(Refusal::Io(e)) => return Err(io(e)),
        Err(other) => {
            return Err(AuthorityError::PinsUnreadable {
                path: path.into(),
                cause: refusal_cause(&other),
            })
        }
    };
    let text =
        String::from_utf8(bytes).map_err(|_| AuthorityError::PinsDamaged { path: path.into() })?;
    let damaged = || AuthorityError::PinsDamaged { path: path.into() };
    let file: PinsFileRead<'_> = serde_json::from_str(&text).map_err(|_| damaged())?;
    if file.version != FORMAT_VERSION {
        return Err(damaged());
    }
    let tag = unhex(&file.mac).unwrap_or_default();
    let stored = file.workspaces.get();
    let workspaces: BTreeMap<String, PinRecord> =
        serde_json::from_str(stored).map_err(|_| damaged())?;
    // Files ohx writes hold the workspaces in the compact form the MAC covers, so checking the
    // bytes read is enough; a file written pretty-printed (by an older ohx) is serialised again.
    let matches = |mac: Option<Hmac<Sha256>>| mac.is_some_and(|m| m.verify_slice(&tag).is_ok());
    let compact = !stored.contains('\n');
    let genuine = (compact && matches(mac_over(key, stored.as_bytes())))
        || matches(pins_mac(key, &workspaces));
    if !genuine {
        return Err(AuthorityError::PinsForged { path: path.into() });
    }
    let mut pins = BTreeMap::new();
    for (id, record) in workspaces {
        let id = WorkspaceId::from_hex(&id).ok_or_else(damaged)?;
        pins.insert(id, pin_from_record(&id, record).ok_or_else(damaged)?);
    }
    Ok(pins)
}

/// Takes an exclusive lock on `<path>.lock` (created 0600), released when the file is closed.
fn lock_beside(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        fsutil::create_private_dir(dir)?;
    }
    let mut name = path.as_os_str().to_os_string();
    name.push(".lock");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(PathBuf::from(name))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(file)
}

fn record_from_pin(pin: &Pin) -> PinRecord {
    PinRecord {
        slug: pin.slug.clone(),
        genesis: pin.genesis.to_hex(),
        seq: pin.seq,
        head: pin.head.to_hex(),
        state: pin.state_hex(),
    }
}

/// A pin read back; its cached state is checked against it when first used.
fn pin_from_record(id: &WorkspaceId, record: PinRecord) -> Option<Pin> {
    Some(Pin {
        slug: record.slug,
        genesis: EntryHash::from_hex(&record.genesis)?,
        seq: record.seq,
        head: EntryHash::from_hex(&record.head)?,
        state: CachedState::Stored {
            workspace: *id,
            hex: record.state,
            decoded: OnceLock::new(),
        },
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        out.push(nibble(pair[0])? << 4 | nibble(pair[1])?);
    }
    Some(out)
}

/// Exactly `N` bytes in hex (ids and hashes: a pins file holds three for every workspace).
pub(crate) fn unhex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}
