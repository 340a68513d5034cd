//! A workspace entered for one action inside one store transaction: who the user is in it (from
//! the verified log when the workspace is signed, never from the rows), the role check, and the
//! workspace key, unwrapped at most once and checked against the key the log names.

use std::cell::{OnceCell, RefCell};

use crate::store::engine::Db;

use super::authority::{Authority, Note};
use super::Actor;
use crate::authority::{AuthorityError, Pins, PublicKey};
use crate::crypto::WorkspaceKey;
use crate::domain::{Action, Role};
use crate::error::{Error, Result};
use crate::store::workspaces::{self, Workspace as WorkspaceRow};

/// A workspace the current user may act in, for the length of one transaction.
pub struct Workspace<'t> {
    pub(super) tx: &'t Db<'t>,
    pub(super) actor: &'t Actor,
    /// The user's pins, which remember the checks their ohx passed ("Remembered checks").
    pub(super) pins: &'t Pins,
    row: WorkspaceRow,
    role: Role,
    wrapped_key: Option<Vec<u8>>,
    key: OnceCell<WorkspaceKey>,
    pub(super) authority: RefCell<Authority>,
    /// Things to tell the user once the transaction is over (an upgrade, a rejected entry).
    pub(super) notes: RefCell<Vec<Note>>,
}

impl<'t> Workspace<'t> {
    /// [`Workspace::enter`], or `None` when the workspace's log looked rolled back against a pin
    /// this call read for the first time: the pin may be newer than the transaction's snapshot
    /// (`Pins::get`), so the caller retries in a new transaction (`Attempt::Raced`).
    pub(super) fn enter_or_race(
        tx: &'t Db<'t>,
        actor: &'t Actor,
        pins: &'t Pins,
        slug: &str,
        action: Action,
    ) -> Result<Option<Workspace<'t>>> {
        let read_before = pins.read_count();
        match Workspace::enter(tx, actor, pins, slug, action) {
            Err(Error::Authority(AuthorityError::Rollback { .. }))
                if pins.read_count() > read_before =>
            {
                Ok(None)
            }
            entered => entered.map(Some),
        }
    }

    /// The user's membership of `slug`, if their role allows `action`.
    ///
    /// A workspace the user does not belong to is indistinguishable from one that does not exist:
    /// both give status 4 with the same message, so nobody learns which workspaces exist. For a
    /// signed workspace the role is the one the verified log gives the user's recipient.
    fn enter(
        tx: &'t Db<'t>,
        actor: &'t Actor,
        pins: &'t Pins,
        slug: &str,
        action: Action,
    ) -> Result<Workspace<'t>> {
        let user = actor.user()?;
        let membership = workspaces::membership(tx, slug, user.id)?
            .ok_or_else(|| Error::NotAMember(slug.into()))?;
        let mut notes = Vec::new();
        let (authority, rejected) =
            Authority::read(tx, pins, &membership.workspace, slug, &mut notes)?;
        let role = match &authority {
            // Listed as a member by the rows but not by the log: the rows were changed or the
            // log was broken or cut short. Say so rather than deny that the workspace exists.
            Authority::Signed { state, .. } => {
                state
                    .role_of(&actor.public)
                    .ok_or_else(|| Error::MembershipUnverified {
                        workspace: slug.into(),
                        why: match rejected {
                            Some(broken) => format!(
                                "entry {} fails its checks ({}), and what follows it is ignored",
                                broken.seq, broken.error
                            ),
                            None => format!(
                                "it ends at entry {} without naming you (it was cut short, or the membership row was planted)",
                                state.head().seq
                            ),
                        },
                    })?
            }
            Authority::Unsigned => membership.role,
        };
        let entered = Workspace {
            tx,
            actor,
            pins,
            row: membership.workspace,
            role,
            wrapped_key: membership.wrapped_key,
            key: OnceCell::new(),
            authority: RefCell::new(authority),
            notes: RefCell::new(notes),
        };
        entered.require(action)?;
        Ok(entered)
    }

    /// Fails unless the user's role allows `action` (the permission matrix is `Role::allows`).
    pub fn require(&self, action: Action) -> Result<()> {
        if self.role.allows(action) {
            return Ok(());
        }
        let needed = Role::lowest_allowing(action);
        Err(Error::RoleTooLow {
            workspace: self.slug().into(),
            user: self.actor.user()?.name.clone(),
            role_with_article: self.role.with_article(),
            action: action.describe(),
            needed: needed.as_str(),
        })
    }

    pub fn row(&self) -> &WorkspaceRow {
        &self.row
    }

    pub fn slug(&self) -> &str {
        &self.row.slug
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The workspace key, unwrapped with the user's identity on first use. For a signed
    /// workspace it must be the key the log names: a key someone wrapped for every member (their
    /// recipients are public) opens, but names another recipient, and is refused.
    pub(super) fn key(&self) -> Result<&WorkspaceKey> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let ws = self.row();
        let wrapped = self
            .wrapped_key
            .as_deref()
            .ok_or_else(|| Error::NoKeyHeld(ws.slug.clone()))?;
        let key = WorkspaceKey::unwrap(
            wrapped,
            self.actor.identity(),
            ws.id,
            ws.key_version,
            &ws.slug,
        )?;
        if let Authority::Signed { state, .. } = &*self.authority.borrow() {
            // Finding the key's recipient is a scalar multiplication; once it matched, the pin
            // remembers that these bytes open to the key the log names (docs/SECURITY.md,
            // "Remembered checks").
            let checked = state.wrapped_key_check(&self.actor.public, wrapped);
            let id = state.workspace_id();
            if !self.pins.remembers(&id, &checked) {
                let public = PublicKey::from_recipient(&key.recipient())
                    .map_err(|_| Error::BadWrappedKey(ws.slug.clone()))?;
                state.check_workspace_key(key.version(), &public)?;
                self.pins.remember(&id, checked);
            }
        }
        Ok(self.key.get_or_init(|| key))
    }

    /// The recipient secrets are sealed to: the one the verified log names, never a column.
    pub(super) fn sealing_recipient(&self) -> String {
        match &*self.authority.borrow() {
            Authority::Signed { state, .. } => state.key_recipient().recipient(),
            Authority::Unsigned => self.row.recipient.clone(),
        }
    }

    /// Renames the workspace or changes its description (admin).
    pub fn edit(&self, name: Option<&str>, description: Option<&str>) -> Result<String> {
        self.require(Action::ManageWorkspace)?;
        let ws = self.row();
        let new_name = name.unwrap_or(&ws.name).to_string();
        if new_name != ws.name {
            self.log(crate::authority::Body::WorkspaceRenamed {
                slug: ws.slug.clone(),
                name: new_name.clone(),
            })?;
        }
        workspaces::update(
            self.tx,
            ws.id,
            &new_name,
            description.unwrap_or(&ws.description),
        )?;
        Ok(new_name)
    }

    /// Deletes the workspace with its connections, memberships and log (admin).
    pub fn delete(&self) -> Result<()> {
        self.require(Action::ManageWorkspace)?;
        workspaces::delete(self.tx, self.row().id)
    }
}
