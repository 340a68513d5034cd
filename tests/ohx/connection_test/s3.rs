//! S3: moto's S3 server (from PyPI, run by `servers.py`) with authentication switched on, so it
//! checks every SigV4 signature, access key and IAM permission as Amazon does. The endpoint
//! reaches ohx through `AWS_ENDPOINT_URL_S3`, as it reaches the AWS tools. moto cannot answer an
//! anonymous request once authentication is on, so the anonymous case is not tested here.

use std::sync::{Arc, Mutex, Weak};

use crate::credentials::support::{add_connection, require, Component, WS};
use crate::harness::{random_canary, Env};

use super::support::{assert_no_secret, connection_test, failed_with, passed, PyServer};

const BUCKET: &str = "hmis-archive";

static SERVER: Mutex<Weak<PyServer>> = Mutex::new(Weak::new());

/// The shared moto server and a fresh home with alice admin of [`WS`]; `None` (skip) without
/// the test venv.
fn moto() -> Option<(Arc<PyServer>, Env)> {
    let python = require(Component::ServerPython)?;
    let server = {
        let mut slot = SERVER.lock().unwrap_or_else(|e| e.into_inner());
        match slot.upgrade() {
            Some(server) => server,
            None => {
                let server = Arc::new(PyServer::start(&python, &["s3", BUCKET]));
                *slot = Arc::downgrade(&server);
                server
            }
        }
    };
    let env = Env::new();
    env.admin_with_workspace(WS);
    Some((server, env))
}

fn add(env: &Env, bucket: &str, key_id: &str, secret: &str) {
    add_connection(
        env,
        "s3",
        "archive",
        &[("bucket_name", bucket), ("access_key_id", key_id)],
        &[("access_key_secret", secret.as_bytes())],
    );
}

fn test(env: &Env, server: &PyServer) -> crate::harness::Outcome {
    let endpoint = server.text("/endpoint");
    connection_test(env, &["archive"], &[("AWS_ENDPOINT_URL_S3", &endpoint)])
}

#[test]
fn a_signed_head_bucket_passes_and_reports_the_region() {
    let Some((server, env)) = moto() else { return };
    let (id, secret) = (
        server.text("/keys/reader/id"),
        server.text("/keys/reader/secret"),
    );
    add(&env, BUCKET, &id, &secret);
    let out = test(&env, &server);
    assert_eq!(
        passed(&out, "archive"),
        format!("bucket {BUCKET} exists, key {id} may list it, region us-east-1")
    );
    assert_no_secret(&out, &[&secret]);
}

#[test]
fn a_wrong_secret_is_credentials_rejected() {
    let Some((server, env)) = moto() else { return };
    let wrong = random_canary();
    add(&env, BUCKET, &server.text("/keys/reader/id"), &wrong);
    let out = test(&env, &server);
    let said = failed_with(&out, "archive", "credentials rejected");
    assert!(said.starts_with("SignatureDoesNotMatch: "), "{out}");
    assert_no_secret(&out, &[&wrong, &server.text("/keys/reader/secret")]);
}

#[test]
fn an_unknown_key_is_credentials_rejected() {
    let Some((server, env)) = moto() else { return };
    let secret = random_canary();
    add(&env, BUCKET, "AKIAOHXUNKNOWNKEY", &secret);
    let out = test(&env, &server);
    let said = failed_with(&out, "archive", "credentials rejected");
    assert!(said.starts_with("InvalidAccessKeyId: "), "{out}");
    assert_no_secret(&out, &[&secret]);
}

#[test]
fn a_missing_bucket_is_no_such_bucket() {
    let Some((server, env)) = moto() else { return };
    let secret = server.text("/keys/reader/secret");
    add(
        &env,
        "no-such-archive",
        &server.text("/keys/reader/id"),
        &secret,
    );
    let out = test(&env, &server);
    failed_with(&out, "archive", "no such bucket");
    assert_no_secret(&out, &[&secret]);
}

#[test]
fn a_key_without_the_right_to_list_is_permission_denied() {
    let Some((server, env)) = moto() else { return };
    let secret = server.text("/keys/nobody/secret");
    add(&env, BUCKET, &server.text("/keys/nobody/id"), &secret);
    let out = test(&env, &server);
    let said = failed_with(&out, "archive", "permission denied");
    assert!(said.starts_with("AccessDenied"), "{out}");
    assert_no_secret(&out, &[&secret]);
}
