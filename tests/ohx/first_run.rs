//! The first run: a private home, store and identity created once and announced once; a second
//! `init` changes nothing; an explicit store that does not exist is refused, not created.

use crate::harness::{file_mode, Env};
use crate::store_probe::{dump, query_i64};

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
