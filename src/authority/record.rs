//! Connection record signatures: an admin signs the canonical bytes of a record together with the
//! workspace id and the key version it is sealed under, so a record is valid only in its own
//! workspace and only until the next key rotation (which re-signs every record it re-seals).

use sha2::{Digest, Sha256};

use super::{AuthorityError, Checked, State, WorkspaceId};
use crate::crypto::xeddsa::{PublicKey, Signature, SigningKey};
use crate::domain::Role;

const RECORD_CONTEXT: &[u8] = b"ohx-record-signature\x01";
const DIGEST_CONTEXT: &[u8] = b"ohx-record-digest\x01";
const CHECKED_CONTEXT: &[u8] = b"ohx-checked-signature\x01";

/// Who signed a record, and the signature: 96 bytes as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSignature {
    pub signer: PublicKey,
    pub signature: Signature,
}

impl RecordSignature {
    pub const LEN: usize = 96;

    pub fn to_bytes(&self) -> [u8; 96] {
        let mut out = [0u8; 96];
        out[..32].copy_from_slice(self.signer.as_bytes());
        out[32..].copy_from_slice(&self.signature);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<RecordSignature> {
        let bytes: &[u8; 96] = bytes.try_into().ok()?;
        let (signer, signature) = bytes.split_at(32);
        Some(RecordSignature {
            signer: PublicKey::from_bytes(signer.try_into().ok()?),
            signature: signature.try_into().ok()?,
        })
    }
}

fn record_message(workspace_id: &WorkspaceId, key_version: u32, record: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(RECORD_CONTEXT.len() + 44 + record.len());
    message.extend_from_slice(RECORD_CONTEXT);
    message.extend_from_slice(&workspace_id.0);
    message.extend_from_slice(&key_version.to_be_bytes());
    message.extend_from_slice(&(record.len() as u64).to_be_bytes());
    message.extend_from_slice(record);
    message
}

/// Signs a record's canonical bytes for `workspace_id` at `key_version`.
pub fn sign_record(
    key: &SigningKey,
    workspace_id: &WorkspaceId,
    key_version: u32,
    record: &[u8],
) -> RecordSignature {
    RecordSignature {
        signer: key.public_key(),
        signature: key.sign(&record_message(workspace_id, key_version, record)),
    }
}

/// Checks a record against the verified state: signed by one of its admins, for its workspace id
/// and its current key version. `connection` only names the record in errors.
pub fn verify_record(
    state: &State,
    connection: &str,
    record: &[u8],
    signature: &RecordSignature,
) -> Result<(), AuthorityError> {
    verify_record_remembered(state, connection, record, signature, |_| false).map(|_| ())
}

/// [`verify_record`], except that the signature equation is not solved again when `remembered`
/// knows this very signature of this very message by this signer as one verified before (by this
/// user's ohx, in their MAC'd pins). The signer must still be an admin of `state`. Returns the
/// signature's digest when it was verified here, for the caller to remember.
pub fn verify_record_remembered(
    state: &State,
    connection: &str,
    record: &[u8],
    signature: &RecordSignature,
    remembered: impl FnOnce(&Checked) -> bool,
) -> Result<Option<Checked>, AuthorityError> {
    if state.role_of(&signature.signer) != Some(Role::Admin) {
        return Err(AuthorityError::RecordSignerNotAdmin {
            connection: connection.into(),
            signer: signature.signer.recipient(),
        });
    }
    let message = record_message(&state.workspace_id(), state.key_version(), record);
    let checked = checked_signature(signature, &message);
    if remembered(&checked) {
        return Ok(None);
    }
    signature
        .signer
        .verify(&message, &signature.signature)
        .map_err(|_| AuthorityError::BadRecord {
            connection: connection.into(),
        })?;
    Ok(Some(checked))
}

/// `SHA-256(context || signer || signature || message)`: the signer and the signature have fixed
/// lengths, and the message (see `record_message`) names the workspace id, the key version and
/// the record's length, so no two checks share a digest.
fn checked_signature(signature: &RecordSignature, message: &[u8]) -> Checked {
    let mut hasher = Sha256::new();
    hasher.update(CHECKED_CONTEXT);
    hasher.update(signature.signer.as_bytes());
    hasher.update(signature.signature);
    hasher.update(message);
    hasher.finalize().into()
}

/// The digest of a record that connection entries of the log name.
pub fn record_digest(record: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(DIGEST_CONTEXT);
    hasher.update(record);
    hasher.finalize().into()
}
