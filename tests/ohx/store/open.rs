//! Which files ohx agrees to open as its store: a store from a newer ohx (its version in the
//! header or still in the WAL), an SQLite file of another program (its `application_id` in the
//! header or in the WAL), and empty, garbage or truncated files are refused with status 6 and
//! left byte for byte as they were.

use std::path::Path;

use crate::fixtures::WS;
use crate::harness::{random_bytes, set_mode, Env, Outcome};
use crate::store_probe::{copy_with_change_in_wal, open_db, sidecar};

/// `workspace list` on the store at `path`, which must fail with status 6 (a store problem).
#[track_caller]
fn list_refused(env: &Env, path: &Path) -> Outcome {
    env.ohx()
        .arg("--store")
        .arg(path)
        .args(["workspace", "list"])
        .fails(6)
}

// ---------------------------------------------------------------------------------------------
// Newer stores and other SQLite files
// ---------------------------------------------------------------------------------------------

#[test]
fn a_store_from_a_newer_ohx_is_refused_and_left_byte_for_byte_untouched() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let copy = env.root().join("newer.db");
    std::fs::copy(env.store(), &copy).expect("copy store");
    set_mode(&copy, 0o600);
    let db = open_db(&copy);
    db.execute_batch("PRAGMA user_version = 999")
        .expect("set user_version");
    // Closing the last connection checkpoints the WAL into the file and removes it.
    db.close().map_err(|(_, e)| e).expect("close");
    let before = std::fs::read(&copy).expect("read copy");
    assert_eq!(
        &before[60..64],
        &999u32.to_be_bytes(),
        "user_version in the header"
    );
    assert!(!sidecar(&copy, "-wal").exists());

    let out = list_refused(&env, &copy);
    assert!(out.stderr.contains("newer"), "{out}");

    let after = std::fs::read(&copy).expect("read copy");
    assert!(after == before, "the newer store was modified");
    for suffix in ["-wal", "-shm", "-journal"] {
        assert!(
            !sidecar(&copy, suffix).exists(),
            "ohx left a {suffix} file beside the newer store"
        );
    }
}

#[test]
fn a_newer_store_whose_version_is_still_in_the_wal_is_left_untouched() {
    // The state a newer ohx leaves when it is killed before its last connection closes: the
    // schema change committed in the -wal, not yet checkpointed into the main file.
    let env = Env::new();
    env.admin_with_workspace("w");
    // The schema version this ohx writes, as a store it made says it (it grows with migrations).
    let current = std::fs::read(env.store()).expect("read the store")[60..64].to_vec();
    let copy = env.root().join("crashed.db");
    copy_with_change_in_wal(&env, "PRAGMA user_version = 999", &copy);
    let main_before = std::fs::read(&copy).expect("read copy");
    let wal_before = std::fs::read(sidecar(&copy, "-wal")).expect("read wal");
    assert_ne!(current, 999u32.to_be_bytes());
    assert_eq!(
        &main_before[60..64],
        current.as_slice(),
        "the header still says the current schema"
    );

    let out = list_refused(&env, &copy);
    assert!(out.stderr.contains("newer"), "{out}");

    let main_after = std::fs::read(&copy).expect("read copy");
    let wal_after = std::fs::read(sidecar(&copy, "-wal")).unwrap_or_default();
    assert!(
        main_after == main_before,
        "the main file of the newer store was rewritten"
    );
    assert!(
        wal_after == wal_before,
        "the -wal of the newer store was consumed"
    );
}

#[test]
fn a_sqlite_file_that_is_not_an_ohx_store_is_refused_untouched() {
    let env = Env::new();
    env.person("alice");
    let foreign = env.root().join("foreign.db");
    let db = rusqlite::Connection::open(&foreign).expect("create");
    db.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .expect("fill");
    db.close().map_err(|(_, e)| e).expect("close");
    set_mode(&foreign, 0o600);
    let before = std::fs::read(&foreign).expect("read");
    let out = list_refused(&env, &foreign);
    assert!(out.stderr.contains("not an ohx store"), "{out}");
    assert!(
        std::fs::read(&foreign).expect("read") == before,
        "the file changed"
    );
    for suffix in ["-wal", "-shm", "-journal"] {
        assert!(!sidecar(&foreign, suffix).exists(), "ohx left a {suffix}");
    }
}

#[test]
fn a_store_whose_application_id_changed_in_the_wal_is_refused_untouched() {
    // The header says ohx, the committed WAL says otherwise: the check must not stop at the
    // header, and must not checkpoint the WAL into a file it refuses.
    let env = Env::new();
    env.admin_with_workspace(WS);
    let copy = env.root().join("changed.db");
    copy_with_change_in_wal(&env, "PRAGMA application_id = 7;", &copy);
    let main_before = std::fs::read(&copy).expect("read");
    let wal_before = std::fs::read(sidecar(&copy, "-wal")).expect("read wal");
    let out = list_refused(&env, &copy);
    assert!(out.stderr.contains("not an ohx store"), "{out}");
    assert!(
        std::fs::read(&copy).expect("read") == main_before,
        "the main file changed"
    );
    assert!(
        std::fs::read(sidecar(&copy, "-wal")).unwrap_or_default() == wal_before,
        "the WAL was consumed"
    );
}

// ---------------------------------------------------------------------------------------------
// Empty, garbage and truncated files
// ---------------------------------------------------------------------------------------------

/// Replaces the default store with `bytes` (mode 0600), removing any -wal or -shm beside it.
fn replace_store(env: &Env, bytes: &[u8]) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(&env.store(), suffix));
    }
    std::fs::write(env.store(), bytes).expect("write store");
    set_mode(&env.store(), 0o600);
}

#[test]
fn an_empty_store_file_is_refused_and_stays_empty() {
    let env = Env::new();
    env.person("alice");
    replace_store(&env, b"");
    let out = env.ohx().arg("whoami").fails(6);
    assert!(out.stderr.contains("empty"), "{out}");
    let len = std::fs::metadata(env.store()).expect("stat").len();
    assert_eq!(len, 0, "the empty store was replaced by a new one");
}

#[test]
fn a_garbage_store_file_is_refused() {
    let env = Env::new();
    env.person("alice");
    let garbage = random_bytes(8192);
    replace_store(&env, &garbage);
    env.ohx().arg("whoami").fails(6);
    let after = std::fs::read(env.store()).expect("read");
    assert!(after == garbage, "the garbage file was modified");

    // Garbage behind a genuine SQLite magic string too.
    let mut disguised = b"SQLite format 3\0".to_vec();
    disguised.extend(random_bytes(8192 - 16));
    replace_store(&env, &disguised);
    env.ohx().arg("whoami").fails(6);
}

#[test]
fn a_truncated_store_is_refused_without_a_panic() {
    let env = Env::new();
    env.admin_with_workspace("w");
    for i in 0..6 {
        env.ohx()
            .args(["workspace", "create", &format!("Data {i}"), "--description"])
            .arg("x".repeat(500))
            .ok();
    }
    let full = std::fs::read(env.store()).expect("read store");
    assert!(full.len() > 4096, "the store should span several pages");
    for len in [4096, 50, 100, full.len() / 2, full.len() - 1] {
        replace_store(&env, &full[..len]);
        let out = env.ohx().args(["workspace", "list"]).fails(6);
        assert!(!out.stderr.contains("panicked"), "{out}");
        let now = std::fs::metadata(env.store()).expect("stat").len();
        assert_eq!(
            now, len as u64,
            "the truncated store (first {len} bytes) was rewritten"
        );
    }
}
