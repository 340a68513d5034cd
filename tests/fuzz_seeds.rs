//! The fuzz targets' corpora replayed as ordinary tests: every file under `fuzz/corpus/<target>/`
//! goes through the same function its cargo-fuzz target runs (`fuzz/harness.rs`), so the seeds
//! are checked on stable Rust by `cargo test`, without building the fuzz crate. A corpus the
//! fuzzer grew locally is replayed too; only the `seed-*` files are committed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

#[path = "../fuzz/harness.rs"]
mod harness;

/// The files of one target's corpus, sorted; at least one seed must be there.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        files.iter().any(|p| p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))),
        "no seed-* file in {}",
        dir.display()
    );
    files
}

/// Runs `target` on every file of its corpus, naming the file that panics.
fn replay(name: &str, target: fn(&[u8])) {
    for path in corpus(name) {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // A fuzzer running beside the tests replaces corpus files as it reduces them.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("cannot read {}: {e}", path.display()),
        };
        if std::panic::catch_unwind(|| target(&bytes)).is_err() {
            panic!("{name} panics on {}", path.display());
        }
    }
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
        .join(format!("seed-{name}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn identity_file_seeds_replay() {
    replay("identity_file", harness::identity_file);
}

#[test]
fn recipient_seeds_replay() {
    replay("recipient", harness::recipient);
}

#[test]
fn secret_frame_seeds_replay() {
    replay("secret_frame", harness::secret_frame);
}

#[test]
fn config_seeds_replay() {
    replay("config", harness::config);
}

#[test]
fn log_entry_seeds_replay() {
    replay("log_entry", harness::log_entry);
}

/// The log seeds decode and verify, so the fuzzer starts from entries that reach the rules.
#[test]
fn the_log_entry_seeds_are_valid() {
    use ohx::authority::{extend, verify_log, Entry};
    let genesis = Entry::from_bytes(&seed("log_entry", "genesis.bin")).unwrap();
    let state = verify_log(std::slice::from_ref(&genesis)).unwrap();
    for name in [
        "member-added.bin",
        "key-rotated.bin",
        "connection-edited.bin",
    ] {
        let entry = Entry::from_bytes(&seed("log_entry", name)).unwrap();
        assert!(extend(state.clone(), &[entry]).is_ok(), "{name}");
    }
}

/// The seeds are worth starting from only if the valid ones are valid: the fuzzer then mutates
/// inputs that reach deep into each parser.
#[test]
fn the_valid_seeds_are_accepted() {
    use ohx::crypto::identity::parse_identity_text;
    use ohx::crypto::{parse_recipient, unframe};

    let identity = parse_identity_text(&String::from_utf8_lossy(&seed(
        "identity_file",
        "plain.txt",
    )))
    .expect("seed-plain.txt holds an identity");
    assert!(parse_identity_text(&String::from_utf8_lossy(&seed(
        "identity_file",
        "age-keygen-crlf.txt"
    )))
    .is_some());
    let recipient = String::from_utf8(seed("recipient", "valid.txt")).unwrap();
    assert_eq!(identity.recipient(), recipient);
    assert!(parse_recipient(&recipient).is_ok());

    let framed = seed("secret_frame", "framed.bin");
    assert_eq!(unframe(&harness::PLACE, &framed), Some("s3cr3t 'x' \n"));
    let opened = harness::fixed_key()
        .open_secret(&harness::PLACE, &seed("secret_frame", "ciphertext.age"))
        .expect("seed-ciphertext.age opens with the fixed key");
    assert_eq!(opened.expose_secret(), "s3cr3t");
    for refused in [
        "ciphertext-other-connection.age",
        "ciphertext-other-key.age",
        "ciphertext-truncated.age",
    ] {
        assert!(harness::fixed_key()
            .open_secret(&harness::PLACE, &seed("secret_frame", refused))
            .is_err());
    }

    let config = ohx::config::Config::parse(
        Path::new("config.toml"),
        &String::from_utf8(seed("config", "valid.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(config.default_workspace.as_deref(), Some("malaria"));
    let broken = String::from_utf8(seed("config", "syntax-error.toml")).unwrap();
    assert!(ohx::config::Config::parse(Path::new("config.toml"), &broken).is_err());
}
