//! Everything a command needs before it starts: paths, config, the open store, the user's identity,
//! who that user is, which workspace is meant, and whether their role allows the action.
//!
//! First run (DESIGN.md section 1) lives here too: a store at its *default* path that does not exist
//! is created together with an identity and a user, and the user is told so once on stderr.

use std::path::PathBuf;

use anyhow::Result;
use rusqlite::Connection;
use secrecy::SecretString;

use crate::config::Config;
use crate::crypto::{UserIdentity, WorkspaceKey};
use crate::domain::{self, Action, Role};
use crate::error::Fail;
use crate::output;
use crate::paths::{self, Chosen, Homes};
use crate::prompt;
use crate::store::users::{self, User};
use crate::store::workspaces::{self, Membership};
use crate::store::{members, Store};

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
) -> Result<(Store, UserIdentity, InitReport)> {
    // The identity is made before the store, so a concurrent first run that sees the store also
    // sees a complete identity.
    let identity_path = &setup.identity.path;
    let mut created_identity = false;
    let mut identity = None;
    if std::fs::symlink_metadata(identity_path).is_err() {
        let fresh = UserIdentity::generate();
        // Keep the key just written rather than reading it back (and asking for its passphrase).
        if fresh.create_file(identity_path, protect.as_ref())? {
            created_identity = true;
            identity = Some(fresh);
        }
    }
    let identity = match identity {
        Some(identity) => identity,
        None => UserIdentity::load(identity_path, &mut passphrase_source(globals))?,
    };

    let store_path = &setup.store.path;
    let created_store = std::fs::symlink_metadata(store_path).is_err();
    let mut store = if created_store {
        Store::create(store_path)?
    } else {
        Store::open(store_path)?
    };

    let recipient = identity.recipient();
    let (user, registered) = store.write(|tx| -> Result<(User, bool)> {
        if let Some(user) = users::find_by_recipient(tx, &recipient)? {
            return Ok((user, false));
        }
        let name = match name {
            Some(n) => n.to_string(),
            None => default_user_name()?,
        };
        domain::validate_user_name(&name)?;
        if users::find_by_name(tx, &name)?.is_some() {
            return Err(Fail::usage(format!(
                "the name '{name}' is already taken by another identity in this store"
            ))
            .hint("choose another with `ohx init --name NAME`")
            .into());
        }
        Ok((users::insert(tx, &name, &recipient)?, true))
    })?;
    Ok((
        store,
        identity,
        InitReport {
            created_store,
            created_identity,
            registered,
            user,
        },
    ))
}

/// `$USER` (or `$LOGNAME`) made into a valid user name; "me" when neither is set, so that a first
/// run never fails for want of a name (`ohx init --name` chooses one explicitly).
fn default_user_name() -> Result<String> {
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
    Ok(if cleaned.is_empty() {
        "me".to_string()
    } else {
        cleaned
    })
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
        Err(Fail::key(
            "your identity is protected by a passphrase and there is no terminal to ask it on",
        )
        .hint("set OHX_PASSPHRASE for automation, or run ohx on a terminal")
        .into())
    }
}

/// An open store with the current user's identity.
pub struct Session {
    pub globals: Globals,
    pub setup: Setup,
    pub store: Store,
    /// Kept apart from `store` so that a write transaction's closure can borrow `me` while
    /// `store` is borrowed mutably.
    pub me: Me,
}

/// The person behind the loaded identity.
pub struct Me {
    identity: UserIdentity,
    user: Option<User>,
    store_path: PathBuf,
}

impl Session {
    /// Opens store and identity, running first-run setup when the default store does not exist.
    pub fn open(globals: Globals) -> Result<Session> {
        let setup = Setup::resolve(&globals)?;
        let store_path = setup.store.path.clone();
        let store_missing = std::fs::symlink_metadata(&store_path).is_err();
        if store_missing && setup.store.is_default {
            let (store, identity, report) = initialise(&setup, &globals, None, None)?;
            announce_first_run(&globals, &setup, &report);
            let me = Me {
                identity,
                user: Some(report.user),
                store_path,
            };
            return Ok(Session {
                globals,
                setup,
                store,
                me,
            });
        }
        let store = Store::open(&store_path)?;
        let identity = UserIdentity::load(&setup.identity.path, &mut passphrase_source(&globals))?;
        let user = users::find_by_recipient(store.conn(), &identity.recipient())?;
        Ok(Session {
            globals,
            setup,
            store,
            me: Me {
                identity,
                user,
                store_path,
            },
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
        let user = self.me.user()?;
        let mine = members::of_user(self.store.conn(), user.id)?;
        match mine.as_slice() {
            [(only, _)] => Ok(only.clone()),
            [] => Err(Fail::usage("you are not a member of any workspace yet")
                .hint("create one with `ohx workspace create NAME`")
                .into()),
            many => {
                let names: Vec<&str> = many.iter().map(|(s, _)| s.as_str()).collect();
                Err(Fail::usage(format!(
                    "which workspace? you are a member of: {}",
                    names.join(", ")
                ))
                .hint("pass -w SLUG, or choose a default with `ohx workspace use SLUG`")
                .into())
            }
        }
    }
}

impl Me {
    pub fn identity(&self) -> &UserIdentity {
        &self.identity
    }

    /// The registered user behind the identity, if any.
    pub fn user_opt(&self) -> Option<&User> {
        self.user.as_ref()
    }

    /// The registered user; an identity unknown to the store may do nothing but `init`.
    pub fn user(&self) -> Result<&User> {
        self.user.as_ref().ok_or_else(|| {
            Fail::denied(format!(
                "your identity is not registered in the store {}",
                self.store_path.display()
            ))
            .hint("run `ohx init --name NAME` with this store and identity")
            .into()
        })
    }

    /// The current user's membership of `slug`, if their role allows `action`.
    ///
    /// A workspace the user does not belong to is indistinguishable from one that does not exist:
    /// both give status 4 with the same message, so nobody learns which workspaces exist.
    pub fn membership(&self, conn: &Connection, slug: &str, action: Action) -> Result<Membership> {
        let user = self.user()?;
        let membership = workspaces::membership(conn, slug, user.id)?.ok_or_else(|| {
            Fail::denied(format!("no workspace '{slug}' that you are a member of"))
                .hint("see yours with `ohx workspace list`")
        })?;
        if !membership.role.allows(action) {
            let needed = Role::lowest_allowing(action);
            return Err(Fail::denied(format!(
                "you are {} of workspace '{slug}'; to {} you need the {needed} role",
                membership.role.with_article(),
                action.describe()
            ))
            .hint(format!(
                "ask an admin of '{slug}' to run `ohx member set-role {} {needed} -w {slug}`",
                user.name
            ))
            .into());
        }
        Ok(membership)
    }

    /// Unwraps the workspace key with the user's identity.
    pub fn unlock(&self, membership: &Membership) -> Result<WorkspaceKey> {
        let ws = &membership.workspace;
        let wrapped = membership
            .wrapped_key
            .as_deref()
            .ok_or_else(|| Fail::key(format!("you hold no key for workspace '{}'", ws.slug)))?;
        Ok(WorkspaceKey::unwrap(
            wrapped,
            &self.identity,
            ws.id,
            ws.key_version,
            &ws.slug,
        )?)
    }
}

fn announce_first_run(globals: &Globals, setup: &Setup, report: &InitReport) {
    let mut lines = vec![format!(
        "ohx: first run: created the store {}",
        setup.store.path.display()
    )];
    if report.created_identity {
        lines.push(format!(
            "ohx: created your identity {} (keep it safe; it is your key)",
            setup.identity.path.display()
        ));
    }
    if report.registered {
        lines.push(format!("ohx: registered you as '{}'", report.user.name));
    }
    for line in lines {
        output::notice(globals, &line);
    }
}
