//! The state a verified log defines (the workspace's identity, its members with their roles and
//! recipients, its current key) and the rules each entry must follow to extend it.
//!
//! The rules: entries are numbered 0, 1, 2, ... and each names the hash of the one before; the
//! genesis comes first, only once, and is signed by the creator it names; every later entry is
//! signed by someone who is an admin in the state the entries before it define; a member is added
//! once, under a name nobody else in the workspace has; the last admin is never removed or
//! demoted; a key rotation raises the version and names a new recipient.

use std::collections::BTreeMap;

use super::encoding::{Malformed, Reader, Writer};
use super::entry::{role_code, role_from_code, Body, Entry, Genesis, Verifiers};
use sha2::{Digest, Sha256};

use super::{fingerprint, AuthorityError, Checked, EntryHash, Head, WorkspaceId};
use crate::crypto::xeddsa::{PublicKey, SigningKey};
use crate::domain::Role;

const STATE_MAGIC: &[u8] = b"ohx-log-state\x01";
const WRAPPED_KEY_CHECK_CONTEXT: &[u8] = b"ohx-checked-wrapped-key\x01";

/// A member as the log defines them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub recipient: PublicKey,
    pub role: Role,
}

/// The result of replaying a verified log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    workspace_id: WorkspaceId,
    slug: String,
    name: String,
    members: BTreeMap<PublicKey, Member>,
    key_version: u32,
    key_recipient: PublicKey,
    genesis_hash: EntryHash,
    head: Head,
    rotation_due: bool,
}

/// Verifies a whole log from its genesis and returns the state it defines.
pub fn verify_log(entries: &[Entry]) -> Result<State, AuthorityError> {
    let (genesis, rest) = entries.split_first().ok_or(AuthorityError::EmptyLog)?;
    extend(State::from_genesis(genesis)?, rest)
}

/// Verifies `entries`, which must follow `state`'s head directly, and returns the new state.
pub fn extend(mut state: State, entries: &[Entry]) -> Result<State, AuthorityError> {
    let mut verifiers = Verifiers::default();
    for entry in entries {
        state.apply_with(entry, &mut verifiers)?;
    }
    Ok(state)
}

/// The first entry after a valid prefix that did not verify (or did not even decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The number the entry should have had: the prefix's head plus one.
    pub seq: u64,
    pub error: AuthorityError,
}

/// Verifies as many of `rows` as form a valid continuation of `state`, and returns the state they
/// lead to with the first row that failed, if any. Using a valid prefix is always safe (a file
/// writer could have withheld the rest anyway), so a junk row at the end of a log is reported
/// instead of stopping every reader; an admin's next entry replaces it.
pub fn extend_prefix(
    mut state: State,
    rows: Vec<Result<Entry, AuthorityError>>,
) -> (State, Option<Rejected>) {
    let mut verifiers = Verifiers::default();
    for row in rows {
        let seq = state.head.seq + 1;
        if let Err(error) = row.and_then(|entry| state.apply_with(&entry, &mut verifiers)) {
            return (state, Some(Rejected { seq, error }));
        }
    }
    (state, None)
}

impl State {
    /// The state after the genesis, which must be entry 0, self-signed by the creator it names.
    pub fn from_genesis(entry: &Entry) -> Result<State, AuthorityError> {
        let Body::Genesis(genesis) = &entry.body else {
            return Err(AuthorityError::NoGenesis);
        };
        if entry.seq != 0 {
            return Err(AuthorityError::OutOfSequence {
                expected: 0,
                found: entry.seq,
            });
        }
        if entry.prev != EntryHash::ZERO {
            return Err(AuthorityError::BrokenChain { seq: 0 });
        }
        if entry.signer != genesis.creator {
            return Err(AuthorityError::GenesisNotSelfSigned);
        }
        entry.check_signature()?;
        let Genesis {
            workspace_id,
            slug,
            name,
            creator_name,
            creator,
            key_version,
            key_recipient,
        } = genesis.clone();
        let hash = entry.hash();
        let creator_member = Member {
            name: creator_name,
            recipient: creator,
            role: Role::Admin,
        };
        Ok(State {
            workspace_id,
            slug,
            name,
            members: BTreeMap::from([(creator, creator_member)]),
            key_version,
            key_recipient,
            genesis_hash: hash,
            head: Head { seq: 0, hash },
            rotation_due: false,
        })
    }

    /// Checks that `entry` extends this state and applies it. On error the state is unchanged.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), AuthorityError> {
        self.apply_with(entry, &mut Verifiers::default())
    }

    pub(crate) fn apply_with(
        &mut self,
        entry: &Entry,
        verifiers: &mut Verifiers,
    ) -> Result<(), AuthorityError> {
        let seq = entry.seq;
        let expected = self.head.seq + 1;
        if seq != expected {
            return Err(AuthorityError::OutOfSequence {
                expected,
                found: seq,
            });
        }
        if entry.prev != self.head.hash {
            return Err(AuthorityError::BrokenChain { seq });
        }
        // The signature first: an unsigned change must never be reported as a rule broken.
        entry.check_signature_with(verifiers)?;
        if self.role_of(&entry.signer) != Some(Role::Admin) {
            return Err(AuthorityError::NotAnAdmin {
                seq,
                signer: entry.signer.recipient(),
            });
        }
        let mut next = self.clone();
        next.change(seq, &entry.body)?;
        next.head = Head {
            seq,
            hash: entry.hash(),
        };
        *self = next;
        Ok(())
    }

    fn change(&mut self, seq: u64, body: &Body) -> Result<(), AuthorityError> {
        match body {
            Body::Genesis(_) => return Err(AuthorityError::SecondGenesis { seq }),
            Body::MemberAdded {
                name,
                recipient,
                role,
            } => {
                if let Some(existing) = self.members.get(recipient) {
                    return Err(AuthorityError::AlreadyMember {
                        seq,
                        name: existing.name.clone(),
                    });
                }
                if name.is_empty() || self.member_named(name).is_some() {
                    return Err(AuthorityError::NameTaken {
                        seq,
                        name: name.clone(),
                    });
                }
                let member = Member {
                    name: name.clone(),
                    recipient: *recipient,
                    role: *role,
                };
                self.members.insert(*recipient, member);
            }
            Body::RoleChanged { recipient, role } => {
                let old = self.existing_role(seq, recipient)?;
                if old == Role::Admin && *role != Role::Admin {
                    self.keep_an_admin(seq, recipient)?;
                }
                if old.holds_key() && !role.holds_key() {
                    self.rotation_due = true;
                }
                if let Some(member) = self.members.get_mut(recipient) {
                    member.role = *role;
                }
            }
            Body::MemberRemoved { recipient } => {
                let old = self.existing_role(seq, recipient)?;
                if old == Role::Admin {
                    self.keep_an_admin(seq, recipient)?;
                }
                if old.holds_key() {
                    self.rotation_due = true;
                }
                self.members.remove(recipient);
            }
            Body::KeyRotated { version, recipient } => {
                if *version <= self.key_version || *recipient == self.key_recipient {
                    return Err(AuthorityError::BadRotation {
                        seq,
                        version: *version,
                        current: self.key_version,
                    });
                }
                self.key_version = *version;
                self.key_recipient = *recipient;
                self.rotation_due = false;
            }
            Body::WorkspaceRenamed { slug, name } => {
                if slug.is_empty() {
                    return Err(AuthorityError::Malformed {
                        reason: "an empty workspace slug",
                    });
                }
                self.slug = slug.clone();
                self.name = name.clone();
            }
            Body::ConnectionCreated { identifier, .. }
            | Body::ConnectionEdited { identifier, .. }
            | Body::ConnectionDeleted { identifier, .. } => {
                if identifier.is_empty() {
                    return Err(AuthorityError::Malformed {
                        reason: "an empty connection identifier",
                    });
                }
            }
        }
        Ok(())
    }

    fn existing_role(&self, seq: u64, recipient: &PublicKey) -> Result<Role, AuthorityError> {
        self.role_of(recipient)
            .ok_or_else(|| AuthorityError::NotAMember {
                seq,
                recipient: recipient.recipient(),
            })
    }

    /// Refuses a change that would take away the admin role of `leaving` if nobody else has it.
    fn keep_an_admin(&self, seq: u64, leaving: &PublicKey) -> Result<(), AuthorityError> {
        if self.admins().any(|m| m.recipient != *leaving) {
            Ok(())
        } else {
            Err(AuthorityError::LastAdmin { seq })
        }
    }

    /// Signs an entry for `body` that follows this state, checks it against the rules, and
    /// returns it with the state it leads to. Nothing is written: the caller stores the entry.
    pub fn propose(
        &self,
        key: &SigningKey,
        timestamp: i64,
        body: Body,
    ) -> Result<(Entry, State), AuthorityError> {
        let entry = Entry::sign(key, self.head.seq + 1, self.head.hash, timestamp, body);
        let mut next = self.clone();
        next.apply(&entry)?;
        Ok((entry, next))
    }

    pub fn workspace_id(&self) -> WorkspaceId {
        self.workspace_id
    }

    pub fn slug(&self) -> &str {
        &self.slug
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The recipient every secret must be sealed to, and that a wrapped key must open to.
    pub fn key_recipient(&self) -> PublicKey {
        self.key_recipient
    }

    pub fn genesis_hash(&self) -> EntryHash {
        self.genesis_hash
    }

    /// The last entry verified.
    pub fn head(&self) -> Head {
        self.head
    }

    /// Whether someone who held the key was removed or demoted to viewer since the last rotation.
    pub fn rotation_due(&self) -> bool {
        self.rotation_due
    }

    /// The short fingerprint of the genesis, for members to compare out of band.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.genesis_hash)
    }

    /// Members in the order of their names.
    pub fn members(&self) -> Vec<&Member> {
        let mut members: Vec<&Member> = self.members.values().collect();
        members.sort_by(|a, b| a.name.cmp(&b.name));
        members
    }

    pub fn member(&self, recipient: &PublicKey) -> Option<&Member> {
        self.members.get(recipient)
    }

    pub fn member_named(&self, name: &str) -> Option<&Member> {
        self.members.values().find(|m| m.name == name)
    }

    pub fn role_of(&self, recipient: &PublicKey) -> Option<Role> {
        self.members.get(recipient).map(|m| m.role)
    }

    pub fn admins(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|m| m.role == Role::Admin)
    }

    /// The members the workspace key is wrapped for: exactly the editors and admins of the log.
    pub fn key_holders(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|m| m.role.holds_key())
    }

    /// Checks that a workspace key (its version, and the recipient of the secret key a wrapped
    /// key opened to) is the one the log names; a key planted by a file writer fails here.
    pub fn check_workspace_key(
        &self,
        version: u32,
        recipient: &PublicKey,
    ) -> Result<(), AuthorityError> {
        if version == self.key_version && *recipient == self.key_recipient {
            Ok(())
        } else {
            Err(AuthorityError::WrongWorkspaceKey {
                workspace: self.slug.clone(),
                version,
            })
        }
    }

    /// What a user's pins remember once `wrapped`, opened with the identity of `member`, gave
    /// this state's workspace key: SHA-256 over a context, the workspace id, the member, the key
    /// version and recipient the log names, and the wrapped key's bytes. Opening the same bytes
    /// with the same identity always gives the same key, so the check holds for as long as all of
    /// them stay the same.
    pub fn wrapped_key_check(&self, member: &PublicKey, wrapped: &[u8]) -> Checked {
        let mut hasher = Sha256::new();
        hasher.update(WRAPPED_KEY_CHECK_CONTEXT);
        hasher.update(self.workspace_id.0);
        hasher.update(member.as_bytes());
        hasher.update(self.key_version.to_be_bytes());
        hasher.update(self.key_recipient.as_bytes());
        hasher.update((wrapped.len() as u64).to_be_bytes());
        hasher.update(wrapped);
        hasher.finalize().into()
    }

    /// The canonical encoding of the state, cached beside a pin so that a reader only verifies the
    /// entries that are new since its last run.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(STATE_MAGIC);
        w.raw(&self.workspace_id.0)
            .text(&self.slug)
            .text(&self.name)
            .u32(self.key_version)
            .raw(self.key_recipient.as_bytes())
            .raw(&self.genesis_hash.0)
            .u64(self.head.seq)
            .raw(&self.head.hash.0)
            .u8(u8::from(self.rotation_due))
            .u32(u32::try_from(self.members.len()).unwrap_or(u32::MAX));
        for member in self.members.values() {
            w.text(&member.name)
                .raw(member.recipient.as_bytes())
                .u8(role_code(member.role));
        }
        w.finish()
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<State, Malformed> {
        let mut r = Reader::new(bytes, STATE_MAGIC)?;
        let workspace_id = WorkspaceId(r.array()?);
        let slug = r.text()?;
        let name = r.text()?;
        let key_version = r.u32()?;
        let key_recipient = PublicKey::from_bytes(r.array()?);
        let genesis_hash = EntryHash(r.array()?);
        let head = Head {
            seq: r.u64()?,
            hash: EntryHash(r.array()?),
        };
        let rotation_due = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(Malformed("bad flag")),
        };
        let mut members = BTreeMap::new();
        for _ in 0..r.u32()? {
            let name = r.text()?;
            let recipient = PublicKey::from_bytes(r.array()?);
            let role = role_from_code(r.u8()?)?;
            members.insert(
                recipient,
                Member {
                    name,
                    recipient,
                    role,
                },
            );
        }
        r.end()?;
        Ok(State {
            workspace_id,
            slug,
            name,
            members,
            key_version,
            key_recipient,
            genesis_hash,
            head,
            rotation_due,
        })
    }
}
