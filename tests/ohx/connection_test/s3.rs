//! S3: moto's S3 server (from PyPI, run by `servers.py`) with authentication switched on, so it
//! checks every SigV4 signature, access key and IAM permission as Amazon does. The endpoint
//! reaches ohx through `AWS_ENDPOINT_URL_S3`, as it reaches the AWS tools. moto neither answers an
//! anonymous request once authentication is on nor redirects to a bucket's region, so those two
//! cases are answered by the recording stand-in server instead, as Amazon documents them.

use std::sync::{Arc, Mutex, Weak};

use crate::credentials::support::{add_connection, require, Component, WS};
use crate::harness::{random_canary, Env};

use super::support::{
    assert_no_secret, connection_test, failed_with, passed, PyServer, Recorder, Reply, Request,
};

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

/// The stand-in S3 of the two tests below, for what moto does not do: it answers a HeadBucket
/// signed for `us-east-1` with Amazon's 301 and `x-amz-bucket-region: eu-west-1`, one signed
/// for `eu-west-1` or an anonymous one with 200.
fn regional_s3() -> Recorder {
    Recorder::start(|request: &Request| {
        let scope_region = request
            .header("authorization")
            .and_then(|a| a.split('/').nth(2))
            .map(str::to_string);
        let status = match scope_region.as_deref() {
            Some("us-east-1") => 301,
            _ => 200,
        };
        Reply {
            status,
            headers: vec![("x-amz-bucket-region", "eu-west-1".into())],
            body: String::new(),
        }
    })
}

#[test]
fn a_bucket_in_another_region_is_asked_again_there_once() {
    let server = regional_s3();
    let env = Env::new();
    env.admin_with_workspace(WS);
    let secret = random_canary();
    add(&env, BUCKET, "AKIAOHXTEST", &secret);
    let out = connection_test(
        &env,
        &["archive"],
        &[("AWS_ENDPOINT_URL_S3", &server.url())],
    );
    assert_eq!(
        passed(&out, "archive"),
        format!("bucket {BUCKET} exists, key AKIAOHXTEST may list it, region eu-west-1")
    );
    let requests = server.requests();
    let scopes: Vec<&str> = requests
        .iter()
        .map(|r| {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("HEAD", "/hmis-archive")
            );
            let auth = r.header("authorization").unwrap();
            assert!(
                auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAOHXTEST/"),
                "{auth}"
            );
            assert!(
                auth.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date"),
                "{auth}"
            );
            auth.split('/').nth(2).unwrap()
        })
        .collect();
    assert_eq!(scopes, ["us-east-1", "eu-west-1"]);
    assert_no_secret(&out, &[&secret]);
}

#[test]
fn without_keys_the_head_bucket_is_anonymous() {
    let server = regional_s3();
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_connection(&env, "s3", "archive", &[("bucket_name", BUCKET)], &[]);
    let out = connection_test(
        &env,
        &["archive"],
        &[("AWS_ENDPOINT_URL_S3", &server.url())],
    );
    assert_eq!(
        passed(&out, "archive"),
        format!("bucket {BUCKET} exists, anyone may list it (no keys stored), region eu-west-1")
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), None);
}
