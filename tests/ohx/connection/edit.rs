//! `connection edit` by an admin: plain fields, name and description changed; secrets replaced
//! from every source; custom fields declared; fields unset, except required ones (with a hint
//! that works), half of an S3 key pair or the last field of a custom connection; and values
//! checked as `add` checks them.

use std::collections::BTreeMap;

use crate::connection::support::{
    fields_of, new_secret, refused, secret, show_json, team_with_every_type, with_secrets, Source,
};
use crate::fixtures::{assert_no_canary_anywhere, assert_says};
use crate::harness::random_canary;

/// One plain field change per type: (code, value given, value stored).
fn plain_change(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "postgresql" => ("host", "db2.example.org", "db2.example.org"),
        "dhis2" => (
            "url",
            "https://dhis2.example.org/api/",
            "https://dhis2.example.org",
        ),
        "iaso" => ("username", "iaso_admin", "iaso_admin"),
        "s3" => ("bucket_name", "new-lake", "new-lake"),
        "gcs" => ("bucket_name", "new-archive", "new-archive"),
        "custom" => (
            "url",
            "https://kobo.example.org",
            "https://kobo.example.org",
        ),
        other => panic!("no change for {other}"),
    }
}

#[test]
fn an_admin_changes_plain_fields_name_and_description() {
    let (env, specs) = team_with_every_type();
    for spec in &specs {
        let (code, given, stored) = plain_change(spec.kind);
        let out = env
            .ohx()
            .args(["connection", "edit", spec.id, "--set"])
            .arg(format!("{code}={given}"))
            .args(["--name", "Renamed", "--description", "Changed"])
            .ok();
        assert_no_canary_anywhere(&spec.canaries(), &out);
        let mut expected = spec.expected_fields();
        expected.insert(code.to_string(), (false, stored.to_string()));
        let shown = show_json(&env, "alice", spec.id, true);
        assert_eq!(fields_of(&shown), expected, "'{}'", spec.id);
        assert_eq!(shown["name"], "Renamed");
        assert_eq!(shown["description"], "Changed");
        assert_eq!(
            shown["identifier"], spec.id,
            "a rename keeps the identifier"
        );
    }
}

#[test]
fn an_admin_replaces_secrets_from_every_source() {
    let (env, specs) = team_with_every_type();
    let sources = [Source::Stdin, Source::Env, Source::File];
    for (n, spec) in specs.iter().enumerate() {
        let source = sources[n % sources.len()];
        let new = new_secret(spec.secrets[0].code, source);
        let out = with_secrets(
            &env,
            env.ohx().args(["connection", "edit", spec.id]),
            &format!("{}-new", spec.id),
            std::slice::from_ref(&new),
        )
        .ok();
        assert_no_canary_anywhere(std::slice::from_ref(&new.canary), &out);
        let mut expected = spec.expected_fields();
        expected.insert(new.code.to_string(), (true, new.value.clone()));
        assert_eq!(
            fields_of(&show_json(&env, "carol", spec.id, true)),
            expected,
            "'{}' after a new {:?} secret",
            spec.id,
            source
        );
    }
}

#[test]
fn custom_fields_are_declared_with_set_and_secret_on_edit() {
    let (env, _) = team_with_every_type();
    let pin = secret("pin", Source::Env);
    with_secrets(
        &env,
        env.ohx()
            .args(["connection", "edit", "kobo", "--set", "region=eu-west"]),
        "kobo-pin",
        std::slice::from_ref(&pin),
    )
    .ok();
    let fields = fields_of(&show_json(&env, "alice", "kobo", true));
    assert_eq!(fields.get("region"), Some(&(false, "eu-west".to_string())));
    assert_eq!(fields.get("pin"), Some(&(true, pin.value.clone())));
    let masked = fields_of(&show_json(&env, "bob", "kobo", false));
    assert_eq!(masked.get("pin"), Some(&(true, "********".to_string())));
}

#[test]
fn a_secret_custom_field_cannot_be_overwritten_with_set() {
    let (env, _) = team_with_every_type();
    let canary = random_canary();
    let out = refused(
        &env,
        env.ohx()
            .args(["connection", "edit", "kobo", "--set"])
            .arg(format!("token={canary}")),
        2,
    );
    assert_says(&out, &["token", "--secret"]);
    assert_no_canary_anywhere(&[canary], &out);
}

#[test]
fn optional_and_custom_fields_can_be_unset() {
    let (env, specs) = team_with_every_type();
    env.ohx()
        .args([
            "connection",
            "edit",
            "hmis-lake",
            "--unset",
            "access_key_id",
            "--unset",
            "access_key_secret",
        ])
        .ok();
    let lake = fields_of(&show_json(&env, "alice", "hmis-lake", true));
    assert_eq!(lake.keys().collect::<Vec<_>>(), ["bucket_name"], "{lake:?}");

    env.ohx()
        .args([
            "connection",
            "edit",
            "kobo",
            "--unset",
            "token",
            "--unset",
            "url",
        ])
        .ok();
    let kobo = fields_of(&show_json(&env, "alice", "kobo", true));
    let api_key = &specs[5].secrets[1];
    assert_eq!(
        kobo,
        BTreeMap::from([(api_key.code.to_string(), (true, api_key.value.clone()))])
    );
}

#[test]
fn a_required_field_cannot_be_unset() {
    let (env, specs) = team_with_every_type();
    for spec in &specs {
        let required: Vec<&str> = match spec.kind {
            "postgresql" => vec!["host", "port", "username", "password", "db_name"],
            "dhis2" | "iaso" => vec!["url", "username", "password"],
            "s3" => vec!["bucket_name"],
            "gcs" => vec!["bucket_name", "service_account_key"],
            _ => continue,
        };
        for code in required {
            let out = refused(
                &env,
                env.ohx()
                    .args(["connection", "edit", spec.id, "--unset", code]),
                2,
            );
            assert_says(&out, &[code, "required"]);
        }
    }
}

#[test]
fn unsetting_a_required_field_advises_only_a_flag_that_works() {
    let (env, _) = team_with_every_type();
    for (id, code, secret) in [
        ("warehouse", "host", false),
        ("warehouse", "password", true),
        ("hmis-lake", "bucket_name", false),
        ("archive", "service_account_key", true),
    ] {
        let out = refused(
            &env,
            env.ohx().args(["connection", "edit", id, "--unset", code]),
            2,
        );
        let hint = out
            .stderr
            .lines()
            .find(|l| l.starts_with("hint:"))
            .unwrap_or_default();
        let wrong = if secret {
            format!("--set {code}")
        } else {
            format!("--secret {code}")
        };
        assert!(
            !hint.contains(&wrong),
            "the hint advises `{wrong}`, which ohx refuses for '{code}'\n{out}"
        );
    }
}

#[test]
fn s3_keys_are_unset_together_or_not_at_all() {
    let (env, _) = team_with_every_type();
    for code in ["access_key_id", "access_key_secret"] {
        let out = refused(
            &env,
            env.ohx()
                .args(["connection", "edit", "hmis-lake", "--unset", code]),
            2,
        );
        assert_says(&out, &["access_key_id", "access_key_secret"]);
    }
}

#[test]
fn the_last_field_of_a_custom_connection_cannot_be_unset() {
    let (env, _) = team_with_every_type();
    let out = refused(
        &env,
        env.ohx().args([
            "connection",
            "edit",
            "kobo",
            "--unset",
            "url",
            "--unset",
            "token",
            "--unset",
            "api_key",
        ]),
        2,
    );
    assert_says(&out, &["at least one field"]);
}

#[test]
fn edit_validates_values_like_add() {
    let (env, _) = team_with_every_type();
    for (id, set) in [
        ("warehouse", "port=70000"),
        ("warehouse", "port=0"),
        ("dhis2-prod", "url=dhis2.example.org"),
        ("iaso-prod", "url=ftp://iaso.example.org"),
        ("hmis-lake", "bucket_name=Bad_Bucket"),
        ("kobo", "Bad-Code=x"),
    ] {
        refused(
            &env,
            env.ohx().args(["connection", "edit", id, "--set", set]),
            2,
        );
    }
    let out = refused(
        &env,
        env.ohx()
            .args([
                "connection",
                "edit",
                "archive",
                "--secret",
                "service_account_key=-",
            ])
            .stdin(r#"{"type":"authorized_user"}"#),
        2,
    );
    assert_says(&out, &["service_account_key"]);
    let out = refused(
        &env,
        env.ohx()
            .args(["connection", "edit", "warehouse", "--name"])
            .arg("n".repeat(41)),
        2,
    );
    assert_says(&out, &["40"]);
}
