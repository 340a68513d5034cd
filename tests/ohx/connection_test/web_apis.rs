//! DHIS2, IASO and custom URLs. DHIS2 and IASO are large Java and Django applications that
//! cannot run here, so [`Recorder`] stands in for them: it answers `/api/me`,
//! `/api/system/info` and `/api/token/` as those systems document them (DHIS2's Web API
//! reference, IASO's SimpleJWT token endpoint) and records every request, so each test asserts
//! the exact path, headers and body that ohx sent as well as what it concluded. Over HTTPS, an
//! unknown CA is a TLS failure before any request, and `SSL_CERT_FILE` makes it trusted.

use base64::Engine;
use serde_json::json;

use crate::credentials::support::{add_connection, require, Component, WS};
use crate::harness::{random_canary, Env};
use crate::test_certs::{self, Certs};

use super::support::{
    assert_no_secret, connection_test, failed_with, line_of, passed, Recorder, Reply, Request,
};

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A DHIS2 that knows one user, `etl` with `password`; `legacy` answers `/api/me` as DHIS2
/// before 2.41 did, with the username inside `userCredentials`.
pub(super) fn dhis2(password: &str, legacy: bool) -> Recorder {
    let expected = basic("etl", password);
    Recorder::start(move |request: &Request| {
        if request.header("authorization") != Some(expected.as_str()) {
            return Reply::json(
                401,
                json!({"httpStatus": "Unauthorized", "httpStatusCode": 401, "status": "ERROR",
                       "message": "Unauthorized"}),
            );
        }
        match request.path.as_str() {
            "/api/me" if legacy => Reply::json(
                200,
                json!({"id": "xE7jOejl9FI", "displayName": "ETL Robot",
                       "userCredentials": {"username": "etl"}}),
            ),
            "/api/me" => Reply::json(
                200,
                json!({"id": "xE7jOejl9FI", "username": "etl", "displayName": "ETL Robot",
                       "authorities": ["M_dhis-web-dashboard"]}),
            ),
            "/api/system/info" => Reply::json(
                200,
                json!({"version": "2.40.4.1", "revision": "9ee5da1", "serverTimeZoneId": "UTC"}),
            ),
            _ => Reply::json(404, json!({"httpStatusCode": 404, "message": "Not found"})),
        }
    })
}

fn add_dhis2(env: &Env, url: &str, password: &str) {
    env.admin_with_workspace(WS);
    add_connection(
        env,
        "dhis2",
        "dhis2-prod",
        &[("url", url), ("username", "etl")],
        &[("password", password.as_bytes())],
    );
}

#[test]
fn dhis2_logs_in_with_basic_auth_and_reports_the_user_and_version() {
    let password = random_canary();
    let server = dhis2(&password, false);
    let env = Env::new();
    add_dhis2(&env, &server.url(), &password);
    let out = connection_test(&env, &["dhis2-prod"], &[]);
    assert_eq!(
        passed(&out, "dhis2-prod"),
        "logged in as etl (ETL Robot), DHIS2 2.40.4.1",
        "{out}"
    );
    let requests = server.requests();
    let seen: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(seen, [("GET", "/api/me"), ("GET", "/api/system/info")]);
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(basic("etl", &password).as_str())
        );
        assert_eq!(request.header("accept"), Some("application/json"));
        assert!(request.body.is_empty(), "a GET with a body: {request:?}");
    }
    assert_no_secret(&out, &[&password]);
}

#[test]
fn dhis2_before_2_41_still_names_the_user() {
    let password = random_canary();
    let server = dhis2(&password, true);
    let env = Env::new();
    add_dhis2(&env, &server.url(), &password);
    let out = connection_test(&env, &["dhis2-prod"], &[]);
    assert!(
        passed(&out, "dhis2-prod").starts_with("logged in as etl (ETL Robot)"),
        "{out}"
    );
}

#[test]
fn dhis2_refusing_the_password_is_credentials_rejected_and_version_is_not_asked() {
    let server = dhis2(&random_canary(), false);
    let wrong = random_canary();
    let env = Env::new();
    add_dhis2(&env, &server.url(), &wrong);
    let out = connection_test(&env, &["dhis2-prod"], &[]);
    assert_eq!(
        failed_with(&out, "dhis2-prod", "credentials rejected"),
        "HTTP 401 Unauthorized: Unauthorized"
    );
    assert_eq!(server.requests().len(), 1, "only /api/me is asked");
    assert_no_secret(&out, &[&wrong, &basic("etl", &wrong)]);
}

#[test]
fn dhis2_redirect_is_reported_and_not_followed_with_the_password() {
    let server = Recorder::start(|_| Reply {
        status: 302,
        headers: vec![(
            "Location",
            "https://dhis2.example.org/dhis-web-login/".into(),
        )],
        body: String::new(),
    });
    let password = random_canary();
    let env = Env::new();
    add_dhis2(&env, &server.url(), &password);
    let out = connection_test(&env, &["dhis2-prod"], &[]);
    let said = failed_with(&out, "dhis2-prod", "failed");
    assert!(
        said.contains("https://dhis2.example.org/dhis-web-login/"),
        "{out}"
    );
    assert!(said.contains("`url` field"), "{out}");
    assert_eq!(server.requests().len(), 1);
    assert_no_secret(&out, &[&password]);
}

#[test]
fn dhis2_address_that_serves_a_web_page_is_not_taken_for_the_api() {
    let server = Recorder::start(|_| Reply {
        status: 200,
        headers: vec![("Content-Type", "text/html".into())],
        body: "<!DOCTYPE html><html><body>Sign in</body></html>".into(),
    });
    let env = Env::new();
    add_dhis2(&env, &server.url(), &random_canary());
    let out = connection_test(&env, &["dhis2-prod"], &[]);
    let said = failed_with(&out, "dhis2-prod", "failed");
    assert!(said.contains("an HTML page"), "{out}");
}

/// An IASO that issues tokens to `etl` with `password`; the tokens are canaries too.
fn iaso(password: &str, tokens: (String, String)) -> Recorder {
    let password = password.to_string();
    Recorder::start(move |request: &Request| {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        if request.method != "POST" || request.path != "/api/token/" {
            return Reply::json(404, json!({"detail": "Not found."}));
        }
        if body == json!({"username": "etl", "password": password}) {
            Reply::json(200, json!({"refresh": tokens.0, "access": tokens.1}))
        } else {
            Reply::json(
                401,
                json!({"detail": "No active account found with the given credentials"}),
            )
        }
    })
}

fn add_iaso(env: &Env, url: &str, password: &str) {
    env.admin_with_workspace(WS);
    add_connection(
        env,
        "iaso",
        "iaso-prod",
        &[("url", url), ("username", "etl")],
        &[("password", password.as_bytes())],
    );
}

#[test]
fn iaso_posts_the_credentials_as_json_to_the_token_endpoint() {
    let password = random_canary();
    let tokens = (random_canary(), random_canary());
    let server = iaso(&password, tokens.clone());
    let env = Env::new();
    add_iaso(&env, &format!("{}/", server.url()), &password);
    let out = connection_test(&env, &["iaso-prod"], &[]);
    assert_eq!(
        passed(&out, "iaso-prod"),
        "logged in as etl (IASO issued a token)"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/api/token/")
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, json!({"username": "etl", "password": password}));
    assert_no_secret(&out, &[&password, &tokens.0, &tokens.1]);
}

#[test]
fn iaso_refusing_the_password_is_credentials_rejected_with_its_detail() {
    let server = iaso(&random_canary(), (random_canary(), random_canary()));
    let wrong = random_canary();
    let env = Env::new();
    add_iaso(&env, &server.url(), &wrong);
    let out = connection_test(&env, &["iaso-prod"], &[]);
    assert_eq!(
        failed_with(&out, "iaso-prod", "credentials rejected"),
        "HTTP 401 Unauthorized: No active account found with the given credentials"
    );
    assert_no_secret(&out, &[&wrong]);
}

fn add_custom(env: &Env, url: Option<&str>, token: &str) {
    env.admin_with_workspace(WS);
    let plain: Vec<(&str, &str)> = url.map(|u| ("url", u)).into_iter().collect();
    add_connection(
        env,
        "custom",
        "kobo",
        &plain,
        &[("token", token.as_bytes())],
    );
}

#[test]
fn custom_url_gets_a_plain_get_without_the_secrets() {
    let server = Recorder::start(|_| Reply::json(200, json!({"ok": true})));
    let token = random_canary();
    let env = Env::new();
    let url = format!("{}/api/v2/assets/", server.url());
    add_custom(&env, Some(&url), &token);
    let out = connection_test(&env, &["kobo"], &[]);
    assert_eq!(passed(&out, "kobo"), "GET url answered HTTP 200 OK");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/api/v2/assets/")
    );
    assert_eq!(requests[0].header("authorization"), None);
    assert!(!format!("{:?}", requests[0]).contains(&token));
    assert_no_secret(&out, &[&token]);
}

#[test]
fn custom_url_answering_an_error_fails() {
    let server = Recorder::start(|_| Reply::json(503, json!({"message": "maintenance"})));
    let env = Env::new();
    add_custom(&env, Some(&server.url()), &random_canary());
    let out = connection_test(&env, &["kobo"], &[]);
    assert_eq!(
        failed_with(&out, "kobo", "failed"),
        "GET url answered HTTP 503 Service Unavailable: maintenance"
    );
}

#[test]
fn custom_without_url_has_nothing_to_test_and_succeeds() {
    let env = Env::new();
    let token = random_canary();
    add_custom(&env, None, &token);
    let out = connection_test(&env, &["kobo"], &[]);
    assert_eq!(out.status, 0, "{out}");
    assert_eq!(
        line_of(&out, "kobo"),
        "nothing to test: a custom connection without a `url` field"
    );
    assert_no_secret(&out, &[&token]);
}

/// A DHIS2 stand-in over HTTPS, with a certificate from a CA made for the test.
fn dhis2_over_https(password: &str) -> Option<(Recorder, tempfile::TempDir, Certs)> {
    require(Component::Openssl)?;
    let dir = tempfile::Builder::new()
        .prefix("ohx-https-")
        .tempdir()
        .unwrap();
    let certs = test_certs::issue(dir.path());
    let expected = basic("etl", password);
    let server = Recorder::start_tls(&certs, move |request: &Request| {
        if request.header("authorization") != Some(expected.as_str()) {
            return Reply::json(401, json!({"message": "Unauthorized"}));
        }
        Reply::json(200, json!({"username": "etl", "displayName": "ETL Robot"}))
    });
    Some((server, dir, certs))
}

#[test]
fn https_with_a_certificate_from_an_unknown_ca_is_a_tls_failure_and_sends_nothing() {
    let password = random_canary();
    let Some((server, _dir, _certs)) = dhis2_over_https(&password) else {
        return;
    };
    let env = Env::new();
    add_dhis2(&env, &server.https_url(), &password);
    let out = connection_test(&env, &["dhis2-prod"], &[]);
    let said = failed_with(&out, "dhis2-prod", "TLS");
    assert!(said.contains("certificate"), "{out}");
    assert!(
        server.requests().is_empty(),
        "a request went to an unverified server"
    );
    assert_no_secret(&out, &[&password]);
}

#[test]
fn https_passes_when_ssl_cert_file_names_the_ca() {
    let password = random_canary();
    let Some((server, _dir, certs)) = dhis2_over_https(&password) else {
        return;
    };
    let env = Env::new();
    add_dhis2(&env, &server.https_url(), &password);
    let ca = certs.ca.to_str().unwrap();
    let out = connection_test(&env, &["dhis2-prod"], &[("SSL_CERT_FILE", ca)]);
    assert!(
        passed(&out, "dhis2-prod").starts_with("logged in as etl (ETL Robot)"),
        "{out}"
    );
    assert_eq!(server.requests().len(), 2);
    assert_no_secret(&out, &[&password]);
}
