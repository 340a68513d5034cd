//! `connection add --test` and `edit --test`: the values about to be saved are checked first
//! (here against the DHIS2 stand-in of `web_apis`), and a failed check saves nothing unless
//! `--save-anyway` says otherwise.

use crate::credentials::support::{add_connection, write_file, WS};
use crate::fixtures::connection_add;
use crate::harness::{random_canary, Env};

use super::support::assert_no_secret;
use super::web_apis::dhis2;

/// `connection add dhis2 ... --test [extra]` with `password`, read from a file.
fn add_tested(env: &Env, url: &str, password: &str, extra: &[&str]) -> crate::harness::Outcome {
    let file = write_file(env, "password", password.as_bytes());
    connection_add(
        env,
        "dhis2",
        "dhis2-prod",
        &[("url", url), ("username", "etl")],
    )
    .arg("--secret")
    .arg(format!("password=file:{}", file.display()))
    .arg("--test")
    .args(extra)
    .run()
}

fn stored_password(env: &Env) -> String {
    env.ohx()
        .args(["connection", "get", "dhis2-prod", "password", "-n"])
        .ok()
        .stdout
}

#[test]
fn add_test_saves_a_connection_whose_check_passes() {
    let password = random_canary();
    let server = dhis2(&password, false);
    let env = Env::new();
    env.admin_with_workspace(WS);
    let out = add_tested(&env, &server.url(), &password, &[]);
    assert_eq!(out.status, 0, "{out}");
    assert!(
        out.stderr
            .contains("test: ok: logged in as etl (ETL Robot)"),
        "{out}"
    );
    assert!(
        out.stdout.contains("Added dhis2 connection 'dhis2-prod'"),
        "{out}"
    );
    assert_eq!(stored_password(&env), password);
    assert_no_secret(&out, &[&password]);
}

#[test]
fn add_test_saves_nothing_when_the_check_fails() {
    let server = dhis2(&random_canary(), false);
    let wrong = random_canary();
    let env = Env::new();
    env.admin_with_workspace(WS);
    let out = add_tested(&env, &server.url(), &wrong, &[]);
    assert_eq!(out.status, 1, "{out}");
    out.assert_clean_error("connection add --test");
    assert!(out.stderr.contains("credentials rejected"), "{out}");
    assert!(out.stderr.contains("nothing was saved"), "{out}");
    assert!(out.stderr.contains("--save-anyway"), "{out}");
    env.ohx()
        .args(["connection", "show", "dhis2-prod"])
        .fails(3);
    assert_no_secret(&out, &[&wrong]);
}

#[test]
fn add_test_with_save_anyway_saves_and_warns() {
    let server = dhis2(&random_canary(), false);
    let wrong = random_canary();
    let env = Env::new();
    env.admin_with_workspace(WS);
    let out = add_tested(&env, &server.url(), &wrong, &["--save-anyway"]);
    assert_eq!(out.status, 0, "{out}");
    assert!(
        out.stderr
            .contains("warning: the check failed (credentials rejected"),
        "{out}"
    );
    assert_eq!(stored_password(&env), wrong);
    assert_no_secret(&out, &[&wrong]);
}

#[test]
fn save_anyway_needs_test() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    env.ohx()
        .args([
            "connection",
            "add",
            "custom",
            "--name",
            "x",
            "--set",
            "url=http://x",
            "--save-anyway",
        ])
        .fails(2);
}

/// Alice's home with `dhis2-prod` stored with `password` at `url` (without a check).
fn stored(url: &str, password: &str) -> Env {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_connection(
        &env,
        "dhis2",
        "dhis2-prod",
        &[("url", url), ("username", "etl")],
        &[("password", password.as_bytes())],
    );
    env
}

fn edit_password(env: &Env, password: &str, extra: &[&str]) -> crate::harness::Outcome {
    let file = write_file(env, "new-password", password.as_bytes());
    env.ohx()
        .args(["connection", "edit", "dhis2-prod", "--test"])
        .arg("--secret")
        .arg(format!("password=file:{}", file.display()))
        .args(extra)
        .run()
}

#[test]
fn edit_test_keeps_the_old_values_when_the_new_ones_fail() {
    let right = random_canary();
    let server = dhis2(&right, false);
    let env = stored(&server.url(), &right);
    let wrong = random_canary();
    let out = edit_password(&env, &wrong, &[]);
    assert_eq!(out.status, 1, "{out}");
    assert!(out.stderr.contains("nothing was saved"), "{out}");
    assert_eq!(stored_password(&env), right);
    assert_no_secret(&out, &[&wrong, &right]);
}

#[test]
fn edit_test_checks_the_stored_values_with_the_change_applied() {
    // The stored password is wrong; the edit brings the right one and keeps the stored URL.
    let right = random_canary();
    let server = dhis2(&right, false);
    let env = stored(&server.url(), &random_canary());
    let out = edit_password(&env, &right, &[]);
    assert_eq!(out.status, 0, "{out}");
    assert!(out.stderr.contains("test: ok: logged in as etl"), "{out}");
    assert_eq!(stored_password(&env), right);
    assert_no_secret(&out, &[&right]);
}

#[test]
fn edit_test_with_save_anyway_saves_a_failing_change() {
    let right = random_canary();
    let server = dhis2(&right, false);
    let env = stored(&server.url(), &right);
    let wrong = random_canary();
    let out = edit_password(&env, &wrong, &["--save-anyway"]);
    assert_eq!(out.status, 0, "{out}");
    assert!(out.stderr.contains("warning: the check failed"), "{out}");
    assert_eq!(stored_password(&env), wrong);
}
