//! Link settings for the `ohx` binary that cut what every command pays before `main` runs.
//!
//! Every ohx command is a short process, so the dynamic loader's work counts: the release binary
//! carries about 12,000 relative relocations, 290 KB of `.rela.dyn` that the loader reads on each
//! start. `-z pack-relative-relocs` stores them as a 4 KB RELR table instead (BENCHMARKS.md has
//! the measurement). Only for the binaries of this package (not its tests, nor the fuzz and bench
//! sub-projects, nor the dependencies, whose builds are left as they are).
//!
//! A binary linked with RELR names glibc's `GLIBC_ABI_DT_RELR` version and does not start with a
//! glibc older than 2.36, while GNU ld accepts the flag from 2.38 on (Ubuntu 22.04 has that ld
//! and glibc 2.35). So the flag is passed only for a native GNU/Linux build whose own C library
//! defines that version; anywhere else the build is a plain one.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("HOST") == var("TARGET");
    if native && var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" {
        let arch = var("CARGO_CFG_TARGET_ARCH");
        if c_library_has_relr(&arch) {
            println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        }
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
