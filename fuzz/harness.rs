//! What each fuzz target does with one input. The targets in `fuzz_targets/` and the ordinary test
//! `tests/fuzz_seeds.rs` (which replays every file of `corpus/`) include this same file, so the
//! seeds are checked by `cargo test` exactly as the fuzzer runs them.
//!
//! Besides "no panic", each function checks what must hold whenever a parser accepts its input.

#![allow(clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::OnceLock;

use ohx::config::Config;
use ohx::crypto::identity::parse_identity_text;
use ohx::crypto::{frame, parse_recipient, unframe, SecretPlace, WorkspaceKey};

/// The place every `secret_frame` input is opened at; the seeds were framed and sealed for it.
pub const PLACE: SecretPlace<'static> = SecretPlace {
    workspace_id: 1,
    connection_id: 2,
    connection_slug: "fuzz",
    field_code: "password",
    key_version: 1,
};

/// The fixed workspace key of the `secret_frame` target: `fixtures/workspace-key.age` is wrapped
/// for the fuzzing-only identity `fixtures/identity.txt`, so the real ciphertext seeds decrypt and
/// the fuzzer starts from inputs that reach the frame check.
pub fn fixed_key() -> &'static WorkspaceKey {
    static KEY: OnceLock<WorkspaceKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let user = parse_identity_text(include_str!("fixtures/identity.txt"))
            .expect("fixtures/identity.txt holds an identity");
        WorkspaceKey::unwrap(
            include_bytes!("fixtures/workspace-key.age"),
            &user,
            PLACE.workspace_id,
            PLACE.key_version,
            "fuzz",
        )
        .expect("fixtures/workspace-key.age is wrapped for fixtures/identity.txt")
    })
}

/// An identity file's text, as `UserIdentity::load` reads an unprotected one.
pub fn identity_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(identity) = parse_identity_text(&text) {
        let recipient = identity.recipient();
        assert!(
            parse_recipient(&recipient).is_ok(),
            "the recipient of a parsed identity does not parse: {recipient}"
        );
    }
}

/// A recipient as `member add` takes it.
pub fn recipient(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(recipient) = parse_recipient(&text) {
        let written = recipient.to_string();
        assert!(
            parse_recipient(&written).is_ok(),
            "a parsed recipient does not parse again once written: {written}"
        );
    }
}

/// The same bytes as a decrypted plaintext (`unframe`) and as a stored ciphertext (`open_secret`).
pub fn secret_frame(data: &[u8]) {
    if let Some(value) = unframe(&PLACE, data) {
        assert!(
            frame(&PLACE, value).as_slice() == data,
            "unframe accepted bytes that frame would not write"
        );
    }
    let _ = fixed_key().open_secret(&PLACE, data);
}

/// A config file's text, as `Config::load` reads it (lossy, so every input reaches the parser).
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Config::parse(Path::new("config.toml"), &text);
}

/// The state after the genesis of the `log_entry` seeds (signed by the key of 32 bytes of 1), so
/// that a mutated entry 1 is checked against real rules, not only decoded.
fn log_genesis_state() -> &'static ohx::authority::State {
    static STATE: OnceLock<ohx::authority::State> = OnceLock::new();
    STATE.get_or_init(|| {
        let genesis =
            ohx::authority::Entry::from_bytes(include_bytes!("corpus/log_entry/seed-genesis.bin"))
                .expect("seed-genesis.bin is an entry");
        ohx::authority::State::from_genesis(&genesis).expect("seed-genesis.bin verifies")
    })
}

/// A stored log entry, as a row of `authority_log` is read: accepted only in its canonical
/// encoding, and verified (alone, and as entry 1 after the seeds' genesis) without panicking.
pub fn log_entry(data: &[u8]) {
    use ohx::authority::{extend, verify_log, Entry};
    if let Ok(entry) = Entry::from_bytes(data) {
        assert_eq!(
            entry.to_bytes(),
            data,
            "a log entry was read from bytes that are not its canonical encoding"
        );
        let _ = verify_log(std::slice::from_ref(&entry));
        let _ = extend(log_genesis_state().clone(), std::slice::from_ref(&entry));
    }
}
