//! The identity file: a missing one is a key error, never a new key; one readable by others or
//! behind a symbolic link is refused; a passphrase-protected one unlocks with `OHX_PASSPHRASE`,
//! fails on a wrong passphrase, fails at once without terminal or variable, and `init
//! --passphrase` writes one. The passphrase is never printed.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use crate::harness::{file_mode, random_canary, set_mode, Env, Outcome};
use crate::store_probe::recipient_of;

// ---------------------------------------------------------------------------------------------
// Missing and unsafe identity files
// ---------------------------------------------------------------------------------------------

#[test]
fn a_missing_identity_for_an_existing_store_is_a_key_error_not_a_new_key() {
    let env = Env::new();
    env.person("alice");
    std::fs::remove_file(env.identity_of("alice")).expect("remove identity");
    for args in [vec!["whoami"], vec!["workspace", "list"]] {
        let out = env.ohx().args(&args).fails(5);
        assert!(out.stderr.contains("no identity"), "{out}");
    }
    assert!(
        !env.identity_of("alice").exists(),
        "a new identity appeared"
    );

    // The same for someone whose OHX_IDENTITY names a file that is not there.
    env.ohx_as("bob").arg("whoami").fails(5);
    assert!(!env.identity_of("bob").exists(), "a new identity appeared");
}

#[test]
fn an_identity_readable_by_others_is_refused() {
    let env = Env::new();
    env.person("alice");
    set_mode(&env.identity_of("alice"), 0o644);
    let out = env.ohx().arg("whoami").fails(5);
    assert!(
        out.stderr.contains("chmod"),
        "the hint should say chmod\n{out}"
    );
    assert_eq!(
        file_mode(&env.identity_of("alice")),
        0o644,
        "left as it was"
    );
}

#[test]
fn an_identity_behind_a_symlink_is_refused() {
    let env = Env::new();
    env.person("alice");
    let real = env.root().join("real-identity.txt");
    std::fs::rename(env.identity_of("alice"), &real).expect("move identity");
    std::os::unix::fs::symlink(&real, env.identity_of("alice")).expect("symlink");
    let out = env.ohx().arg("whoami").fails(5);
    assert!(out.stderr.contains("symbolic link"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Passphrase-protected identities
// ---------------------------------------------------------------------------------------------

/// Writes an identity file protected by `passphrase` (age scrypt, armored, as `age -p` or rage
/// make them) at `path`, mode 0600; returns its recipient. The work factor is small so the test
/// stays fast.
fn write_protected_identity(path: &Path, passphrase: &str) -> String {
    use age::armor::{ArmoredWriter, Format};
    let key = age::x25519::Identity::generate();
    let recipient = recipient_of(&key);
    let text = format!(
        "# created by the ohx tests\n# public key: {recipient}\n{}\n",
        key.to_string().expose_secret()
    );
    let mut scrypt = age::scrypt::Recipient::new(SecretString::from(passphrase.to_string()));
    scrypt.set_work_factor(10);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&scrypt as &dyn age::Recipient))
            .expect("encryptor");
    let mut armored = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut armored, Format::AsciiArmor).expect("armor");
    let mut writer = encryptor.wrap_output(armor).expect("wrap output");
    writer.write_all(text.as_bytes()).expect("encrypt");
    writer.finish().and_then(|a| a.finish()).expect("finish");

    let dir = path.parent().expect("identity folder");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .expect("create identity folder");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create identity file");
    file.write_all(&armored).expect("write identity file");
    recipient
}

#[track_caller]
fn assert_canary_absent(canary: &str, outcomes: &[&Outcome]) {
    for out in outcomes {
        assert!(
            !out.stdout.contains(canary) && !out.stderr.contains(canary),
            "the passphrase was printed\n{out}"
        );
    }
}

#[test]
fn a_passphrase_identity_unlocks_with_ohx_passphrase() {
    let env = Env::new();
    let pass = random_canary();
    let recipient = write_protected_identity(&env.identity_of("pia"), &pass);
    let init = env
        .ohx_as("pia")
        .env("OHX_PASSPHRASE", &pass)
        .args(["init", "--name", "pia"])
        .ok();
    let whoami = env
        .ohx_as("pia")
        .env("OHX_PASSPHRASE", &pass)
        .args(["whoami", "--recipient"])
        .ok();
    assert_eq!(whoami.stdout.trim(), recipient);
    let json = env
        .ohx_as("pia")
        .env("OHX_PASSPHRASE", &pass)
        .args(["whoami", "--json"])
        .ok();
    assert_eq!(json.json()["user"], "pia");
    assert_canary_absent(&pass, &[&init, &whoami, &json]);
}

#[test]
fn a_wrong_passphrase_is_a_key_error() {
    let env = Env::new();
    let pass = random_canary();
    let wrong = random_canary();
    write_protected_identity(&env.identity_of("pia"), &pass);
    let init = env
        .ohx_as("pia")
        .env("OHX_PASSPHRASE", &wrong)
        .args(["init", "--name", "pia"])
        .fails(5);
    env.ohx_as("pia")
        .env("OHX_PASSPHRASE", &pass)
        .args(["init", "--name", "pia"])
        .ok();
    let whoami = env
        .ohx_as("pia")
        .env("OHX_PASSPHRASE", &wrong)
        .arg("whoami")
        .fails(5);
    assert!(whoami.stderr.contains("passphrase"), "{whoami}");
    assert_canary_absent(&pass, &[&init, &whoami]);
    assert_canary_absent(&wrong, &[&init, &whoami]);
}

#[test]
fn a_passphrase_identity_without_terminal_or_variable_fails_at_once() {
    let env = Env::new();
    let pass = random_canary();
    write_protected_identity(&env.identity_of("pia"), &pass);
    env.ohx_as("pia")
        .env("OHX_PASSPHRASE", &pass)
        .args(["init", "--name", "pia"])
        .ok();
    let started = std::time::Instant::now();
    let out = env
        .ohx_as("pia")
        .env_remove("OHX_PASSPHRASE")
        .arg("whoami")
        .stdin("")
        .fails(5);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "ohx waited for a passphrase"
    );
    assert!(
        out.stderr.contains("OHX_PASSPHRASE"),
        "the hint should name it\n{out}"
    );
    assert_canary_absent(&pass, &[&out]);
}

#[test]
fn init_with_a_passphrase_writes_a_protected_identity_that_needs_it() {
    let env = Env::new();
    let pass = random_canary();
    let out = env
        .ohx()
        .args(["init", "--name", "alice", "--passphrase"])
        .env("OHX_PASSPHRASE", &pass)
        .ok();
    assert!(!out.stdout.contains(&pass) && !out.stderr.contains(&pass));
    let identity = std::fs::read(env.home().join("identity.txt")).unwrap();
    let text = String::from_utf8_lossy(&identity);
    assert!(
        text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{text}"
    );
    assert!(!text.contains("AGE-SECRET-KEY-1") && !text.contains(&pass));
    assert_eq!(file_mode(&env.home().join("identity.txt")), 0o600);
    env.ohx().arg("whoami").fails(5);
    let me = env
        .ohx()
        .args(["whoami", "--json"])
        .env("OHX_PASSPHRASE", &pass)
        .ok()
        .json();
    assert_eq!(me["user"], "alice");
}

// ---------------------------------------------------------------------------------------------
// Two identities in one folder
// ---------------------------------------------------------------------------------------------

/// Registers an identity file `name`.txt beside alice's default identity, under that name, and
/// has alice add it to `ws` with `role`; returns its path.
fn member_beside_alice(env: &Env, name: &str, role: &str) -> std::path::PathBuf {
    let path = env
        .identity_of("alice")
        .with_file_name(format!("{name}.txt"));
    let as_it = || env.ohx().env("OHX_IDENTITY", &path);
    as_it().args(["init", "--name", name]).ok();
    let recipient = as_it().args(["whoami", "--recipient"]).ok().stdout;
    env.ohx()
        .args(["member", "add", name, "--role", role, "-w", "ws"])
        .args(["--recipient", recipient.trim()])
        .ok();
    path
}

#[test]
fn two_identities_in_one_folder_keep_their_own_pins_and_both_keep_working() {
    let env = Env::new();
    env.admin_with_workspace("ws");
    let nightly = member_beside_alice(&env, "nightly", "editor");
    // Each identity pins what it sees; neither refuses the other's pins as forged.
    for _ in 0..2 {
        env.ohx()
            .env("OHX_IDENTITY", &nightly)
            .args(["workspace", "show", "ws"])
            .ok();
        env.ohx().args(["workspace", "show", "ws"]).ok();
    }
    let folder = nightly.parent().expect("identity folder");
    for pins in ["known-workspaces", "known-workspaces.nightly.txt"] {
        let pins = folder.join(pins);
        assert_eq!(file_mode(&pins), 0o700, "{}", pins.display());
        let files = pin_files(&pins);
        assert_eq!(files.len(), 1, "one pin, of ws, in {}", pins.display());
        assert_eq!(file_mode(&files[0]), 0o600, "{}", files[0].display());
    }
}

/// The pin files in the pins folder `pins` (its lock file aside).
fn pin_files(pins: &Path) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(pins).unwrap_or_else(|e| panic!("{}: {e}", pins.display()));
    entries
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect()
}

/// Turns the pins folder `pins` of the identity at `identity` into the one file at `old` in
/// which ohx kept every workspace's pin before a file per workspace: the same pins under one
/// HMAC-SHA256, keyed under `ohx pins mac v1` (docs/SECURITY.md, section 5). The folder goes.
fn rewrite_pins_the_old_way(identity: &Path, pins: &Path, old: &Path) {
    use hmac::Mac;
    let mut workspaces = std::collections::BTreeMap::new();
    for file in pin_files(pins) {
        let text = std::fs::read_to_string(&file).expect("read a pin");
        let pin: serde_json::Value = serde_json::from_str(&text).expect("a pin is JSON");
        let pin = &pin["pin"];
        // The old records' fields, in the order the old MAC covered them.
        let record = format!(
            r#"{{"slug":{},"genesis":{},"seq":{},"head":{},"state":{}}}"#,
            pin["slug"], pin["genesis"], pin["seq"], pin["head"], pin["state"]
        );
        workspaces.insert(
            pin["workspace"].as_str().expect("an id").to_string(),
            record,
        );
    }
    let body: Vec<String> = workspaces
        .iter()
        .map(|(id, record)| format!("\"{id}\":{record}"))
        .collect();
    let workspaces = format!("{{{}}}", body.join(","));
    let key =
        ohx::authority::SigningKey::from_age_identity(&crate::store_probe::age_identity(identity))
            .expect("a signing key")
            .derive_secret(b"ohx pins mac v1");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_slice()).expect("a MAC key");
    mac.update(workspaces.as_bytes());
    let tag: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let text = format!(r#"{{"version":1,"workspaces":{workspaces},"mac":"{tag}"}}"#);
    std::fs::write(old, text).expect("write the old pins file");
    set_mode(old, 0o600);
    std::fs::remove_dir_all(pins).expect("remove the pins folder");
}

/// Puts `store` back as it was (`before`), as a file writer with an older copy would.
fn put_back(env: &Env, before: &[u8]) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(crate::store_probe::sidecar(&env.store(), suffix));
    }
    std::fs::write(env.store(), before).expect("put the old store back");
}

#[test]
fn pins_an_older_ohx_kept_in_one_file_move_into_the_folder_and_still_catch_a_rollback() {
    let env = Env::new();
    env.admin_with_workspace("ws");
    let before = std::fs::read(env.store()).expect("read store");
    env.ohx().args(["workspace", "rotate-key", "ws"]).ok();
    let identity = env.identity_of("alice");
    let folder = identity.with_file_name("known-workspaces");
    let old = identity.with_file_name("known-workspaces.json");
    rewrite_pins_the_old_way(&identity, &folder, &old);
    put_back(&env, &before);
    let out = env.ohx().args(["workspace", "show", "ws"]).fails(5);
    assert!(out.stderr.contains("rolled back"), "{out}");
    assert!(!old.exists(), "the old file is gone once its pins moved");
    assert_eq!(pin_files(&folder).len(), 1);
}

#[test]
fn pins_kept_under_the_old_shared_name_still_catch_a_rollback() {
    let env = Env::new();
    env.admin_with_workspace("ws");
    // Alice works with an identity file of another name, alone in its folder; before pins were
    // kept per identity file, its pins were `known-workspaces.json`.
    let work = member_beside_alice(&env, "work", "admin");
    let before = std::fs::read(env.store()).expect("read store");
    let as_work = || env.ohx().env("OHX_IDENTITY", &work);
    as_work().args(["workspace", "rotate-key", "ws"]).ok();
    let folder = work.with_file_name("known-workspaces.work.txt");
    let shared = work.with_file_name("known-workspaces.json");
    rewrite_pins_the_old_way(&work, &folder, &shared);
    put_back(&env, &before);
    let out = as_work().args(["workspace", "show", "ws"]).fails(5);
    assert!(out.stderr.contains("rolled back"), "{out}");
    assert!(
        shared.exists(),
        "a file under the shared name is left alone"
    );
}
