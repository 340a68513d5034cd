//! The access layer: the only code that decides whether the current user may do something in a
//! workspace, and the only code that touches workspace keys, sealed fields and record checks.
//!
//! A command asks [`Access::read`] or [`Access::write`] for a workspace and an [`Action`]; inside
//! one store transaction it gets a [`Workspace`] whose methods do the work (read a connection, add,
//! edit, delete, grant, change a role, remove a member, rotate). Every method checks the role it
//! needs again, and every read of a connection by a key holder checks the record first, so no
//! caller can forget a check. Layers: commands -> access -> (domain, store, crypto) -> error; see
//! docs/ARCHITECTURE.md.

mod authority;
pub mod authority_log;
mod connections;
mod fields;
mod members;
mod openhexa;
mod records;
mod rotation;
mod use_secrets;
mod verify;
mod workspace;

use std::path::{Path, PathBuf};

use crate::authority::{Entry, Genesis, Pins, PublicKey, SigningKey, State, WorkspaceId};
use crate::crypto::{UserIdentity, WorkspaceKey};
use crate::domain::{Action, Role, UserName, WorkspaceSlug};
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::store::engine::Db;
use crate::store::users::{self, User};
use crate::store::workspaces::{self, Listed};
use crate::store::{members as member_rows, Store};

pub use authority::Note;
pub use connections::{ConnectionEdit, ConnectionView, NewConnection};
pub use fields::{Field, Value};
pub use openhexa::InClear;
pub use rotation::Rotated;
pub use use_secrets::Opened;
pub use verify::Report;
pub use workspace::Workspace;

/// The person acting: their identity, and the user it is registered as in this store.
pub struct Actor {
    identity: UserIdentity,
    /// The identity's signing half and its verification key (its recipient).
    signing: SigningKey,
    public: PublicKey,
    user: Option<User>,
    store_path: PathBuf,
}

impl Actor {
    pub fn identity(&self) -> &UserIdentity {
        &self.identity
    }

    /// The registered user behind the identity, if any.
    pub fn user_opt(&self) -> Option<&User> {
        self.user.as_ref()
    }

    /// The registered user; an identity unknown to the store may do nothing but `init`.
    pub fn user(&self) -> Result<&User> {
        self.user
            .as_ref()
            .ok_or_else(|| Error::NotRegistered(self.store_path.clone()))
    }
}

/// An open store and the person acting on it.
pub struct Access {
    store: Store,
    actor: Actor,
    /// The last verified log head of every workspace this identity has seen.
    pins: Pins,
    printer: Printer,
}

impl Access {
    /// Looks up who `identity` is in `store`; `pins` is the folder of their pinned log heads
    /// ([`crate::authority::pins_dir_for`] their identity file).
    pub fn new(
        store: Store,
        identity: UserIdentity,
        pins: &Path,
        printer: Printer,
    ) -> Result<Access> {
        let user = store.peek(|db| users::find_by_recipient(db, &identity.recipient()))?;
        Access::as_user(store, identity, user, pins, printer)
    }

    /// [`Access::new`] for a user already looked up.
    fn as_user(
        store: Store,
        mut identity: UserIdentity,
        user: Option<User>,
        pins: &Path,
        printer: Printer,
    ) -> Result<Access> {
        let store_path = store.path().to_path_buf();
        let signing = identity
            .take_signing_key()
            .map_err(|_| Error::NotAnIdentity(pins.to_path_buf()))?;
        let public = signing.public_key();
        let pins = Pins::load(pins, &signing)?;
        Ok(Access {
            store,
            actor: Actor {
                identity,
                signing,
                public,
                user,
                store_path,
            },
            pins,
            printer,
        })
    }

    /// Like [`Access::new`] for the keys of a multi-key identity file: acts with the first key
    /// that belongs to a user of the store, or with the first key when none does (commands then
    /// say the identity is not registered).
    pub fn with_known_key(
        store: Store,
        keys: Vec<UserIdentity>,
        pins: &Path,
        printer: Printer,
    ) -> Result<Access> {
        // Each key is looked up once: the user found is the one the session acts as.
        let mut chosen = None;
        for key in keys {
            let user = store.peek(|db| users::find_by_recipient(db, &key.recipient()))?;
            if user.is_some() {
                chosen = Some((key, user));
                break;
            }
            chosen.get_or_insert((key, None));
        }
        let (key, user) = chosen.ok_or_else(|| Error::NotRegistered(store.path().to_path_buf()))?;
        Access::as_user(store, key, user, pins, printer)
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn store_path(&self) -> &std::path::Path {
        self.store.path()
    }

    /// Registers the identity under `name` unless it is already known; returns the user and
    /// whether it was new. `name` is asked for only when needed.
    pub fn register(&mut self, name: impl FnOnce() -> Result<UserName>) -> Result<(User, bool)> {
        let recipient = self.actor.identity.recipient();
        let (user, new) = self.store.write(|tx| -> Result<(User, bool)> {
            if let Some(user) = users::find_by_recipient(tx, &recipient)? {
                return Ok((user, false));
            }
            let name = name()?;
            if users::find_by_name(tx, &name)?.is_some() {
                return Err(Error::NameTaken(name.into()));
            }
            Ok((users::insert(tx, &name, &recipient)?, true))
        })?;
        self.actor.user = Some(user.clone());
        Ok((user, new))
    }

    /// Renames the current user: the name others know them by in this store (`whoami --rename`).
    pub fn rename_me(&mut self, name: &UserName) -> Result<User> {
        let me = self.actor.user()?.clone();
        let renamed = self.store.write(|tx| -> Result<User> {
            match users::find_by_name(tx, name)? {
                Some(other) if other.id != me.id => return Err(Error::NameTaken(name.to_string())),
                _ => {}
            }
            users::rename(tx, me.id, name)?;
            Ok(User {
                name: name.to_string(),
                ..me
            })
        })?;
        self.actor.user = Some(renamed.clone());
        Ok(renamed)
    }

    /// The recipient of the person known as `name` in this store, if anyone is.
    pub fn recipient_of(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .store
            .peek(|db| users::find_by_name(db, name))?
            .map(|u| u.recipient))
    }

    /// Every workspace the user belongs to, with their role.
    pub fn my_workspaces(&self) -> Result<Vec<(String, Role)>> {
        let user = self.actor.user()?;
        self.store.peek(|db| member_rows::of_user(db, user.id))
    }

    /// The workspaces the user belongs to, with counts, for `workspace list`.
    pub fn list_workspaces(&self) -> Result<Vec<Listed>> {
        let user = self.actor.user()?;
        self.store.peek(|db| workspaces::list_for_user(db, user.id))
    }

    /// Creates a workspace with a new key, wrapped for its creator, who becomes its admin and
    /// signs its genesis. Returns the workspace's fingerprint.
    pub fn create_workspace(
        &mut self,
        slug: &WorkspaceSlug,
        name: &str,
        description: &str,
    ) -> Result<String> {
        let user = self.actor.user()?.clone();
        let actor = &self.actor;
        let state = self.store.write(|tx| -> Result<State> {
            if workspaces::slug_taken(tx, slug)? {
                return Err(Error::SlugTaken(slug.to_string()));
            }
            let key = WorkspaceKey::generate(1);
            let id =
                workspaces::insert(tx, slug, name, description, &key.recipient(), key.version())?;
            let wrapped = member_rows::WrappedKey {
                bytes: key.wrap_for(id, &user.recipient)?,
                version: key.version(),
            };
            member_rows::upsert(tx, id, user.id, Role::Admin, Some(&wrapped))?;
            let genesis = Entry::genesis(
                &actor.signing,
                authority::now(),
                Genesis {
                    workspace_id: WorkspaceId::random()?,
                    slug: slug.to_string(),
                    name: name.into(),
                    creator_name: user.name.clone(),
                    creator: actor.public,
                    key_version: key.version(),
                    key_recipient: PublicKey::from_recipient(&key.recipient())
                        .map_err(|_| Error::BadRecipient(key.recipient()))?,
                },
            );
            authority_log::append(tx, id, &genesis)?;
            Ok(State::from_genesis(&genesis)?)
        })?;
        let fingerprint = state.fingerprint();
        self.pin(vec![state]);
        Ok(fingerprint)
    }

    /// Runs `work` on workspace `slug` in one read transaction, if the user may do `action`.
    pub fn read<T>(
        &mut self,
        slug: &str,
        action: Action,
        work: impl FnOnce(&Workspace<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.in_workspace(Kind::Read, slug, action, work)
    }

    /// Runs `work` on workspace `slug` in one write transaction, committed only if it succeeds.
    /// The membership is read inside the transaction, so a concurrent removal is seen.
    pub fn write<T>(
        &mut self,
        slug: &str,
        action: Action,
        work: impl FnOnce(&Workspace<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.in_workspace(Kind::Write, slug, action, work)
    }

    /// Opens connections of several workspaces for use, in one read transaction; see
    /// [`use_secrets`].
    pub fn open_for_use(&mut self, wanted: &[(String, String)]) -> anyhow::Result<Vec<Opened>> {
        self.settled(Kind::Read, |tx, actor, pins| {
            use_secrets::open_all(tx, actor, pins, wanted)
        })
    }

    fn in_workspace<T>(
        &mut self,
        kind: Kind,
        slug: &str,
        action: Action,
        work: impl FnOnce(&Workspace<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut work = Some(work);
        self.settled(kind, |tx, actor, pins| {
            let Some(ws) = Workspace::enter_or_race(tx, actor, pins, slug, action)? else {
                return Ok(Attempt::Raced);
            };
            // An attempt is retried only when `enter_or_race` raced, before `work` ran.
            let work = work.take().ok_or_else(|| {
                anyhow::anyhow!("ohx tried to run one step twice; please report this")
            })?;
            let value = work(&ws)?;
            Ok(Attempt::Done((value, vec![After::of(&ws)])))
        })
    }

    /// Runs `attempt` in one transaction of `kind`, and again in a new one while it races a pin
    /// (see [`Attempt::Raced`]); then pins what it verified. Each race needs a pin this process
    /// had not read before, so this ends after at most one retry per workspace.
    fn settled<T>(
        &mut self,
        kind: Kind,
        mut attempt: impl FnMut(&Db<'_>, &Actor, &Pins) -> anyhow::Result<Attempt<(T, Vec<After>)>>,
    ) -> anyhow::Result<T> {
        loop {
            let (actor, pins) = (&self.actor, &self.pins);
            let run = |tx: &Db<'_>| attempt(tx, actor, pins);
            let outcome = match kind {
                Kind::Read => self.store.read(run)?,
                Kind::Write => self.store.write(run)?,
            };
            if let Attempt::Done((value, after)) = outcome {
                self.finish(after);
                return Ok(value);
            }
        }
    }

    /// After a committed transaction: pins what was newly verified and tells the notes.
    fn finish(&mut self, after: Vec<After>) {
        let mut states = Vec::new();
        for done in after {
            for note in done.notes {
                match note {
                    Note::Notice(text) => self.printer.notice(&text),
                    Note::Warning(text) => output::warning(&text),
                }
            }
            states.extend(done.state);
        }
        self.pin(states);
    }

    /// Records newly verified log heads in their pin files, with the checks passed meanwhile. A
    /// head that cannot be pinned is only a warning: the command itself succeeded, and the next
    /// one verifies from the older pin. Checks that cannot be remembered are not even that; the
    /// next command makes them again.
    fn pin(&mut self, states: Vec<State>) {
        for state in &states {
            self.pins.record(state);
        }
        if let Err(e) = self.pins.save() {
            if self.pins.has_heads_to_save() {
                output::warning(&format!("{e}"));
            }
        }
    }
}

/// Whether a transaction only reads.
#[derive(Clone, Copy)]
enum Kind {
    Read,
    Write,
}

/// How one attempt at a transaction ended.
pub(crate) enum Attempt<T> {
    Done(T),
    /// A workspace's log looked rolled back against a pin first read in this attempt: another ohx
    /// process may have committed an entry and pinned it after the snapshot began. The attempt is
    /// run again in a new transaction, against the pin already read (`Pins::get`).
    Raced,
}

/// What a transaction leaves to do once it has committed.
pub(crate) struct After {
    state: Option<State>,
    notes: Vec<Note>,
}

impl After {
    pub(crate) fn of(ws: &Workspace<'_>) -> After {
        After {
            state: ws.pin_update(),
            notes: ws.notes.take(),
        }
    }
}

/// Checks that `text` is an age recipient, before anything else is asked or looked up.
pub fn check_recipient(text: &str) -> Result<()> {
    crate::crypto::parse_recipient(text).map(|_| ())
}
