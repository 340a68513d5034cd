//! The network's failures and the command's own rules: a closed loopback port is "connection
//! refused", a black-holed one (a listener that never accepts) a "timeout" within the time
//! given, several connections are checked at once, `--json` has a stable shape, and only
//! editors and admins may test.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::credentials::support::{add_connection, WS};
use crate::fixtures::join;
use crate::harness::{random_canary, Env};

use super::support::{assert_no_secret, connection_test, failed_with, line_of};

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// Alice's home with `warehouse` (PostgreSQL) and `dhis2-prod` (DHIS2) both at `port`.
fn both_at(port: u16) -> (Env, [String; 2]) {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let secrets = [random_canary(), random_canary()];
    add_connection(
        &env,
        "postgresql",
        "warehouse",
        &[
            ("host", "127.0.0.1"),
            ("port", &port.to_string()),
            ("username", "etl"),
            ("db_name", "dwh"),
        ],
        &[("password", secrets[0].as_bytes())],
    );
    add_connection(
        &env,
        "dhis2",
        "dhis2-prod",
        &[
            ("url", &format!("http://127.0.0.1:{port}")),
            ("username", "etl"),
        ],
        &[("password", secrets[1].as_bytes())],
    );
    (env, secrets)
}

#[test]
fn a_closed_port_is_connection_refused() {
    let (env, secrets) = both_at(closed_port());
    let out = connection_test(&env, &["warehouse", "dhis2-prod"], &[]);
    failed_with(&out, "warehouse", "connection refused");
    failed_with(&out, "dhis2-prod", "connection refused");
    assert!(
        out.stderr.contains("2 of 2 connections failed the test"),
        "{out}"
    );
    assert_no_secret(&out, &[&secrets[0], &secrets[1]]);
}

#[test]
fn a_black_holed_port_is_a_timeout_and_connections_are_checked_at_once() {
    // The kernel completes the handshake into the backlog; nobody ever answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (env, secrets) = both_at(port);
    let url = format!("http://127.0.0.1:{port}/");
    for id in ["kobo", "odk"] {
        add_connection(&env, "custom", id, &[("url", &url)], &[("token", b"t0ken")]);
    }
    let started = Instant::now();
    let ids = ["warehouse", "dhis2-prod", "kobo", "odk"];
    let out = connection_test(&env, &[&ids[..], &["--timeout", "2s"]].concat(), &[]);
    let took = started.elapsed();
    for id in ids {
        failed_with(&out, id, "timeout");
    }
    // Four checks of 2 s each, side by side: far less than the 8 s they would take one after
    // the other (with room for a loaded machine), and never less than the timeout.
    assert!(took >= Duration::from_secs(2), "gave up after {took:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert_no_secret(&out, &[&secrets[0], &secrets[1]]);
    drop(listener);
}

#[test]
fn json_gives_one_result_per_connection_and_the_status_still_says_failure() {
    let (env, secrets) = both_at(closed_port());
    add_connection(&env, "custom", "kobo", &[], &[("token", b"t0ken-value")]);
    let out = env
        .ohx()
        .args(["connection", "test", "warehouse", "kobo", "--json"])
        .run();
    assert_eq!(out.status, 1, "{out}");
    let results = out.json();
    let results = results.as_array().expect("an array");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["workspace"], WS);
    assert_eq!(results[0]["identifier"], "warehouse");
    assert_eq!(results[0]["type"], "postgresql");
    assert_eq!(results[0]["result"], "failed");
    assert_eq!(results[0]["class"], "connection_refused");
    assert!(results[0]["message"].as_str().unwrap().contains("refused"));
    assert_eq!(results[1]["result"], "nothing_to_test");
    assert_eq!(results[1]["class"], serde_json::Value::Null);
    assert_no_secret(&out, &[&secrets[0], "t0ken-value"]);
}

#[test]
fn viewers_may_not_test_because_it_uses_secrets() {
    let (env, _) = both_at(closed_port());
    join(&env, "bob", "viewer", None);
    let out = env
        .ohx_as("bob")
        .args(["connection", "test", "warehouse"])
        .fails(4);
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn editors_may_test() {
    let (env, _) = both_at(closed_port());
    join(&env, "carol", "editor", None);
    let out = env
        .ohx_as("carol")
        .args(["connection", "test", "warehouse"])
        .run();
    assert_eq!(out.status, 1, "{out}");
    assert!(
        line_of(&out, "warehouse").starts_with("connection refused: "),
        "{out}"
    );
}

#[test]
fn an_unknown_connection_is_not_found_and_nothing_is_checked() {
    let (env, _) = both_at(closed_port());
    let out = env
        .ohx()
        .args(["connection", "test", "warehouse", "nope"])
        .fails(3);
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn a_bad_timeout_is_a_usage_error() {
    let (env, _) = both_at(closed_port());
    for bad in ["soon", "0s", "2h"] {
        let out = env
            .ohx()
            .args(["connection", "test", "warehouse", "--timeout", bad])
            .fails(2);
        assert!(
            out.stderr.contains("invalid value") && out.stderr.contains("--timeout"),
            "{out}"
        );
    }
}
