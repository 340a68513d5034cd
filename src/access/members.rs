//! Members of a workspace: who holds which role, and the workspace key wrapped for key holders.
//! Who is a member, with which role and recipient, is what the verified log says; the membership
//! rows only index the wrapped keys. Every change is a signed log entry. A new key holder gets
//! the key wrapped for them (constant cost); losing a key holder rotates the key and marks the
//! secrets "rotate at source" (docs/SECURITY.md, "Roles and keys").

use super::rotation::{self, Rotated};
use super::Workspace;
use crate::authority::{Body, PublicKey, State};
use crate::crypto::parse_recipient;
use crate::domain::{Action, Role, UserName};
use crate::error::{Error, Result};
use crate::store::members::{self, Member, WrappedKey};
use crate::store::users::{self, User};
use crate::store::{authority_log, connections};

/// A member as the verified log defines them, with their user row when the store has one.
struct Target {
    name: String,
    recipient: PublicKey,
    role: Role,
    user: Option<User>,
}

impl Workspace<'_> {
    /// The members, as the verified log defines them (the rows for an unsigned workspace).
    pub fn members(&self) -> Result<Vec<Member>> {
        let Some(state) = self.state() else {
            return members::list(self.tx, self.row().id);
        };
        let mut list = Vec::new();
        for m in state.members() {
            let recipient = m.recipient.recipient();
            let user_id = users::find_by_recipient(self.tx, &recipient)?.map_or(-1, |u| u.id);
            list.push(Member {
                user_id,
                name: m.name.clone(),
                recipient,
                role: m.role,
            });
        }
        Ok(list)
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
        let public =
            PublicKey::from_recipient(&recipient).map_err(|_| Error::BadRecipient(recipient))?;
        self.log(Body::MemberAdded {
            name: name.to_string(),
            recipient: public,
            role,
        })?;
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
                None => users::insert(self.tx, name, recipient),
            },
        }
    }

    /// Changes a member's role (admin); demoting a key holder rotates the key.
    pub fn set_role(&self, name: &str, role: Role) -> Result<Option<Rotated>> {
        self.require(Action::ManageMembers)?;
        let before = self.signed_state()?;
        let target = self.target(&before, name)?;
        if target.role == role {
            return Ok(None);
        }
        if role != Role::Admin {
            self.keep_an_admin(&before, &target)?;
        }
        let change = Body::RoleChanged {
            recipient: target.recipient,
            role,
        };
        if target.role.holds_key() && !role.holds_key() {
            // The key moves on before the change, so the demoted member gets none of it.
            let rotated = rotation::rotate(self, self.key()?, true, Some(&target.recipient))?;
            self.log(change)?;
            self.set_row(&target, role, None)?;
            return Ok(Some(rotated));
        }
        self.log(change)?;
        let wrapped = self.wrap_if_needed(role, &target.recipient.recipient())?;
        self.set_row(&target, role, wrapped.as_ref())?;
        if target.role == Role::Admin {
            self.resign_records_of(&before, &target.recipient)?;
        }
        Ok(None)
    }

    /// Removes a member (admin); removing a key holder rotates the key.
    pub fn remove_member(&self, name: &str) -> Result<Option<Rotated>> {
        self.require(Action::ManageMembers)?;
        let before = self.signed_state()?;
        let target = self.target(&before, name)?;
        self.keep_an_admin(&before, &target)?;
        // Rotate before the removal: the remover may be removing themselves, and must still be
        // an admin when the rotation is signed.
        let rotated = if target.role.holds_key() {
            Some(rotation::rotate(
                self,
                self.key()?,
                true,
                Some(&target.recipient),
            )?)
        } else {
            None
        };
        self.log(Body::MemberRemoved {
            recipient: target.recipient,
        })?;
        if let Some(user) = &target.user {
            members::remove(self.tx, self.row().id, user.id)?;
        }
        Ok(rotated)
    }

    /// Replaces the workspace key and re-encrypts every secret (admin).
    pub fn rotate_key(&self) -> Result<Rotated> {
        self.require(Action::ManageWorkspace)?;
        rotation::rotate(self, self.key()?, false, None)
    }

    /// The member called `name` in the verified log: names are looked up there, and their row by
    /// recipient, so a name swapped in the store's rows cannot redirect a change to someone else.
    fn target(&self, state: &State, name: &str) -> Result<Target> {
        let member = state
            .member_named(name)
            .ok_or_else(|| Error::NoSuchMember {
                name: name.into(),
                workspace: self.slug().into(),
            })?;
        Ok(Target {
            name: member.name.clone(),
            recipient: member.recipient,
            role: member.role,
            user: users::find_by_recipient(self.tx, &member.recipient.recipient())?,
        })
    }

    /// Writes a member's row (role and wrapped key), registering their user row if it is gone.
    fn set_row(&self, target: &Target, role: Role, wrapped: Option<&WrappedKey>) -> Result<()> {
        let user = match &target.user {
            Some(user) => user.clone(),
            None => users::insert(self.tx, &target.name, &target.recipient.recipient())?,
        };
        members::upsert(self.tx, self.row().id, user.id, role, wrapped)
    }

    /// Refuses to leave a workspace without an admin. Checked inside the write transaction, so two
    /// concurrent demotions of the last two admins cannot both pass.
    fn keep_an_admin(&self, state: &State, target: &Target) -> Result<()> {
        if target.role == Role::Admin && state.admins().count() <= 1 {
            return Err(Error::LastAdmin {
                name: target.name.clone(),
                workspace: self.slug().into(),
            });
        }
        Ok(())
    }

    /// A demoted admin's record signatures stop verifying at once; the demoting admin signs again
    /// every record that still checks out against the state before the demotion.
    fn resign_records_of(&self, before: &State, demoted: &PublicKey) -> Result<()> {
        for id in connections::ids(self.tx, self.row().id)? {
            let Some(signature) = authority_log::record_signature(self.tx, id)? else {
                continue;
            };
            if signature.get(..32) != Some(demoted.as_bytes().as_slice()) {
                continue;
            }
            let Some(row) = connections::find_by_id(self.tx, id)? else {
                continue;
            };
            let fields = connections::fields(self.tx, id)?;
            let record = super::records::record_bytes(self.row().id, &row, &fields);
            if self
                .check_record_signature_in(before, &row, &record)
                .is_ok()
            {
                self.sign_record(id, &record)?;
            }
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
