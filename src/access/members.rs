//! Members of a workspace: who holds which role, and the workspace key wrapped for key holders.
//! A new key holder gets the key wrapped for them (constant cost); losing a key holder rotates the
//! key and marks the secrets "rotate at source" (docs/SECURITY.md, "Roles and keys").

use super::rotation::{self, Rotated};
use super::Workspace;
use crate::crypto::parse_recipient;
use crate::domain::{Action, Role, UserName};
use crate::error::{Error, Result};
use crate::store::members::{self, Member, WrappedKey};
use crate::store::users::{self, User};

impl Workspace<'_> {
    pub fn members(&self) -> Result<Vec<Member>> {
        members::list(self.tx, self.row().id)
    }

    /// Gives `name` (known by `recipient`) a role in the workspace (admin).
    pub fn add_member(&self, name: &UserName, recipient: &str, role: Role) -> Result<()> {
        self.require(Action::ManageMembers)?;
        let recipient = parse_recipient(recipient)?.to_string();
        let user = self.user_for(name, &recipient)?;
        if let Some(existing) = members::find(self.tx, self.row().id, name)? {
            return Err(Error::AlreadyMember {
                name: name.to_string(),
                workspace: self.slug().into(),
                role_with_article: existing.role.with_article(),
            });
        }
        let wrapped = self.wrap_if_needed(role, &user.recipient)?;
        members::upsert(self.tx, self.row().id, user.id, role, wrapped.as_ref())
    }

    /// The store's user called `name`, registered with `recipient` if new; a name or recipient
    /// that already belongs to someone else is refused.
    fn user_for(&self, name: &str, recipient: &str) -> Result<User> {
        match users::find_by_name(self.tx, name)? {
            Some(u) if u.recipient != recipient => Err(Error::NameHasOtherRecipient {
                name: name.into(),
                recipient: u.recipient,
            }),
            Some(u) => Ok(u),
            None => match users::find_by_recipient(self.tx, recipient)? {
                Some(other) => Err(Error::RecipientTaken(other.name)),
                None => Ok(users::insert(self.tx, name, recipient)?),
            },
        }
    }

    /// Changes a member's role (admin); demoting a key holder rotates the key.
    pub fn set_role(&self, name: &str, role: Role) -> Result<Option<Rotated>> {
        self.require(Action::ManageMembers)?;
        let member = self.member(name)?;
        if member.role == role {
            return Ok(None);
        }
        if role != Role::Admin {
            self.keep_an_admin(&member)?;
        }
        let ws = self.row().id;
        match (member.role.holds_key(), role.holds_key()) {
            (false, true) => {
                let wrapped = self.wrap_if_needed(role, &member.recipient)?;
                members::upsert(self.tx, ws, member.user_id, role, wrapped.as_ref())?;
                Ok(None)
            }
            (true, false) => {
                let key = self.key()?;
                members::upsert(self.tx, ws, member.user_id, role, None)?;
                Ok(Some(rotation::rotate(self.tx, self.row(), key, true)?))
            }
            _ => {
                members::set_role_keeping_key(self.tx, ws, member.user_id, role)?;
                Ok(None)
            }
        }
    }

    /// Removes a member (admin); removing a key holder rotates the key.
    pub fn remove_member(&self, name: &str) -> Result<Option<Rotated>> {
        self.require(Action::ManageMembers)?;
        let member = self.member(name)?;
        self.keep_an_admin(&member)?;
        // Unlock before removing: the remover may be removing themselves.
        let key = if member.role.holds_key() {
            Some(self.key()?)
        } else {
            None
        };
        members::remove(self.tx, self.row().id, member.user_id)?;
        match key {
            Some(key) => Ok(Some(rotation::rotate(self.tx, self.row(), key, true)?)),
            None => Ok(None),
        }
    }

    /// Replaces the workspace key and re-encrypts every secret (admin).
    pub fn rotate_key(&self) -> Result<Rotated> {
        self.require(Action::ManageWorkspace)?;
        rotation::rotate(self.tx, self.row(), self.key()?, false)
    }

    fn member(&self, name: &str) -> Result<Member> {
        members::find(self.tx, self.row().id, name)?.ok_or_else(|| Error::NoSuchMember {
            name: name.into(),
            workspace: self.slug().into(),
        })
    }

    /// Refuses to leave a workspace without an admin. Checked inside the write transaction, so two
    /// concurrent demotions of the last two admins cannot both pass.
    fn keep_an_admin(&self, member: &Member) -> Result<()> {
        if member.role == Role::Admin && members::count_admins(self.tx, self.row().id)? <= 1 {
            return Err(Error::LastAdmin {
                name: member.name.clone(),
                workspace: self.slug().into(),
            });
        }
        Ok(())
    }

    /// The workspace key wrapped for a new key holder (constant cost: no secret is re-encrypted).
    fn wrap_if_needed(&self, role: Role, recipient: &str) -> Result<Option<WrappedKey>> {
        if !role.holds_key() {
            return Ok(None);
        }
        let key = self.key()?;
        Ok(Some(WrappedKey {
            bytes: key.wrap_for(self.row().id, recipient)?,
            version: key.version(),
        }))
    }
}
