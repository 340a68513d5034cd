//! Names and identifiers of connections: the 40-character limit (in characters), empty names,
//! identifiers made from names or given with `--slug`, clashes naming the connection already
//! there, and identifiers or custom codes whose variables would shadow sensitive ones (`PATH`,
//! `LD_PRELOAD`...).

use crate::connection::support::{entry, identifiers, list_json, refused, state, WS};
use crate::fixtures::assert_says;
use crate::harness::{Cmd, Env};

/// `connection add s3 --set bucket_name=lake` as alice; the test adds the name and the slug.
fn add_lake(env: &Env) -> Cmd {
    env.ohx()
        .args(["connection", "add", "s3", "--set", "bucket_name=lake"])
}

#[test]
fn a_name_longer_than_40_characters_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for name in ["a".repeat(41), "é".repeat(41)] {
        let out = refused(&env, add_lake(&env).args(["--name"]).arg(&name), 2);
        assert_says(&out, &["40"]);
    }
    // Characters, not bytes: forty accented letters are a valid name.
    for (name, slug) in [("a".repeat(40), "long-a"), ("é".repeat(40), "long-e")] {
        add_lake(&env)
            .args(["--slug", slug, "--name"])
            .arg(&name)
            .ok();
        assert_eq!(entry(&list_json(&env), slug)["name"], name.as_str());
    }
}

#[test]
fn an_empty_name_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for name in ["", "   "] {
        refused(
            &env,
            add_lake(&env).args(["--slug", "lake", "--name", name]),
            2,
        );
    }
}

#[test]
fn the_identifier_is_made_from_the_name() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for (name, slug) in [
        ("Données Sénégal – 2024", "donnees-senegal-2024"),
        ("  My DB!! (prod) ", "my-db-prod"),
        ("HMIS_Warehouse", "hmis-warehouse"),
    ] {
        add_lake(&env).args(["--name", name]).ok();
        assert_eq!(entry(&list_json(&env), slug)["name"], name);
    }
}

#[test]
fn an_explicit_slug_is_used_and_checked() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_lake(&env)
        .args(["--name", "Données Sénégal", "--slug", "sn-lake"])
        .ok();
    assert_eq!(identifiers(&list_json(&env)), ["sn-lake"]);
    for bad in ["SN-Lake", "2024-lake", "-lake", "sn lake", "sn_lake"] {
        refused(&env, add_lake(&env).args(["--name", "L", "--slug", bad]), 2);
    }
}

#[test]
fn an_identifier_clash_names_the_existing_connection() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_lake(&env).args(["--name", "HMIS Lake"]).ok();
    for cmd in [
        env.ohx().args([
            "connection",
            "add",
            "s3",
            "--set",
            "bucket_name=other",
            "--name",
            "hmis lake",
        ]),
        env.ohx().args([
            "connection",
            "add",
            "custom",
            "--set",
            "url=https://x.org",
            "--name",
            "Other",
            "--slug",
            "hmis-lake",
        ]),
    ] {
        let before = state(&env);
        let out = cmd.fails_somehow();
        assert_eq!(before, state(&env), "a clash changed the store\n{out}");
        assert_says(&out, &["hmis-lake", "HMIS Lake"]);
    }
}

#[test]
fn identifiers_that_would_shadow_sensitive_variables_are_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for (name, slug) in [
        ("Search path", Some("path")),
        ("Loader", Some("ld")),
        ("Git", Some("git-x")),
        ("Home", Some("home")),
        ("Python", None),
        ("Ssh keys", None),
    ] {
        let mut cmd = add_lake(&env).args(["--name", name]);
        if let Some(slug) = slug {
            cmd = cmd.args(["--slug", slug]);
        }
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["environment variable"]);
    }
}

#[test]
fn a_custom_code_that_would_shadow_a_sensitive_variable_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    // Identifier `ld` alone is not a sensitive name, but its fields (LD_PRELOAD...) are.
    let out = refused(
        &env,
        env.ohx().args([
            "connection",
            "add",
            "custom",
            "--name",
            "Lib",
            "--slug",
            "ld",
            "--set",
            "preload=/tmp/evil.so",
        ]),
        2,
    );
    assert_says(&out, &["LD_PRELOAD"]);
}
