//! GCS: the GCS emulator from PyPI (`gcp-storage-emulator`) serves the bucket's metadata, and a
//! token endpoint started by the test (`servers.py`, with PyJWT and cryptography) accepts the
//! JWT bearer grant only when the assertion verifies with the service account's public key, was
//! issued by its `client_email` and is addressed to the endpoint itself. The key's `token_uri`
//! points at that endpoint; `STORAGE_EMULATOR_HOST` points the JSON API at the emulator, or, for
//! a refusal the emulator never gives, at the recording stand-in server.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use tempfile::TempDir;

use crate::credentials::support::{add_gcs_lake, require, Component};
use crate::fixtures::gcs_key;
use crate::harness::{random_canary, Env};

use super::support::{
    assert_no_secret, connection_test, failed_with, passed, rsa_key, PyServer, Recorder, Reply,
};

const BUCKET: &str = "hmis-lake";
const CLIENT: &str = "etl@hmis-archive.iam.gserviceaccount.com";

/// The emulator and token endpoint, the key pair they trust, and where requests are recorded.
struct Google {
    server: PyServer,
    private_key: String,
    records: PathBuf,
    dir: TempDir,
}

static GOOGLE: Mutex<Weak<Google>> = Mutex::new(Weak::new());

fn google() -> Option<(Arc<Google>, Env)> {
    let python = require(Component::ServerPython)?;
    require(Component::Openssl)?;
    let google = {
        let mut slot = GOOGLE.lock().unwrap_or_else(|e| e.into_inner());
        match slot.upgrade() {
            Some(google) => google,
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("ohx-gcs-")
                    .tempdir()
                    .unwrap();
                let (private_key, public) = rsa_key(dir.path(), "service-account");
                let records = dir.path().join("token-requests.jsonl");
                let server = PyServer::start(
                    &python,
                    &[
                        "gcs",
                        BUCKET,
                        public.to_str().unwrap(),
                        CLIENT,
                        records.to_str().unwrap(),
                    ],
                );
                let google = Arc::new(Google {
                    server,
                    private_key,
                    records,
                    dir,
                });
                *slot = Arc::downgrade(&google);
                google
            }
        }
    };
    Some((google, Env::new()))
}

impl Google {
    /// A service-account key as Google issues it, for `private_key`, whose `token_uri` is the
    /// test's endpoint.
    fn key(&self, private_key: &str) -> String {
        serde_json::to_string_pretty(&serde_json::json!({
            "type": "service_account",
            "project_id": "hmis-archive",
            "private_key_id": "5c1e0d9a7b",
            "private_key": private_key,
            "client_email": CLIENT,
            "client_id": "104857600",
            "token_uri": self.server.text("/token_uri"),
        }))
        .unwrap()
            + "\n"
    }

    fn test(&self, env: &Env) -> crate::harness::Outcome {
        let storage = self.server.text("/storage");
        connection_test(env, &["lake"], &[("STORAGE_EMULATOR_HOST", &storage)])
    }

    /// Every token request recorded so far (the tests share the endpoint: a test looks at the
    /// ones after its own start).
    fn records(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.records)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// The PEM body lines of a private key, each a secret to look for.
fn pem_lines(pem: &str) -> Vec<&str> {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[test]
fn the_key_signs_a_jwt_that_the_token_endpoint_accepts_and_the_bucket_is_read() {
    let Some((google, env)) = google() else {
        return;
    };
    let key = google.key(&google.private_key);
    add_gcs_lake_in_new_workspace(&env, &key);
    let before = google.records().len();
    let out = google.test(&env);
    assert_eq!(
        passed(&out, "lake"),
        format!("service account {CLIENT}, bucket {BUCKET}, location US, STANDARD")
    );
    let records = google.records();
    let issued: Vec<&serde_json::Value> = records[before..]
        .iter()
        .filter(|r| r.get("issued").is_some())
        .collect();
    assert!(!issued.is_empty(), "no token was issued: {records:?}");
    let record = issued[0];
    assert_eq!(record["path"], "/token");
    assert_eq!(record["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(
        record["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_eq!(record["header"]["alg"], "RS256");
    assert_eq!(record["header"]["kid"], "5c1e0d9a7b");
    let claims = &record["claims"];
    assert_eq!(claims["iss"], CLIENT);
    assert_eq!(
        claims["aud"].as_str(),
        Some(google.server.text("/token_uri").as_str())
    );
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/devstorage.read_only"
    );
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!(lifetime <= 3600, "a token asked for {lifetime} s");
    let token = record["issued"].as_str().unwrap();
    let mut secrets = pem_lines(&google.private_key);
    secrets.push(token);
    assert_no_secret(&out, &secrets);
}

#[test]
fn a_key_the_token_endpoint_does_not_know_is_credentials_rejected() {
    let Some((google, env)) = google() else {
        return;
    };
    let (other, _) = rsa_key(google.dir.path(), &random_canary());
    add_gcs_lake_in_new_workspace(&env, &google.key(&other));
    let out = google.test(&env);
    let said = failed_with(&out, "lake", "credentials rejected");
    assert!(
        said.ends_with("refused the key: invalid_grant Invalid JWT Signature."),
        "{out}"
    );
    assert_no_secret(&out, &pem_lines(&other));
}

#[test]
fn a_missing_bucket_is_no_such_bucket() {
    let Some((google, env)) = google() else {
        return;
    };
    env.admin_with_workspace(crate::credentials::support::WS);
    crate::credentials::support::add_connection(
        &env,
        "gcs",
        "lake",
        &[("bucket_name", "no-such-lake")],
        &[(
            "service_account_key",
            google.key(&google.private_key).as_bytes(),
        )],
    );
    let out = google.test(&env);
    failed_with(&out, "lake", "no such bucket");
    assert_no_secret(&out, &pem_lines(&google.private_key));
}

#[test]
fn a_key_whose_private_key_is_not_rsa_fails_without_quoting_it() {
    let Some((google, env)) = google() else {
        return;
    };
    let canary = random_canary();
    add_gcs_lake_in_new_workspace(&env, &gcs_key(&canary));
    let out = google.test(&env);
    failed_with(&out, "lake", "credentials rejected");
    assert_no_secret(&out, &[&canary]);
}

fn add_gcs_lake_in_new_workspace(env: &Env, key: &str) {
    env.admin_with_workspace(crate::credentials::support::WS);
    add_gcs_lake(env, key);
}

#[test]
fn the_issued_token_reaches_the_storage_api_and_a_403_is_permission_denied() {
    // The emulator accepts any token and never refuses, so the recording stand-in plays the
    // JSON API here, answering as Google does for a service account without storage.buckets.get.
    let Some((google, env)) = google() else {
        return;
    };
    let storage = Recorder::start(|_| {
        Reply::json(
            403,
            serde_json::json!({"error": {"code": 403, "message": format!(
                "{CLIENT} does not have storage.buckets.get access to the Google Cloud Storage bucket."
            )}}),
        )
    });
    add_gcs_lake_in_new_workspace(&env, &google.key(&google.private_key));
    let before = google.records().len();
    let out = connection_test(
        &env,
        &["lake"],
        &[("STORAGE_EMULATOR_HOST", &storage.url())],
    );
    let said = failed_with(&out, "lake", "permission denied");
    assert!(
        said.contains("does not have storage.buckets.get access"),
        "{out}"
    );
    // Tests share the token endpoint: the token sent must be one issued since this one began.
    let requests = storage.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/storage/v1/b/hmis-lake")
    );
    let sent = requests[0].header("authorization").unwrap_or_default();
    let token = sent.strip_prefix("Bearer ").expect("a bearer token");
    let issued: Vec<String> = google.records()[before..]
        .iter()
        .filter_map(|r| r["issued"].as_str().map(str::to_string))
        .collect();
    assert!(
        issued.iter().any(|t| t == token),
        "{token} was not issued: {issued:?}"
    );
    assert_no_secret(&out, &[token]);
}
