//! Terminal escapes: text planted in the store (as anyone able to write the file could) reaches
//! human output escaped, JSON output unchanged; the same text given on the command line is
//! refused with the field named.

use crate::harness::Env;
use crate::store_probe::open_db;

use crate::credentials::support::{one_connection, WS};

/// Retitles the window, erases the line, moves up, starts a C1 CSI, reverses the text direction,
/// returns the carriage and deletes: every trick that hides or rewrites what a person reads.
const HOSTILE: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[2K\u{1b}[1A\u{9b}31m\u{202e}gnp.exe\r\u{7f}x";

/// Characters that must never reach a terminal from stored text.
const FORBIDDEN: &[char] = &['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\r', '\u{7f}'];

#[track_caller]
fn assert_inert(what: &str, text: &str) {
    let found: Vec<char> = text.chars().filter(|c| FORBIDDEN.contains(c)).collect();
    assert!(
        found.is_empty(),
        "`{what}` printed raw control characters {found:?}:\n{text:?}"
    );
}

/// Alice's workspace, her user name, and connection `kobo` with the hostile text planted in
/// every free-text column.
fn planted(env: &Env) {
    one_connection(env);
    let db = open_db(&env.store());
    db.execute(
        "UPDATE workspaces SET name = ?1, description = ?1 WHERE slug = ?2",
        [HOSTILE, WS],
    )
    .unwrap();
    db.execute(
        "UPDATE connections SET name = ?1, description = ?1",
        [HOSTILE],
    )
    .unwrap();
    db.execute("UPDATE users SET name = ?1", [HOSTILE]).unwrap();
}

#[test]
fn planted_names_are_escaped_in_every_human_listing() {
    let env = Env::new();
    planted(&env);
    for args in [
        &["workspace", "list"][..],
        &["workspace", "show", WS],
        &["member", "list"],
        &["connection", "list"],
        &["whoami"],
    ] {
        let out = env.ohx().args(args).ok();
        let what = args.join(" ");
        assert_inert(&what, &out.stdout);
        assert_inert(&what, &out.stderr);
        // Member names come from the signed log, so a name planted in `users` is not shown at
        // all there; everywhere else the planted text is shown, escaped.
        assert!(
            args[0] == "member" || out.stdout.contains("evil"),
            "`{what}` no longer shows the text at all:\n{out}"
        );
    } // The log and verification may refuse the planted rows; whatever they print is inert.
    for args in [&["log"][..], &["workspace", "verify", WS]] {
        let out = env.ohx().args(args).run();
        assert_inert(&args.join(" "), &out.stdout);
        assert_inert(&args.join(" "), &out.stderr);
    }
}

#[test]
fn planted_names_stay_exact_in_json() {
    let env = Env::new();
    planted(&env);
    for args in [
        &["workspace", "list", "--json"][..],
        &["workspace", "show", WS, "--json"],
        &["connection", "list", "--json"],
    ] {
        let doc = env.ohx().args(args).ok().json();
        assert!(
            holds(&doc, HOSTILE),
            "`{}` changed the text:\n{doc}",
            args.join(" ")
        );
    }
}

/// Whether `text` is one of the strings in the JSON document, exactly.
fn holds(doc: &serde_json::Value, text: &str) -> bool {
    match doc {
        serde_json::Value::String(s) => s == text,
        serde_json::Value::Array(items) => items.iter().any(|v| holds(v, text)),
        serde_json::Value::Object(map) => map.values().any(|v| holds(v, text)),
        _ => false,
    }
}

#[test]
fn errors_and_hints_escape_what_the_user_typed() {
    let env = Env::new();
    one_connection(&env);
    let out = env
        .ohx()
        .args(["connection", "show", "-w", HOSTILE, "kobo"])
        .fails(4);
    assert_inert("connection show -w HOSTILE", &out.stderr);
    let out = env
        .ohx()
        .args(["connection", "show", &format!("{WS}/x{HOSTILE}")])
        .fails_somehow();
    assert_inert("connection show ws/HOSTILE", &out.stderr);
}

#[test]
fn control_characters_are_refused_at_input() {
    let env = Env::new();
    one_connection(&env);
    let attempts: Vec<Vec<String>> = vec![
        vec!["workspace", "create", HOSTILE],
        vec!["workspace", "create", "fine", "--description", HOSTILE],
        vec!["workspace", "edit", WS, "--description", HOSTILE],
        vec![
            "connection",
            "add",
            "custom",
            "--name",
            "x",
            "--description",
            HOSTILE,
        ],
        vec![
            "connection",
            "add",
            "custom",
            "--name",
            "x",
            "--set",
            &format!("note={HOSTILE}"),
        ],
        vec![
            "connection",
            "add",
            "postgresql",
            "--name",
            "pg",
            "--set",
            &format!("host=db{HOSTILE}"),
        ],
        vec!["connection", "edit", "kobo", "--description", HOSTILE],
        vec![
            "connection",
            "edit",
            "kobo",
            "--set",
            "url=https://x.org/\u{1b}[2K",
        ],
    ]
    .into_iter()
    .map(|a| a.into_iter().map(String::from).collect())
    .collect();
    for args in attempts {
        let out = env.ohx().args(&args).arg("--no-input").fails(2);
        assert!(
            out.stderr.contains("control character"),
            "`{}`\n{out}",
            args.join(" ")
        );
        assert_inert(&args.join(" "), &out.stderr);
    }
    // Plain values keep the line breaks and tabs a person may want (RELIABILITY.md Input).
    env.ohx()
        .args(["connection", "add", "custom", "--name", "notes", "--set"])
        .arg("note=line one\r\nline\ttwo\n")
        .ok();
}

#[test]
fn a_secret_may_hold_control_characters_and_show_escapes_them() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    crate::credentials::support::add_connection(
        &env,
        "custom",
        "odd",
        &[("url", "x")],
        &[("token", HOSTILE.as_bytes())],
    );
    let shown = env
        .ohx()
        .args(["connection", "show", "odd", "--reveal"])
        .ok();
    assert_inert("connection show --reveal", &shown.stdout);
    let got = env
        .ohx()
        .args(["connection", "get", "odd", "token", "-n"])
        .ok();
    assert_eq!(got.stdout, HOSTILE, "get must print the secret exactly");
}
