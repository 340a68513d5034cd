//! The README's advice is safe: no password on a command line (`/proc/PID/cmdline` is readable by
//! every user), and the `eval` pattern it shows stops a `set -e` script when ohx fails, which
//! `eval "$(ohx connection env ...)"` does not.

use crate::harness::Env;

use crate::credentials::support::one_connection;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The README, every help text and every man page.
fn advice() -> Vec<(String, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut texts = vec![("README.md".to_string(), readme())];
    for dir in ["tests/snapshots/help", "man"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap()
            .flatten()
        {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            texts.push((entry.path().display().to_string(), text.replace("\\-", "-")));
        }
    }
    texts
}

#[test]
fn no_help_text_or_man_page_recommends_eval_of_a_substitution() {
    for (name, text) in advice() {
        let offending: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("eval \"$(ohx") || l.contains("\"$(ohx connection url"))
            .filter(|l| {
                !["and not", "Do not", "Never put"]
                    .iter()
                    .any(|w| l.contains(w))
            })
            .collect();
        assert!(offending.is_empty(), "{name} recommends {offending:?}");
    }
}

#[test]
fn the_readme_never_puts_a_url_or_secret_on_a_command_line() {
    let text = readme();
    for bad in [
        "psql \"$(ohx connection url",
        "\"$(ohx connection get",
        "eval \"$(ohx connection env",
    ] {
        let offending: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(bad) && !l.trim_start().starts_with('`'))
            .filter(|l| !l.contains("Do not") && !l.contains("and not"))
            .collect();
        assert!(
            offending.is_empty(),
            "README recommends {bad}: {offending:?}"
        );
    }
    assert!(
        text.contains("env=$(ohx connection env"),
        "the safe pattern is gone"
    );
}

/// Runs `script` under `sh -e` with `ohx` on PATH; returns whether it reached its end.
fn reaches_the_end(env: &Env, script: &str) -> bool {
    let marker = env.root().join("reached-the-end");
    let _ = std::fs::remove_file(&marker);
    env.ohx()
        .shell(
            "sh",
            &format!("set -e\nohx() {{ \"$0\" \"$@\"; }}\n{script}\n: > \"$OHX_TEST_MARKER\""),
        )
        .env("OHX_TEST_MARKER", &marker)
        .run();
    marker.exists()
}

#[test]
fn the_readme_pattern_stops_a_set_e_script_when_ohx_fails() {
    let env = Env::new();
    one_connection(&env);
    // The pattern as the README shows it, with a connection that does not exist, with and
    // without `set -e`.
    for set_e in ["set -e", "set +e"] {
        assert!(
            !reaches_the_end(
                &env,
                &format!(
                    "{set_e}\nenv=$(ohx connection env no-such-connection) || exit\neval \"$env\""
                )
            ),
            "the README's pattern carried on after ohx failed ({set_e})"
        );
    }
    assert!(
        reaches_the_end(
            &env,
            "env=$(ohx connection env kobo) || exit\neval \"$env\"\ntest -n \"$KOBO_TOKEN\""
        ),
        "the README's pattern does not set the variables"
    );
    // Why not `&&`: a failing left side of an `&&` list does not stop a `set -e` script.
    assert!(
        reaches_the_end(
            &env,
            r#"env=$(ohx connection env no-such-connection) && eval "$env""#
        ),
        "`&& eval` now stops a set -e script; the README's explanation is outdated"
    );
    // Why: the old advice carries on with nothing set.
    assert!(
        reaches_the_end(&env, r#"eval "$(ohx connection env no-such-connection)""#),
        "dash now stops on a failed substitution inside eval; the README's warning is outdated"
    );
}
