//! How secrets come in: read exactly from stdin, a variable or a file; never from the command
//! line (a literal or `--set` is refused without being shown); and refused, naming the field,
//! when empty, holding a NUL byte or not UTF-8.

use std::os::unix::ffi::OsStrExt;

use crate::connection::support::{
    add_cmd, postgresql_cmd, refused, revealed, secret, team_with_every_type, Source, Spec, WS,
};
use crate::fixtures::{assert_no_canary_anywhere, assert_says};
use crate::harness::{random_canary, Env};

#[test]
fn secrets_are_read_exactly_from_stdin_env_and_file() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    for (id, source) in [
        ("from-stdin", Source::Stdin),
        ("from-env", Source::Env),
        ("from-file", Source::File),
    ] {
        let spec = Spec {
            kind: "postgresql",
            id,
            name: id,
            description: "",
            plain: vec![
                ("host", "db.example.org".into()),
                ("port", "5432".into()),
                ("username", "etl".into()),
                ("db_name", "dwh".into()),
            ],
            secrets: vec![secret("password", source)],
        };
        add_cmd(&env, "alice", &spec).ok();
        assert_eq!(
            revealed(&env, id, "password"),
            spec.secrets[0].value,
            "{source:?}"
        );
    }
}

#[test]
fn a_secret_given_with_set_is_refused_without_showing_it() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let cases: [(&str, &[&str], &str); 5] = [
        (
            "postgresql",
            &["host=h", "username=u", "db_name=d"],
            "password",
        ),
        ("dhis2", &["url=https://x.org", "username=u"], "password"),
        ("iaso", &["url=https://x.org", "username=u"], "password"),
        (
            "s3",
            &["bucket_name=lake", "access_key_id=AKIA"],
            "access_key_secret",
        ),
        ("gcs", &["bucket_name=lake"], "service_account_key"),
    ];
    for (kind, plain, code) in cases {
        let mut cmd = env.ohx().args(["connection", "add", kind, "--name", "X"]);
        for p in plain {
            cmd = cmd.args(["--set", p]);
        }
        let out = refused(&env, cmd.arg("--set").arg(format!("{code}={canary}")), 2);
        assert_says(&out, &[code, "--secret"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
}

#[test]
fn a_literal_secret_on_the_command_line_is_refused_without_showing_it() {
    let (env, specs) = team_with_every_type();
    let canary = random_canary();
    let literal_add = postgresql_cmd(&env, &[], &format!("password={canary}"));
    let literal_edit = env
        .ohx()
        .args(["connection", "edit", "warehouse", "--secret"])
        .arg(format!("password={canary}"));
    let literal_custom = env
        .ohx()
        .args(["connection", "add", "custom", "--name", "K", "--secret"])
        .arg(format!("token={canary}"));
    for cmd in [literal_add, literal_edit, literal_custom] {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["command line"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
    assert_eq!(
        revealed(&env, "warehouse", "password"),
        specs[0].secrets[0].value
    );
}

#[test]
fn an_empty_secret_is_refused() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let empty_file = env.root().join("empty");
    std::fs::write(&empty_file, "").expect("write empty file");
    let cases = [
        // The harness gives an empty stdin (/dev/null) unless told otherwise.
        postgresql_cmd(&env, &[], "password=-"),
        postgresql_cmd(&env, &[], "password=-").stdin(""),
        postgresql_cmd(&env, &[], "password=-").stdin("\n"),
        postgresql_cmd(&env, &[], "password=env:PW").env("PW", ""),
        postgresql_cmd(
            &env,
            &[],
            &format!("password=file:{}", empty_file.display()),
        ),
    ];
    for cmd in cases {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["password", "empty"]);
    }
}

#[test]
fn a_nul_byte_in_a_secret_is_refused_naming_the_field() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let with_nul = format!("{canary}\0tail");
    let path = env.root().join("nul.secret");
    std::fs::write(&path, &with_nul).expect("write file");
    let cases = [
        (
            "password",
            postgresql_cmd(&env, &[], &format!("password=file:{}", path.display())),
        ),
        (
            "token",
            env.ohx()
                .args(["connection", "add", "custom", "--name", "K", "--secret"])
                .arg(format!("token=file:{}", path.display())),
        ),
        (
            "token",
            env.ohx()
                .args([
                    "connection",
                    "add",
                    "custom",
                    "--name",
                    "K",
                    "--secret",
                    "token=-",
                ])
                .stdin(with_nul.clone()),
        ),
    ];
    for (code, cmd) in cases {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &[code, "NUL"]);
        assert_no_canary_anywhere(std::slice::from_ref(&canary), &out);
    }
}

#[test]
fn invalid_utf8_in_a_secret_is_refused_naming_the_field() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let bytes: &[u8] = b"caf\xe9-\xff\xfe";
    let path = env.root().join("latin1.secret");
    std::fs::write(&path, bytes).expect("write file");
    let base = || {
        env.ohx()
            .args(["connection", "add", "custom", "--name", "K", "--secret"])
    };
    let cases = [
        base().arg(format!("token=file:{}", path.display())),
        base().arg("token=-").stdin(bytes),
        base()
            .arg("token=env:TOKEN")
            .env("TOKEN", std::ffi::OsStr::from_bytes(bytes)),
    ];
    for cmd in cases {
        let out = refused(&env, cmd, 2);
        assert_says(&out, &["token", "UTF-8"]);
    }
}
