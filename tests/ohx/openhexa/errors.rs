//! Errors a user meets talking to OpenHEXA, each one clear message with its status: a bad token
//! (which the server answers with HTTP 200), an unreachable server, one that never answers, a
//! TLS failure; and the token's own safety: never from argv, never in clear on disk.

use std::net::TcpListener;

use crate::harness::{file_mode, random_canary, Env};

use serde_json::json;

use super::support::{
    assert_no_canary, create_remote, login, new_remote, new_user_token, remote_connections,
    require_server, Remote,
};

fn login_cmd(env: &Env, url: &str, ws: &str) -> crate::harness::Cmd {
    env.ohx()
        .args(["openhexa", "login", url, "--workspace", ws, "--token", "-"])
}

#[test]
fn a_bad_token_is_refused_by_the_server_and_nothing_is_saved() {
    let Some(server) = require_server() else {
        return;
    };
    let env = Env::new();
    env.person("alice");
    let token = random_canary();
    let out = login_cmd(&env, &server.url, "cli-test-1")
        .stdin(token.clone())
        .fails(5);
    assert!(out.stderr.contains("does not accept your token"), "{out}");
    assert!(out.stderr.contains("hint: "), "{out}");
    assert_no_canary(&out, &[&token]);
    assert!(!env.home().join("openhexa.toml").exists());
}

#[test]
fn the_token_is_kept_encrypted_in_a_private_file_and_never_taken_from_argv() {
    let Some(server) = require_server() else {
        return;
    };
    let env = Env::new();
    env.admin_with_workspace("ws");
    let remote = new_remote(&server);
    let literal = env
        .ohx()
        .args([
            "openhexa",
            "login",
            &server.url,
            "-w",
            &remote.slug,
            "--token",
            &remote.token,
        ])
        .fails(2);
    assert_no_canary(&literal, &[&remote.token]);
    login(&env, &server, &remote);
    let file = env.home().join("openhexa.toml");
    assert_eq!(file_mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&remote.token), "the token is in clear");
    assert!(text.contains("BEGIN AGE ENCRYPTED FILE"));
    let status = env.ohx().args(["openhexa", "status"]).ok();
    assert!(status.stdout.contains("works"), "{status}");
    assert_no_canary(&status, &[&remote.token]);
    // Another person's identity cannot use it.
    env.person("bob");
    let theirs = env
        .ohx_as("bob")
        .env("OHX_CONFIG", env.home().join("config.toml"))
        .args(["openhexa", "status"])
        .fails(5);
    assert!(theirs.stderr.contains("another identity"), "{theirs}");
}

#[test]
fn an_unreachable_server_is_one_clear_error() {
    let env = Env::new();
    env.person("alice");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = login_cmd(&env, &format!("http://127.0.0.1:{port}"), "ws")
        .stdin("some-token")
        .fails(1);
    assert!(
        out.stderr.contains("cannot reach the OpenHEXA server"),
        "{out}"
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let env = Env::new();
    env.person("alice");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let out = login_cmd(&env, &format!("http://127.0.0.1:{port}"), "ws")
        .env("OHX_OPENHEXA_TIMEOUT", "1")
        .stdin("some-token")
        .fails(1);
    assert!(out.stderr.contains("did not answer within 1 s"), "{out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    drop(listener);
}

#[test]
fn speaking_tls_to_a_plain_server_is_a_tls_failure() {
    let Some(server) = require_server() else {
        return;
    };
    let env = Env::new();
    env.person("alice");
    let https = server.url.replacen("http://", "https://", 1);
    let out = login_cmd(&env, &https, "cli-test-1")
        .stdin("some-token")
        .fails(1);
    assert!(out.stderr.contains("TLS failure"), "{out}");
}

#[test]
fn pull_without_login_or_role_is_refused_before_any_request() {
    let env = Env::new();
    env.admin_with_workspace("ws");
    let out = env.ohx().args(["openhexa", "pull"]).fails(2);
    assert!(out.stderr.contains("not logged in"), "{out}");
    assert!(out.stderr.contains("ohx openhexa login"), "{out}");
}

#[test]
fn a_token_that_may_only_read_gets_withheld_secrets_and_a_refused_push() {
    let Some(server) = require_server() else {
        return;
    };
    let (own, other) = (new_remote(&server), new_remote(&server));
    let secret = random_canary();
    create_remote(
        &server,
        &other,
        json!({"name": "Kobo", "slug": "kobo", "type": "CUSTOM",
        "fields": [{"code": "token", "value": secret, "secret": true}]}),
    );
    // An editor of their own workspace, a viewer of `other`: OpenHEXA tokens are not limited to
    // their workspace, so theirs reads `other`, but may not see its secrets or change it.
    let token = new_user_token(&server, &[(&own.slug, "EDITOR"), (&other.slug, "VIEWER")]);
    let viewer = Remote {
        slug: other.slug.clone(),
        token,
    };
    let env = Env::new();
    env.admin_with_workspace("ws");
    login(&env, &server, &viewer);
    let pulled = env.ohx().args(["openhexa", "pull"]).fails(1);
    assert!(pulled.stdout.contains("withheld"), "{pulled}");
    assert_no_canary(&pulled, &[&secret]);
    let listed = env.ohx().args(["--json", "connection", "list"]).ok().json();
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(0),
        "nothing was pulled"
    );

    crate::credentials::support::add_connection(
        &env,
        "custom",
        "mine",
        &[("url", "https://x.org")],
        &[],
    );
    let pushed = env.ohx().args(["openhexa", "push", "mine"]).fails(4);
    assert!(
        pushed.stderr.contains("refused: PERMISSION_DENIED"),
        "{pushed}"
    );
    assert!(
        pushed.stdout.contains("failed") && pushed.stdout.contains("mine"),
        "{pushed}"
    );
    assert_eq!(remote_connections(&server, &other).len(), 1);
}
