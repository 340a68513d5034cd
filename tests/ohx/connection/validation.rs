//! The rules each field value must follow when a connection is added: ports, DHIS2 and IASO
//! URLs (and the trailing `/api` dropped with a notice), S3 bucket names and access keys, GCS
//! service-account keys, and custom field codes. Every refusal changes nothing.

use crate::connection::support::{add_gcs_archive, postgresql_with, refused, revealed, WS};
use crate::fixtures::{assert_no_canary_anywhere, assert_says};
use crate::harness::{random_canary, Cmd, Env};

/// `connection add s3 --name Lake --set bucket_name=BUCKET` as alice.
fn add_bucket(env: &Env, bucket: &str) -> Cmd {
    env.ohx()
        .args(["connection", "add", "s3", "--name", "Lake", "--set"])
        .arg(format!("bucket_name={bucket}"))
}

#[test]
fn a_port_outside_1_to_65535_or_not_a_number_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for port in ["0", "70000", "65536", "abc", "-1", ""] {
        let out = refused(&env, postgresql_with(&env, &[&format!("port={port}")]), 2);
        assert_says(&out, &["port", "1", "65535"]);
    }
    for port in ["1", "65535"] {
        postgresql_with(&env, &[&format!("port={port}")])
            .args(["--slug", &format!("p{port}")])
            .ok();
        assert_eq!(revealed(&env, &format!("p{port}"), "port"), port);
    }
}

#[test]
fn dhis2_and_iaso_urls_must_be_absolute_http_or_https() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for kind in ["dhis2", "iaso"] {
        for url in [
            "play.dhis2.org",
            "ftp://play.dhis2.org",
            "/api",
            "https://",
            "https:// play.dhis2.org",
            "file:///etc/passwd",
        ] {
            let out = refused(
                &env,
                env.ohx()
                    .args(["connection", "add", kind, "--name", "Server"])
                    .arg("--set")
                    .arg(format!("url={url}"))
                    .args(["--set", "username=u", "--secret", "password=env:PW"])
                    .env("PW", random_canary()),
                2,
            );
            assert_says(&out, &["url"]);
        }
    }
}

#[test]
fn a_dhis2_url_loses_its_trailing_api_with_a_notice() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let out = env
        .ohx()
        .args([
            "connection",
            "add",
            "dhis2",
            "--name",
            "DHIS2",
            "--set",
            "url=https://x.org/api/",
            "--set",
            "username=u",
            "--secret",
            "password=env:PW",
        ])
        .env("PW", random_canary())
        .ok();
    assert_eq!(revealed(&env, "dhis2", "url"), "https://x.org");
    assert!(
        out.stderr.contains("https://x.org") && out.stderr.contains("/api"),
        "no notice of the new URL on stderr\n{out}"
    );
    assert!(
        !out.stdout.contains("/api"),
        "the notice belongs on stderr\n{out}"
    );
}

#[test]
fn s3_bucket_names_must_follow_the_naming_rules() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let too_long = "b".repeat(64);
    for bucket in [
        "ab",
        too_long.as_str(),
        "My-Bucket",
        "my_bucket",
        "-bucket",
        "bucket-",
        "my..bucket",
        "192.168.1.1",
        "xn--bucket",
        "sthree-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
    ] {
        let out = refused(&env, add_bucket(&env, bucket), 2);
        assert_says(&out, &["bucket"]);
    }
    for (n, bucket) in ["abc", "a.b.c", "data-2024", &"b".repeat(63)]
        .into_iter()
        .enumerate()
    {
        env.ohx()
            .args(["connection", "add", "s3", "--name"])
            .arg(format!("Lake {n}"))
            .arg("--set")
            .arg(format!("bucket_name={bucket}"))
            .ok();
    }
}

#[test]
fn s3_bucket_names_with_a_reserved_prefix_or_suffix_are_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for bucket in [
        "amzn-s3-demo-lake",
        "lake.mrap",
        "lake--x-s3",
        "lake--table-s3",
    ] {
        let out = refused(&env, add_bucket(&env, bucket), 2);
        assert_says(&out, &["bucket"]);
    }
}

#[test]
fn s3_needs_both_access_keys_or_neither() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let only_id = env.ohx().args([
        "connection",
        "add",
        "s3",
        "--name",
        "Lake",
        "--set",
        "bucket_name=lake",
        "--set",
        "access_key_id=AKIA",
    ]);
    let only_secret = env
        .ohx()
        .args([
            "connection",
            "add",
            "s3",
            "--name",
            "Lake",
            "--set",
            "bucket_name=lake",
            "--secret",
            "access_key_secret=-",
        ])
        .stdin(canary.clone());
    for cmd in [only_id, only_secret] {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["access_key_id", "access_key_secret"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
}

#[test]
fn a_gcs_key_must_be_a_service_account_json_object() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let bad = [
        format!("{canary} is not JSON"),
        format!("[\"{canary}\"]"),
        format!(r#"{{"type":"authorized_user","client_email":"a@b","private_key":"{canary}"}}"#),
        format!(r#"{{"client_email":"a@b","private_key":"{canary}"}}"#),
        format!(r#"{{"type":"service_account","client_email":"a@b","key":"{canary}"}}"#),
        format!(r#"{{"type":"service_account","private_key":"{canary}"}}"#),
        format!(
            r#"{{"type":"service_account","client_email":"a@b","private_key":7,"x":"{canary}"}}"#
        ),
    ];
    for (n, key) in bad.iter().enumerate() {
        let path = env.root().join(format!("bad-key-{n}.json"));
        std::fs::write(&path, key).expect("write key");
        let out = refused(
            &env,
            add_gcs_archive(&env)
                .args(["--secret"])
                .arg(format!("service_account_key=file:{}", path.display())),
            2,
        );
        assert_says(&out, &["service_account_key"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
}

#[test]
fn custom_field_codes_must_follow_the_pattern() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let long = "a".repeat(31);
    for code in [
        "Bad-Code",
        "bad-code",
        "Token",
        "_token",
        "9token",
        long.as_str(),
    ] {
        for flag in ["--set", "--secret"] {
            let value = if flag == "--set" { "x" } else { "env:PW" };
            let out = refused(
                &env,
                env.ohx()
                    .args(["connection", "add", "custom", "--name", "Kobo", flag])
                    .arg(format!("{code}={value}"))
                    .env("PW", random_canary()),
                2,
            );
            assert_says(&out, &[code]);
        }
    }
    env.ohx()
        .args(["connection", "add", "custom", "--name", "Kobo", "--set"])
        .arg(format!("{}=x", "a".repeat(30)))
        .ok();
}
