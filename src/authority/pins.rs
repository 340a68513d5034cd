//! Pins, like SSH's known_hosts: for every workspace a user has seen, the hash of its genesis and
//! the last log head they verified, kept in their own config folder together with the state at
//! that head (so a reader verifies only the entries that are new since its last run).
//!
//! A store whose log no longer reaches the pinned head is a rollback; one whose entry at the pinned
//! number differs is a fork. The first sight of a workspace is trusted (and pinned), unless the
//! same slug was pinned for another workspace before: then the store was replaced.
//!
//! Each workspace's pin is a 0600 file of its own in a 0700 folder (`file`), so a command reads
//! the one pin it uses however many workspaces the user has seen. Each carries a MAC keyed from
//! the user's own identity, so that someone who can write the user's files but does not hold
//! their identity (a co-user of a shared account) cannot move a pin back; they can only delete
//! it, which makes that workspace a first sight again. Pins kept the older way, every workspace
//! in one file (`v1`), move into the folder the first time they are read.
//!
//! A pin also remembers the last checks its owner's ohx passed in that workspace (a record
//! signature verified, a wrapped key found to be the logged key: [`Pins::remembers`]), so that the
//! connection a nightly job uses every night costs hashes, not curve operations, from the second
//! night on.

mod file;
mod v1;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use zeroize::Zeroizing;

use super::{
    extend_prefix, AuthorityError, Body, Checked, Entry, EntryHash, Rejected, State, WorkspaceId,
};
use crate::crypto::xeddsa::SigningKey;
use crate::fsutil::{self, Refusal};

/// The name of the pins folder beside the default identity, `identity.txt`.
pub const PINS_DIR: &str = "known-workspaces";

/// The default identity's file name, whose pins keep the plain [`PINS_DIR`] name.
const DEFAULT_IDENTITY_FILE: &str = "identity.txt";

/// Where the pins of the identity file at `identity` live: [`PINS_DIR`] beside the default
/// `identity.txt`, `known-workspaces.<file name>` beside any other, so that two identities kept in
/// one folder (a person's and a nightly job's, say) each have their own pins instead of refusing
/// each other's as forged.
pub fn pins_dir_for(identity: &Path) -> PathBuf {
    let dir = identity.parent().unwrap_or(Path::new("."));
    match identity.file_name() {
        Some(name) if name != DEFAULT_IDENTITY_FILE => {
            let mut folder = std::ffi::OsString::from("known-workspaces.");
            folder.push(name);
            dir.join(folder)
        }
        _ => dir.join(PINS_DIR),
    }
}

/// `path` with `suffix` added to its last component: the one file in which the pins of a folder
/// were kept before (`.json`), and that file's lock (`.lock`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// HMAC-SHA256 of `bytes` under `key`, for checking or for its tag; both pin formats use it.
fn hmac_sha256(key: &[u8; 32], bytes: &[u8]) -> Option<hmac::Hmac<sha2::Sha256>> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).ok()?;
    mac.update(bytes);
    Some(mac)
}

/// How many passed checks a pin remembers: the newest, far more than the connections one user's
/// jobs use, and at most 4 KB of hex in the file.
const REMEMBERED_CHECKS: usize = 64;

/// The file of workspace `id`'s pin in the folder `dir`.
fn pin_file(dir: &Path, id: &WorkspaceId) -> PathBuf {
    dir.join(format!("{}.json", id.to_hex()))
}

/// One workspace's pin.
#[derive(Debug, Clone)]
pub struct Pin {
    pub slug: String,
    pub genesis: EntryHash,
    pub seq: u64,
    pub head: EntryHash,
    state: CachedState,
    /// Checks passed in this workspace, oldest first (see [`Pins::remembers`]).
    checked: Vec<Checked>,
}

/// A pin's cached state: it stays in hex until it is asked for, and is written back as it was
/// read when it never was.
#[derive(Debug, Clone)]
enum CachedState {
    Decoded(State),
    Stored {
        workspace: WorkspaceId,
        hex: String,
        decoded: OnceLock<Option<State>>,
    },
}

impl CachedState {
    fn stored(workspace: WorkspaceId, hex: String) -> CachedState {
        CachedState::Stored {
            workspace,
            hex,
            decoded: OnceLock::new(),
        }
    }
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

    fn from_state(state: &State) -> Pin {
        let head = state.head();
        Pin {
            slug: state.slug().into(),
            genesis: state.genesis_hash(),
            seq: head.seq,
            head: head.hash,
            state: CachedState::Decoded(state.clone()),
            checked: Vec::new(),
        }
    }

    /// Adds the checks in `verified` that the pin does not remember yet, forgetting the
    /// oldest beyond [`REMEMBERED_CHECKS`]; whether any was new.
    fn remember(&mut self, verified: &[Checked]) -> bool {
        let before = self.checked.len();
        for checked in verified {
            if !self.checked.contains(checked) {
                self.checked.push(*checked);
            }
        }
        let added = self.checked.len() > before;
        let excess = self.checked.len().saturating_sub(REMEMBERED_CHECKS);
        self.checked.drain(..excess);
        added
    }
}

/// A user's pins: a folder with one file per workspace, read one workspace at a time.
pub struct Pins {
    dir: PathBuf,
    /// Pins this process recorded (or moved from an old pins file): [`Pins::save`] writes them.
    recorded: BTreeMap<WorkspaceId, Pin>,
    /// Each pin file as this process first read it (`None`: there was none). A pin is read once:
    /// a transaction that retries after [`Pins::read_count`] grew then checks its new snapshot
    /// against a pin read before that snapshot began (see [`Pins::get`]).
    read: RefCell<BTreeMap<WorkspaceId, Option<Pin>>>,
    /// Checks this process passed, by workspace: [`Pins::save`] adds them to the pins.
    verified: RefCell<BTreeMap<WorkspaceId, Vec<Checked>>>,
    mac_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Pins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pins")
            .field("dir", &self.dir)
            .field("recorded", &self.recorded)
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
    /// `owner`'s pins in the folder `dir` (see [`pins_dir_for`]); a missing folder is no pins.
    ///
    /// Pins kept the older way, in one file (`dir` with `.json` added), are moved into the
    /// folder: that file is read, its pins written to the folder, and it is removed. When neither
    /// exists, pins in `known-workspaces.json` beside the folder are adopted if their MAC is
    /// `owner`'s own: before pins were kept per identity file, every identity in a folder used
    /// that name. Another identity's pins there are left alone.
    pub fn load(dir: &Path, owner: &SigningKey) -> Result<Pins, AuthorityError> {
        let mut pins = Pins {
            dir: dir.into(),
            recorded: BTreeMap::new(),
            read: RefCell::new(BTreeMap::new()),
            verified: RefCell::new(BTreeMap::new()),
            mac_key: owner.derive_secret(file::MAC_LABEL),
        };
        let own = with_suffix(dir, ".json");
        // A damaged or forged old file is reported, as it was when it was the only pins there
        // were: the user must know that their pins were tampered with.
        if let Some(old) = v1::read(&own, owner)? {
            pins.recorded = old;
            // Only once the pins are in the folder is the old file removed; until then it is
            // read again (and the move tried again) by the next command.
            if pins.save().is_ok() {
                let _ = std::fs::remove_file(&own);
                let _ = std::fs::remove_file(with_suffix(&own, ".lock"));
            }
            return Ok(pins);
        }
        let shared = dir.with_file_name(v1::SHARED_FILE);
        if shared != own && std::fs::symlink_metadata(dir).is_err() {
            if let Ok(Some(old)) = v1::read(&shared, owner) {
                pins.recorded = old;
                let _ = pins.save();
            }
        }
        Ok(pins)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pin of workspace `id`, if the user has one; a pin file that is not private, not
    /// genuine or damaged is an error naming it.
    ///
    /// The file is read when the workspace's log is, inside the caller's read transaction, so
    /// another ohx process may have committed an entry and pinned it after that transaction's
    /// snapshot began: the pin is then ahead of the snapshot and looks like a rollback. Such a
    /// transaction is retried (`access`), and the retry uses the pin read here, which is older
    /// than its snapshot; a pin is saved only after its entry was committed, so a rollback seen
    /// then is real.
    pub fn get(&self, id: &WorkspaceId) -> Result<Option<Pin>, AuthorityError> {
        if let Some(pin) = self.recorded.get(id) {
            return Ok(Some(pin.clone()));
        }
        if let Some(pin) = self.read.borrow().get(id) {
            return Ok(pin.clone());
        }
        check_folder(&self.dir)?;
        let pin = file::read(&pin_file(&self.dir, id), &self.mac_key, id)?;
        self.read.borrow_mut().insert(*id, pin.clone());
        Ok(pin)
    }

    /// How many pin files this process has read so far: a transaction that failed as a rollback
    /// after this grew may have raced another process's pin (see [`Pins::get`]).
    pub fn read_count(&self) -> usize {
        self.read.borrow().len()
    }

    /// Whether the user's ohx passed this check in workspace `id` before: it is in the
    /// workspace's pin (whose MAC only the user's identity makes) or was passed in this process.
    /// A digest names everything its check depended on (a signer, signature and signed message;
    /// a wrapped key's bytes and the logged key), which pass together for ever, so a pin that is
    /// older than the store only remembers less.
    pub fn remembers(&self, id: &WorkspaceId, checked: &Checked) -> bool {
        let noted = |v: &BTreeMap<WorkspaceId, Vec<Checked>>| {
            v.get(id).is_some_and(|all| all.contains(checked))
        };
        noted(&self.verified.borrow())
            || matches!(self.get(id), Ok(Some(pin)) if pin.checked.contains(checked))
    }

    /// Notes a check this process passed in workspace `id`, for [`Pins::save`].
    pub fn remember(&self, id: &WorkspaceId, checked: Checked) {
        self.verified
            .borrow_mut()
            .entry(*id)
            .or_default()
            .push(checked);
    }

    /// Whether some workspace with this slug has been pinned: its log was seen signed.
    pub fn knows_slug(&self, slug: &str) -> bool {
        self.pinned_with_slug(slug, None).is_some()
    }

    /// A workspace other than `except` pinned under `slug`, and its pin file. Reads every pin,
    /// which only the first sight of a workspace and an unsigned workspace need; pins that cannot
    /// be read or are not genuine do not count.
    fn pinned_with_slug(&self, slug: &str, except: Option<WorkspaceId>) -> Option<PathBuf> {
        let other = |id: &WorkspaceId| Some(*id) != except;
        if let Some((id, _)) = self
            .recorded
            .iter()
            .find(|(id, pin)| pin.slug == slug && other(id))
        {
            return Some(pin_file(&self.dir, id));
        }
        let entries = std::fs::read_dir(&self.dir).ok()?;
        entries.filter_map(Result::ok).find_map(|entry| {
            let name = entry.file_name();
            let id = WorkspaceId::from_hex(name.to_str()?.strip_suffix(".json")?)?;
            let path = entry.path();
            let pin = file::read(&path, &self.mac_key, &id).ok()??;
            (pin.slug == slug && other(&id) && !self.recorded.contains_key(&id)).then_some(path)
        })
    }

    /// Pins `state`'s head. A pin never moves back: an older state than one this process
    /// recorded leaves it as it is (and [`Pins::save`] keeps the further head on disk).
    pub fn record(&mut self, state: &State) {
        let id = state.workspace_id();
        if self
            .recorded
            .get(&id)
            .is_some_and(|p| p.seq > state.head().seq)
        {
            return;
        }
        self.recorded.insert(id, Pin::from_state(state));
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
        let Some(pin) = self.get(&g.workspace_id)? else {
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
        match self.pinned_with_slug(state.slug(), Some(state.workspace_id())) {
            Some(pinned) => Err(AuthorityError::Replaced {
                workspace: state.slug().into(),
                fingerprint: state.fingerprint(),
                pinned,
            }),
            None => Ok(()),
        }
    }

    /// Writes every recorded pin to its file (a 0600 temporary file renamed over the old one),
    /// under an exclusive lock on the folder, keeping for each workspace the further head: a pin
    /// another ohx process saved meanwhile is never moved back. The checks passed
    /// since [`Pins::load`] are added to each pin; a file that would not change is not written.
    pub fn save(&self) -> Result<(), AuthorityError> {
        let verified = self.verified.borrow();
        if self.recorded.is_empty() && verified.is_empty() {
            return Ok(());
        }
        let unwritable = |path: &Path, e: std::io::Error| AuthorityError::PinsUnwritable {
            path: path.into(),
            cause: e.to_string(),
        };
        // The lock file is held open until we return.
        let _lock = lock_folder(&self.dir).map_err(|e| unwritable(&self.dir, e))?;
        let ids: BTreeSet<&WorkspaceId> = self.recorded.keys().chain(verified.keys()).collect();
        for id in ids {
            let path = pin_file(&self.dir, id);
            // A damaged or forged file is replaced; its pin was not trusted anyway.
            let on_disk = match file::read(&path, &self.mac_key, id) {
                Ok(on_disk) => on_disk,
                Err(AuthorityError::PinsDamaged { .. } | AuthorityError::PinsForged { .. }) => None,
                Err(e) => return Err(e),
            };
            let checked = verified.get(id).map(Vec::as_slice).unwrap_or_default();
            let Some(pin) = to_write(on_disk, self.recorded.get(id), checked) else {
                continue;
            };
            let text = file::encode(&self.mac_key, id, &pin).ok_or_else(|| {
                AuthorityError::PinsUnwritable {
                    path: path.clone(),
                    cause: "it cannot be serialised".into(),
                }
            })?;
            fsutil::replace_private(&path, text.as_bytes()).map_err(|e| unwritable(&path, e))?;
        }
        Ok(())
    }

    /// Whether [`Pins::save`] has a head to pin, rather than only checks to remember.
    pub fn has_heads_to_save(&self) -> bool {
        !self.recorded.is_empty()
    }
}

/// The pin to write for one workspace, from the file as it is (`on_disk`), the head this process
/// recorded (`ours`) and the checks it passed (`checked`); `None` when the file already says all
/// of it. The further head wins; the remembered checks of both are kept.
fn to_write(on_disk: Option<Pin>, ours: Option<&Pin>, checked: &[Checked]) -> Option<Pin> {
    let (mut pin, moved) = match (on_disk, ours) {
        (Some(disk), Some(ours))
            if disk.seq > ours.seq || (disk.seq == ours.seq && disk.head == ours.head) =>
        {
            (disk, false)
        }
        (disk, Some(ours)) => {
            let mut pin = ours.clone();
            pin.checked = disk.map(|d| d.checked).unwrap_or_default();
            (pin, true)
        }
        (Some(disk), None) => (disk, false),
        // Checks in a workspace with no pin (it is not signed) have nothing to go with.
        (None, None) => return None,
    };
    let added = pin.remember(checked);
    (moved || added).then_some(pin)
}

/// The largest pin file read: far more than any workspace's pin needs.
const MAX_PIN_FILE: u64 = 16 * 1024 * 1024;

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

/// The bytes of a pins file, opened once and checked on the descriptor (no link, no FIFO, ours,
/// 0600, bounded); `None` when there is no file.
fn read_private_file(path: &Path) -> Result<Option<Vec<u8>>, AuthorityError> {
    let rule = fsutil::Rule {
        forbidden_bits: 0o077,
        max_len: MAX_PIN_FILE,
    };
    match fsutil::read_private(path, &rule) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Refusal::Missing) => Ok(None),
        Err(Refusal::Shared { mode }) => Err(AuthorityError::PinsUnsafe {
            path: path.into(),
            mode,
        }),
        Err(Refusal::Io(e)) => Err(AuthorityError::PinsUnreadable {
            path: path.into(),
            cause: e.to_string(),
        }),
        Err(other) => Err(AuthorityError::PinsUnreadable {
            path: path.into(),
            cause: refusal_cause(&other),
        }),
    }
}

/// The pins folder, if there is one, must be a folder of this user's that nobody else may change:
/// someone who may rename files in it could set a pin aside and put it back after it moved on (a
/// rollback nobody notices), which the pins' MACs cannot tell. A missing folder is no pins.
fn check_folder(dir: &Path) -> Result<(), AuthorityError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(AuthorityError::PinsUnreadable {
                path: dir.into(),
                cause: e.to_string(),
            })
        }
    };
    let mode = meta.permissions().mode() & 0o7777;
    let why = if !meta.is_dir() {
        "it is not a folder (or is a symbolic link)".to_string()
    } else if meta.uid() != rustix::process::getuid().as_raw() {
        format!("it belongs to user {}", meta.uid())
    } else if mode & 0o022 != 0 {
        format!("mode {mode:04o} lets other users change it")
    } else {
        return Ok(());
    };
    Err(AuthorityError::PinsFolderUnsafe {
        path: dir.into(),
        why,
    })
}

/// Creates the folder `dir` (0700) if needed and takes an exclusive lock on `dir/.lock` (created
/// 0600), released when the returned file is closed.
fn lock_folder(dir: &Path) -> std::io::Result<std::fs::File> {
    fsutil::create_private_dir(dir)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(dir.join(".lock"))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(file)
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
