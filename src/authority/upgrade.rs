//! Signing a workspace from before signed authority: the first admin command on a workspace with
//! no log turns its current rows into a genesis (with that admin as creator) followed by one
//! `member added` entry per other member, and says so once.

use super::{AuthorityError, Body, Entry, Genesis, PublicKey, SigningKey, State, WorkspaceId};
use crate::domain::Role;

/// A workspace as its unsigned rows describe it.
pub struct Unsigned<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub key_version: u32,
    pub key_recipient: PublicKey,
    /// Every member but the signing admin: name, recipient, role.
    pub others: Vec<(&'a str, PublicKey, Role)>,
}

/// The entries that sign `unsigned`'s current state, by `admin` (named `admin_name` in it), and the
/// state they define. The rows are what the admin vouches for; a tampered row signed here becomes
/// authority, so the caller shows the members it signs.
pub fn sign_current_state(
    admin: &SigningKey,
    admin_name: &str,
    timestamp: i64,
    unsigned: &Unsigned<'_>,
) -> Result<(Vec<Entry>, State), AuthorityError> {
    let genesis = Entry::genesis(
        admin,
        timestamp,
        Genesis {
            workspace_id: WorkspaceId::random()?,
            slug: unsigned.slug.into(),
            name: unsigned.name.into(),
            creator_name: admin_name.into(),
            creator: admin.public_key(),
            key_version: unsigned.key_version,
            key_recipient: unsigned.key_recipient,
        },
    );
    let mut state = State::from_genesis(&genesis)?;
    let mut entries = vec![genesis];
    for (name, recipient, role) in &unsigned.others {
        let body = Body::MemberAdded {
            name: (*name).into(),
            recipient: *recipient,
            role: *role,
        };
        let (entry, next) = state.propose(admin, timestamp, body)?;
        entries.push(entry);
        state = next;
    }
    Ok((entries, state))
}
