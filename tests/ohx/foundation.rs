//! The foundation of ohx, tested through the real binary: first run and `init`, the protections of
//! the store and the identity, damaged and newer stores, the permission matrix, the last admin,
//! key rotation when someone loses access, concurrent writers, passphrase-protected identities,
//! error reporting and the config file (DESIGN.md sections 1, 2, 4 and 5; RELIABILITY.md storage).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::fixtures::join;
use crate::harness::{file_mode, random_bytes, random_canary, set_mode, Env, Outcome};
use crate::store_probe::{
    age_identity, all_wrapped_keys, copy_with_change_in_wal, dump, integrity, membership_row,
    open_db, query_i64, sidecar, unwrap_key,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The wrapped workspace key of a member who must hold one.
#[track_caller]
fn wrapped_key(env: &Env, slug: &str, person: &str) -> Vec<u8> {
    match membership_row(env, slug, person) {
        Some(Some(bytes)) => bytes,
        Some(None) => panic!("{person}'s membership of {slug} has a NULL wrapped_key"),
        None => panic!("{person} is not a member of {slug}"),
    }
}

fn recipient_of(identity: &age::x25519::Identity) -> String {
    identity.to_public().to_string()
}

/// A recipient nobody in the test holds the identity of.
fn fresh_recipient() -> String {
    recipient_of(&age::x25519::Identity::generate())
}

/// `workspace show SLUG --json`, as alice.
#[track_caller]
fn show_json(env: &Env, slug: &str) -> Value {
    env.ohx()
        .args(["workspace", "show", slug, "--json"])
        .ok()
        .json()
}

/// `member list -w SLUG --json`, as `person`.
#[track_caller]
fn members_json(env: &Env, person: &str, slug: &str) -> Value {
    env.ohx_as(person)
        .args(["member", "list", "-w", slug, "--json"])
        .ok()
        .json()
}

/// The members of `slug` with the admin role, as `person` sees them.
#[track_caller]
fn admins(env: &Env, person: &str, slug: &str) -> Vec<String> {
    let list = members_json(env, person, slug);
    list["members"]
        .as_array()
        .expect("members is an array")
        .iter()
        .filter(|m| m["role"] == "admin")
        .map(|m| m["name"].as_str().expect("name").to_string())
        .collect()
}

fn key_version(show: &Value) -> u64 {
    show["key_version"].as_u64().expect("key_version")
}

fn recipient_field(show: &Value) -> String {
    show["recipient"].as_str().expect("recipient").to_string()
}

/// What a refusal must leave unchanged: alice's view of the workspace, its members, and every row.
fn snapshot(env: &Env, slug: &str) -> (Value, Value, String) {
    (
        show_json(env, slug),
        members_json(env, "alice", slug),
        dump(env),
    )
}

/// Alice admin of `w`, bob viewer, carol editor, dave registered but not a member.
fn team(env: &Env) {
    env.admin_with_workspace("w");
    join(env, "bob", "viewer", Some("w"));
    join(env, "carol", "editor", Some("w"));
    env.person("dave");
}

/// The commands of the permission matrix, each with whether only an admin may run it.
fn matrix(newcomer: &str) -> Vec<(Vec<String>, bool)> {
    let cmd = |words: &[&str], admin_only| {
        (
            words.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            admin_only,
        )
    };
    vec![
        cmd(&["workspace", "show", "w"], false),
        cmd(&["member", "list", "-w", "w"], false),
        cmd(
            &[
                "member",
                "add",
                "xavier",
                "--recipient",
                newcomer,
                "--role",
                "viewer",
                "-w",
                "w",
            ],
            true,
        ),
        cmd(&["member", "set-role", "bob", "editor", "-w", "w"], true),
        cmd(&["member", "remove", "bob", "--yes", "-w", "w"], true),
        cmd(&["workspace", "edit", "w", "--name", "X"], true),
        cmd(&["workspace", "rotate-key", "w"], true),
        cmd(&["workspace", "delete", "w", "--yes"], true),
    ]
}

/// Runs the matrix as a member with a role below admin: reads succeed, the rest is status 4,
/// and nothing changes.
fn assert_member_below_admin(person: &str) {
    let env = Env::new();
    team(&env);
    let before = snapshot(&env, "w");
    for (args, admin_only) in matrix(&fresh_recipient()) {
        let cmd = env.ohx_as(person).args(&args);
        if admin_only {
            let out = cmd.fails(4);
            assert!(
                out.stderr.contains("admin"),
                "{person} `{}`: the refusal should name the role needed\n{out}",
                args.join(" ")
            );
        } else {
            cmd.ok();
        }
    }
    assert_eq!(snapshot(&env, "w"), before, "a refusal changed the store");
}

/// The files of a folder (not following links) that group or others may access.
fn shared_entries(dir: &Path) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut shared = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return shared;
    };
    for entry in entries.flatten() {
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue; // removed meanwhile (a -wal or -shm at close)
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            shared.push((entry.path(), mode));
        }
        if meta.is_dir() {
            shared.extend(shared_entries(&entry.path()));
        }
    }
    shared
}

/// Replaces the default store with `bytes` (mode 0600), removing any -wal or -shm beside it.
fn replace_store(env: &Env, bytes: &[u8]) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(&env.store(), suffix));
    }
    std::fs::write(env.store(), bytes).expect("write store");
    set_mode(&env.store(), 0o600);
}

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

// ---------------------------------------------------------------------------------------------
// First run and init
// ---------------------------------------------------------------------------------------------

#[test]
fn first_run_creates_private_store_and_identity_and_says_so_once() {
    let env = Env::new();
    let first = env.ohx().arg("whoami").ok();
    assert_eq!(
        first.stderr.matches("first run").count(),
        1,
        "the first run should be announced once\n{first}"
    );
    assert!(
        first.stdout.contains("alice"),
        "registered from $USER\n{first}"
    );
    assert_eq!(file_mode(&env.home()), 0o700, "home folder");
    assert_eq!(file_mode(&env.store()), 0o600, "store");
    assert_eq!(file_mode(&env.identity_of("alice")), 0o600, "identity");

    let second = env.ohx().arg("whoami").ok();
    assert_eq!(second.stderr, "", "only the first run is announced");
    assert_eq!(second.stdout, first.stdout);
}

#[test]
fn store_wal_shm_and_identity_stay_private_under_any_umask() {
    for mask in ["022", "000"] {
        let env = Env::new();
        env.ohx().arg("whoami").umask(mask).ok();
        assert_eq!(file_mode(&env.home()), 0o700, "home folder, umask {mask}");
        assert_eq!(file_mode(&env.store()), 0o600, "store, umask {mask}");
        assert_eq!(
            file_mode(&env.identity_of("alice")),
            0o600,
            "identity, umask {mask}"
        );
        // Concurrent writers keep a -wal and -shm around for a while: look at them as they live.
        let mut children: Vec<_> = (0..4)
            .map(|i| {
                env.ohx()
                    .args(["workspace", "create", &format!("W {i}"), "--slug"])
                    .arg(format!("w{i}"))
                    .umask(mask)
                    .spawn()
            })
            .collect();
        let mut shared = Vec::new();
        while children
            .iter_mut()
            .any(|c| matches!(c.try_wait(), Ok(None)))
        {
            shared.extend(shared_entries(&env.home()));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        shared.extend(shared_entries(&env.home()));
        for child in children {
            let out = Outcome::of(child);
            assert_eq!(out.status, 0, "workspace create under umask {mask}\n{out}");
        }
        assert!(
            shared.is_empty(),
            "files readable by group or others under umask {mask}: {shared:?}"
        );
    }
}

#[test]
fn a_second_init_changes_nothing() {
    let env = Env::new();
    env.person("alice");
    let identity_before = std::fs::read(env.identity_of("alice")).expect("identity");
    let whoami_before = env.ohx().args(["whoami", "--json"]).ok().json();
    let users_before = query_i64(&env, "SELECT count(*) FROM users");
    let dump_before = dump(&env);

    for again in [
        env.ohx().args(["init", "--name", "alice"]),
        env.ohx().arg("init"),
    ] {
        let out = again.ok();
        assert!(
            out.stdout.to_lowercase().contains("already initialised"),
            "init should say it is already initialised\n{out}"
        );
    }

    let identity_after = std::fs::read(env.identity_of("alice")).expect("identity");
    assert!(identity_after == identity_before, "the identity changed");
    assert_eq!(
        env.ohx().args(["whoami", "--json"]).ok().json(),
        whoami_before
    );
    assert_eq!(query_i64(&env, "SELECT count(*) FROM users"), users_before);
    assert_eq!(dump(&env), dump_before);
}

#[test]
fn an_explicit_store_that_does_not_exist_is_refused_and_not_created() {
    let env = Env::new();
    let path = env.root().join("elsewhere").join("team.db");
    for cmd in [
        env.ohx().arg("--store").arg(&path).arg("whoami"),
        env.ohx().env("OHX_STORE", &path).arg("whoami"),
    ] {
        let out = cmd.fails(6);
        assert!(
            out.stderr
                .contains(&format!("ohx init --store {}", path.display())),
            "the hint should give the init command\n{out}"
        );
    }
    assert!(!path.exists(), "the store was created");
    assert!(
        !path.parent().expect("parent").exists(),
        "its folder was created"
    );
    assert!(!env.home().exists(), "a first run happened anyway");
}

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

// ---------------------------------------------------------------------------------------------
// Unsafe identity and store files
// ---------------------------------------------------------------------------------------------

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

#[test]
fn a_store_readable_by_others_is_refused() {
    let env = Env::new();
    env.person("alice");
    set_mode(&env.store(), 0o644);
    let out = env.ohx().arg("whoami").fails(6);
    assert!(
        out.stderr.contains("chmod"),
        "the hint should say chmod\n{out}"
    );
    assert_eq!(file_mode(&env.store()), 0o644, "left as it was");
}

#[test]
fn a_store_behind_a_symlink_is_refused() {
    let env = Env::new();
    env.person("alice");
    let real = env.root().join("real.db");
    std::fs::rename(env.store(), &real).expect("move store");
    std::os::unix::fs::symlink(&real, env.store()).expect("symlink");
    let out = env.ohx().arg("whoami").fails(6);
    assert!(out.stderr.contains("symbolic link"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Newer, empty, garbage and truncated stores
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

    let out = env
        .ohx()
        .arg("--store")
        .arg(&copy)
        .args(["workspace", "list"])
        .fails(6);
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
    let copy = env.root().join("crashed.db");
    copy_with_change_in_wal(&env, "PRAGMA user_version = 999", &copy);
    let main_before = std::fs::read(&copy).expect("read copy");
    let wal_before = std::fs::read(sidecar(&copy, "-wal")).expect("read wal");
    assert_eq!(
        &main_before[60..64],
        &1u32.to_be_bytes(),
        "the header still says 1"
    );

    let out = env
        .ohx()
        .arg("--store")
        .arg(&copy)
        .args(["workspace", "list"])
        .fails(6);
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

// ---------------------------------------------------------------------------------------------
// The permission matrix
// ---------------------------------------------------------------------------------------------

#[test]
fn a_viewer_may_read_the_workspace_but_not_manage_it() {
    assert_member_below_admin("bob");
}

#[test]
fn an_editor_may_read_the_workspace_but_not_manage_it() {
    assert_member_below_admin("carol");
}

#[test]
fn a_refusal_names_the_role_with_the_right_article() {
    let env = Env::new();
    team(&env);
    let out = env
        .ohx_as("carol")
        .args(["workspace", "rotate-key", "w"])
        .fails(4);
    assert!(
        out.stderr.contains("you are an editor of workspace 'w'"),
        "{out}"
    );
    let out = env
        .ohx_as("bob")
        .args(["workspace", "rotate-key", "w"])
        .fails(4);
    assert!(
        out.stderr.contains("you are a viewer of workspace 'w'"),
        "{out}"
    );
}

#[test]
fn a_stranger_is_refused_everything_and_changes_nothing() {
    let env = Env::new();
    team(&env);
    let before = snapshot(&env, "w");
    for (args, _) in matrix(&fresh_recipient()) {
        env.ohx_as("dave").args(&args).fails(4);
    }
    assert_eq!(snapshot(&env, "w"), before, "a refusal changed the store");
}

#[test]
fn a_stranger_cannot_tell_an_existing_workspace_from_a_missing_one() {
    let env = Env::new();
    team(&env);
    let newcomer = fresh_recipient();
    let refusals = |env: &Env| -> Vec<String> {
        let mut commands: Vec<Vec<String>> =
            matrix(&newcomer).into_iter().map(|(a, _)| a).collect();
        commands.push(vec!["workspace".into(), "use".into(), "w".into()]);
        commands.push(vec![
            "workspace".into(),
            "show".into(),
            "-w".into(),
            "w".into(),
        ]);
        commands
            .iter()
            .map(|args| env.ohx_as("dave").args(args).fails(4).stderr)
            .collect()
    };
    let while_it_exists = refusals(&env);
    env.ohx().args(["workspace", "delete", "w", "--yes"]).ok();
    let once_it_is_gone = refusals(&env);
    for (i, (a, b)) in while_it_exists.iter().zip(&once_it_is_gone).enumerate() {
        assert_eq!(a, b, "command {i} of the matrix leaks that 'w' exists");
    }
}

// ---------------------------------------------------------------------------------------------
// The last admin
// ---------------------------------------------------------------------------------------------

#[test]
fn the_only_admin_cannot_remove_themselves() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let before = snapshot(&env, "w");
    let out = env
        .ohx()
        .args(["member", "remove", "alice", "--yes", "-w", "w"])
        .fails_somehow();
    assert!(out.stderr.contains("last admin"), "{out}");
    assert_eq!(snapshot(&env, "w"), before);
}

#[test]
fn the_only_admin_cannot_demote_themselves() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let before = snapshot(&env, "w");
    let out = env
        .ohx()
        .args(["member", "set-role", "alice", "editor", "-w", "w"])
        .fails_somehow();
    assert!(out.stderr.contains("last admin"), "{out}");
    assert_eq!(snapshot(&env, "w"), before);
}

#[test]
fn two_admins_demoting_each_other_at_once_leave_exactly_one_admin() {
    let env = Env::new();
    env.admin_with_workspace("w");
    join(&env, "erin", "admin", Some("w"));
    for round in 0..10 {
        // Whoever is still admin makes the other admin again.
        let remaining = admins(&env, "alice", "w");
        let (keeper, other) = if remaining.contains(&"alice".to_string()) {
            ("alice", "erin")
        } else {
            ("erin", "alice")
        };
        if remaining.len() < 2 {
            env.ohx_as(keeper)
                .args(["member", "set-role", other, "admin", "-w", "w"])
                .ok();
        }
        assert_eq!(admins(&env, "alice", "w").len(), 2, "round {round} setup");

        let a = env
            .ohx_as("alice")
            .args(["member", "set-role", "erin", "editor", "-w", "w"])
            .spawn();
        let e = env
            .ohx_as("erin")
            .args(["member", "set-role", "alice", "editor", "-w", "w"])
            .spawn();
        let outcomes = [Outcome::of(a), Outcome::of(e)];
        let succeeded = outcomes.iter().filter(|o| o.status == 0).count();
        assert_eq!(
            succeeded, 1,
            "round {round}: exactly one demotion must pass\n{}\n{}",
            outcomes[0], outcomes[1]
        );
        for out in outcomes.iter().filter(|o| o.status != 0) {
            out.assert_clean_error("the losing demotion");
        }
        let left = admins(&env, "alice", "w");
        assert_eq!(left.len(), 1, "round {round}: admins left: {left:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Key rotation
// ---------------------------------------------------------------------------------------------

#[test]
fn removing_an_editor_rotates_the_key_out_of_their_reach() {
    let env = Env::new();
    env.admin_with_workspace("w");
    join(&env, "carol", "editor", Some("w"));
    let before = show_json(&env, "w");
    let carols_old_wrapped = wrapped_key(&env, "w", "carol");

    env.ohx()
        .args(["member", "remove", "carol", "--yes", "-w", "w"])
        .ok();

    let after = show_json(&env, "w");
    assert_eq!(key_version(&after), key_version(&before) + 1, "key_version");
    assert_ne!(
        recipient_field(&after),
        recipient_field(&before),
        "recipient"
    );
    assert_eq!(
        membership_row(&env, "w", "carol"),
        None,
        "carol's row is gone"
    );

    // Carol's old wrapped key was hers: it opens, but holds the old key, which is retired.
    let carol_id = age_identity(&env.identity_of("carol"));
    let old_key = unwrap_key(&carols_old_wrapped, &carol_id).expect("carol's old wrapped key");
    assert_eq!(recipient_of(&old_key), recipient_field(&before));
    assert_ne!(recipient_of(&old_key), recipient_field(&after));

    // No wrapped key left in the store opens with carol's identity.
    let remaining = all_wrapped_keys(&env);
    assert!(!remaining.is_empty());
    for wrapped in &remaining {
        assert!(
            age::decrypt(&carol_id, wrapped).is_err(),
            "carol can still decrypt a wrapped key"
        );
    }
    // Alice's wrapped key holds the new key (so the check above is not vacuous).
    let alice_id = age_identity(&env.identity_of("alice"));
    let new_key = unwrap_key(&wrapped_key(&env, "w", "alice"), &alice_id).expect("alice's key");
    assert_eq!(recipient_of(&new_key), recipient_field(&after));
}

#[test]
fn a_viewer_holds_no_wrapped_key() {
    let env = Env::new();
    team(&env);
    assert_eq!(
        membership_row(&env, "w", "bob"),
        Some(None),
        "bob is a viewer"
    );
    let bob_id = age_identity(&env.identity_of("bob"));
    for wrapped in all_wrapped_keys(&env) {
        assert!(
            age::decrypt(&bob_id, &wrapped).is_err(),
            "a viewer can decrypt a key"
        );
    }
}

#[test]
fn demoting_an_editor_to_viewer_rotates_the_key() {
    let env = Env::new();
    team(&env);
    let before = show_json(&env, "w");
    let carols_old_wrapped = wrapped_key(&env, "w", "carol");
    env.ohx()
        .args(["member", "set-role", "carol", "viewer", "-w", "w"])
        .ok();
    let after = show_json(&env, "w");
    assert_eq!(key_version(&after), key_version(&before) + 1, "key_version");
    assert_ne!(
        recipient_field(&after),
        recipient_field(&before),
        "recipient"
    );
    assert_eq!(
        membership_row(&env, "w", "carol"),
        Some(None),
        "carol's wrapped_key"
    );
    let carol_id = age_identity(&env.identity_of("carol"));
    let old_key = unwrap_key(&carols_old_wrapped, &carol_id).expect("carol's old key");
    assert_ne!(recipient_of(&old_key), recipient_field(&after));
    for wrapped in all_wrapped_keys(&env) {
        assert!(age::decrypt(&carol_id, &wrapped).is_err());
    }
}

#[test]
fn promoting_a_viewer_wraps_the_current_key_without_rotating() {
    let env = Env::new();
    team(&env);
    let before = show_json(&env, "w");
    env.ohx()
        .args(["member", "set-role", "bob", "editor", "-w", "w"])
        .ok();
    let after = show_json(&env, "w");
    assert_eq!(key_version(&after), key_version(&before));
    assert_eq!(recipient_field(&after), recipient_field(&before));
    let bob_id = age_identity(&env.identity_of("bob"));
    let key = unwrap_key(&wrapped_key(&env, "w", "bob"), &bob_id).expect("bob's key");
    assert_eq!(recipient_of(&key), recipient_field(&after));
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

#[test]
fn sixteen_processes_creating_workspaces_at_once_all_succeed() {
    let env = Env::new();
    env.person("alice");
    let children: Vec<_> = (0..16)
        .map(|i| {
            env.ohx()
                .args(["workspace", "create", &format!("Workspace {i}")])
                .args(["--slug", &format!("ws-{i}")])
                .spawn()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = Outcome::of(child);
        assert_eq!(out.status, 0, "process {i}\n{out}");
    }
    let list = env.ohx().args(["workspace", "list", "--json"]).ok().json();
    assert_eq!(list.as_array().expect("array").len(), 16, "{list}");
    assert_eq!(integrity(&env), "ok");
}

#[test]
fn concurrent_first_runs_all_succeed_with_one_identity() {
    // Store::create is built for concurrent first runs (hard link into place); the identity and
    // the user must be just as safe, e.g. for jobs started in parallel on a fresh machine.
    for trial in 0..20 {
        let env = Env::new();
        let children: Vec<_> = (0..8).map(|_| env.ohx().arg("whoami").spawn()).collect();
        for (i, child) in children.into_iter().enumerate() {
            let out = Outcome::of(child);
            assert_eq!(out.status, 0, "trial {trial}, process {i}\n{out}");
        }
        assert_eq!(query_i64(&env, "SELECT count(*) FROM users"), 1);
        let recipient = env.ohx().args(["whoami", "--recipient"]).ok().stdout;
        let registered: String = open_db(&env.store())
            .query_row("SELECT recipient FROM users", [], |r| r.get(0))
            .expect("user");
        assert_eq!(recipient.trim(), registered);
    }
}

// ---------------------------------------------------------------------------------------------
// Passphrase-protected identities
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Errors and output
// ---------------------------------------------------------------------------------------------

#[test]
fn a_closed_pipe_ends_quietly_with_status_zero() {
    let env = Env::new();
    env.admin_with_workspace("w");
    // Well over a pipe buffer (64 KiB) of output, so ohx must meet the closed pipe.
    let long = "d".repeat(2000);
    for i in 0..50 {
        env.ohx()
            .args([
                "workspace",
                "create",
                &format!("Workspace {i}"),
                "--description",
                &long,
            ])
            .ok();
    }
    for extra in [None, Some("--json")] {
        for _ in 0..3 {
            let out = env
                .ohx()
                .args(["workspace", "list"])
                .args(extra)
                .shell("bash", r#""$0" "$@" | head -n 0; exit "${PIPESTATUS[0]}""#)
                .run();
            assert_eq!(out.status, 0, "ohx's status in the pipeline\n{out}");
            assert_eq!(out.stderr, "", "a closed pipe must end quietly");
        }
    }
}

#[test]
fn help_exits_zero() {
    let env = Env::new();
    let out = env.ohx().arg("--help").ok();
    assert!(out.stdout.contains("Usage"), "{out}");
    env.ohx().args(["workspace", "--help"]).ok();
    assert!(!env.home().exists(), "--help should not create anything");
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let env = Env::new();
    env.ohx()
        .args(["workspace", "list", "--frobnicate"])
        .fails(2);
}

#[test]
fn writing_to_a_full_device_is_an_error_not_a_panic() {
    let env = Env::new();
    env.admin_with_workspace("w");
    for args in [
        vec!["workspace", "list"],
        vec!["workspace", "list", "--json"],
    ] {
        let out = env
            .ohx()
            .args(args)
            .shell("sh", r#"exec "$0" "$@" > /dev/full"#)
            .fails_somehow();
        assert_eq!(
            out.stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "{out}"
        );
    }
}

#[test]
fn deleting_without_a_terminal_needs_yes() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let out = env.ohx().args(["workspace", "delete", "w"]).fails(2);
    assert!(out.stderr.contains("--yes"), "{out}");
    show_json(&env, "w");
}

// ---------------------------------------------------------------------------------------------
// Workspace slugs
// ---------------------------------------------------------------------------------------------

#[test]
fn creating_a_workspace_with_a_taken_slug_fails_naming_it() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let out = env
        .ohx()
        .args(["workspace", "create", "Other", "--slug", "w"])
        .fails_somehow();
    assert!(out.stderr.contains("'w'"), "{out}");

    env.ohx()
        .args(["workspace", "create", "Malaria Programme"])
        .ok();
    let out = env
        .ohx()
        .args(["workspace", "create", "malaria  programme!"])
        .fails_somehow();
    assert!(out.stderr.contains("malaria-programme"), "{out}");
    assert_eq!(query_i64(&env, "SELECT count(*) FROM workspaces"), 2);
}

#[test]
fn a_name_that_makes_no_slug_asks_for_one() {
    let env = Env::new();
    env.person("alice");
    let out = env.ohx().args(["workspace", "create", "2024"]).fails(2);
    assert!(
        out.stderr.contains("--slug"),
        "the hint should mention --slug\n{out}"
    );
    env.ohx()
        .args(["workspace", "create", "2024", "--slug", "y2024"])
        .ok();
}

// ---------------------------------------------------------------------------------------------
// The config file
// ---------------------------------------------------------------------------------------------

#[test]
fn workspace_use_saves_the_default_workspace() {
    let env = Env::new();
    env.admin_with_workspace("w");
    env.ohx()
        .args(["workspace", "create", "Other", "--slug", "other"])
        .ok();
    env.ohx().args(["workspace", "use", "w"]).ok();
    let path = env.home().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config.toml");
    let table: toml::Table = text.parse().expect("config.toml is TOML");
    assert_eq!(table["default_workspace"].as_str(), Some("w"), "{text}");
    assert_eq!(file_mode(&path), 0o600);
    // With two workspaces, the default decides.
    let show = env.ohx().args(["workspace", "show", "--json"]).ok().json();
    assert_eq!(show["slug"], "w");
}

#[test]
fn an_invalid_config_file_names_the_line() {
    let env = Env::new();
    env.admin_with_workspace("w");
    let path = env.home().join("config.toml");
    std::fs::write(&path, "# my settings\ndefault_workspace = \n").expect("write config");
    let out = env.ohx().args(["workspace", "list"]).fails_somehow();
    assert!(out.stderr.contains("line 2"), "{out}");
    assert!(out.stderr.contains(&path.display().to_string()), "{out}");
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
