//! Files opened once and checked on the descriptor: the identity and the config are opened without
//! following a link and without blocking, then their kind, mode, owner and size are read from the
//! open file, so nothing can be swapped in between. A FIFO, a link, a huge file, a store folder
//! others may write, and an identity file holding several keys.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{set_mode, Env};

use crate::credentials::support::{one_connection, WS};

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
}

#[test]
fn a_fifo_at_the_config_path_is_refused_at_once() {
    let env = Env::new();
    one_connection(&env);
    let config = env.home().join("config.toml");
    // The first workspace wrote the default into the config; the FIFO takes its place.
    let _ = std::fs::remove_file(&config);
    mkfifo(&config);
    let started = Instant::now();
    let out = env.ohx().args(["connection", "list"]).fails_somehow();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(out.stderr.contains("not a regular file"), "{out}");
}

#[test]
fn a_fifo_at_the_identity_path_is_refused_at_once() {
    let env = Env::new();
    one_connection(&env);
    let fifo = env.root().join("identity.fifo");
    mkfifo(&fifo);
    let out = env
        .ohx()
        .env("OHX_IDENTITY", &fifo)
        .args(["connection", "list"])
        .fails(5);
    assert!(out.stderr.contains("not a regular file"), "{out}");
}

#[test]
fn a_config_symlink_is_refused() {
    let env = Env::new();
    one_connection(&env);
    let real = env.root().join("real-config.toml");
    std::fs::write(&real, format!("default_workspace = \"{WS}\"\n")).unwrap();
    set_mode(&real, 0o600);
    // The first workspace wrote the default into the config; the link takes its place.
    let _ = std::fs::remove_file(env.home().join("config.toml"));
    std::os::unix::fs::symlink(&real, env.home().join("config.toml")).unwrap();
    let out = env.ohx().args(["connection", "list"]).fails_somehow();
    assert!(out.stderr.contains("symbolic link"), "{out}");
}

#[test]
fn a_store_folder_others_may_write_is_refused() {
    let env = Env::new();
    one_connection(&env);
    for mode in [0o777, 0o1777, 0o770, 0o702] {
        set_mode(&env.home(), mode);
        let out = env.ohx().args(["connection", "list"]).fails(6);
        assert!(
            out.stderr.contains(&format!("{:04o}", mode & 0o7777)) && out.stderr.contains("folder"),
            "mode {mode:o}\n{out}"
        );
    }
    // Readable and searchable by others is fine, as for most home folders.
    set_mode(&env.home(), 0o755);
    env.ohx().args(["connection", "list"]).ok();
}

#[test]
fn a_huge_identity_file_is_refused_without_reading_it() {
    let env = Env::new();
    one_connection(&env);
    let huge = env.root().join("huge-identity.txt");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(256 * 1024 * 1024).unwrap();
    set_mode(&huge, 0o600);
    let out = env
        .ohx()
        .env("OHX_IDENTITY", &huge)
        .args(["connection", "list"])
        .fails(5);
    assert!(out.stderr.contains("too large"), "{out}");
}

#[test]
fn a_multi_key_identity_uses_the_key_of_a_user_in_the_store() {
    let env = Env::new();
    one_connection(&env);
    let mine = std::fs::read_to_string(env.identity_of("alice")).unwrap();
    let stranger = age::x25519::Identity::generate();
    use secrecy::ExposeSecret;
    let both = env.root().join("two-keys.txt");
    std::fs::write(
        &both,
        format!(
            "# an old key first\n{}\n{mine}",
            stranger.to_string().expose_secret()
        ),
    )
    .unwrap();
    set_mode(&both, 0o600);
    let out = env.ohx().env("OHX_IDENTITY", &both).args(["whoami"]).ok();
    assert!(out.stdout.contains("alice"), "{out}");
    env.ohx()
        .env("OHX_IDENTITY", &both)
        .args(["connection", "get", "kobo", "token"])
        .ok();
}

/// The race of the report: the identity path flips between the real 0600 file and a link to a
/// 0644 copy of another registered key. Checking the path, then opening it, loaded the 0644 key
/// now and then; a check on the opened descriptor never does.
#[test]
fn swapping_a_link_in_never_loads_an_unprotected_identity() {
    let env = Env::new();
    one_connection(&env);
    let mallory = env.person("mallory");
    let path = env.identity_of("alice");
    let real = env.root().join("alice-real.txt");
    std::fs::copy(&path, &real).unwrap();
    set_mode(&real, 0o600);
    let exposed = env.root().join("exposed.txt");
    std::fs::copy(env.identity_of("mallory"), &exposed).unwrap();
    std::fs::set_permissions(&exposed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = env.root().join("link-staging");
    let file_staging = env.root().join("file-staging");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, path, real, exposed) =
            (stop.clone(), path.clone(), real.clone(), exposed.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::remove_file(&link);
                let _ = std::os::unix::fs::symlink(&exposed, &link);
                let _ = std::fs::rename(&link, &path);
                let _ = std::fs::copy(&real, &file_staging);
                let _ =
                    std::fs::set_permissions(&file_staging, std::fs::Permissions::from_mode(0o600));
                let _ = std::fs::rename(&file_staging, &path);
            }
        })
    };
    let mut loaded_exposed = 0;
    for _ in 0..150 {
        let out = env.ohx().args(["whoami", "--recipient"]).run();
        if out.status == 0 && out.stdout.trim() == mallory {
            loaded_exposed += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flipper.join().unwrap();
    assert_eq!(
        loaded_exposed, 0,
        "the 0644 identity behind a link was loaded"
    );
}

#[test]
fn init_refuses_a_store_in_a_folder_others_may_write_and_creates_nothing() {
    let env = Env::new();
    let shared = env.root().join("shared");
    std::fs::create_dir(&shared).unwrap();
    set_mode(&shared, 0o1777);
    let store = shared.join("ohx.db");
    let out = env
        .ohx()
        .args(["init", "--name", "alice", "--store"])
        .arg(&store)
        .fails(6);
    assert!(out.stderr.contains("folder"), "{out}");
    assert!(
        !store.exists(),
        "a store was created in {}",
        shared.display()
    );
}

#[test]
fn dev_null_as_the_config_means_no_config() {
    let env = Env::new();
    one_connection(&env);
    env.ohx()
        .env("OHX_CONFIG", "/dev/null")
        .args(["connection", "list"])
        .ok();
}
