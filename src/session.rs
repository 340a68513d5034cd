//! Everything a command needs before it starts: paths, config, the open store with the user's
//! identity (as an [`Access`]), which workspace is meant, and how to print.
//!
//! First run lives here too (docs/ARCHITECTURE.md, "First run"): a store at its *default* path
//! that does not exist is created together with an identity and a user, and the user is told so
//! once on stderr.

use std::path::PathBuf;

use anyhow::Result;
use secrecy::SecretString;

use crate::access::Access;
use crate::config::Config;
use crate::crypto::UserIdentity;
use crate::domain::UserName;
use crate::error::Error;
use crate::output::Printer;
use crate::paths::{self, Chosen, Homes};
use crate::prompt;
use crate::store::users::User;
use crate::store::{Location, Store};

/// Options that apply to every command.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    pub store: Option<PathBuf>,
    pub identity: Option<PathBuf>,
    pub workspace: Option<String>,
    pub json: bool,
    pub no_input: bool,
    pub quiet: bool,
}

impl Globals {
    /// Whether ohx may ask questions: not with `--no-input`, and only on a terminal.
    pub fn interactive(&self) -> bool {
        !self.no_input && prompt::terminal_attached()
    }

    pub fn printer(&self) -> Printer {
        Printer {
            quiet: self.quiet,
            json: self.json,
        }
    }
}

/// The files ohx will use, resolved from flags, environment, config and defaults.
pub struct Setup {
    pub config: Config,
    pub config_path: PathBuf,
    pub store: Chosen,
    pub identity: Chosen,
}

impl Setup {
    pub fn resolve(globals: &Globals) -> Result<Setup> {
        let homes = Homes::discover()?;
        let config_path = homes.config_file();
        let config = Config::load(&config_path)?;
        let store = paths::choose(
            globals.store.as_deref(),
            config.store.as_deref(),
            homes.default_store(),
        );
        let identity = paths::choose(
            globals.identity.as_deref(),
            config.identity.as_deref(),
            homes.default_identity(),
        );
        Ok(Setup {
            config,
            config_path,
            store,
            identity,
        })
    }
}

impl Setup {
    /// The user's pins (the last verified log head of every workspace), beside their identity:
    /// they belong to that identity, which also keys their MAC.
    pub fn pins_dir(&self) -> PathBuf {
        crate::authority::pins_dir_for(&self.identity.path)
    }
}

/// What `initialise` did, so `ohx init` and first run can tell the user.
pub struct InitReport {
    pub created_store: bool,
    pub created_identity: bool,
    pub registered: bool,
    pub user: User,
}

/// Creates whatever is missing of store, identity and user. Safe to run again: it never replaces
/// an existing store or identity.
pub fn initialise(
    setup: &Setup,
    globals: &Globals,
    name: Option<&str>,
    protect: Option<SecretString>,
) -> Result<(Access, InitReport)> {
    // A name that cannot be used fails before anything is created, so a failed init leaves no
    // new identity behind. The identity is made before the store, so a concurrent first run
    // that sees the store also sees a complete identity.
    if let Some(name) = name {
        let name = UserName::new(name)?;
        let new_identity = std::fs::symlink_metadata(&setup.identity.path).is_err();
        if new_identity && std::fs::symlink_metadata(&setup.store.path).is_ok() {
            let store = Store::open_at(&Location::of(&setup.store.path)?)?;
            if store
                .peek(|db| crate::store::users::find_by_name(db, &name))?
                .is_some()
            {
                return Err(Error::NameTaken(name.to_string()).into());
            }
        }
    }
    let (identity, created_identity) = identity_or_new(setup, globals, protect)?;
    let done = store_and_user(setup, globals, name, identity, created_identity);
    let no_store = std::fs::symlink_metadata(&setup.store.path).is_err();
    if done.is_err() && created_identity && no_store {
        // Without a store nobody can have registered the new identity: it goes too.
        let _ = std::fs::remove_file(&setup.identity.path);
    }
    done
}

/// The store, created when missing, with the identity registered in it.
fn store_and_user(
    setup: &Setup,
    globals: &Globals,
    name: Option<&str>,
    identity: UserIdentity,
    created_identity: bool,
) -> Result<(Access, InitReport)> {
    let (store, created_store) = Store::init(&Location::of(&setup.store.path)?)?;
    let mut access = Access::new(store, identity, &setup.pins_dir(), globals.printer())?;
    let (user, registered) =
        access.register(|| UserName::new(&name.map_or_else(default_user_name, str::to_string)))?;
    let report = InitReport {
        created_store,
        created_identity,
        registered,
        user,
    };
    Ok((access, report))
}

/// The identity at the configured path, created first if there is none; says whether it is new.
fn identity_or_new(
    setup: &Setup,
    globals: &Globals,
    protect: Option<SecretString>,
) -> Result<(UserIdentity, bool)> {
    let path = &setup.identity.path;
    if std::fs::symlink_metadata(path).is_err() {
        let fresh = UserIdentity::generate();
        // Keep the key just written rather than reading it back (and asking for its passphrase).
        if fresh.create_file(path, protect.as_ref())? {
            return Ok((fresh, true));
        }
    }
    // A protected identity comes from the agent of `ohx unlock` when one holds it.
    Ok((
        crate::agent::load_identity(path, &mut passphrase_source(globals))?,
        false,
    ))
}

/// `$USER` (or `$LOGNAME`) made into a valid user name; "me" when neither is set, so that a first
/// run never fails for want of a name (`ohx init --name` chooses one explicitly).
fn default_user_name() -> String {
    let raw = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_default();
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-') {
                c
            } else {
                '-'
            }
        })
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "me".to_string()
    } else {
        cleaned
    }
}

/// Asks for the identity's passphrase: `OHX_PASSPHRASE` for automation, else the terminal.
pub fn passphrase_source(globals: &Globals) -> impl FnMut() -> Result<SecretString> + '_ {
    move || {
        if let Ok(p) = std::env::var("OHX_PASSPHRASE") {
            return Ok(SecretString::from(p));
        }
        if globals.interactive() {
            return prompt::passphrase("Passphrase for your ohx identity");
        }
        Err(Error::PassphraseNeeded.into())
    }
}

/// An open store with the current user's identity.
pub struct Session {
    pub globals: Globals,
    pub setup: Setup,
    pub printer: Printer,
    pub access: Access,
}

impl Session {
    /// Opens store and identity, running first-run setup when the default store does not exist.
    pub fn open(globals: Globals) -> Result<Session> {
        let setup = Setup::resolve(&globals)?;
        let printer = globals.printer();
        let location = Location::of(&setup.store.path)?;
        let access = if location.is_missing_file() && setup.store.is_default {
            // On a terminal, the first run asks who you are rather than taking $USER silently.
            let asked = if globals.interactive() {
                Some(prompt::text(
                    "Your name in ohx (shown to people you share workspaces with)",
                    Some(&default_user_name()),
                    false,
                )?)
            } else {
                None
            };
            let (access, report) = initialise(&setup, &globals, asked.as_deref(), None)?;
            announce_first_run(&printer, &setup, &report);
            access
        } else {
            let store = Store::open_at(&location)?;
            // A protected identity comes from the agent of `ohx unlock` when one holds it.
            let keys = crate::agent::load_identities(
                &setup.identity.path,
                &mut passphrase_source(&globals),
            )?;
            Access::with_known_key(store, keys, &setup.pins_dir(), printer)?
        };
        Ok(Session {
            globals,
            setup,
            printer,
            access,
        })
    }

    /// The workspace a command is about: `explicit` (from `WORKSPACE/ID`), then `-w` /
    /// `OHX_WORKSPACE`, then `default_workspace` in config, then the only workspace the user has.
    pub fn workspace_slug(&self, explicit: Option<&str>) -> Result<String> {
        if let Some(slug) = explicit
            .or(self.globals.workspace.as_deref())
            .filter(|s| !s.is_empty())
        {
            return Ok(slug.to_string());
        }
        if let Some(slug) = &self.setup.config.default_workspace {
            return Ok(slug.clone());
        }
        let mine = self.access.my_workspaces()?;
        match mine.as_slice() {
            [(only, _)] => Ok(only.clone()),
            [] => Err(Error::NoWorkspaceYet.into()),
            many => {
                Err(Error::WhichWorkspace(many.iter().map(|(s, _)| s.clone()).collect()).into())
            }
        }
    }

    /// The workspace and identifier of a `WORKSPACE/IDENTIFIER` or `IDENTIFIER` reference.
    pub fn resolve(&self, reference: &str) -> Result<(String, String)> {
        let (explicit, id) = match reference.split_once('/') {
            Some((ws, id)) => (Some(ws), id),
            None => (None, reference),
        };
        Ok((self.workspace_slug(explicit)?, id.to_string()))
    }
}

fn announce_first_run(printer: &Printer, setup: &Setup, report: &InitReport) {
    printer.notice(&format!(
        "ohx: first run: created the store {}",
        setup.store.path.display()
    ));
    if report.created_identity {
        printer.notice(&format!(
            "ohx: created your identity {} (keep it safe; it is your key)",
            setup.identity.path.display()
        ));
    }
    if report.registered {
        printer.notice(&format!("ohx: registered you as '{}'", report.user.name));
    }
}
