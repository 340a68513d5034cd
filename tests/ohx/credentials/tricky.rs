//! Forty hostile values (quotes, `$`, backticks, backslashes, CR, LF, tabs, trailing newlines,
//! leading dashes, globs, non-ASCII, a 10 KB value, a GCS key...) stored as secrets of one custom
//! connection, then read back by the real readers of every export format: dash, bash and zsh
//! evaluating `sh`, fish sourcing `fish`, python-dotenv reading `dotenv`, a JSON parser, and a
//! child of `ohx run` printing `env -0`. Every byte must come back (docs/RELIABILITY.md, Input).
//! Hostile plain values given with `--set` come back the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::fixtures::{add_custom, gcs_key, parse_env0, runtime_dir};
use crate::harness::{random_bytes, random_canary, Env, Outcome};

use super::support::{
    add_connection, add_gcs_lake, fresh_dir, json_object, require, run_tool_ok, write_file,
    Component, WS,
};

/// The values, one per field code `v01`..`v40`; `canary` is in two of them.
fn tricky_values(canary: &str) -> Vec<Vec<u8>> {
    // 10 KB of characters a quoting bug trips on, in a random order each run.
    let alphabet: Vec<char> = "a'b\"c$d`e\\f\ng\rh\ti!j#k*é中😀 ;&|~%{}()"
        .chars()
        .collect();
    let long: String = random_bytes(10 * 1024)
        .into_iter()
        .map(|b| alphabet[usize::from(b) % alphabet.len()])
        .scan(0usize, |len, c| {
            *len += c.len_utf8();
            (*len <= 10 * 1024).then_some(c)
        })
        .collect();
    let values: Vec<String> = vec![
        format!("{canary}-it's"),                                 // v01 single quote
        "say \"hi\" and \"bye\"".into(),                          // v02 double quotes
        "$HOME and $USER".into(),                                 // v03 dollar variables
        "${HOME}${PATH:-x}".into(),                               // v04 braced expansion
        "$(date) $(touch pwned)".into(),                          // v05 command substitution
        "`date` `touch pwned`".into(),                            // v06 backticks
        "C:\\Users\\etl\\back\\slash".into(),                     // v07 backslashes
        "literal \\n and \\t and \\r".into(),                     // v08 escapes as text
        "line one\nline two".into(),                              // v09 real LF
        "carriage\rreturn".into(),                                // v10 CR
        "windows\r\nline\r\n".into(),                             // v11 CRLF, trailing CRLF
        "tab\there\t".into(),                                     // v12 tabs
        "trailing newlines\n\n\n".into(),                         // v13
        "trailing spaces   ".into(),                              // v14
        "-n".into(),                                              // v15 leading dash
        "--help".into(),                                          // v16
        "bang! !! !$ !-1".into(),                                 // v17 history expansion
        "# not a comment".into(),                                 // v18
        "*".into(),                                               // v19 bare glob
        "a;b; echo injected".into(),                              // v20 semicolon
        "a&b && c &".into(),                                      // v21 ampersand
        "a|b || c |".into(),                                      // v22 pipe
        "*.rs ?.toml [a-z]* {a,b}".into(),                        // v23 globs, braces
        "~ ~/x ~root".into(),                                     // v24 tilde
        "é àçö 中文 😀 ñ".into(),                                 // v25 non-ASCII
        "%s %d %% %n %1$s".into(),                                // v26 printf formats
        "\\x00 \\0 \\u0000 \\e[31m".into(),                       // v27 NUL-like text
        long,                                                     // v28 10 KB
        "     ".into(),                                           // v29 only spaces
        "'\\''".into(),                                           // v30 the sh quote escape itself
        "\\\\'".into(),                                           // v31 backslashes before a quote
        "ends with a backslash \\".into(),                        // v32
        "'".into(),                                               // v33 one single quote
        "\"".into(),                                              // v34 one double quote
        "=a=b==".into(),                                          // v35 equal signs
        "'; touch pwned; echo '".into(),                          // v36 quote breakout
        "\n".into(),                                              // v37 only a newline
        "esc\u{1b}[0m bel\u{7} ff\u{c} vt\u{b} del\u{7f}".into(), // v38 control characters
        "lsep\u{2028}psep\u{2029}nel\u{85}bom\u{feff}".into(),    // v39 Unicode line breaks
        gcs_key(canary),                                          // v40 multi-line GCS key
    ];
    values.into_iter().map(String::into_bytes).collect()
}

/// The variables `tricky` and `lake` must produce, names to exact bytes, and the canary hidden in
/// their secrets, which must never show on stderr.
struct Tricky {
    expected: BTreeMap<String, Vec<u8>>,
    canary: String,
}

/// Alice adds `tricky` (custom, secrets `v01`..`v40`) and `lake` (gcs, a multi-line key).
fn tricky_connections(env: &Env) -> Tricky {
    env.admin_with_workspace(WS);
    let canary = random_canary();
    let values = tricky_values(&canary);
    assert!(values.len() >= 30);
    let codes: Vec<String> = (1..=values.len()).map(|i| format!("v{i:02}")).collect();
    let secrets: Vec<(&str, &[u8])> = codes
        .iter()
        .map(String::as_str)
        .zip(values.iter().map(Vec::as_slice))
        .collect();
    add_connection(env, "custom", "tricky", &[], &secrets);
    let key = gcs_key(&canary);
    add_gcs_lake(env, &key);
    let mut expected: BTreeMap<String, Vec<u8>> = codes
        .iter()
        .zip(values)
        .map(|(code, value)| (format!("TRICKY_{}", code.to_uppercase()), value))
        .collect();
    expected.insert("TRICKY".into(), b"custom".to_vec());
    expected.insert("LAKE".into(), b"gcs".to_vec());
    expected.insert("LAKE_BUCKET_NAME".into(), b"hmis-lake".to_vec());
    expected.insert("LAKE_SERVICE_ACCOUNT_KEY".into(), key.into_bytes());
    Tricky { expected, canary }
}

/// `ohx connection env tricky lake --format FORMAT`, which must keep secrets off stderr.
#[track_caller]
fn export(env: &Env, tricky: &Tricky, format: &str) -> Outcome {
    let out = env
        .ohx()
        .args(["connection", "env", "tricky", "lake", "--format", format])
        .ok();
    assert!(!out.stderr.contains(&tricky.canary), "{out}");
    out
}

/// [`export`], written to a file.
#[track_caller]
fn export_to_file(env: &Env, tricky: &Tricky, format: &str) -> PathBuf {
    let out = export(env, tricky, format);
    write_file(env, &format!("out.{format}"), out.stdout.as_bytes())
}

/// Fails with every variable whose value did not come back exactly.
#[track_caller]
fn assert_round_trip(
    reader: &str,
    expected: &BTreeMap<String, Vec<u8>>,
    actual: &BTreeMap<String, Vec<u8>>,
) {
    let show = |bytes: &[u8]| {
        let text = format!("{:?}", String::from_utf8_lossy(bytes));
        match text.char_indices().nth(200) {
            Some((cut, _)) => format!("{}... ({} bytes)", &text[..cut], bytes.len()),
            None => text,
        }
    };
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(name, value)| actual.get(*name) != Some(value))
        .map(|(name, value)| match actual.get(name) {
            Some(got) => format!("{name}: expected {}, got {}", show(value), show(got)),
            None => format!("{name}: missing"),
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{reader} read {} of {} values wrong:\n{}",
        wrong.len(),
        expected.len(),
        wrong.join("\n")
    );
}

/// Runs `script` with `shell`, given the export file and an output folder as arguments; the
/// script writes each variable to `<folder>/<NAME>`. Returns what it wrote.
fn read_back_with_shell(
    env: &Env,
    shell: &Path,
    shell_args: &[&str],
    script: &str,
    export_file: &Path,
    names: &[&String],
) -> BTreeMap<String, Vec<u8>> {
    let script_file = write_file(env, "read-back", script.as_bytes());
    let folder = fresh_dir(env, "read-back");
    let mut args: Vec<&str> = shell_args.to_vec();
    let (script_arg, export_arg, folder_arg) = (
        script_file.to_string_lossy(),
        export_file.to_string_lossy(),
        folder.to_string_lossy(),
    );
    args.extend([&*script_arg, &*export_arg, &*folder_arg]);
    run_tool_ok(env, shell, &args, &[]);
    let read: BTreeMap<String, Vec<u8>> = names
        .iter()
        .filter_map(|name| {
            let bytes = std::fs::read(folder.join(name.as_str())).ok()?;
            Some((name.to_string(), bytes))
        })
        .collect();
    assert!(
        !env.root().join("pwned").exists(),
        "a value ran as a command"
    );
    read
}

/// The script for dash, bash and zsh: the README's `eval "$(...)"`, then each variable to a file.
fn sh_script(names: &[&String]) -> String {
    let mut script = String::from("eval \"$(cat \"$1\")\"\n");
    for name in names {
        script.push_str(&format!("printf '%s' \"${name}\" > \"$2/{name}\"\n"));
    }
    script
}

#[track_caller]
fn round_trip_through_sh(component: Component, shell_args: &[&str]) {
    let Some(shell) = require(component) else {
        return;
    };
    let env = Env::new();
    let tricky = tricky_connections(&env);
    let names: Vec<&String> = tricky.expected.keys().collect();
    let export_file = export_to_file(&env, &tricky, "sh");
    let read = read_back_with_shell(
        &env,
        &shell,
        shell_args,
        &sh_script(&names),
        &export_file,
        &names,
    );
    assert_round_trip(&format!("{component:?}"), &tricky.expected, &read);
}

#[test]
fn tricky_values_round_trip_through_sh_in_dash() {
    round_trip_through_sh(Component::Dash, &[]);
}

#[test]
fn tricky_values_round_trip_through_sh_in_bash() {
    round_trip_through_sh(Component::Bash, &["--norc", "--noprofile"]);
}

#[test]
fn tricky_values_round_trip_through_sh_in_zsh() {
    round_trip_through_sh(Component::Zsh, &["-f"]);
}

#[test]
fn tricky_values_round_trip_through_fish() {
    let Some(fish) = require(Component::Fish) else {
        return;
    };
    let env = Env::new();
    let tricky = tricky_connections(&env);
    let names: Vec<&String> = tricky.expected.keys().collect();
    let export_file = export_to_file(&env, &tricky, "fish");
    // Command substitution would split on newlines; a quoted variable keeps every byte.
    let mut script = String::from("source $argv[1]\n");
    for name in &names {
        script.push_str(&format!("printf '%s' \"${name}\" > $argv[2]/{name}\n"));
    }
    let read = read_back_with_shell(&env, &fish, &["--no-config"], &script, &export_file, &names);
    assert_round_trip("fish", &tricky.expected, &read);
}

#[test]
fn tricky_values_round_trip_through_python_dotenv() {
    let Some(python) = require(Component::Python) else {
        return;
    };
    let env = Env::new();
    let tricky = tricky_connections(&env);
    let export_file = export_to_file(&env, &tricky, "dotenv");
    let script = "import json, sys\n\
        from dotenv import dotenv_values\n\
        json.dump(dotenv_values(sys.argv[1], interpolate=False), sys.stdout)\n";
    let read = run_tool_ok(
        &env,
        &python,
        &["-c", script, &export_file.to_string_lossy()],
        &[],
    );
    let values: BTreeMap<String, Option<String>> = serde_json::from_slice(&read.stdout)
        .unwrap_or_else(|e| panic!("python printed no JSON object: {e}"));
    let read: BTreeMap<String, Vec<u8>> = values
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?.into_bytes())))
        .collect();
    assert_round_trip("python-dotenv", &tricky.expected, &read);
    assert_eq!(
        read.len(),
        tricky.expected.len(),
        "python-dotenv read other variables than ohx printed"
    );
}

#[test]
fn tricky_values_round_trip_through_json() {
    let env = Env::new();
    let tricky = tricky_connections(&env);
    let out = export(&env, &tricky, "json");
    let read: BTreeMap<String, Vec<u8>> = json_object(&out)
        .into_iter()
        .map(|(name, value)| (name, value.into_bytes()))
        .collect();
    assert_round_trip("serde_json", &tricky.expected, &read);
    assert_eq!(read.len(), tricky.expected.len(), "{out}");
}

#[test]
fn tricky_values_round_trip_through_run_into_the_childs_environment() {
    let env = Env::new();
    let tricky = tricky_connections(&env);
    let out = env
        .ohx()
        .env("XDG_RUNTIME_DIR", runtime_dir(&env))
        .args(["run", "-c", "tricky", "-c", "lake", "--", "env", "-0"])
        .ok();
    assert!(!out.stderr.contains(&tricky.canary), "{out}");
    let read = parse_env0(out.stdout.as_bytes());
    assert_round_trip("env -0 under ohx run", &tricky.expected, &read);
}

#[test]
fn powershell_output_single_quotes_every_value_with_quotes_doubled() {
    let env = Env::new();
    let tricky = tricky_connections(&env);
    let out = export(&env, &tricky, "powershell");
    // No pwsh here: the text must be exactly one `$env:NAME = '...'` per variable, sorted.
    let text: String = tricky
        .expected
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value).replace('\'', "''");
            format!("$env:{name} = '{value}'\n")
        })
        .collect();
    assert!(out.stdout == text, "powershell output differs\n{out}");
}

// ---------------------------------------------------------------------------------------------
// Plain values, given on the command line
// ---------------------------------------------------------------------------------------------

/// Plain values as hostile as the secret ones above, given on the command line
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

/// Each of `names` as `sh` sees it after evaluating the `sh` export `export`.
fn read_back_with_sh(env: &Env, export: &str, names: &[String]) -> BTreeMap<String, Vec<u8>> {
    let export_file = write_file(env, "export.sh", export.as_bytes());
    let names: Vec<&String> = names.iter().collect();
    let script = sh_script(&names);
    read_back_with_shell(env, Path::new("sh"), &[], &script, &export_file, &names)
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
