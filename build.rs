//! Link settings for the `ohx` binary that cut what every command pays before and after `main`.
//!
//! Every ohx command is a short process, so the dynamic loader's work and the page faults of
//! first touching code count (BENCHMARKS.md has the measurements). Only the binaries of this
//! package are affected (not its tests, nor the fuzz and bench sub-projects, nor the
//! dependencies, whose builds are left as they are).
//!
//! - **RELR relocations.** The release binary carries about 12,000 relative relocations, 290 KB of
//!   `.rela.dyn` that the loader reads on each start; `-z pack-relative-relocs` stores them as a
//!   4 KB RELR table instead. A binary linked so names glibc's `GLIBC_ABI_DT_RELR` version and
//!   does not start with a glibc older than 2.36, while GNU ld accepts the flag from 2.38 on
//!   (Ubuntu 22.04 has that ld and glibc 2.35). So the flag is passed only for a native
//!   GNU/Linux build whose own C library defines that version.
//! - **Hot code together.** `link-order.txt` names the functions that everyday commands run
//!   (`connection env`, `list`, `show`, `whoami`), as `bench/link-order` recorded them;
//!   the linker places them side by side at the start of `.text`. Spread over the 8 MB of code
//!   they fault in about 90 separate pieces of the file on every command, side by side in about
//!   20. Only for release builds, and only where the linker takes `--symbol-ordering-file` (LLD,
//!   the default linker of Rust on x86-64 Linux; GNU ld does not), which a one-line program
//!   linked the same way finds out. A name that is not in the binary (the file was recorded for
//!   another version of the code or of Rust) is skipped without a word: the order only makes the
//!   binary faster, never different in what it does.
//! - `OHX_LINK_MAP=PATH` (for `bench/link-order`) also writes the linker's map of the binary to
//!   PATH: which function lies where, in a binary that is otherwise exactly the release one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const LINK_ORDER: &str = "link-order.txt";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={LINK_ORDER}");
    println!("cargo:rerun-if-env-changed=OHX_LINK_MAP");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" {
        return;
    }
    let native = var("HOST") == var("TARGET");
    if native
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && c_library_has_relr(&var("CARGO_CFG_TARGET_ARCH"))
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if var("PROFILE") != "release" {
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join(LINK_ORDER);
    if order.is_file() {
        let flags = [
            format!("-Wl,--symbol-ordering-file={}", order.display()),
            "-Wl,--no-warn-symbol-ordering".to_string(),
        ];
        if linker_takes(&flags) {
            for flag in flags {
                println!("cargo:rustc-link-arg-bins={flag}");
            }
        }
    }
    let map = var("OHX_LINK_MAP");
    if !map.is_empty() {
        // Mangled names, as the ordering file must give them.
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-demangle");
    }
}

/// Whether the system's glibc defines `GLIBC_ABI_DT_RELR` (glibc 2.36 or later).
fn c_library_has_relr(arch: &str) -> bool {
    let multiarch = format!("/lib/{arch}-linux-gnu/libc.so.6");
    let candidates = [
        multiarch.as_str(),
        "/lib64/libc.so.6",
        "/usr/lib64/libc.so.6",
        "/usr/lib/libc.so.6",
    ];
    let Some(libc) = candidates.iter().map(Path::new).find(|p| p.is_file()) else {
        return false;
    };
    println!("cargo:rerun-if-changed={}", libc.display());
    let needle: &[u8] = b"GLIBC_ABI_DT_RELR";
    std::fs::read(libc).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}

/// Whether a program linked as the `ohx` binary will be (same rustc, target, linker and
/// RUSTFLAGS) links with `flags` added: the way to know which linker is in use.
fn linker_takes(flags: &[String]) -> bool {
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let source = out.join("link_probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut probe = Command::new(rustc);
    probe
        .arg("--crate-type=bin")
        .arg("--crate-name=link_probe")
        .arg("-o")
        .arg(out.join("link_probe"));
    if let Ok(target) = std::env::var("TARGET") {
        probe.arg("--target").arg(target);
    }
    if let Ok(linker) = std::env::var("RUSTC_LINKER") {
        probe.arg("-C").arg(format!("linker={linker}"));
    }
    let rustflags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    probe.args(rustflags.split('\x1f').filter(|flag| !flag.is_empty()));
    for flag in flags {
        probe.arg("-C").arg(format!("link-arg={flag}"));
    }
    probe
        .arg(&source)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    probe.status().is_ok_and(|status| status.success())
}
