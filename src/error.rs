//! The catalogue of everything that can go wrong, one variant per mistake, with its exit status
//! and its one line of advice decided here, in one `match` each.
//!
//! This module imports nothing from the crate: every layer may return an [`Error`], and the
//! dependency arrows of docs/ARCHITECTURE.md all end here. Messages never quote a secret value;
//! they name the field and the rule.

use std::fmt;
use std::path::PathBuf;

/// Exit statuses (docs/ARCHITECTURE.md, "Exit statuses").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Failure,
    Usage,
    NotFound,
    Denied,
    Key,
    Store,
    /// `ohx run` could not start its command: 127 not found, 126 not executable.
    Exec(u8),
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Failure => 1,
            Status::Usage => 2,
            Status::NotFound => 3,
            Status::Denied => 4,
            Status::Key => 5,
            Status::Store => 6,
            Status::Exec(code) => code,
        }
    }
}

/// What kind of trouble the database engine reported, independent of the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbFault {
    Locked,
    Damaged,
    ReadOnly,
    DiskFull,
    CannotOpen,
    Io,
    /// A stored value that does not fit its column's type (`mysql` as a type, text where a
    /// ciphertext belongs, an integer out of range): the store was written outside ohx.
    BadValue,
    Other,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when checking authority. Each check failure is exit status 5 in
/// the catalogue; the pin files' own problems are 1 (or 6 for an unsafe file or folder, like the
/// store's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    #[error("a log entry is malformed ({reason})")]
    Malformed { reason: &'static str },
    #[error("the workspace has no log (no genesis entry)")]
    EmptyLog,
    #[error("the workspace log does not start with a genesis entry")]
    NoGenesis,
    #[error("log entry {seq} is a second genesis")]
    SecondGenesis { seq: u64 },
    #[error("the genesis entry is not signed by the creator it names")]
    GenesisNotSelfSigned,
    #[error("log entry {expected} is missing or out of place (found entry {found} there): entries were removed, reordered or replayed")]
    OutOfSequence { expected: u64, found: u64 },
    #[error("log entry {seq} does not follow the entry before it: the log was edited")]
    BrokenChain { seq: u64 },
    #[error("log entry {seq} has a signature that does not verify: it was forged or altered")]
    BadSignature { seq: u64 },
    #[error("log entry {seq} is signed by {signer}, who was not an admin of the workspace then")]
    NotAnAdmin { seq: u64, signer: String },
    #[error("log entry {seq} adds '{name}', who is already a member")]
    AlreadyMember { seq: u64, name: String },
    #[error(
        "log entry {seq} adds a member under the name '{name}', which is empty or already taken"
    )]
    NameTaken { seq: u64, name: String },
    #[error("log entry {seq} changes {recipient}, who is not a member")]
    NotAMember { seq: u64, recipient: String },
    #[error("log entry {seq} would leave the workspace without an admin")]
    LastAdmin { seq: u64 },
    #[error("log entry {seq} rotates to key version {version}, which is not newer than {current} or reuses the current key")]
    BadRotation {
        seq: u64,
        version: u32,
        current: u32,
    },
    #[error("the key of workspace '{workspace}' (version {version}) stored for you is not the key its log names")]
    WrongWorkspaceKey { workspace: String, version: u32 },
    #[error(
        "connection '{connection}' is signed by {signer}, who is not an admin of the workspace"
    )]
    RecordSignerNotAdmin { connection: String, signer: String },
    #[error("connection '{connection}' fails its signature check: it was changed outside ohx, or signed for another key version")]
    BadRecord { connection: String },
    #[error("the store's log of workspace '{workspace}' ends before entry {pinned}, which you have already seen: the store was rolled back")]
    Rollback { workspace: String, pinned: u64 },
    #[error("the store's log of workspace '{workspace}' differs from the one you have seen at entry {seq}: the log was forked")]
    Fork { workspace: String, seq: u64 },
    #[error("the store's workspace '{workspace}' (fingerprint {fingerprint}) is not the workspace '{workspace}' you have seen before")]
    Replaced {
        workspace: String,
        fingerprint: String,
        /// The pin of the workspace seen before under that slug.
        pinned: PathBuf,
    },
    #[error("the pins file {} is unprotected: mode {mode:04o} lets other users change it", path.display())]
    PinsUnsafe { path: PathBuf, mode: u32 },
    #[error("the pins folder {} is unprotected: {why}", path.display())]
    PinsFolderUnsafe { path: PathBuf, why: String },
    #[error("cannot read the pins file {}: {cause}", path.display())]
    PinsUnreadable { path: PathBuf, cause: String },
    #[error("the pins file {} is damaged", path.display())]
    PinsDamaged { path: PathBuf },
    #[error("the pins file {} was changed by someone without your identity (or belongs to another identity)", path.display())]
    PinsForged { path: PathBuf },
    #[error("cannot write the pins file {}: {cause}", path.display())]
    PinsUnwritable { path: PathBuf, cause: String },
    #[error("no random numbers from the operating system: {0}")]
    NoRandomness(String),
}

impl AuthorityError {
    /// What the user should do next; the catalogue may use it as the hint.
    pub fn hint(&self) -> Option<String> {
        use AuthorityError::*;
        match self {
            Rollback { workspace, .. } => Some(format!(
                "someone put back an older copy of the store; nothing was used. Restore the newest copy, or ask an admin of '{workspace}' which one is current"
            )),
            Fork { workspace, .. } => Some(format!(
                "the history of '{workspace}' was rewritten; nothing was used. Ask an admin of '{workspace}' and compare `ohx workspace show` fingerprints"
            )),
            Replaced { workspace, pinned, .. } => Some(format!(
                "compare this fingerprint with an admin of '{workspace}'; if the workspace really was deleted and created again, remove your pin of the old one, {}",
                pinned.display()
            )),
            WrongWorkspaceKey { workspace, .. } => Some(format!(
                "someone planted a key in the store; an admin of '{workspace}' should run `ohx workspace rotate-key {workspace}`"
            )),
            RecordSignerNotAdmin { connection, .. } | BadRecord { connection } => Some(format!(
                "find out who could write the store file; an admin can delete the connection (`ohx connection delete {connection}`) and add it again"
            )),
            PinsUnsafe { path, .. } => Some(format!("run `chmod 600 {}`", path.display())),
            PinsFolderUnsafe { path, .. } => Some(format!(
                "if the folder is yours, run `chmod 700 {}`; otherwise move it aside: what it pinned is then trusted anew on first sight (compare fingerprints)",
                path.display()
            )),
            PinsForged { path } => Some(format!(
                "find out who can write {}; then move it aside: what it pinned is trusted anew on first sight (compare fingerprints)",
                path.display()
            )),
            PinsDamaged { path } => Some(format!(
                "move {} aside; what it pinned is then trusted anew on first sight (compare fingerprints)",
                path.display()
            )),
            PinsUnreadable { .. } | PinsUnwritable { .. } | NoRandomness(_) => None,
            _ => Some("the workspace log fails its checks: find out who could write the store file, and run `ohx workspace verify`".into()),
        }
    }
}

/// Every error ohx reports, named after what happened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- paths, config, first run ----
    #[error("cannot find a home folder for ohx's files")]
    NoHomeFolder,
    #[error("cannot read config file {path}: {source}")]
    ConfigUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    ConfigInvalid { path: PathBuf, message: String },
    #[error("config file {path} {reason}; refusing to use it")]
    ConfigRefused { path: PathBuf, reason: String },
    #[error("cannot write config file {path}: {source}")]
    ConfigUnwritable {
        path: PathBuf,
        source: std::io::Error,
    },

    // ---- the identity file ----
    #[error("no identity file at {0}")]
    NoIdentity(PathBuf),
    #[error("identity {0} is a symbolic link; refusing to use it")]
    IdentitySymlink(PathBuf),
    #[error("identity {0} is not a regular file")]
    IdentityNotAFile(PathBuf),
    #[error("identity {path} is unprotected: mode {mode:04o} lets other users read it")]
    IdentityUnprotected { path: PathBuf, mode: u32 },
    #[error("identity {path} belongs to another user (uid {uid}); refusing to use it")]
    IdentityNotOwned { path: PathBuf, uid: u32 },
    #[error("identity {path} is too large ({len} bytes; an identity file has at most {max})")]
    IdentityTooLarge { path: PathBuf, len: u64, max: u64 },
    #[error("cannot read identity {path}: {source}")]
    IdentityUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} holds no age identity (AGE-SECRET-KEY-1...)")]
    NotAnIdentity(PathBuf),
    #[error("identity {path} is damaged{}", .detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    IdentityDamaged {
        path: PathBuf,
        detail: Option<String>,
    },
    #[error("identity {0} is encrypted to another key, not with a passphrase")]
    IdentityNotPassphrase(PathBuf),
    #[error("identity {0} needs more scrypt work than this machine allows")]
    IdentityTooCostly(PathBuf),
    #[error("wrong passphrase for identity {0}")]
    WrongPassphrase(PathBuf),
    #[error("your identity is protected by a passphrase and there is no terminal to ask it on")]
    PassphraseNeeded,
    #[error("--passphrase needs a terminal or OHX_PASSPHRASE")]
    NewPassphraseNeeded,
    #[error("the passphrase is empty")]
    EmptyPassphrase,

    // ---- users ----
    #[error("the name '{0}' is already taken by another identity in this store")]
    NameTaken(String),
    #[error("your identity is not registered in the store {0}")]
    NotRegistered(PathBuf),
    #[error("'{name}' is already known in this store with another recipient ({recipient})")]
    NameHasOtherRecipient { name: String, recipient: String },
    #[error("that recipient already belongs to '{0}' in this store")]
    RecipientTaken(String),
    #[error("nobody is known as '{0}' in this store")]
    UnknownPerson(String),
    #[error("'{0}' is not an age recipient")]
    BadRecipient(String),

    // ---- workspaces and roles ----
    #[error("you are not a member of any workspace yet")]
    NoWorkspaceYet,
    #[error("which workspace? you are a member of: {}", .0.join(", "))]
    WhichWorkspace(Vec<String>),
    /// A workspace the user does not belong to looks exactly like one that does not exist.
    #[error("no workspace '{0}' that you are a member of")]
    NotAMember(String),
    #[error("you are {role_with_article} of workspace '{workspace}'; to {action} you need the {needed} role")]
    RoleTooLow {
        workspace: String,
        user: String,
        role_with_article: String,
        action: &'static str,
        needed: &'static str,
    },
    #[error("a workspace with the slug '{0}' already exists")]
    SlugTaken(String),
    #[error("'{name}' is the last admin of '{workspace}'; a workspace must keep one")]
    LastAdmin { name: String, workspace: String },
    #[error("'{name}' is not a member of '{workspace}'")]
    NoSuchMember { name: String, workspace: String },
    #[error("'{name}' is already {role_with_article} of '{workspace}'")]
    AlreadyMember {
        name: String,
        workspace: String,
        role_with_article: String,
    },
    #[error("unknown role '{0}'")]
    UnknownRole(String),

    // ---- connections ----
    #[error("no connection '{id}' in workspace '{workspace}'")]
    NoSuchConnection { workspace: String, id: String },
    #[error("workspace '{workspace}' already has a connection '{id}' ({name}, {kind})")]
    IdentifierTaken {
        workspace: String,
        id: String,
        name: String,
        kind: String,
    },
    #[error("connection '{0}' was replaced while you edited it; try again")]
    ReplacedMeanwhile(String),
    #[error("connection '{connection}' has no field '{field}'")]
    NoSuchField {
        connection: String,
        field: String,
        /// The fields it has, for the hint; empty when unknown.
        codes: Vec<String>,
    },
    #[error("'{code}' is not a field of {kind} connections; the fields are {codes}")]
    UnknownField {
        code: String,
        kind: String,
        codes: String,
    },
    #[error("'{code}' is required for {kind} connections and cannot be removed")]
    RequiredField {
        code: String,
        kind: String,
        secret: bool,
    },
    #[error("'{0}' is not a secret field")]
    NotASecretField(String),
    #[error("'{0}' is a secret field; --set would put its value on the command line, where other users and your shell history can see it")]
    SecretOnArgv(String),
    #[error("--secret {0}=... is not a source: ohx never takes a secret value from the command line, where other users and your shell history can see it")]
    SecretLiteral(String),
    #[error("--set expects CODE=VALUE, got '{0}'")]
    BadSetArgument(String),
    #[error("the field '{0}' is given twice")]
    FieldTwice(String),
    #[error("'{0}' is both set and unset")]
    SetAndUnset(String),
    #[error("only one secret can come from stdin (-)")]
    TwoSecretsFromStdin,
    #[error("--secret {0} asks on a terminal, and there is none (or --no-input was given)")]
    SecretNeedsTerminal(String),
    #[error("--secret {code}=env:{var}: {var} is not set")]
    SecretVariableUnset { code: String, var: String },
    #[error("--secret {code}=file:{path}: cannot read it ({cause})")]
    SecretFileUnreadable {
        code: String,
        path: PathBuf,
        cause: String,
    },
    #[error("the secret '{code}' from {origin} is empty")]
    EmptySecret { code: String, origin: String },
    #[error("the secret '{code}' from {origin} is not valid UTF-8")]
    SecretNotUtf8 { code: String, origin: String },
    #[error("the secret '{code}' from {origin} contains a NUL byte")]
    SecretHasNul { code: String, origin: String },
    #[error("a custom connection needs at least one field")]
    CustomWithoutFields { hint: bool },
    #[error("missing the connection TYPE")]
    MissingType,
    #[error("missing {}", .0.join(", "))]
    MissingFlags(Vec<String>),
    #[error("nothing to change")]
    NothingToChange(&'static str),
    #[error("invalid {what} '{value}': {rule}")]
    InvalidValue {
        what: &'static str,
        value: String,
        rule: String,
    },
    #[error("cannot make {what} from '{name}': it has no letter to start with")]
    NoSlugInName { what: &'static str, name: String },
    #[error("custom connection '{0}' has no URL")]
    NoUrl(String),
    #[error("{failed} of {total} connection{} failed the test", if *.total == 1 { "" } else { "s" })]
    ChecksFailed { failed: usize, total: usize },
    #[error("the check failed ({0}); nothing was saved")]
    CheckFailedNotSaved(String),

    // ---- environment variables ----
    #[error("{first} and {second} both set {name} to different values")]
    VariableClash {
        name: String,
        first: String,
        second: String,
    },
    #[error("{first} and {second} both set {name} to different values")]
    NativeVariableClash {
        name: String,
        first: String,
        second: String,
    },
    #[error("{origin} gives the invalid variable name {name}")]
    BadVariableName { origin: String, name: String },
    #[error("{origin} would set {name}, which changes how programs behave; refusing")]
    SensitiveVariable { origin: String, name: String },
    #[error("identifier '{identifier}' would set {name}, which changes how programs behave")]
    SensitiveIdentifier { identifier: String, name: String },
    #[error(
        "{origin} is too large for an environment variable ({size} bytes; the limit is 128 KiB)"
    )]
    VariableTooLarge { origin: String, size: usize },

    // ---- run ----
    #[error("no command given after --")]
    NoCommand,
    #[error("command not found: {0}")]
    CommandNotFound(String),
    #[error("command not executable: {0}")]
    CommandNotExecutable(String),
    #[error("cannot start {program}: {cause}")]
    CommandFailedToStart { program: String, cause: String },
    #[error("--native-for {0} names none of the connections given with -c")]
    NativeForUnknown(String),
    #[error(
        "the command's environment and arguments take {total} bytes; this system allows {limit}"
    )]
    EnvironmentTooLarge { total: usize, limit: usize },
    #[error("{0} is not a private folder of yours; refusing to put a key there")]
    RuntimeFolderUnsafe(PathBuf),

    // ---- export formats and --output ----
    /// A format whose reader would alter some values: the message names the variables.
    #[error("{0}")]
    FormatRefused(String),
    #[error("--json has no meaning for `ohx {0}`")]
    JsonMeaningless(&'static str),
    #[error("--json prints JSON, and --format {0} asks for something else")]
    JsonAndFormat(String),
    #[error("--output {0} names no file")]
    OutputNoFileName(PathBuf),
    #[error("cannot write {path}: the folder {folder} does not exist")]
    OutputFolderMissing { path: PathBuf, folder: PathBuf },

    // ---- unlock agent ----
    #[error("'{0}' is not a duration")]
    BadDuration(String),
    #[error("{0} is longer than a week")]
    DurationTooLong(String),
    #[error("the agent did not start")]
    AgentDidNotStart(PathBuf),
    #[error("cannot make the agent non-dumpable; refusing to hold a key in it")]
    AgentDumpable,
    #[error("the agent was handed no key")]
    AgentWithoutKey,
    #[error("`ohx agent` is started by `ohx unlock`, not by hand")]
    AgentByHand,

    // ---- confirmation ----
    #[error("refusing to delete without confirmation (no terminal to ask on)")]
    ConfirmationNeeded { command: String },
    #[error("cancelled; nothing was {0}")]
    Cancelled(&'static str),

    // ---- keys and checks (status 5) ----
    #[error("you hold no key for workspace '{0}'")]
    NoKeyHeld(String),
    #[error("your identity cannot unlock the key of workspace '{0}'")]
    NotARecipient(String),
    #[error("the key of workspace '{0}' stored for you fails its checks")]
    BadWrappedKey(String),
    #[error("the secret '{field}' of connection '{connection}' fails its checks (tampered with, or copied from another place)")]
    BadSecret { connection: String, field: String },
    #[error("connection '{0}' fails its integrity check: it was changed outside ohx")]
    BadRecord(String),
    #[error("encryption failed: {0}")]
    Encrypt(String),
    #[error("a key rotation worker stopped unexpectedly; nothing was changed")]
    RotationWorkerLost,

    // ---- OpenHEXA: the server, the login file, sync ----
    #[error("cannot reach the OpenHEXA server {server}: {detail}")]
    OpenhexaUnreachable { server: String, detail: String },
    #[error("TLS failure talking to the OpenHEXA server {server}: {detail}")]
    OpenhexaTls { server: String, detail: String },
    #[error("the OpenHEXA server {server} did not answer within {seconds} s")]
    OpenhexaTimeout { server: String, seconds: u64 },
    #[error("the OpenHEXA server {server} does not accept your token (wrong, expired or revoked)")]
    OpenhexaBadToken { server: String },
    #[error("the OpenHEXA server {server} refused: {what}")]
    OpenhexaDenied { server: String, what: String },
    #[error("the OpenHEXA server {server} has no workspace '{workspace}' that your token can see")]
    OpenhexaNoWorkspace { server: String, workspace: String },
    #[error("the OpenHEXA server {server} refused the change: {codes}")]
    OpenhexaRefused { server: String, codes: String },
    #[error("the OpenHEXA server {server} failed: {detail}")]
    OpenhexaServer { server: String, detail: String },
    #[error("which OpenHEXA workspace? name it with --workspace SLUG")]
    OpenhexaWorkspaceNeeded,
    #[error("'{0}' is not an OpenHEXA server address")]
    OpenhexaBadUrl(String),
    #[error("--token is not a source: ohx never takes a token from the command line, where other users and your shell history can see it")]
    TokenLiteral,
    #[error("the token is empty")]
    EmptyToken,
    #[error("you are not logged in to any OpenHEXA workspace")]
    NotLoggedIn,
    #[error("you are not logged in to an OpenHEXA workspace '{workspace}'")]
    NoSuchLogin { workspace: String, known: String },
    #[error("which OpenHEXA workspace? you are logged in to: {0}")]
    WhichLogin(String),
    #[error("{0} is a symbolic link; refusing to use it")]
    LoginFileSymlink(PathBuf),
    #[error("{path} is unprotected: mode {mode:04o} lets other users read it")]
    LoginFileUnprotected { path: PathBuf, mode: u32 },
    #[error("{path} is not a valid login file: {message}")]
    LoginFileInvalid { path: PathBuf, message: String },
    #[error("{0} was encrypted to another identity than the one loaded")]
    TokenOtherIdentity(String),
    #[error("{0} cannot be decrypted: it is damaged")]
    TokenDamaged(String),
    #[error("{0} connection(s) changed on both sides and were left alone; the rest was done")]
    SyncConflicts(usize),
    #[error("{count} connection(s) could not be {verb} (the reason is beside each); the rest was {verb}")]
    SyncIncomplete { count: usize, verb: &'static str },
    #[error("cannot write workspace.yaml: {0}")]
    WorkspaceYaml(String),
    #[error("two connections are named '{0}'; workspace.yaml has one entry per identifier")]
    WorkspaceYamlClash(String),

    // ---- the store (status 6) ----
    #[error("no store at {0}")]
    StoreMissing(PathBuf),
    #[error("store {0} is a symbolic link; refusing to use it")]
    StoreSymlink(PathBuf),
    #[error("store {0} is not a regular file")]
    StoreNotAFile(PathBuf),
    #[error("store {path} is unprotected: mode {mode:04o} lets other users read it")]
    StoreUnprotected { path: PathBuf, mode: u32 },
    #[error("the store's folder {path} has mode {mode:04o}: other users may put files in it")]
    StoreFolderShared { path: PathBuf, mode: u32 },
    #[error("{} belongs to the group '{group}', but its shared folder {} to the group '{folder_group}'", .path.display(), .folder.display())]
    StoreGroupMismatch {
        path: PathBuf,
        group: String,
        folder: PathBuf,
        folder_group: String,
    },
    #[error("you may not open the store {0}: permission denied")]
    StoreDenied(PathBuf),
    #[error("store {0} is empty (0 bytes)")]
    StoreEmpty(PathBuf),
    #[error("{0} is not an ohx store")]
    NotAStore(PathBuf),
    #[error("store {0} is truncated")]
    StoreTruncated(PathBuf),
    #[error(
        "store {path} was written by a newer ohx (schema {found}; this ohx knows up to {known})"
    )]
    StoreNewer {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("cannot access store {path}: {source}")]
    StoreIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the store {path}: {cause}")]
    StoreCannotOpen { path: PathBuf, cause: String },
    #[error("the disk holding the store {0} is full; nothing was changed")]
    StoreDiskFull(PathBuf),
    #[error("{}", describe_db(.fault, .detail))]
    Database { fault: DbFault, detail: String },
    #[error("the store has schema objects ohx did not create ({}); refusing to use it", .0.join(", "))]
    ForeignSchema(Vec<String>),

    // ---- signed authority (docs/SECURITY.md, "Signed authority") ----
    #[error(transparent)]
    Authority(#[from] AuthorityError),
    #[error("workspace '{asked}' is signed as '{signed}': the store's rows were changed")]
    SlugMismatch { asked: String, signed: String },
    #[error("the signed log of workspace '{0}' is missing, but you have seen it signed before")]
    LogRemoved(String),
    #[error("workspace '{workspace}' fails {count} check(s)")]
    VerifyFailed { workspace: String, count: usize },
    #[error("workspace '{0}' has no signed history yet")]
    Unsigned(String),
    /// The store lists the user as a member, but the verified log does not: it breaks before the
    /// entry that would make them one, or ends before it (cut short, or the row was planted).
    #[error("the store lists you as a member of workspace '{workspace}', but its signed log does not: {why}")]
    MembershipUnverified { workspace: String, why: String },

    // ---- a store on a PostgreSQL server ----
    #[error("invalid store URL {url}: {why}")]
    StoreUrlInvalid { url: String, why: String },
    #[error("the store URL {0} holds a password; ohx never takes one there")]
    StoreUrlHasPassword(String),
    #[error("password file {path} is unprotected: mode {mode:04o} lets other users read it")]
    PasswordFileUnprotected { path: PathBuf, mode: u32 },
    #[error("cannot reach the store {target}: {detail}")]
    StoreUnreachable { target: String, detail: String },
    #[error("the database '{database}' of the store {target} does not exist")]
    StoreDatabaseMissing { target: String, database: String },
    #[error("the server of the store {target} refused the login: {detail}")]
    StoreAuthFailed { target: String, detail: String },
    #[error("no secure connection to the store {target}: {detail}")]
    StoreTls { target: String, detail: String },
    #[error(
        "lost the connection to the store {target} in the middle of the command ({detail}); {}",
        if *.wrote_before {
            "what it had saved before stays saved, the rest was not saved"
        } else {
            "nothing was changed"
        }
    )]
    StoreConnectionLost {
        target: String,
        detail: String,
        /// Whether the command had already committed a write, which stays.
        wrote_before: bool,
    },
    #[error(
        "lost the connection to the store {target} while saving the change ({detail}); it may or may not have been saved"
    )]
    StoreCommitUncertain { target: String, detail: String },

    // ---- held connections (`ohx store hold`) ----
    #[error("{0} is a SQLite file: `ohx store hold` keeps PostgreSQL connections open, and a file needs none")]
    HoldNeedsDatabase(String),
    #[error("could not hold a connection to {store}: {detail}")]
    HoldDidNotStart { store: String, detail: String },
    #[error("`ohx store-relay` is started by `ohx store hold`, not by hand")]
    HoldByHand,

    // ---- one store file, several accounts (`ohx store share`) ----
    #[error("`ohx store share` shares a store file, and {0} is a database")]
    ShareNeedsFile(String),
    #[error("no Unix group '{0}' on this system")]
    UnknownGroup(String),
    #[error("you are not a member of the group '{0}'")]
    NotInGroup(String),
    #[error("{} belongs to another user (uid {uid}); only its owner can share it", .path.display())]
    ShareNotOwner { path: PathBuf, uid: u32 },
    #[error(
        "the store's folder {0} is your home folder; sharing it would give the group your home"
    )]
    ShareHomeFolder(PathBuf),
    #[error("the store's folder {} also holds {}; the group could replace or delete them", .path.display(), .others.join(", "))]
    ShareFolderNotEmpty { path: PathBuf, others: Vec<String> },
    #[error("cannot share {}: {source}", .path.display())]
    ShareFailed {
        path: PathBuf,
        source: std::io::Error,
    },

    // ---- moving a store (`ohx store copy`) ----
    #[error("{0} already exists; `ohx store copy` writes only a new file and left it untouched")]
    CopyTargetFileExists(PathBuf),
    #[error("the database of {0} is not empty; `ohx store copy` fills only an empty database and left it untouched")]
    CopyTargetNotEmpty(String),
    #[error("cannot create the store's tables in {target}: {detail}")]
    CopyTargetDenied { target: String, detail: String },
    #[error("the copy to {target} stopped at a row of {table} it refused ({detail}); nothing was written")]
    CopyRowRefused {
        target: String,
        table: &'static str,
        detail: String,
    },
    #[error(
        "the copy in {target} does not match its source ({table}: {detail}); nothing was written"
    )]
    CopyMismatch {
        target: String,
        table: &'static str,
        detail: String,
    },
}

fn describe_db(fault: &DbFault, detail: &str) -> String {
    match fault {
        DbFault::Locked => "the store is locked by another ohx process".into(),
        DbFault::Damaged => format!("the store is damaged ({detail})"),
        DbFault::ReadOnly => "the store is read-only".into(),
        DbFault::DiskFull => "the disk holding the store is full; nothing was changed".into(),
        DbFault::CannotOpen => format!("cannot open the store ({detail})"),
        DbFault::Io => format!("input/output error on the store ({detail})"),
        DbFault::BadValue => format!("the store holds a value ohx did not write ({detail})"),
        DbFault::Other => format!("store error: {detail}"),
    }
}

impl Error {
    /// The exit status for this error.
    pub fn status(&self) -> Status {
        use Error::*;
        match self {
            NoHomeFolder
            | ConfigUnreadable { .. }
            | ConfigInvalid { .. }
            | ConfigRefused { .. }
            | ConfigUnwritable { .. } => Status::Failure,

            NoIdentity(_)
            | IdentitySymlink(_)
            | IdentityNotAFile(_)
            | IdentityUnprotected { .. }
            | IdentityNotOwned { .. }
            | IdentityTooLarge { .. }
            | IdentityUnreadable { .. }
            | NotAnIdentity(_)
            | IdentityDamaged { .. }
            | IdentityNotPassphrase(_)
            | IdentityTooCostly(_)
            | WrongPassphrase(_)
            | PassphraseNeeded => Status::Key,
            NewPassphraseNeeded | EmptyPassphrase => Status::Usage,

            NameTaken(_)
            | NameHasOtherRecipient { .. }
            | RecipientTaken(_)
            | BadRecipient(_)
            | UnknownPerson(_) => Status::Usage,
            NotRegistered(_) => Status::Denied,

            NoWorkspaceYet | WhichWorkspace(_) | UnknownRole(_) => Status::Usage,
            NotAMember(_) | RoleTooLow { .. } => Status::Denied,
            SlugTaken(_) | LastAdmin { .. } | AlreadyMember { .. } => Status::Failure,
            NoSuchMember { .. } => Status::NotFound,

            NoSuchConnection { .. } | NoSuchField { .. } => Status::NotFound,
            IdentifierTaken { .. } | ReplacedMeanwhile(_) => Status::Failure,
            UnknownField { .. }
            | RequiredField { .. }
            | NotASecretField(_)
            | SecretOnArgv(_)
            | SecretLiteral(_)
            | BadSetArgument(_)
            | FieldTwice(_)
            | SetAndUnset(_)
            | TwoSecretsFromStdin
            | SecretNeedsTerminal(_)
            | SecretVariableUnset { .. }
            | SecretFileUnreadable { .. }
            | EmptySecret { .. }
            | SecretNotUtf8 { .. }
            | SecretHasNul { .. }
            | CustomWithoutFields { .. }
            | MissingType
            | MissingFlags(_)
            | NothingToChange(_)
            | InvalidValue { .. }
            | NoSlugInName { .. }
            | NoUrl(_)
            | SensitiveIdentifier { .. } => Status::Usage,

            VariableClash { .. }
            | NativeVariableClash { .. }
            | BadVariableName { .. }
            | SensitiveVariable { .. } => Status::Failure,
            VariableTooLarge { .. }
            | NoCommand
            | NativeForUnknown(_)
            | EnvironmentTooLarge { .. } => Status::Usage,
            CommandNotFound(_) => Status::Exec(127),
            CommandNotExecutable(_) | CommandFailedToStart { .. } => Status::Exec(126),
            RuntimeFolderUnsafe(_) => Status::Failure,

            FormatRefused(_) | OutputFolderMissing { .. } => Status::Failure,
            OutputNoFileName(_) | JsonAndFormat(_) | JsonMeaningless(_) => Status::Usage,
            BadDuration(_) | DurationTooLong(_) | AgentByHand => Status::Usage,
            AgentDidNotStart(_) | AgentDumpable | AgentWithoutKey => Status::Failure,

            ConfirmationNeeded { .. } => Status::Usage,
            Cancelled(_) => Status::Failure,
            ChecksFailed { .. } | CheckFailedNotSaved(_) => Status::Failure,

            NoKeyHeld(_)
            | NotARecipient(_)
            | BadWrappedKey(_)
            | BadSecret { .. }
            | BadRecord(_) => Status::Key,
            Encrypt(_) | RotationWorkerLost => Status::Failure,

            OpenhexaUnreachable { .. }
            | OpenhexaTls { .. }
            | OpenhexaTimeout { .. }
            | OpenhexaRefused { .. }
            | OpenhexaServer { .. }
            | LoginFileSymlink(_)
            | LoginFileUnprotected { .. }
            | LoginFileInvalid { .. }
            | SyncConflicts(_)
            | SyncIncomplete { .. } => Status::Failure,
            OpenhexaBadToken { .. } | TokenOtherIdentity(_) | TokenDamaged(_) => Status::Key,
            OpenhexaDenied { .. } => Status::Denied,
            OpenhexaNoWorkspace { .. } | NoSuchLogin { .. } => Status::NotFound,
            OpenhexaWorkspaceNeeded
            | OpenhexaBadUrl(_)
            | TokenLiteral
            | EmptyToken
            | NotLoggedIn
            | WhichLogin(_)
            | WorkspaceYaml(_)
            | WorkspaceYamlClash(_) => Status::Usage,

            StoreMissing(_)
            | StoreSymlink(_)
            | StoreNotAFile(_)
            | StoreUnprotected { .. }
            | StoreFolderShared { .. }
            | StoreGroupMismatch { .. }
            | StoreEmpty(_)
            | NotAStore(_)
            | StoreTruncated(_)
            | StoreNewer { .. }
            | StoreIo { .. }
            | StoreCannotOpen { .. }
            | StoreDiskFull(_) => Status::Store,
            StoreUrlInvalid { .. } | StoreUrlHasPassword(_) => Status::Usage,
            PasswordFileUnprotected { .. }
            | StoreUnreachable { .. }
            | StoreDatabaseMissing { .. }
            | StoreAuthFailed { .. }
            | StoreTls { .. }
            | StoreConnectionLost { .. }
            | StoreCommitUncertain { .. } => Status::Store,
            // Like a missing store (6), the mirror case: the target is not the kind of store the
            // command needs, and scripts already read 6 as "look at the store".
            CopyTargetFileExists(_)
            | CopyTargetNotEmpty(_)
            | CopyTargetDenied { .. }
            | CopyRowRefused { .. }
            | CopyMismatch { .. } => Status::Store,
            Database { fault, .. } => match fault {
                DbFault::Other => Status::Failure,
                _ => Status::Store,
            },
            ForeignSchema(_) => Status::Store,
            Authority(e) => match e {
                AuthorityError::PinsUnsafe { .. } | AuthorityError::PinsFolderUnsafe { .. } => {
                    Status::Store
                }
                AuthorityError::PinsUnreadable { .. }
                | AuthorityError::PinsUnwritable { .. }
                | AuthorityError::NoRandomness(_) => Status::Failure,
                _ => Status::Key,
            },
            SlugMismatch { .. }
            | LogRemoved(_)
            | VerifyFailed { .. }
            | MembershipUnverified { .. } => Status::Key,
            Unsigned(_) => Status::NotFound,
            StoreDenied(_) | NotInGroup(_) | ShareNotOwner { .. } => Status::Denied,
            ShareNeedsFile(_) | UnknownGroup(_) => Status::Usage,
            HoldNeedsDatabase(_) | HoldByHand => Status::Usage,
            HoldDidNotStart { .. } => Status::Store,
            ShareHomeFolder(_) | ShareFolderNotEmpty { .. } | ShareFailed { .. } => Status::Store,
        }
    }

    /// What the user should do next, when there is one thing to say.
    pub fn hint(&self) -> Option<String> {
        use Error::*;
        let text = match self {
            NoHomeFolder => "set OHX_HOME to the folder ohx should use".into(),
            ConfigInvalid { .. } => {
                "fix the line named above; valid keys are default_workspace, store and identity"
                    .into()
            }
            ConfigRefused { path, .. } => format!(
                "make {} a regular file of yours that only you may write (`chmod 600`), or point OHX_CONFIG elsewhere",
                path.display()
            ),
            NoIdentity(_) => {
                "run `ohx init` to create one, or point --identity / OHX_IDENTITY at yours".into()
            }
            IdentitySymlink(_) => "point --identity at the real file".into(),
            IdentityUnprotected { path, .. } => format!("run `chmod 600 {}`", path.display()),
            NotAnIdentity(_) | IdentityTooLarge { .. } => {
                "point --identity at an age-keygen or `ohx init` identity file".into()
            }
            IdentityNotOwned { .. } => "use your own identity file".into(),
            WrongPassphrase(_) => "check OHX_PASSPHRASE, or type it again".into(),
            PassphraseNeeded => {
                "set OHX_PASSPHRASE for automation, or run ohx on a terminal".into()
            }
            NewPassphraseNeeded => {
                "set OHX_PASSPHRASE in the environment (never on the command line)".into()
            }
            NameTaken(_) => "choose another with `ohx init --name NAME`".into(),
            NotRegistered(_) => "run `ohx init --name NAME` with this store and identity".into(),
            NameHasOtherRecipient { .. } => {
                "check the recipient, or add this person under another name".into()
            }
            RecipientTaken(name) => format!("add them by that name: `ohx member add {name} ...`"),
            UnknownPerson(_) => "give their recipient with --recipient AGE1...; they get it with `ohx whoami --recipient`".into(),
            BadRecipient(_) => "a recipient looks like age1... ; the person gets theirs with `ohx whoami --recipient`".into(),
            NoWorkspaceYet => "create one with `ohx workspace create NAME`".into(),
            WhichWorkspace(_) => {
                "pass -w SLUG, or choose a default with `ohx workspace use SLUG`".into()
            }
            NotAMember(_) => "see yours with `ohx workspace list`".into(),
            RoleTooLow {
                workspace,
                user,
                needed,
                ..
            } => format!(
                "ask an admin of '{workspace}' to run `ohx member set-role {user} {needed} -w {workspace}`"
            ),
            SlugTaken(_) => "choose another with --slug".into(),
            LastAdmin { .. } => {
                "make someone else admin first with `ohx member set-role NAME admin`".into()
            }
            NoSuchMember { .. } => "see the members with `ohx member list`".into(),
            AlreadyMember { name, .. } => {
                format!("change the role with `ohx member set-role {name} ROLE`")
            }
            UnknownRole(_) => "roles are viewer, editor and admin".into(),
            NoSuchConnection { workspace, .. } => {
                format!("see them with `ohx connection list -w {workspace}`")
            }
            IdentifierTaken { .. } => "choose another identifier with --slug, or change that one with `ohx connection edit`".into(),
            NoSuchField { codes, .. } if !codes.is_empty() => {
                format!("its fields are {}", codes.join(", "))
            }
            RequiredField { code, secret, .. } => {
                if *secret {
                    format!("give it a new value with --secret {code}")
                } else {
                    format!("change its value with --set {code}=VALUE")
                }
            }
            NotASecretField(code) => format!("give it with --set {code}=VALUE"),
            SecretOnArgv(code) => format!("use --secret {code} (asks), --secret {code}=- (stdin), --secret {code}=env:VAR or --secret {code}=file:PATH"),
            SecretLiteral(_) | SecretNeedsTerminal(_) => SOURCES_HINT.into(),
            TwoSecretsFromStdin => "read the others from env:VAR or file:PATH".into(),
            CustomWithoutFields { hint: true } => {
                "declare fields with --set CODE=VALUE and --secret CODE=SOURCE".into()
            }
            MissingType => "ohx connection add postgresql|dhis2|iaso|s3|gcs|custom ...".into(),
            MissingFlags(flags) => {
                let mut hint = String::new();
                if flags.iter().any(|f| f.starts_with("--name")) {
                    hint.push_str("NAME is what people see, e.g. --name \"Data warehouse\"; ");
                }
                if flags.iter().any(|f| f.starts_with("--secret")) {
                    hint.push_str("SOURCE is - (stdin), env:VAR or file:PATH; ");
                }
                hint.push_str("on a terminal, ohx asks for what is missing");
                hint
            }
            NothingToChange(flags) => (*flags).into(),
            NoSlugInName { .. } => "give one with --slug".into(),
            NoUrl(_) => "read single fields with `ohx connection get ID FIELD`".into(),
            ChecksFailed { .. } => "each line says why; fix the stored fields with `ohx connection edit ID`, or the account at the source".into(),
            CheckFailedNotSaved(_) => {
                "correct the values, or keep them as they are with --save-anyway".into()
            }
            VariableClash { .. } => {
                "export them separately, or give one connection another identifier".into()
            }
            NativeVariableClash { name, .. } => format!(
                "choose which connection gets {name} and its family with `ohx run --native-for ID`, or leave them out (`ohx run --no-native`; `connection env` without --native)"
            ),
            SensitiveVariable { .. } => "rename the connection with a new identifier".into(),
            SensitiveIdentifier { .. } => "choose another identifier with --slug".into(),
            VariableTooLarge { .. } => {
                "read it with `ohx connection get ID FIELD` into a file instead".into()
            }
            NativeForUnknown(_) => "give the identifier of one of the -c connections".into(),
            EnvironmentTooLarge { .. } => "run fewer connections at once, or write large values to a file with `ohx connection get ID FIELD`".into(),
            RuntimeFolderUnsafe(_) => {
                "remove it, or set XDG_RUNTIME_DIR to a private folder".into()
            }
            FormatRefused(_) => "`ohx run` hands every value over exactly; the README's table of formats says which reader takes what".into(),
            OutputNoFileName(_) => "give a file name, such as --output .env".into(),
            JsonAndFormat(_) => "give one of them: --json is --format json".into(),
            JsonMeaningless("run") => "the command's own output is what `ohx run` prints; drop --json".into(),
            JsonMeaningless(_) => "drop --json".into(),
            OutputFolderMissing { .. } => {
                "create the folder first, or choose another --output".into()
            }
            BadDuration(_) => "write it like 90s, 30m, 8h, 1d or 1h30m".into(),
            DurationTooLong(_) => {
                "unlock for at most 7d; run `ohx unlock` again when it ends".into()
            }
            AgentDidNotStart(folder) => format!(
                "check that {} is a private folder of yours",
                folder.display()
            ),
            AgentByHand => "run `ohx unlock`".into(),
            ConfirmationNeeded { command } => format!("add --yes: `{command} --yes`"),
            NotARecipient(_) => {
                "check that --identity / OHX_IDENTITY points at your own identity file".into()
            }
            BadSecret { .. } => {
                "an admin should set the secret again with `ohx connection edit ... --secret CODE`"
                    .into()
            }
            BadRecord(id) => format!(
                "find out who could write the store file; an admin can delete the connection (`ohx connection delete {id}`) and add it again"
            ),
            StoreMissing(p) => format!("create it with `ohx init --store {}`", p.display()),
            StoreSymlink(_) => "point --store at the real file".into(),
            StoreUnprotected { path, .. } => format!("run `chmod 600 {}`", path.display()),
            StoreFolderShared { path, .. } => format!(
                "keep the store in a folder only you may write, or run `chmod go-w {}` if it is yours; to share it with a group, use `ohx store share GROUP`",
                path.display()
            ),
            StoreGroupMismatch { folder_group, .. } => format!(
                "its owner can give it the folder's group again with `ohx store share {folder_group}`"
            ),
            StoreDenied(path) => format!(
                "check the permissions of {} and its folder; a store shared with `ohx store share GROUP` opens only for that group's members: ask its owner to have you added to the group, then log in again",
                path.display()
            ),
            ShareNeedsFile(_) => "on PostgreSQL the members share the database: give each their own database role with access to it, then add them with `ohx member add`".into(),
            UnknownGroup(_) => "give a group you belong to; `id -Gn` lists yours".into(),
            HoldNeedsDatabase(_) => "use it with a postgresql:// store: `ohx --store postgresql://USER@HOST/DB store hold`".into(),
            HoldDidNotStart { .. } => "check that plain commands reach the store (`ohx whoami`), and that the runtime folder is a private folder of yours".into(),
            HoldByHand => "run `ohx store hold`".into(),
            NotInGroup(_) => "give a group you belong to (`id -Gn` lists yours), or ask an administrator to add you (`usermod -aG GROUP USER`), then log in again".into(),
            ShareNotOwner { .. } => "ask the owner to run `ohx store share`".into(),
            ShareHomeFolder(_) | ShareFolderNotEmpty { .. } => "give the store a folder of its own: `ohx store copy STORE /srv/ohx/team.db`, then share that one".into(),
            StoreEmpty(_) | StoreTruncated(_) => {
                "restore it from a backup; ohx will not replace it with an empty store".into()
            }
            NotAStore(_) => "check --store / OHX_STORE".into(),
            StoreCannotOpen { path, .. } => format!(
                "check that you may read and write the store and its folder {} (SQLite keeps -wal and -shm files beside the store)",
                path.parent().map(|d| d.display().to_string()).unwrap_or_default()
            ),
            StoreDiskFull(_) => "free some space and try again".into(),
            StoreNewer { .. } => "upgrade ohx; this store was left untouched".into(),
            StoreUrlInvalid { .. } => "write it as postgresql://USER@HOST:PORT/DATABASE, optionally with ?sslmode=disable|prefer|require|verify-full".into(),
            StoreUrlHasPassword(_) => "remove the password from the URL; put it in PGPASSWORD or in ~/.pgpass (mode 0600)".into(),
            PasswordFileUnprotected { path, .. } => format!("run `chmod 600 {}`", path.display()),
            StoreUnreachable { .. } => "check that the server is running and that the host and port in the URL are right; nothing was changed".into(),
            StoreDatabaseMissing { target, database } => format!(
                "create it (`createdb '{database}'`), then run `ohx init --store {target}`"
            ),
            StoreAuthFailed { .. } => "check the user in the URL, and give its password in PGPASSWORD or ~/.pgpass (mode 0600)".into(),
            StoreTls { .. } => "check sslmode and sslrootcert in the URL (verify-full needs the certificate of the server's authority)".into(),
            CopyTargetFileExists(_) => "name a new file; to replace an old backup, remove it first".into(),
            CopyTargetNotEmpty(_) => "copy into a new, empty database (`createdb NAME`); ohx never mixes two stores".into(),
            CopyTargetDenied { .. } => "copy into a database your role owns, or ask its owner for `GRANT CREATE ON SCHEMA public TO <your role>`; nothing was written".into(),
            CopyRowRefused { .. } => "the source holds a row ohx would not have written (someone changed it outside ohx); `ohx workspace verify` on the source names what fails".into(),
            CopyMismatch { .. } => "the target stored a value differently from how it was read: the source holds a value of the wrong type for its column (written outside ohx; `ohx workspace verify` on the source names damaged records), or the target's server or disk is at fault".into(),
            StoreConnectionLost { .. } => "check that the server is running (it may have been stopped, or the session ended by its administrator), then try again".into(),
            StoreCommitUncertain { .. } => "once the server answers again, look whether the change is there (`ohx connection list`, `ohx member list`, `ohx workspace verify`) before you try again".into(),
            Database { fault, .. } => match fault {
                DbFault::Locked => "try again when the other ohx command has finished".into(),
                DbFault::ReadOnly => "check the permissions of the store and its folder".into(),
                DbFault::DiskFull => "free some space and try again".into(),
                DbFault::BadValue => "find out who could write the store file; restore it from a backup (`ohx workspace verify` names what fails)".into(),
                _ => return None,
            },
            ForeignSchema(_) => "someone planted objects in the store's schema; nothing was changed. Restore it from a backup".into(),
            Authority(e) => return e.hint(),
            SlugMismatch { signed, .. } => format!(
                "find out who could write the store file; `ohx workspace verify {signed}` checks the workspace its log names"
            ),
            LogRemoved(ws) => format!(
                "someone removed the history of '{ws}' from the store; nothing was used. Restore the store from a backup, or ask an admin of '{ws}'"
            ),
            Unsigned(ws) => format!("an admin's next change to '{ws}' signs it and starts its history"),
            MembershipUnverified { workspace, .. } => format!(
                "nothing was used. Find out who could write the store; an admin of '{workspace}' sees every problem with `ohx workspace verify`, and their next change replaces the broken entry"
            ),
            VerifyFailed { workspace, .. } => format!(
                "find out who could write the store file; an admin of '{workspace}' can delete what fails and add it again"
            ),
            OpenhexaUnreachable { .. } => {
                "check the URL given to `ohx openhexa login` and that the server is up".into()
            }
            OpenhexaTls { .. } => "check that the URL's scheme (https:// or http://) is right and that the server's certificate is valid".into(),
            OpenhexaTimeout { .. } => {
                "try again; set OHX_OPENHEXA_TIMEOUT=SECONDS for a slow server".into()
            }
            OpenhexaBadToken { .. } => "make a new token in the OpenHEXA workspace settings and run `ohx openhexa login` again".into(),
            OpenhexaDenied { .. } => {
                "ask an admin of the OpenHEXA workspace for the role this needs".into()
            }
            OpenhexaNoWorkspace { .. } => {
                "check the workspace slug (it is in the workspace's address on OpenHEXA)".into()
            }
            OpenhexaRefused { .. } => "fix what the server names and try again".into(),
            OpenhexaServer { .. } => "try again later; the server's log says more".into(),
            OpenhexaWorkspaceNeeded => {
                "the slug is in the workspace's address on OpenHEXA: /workspaces/SLUG/".into()
            }
            OpenhexaBadUrl(_) => {
                "give it as https://HOST (for example https://app.openhexa.org)".into()
            }
            TokenLiteral | EmptyToken => TOKEN_SOURCES.into(),
            NotLoggedIn => "run `ohx openhexa login URL --workspace SLUG`".into(),
            NoSuchLogin { known, .. } => format!("you are logged in to: {known}"),
            WhichLogin(_) => "pass --remote SLUG".into(),
            LoginFileSymlink(_) => "replace it with the real file, or remove it and log in again".into(),
            LoginFileUnprotected { path, .. } => format!("run `chmod 600 {}`", path.display()),
            LoginFileInvalid { .. } => "remove it and run `ohx openhexa login` again".into(),
            TokenOtherIdentity(_) => {
                "use the identity you logged in with (--identity), or log in again".into()
            }
            TokenDamaged(_) => "run `ohx openhexa login` again".into(),
            SyncConflicts(_) => "look at the differences above, then run again with --prefer local or --prefer remote".into(),
            WorkspaceYaml(_) => "rename that field of the custom connection".into(),
            _ => return None,
        };
        Some(text)
    }
}

const TOKEN_SOURCES: &str =
    "--token takes - (stdin), env:VAR or file:PATH; without it, ohx asks on the terminal";

const SOURCES_HINT: &str = "give secrets as --secret CODE (asks on the terminal), CODE=- (stdin), CODE=env:VAR or CODE=file:PATH";

/// Whether the error is a closed stdout pipe, which ends the program quietly with status 0.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The status and hint of the first catalogued error in the chain; status 1 when none is.
pub fn classify(err: &anyhow::Error) -> (Status, Option<String>) {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Error>())
        .map_or((Status::Failure, None), |e| (e.status(), e.hint()))
}

/// The message printed after `error: `: every cause of the chain, outermost first.
pub fn render(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        // Contexts often repeat their cause's text; print each piece once.
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}
