//! One signed entry of a workspace log: what changed ([`Body`]), its place in the chain (sequence
//! number and the previous entry's hash), when, who signed it, and the XEdDSA signature.
//!
//! The signature covers the canonical encoding of everything but itself, after a context label;
//! the entry's hash covers the whole encoding, signature included, so the chain commits to the
//! exact bytes stored.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::encoding::{Malformed, Reader, Writer};
use super::{AuthorityError, EntryHash, WorkspaceId};
use crate::crypto::xeddsa::{PublicKey, Signature, SigningKey, Verifier};
use crate::domain::Role;

/// The format and version of a stored entry.
const ENTRY_MAGIC: &[u8] = b"ohx-log-entry\x01";
/// What a log signature is over, so it can never be taken for a record signature or vice versa.
const SIGNATURE_CONTEXT: &[u8] = b"ohx-log-entry-signature\x01";
const HASH_CONTEXT: &[u8] = b"ohx-log-entry-hash\x01";

/// The first entry: the workspace's identity, its creator (its first admin) and its first key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    pub workspace_id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub creator_name: String,
    pub creator: PublicKey,
    pub key_version: u32,
    pub key_recipient: PublicKey,
}

/// What an entry changes. Members are named by their recipient (their key), never by their name,
/// so that renaming or swapping names in the store cannot redirect a change to someone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Genesis(Genesis),
    MemberAdded {
        name: String,
        recipient: PublicKey,
        role: Role,
    },
    RoleChanged {
        recipient: PublicKey,
        role: Role,
    },
    MemberRemoved {
        recipient: PublicKey,
    },
    /// A new workspace key: the version and the recipient a wrapped key must open to.
    KeyRotated {
        version: u32,
        recipient: PublicKey,
    },
    WorkspaceRenamed {
        slug: String,
        name: String,
    },
    /// Audit entries for connections: the identifier and the SHA-256 of the canonical record.
    ConnectionCreated {
        identifier: String,
        digest: [u8; 32],
    },
    ConnectionEdited {
        identifier: String,
        digest: [u8; 32],
    },
    ConnectionDeleted {
        identifier: String,
        digest: [u8; 32],
    },
}

impl Body {
    fn tag(&self) -> u8 {
        match self {
            Body::Genesis(_) => 1,
            Body::MemberAdded { .. } => 2,
            Body::RoleChanged { .. } => 3,
            Body::MemberRemoved { .. } => 4,
            Body::KeyRotated { .. } => 5,
            Body::WorkspaceRenamed { .. } => 6,
            Body::ConnectionCreated { .. } => 7,
            Body::ConnectionEdited { .. } => 8,
            Body::ConnectionDeleted { .. } => 9,
        }
    }

    /// A short name for the kind of change (for `ohx log`'s JSON and messages).
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Genesis(_) => "workspace-created",
            Body::MemberAdded { .. } => "member-added",
            Body::RoleChanged { .. } => "role-changed",
            Body::MemberRemoved { .. } => "member-removed",
            Body::KeyRotated { .. } => "key-rotated",
            Body::WorkspaceRenamed { .. } => "workspace-renamed",
            Body::ConnectionCreated { .. } => "connection-created",
            Body::ConnectionEdited { .. } => "connection-edited",
            Body::ConnectionDeleted { .. } => "connection-deleted",
        }
    }

    fn write(&self, w: &mut Writer) {
        w.u8(self.tag());
        match self {
            Body::Genesis(g) => {
                w.raw(&g.workspace_id.0)
                    .text(&g.slug)
                    .text(&g.name)
                    .text(&g.creator_name)
                    .raw(g.creator.as_bytes())
                    .u32(g.key_version)
                    .raw(g.key_recipient.as_bytes());
            }
            Body::MemberAdded {
                name,
                recipient,
                role,
            } => {
                w.text(name).raw(recipient.as_bytes()).u8(role_code(*role));
            }
            Body::RoleChanged { recipient, role } => {
                w.raw(recipient.as_bytes()).u8(role_code(*role));
            }
            Body::MemberRemoved { recipient } => {
                w.raw(recipient.as_bytes());
            }
            Body::KeyRotated { version, recipient } => {
                w.u32(*version).raw(recipient.as_bytes());
            }
            Body::WorkspaceRenamed { slug, name } => {
                w.text(slug).text(name);
            }
            Body::ConnectionCreated { identifier, digest }
            | Body::ConnectionEdited { identifier, digest }
            | Body::ConnectionDeleted { identifier, digest } => {
                w.text(identifier).raw(digest);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Body, Malformed> {
        let key = |r: &mut Reader<'_>| r.array::<32>().map(PublicKey::from_bytes);
        Ok(match r.u8()? {
            1 => Body::Genesis(Genesis {
                workspace_id: WorkspaceId(r.array()?),
                slug: r.text()?,
                name: r.text()?,
                creator_name: r.text()?,
                creator: key(r)?,
                key_version: r.u32()?,
                key_recipient: key(r)?,
            }),
            2 => Body::MemberAdded {
                name: r.text()?,
                recipient: key(r)?,
                role: role_from_code(r.u8()?)?,
            },
            3 => Body::RoleChanged {
                recipient: key(r)?,
                role: role_from_code(r.u8()?)?,
            },
            4 => Body::MemberRemoved { recipient: key(r)? },
            5 => Body::KeyRotated {
                version: r.u32()?,
                recipient: key(r)?,
            },
            6 => Body::WorkspaceRenamed {
                slug: r.text()?,
                name: r.text()?,
            },
            tag @ 7..=9 => {
                let identifier = r.text()?;
                let digest = r.array()?;
                match tag {
                    7 => Body::ConnectionCreated { identifier, digest },
                    8 => Body::ConnectionEdited { identifier, digest },
                    _ => Body::ConnectionDeleted { identifier, digest },
                }
            }
            _ => return Err(Malformed("unknown kind of entry")),
        })
    }
}

/// Roles are written as fixed codes, independent of how the rest of ohx spells them.
pub(crate) fn role_code(role: Role) -> u8 {
    match role {
        Role::Viewer => 1,
        Role::Editor => 2,
        Role::Admin => 3,
    }
}

pub(crate) fn role_from_code(code: u8) -> Result<Role, Malformed> {
    match code {
        1 => Ok(Role::Viewer),
        2 => Ok(Role::Editor),
        3 => Ok(Role::Admin),
        _ => Err(Malformed("unknown role")),
    }
}

/// Signers' keys converted once per verification run (`None`: a key that cannot verify).
#[derive(Default)]
pub(crate) struct Verifiers(HashMap<PublicKey, Option<Verifier>>);

/// A signed log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    /// The hash of the entry before; all zeros for the genesis.
    pub prev: EntryHash,
    /// Seconds since the Unix epoch, as the signer's clock said (informative: not checked).
    pub timestamp: i64,
    pub signer: PublicKey,
    pub body: Body,
    pub signature: Signature,
}

impl Entry {
    /// Signs a new entry with `key`.
    pub fn sign(key: &SigningKey, seq: u64, prev: EntryHash, timestamp: i64, body: Body) -> Entry {
        let mut entry = Entry {
            seq,
            prev,
            timestamp,
            signer: key.public_key(),
            body,
            signature: [0; 64],
        };
        entry.signature = key.sign(&entry.signed_message());
        entry
    }

    /// The genesis of a new workspace, signed by its creator.
    pub fn genesis(key: &SigningKey, timestamp: i64, genesis: Genesis) -> Entry {
        Entry::sign(key, 0, EntryHash::ZERO, timestamp, Body::Genesis(genesis))
    }

    fn unsigned(&self) -> Writer {
        let mut w = Writer::new(ENTRY_MAGIC);
        w.u64(self.seq)
            .raw(&self.prev.0)
            .i64(self.timestamp)
            .raw(self.signer.as_bytes());
        self.body.write(&mut w);
        w
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut message = SIGNATURE_CONTEXT.to_vec();
        message.extend_from_slice(&self.unsigned().finish());
        message
    }

    /// The canonical encoding, as stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = self.unsigned();
        w.raw(&self.signature);
        w.finish()
    }

    /// Reads a stored entry, refusing any encoding but the canonical one.
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, AuthorityError> {
        let malformed = |Malformed(reason)| AuthorityError::Malformed { reason };
        let mut r = Reader::new(bytes, ENTRY_MAGIC).map_err(malformed)?;
        let read = |r: &mut Reader<'_>| -> Result<Entry, Malformed> {
            Ok(Entry {
                seq: r.u64()?,
                prev: EntryHash(r.array()?),
                timestamp: r.i64()?,
                signer: PublicKey::from_bytes(r.array()?),
                body: Body::read(r)?,
                signature: r.array()?,
            })
        };
        let entry = read(&mut r).map_err(malformed)?;
        r.end().map_err(malformed)?;
        Ok(entry)
    }

    /// The hash the next entry names as its `prev`.
    pub fn hash(&self) -> EntryHash {
        let mut hasher = Sha256::new();
        hasher.update(HASH_CONTEXT);
        hasher.update(self.to_bytes());
        EntryHash(hasher.finalize().into())
    }

    /// Whether the signature is the signer's over this entry (not whether the signer may sign it).
    pub fn check_signature(&self) -> Result<(), AuthorityError> {
        self.check_signature_with(&mut Verifiers::default())
    }

    pub(crate) fn check_signature_with(
        &self,
        verifiers: &mut Verifiers,
    ) -> Result<(), AuthorityError> {
        let bad = || AuthorityError::BadSignature { seq: self.seq };
        let verifier = verifiers
            .0
            .entry(self.signer)
            .or_insert_with(|| self.signer.verifier().ok())
            .as_ref()
            .ok_or_else(bad)?;
        verifier
            .verify(&self.signed_message(), &self.signature)
            .map_err(|_| bad())
    }
}
