//! A workspace entered for one action inside one store transaction: the user's membership, the
//! role check, and the workspace key, unwrapped at most once and only when a method needs it.

use std::cell::OnceCell;

use rusqlite::Connection;

use super::Actor;
use crate::crypto::WorkspaceKey;
use crate::domain::{Action, Role};
use crate::error::{Error, Result};
use crate::store::workspaces::{self, Membership, Workspace as WorkspaceRow};

/// A workspace the current user may act in, for the length of one transaction.
pub struct Workspace<'t> {
    pub(super) tx: &'t Connection,
    pub(super) actor: &'t Actor,
    membership: Membership,
    key: OnceCell<WorkspaceKey>,
}

impl<'t> Workspace<'t> {
    /// The user's membership of `slug`, if their role allows `action`.
    ///
    /// A workspace the user does not belong to is indistinguishable from one that does not exist:
    /// both give status 4 with the same message, so nobody learns which workspaces exist.
    pub(super) fn enter(
        tx: &'t Connection,
        actor: &'t Actor,
        slug: &str,
        action: Action,
    ) -> Result<Workspace<'t>> {
        let user = actor.user()?;
        let membership = workspaces::membership(tx, slug, user.id)?
            .ok_or_else(|| Error::NotAMember(slug.into()))?;
        let entered = Workspace {
            tx,
            actor,
            membership,
            key: OnceCell::new(),
        };
        entered.require(action)?;
        Ok(entered)
    }

    /// Fails unless the user's role allows `action` (the permission matrix is `Role::allows`).
    pub fn require(&self, action: Action) -> Result<()> {
        let role = self.membership.role;
        if role.allows(action) {
            return Ok(());
        }
        let needed = Role::lowest_allowing(action);
        Err(Error::RoleTooLow {
            workspace: self.slug().into(),
            user: self.actor.user()?.name.clone(),
            role_with_article: role.with_article(),
            action: action.describe(),
            needed: needed.as_str(),
        })
    }

    pub fn row(&self) -> &WorkspaceRow {
        &self.membership.workspace
    }

    pub fn slug(&self) -> &str {
        &self.membership.workspace.slug
    }

    pub fn role(&self) -> Role {
        self.membership.role
    }

    /// The workspace key, unwrapped with the user's identity on first use.
    pub(super) fn key(&self) -> Result<&WorkspaceKey> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let ws = self.row();
        let wrapped = self
            .membership
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
        Ok(self.key.get_or_init(|| key))
    }

    /// Renames the workspace or changes its description (admin).
    pub fn edit(&self, name: Option<&str>, description: Option<&str>) -> Result<String> {
        self.require(Action::ManageWorkspace)?;
        let ws = self.row();
        let new_name = name.unwrap_or(&ws.name);
        workspaces::update(
            self.tx,
            ws.id,
            new_name,
            description.unwrap_or(&ws.description),
        )?;
        Ok(new_name.to_string())
    }

    /// Deletes the workspace with its connections and memberships (admin).
    pub fn delete(&self) -> Result<()> {
        self.require(Action::ManageWorkspace)?;
        workspaces::delete(self.tx, self.row().id)
    }
}
