//! Plain values as hostile as the secret ones of `tricky`, given on the command line with
//! `--set`: they reach ohx through argv, and come back exactly through `show --json`,
//! `env --format json`, `sh` evaluating the export and `ohx run -- env -0`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::fixtures::{add_custom, parse_env0, WS};
use crate::harness::{random_canary, Env};

use super::support::write_file;
use super::tricky::{read_back_with_shell, sh_script};

/// Plain values as hostile as the secret ones of `tricky`, given on the command line
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
