//! Shared fixtures for the authority tests: people with keys, and logs built entry by entry.

mod audit;
mod encoding;
mod log;
mod pins;
mod record;
mod upgrade;

use super::*;
use crate::domain::Role;

pub(super) struct Person {
    pub name: &'static str,
    pub key: SigningKey,
}

impl Person {
    pub fn new(name: &'static str) -> Person {
        let mut secret = [0u8; 32];
        // A test without randomness would still be meaningful; the name makes keys differ.
        let _ = getrandom::getrandom(&mut secret);
        secret[..name.len().min(32)].copy_from_slice(&name.as_bytes()[..name.len().min(32)]);
        Person {
            name,
            key: SigningKey::from_secret_bytes(&secret),
        }
    }

    pub fn public(&self) -> PublicKey {
        self.key.public_key()
    }
}

/// A log and the state it defines, grown one signed entry at a time.
pub(super) struct Log {
    pub entries: Vec<Entry>,
    pub state: State,
}

/// The genesis of the test vectors (docs/SECURITY.md, section 8): signed by XEdDSA vector 1's key
/// at 1,700,000,000, workspace id 32 bytes of `0x11`, slug `prod`, key recipient
/// [`key_recipient`]`(2)`; and that key.
pub(super) fn fixed_genesis() -> (SigningKey, Entry) {
    let alice_hex = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    let alice_secret = crate::authority::pins::unhex_array::<32>(alice_hex).unwrap_or_default();
    let alice = SigningKey::from_secret_bytes(&alice_secret);
    let genesis = Entry::genesis(
        &alice,
        1_700_000_000,
        Genesis {
            workspace_id: WorkspaceId([0x11; 32]),
            slug: "prod".into(),
            name: "Production".into(),
            creator_name: "alice".into(),
            creator: alice.public_key(),
            key_version: 1,
            key_recipient: key_recipient(2),
        },
    );
    (alice, genesis)
}

pub(super) fn key_recipient(n: u8) -> PublicKey {
    SigningKey::from_secret_bytes(&[n; 32]).public_key()
}

impl Log {
    pub fn new(creator: &Person, slug: &str) -> Log {
        let genesis = Entry::genesis(
            &creator.key,
            1_700_000_000,
            Genesis {
                workspace_id: WorkspaceId::random().unwrap_or(WorkspaceId([1; 32])),
                slug: slug.into(),
                name: format!("Workspace {slug}"),
                creator_name: creator.name.into(),
                creator: creator.public(),
                key_version: 1,
                key_recipient: key_recipient(1),
            },
        );
        let state = verify_log(std::slice::from_ref(&genesis));
        assert!(state.is_ok(), "{state:?}");
        Log {
            entries: vec![genesis],
            state: state.unwrap_or_else(|_| unreachable!()),
        }
    }

    /// Appends an entry signed by `signer`; panics (failing the test) if the rules refuse it.
    #[track_caller]
    pub fn push(&mut self, signer: &Person, body: Body) -> &mut Log {
        let timestamp = 1_700_000_000 + self.entries.len() as i64;
        match self.state.propose(&signer.key, timestamp, body) {
            Ok((entry, next)) => {
                self.entries.push(entry);
                self.state = next;
            }
            Err(e) => unreachable!("the fixture's entry was refused: {e}"),
        }
        self
    }

    pub fn add(&mut self, admin: &Person, member: &Person, role: Role) -> &mut Log {
        self.push(
            admin,
            Body::MemberAdded {
                name: member.name.into(),
                recipient: member.public(),
                role,
            },
        )
    }

    /// Signs an entry that follows the current head without checking the rules (what a
    /// misbehaving or forged writer would put in the store).
    pub fn forge(&self, signer: &Person, body: Body) -> Entry {
        Entry::sign(
            &signer.key,
            self.state.head().seq + 1,
            self.state.head().hash,
            1_800_000_000,
            body,
        )
    }

    pub fn with(&self, entry: Entry) -> Vec<Entry> {
        let mut entries = self.entries.clone();
        entries.push(entry);
        entries
    }
}
