//! Completion follows the command line, in the real shells: bash through its completion
//! function, fish through `complete -C`, zsh typed into a terminal (tmux) with `compinit`.
//!
//! One fixture for all three: alice belongs to `malaria` (her default) and `second`; bob only to
//! `second`; another store holds one more workspace. Each case is a line typed so far and what
//! TAB must offer, which depends on the `-w`, `--store`, `--identity` or connection earlier on
//! the line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::fixtures::{connection_add, join};
use crate::harness::{random_canary, Env};
use crate::ux::readers;

struct Fixture {
    env: Env,
    other_store: PathBuf,
}

fn fixture() -> Fixture {
    let env = Env::new();
    env.admin_with_workspace("malaria");
    env.ohx()
        .args(["workspace", "create", "Second", "--slug", "second"])
        .ok();
    env.ohx().args(["workspace", "use", "malaria"]).ok();
    let password = random_canary();
    connection_add(&env, "pg", "warehouse", &[("host", "h"), ("username", "u")])
        .args([
            "--set",
            "db_name=d",
            "--secret",
            "password=-",
            "-w",
            "malaria",
        ])
        .stdin(password.clone())
        .ok();
    connection_add(&env, "custom", "api", &[("url", "https://x")])
        .args(["--secret", "token=-", "-w", "second"])
        .stdin(password.clone())
        .ok();
    connection_add(&env, "s3", "lake", &[("bucket_name", "lake-bucket")])
        .args([
            "--set",
            "access_key_id=AKIA",
            "--secret",
            "access_key_secret=-",
        ])
        .args(["-w", "second"])
        .stdin(password)
        .ok();
    join(&env, "bob", "viewer", Some("second"));
    let other_store = env.root().join("other.db");
    env.ohx().arg("--store").arg(&other_store).arg("init").ok();
    env.ohx()
        .arg("--store")
        .arg(&other_store)
        .args(["workspace", "create", "Other", "--slug", "other"])
        .ok();
    connection_add(&env, "custom", "elsewhere", &[("url", "https://y")])
        .arg("--store")
        .arg(&other_store)
        .args(["-w", "other"])
        .ok();
    Fixture { env, other_store }
}

/// `(line typed so far, values TAB must offer)`; the line's last word is the one completed.
fn cases(fx: &Fixture) -> Vec<(String, Vec<&'static str>)> {
    let bob = fx.env.identity_of("bob");
    vec![
        ("ohx connection show ".into(), vec!["warehouse"]),
        ("ohx -w second connection show ".into(), vec!["api", "lake"]),
        ("ohx connection show -w second ".into(), vec!["api", "lake"]),
        (
            "ohx connection show second/".into(),
            vec!["second/api", "second/lake"],
        ),
        ("ohx connection show sec".into(), vec!["second/"]),
        (
            format!(
                "ohx --store {} -w other connection show ",
                fx.other_store.display()
            ),
            vec!["elsewhere"],
        ),
        // bob is not in alice's default workspace, so he is offered his own as WORKSPACE/.
        (
            format!("ohx --identity {} connection show ", bob.display()),
            vec!["second/"],
        ),
        (
            "ohx connection get second/api ".into(),
            vec!["token", "url"],
        ),
        (
            "ohx -w second connection edit lake --unset ".into(),
            vec!["access_key_id", "access_key_secret"],
        ),
        (
            "ohx connection add ".into(),
            vec!["custom", "dhis2", "gcs", "iaso", "postgresql", "s3"],
        ),
        ("ohx -w second member remove ".into(), vec!["alice", "bob"]),
        ("ohx member set-role ".into(), vec!["alice"]),
        ("ohx run -c ".into(), vec!["warehouse"]),
    ]
}

fn completions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("completions")
}

/// `PATH` with the ohx under test first.
fn path_with_ohx() -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ohx")).parent().unwrap();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn shell_command(fx: &Fixture, program: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", path_with_ohx())
        .env("HOME", fx.env.root())
        .env("OHX_HOME", fx.env.home())
        .env("USER", "alice")
        .env("LC_ALL", "C.UTF-8");
    command
}

/// Values only: flags are offered too, and each shell adds its own decorations.
fn values(lines: impl Iterator<Item = String>) -> Vec<String> {
    let mut found: Vec<String> = lines
        .map(|l| l.split('\t').next().unwrap_or_default().trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .collect();
    found.sort();
    found
}

#[test]
fn bash_completes_from_the_line_being_typed() {
    let Some(bash) = readers::program("bash") else {
        return;
    };
    let fx = fixture();
    let script = completions_dir().join("ohx.bash");
    for (line, want) in cases(&fx) {
        let words: Vec<&str> = line.split(' ').collect();
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let current = words.last().copied().unwrap_or_default();
        let program = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; _clap_complete_ohx ohx '{current}' x; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            quoted.join(" "),
            words.len() - 1
        );
        let out = shell_command(&fx, &bash)
            .args(["--norc", "-c", &program])
            .output()
            .unwrap();
        let got = values(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from),
        );
        assert_eq!(got, want, "bash: `{line}<TAB>`");
    }
}

#[test]
fn fish_completes_from_the_line_being_typed() {
    let Some(fish) = readers::program("fish") else {
        return;
    };
    let fx = fixture();
    let script = completions_dir().join("ohx.fish");
    for (line, want) in cases(&fx) {
        let program = format!(
            "source '{}'; complete -C '{}'",
            script.display(),
            line.replace('\'', "\\'")
        );
        let out = shell_command(&fx, &fish)
            .args(["--no-config", "-c", &program])
            .output()
            .unwrap();
        let got = values(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from),
        );
        assert_eq!(got, want, "fish: `{line}<TAB>`");
    }
}

/// zsh completes only in its line editor, so each line is typed into a zsh on a tmux terminal,
/// with `compinit` and the committed `_ohx`, and TAB pressed; the offers are read off the screen.
#[test]
fn zsh_completes_from_the_line_being_typed() {
    let (Some(zsh), Some(tmux)) = (readers::program("zsh"), readers::program("tmux")) else {
        return;
    };
    let fx = fixture();
    let rc = fx.env.root().join("zdotdir");
    std::fs::create_dir_all(&rc).unwrap();
    std::fs::write(
        rc.join(".zshrc"),
        format!(
            "fpath=({} $fpath)\nautoload -U compinit && compinit -u\nunsetopt list_ambiguous\nPROMPT='READY> '\n",
            completions_dir().display()
        ),
    )
    .unwrap();
    for (n, (line, want)) in cases(&fx).into_iter().enumerate() {
        let session = format!("z{n}");
        let terminal = Terminal::start(&fx, &tmux, &zsh, &rc, &session);
        terminal.wait_for("READY>");
        terminal.keys(&["-l", &line]);
        terminal.wait_for(line.trim_end());
        terminal.keys(&["Tab"]);
        // The offers are listed under the line, or the only one is put on it.
        let screen = terminal.wait_until(|screen| {
            want.iter()
                .all(|w| screen.contains(w.trim_end_matches('/')))
        });
        let mut lines = screen.lines().skip_while(|l| !l.starts_with("READY>"));
        let prompt = lines.next().unwrap_or_default();
        let mut offered: Vec<String> = lines
            .filter_map(|l| l.split_whitespace().next())
            .filter(|t| !t.starts_with('-'))
            .map(String::from)
            .collect();
        let typed: Vec<&str> = line.split_whitespace().collect();
        let shown: Vec<&str> = prompt
            .trim_start_matches("READY>")
            .split_whitespace()
            .collect();
        // No list: the only offer was put on the line (with a list, what zsh put there is the
        // offers' common start).
        if shown != typed && offered.is_empty() {
            offered.extend(shown.last().map(|w| w.to_string()));
        }
        // zsh lists `WORKSPACE/` without its slash, which it adds when the offer is taken.
        let mut offered: Vec<&str> = offered.iter().map(|w| w.trim_end_matches('/')).collect();
        offered.sort();
        let want: Vec<&str> = want.iter().map(|w| w.trim_end_matches('/')).collect();
        assert_eq!(offered, want, "zsh: `{line}<TAB>`:\n{screen}");
    }
}

/// A zsh on a tmux terminal of its own, killed when dropped.
struct Terminal {
    tmux: PathBuf,
    socket: String,
    tmpdir: PathBuf,
    session: String,
}

impl Terminal {
    fn start(fx: &Fixture, tmux: &Path, zsh: &Path, rc: &Path, session: &str) -> Terminal {
        let terminal = Terminal {
            tmux: tmux.to_path_buf(),
            socket: format!("ohx-zsh-{}-{session}", std::process::id()),
            tmpdir: fx.env.root().to_path_buf(),
            session: session.to_string(),
        };
        let out = terminal
            .command(fx)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "40",
            ])
            .args(["-s", session])
            .arg(zsh)
            .env("ZDOTDIR", rc)
            .env("TERM", "screen")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        terminal
    }

    fn command(&self, fx: &Fixture) -> Command {
        let mut command = shell_command(fx, &self.tmux);
        command
            .env("TMUX_TMPDIR", &self.tmpdir)
            .args(["-L", &self.socket]);
        command
    }

    fn plain(&self) -> Command {
        let mut command = Command::new(&self.tmux);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.tmpdir)
            .env("TMUX_TMPDIR", &self.tmpdir)
            .args(["-L", &self.socket]);
        command
    }

    fn keys(&self, keys: &[&str]) {
        let out = self
            .plain()
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux send-keys: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn screen(&self) -> String {
        let out = self
            .plain()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_until(|screen| screen.contains(text))
    }

    fn wait_until(&self, done: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                // Let the rest of the list be drawn.
                std::thread::sleep(Duration::from_millis(150));
                return self.screen();
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the terminal never showed what was expected:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.plain().arg("kill-server").output();
    }
}
