//! What comes in and goes out (RELIABILITY.md, Input): every command that may prompt, without a
//! terminal; hostile plain values given with `--set`; invalid UTF-8 on the command line; a
//! multi-line GCS key from an environment variable; `eval` of a failed export; closed pipes and a
//! full device on the way out.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fixtures::{gcs_key, join, parse_env0, runtime_dir};
use crate::harness::{random_canary, Cmd, Env, Outcome};
use crate::store_probe::{ciphertext, connection_id, dump, set_ciphertext};

use super::{add_custom, add_postgresql, WS};

// ---------------------------------------------------------------------------------------------
// Prompts without a terminal
// ---------------------------------------------------------------------------------------------

/// How long a command that cannot ask may take to say so.
const PROMPT_LIMIT: Duration = Duration::from_secs(5);

/// One command that would ask something on a terminal: its arguments and extra variables.
struct Asking {
    args: Vec<String>,
    vars: Vec<(String, String)>,
}

impl Asking {
    /// The command, run as alice with the extra variables.
    fn cmd(&self, env: &Env) -> Cmd {
        let mut cmd = env.ohx().args(&self.args);
        for (k, v) in &self.vars {
            cmd = cmd.env(k, v);
        }
        cmd
    }
}

/// Alice, admin of [`WS`] with `warehouse`, bob an editor, pia with a passphrase-protected
/// identity; and every command that may prompt: for a type, for missing fields, for a secret, for
/// a confirmation, for a passphrase (new or existing).
fn asking_commands(env: &Env) -> Vec<Asking> {
    env.admin_with_workspace(WS);
    add_postgresql(env, "warehouse", &random_canary()).ok();
    join(env, "bob", "editor", Some(WS));
    env.ohx_as("pia")
        .env("OHX_PASSPHRASE", random_canary())
        .args(["init", "--name", "pia", "--passphrase"])
        .ok();
    let alice = |words: &[&str]| Asking {
        args: words.iter().map(|w| w.to_string()).collect(),
        vars: Vec::new(),
    };
    let person = |name: &str, words: &[&str]| Asking {
        args: words.iter().map(|w| w.to_string()).collect(),
        vars: vec![
            ("USER".into(), name.into()),
            (
                "OHX_IDENTITY".into(),
                env.identity_of(name).display().to_string(),
            ),
        ],
    };
    vec![
        alice(&["connection", "add"]),
        alice(&["connection", "add", "dhis2"]),
        alice(&[
            "connection",
            "add",
            "dhis2",
            "--name",
            "D",
            "--set",
            "url=https://x.org",
        ]),
        alice(&[
            "connection",
            "add",
            "custom",
            "--name",
            "K",
            "--secret",
            "token",
        ]),
        alice(&["connection", "edit", "warehouse", "--secret", "password"]),
        alice(&["connection", "delete", "warehouse"]),
        alice(&["member", "remove", "bob"]),
        alice(&["workspace", "delete", WS]),
        person("newbie", &["init", "--name", "newbie", "--passphrase"]),
        person("pia", &["whoami"]),
        person("pia", &["init", "--name", "pia"]),
        person("pia", &["workspace", "list"]),
    ]
}

/// A command that could not ask: it ended quickly, failed with one clean error, and left the
/// store and the identities as they were.
#[track_caller]
fn assert_refused_quickly(env: &Env, what: &str, out: &Outcome, took: Duration, before: &str) {
    assert!(
        took < PROMPT_LIMIT,
        "`{what}` took {took:?} without a terminal"
    );
    assert_ne!(
        out.status, 0,
        "`{what}` succeeded without a terminal\n{out}"
    );
    out.assert_clean_error(what);
    assert_eq!(dump(env), before, "`{what}` changed the store");
    assert!(
        !env.identity_of("newbie").exists(),
        "`{what}` created an identity without its passphrase"
    );
}

#[test]
fn every_command_that_may_prompt_ends_at_once_with_stdin_from_dev_null() {
    let env = Env::new();
    let commands = asking_commands(&env);
    let before = dump(&env);
    for asking in &commands {
        let cmd = asking.cmd(&env);
        let what = cmd.describe();
        let started = Instant::now();
        let out = cmd.run(); // the harness gives /dev/null as stdin
        assert_refused_quickly(&env, &what, &out, started.elapsed(), &before);
    }
}

#[test]
fn every_command_that_may_prompt_ends_at_once_with_a_silent_open_stdin() {
    let env = Env::new();
    let commands = asking_commands(&env);
    let before = dump(&env);
    for asking in &commands {
        let what = format!("ohx {}", asking.args.join(" "));
        let started = Instant::now();
        let mut child = asking.cmd(&env).stdin_kept_open().spawn();
        // Kept open and never written to, as a pipe from a process that has nothing to say.
        let stdin = child.stdin.take();
        while child.try_wait().expect("wait").is_none() && started.elapsed() < PROMPT_LIMIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        let took = started.elapsed();
        if took >= PROMPT_LIMIT {
            let _ = child.kill();
        }
        let out = Outcome::wait(child, &what);
        drop(stdin);
        assert_refused_quickly(&env, &what, &out, took, &before);
    }
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// Plain values as hostile as the secret ones of `credentials::tricky`, given on the command line
/// with `--set`: they reach ohx through argv, not through a file.
fn tricky_plain_values() -> Vec<String> {
    [
        "it's",
        "say \"hi\" and \"bye\"",
        "$HOME and ${PATH}",
        "$(touch pwned) `touch pwned`",
        "C:\\Users\\etl\\ ends with \\",
        "bang! !! !$",
        "# not a comment",
        "*",
        "a;b; echo injected",
        "a&b && c &",
        "a|b || c |",
        "*.rs ?.toml [a-z]* {a,b}",
        "~ ~/x ~root",
        "line one\nline two",
        "carriage\rreturn",
        "windows\r\nline\r\n",
        "tab\there\t",
        "trailing newlines\n\n",
        "-n",
        "--help",
        "-",
        "é àçö 中文 😀",
        "   spaces   ",
        "'\\''",
        "=a=b==",
        "'; touch pwned; echo '",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Writes `NAME` -> value for `names` as a shell evaluating the `sh` export would see them.
fn read_back_with_sh(env: &Env, export: &str, names: &[String]) -> BTreeMap<String, Vec<u8>> {
    let dir = env.root().join("read-back");
    std::fs::create_dir_all(&dir).expect("read-back folder");
    let export_file = env.root().join("export.sh");
    std::fs::write(&export_file, export).expect("write export");
    let mut script = String::from("eval \"$(cat \"$1\")\"\n");
    for name in names {
        script.push_str(&format!("printf '%s' \"${name}\" > \"$2/{name}\"\n"));
    }
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg("sh")
        .arg(&export_file)
        .arg(&dir)
        .current_dir(env.root())
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .status()
        .expect("run sh");
    assert!(status.success(), "sh failed reading the export");
    assert!(
        !env.root().join("pwned").exists(),
        "a value ran as a command"
    );
    names
        .iter()
        .filter_map(|n| Some((n.clone(), std::fs::read(dir.join(n)).ok()?)))
        .collect()
}

#[test]
fn tricky_plain_values_given_with_set_round_trip_through_show_env_sh_and_run() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let values = tricky_plain_values();
    let codes: Vec<String> = (1..=values.len()).map(|i| format!("p{i:02}")).collect();
    let mut cmd = add_custom(&env, "plain", &random_canary());
    for (code, value) in codes.iter().zip(&values) {
        cmd = cmd.arg("--set").arg(format!("{code}={value}"));
    }
    cmd.ok();
    let expected: BTreeMap<String, Vec<u8>> = codes
        .iter()
        .zip(&values)
        .map(|(c, v)| {
            (
                format!("PLAIN_{}", c.to_uppercase()),
                v.clone().into_bytes(),
            )
        })
        .collect();
    let names: Vec<String> = expected.keys().cloned().collect();
    let wrong = |reader: &str, got: &BTreeMap<String, Vec<u8>>| {
        let bad: Vec<String> = expected
            .iter()
            .filter(|(n, v)| got.get(*n) != Some(v))
            .map(|(n, v)| {
                format!(
                    "{n}: expected {:?}, got {:?}",
                    String::from_utf8_lossy(v),
                    got.get(n).map(|g| String::from_utf8_lossy(g).into_owned())
                )
            })
            .collect();
        assert!(bad.is_empty(), "{reader}:\n{}", bad.join("\n"));
    };

    let show = env
        .ohx()
        .args(["connection", "show", "plain", "--json"])
        .ok()
        .json();
    let shown: BTreeMap<String, Vec<u8>> = show["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                format!("PLAIN_{}", f["code"].as_str().expect("code").to_uppercase()),
                f["value"].as_str().expect("value").as_bytes().to_vec(),
            )
        })
        .collect();
    wrong("show --json", &shown);

    let json: BTreeMap<String, String> = serde_json::from_value(
        env.ohx()
            .args(["connection", "env", "plain", "--format", "json"])
            .ok()
            .json(),
    )
    .expect("env json");
    wrong(
        "env --format json",
        &json.into_iter().map(|(k, v)| (k, v.into_bytes())).collect(),
    );

    let export = env.ohx().args(["connection", "env", "plain"]).ok().stdout;
    wrong("sh", &read_back_with_sh(&env, &export, &names));

    let run = env
        .ohx()
        .args(["run", "-c", "plain", "--", "env", "-0"])
        .ok();
    wrong("ohx run -- env -0", &parse_env0(run.stdout.as_bytes()));
}

#[test]
fn invalid_utf8_in_plain_arguments_is_refused_and_stores_nothing() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_postgresql(&env, "warehouse", &random_canary()).ok();
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff");
    let mut url = std::ffi::OsString::from("url=");
    url.push(latin1);
    let mut host = std::ffi::OsString::from("host=");
    host.push(latin1);
    let custom = || {
        env.ohx()
            .args(["connection", "add", "custom", "--secret", "token=env:T"])
            .env("T", "t")
    };
    let before = dump(&env);
    for cmd in [
        custom().args(["--name", "K", "--set"]).arg(&url),
        custom().arg("--name").arg(latin1).args(["--set", "url=x"]),
        custom()
            .args(["--name", "K", "--set", "url=x", "--description"])
            .arg(latin1),
        env.ohx()
            .args(["connection", "edit", "warehouse", "--set"])
            .arg(&host),
        env.ohx().args(["workspace", "create"]).arg(latin1),
    ] {
        let what = cmd.describe();
        let out = cmd.fails(2);
        assert!(out.stderr.contains("UTF-8"), "{what}\n{out}");
        assert_eq!(dump(&env), before, "{what} changed the store");
    }
}

#[test]
fn a_multi_line_gcs_key_from_an_environment_variable_survives_get_env_and_runs_key_file() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let key = gcs_key(&canary);
    assert!(key.lines().count() > 5 && key.ends_with("}\n"));
    let add = env
        .ohx()
        .args([
            "connection",
            "add",
            "gcs",
            "--name",
            "Lake",
            "--set",
            "bucket_name=hmis-lake",
        ])
        .args(["--secret", "service_account_key=env:GCS_KEY"])
        .env("GCS_KEY", &key)
        .ok();
    assert!(!add.stderr.contains(&canary), "{add}");

    let got = env
        .ohx()
        .args(["connection", "get", "lake", "service_account_key", "-n"])
        .ok();
    assert!(got.stdout == key, "get -n changed the key\n{got}");
    let shown = env
        .ohx()
        .args(["connection", "show", "lake", "--reveal", "--json"])
        .ok()
        .json();
    let field = shown["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["code"] == "service_account_key")
        .expect("the key field")["value"]
        .clone();
    assert_eq!(field.as_str(), Some(key.as_str()), "show --reveal --json");
    let vars: BTreeMap<String, String> = serde_json::from_value(
        env.ohx()
            .args(["connection", "env", "lake", "--format", "json"])
            .ok()
            .json(),
    )
    .expect("env json");
    assert_eq!(
        vars.get("LAKE_SERVICE_ACCOUNT_KEY"),
        Some(&key),
        "env --format json"
    );

    let runtime = runtime_dir(&env);
    let run = env
        .ohx()
        .env("XDG_RUNTIME_DIR", &runtime)
        .args(["run", "-c", "lake", "--", "sh", "-c"])
        .arg(r#"cat "$GOOGLE_APPLICATION_CREDENTIALS"; printf '\0%s' "$LAKE_SERVICE_ACCOUNT_KEY""#)
        .ok();
    let (file, variable) = run.stdout.split_once('\0').expect("two parts");
    assert!(file == key, "run's key file differs from the key");
    assert!(variable == key, "run's variable differs from the key");
}

#[test]
fn eval_of_a_failed_env_sets_no_variable() {
    // The README's `eval "$(ohx connection env ...)"`: when a later connection fails, the shell
    // must get nothing to evaluate, not the earlier connection's exports.
    let env = Env::new();
    env.admin_with_workspace(WS);
    add_postgresql(&env, "a", &random_canary()).ok();
    add_postgresql(&env, "b", &random_canary()).ok();
    let b = connection_id(&env, WS, "b");
    let sealed = ciphertext(&env, b, "password");
    set_ciphertext(&env, b, "password", &sealed[..sealed.len() - 1]);
    let out = env
        .ohx()
        .args(["connection", "env", "a", "b"])
        .shell(
            "sh",
            r#"eval "$("$0" "$@")"; printf '%s|%s|%s' "${A-unset}" "${A_HOST-unset}" "${A_PASSWORD-unset}""#,
        )
        .run();
    assert_eq!(out.stdout, "unset|unset|unset", "{out}");
    assert!(out.stderr.starts_with("error: "), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Output to a closed pipe and to a full device
// ---------------------------------------------------------------------------------------------

#[test]
fn connection_commands_piped_into_head_exit_zero_quietly() {
    let env = Env::new();
    env.admin_with_workspace(WS);
    // Well over a pipe buffer (64 KiB) of output for each command below.
    let long = "d".repeat(2000);
    let ids: Vec<String> = (0..40).map(|i| format!("c{i:02}")).collect();
    for id in &ids {
        add_custom(&env, id, &random_canary())
            .args(["--description", &long, "--set"])
            .arg(format!("path=/{long}"))
            .ok();
    }
    let mut env_all = vec!["connection", "env", "--format", "json"];
    env_all.extend(ids.iter().map(String::as_str));
    for args in [
        vec!["connection", "list"],
        vec!["connection", "list", "--json"],
        env_all,
    ] {
        for _ in 0..3 {
            let out = env
                .ohx()
                .args(&args)
                .shell("bash", r#""$0" "$@" | head -1; exit "${PIPESTATUS[0]}""#)
                .run();
            assert_eq!(out.status, 0, "ohx {}\n{out}", args.join(" "));
            assert_eq!(
                out.stderr,
                "",
                "ohx {}: a closed pipe must end quietly",
                args.join(" ")
            );
            assert_eq!(out.stdout.lines().count(), 1, "{out}");
        }
    }
}

#[test]
fn every_read_command_writing_to_a_full_device_fails_cleanly() {
    if !Path::new("/dev/full").exists() {
        return super::cannot_run(
            "every_read_command_writing_to_a_full_device_fails_cleanly",
            "no /dev/full",
        );
    }
    let env = Env::new();
    env.admin_with_workspace(WS);
    let password = random_canary();
    add_postgresql(&env, "warehouse", &password).ok();
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["connection", "list"],
        vec!["connection", "list", "--json"],
        vec!["connection", "show", "warehouse"],
        vec!["connection", "show", "warehouse", "--reveal", "--json"],
        vec!["connection", "get", "warehouse", "password"],
        vec!["connection", "url", "warehouse"],
        vec!["member", "list"],
        vec!["workspace", "show", WS, "--json"],
        vec!["whoami", "--json"],
        vec!["completions", "bash"],
    ];
    for format in ["sh", "fish", "dotenv", "powershell", "json"] {
        commands.push(vec![
            "connection",
            "env",
            "warehouse",
            "--native",
            "--format",
            format,
        ]);
    }
    for args in commands {
        let out = env
            .ohx()
            .args(&args)
            .shell("sh", r#"exec "$0" "$@" > /dev/full"#)
            .fails_somehow();
        let errors = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count();
        assert_eq!(errors, 1, "ohx {}\n{out}", args.join(" "));
        assert!(!out.stderr.contains(&password), "{out}");
    }
}

#[test]
fn help_and_version_written_to_a_full_device_are_an_error() {
    let env = Env::new();
    for args in [
        vec!["--help"],
        vec!["--version"],
        vec!["help"],
        vec!["connection", "--help"],
    ] {
        let out = env
            .ohx()
            .args(&args)
            .shell("sh", r#"exec "$0" "$@" > /dev/full"#)
            .run();
        assert_ne!(
            out.status,
            0,
            "ohx {} > /dev/full succeeded\n{out}",
            args.join(" ")
        );
        assert!(
            out.stderr.contains("error"),
            "ohx {}\n{out}",
            args.join(" ")
        );
    }
}
