//! Skipping a test whose real component (a shell, PostgreSQL, node, direnv, ...) is missing, so
//! that a plain `cargo test` shows it.
//!
//! libtest captures what a passing test prints with `eprintln!` and shows it only with
//! `--nocapture`, so a skip reported that way is invisible, and the test counts as passed.
//! libtest has no "skipped at run time" result, and `#[ignore]` is decided at compile time. So
//! the reason is written straight to the process's stderr, which libtest does not capture (only
//! the print macros are), as one line of its own:
//!
//! ```text
//! SKIPPED ux::formats::docker_reads_back_every_value: docker is missing: ... (install it with `bash .ci/setup`)
//! ```
//!
//! The line appears in the run's output whatever the options; `cargo test 2>&1 | grep SKIPPED`
//! lists them all. Under `CI` a missing component is a failure instead: CI installs everything
//! with `.ci/setup`, so a skip there would hide a gap.

use std::io::Write;

/// Reports that the current test cannot run here because of `reason`, or fails under `CI`.
#[track_caller]
pub fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("a test")
        .to_string();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} cannot run here: {reason} (CI is set, so this fails instead of skipping; run `bash .ci/setup`)"
    );
    let line = format!("SKIPPED {test}: {reason}\n");
    // Not eprintln!: libtest captures that and shows it only for failed tests.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
