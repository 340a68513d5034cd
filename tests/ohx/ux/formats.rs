//! Each `.env` format read back by its real reader, value for value, or refused with the
//! variables named (and never their values); `--output FILE` written whole, mode 0600.
//!
//! Every value is its own custom connection `vNN` (variable `VNN_V`), so that a format refusing
//! some of them can be asked again for the rest: a refusal is all or nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::harness::{file_mode, random_canary, Env};
use crate::ux::readers::{self, DockerStub};

/// The workspace of these tests.
const WS: &str = "ws";

/// The hostile values, `{c}` standing for the test's canary.
const VALUES: &[&str] = &[
    "it's {c}",
    "say \"hi\" {c}",
    "back\\slash {c}",
    "not a newline: \\n {c}",
    "tab\there {c}",
    "$HOME ${HOME} $(id) {c}",
    "#no comment {c}",
    "a #b {c}",
    "é日本 – ünïcode {c}",
    "   leading spaces {c}",
    "{c} trailing spaces   ",
    "back`tick {c}",
    "all three: ' \" ` {c}",
    "{c} ends in a backslash\\",
    "=equals= {c}",
    "line\nbreak {c}",
    "crlf\r\nline {c}",
    "lone\rcr {c}",
    "multi\n$HOME {c}",
    "it's\nthere {c}",
    "\"\n' {c}",
    "back\\\nslash {c}",
    "{{\"private_key\": \"-----BEGIN\\nABC\\n-----END\\n\"}}\n{c}\n",
];

/// The connections `v00`.. and their `(variable, value)`.
struct Fixture {
    env: Env,
    canary: String,
    vars: BTreeMap<String, String>,
}

impl Fixture {
    fn new() -> Fixture {
        let env = Env::new();
        env.admin_with_workspace(WS);
        let canary = random_canary();
        let mut vars = BTreeMap::new();
        for (i, template) in VALUES.iter().enumerate() {
            let value = template.replace("{c}", &canary);
            let file = env.root().join(format!("value-{i:02}"));
            std::fs::write(&file, &value).unwrap();
            let slug = format!("v{i:02}");
            env.ohx()
                .args(["connection", "add", "custom", "--name", &slug, "--secret"])
                .arg(format!("v=file:{}", file.display()))
                .ok();
            std::fs::remove_file(&file).unwrap();
            vars.insert(format!("V{i:02}"), "custom".to_string());
            vars.insert(format!("V{i:02}_V"), value);
        }
        Fixture { env, canary, vars }
    }

    /// The identifiers of every connection but those whose variable is in `except`.
    fn ids(&self, except: &BTreeSet<String>) -> Vec<String> {
        (0..VALUES.len())
            .filter(|i| !except.contains(&format!("V{i:02}_V")))
            .map(|i| format!("v{i:02}"))
            .collect()
    }

    /// The expected variables without `except`.
    fn expected(&self, except: &BTreeSet<String>) -> BTreeMap<String, String> {
        let mut vars = self.vars.clone();
        for name in except {
            vars.remove(name);
            vars.remove(name.trim_end_matches("_V"));
        }
        vars
    }

    /// Writes `format` to a file, after checking which values it refuses: exactly `refused`,
    /// each named in the error, no value in it. Returns the file and the variables it holds.
    #[track_caller]
    fn export(&self, format: &str, refused: &[usize]) -> (PathBuf, BTreeMap<String, String>) {
        let refused: BTreeSet<String> = refused.iter().map(|i| format!("V{i:02}_V")).collect();
        let file = self.env.root().join(format!("{format}.env"));
        let all = self.ids(&BTreeSet::new());
        if refused.is_empty() {
            self.write(format, &all, &file);
        } else {
            let out = self
                .env
                .ohx()
                .args([
                    "connection",
                    "env",
                    "-w",
                    WS,
                    "--format",
                    format,
                    "--output",
                ])
                .arg(&file)
                .args(&all)
                .fails(1);
            let named: BTreeSet<String> = self
                .vars
                .keys()
                .filter(|name| name.ends_with("_V"))
                .filter(|name| out.stderr.contains(&format!("{name} (")))
                .cloned()
                .collect();
            assert_eq!(
                named, refused,
                "--format {format} refused other values\n{out}"
            );
            assert!(
                !out.stderr.contains(&self.canary),
                "a value in the error\n{out}"
            );
            assert!(
                !file.exists(),
                "a refused export still wrote {}",
                file.display()
            );
            self.write(format, &self.ids(&refused), &file);
        }
        (file, self.expected(&refused))
    }

    #[track_caller]
    fn write(&self, format: &str, ids: &[String], file: &Path) {
        let out = self
            .env
            .ohx()
            .args([
                "connection",
                "env",
                "-w",
                WS,
                "--format",
                format,
                "--output",
            ])
            .arg(file)
            .args(ids)
            .ok();
        assert!(out.stdout.is_empty(), "--output also printed\n{out}");
        assert!(
            !out.stderr.contains(&self.canary),
            "a value on stderr\n{out}"
        );
        assert_eq!(file_mode(file), 0o600);
    }
}

/// Indexes into [`VALUES`] of the values with a line break.
const LINE_BREAKS: [usize; 8] = [15, 16, 17, 18, 19, 20, 21, 22];

#[track_caller]
fn assert_read_back(reader: &str, got: &BTreeMap<String, String>, want: &BTreeMap<String, String>) {
    for (name, value) in want {
        assert_eq!(
            got.get(name),
            Some(value),
            "{reader} read {name} differently"
        );
    }
}

#[test]
fn python_dotenv_reads_every_value_of_the_dotenv_format() {
    let Some(python) = readers::python() else {
        return;
    };
    let fx = Fixture::new();
    let (file, want) = fx.export("dotenv", &[]);
    let script = "import json, sys; from dotenv import dotenv_values; \
                  print(json.dumps(dotenv_values(sys.argv[1], interpolate=False)))";
    let file_arg = file.to_string_lossy().into_owned();
    let out = readers::run(&fx.env, &python, &["-c", script, &file_arg], &[]);
    assert_read_back("python-dotenv", &readers::json_object(&out), &want);
}

#[test]
fn direnv_reads_back_its_format_and_multiline_values_with_dollar_or_backslash_are_refused() {
    let Some(direnv) = readers::program("direnv") else {
        return;
    };
    let fx = Fixture::new();
    let (file, want) = fx.export("direnv", &[18, 21, 22]);
    // A project folder whose .envrc loads the file, allowed as a user would.
    let project = fx.env.root().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join(".envrc"),
        format!("dotenv {}\n", file.display()),
    )
    .unwrap();
    let xdg = fx.env.root().join("xdg");
    let places: [(&str, &Path); 3] = [
        ("XDG_DATA_HOME", &xdg.join("data")),
        ("XDG_CONFIG_HOME", &xdg.join("config")),
        ("XDG_CACHE_HOME", &xdg.join("cache")),
    ];
    let project_arg = project.to_string_lossy().into_owned();
    readers::run(&fx.env, &direnv, &["allow", &project_arg], &places);
    let out = readers::run(
        &fx.env,
        &direnv,
        &["exec", &project_arg, "env", "-0"],
        &places,
    );
    assert_read_back("direnv", &readers::env0(&out), &want);
}

#[test]
fn node_dotenv_package_reads_back_its_format() {
    let Some((node, module)) = readers::node_dotenv() else {
        return;
    };
    let fx = Fixture::new();
    let (file, want) = fx.export("node", &[12]);
    let script = "const d = require(process.argv[1]); \
                  const text = require('fs').readFileSync(process.argv[2]); \
                  process.stdout.write(JSON.stringify(d.parse(text)))";
    let args = [
        "-e",
        script,
        &module.to_string_lossy(),
        &file.to_string_lossy(),
    ]
    .map(|a| a.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = readers::run(&fx.env, &node, &args, &[]);
    assert_read_back("node's dotenv", &readers::json_object(&out), &want);
}

#[test]
fn node_env_file_reads_back_its_format_and_values_with_cr_are_refused() {
    let Some(node) = readers::program("node") else {
        return;
    };
    let fx = Fixture::new();
    let (file, want) = fx.export("node-env-file", &[12, 16, 17]);
    let flag = format!("--env-file={}", file.display());
    let out = readers::run(
        &fx.env,
        &node,
        &[
            &flag,
            "-e",
            "process.stdout.write(JSON.stringify(process.env))",
        ],
        &[],
    );
    assert_read_back("node --env-file", &readers::json_object(&out), &want);
}

/// The docker CLI parses `--env-file` itself and sends the result to the daemon when it creates
/// the container; a stub daemon records that request (no docker daemon runs here).
#[test]
fn docker_cli_reads_back_the_docker_format_and_line_breaks_are_refused() {
    let Some(docker) = readers::program("docker") else {
        return;
    };
    let fx = Fixture::new();
    let (file, want) = fx.export("docker", &LINE_BREAKS);
    let stub = DockerStub::start(fx.env.root());
    let host = format!("unix://{}", stub.socket.display());
    let config = fx.env.root().join("docker-config");
    let file_arg = file.to_string_lossy().into_owned();
    let out = std::process::Command::new(&docker)
        .args(["--host", &host, "container", "create", "--pull", "never"])
        .args(["--env-file", &file_arg, "busybox"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", fx.env.root())
        .env("DOCKER_CONFIG", &config)
        .output()
        .unwrap();
    let got = stub.created_env().unwrap_or_else(|| {
        panic!(
            "the docker CLI sent no container to create\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_read_back("docker's --env-file", &got, &want);
}

#[test]
fn output_is_a_private_file_that_replaces_the_old_one_whole() {
    let fx = Fixture::new();
    let file = fx.env.root().join(".env");
    std::fs::write(&file, "OLD=1\n").unwrap();
    crate::harness::set_mode(&file, 0o644);
    let out = fx
        .env
        .ohx()
        .umask("000")
        .args([
            "connection",
            "env",
            "-w",
            WS,
            "v00",
            "--format",
            "docker",
            "-o",
        ])
        .arg(&file)
        .ok();
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("wrote 2 variables"), "{out}");
    assert_eq!(file_mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text, format!("V00=custom\nV00_V=it's {}\n", fx.canary));
    // Nothing else is left in the folder: no temporary file.
    let names: Vec<String> = std::fs::read_dir(fx.env.root())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".env"))
        .collect();
    assert_eq!(names, [".env"]);
}

#[test]
fn output_replaces_a_symbolic_link_instead_of_writing_through_it() {
    let fx = Fixture::new();
    let target = fx.env.root().join("elsewhere");
    std::fs::write(&target, "keep me\n").unwrap();
    let link = fx.env.root().join("link.env");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    fx.env
        .ohx()
        .args(["connection", "env", "-w", WS, "v00", "--output"])
        .arg(&link)
        .ok();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    assert!(!std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(file_mode(&link), 0o600);
}

#[test]
fn a_refused_format_leaves_the_old_file_untouched() {
    let fx = Fixture::new();
    let file = fx.env.root().join("app.env");
    std::fs::write(&file, "OLD=1\n").unwrap();
    let out = fx
        .env
        .ohx()
        .args([
            "connection",
            "env",
            "-w",
            WS,
            "v00",
            "v15",
            "--format",
            "docker",
        ])
        .arg("--output")
        .arg(&file)
        .fails(1);
    assert!(out.stderr.contains("V15_V (a line break"), "{out}");
    assert!(out.stderr.contains("hint: "), "{out}");
    assert!(!out.stderr.contains(&fx.canary));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "OLD=1\n");
}
