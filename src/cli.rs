//! The command line, as clap derive types only: no I/O here.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::domain::export::Format;
use crate::domain::{ConnectionType, Role};

/// The shells `ohx completions` knows.
pub const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

const ABOUT: &str = "Workspaces and typed, encrypted connections for OpenHEXA-style pipelines";

const LONG_ABOUT: &str = "\
ohx keeps OpenHEXA-style workspaces and typed connections (PostgreSQL, DHIS2, IASO, S3, GCS,
custom) in a local SQLite file or a team's PostgreSQL database. Secret fields are encrypted with age to a per-workspace key
that only editors and admins hold, and credentials reach scripts as the environment variables
the OpenHEXA SDK reads.";

const EXAMPLES: &str = "\
Examples:
  ohx workspace create \"Malaria Programme\"     # slug: malaria-programme
  ohx connection add dhis2                      # asks for url, username, password
  ohx connection list --workspace malaria-programme
  ohx run -c warehouse -- psql -c 'select 1'
  env=$(ohx connection env dhis2-prod) || exit; eval \"$env\"";

#[derive(Debug, Parser)]
#[command(name = "ohx", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
#[command(propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The store: a file, or postgresql://USER@HOST:PORT/DB [default:
    /// ~/.local/share/ohx/ohx.db, or $OHX_HOME/ohx.db]
    #[arg(
        long,
        global = true,
        env = "OHX_STORE",
        value_name = "STORE",
        hide_env_values = true
    )]
    pub store: Option<PathBuf>,
    /// Your age identity file [default: ~/.config/ohx/identity.txt, or $OHX_HOME/identity.txt]
    #[arg(
        long,
        global = true,
        env = "OHX_IDENTITY",
        value_name = "PATH",
        hide_env_values = true
    )]
    pub identity: Option<PathBuf>,
    /// The workspace to act in [default: config's default_workspace, else your only one]
    #[arg(
        short = 'w',
        long,
        global = true,
        env = "OHX_WORKSPACE",
        hide_env_values = true,
        value_name = "SLUG"
    )]
    pub workspace: Option<String>,
    /// Print one JSON document (read commands)
    #[arg(long, global = true)]
    pub json: bool,
    /// Never prompt (implied when there is no terminal)
    #[arg(long, global = true)]
    pub no_input: bool,
    /// Print less: no notices, no confirmations of writes
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the store, your identity and your user (safe to run again)
    #[command(
        long_about = "Create the store, your age identity and your user record.\n\n\
        Safe to run again: nothing that exists is replaced. With --store, creates a store at that \
        path; with an existing identity, registers it in the store.",
        after_help = "Examples:\n  ohx init --name amina\n  ohx init --name amina --passphrase    # asks for a passphrase twice\n  ohx init --store /srv/team/ohx.db"
    )]
    Init {
        /// Your name in this store [default: $USER]
        #[arg(long)]
        name: Option<String>,
        /// Protect a new identity with a passphrase (asked on the terminal, or OHX_PASSPHRASE)
        #[arg(long)]
        passphrase: bool,
    },
    /// Show who you are: user, recipient, store, identity and workspaces
    ///
    /// Prints the user your identity is registered as in this store, your age recipient (the
    /// public half of your identity, safe to share), the store and identity paths in use, and
    /// your role in each workspace. `--recipient` prints only the recipient, for sending to an
    /// admin.
    #[command(
        after_help = "Examples:\n  ohx whoami\n  ohx whoami --recipient        # send this to a workspace admin\n  ohx whoami --rename amina     # the name others know you by in this store"
    )]
    Whoami {
        /// Print only your age recipient, to give to a workspace admin
        #[arg(long, conflicts_with = "rename")]
        recipient: bool,
        /// Change the name you are known by in this store
        #[arg(long, value_name = "NAME")]
        rename: Option<String>,
    },
    /// Create and manage workspaces
    ///
    /// A workspace groups connections and the people who may use them, like an OpenHEXA
    /// workspace. Each has its own encryption key, held only by its editors and admins.
    #[command(subcommand)]
    Workspace(Deferred<WorkspaceCommand>),
    /// Share a workspace: add, list and remove members, change roles
    ///
    /// Roles: viewer (sees connections and non-secret fields), editor (also uses secrets),
    /// admin (also manages connections and members). Adding an editor or admin gives them the
    /// workspace key; removing or demoting one rotates it and marks secrets "rotate at source".
    #[command(subcommand)]
    Member(Deferred<MemberCommand>),
    /// Store and manage connections: typed credentials with encrypted secrets
    ///
    /// Types: postgresql, dhis2, iaso, s3, gcs and custom, with OpenHEXA's field codes. Secret
    /// fields are encrypted to the workspace key before they are written; only editors and
    /// admins can read them back.
    #[command(subcommand)]
    Connection(Deferred<ConnectionCommand>),
    /// Pull and push connections with an OpenHEXA workspace
    ///
    /// `login` keeps a personal OpenHEXA token, encrypted to your identity. `pull` brings the
    /// OpenHEXA workspace's connections into the local workspace (-w); `push` sends local ones
    /// to the server. A connection changed on both sides since the last sync is a conflict,
    /// shown field by field, until --prefer local|remote settles it.
    #[command(subcommand)]
    Openhexa(Deferred<OpenhexaCommand>),
    /// Run a command with connections in its environment (editor or admin)
    ///
    /// Starts COMMAND directly (no shell) with the OpenHEXA SDK variables of each connection,
    /// plus the variables the usual tools read unless --no-native. OHX_* variables, and inherited
    /// variables that would pair with the native ones (AWS_PROFILE, PGSERVICE, ...), are removed
    /// from its environment. SIGINT, SIGTERM and SIGHUP sent to ohx are passed on, the command
    /// gets SIGTERM if ohx dies, and ohx exits with the command's status.
    #[command(after_help = RUN_EXAMPLES)]
    Run {
        /// IDENTIFIER or WORKSPACE/IDENTIFIER; repeat for several
        #[arg(short = 'c', long = "connection", value_name = "ID", required = true)]
        connections: Vec<String>,
        /// Do not add PGHOST..., AWS_..., GOOGLE_APPLICATION_CREDENTIALS
        #[arg(long)]
        no_native: bool,
        /// Give the native variables of ID's type (PGHOST..., AWS_...) to ID alone, when several
        /// connections of one type are run together
        #[arg(long, value_name = "ID", conflicts_with = "no_native")]
        native_for: Option<String>,
        /// The command and its arguments, after --
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<std::ffi::OsString>,
    },
    /// Move, back up, share a whole store, or keep its connections open
    ///
    /// `copy` copies every workspace, member, signed log entry and ciphertext from one store to a
    /// new one (a SQLite file or a PostgreSQL database, either way round) and checks the copy.
    /// `share` lets the members of a Unix group use one SQLite store from their own accounts.
    /// `hold` keeps connections to a PostgreSQL store open for your later commands, `release`
    /// closes them.
    #[command(subcommand)]
    Store(Deferred<StoreCommand>),
    /// Print the verified history of a workspace: the audit log
    ///
    /// Every change of members, roles, the workspace key and connections is an entry signed by
    /// an admin and chained to the one before, so this history cannot be edited without every
    /// member's next command noticing. Shows when, who, and what.
    #[command(
        after_help = "Examples:\n  ohx log -w malaria\n  ohx log --json | jq '.[] | select(.kind == \"member-removed\")'"
    )]
    Log,
    /// Keep your passphrase-protected identity unlocked for a while (like ssh-agent)
    ///
    /// Asks for the passphrase once and starts a small agent process that holds the unlocked key
    /// in memory only (never on disk) and answers later ohx commands of yours through a private
    /// socket in the runtime folder. It forgets the key after DURATION or at `ohx lock`.
    #[command(after_help = UNLOCK_EXAMPLES)]
    Unlock {
        /// How long to stay unlocked: 90s, 30m, 8h, 1d, 1h30m
        #[arg(long = "for", value_name = "DURATION", default_value = "8h")]
        duration: String,
    },
    /// Forget the unlocked identity: stop the agent that `ohx unlock` started
    #[command(after_help = "Example:\n  ohx lock")]
    Lock,
    /// The agent process behind `ohx unlock` (started by ohx itself)
    #[command(hide = true)]
    Agent {
        #[arg(long, value_name = "SOCKET")]
        socket: PathBuf,
        #[arg(long, value_name = "SECONDS")]
        seconds: u64,
    },
    /// The process behind `ohx store hold` (started by ohx itself)
    #[command(name = "store-relay", hide = true)]
    StoreRelay {
        #[arg(long, value_name = "SOCKET")]
        socket: PathBuf,
        #[arg(long, value_name = "SECONDS")]
        idle_seconds: u64,
    },
    /// Print the shell completion script for SHELL
    ///
    /// The script asks ohx itself for candidates, so it completes subcommands and flags as well
    /// as the workspace slugs and connection identifiers in your store.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        #[arg(value_parser = SHELLS)]
        shell: String,
    },
    /// Write completions/ and man/ into a folder (for ohx's developers)
    #[command(hide = true)]
    Generate {
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
}

const COMPLETIONS_HELP: &str = "\
Completes subcommands, flags, workspace slugs and connection identifiers (from your store),
following the line: -w, --store and --identity typed before TAB choose where they come from.

Examples (install):
  bash:        ohx completions bash > ~/.local/share/bash-completion/completions/ohx
  zsh:         ohx completions zsh > \"${fpath[1]}/_ohx\"
  fish:        ohx completions fish > ~/.config/fish/completions/ohx.fish
  elvish:      ohx completions elvish >> ~/.config/elvish/rc.elv
  powershell:  ohx completions powershell >> $PROFILE";

const UNLOCK_EXAMPLES: &str = "\
Examples:
  ohx unlock              # asks once; later commands need no passphrase for 8 hours
  ohx unlock --for 30m
  ohx lock                # forget it now";

const RUN_EXAMPLES: &str = "\
The command runs without a shell, with the connections' variables (OpenHEXA SDK names plus
PGHOST..., AWS_..., and GOOGLE_APPLICATION_CREDENTIALS naming the key: a sealed memory file,
/proc/PID/fd/N, on Linux; elsewhere a private temporary file removed when the command ends),
with your umask. ohx exits with the command's status.

Examples:
  ohx run -c warehouse -- psql -c 'select 1'
  ohx run -c warehouse -c dhis2-prod -- python pipeline.py
  ohx run -c warehouse -c replica --native-for replica -- psql
  ohx run -c lake -- gsutil ls gs://lake";

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy a whole store to a new one, in one transaction, and check the copy
    ///
    /// FROM and TO are store files or postgresql:// URLs. TO must not exist yet (a file) or be an
    /// empty database; nothing is written there unless the whole copy succeeds. Secrets stay
    /// encrypted: the copy needs no key and can be made by anyone who can read FROM.
    #[command(after_help = STORE_COPY_EXAMPLES)]
    Copy {
        /// The store to copy: a file, or postgresql://USER@HOST:PORT/DB
        #[arg(value_name = "FROM")]
        from: PathBuf,
        /// The new store: a file that does not exist yet, or an empty database
        #[arg(value_name = "TO")]
        to: PathBuf,
    },
    /// Let the members of GROUP use this SQLite store from their own accounts
    ///
    /// Gives the store file and its companions to GROUP with mode 0660 and its folder mode 2770
    /// (new files there keep the group); everyone else is still refused. Each member keeps their
    /// own identity; an admin then adds them to workspaces with `ohx member add`.
    #[command(after_help = STORE_SHARE_EXAMPLES)]
    Share {
        /// A Unix group you belong to
        #[arg(value_name = "GROUP")]
        group: String,
    },
    /// Keep connections to a PostgreSQL store open for your later commands (like ssh's
    /// ControlPersist)
    ///
    /// Starts a small background process of yours that logs in to the store once and lends its
    /// connections to your later ohx commands through a private socket, so each command skips
    /// connecting, TLS and authentication and finds the server's caches warm: several times
    /// faster for scripts that run many commands. Every command still checks the store, the
    /// signatures and the schema itself. It closes after DURATION unused, or at
    /// `ohx store release`. Starting it again replaces it.
    #[command(after_help = STORE_HOLD_EXAMPLES)]
    Hold {
        /// Close after this long without a command: 90s, 30m, 8h
        #[arg(long, value_name = "DURATION", default_value = "15m")]
        idle: String,
        /// Only say whether connections are held for the store, and by which process
        #[arg(long, conflicts_with = "idle")]
        status: bool,
    },
    /// Close the connections that `ohx store hold` keeps open
    ///
    /// Commands running now finish first; later ones connect on their own again.
    #[command(after_help = "Example:\n  ohx store release")]
    Release,
}

const STORE_HOLD_EXAMPLES: &str = "\
Examples:
  ohx store hold                      # for the store in your config or OHX_STORE
  ohx --store postgresql://ann@db.example.org/ohx store hold --idle 1h
  ohx store hold --status
  ohx store release";

const STORE_COPY_EXAMPLES: &str = "\
Examples:
  ohx store copy ~/.local/share/ohx/ohx.db postgresql://ohx@db.example.org/ohx
  ohx store copy postgresql://ohx@db.example.org/ohx backup-$(date +%F).db";

const STORE_SHARE_EXAMPLES: &str = "\
Examples:
  ohx --store /srv/ohx/team.db init
  ohx --store /srv/ohx/team.db store share data-team";

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace; you become its admin
    ///
    /// The slug is made from the name (ASCII, lower case, '-' between words) unless --slug is
    /// given; it must be unique in the store. A new encryption key is made for the workspace
    /// and wrapped for you.
    #[command(
        after_help = "Examples:\n  ohx workspace create \"Malaria Programme\"\n  ohx workspace create \"Données Sénégal\" --slug senegal --description \"HMIS extracts\""
    )]
    Create {
        /// Display name; the slug is made from it unless --slug is given
        name: String,
        /// Identifier: lower-case letters, digits and '-', starting with a letter
        #[arg(long)]
        slug: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List the workspaces you belong to
    ///
    /// Shows slug, name, your role, the number of connections and members; `*` marks the
    /// default workspace. Workspaces you do not belong to are not shown.
    #[command(visible_alias = "ls")]
    #[command(after_help = "Examples:\n  ohx workspace list\n  ohx workspace list --json")]
    List,
    /// Show a workspace's details
    ///
    /// Shows name, description, your role, counts, the key version and the workspace's public
    /// recipient.
    #[command(after_help = "Examples:\n  ohx workspace show\n  ohx workspace show malaria --json")]
    Show {
        /// [default: the current workspace]
        slug: Option<String>,
    },
    /// Rename a workspace or change its description (admin)
    ///
    /// The slug never changes, so scripts that name the workspace keep working.
    #[command(
        after_help = "Examples:\n  ohx workspace edit malaria --name \"Malaria Programme (HMIS)\"\n  ohx workspace edit malaria --description \"Monthly extracts\""
    )]
    Edit {
        slug: String,
        /// The new display name
        #[arg(long)]
        name: Option<String>,
        /// The new description ("" clears it)
        #[arg(long)]
        description: Option<String>,
    },
    /// Make a workspace the default for later commands (saved in config.toml)
    ///
    /// Writes default_workspace to the config file. -w and OHX_WORKSPACE still take precedence.
    #[command(
        after_help = "Examples:\n  ohx workspace use malaria\n  ohx connection list            # now lists malaria's connections"
    )]
    Use { slug: String },
    /// Replace the workspace key and re-encrypt every secret (admin)
    ///
    /// Makes a new key pair, re-encrypts every secret of the workspace, and wraps the new key
    /// for every editor and admin, in one transaction. ohx does this by itself when a key
    /// holder is removed or demoted.
    #[command(after_help = "Examples:\n  ohx workspace rotate-key malaria")]
    RotateKey {
        /// [default: the current workspace]
        slug: Option<String>,
    },
    /// Check a whole workspace: its signed log, every connection and your key
    ///
    /// Verifies the log against what you have seen before (a rollback or a fork is an error),
    /// every connection's signature (and, for editors and admins, its MAC and secrets), that each
    /// connection is the version its last log entry names, and that your wrapped key is the one
    /// the log names. Every problem is listed; the exit status is 5 when there is any.
    #[command(
        after_help = "Examples:\n  ohx workspace verify\n  ohx workspace verify malaria --json"
    )]
    Verify {
        /// [default: the current workspace]
        slug: Option<String>,
    },
    /// Delete a workspace with all its connections (admin)
    ///
    /// Asks for confirmation on a terminal; scripts must pass --yes. Connections and
    /// memberships go with it.
    #[command(visible_alias = "rm")]
    #[command(
        after_help = "Examples:\n  ohx workspace delete old-project\n  ohx workspace delete old-project --yes    # in a script"
    )]
    Delete {
        slug: String,
        /// Do not ask for confirmation (needed without a terminal)
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Give someone a role in the workspace (admin)
    ///
    /// NAME is how the person is known in this store; the recipient proves who they are, since
    /// only their identity file matches it. Editors and admins receive the workspace key at
    /// once, without re-encrypting anything.
    #[command(
        after_help = "Roles: viewer (sees connections, not secrets), editor (also uses secrets), \
        admin (also manages connections and members).\n\n\
        Examples:\n  # your colleague runs: ohx whoami --recipient\n  \
        ohx member add amina --recipient age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq --role editor -w malaria\n  \
        ohx member add amina --role viewer -w tb      # amina is known in this store already"
    )]
    Add {
        /// Their name in this store
        name: String,
        /// Their age recipient (from `ohx whoami --recipient`); not needed for someone already
        /// known in this store
        #[arg(long, value_name = "AGE1...")]
        recipient: Option<String>,
        #[arg(long, ignore_case = true)]
        role: Role,
    },
    /// List the members of the workspace
    ///
    /// Shows each member's name, role and recipient; `(you)` marks you.
    #[command(visible_alias = "ls")]
    #[command(after_help = "Examples:\n  ohx member list -w malaria\n  ohx member list --json")]
    List,
    /// Change a member's role (admin); demoting a key holder rotates the key
    ///
    /// Promotion to editor or admin wraps the key for the member. Demotion to viewer rotates
    /// the key and marks secrets "rotate at source". The last admin can never be demoted.
    #[command(
        after_help = "Examples:\n  ohx member set-role amina admin\n  ohx member set-role bob viewer -w malaria    # rotates the key"
    )]
    SetRole {
        name: String,
        #[arg(ignore_case = true)]
        role: Role,
    },
    /// Remove a member (admin); removing a key holder rotates the key
    ///
    /// Asks for confirmation on a terminal; scripts must pass --yes. If the member could read
    /// secrets, the workspace key is rotated and connections with secrets are marked "rotate at
    /// source". The last admin can never be removed.
    #[command(visible_alias = "rm")]
    #[command(
        after_help = "Examples:\n  ohx member remove bob\n  ohx member remove bob --yes -w malaria    # in a script"
    )]
    Remove {
        name: String,
        /// Do not ask for confirmation (needed without a terminal)
        #[arg(long)]
        yes: bool,
    },
}

const ADD_EXAMPLES: &str = "\
Secrets never come from the command line: --secret CODE asks on the terminal,
CODE=- reads stdin, CODE=env:VAR an environment variable, CODE=file:PATH a file.

Examples:
  # on a terminal: asks for the URL, username and a hidden password
  ohx connection add dhis2

  # in a script
  ohx connection add postgresql --name Warehouse \\
      --set host=db.example.org --set username=etl --set db_name=dwh \\
      --secret password=env:WAREHOUSE_PASSWORD

  printf '%s' \"$TOKEN\" | ohx connection add custom --name 'Kobo API' \\
      --set url=https://kf.kobotoolbox.org --secret token=-

  ohx connection add gcs --name Lake --set bucket_name=lake \\
      --secret service_account_key=file:key.json";

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Add a connection (admin); asks for what is missing on a terminal
    ///
    /// The identifier comes from --slug or the name and must be unique in the workspace.
    /// Without a terminal (or with --no-input), nothing is asked: every missing flag is named
    /// at once.
    #[command(after_help = ADD_EXAMPLES)]
    Add(AddArgs),
    /// List the connections of the workspace
    ///
    /// Shows identifier, name, type and description; NOTE says "rotate at source" for
    /// connections whose secrets a removed member could have copied. Secret values are never
    /// listed.
    #[command(visible_alias = "ls")]
    #[command(
        after_help = "Examples:\n  ohx connection list\n  ohx connection list -w malaria --json"
    )]
    List,
    /// List the connection types and their fields (code, required, secret, default)
    ///
    /// The field codes are OpenHEXA's; they name the environment variables too (`db_name` gives
    /// MY_DB_DB_NAME). Custom connections have the fields you declare.
    #[command(
        after_help = "Examples:\n  ohx connection types\n  ohx connection types --json\n  ohx connection add dhis2 --help    # one type's fields"
    )]
    Types,
    /// Show a connection; secrets stay masked unless --reveal (editor or admin)
    ///
    /// Non-secret fields are shown to every member; secret fields show as ******** unless
    /// --reveal is given by an editor or admin.
    #[command(
        after_help = "Examples:\n  ohx connection show warehouse\n  ohx connection show malaria/warehouse --reveal\n  ohx connection show warehouse --json"
    )]
    Show {
        /// IDENTIFIER or WORKSPACE/IDENTIFIER
        id: String,
        /// Show secret values too
        #[arg(long)]
        reveal: bool,
    },
    /// Change a connection's name, description or fields (admin)
    ///
    /// A new secret value is encrypted to the current workspace key and clears the "rotate at
    /// source" mark. --unset removes optional fields of a typed connection or any field of a
    /// custom one.
    #[command(
        after_help = "Examples:\n  ohx connection edit warehouse --set host=db2.example.org\n  ohx connection edit warehouse --secret password     # asks for the new one\n  ohx connection edit kobo --unset token --description \"\""
    )]
    Edit(EditArgs),
    /// Copy a connection, secrets included, under another identifier (admin where it goes)
    ///
    /// NEW is an identifier or WORKSPACE/IDENTIFIER; without a workspace the copy goes where -w
    /// (or the default) says. Reading the secrets needs the editor role in the source workspace.
    #[command(
        after_help = "Examples:\n  ohx connection copy warehouse warehouse-staging\n  ohx connection copy malaria/warehouse tb/warehouse\n  ohx connection copy malaria/dhis2-prod dhis2-prod -w tb"
    )]
    Copy {
        /// IDENTIFIER or WORKSPACE/IDENTIFIER of the connection to copy
        id: String,
        /// IDENTIFIER or WORKSPACE/IDENTIFIER of the copy
        new: String,
    },
    /// Delete a connection (admin)
    ///
    /// Asks for confirmation on a terminal; scripts must pass --yes.
    #[command(visible_alias = "rm")]
    #[command(
        after_help = "Examples:\n  ohx connection delete old-db\n  ohx connection delete malaria/old-db --yes    # in a script"
    )]
    Delete {
        /// IDENTIFIER or WORKSPACE/IDENTIFIER
        id: String,
        /// Do not ask for confirmation (needed without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Print one field's value, secret or not (editor or admin)
    ///
    /// Prints the raw value followed by a newline (none with -n), for use in command
    /// substitution.
    #[command(
        after_help = "Example:\n  PGPASSWORD=\"$(ohx connection get warehouse password)\" pg_dump ..."
    )]
    Get {
        /// IDENTIFIER or WORKSPACE/IDENTIFIER
        id: String,
        /// Field code, such as password or db_name
        field: String,
        /// Do not print a newline after the value
        #[arg(short = 'n', long)]
        no_newline: bool,
    },
    /// Print connections as environment variables for a shell or a .env file (editor or admin)
    ///
    /// Nothing is printed unless every connection decrypts and checks, so `eval` never applies
    /// half a result. Two connections that would set one variable to different values are an
    /// error.
    #[command(after_help = ENV_EXAMPLES)]
    Env {
        /// IDENTIFIER or WORKSPACE/IDENTIFIER, one or more
        #[arg(value_name = "ID", required = true)]
        ids: Vec<String>,
        /// sh, fish, powershell, json, or a .env file for one reader: dotenv (python-dotenv),
        /// direnv, node (the dotenv package), node-env-file (node --env-file), docker (--env-file)
        /// [default: sh; json with --json]
        #[arg(long, ignore_case = true)]
        format: Option<Format>,
        /// Also set the variables the usual tools read (PGHOST..., AWS_...)
        #[arg(long)]
        native: bool,
        /// Write to FILE (replaced atomically, mode 0600) instead of stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Check connections against their systems with the stored credentials (editor or admin)
    ///
    /// Each connection is checked at the same time as the others, with one harmless request:
    /// PostgreSQL connects and runs `select 1` (honouring PGSSLMODE and PGSSLROOTCERT), DHIS2
    /// reads /api/me and /api/system/info, IASO asks /api/token/ for a token, S3 sends a signed
    /// HeadBucket, GCS exchanges the service-account key for a token and reads the bucket's
    /// metadata, and a custom connection with a `url` field gets a GET. One line per
    /// connection: ok with what was proven, or why it failed. Exits 0 when every check passes,
    /// 1 otherwise. No secret is ever printed.
    #[command(after_help = TEST_EXAMPLES)]
    Test {
        /// IDENTIFIER or WORKSPACE/IDENTIFIER, one or more
        #[arg(value_name = "ID", required = true)]
        ids: Vec<String>,
        /// The longest each check may take: 10s, 500ms, 1m (up to 1h)
        #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_timeout)]
        timeout: std::time::Duration,
    },
    /// Write the workspace.yaml the OpenHEXA SDK and `openhexa pipelines run` read (editor or admin)
    ///
    /// Keys are the SDK's own (database_name, secret_access_key, ...), every value quoted. The
    /// file holds secrets in clear: --output creates it 0600; `ohx run` needs no file at all.
    #[command(
        after_help = "Examples:\n  ohx connection export --format workspace-yaml --output pipelines/workspace.yaml\n  ohx connection export warehouse dhis2-prod --format workspace-yaml --output workspace.yaml"
    )]
    Export {
        /// IDENTIFIER or WORKSPACE/IDENTIFIER [default: every connection of the workspace]
        #[arg(value_name = "ID")]
        ids: Vec<String>,
        #[arg(long, value_parser = ["workspace-yaml"])]
        format: String,
        /// Write to FILE (created 0600, replaced atomically) instead of stdout
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print a connection's URL: postgresql://..., the DHIS2/IASO URL, s3://..., gs://... (editor or admin)
    ///
    /// For PostgreSQL, user, password and database are percent-encoded, so any password works
    /// in the URL. Custom connections have no URL. Never put a URL holding a password on a
    /// command line (`psql "$(ohx connection url ...)"`): every user of the machine can read it
    /// in /proc/PID/cmdline; give it through the environment, or use `ohx run`.
    #[command(
        after_help = "Examples:\n  url=$(ohx connection url warehouse) || exit; DATABASE_URL=$url some-tool\n  ohx run -c warehouse -- psql    # psql reads PGHOST, PGPASSWORD..."
    )]
    Url {
        /// IDENTIFIER or WORKSPACE/IDENTIFIER
        id: String,
    },
}

const TEST_EXAMPLES: &str = "\
Failures name their class: name not found, connection refused, TLS, credentials rejected,
no such database, no such bucket, permission denied, timeout; then the server's own words.
AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) and AWS_REGION point S3 checks elsewhere, and
STORAGE_EMULATOR_HOST sends GCS checks to an emulator, as the usual tools allow.

Examples:
  ohx connection test warehouse
  ohx connection test warehouse dhis2-prod archive --timeout 30s
  ohx connection test malaria/lake --json";

const ENV_EXAMPLES: &str = "\
Variables follow the OpenHEXA SDK: for identifier my-db, MY_DB=postgresql, MY_DB_HOST,
MY_DB_PORT, MY_DB_USERNAME, MY_DB_PASSWORD, MY_DB_DB_NAME. --native adds PGHOST... (PostgreSQL)
and AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (S3).

Examples:
  env=$(ohx connection env warehouse) || exit; eval \"$env\"   # sh, bash, zsh
  ohx connection env warehouse --format fish | source     # fish
  ohx connection env warehouse dhis2-prod --format dotenv --output .env
  ohx connection env warehouse --format docker --output app.env   # docker run --env-file app.env
  ohx connection env malaria/warehouse --native --format json";

#[derive(Debug, Args)]
pub struct AddArgs {
    /// postgresql (or postgres, pg), dhis2, iaso, s3, gcs or custom; asked for when omitted
    #[arg(value_name = "TYPE", ignore_case = true, hide_possible_values = true)]
    pub kind: Option<ConnectionType>,
    /// Display name (1 to 40 characters)
    #[arg(long)]
    pub name: Option<String>,
    /// Identifier [default: made from the name]
    #[arg(long)]
    pub slug: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// A non-secret field (for custom connections, declares a plain field)
    #[arg(long, value_name = "CODE=VALUE")]
    pub set: Vec<String>,
    /// A secret field, read from the prompt, - (stdin), env:VAR or file:PATH
    #[arg(long, value_name = "CODE[=SOURCE]")]
    pub secret: Vec<String>,
    /// Check the connection against its system first; save only if the check passes
    #[arg(long)]
    pub test: bool,
    /// With --test: save even when the check fails
    #[arg(long, requires = "test")]
    pub save_anyway: bool,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// IDENTIFIER or WORKSPACE/IDENTIFIER
    pub id: String,
    /// A new identifier (renames the connection and its variables), unique in the workspace
    #[arg(long)]
    pub slug: Option<String>,
    /// A new display name (1 to 40 characters); the identifier stays
    #[arg(long)]
    pub name: Option<String>,
    /// A new description ("" clears it)
    #[arg(long)]
    pub description: Option<String>,
    /// A new value for a non-secret field (for custom connections, adds a plain field)
    #[arg(long, value_name = "CODE=VALUE")]
    pub set: Vec<String>,
    /// A new secret value, read from the prompt, - (stdin), env:VAR or file:PATH
    #[arg(long, value_name = "CODE[=SOURCE]")]
    pub secret: Vec<String>,
    /// Remove an optional or custom field
    #[arg(long, value_name = "CODE")]
    pub unset: Vec<String>,
    /// Check the edited connection against its system first; save only if the check passes
    #[arg(long)]
    pub test: bool,
    /// With --test: save even when the check fails
    #[arg(long, requires = "test")]
    pub save_anyway: bool,
}

/// `--timeout`: `10s`, `500ms`, `2m` or plain seconds, more than zero and at most an hour.
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    crate::probe::parse_timeout(text)
        .ok_or_else(|| "give a duration up to 1h such as 10s, 500ms or 2m".to_string())
}

// Domain types parsed by clap, so a mistyped value is a usage error that lists the choices, and
// each alias is declared here once.

impl ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &Role::ALL
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

impl ValueEnum for ConnectionType {
    fn value_variants<'a>() -> &'a [Self] {
        &ConnectionType::ALL
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.as_str()).help(self.label());
        Some(match self {
            ConnectionType::Postgresql => value.aliases(["postgres", "pg"]),
            _ => value,
        })
    }
}

impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &Format::ALL
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.as_str());
        Some(match self {
            Format::Sh => value.aliases(["bash", "zsh"]),
            Format::Dotenv => value.alias("env"),
            Format::Powershell => value.alias("pwsh"),
            Format::Fish
            | Format::Direnv
            | Format::Node
            | Format::NodeEnvFile
            | Format::Docker
            | Format::Json => value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_types_parse_case_insensitively_with_their_aliases() {
        let parse = |text: &str| ConnectionType::from_str(text, true).ok();
        assert_eq!(parse("PG"), Some(ConnectionType::Postgresql));
        assert_eq!(parse("Postgres"), Some(ConnectionType::Postgresql));
        assert_eq!(parse("DHIS2"), Some(ConnectionType::Dhis2));
        assert!(parse("mysql").is_none());
    }
}

const LOGIN_HELP: &str = "\
The token is a workspace token from OpenHEXA (workspace settings). It never comes from the
command line: ohx asks for it, or reads it with --token - (stdin), env:VAR or file:PATH. It is
kept in openhexa.toml next to config.toml, encrypted to your ohx identity.

Examples:
  ohx openhexa login https://app.openhexa.org --workspace malaria
  printf '%s' \"$HEXA_TOKEN\" | ohx openhexa login https://app.openhexa.org -w malaria --token -";

#[derive(Debug, Subcommand)]
pub enum OpenhexaCommand {
    /// Keep a token for an OpenHEXA workspace (--workspace names the OpenHEXA workspace)
    ///
    /// The token is checked against the server before it is saved, encrypted to your own
    /// identity: it is yours, not shared with the members of any ohx workspace.
    #[command(after_help = LOGIN_HELP)]
    Login {
        /// The OpenHEXA server, e.g. https://app.openhexa.org
        url: String,
        /// Where the token comes from: - (stdin), env:VAR or file:PATH [default: ask]
        #[arg(long, value_name = "SOURCE")]
        token: Option<String>,
    },
    /// Forget a saved token
    Logout {
        /// The OpenHEXA workspace [default: your only login]
        #[arg(long, value_name = "SLUG")]
        remote: Option<String>,
    },
    /// Show your logins and whether each token works
    Status {
        /// Only this OpenHEXA workspace
        #[arg(long, value_name = "SLUG")]
        remote: Option<String>,
    },
    /// Bring the OpenHEXA workspace's connections into the local workspace (admin)
    ///
    /// Creates what is new, updates what changed on the server only, and leaves the rest
    /// untouched, in one transaction after the whole server read succeeded. Secrets are sealed
    /// like any other.
    Pull {
        /// The OpenHEXA workspace [default: your only login, or the one named like -w]
        #[arg(long, value_name = "SLUG")]
        remote: Option<String>,
        /// Print the plan (create, update, unchanged, conflict) and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Settle conflicts: keep the local version or take the server's
        #[arg(long, value_parser = ["local", "remote"])]
        prefer: Option<String>,
    },
    /// Create or update connections on the server (editor or admin)
    ///
    /// Sends each connection with its full field list (the server deletes fields left out).
    /// Connections only on the server are deleted only with --prune, after they are shown.
    Push {
        /// IDENTIFIER [default: every connection of the workspace]
        #[arg(value_name = "ID")]
        ids: Vec<String>,
        /// The OpenHEXA workspace [default: your only login, or the one named like -w]
        #[arg(long, value_name = "SLUG")]
        remote: Option<String>,
        /// Print the plan and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Settle conflicts: send the local version or keep the server's
        #[arg(long, value_parser = ["local", "remote"])]
        prefer: Option<String>,
        /// Delete server connections that have no local counterpart
        #[arg(long)]
        prune: bool,
        /// Do not ask before deleting with --prune (needed without a terminal)
        #[arg(long)]
        yes: bool,
    },
}

/// A group of subcommands (`connection`, `workspace`, ...) that clap builds only when the line
/// enters it. Every command parses its line once, and building every subcommand's arguments,
/// help texts and examples was work that `connection env` did not need: 0.2 M of its 7.8 M
/// instructions (docs/ARCHITECTURE.md, "Decisions written down"). Whatever walks the whole tree
/// before clap builds it takes it from [`whole_command`].
#[derive(Debug)]
pub struct Deferred<T>(pub T);

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Deferred)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl<T: Subcommand> Subcommand for Deferred<T> {
    fn augment_subcommands(group: clap::Command) -> clap::Command {
        group.defer(T::augment_subcommands)
    }

    fn augment_subcommands_for_update(group: clap::Command) -> clap::Command {
        group.defer(T::augment_subcommands_for_update)
    }

    fn has_subcommand(name: &str) -> bool {
        T::has_subcommand(name)
    }
}

/// The command line with every [`Deferred`] group filled in at once, as clap's derive alone
/// would build it: for completion, which attaches candidates to arguments inside the groups
/// (and to global ones, before clap copies them into every subcommand).
pub fn whole_command() -> clap::Command {
    use clap::CommandFactory;
    // mut_subcommands keeps the order of the subcommands (mut_subcommand moves one to the end).
    Cli::command().mut_subcommands(|group| match group.get_name() {
        "workspace" => filled::<WorkspaceCommand>(group),
        "member" => filled::<MemberCommand>(group),
        "connection" => filled::<ConnectionCommand>(group),
        "openhexa" => filled::<OpenhexaCommand>(group),
        "store" => filled::<StoreCommand>(group),
        _ => group,
    })
}

/// `group`, a [`Deferred`] group of `T`, with its subcommands filled in now rather than when a
/// line enters it (for pages that change one of them before parsing).
pub fn filled<T: Subcommand>(group: clap::Command) -> clap::Command {
    T::augment_subcommands(group.defer(|group| group))
}
