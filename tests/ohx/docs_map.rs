//! docs/RELIABILITY.md stays true: every test it names (`- `module::path::test``) exists, so a
//! renamed or deleted test cannot leave the map promising what nothing proves.

use std::path::{Path, PathBuf};

/// The test names the map lists, as written there.
fn listed_tests(map: &str) -> Vec<String> {
    map.lines()
        .filter_map(|line| line.strip_prefix("- `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|name| name.contains("::") && !name.contains(' '))
        .map(str::to_string)
        .collect()
}

/// The file that holds module `path` of the `ohx` test binary: `a/b.rs`, or `a/b/mod.rs`.
fn module_file(root: &Path, modules: &[&str]) -> Option<PathBuf> {
    let joined: PathBuf = modules.iter().collect();
    [
        root.join(&joined).with_extension("rs"),
        root.join(&joined).join("mod.rs"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Whether `name` is a test in module `modules`: a function of that name in its file, or (for a
/// test the `both!` macro runs on each engine, `...::name::sqlite`) in its parent's file.
fn exists(root: &Path, name: &str) -> bool {
    let parts: Vec<&str> = name.split("::").collect();
    let (function, modules) = match parts.split_last() {
        Some((last, rest)) if matches!(*last, "sqlite" | "postgres") && !rest.is_empty() => {
            (rest[rest.len() - 1], &rest[..rest.len() - 1])
        }
        Some((last, rest)) => (*last, rest),
        None => return false,
    };
    let Some(file) = module_file(root, modules) else {
        return false;
    };
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.contains(&format!("fn {function}("))
}

#[test]
fn every_test_the_reliability_map_names_exists() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(manifest.join("docs/RELIABILITY.md"))
        .expect("read docs/RELIABILITY.md");
    let listed = listed_tests(&map);
    assert!(
        listed.len() > 100,
        "the map lists only {} tests",
        listed.len()
    );
    let root = manifest.join("tests/ohx");
    let missing: Vec<&String> = listed.iter().filter(|n| !exists(&root, n)).collect();
    assert!(
        missing.is_empty(),
        "docs/RELIABILITY.md names tests that do not exist:\n{missing:#?}"
    );
}
