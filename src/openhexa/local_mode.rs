//! The OpenHEXA SDK's local mode under `ohx run`.
//!
//! A `@pipeline` run as `python pipeline.py` is "standalone" for the SDK, which then insists on a
//! `workspace.yaml` beside the script and lets its connections replace the environment. With
//! `HEXA_ENVIRONMENT=LOCAL_PIPELINE` (what `openhexa pipelines run` sets in its container) the SDK
//! reads connections from the environment only, which is where `ohx run` puts them. A
//! `workspace.yaml` found beside the script or in the current folder is then ignored, and ohx says
//! so; if the user forced the standalone mode, ohx warns that the file overrides its connections.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The variable the SDK reads to know where it runs.
pub const VARIABLE: &str = "HEXA_ENVIRONMENT";
pub const LOCAL_PIPELINE: &str = "LOCAL_PIPELINE";

/// What `ohx run` should add to the child's environment, and what to tell the user.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    pub set: Option<(&'static str, &'static str)>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// `inherited` is the value of `HEXA_ENVIRONMENT` the child would inherit; `cwd` the folder it
/// starts in. Every argument ending in `.py` counts as a script whose folder the SDK looks in.
pub fn prepare(command: &[OsString], inherited: Option<&OsStr>, cwd: &Path) -> Prepared {
    let mut prepared = Prepared::default();
    let standalone = match inherited {
        None => {
            prepared.set = Some((VARIABLE, LOCAL_PIPELINE));
            false
        }
        Some(value) => value.to_string_lossy().eq_ignore_ascii_case("standalone"),
    };
    for file in workspace_files(command, cwd) {
        let shown = file.display();
        if standalone {
            prepared.warnings.push(format!(
                "{VARIABLE}=STANDALONE makes the OpenHEXA SDK load {shown}, whose connections replace the ones ohx passes; unset {VARIABLE} to use ohx's"
            ));
        } else {
            prepared.notes.push(format!(
                "note: {shown} is ignored: under `ohx run` the OpenHEXA SDK reads connections from ohx ({VARIABLE}={LOCAL_PIPELINE})"
            ));
        }
    }
    prepared
}

/// Adds the SDK's local mode to the environment `ohx run` built for its child, and tells the
/// user about `workspace.yaml` files the SDK would otherwise read.
pub fn apply(
    printer: &crate::output::Printer,
    environment: &mut Vec<(OsString, zeroize::Zeroizing<Vec<u8>>)>,
    command: &[OsString],
) {
    let cwd = std::env::current_dir().unwrap_or_default();
    let inherited = environment
        .iter()
        .find(|(name, _)| name == VARIABLE)
        .map(|(_, value)| OsString::from(String::from_utf8_lossy(value).into_owned()));
    let prepared = prepare(command, inherited.as_deref(), &cwd);
    if let Some((name, value)) = prepared.set {
        environment.push((
            OsString::from(name),
            zeroize::Zeroizing::new(value.as_bytes().to_vec()),
        ));
    }
    for note in &prepared.notes {
        printer.notice(note);
    }
    for warning in &prepared.warnings {
        crate::output::warning(warning);
    }
}

/// The `workspace.yaml` files the SDK could read for this command, each once.
fn workspace_files(command: &[OsString], cwd: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = vec![cwd.to_path_buf()];
    for arg in command.iter().skip(1) {
        let path = Path::new(arg);
        if path.extension().is_some_and(|e| e == "py") {
            let parent = path.parent().unwrap_or(Path::new(""));
            let folder = if parent.as_os_str().is_empty() {
                cwd.to_path_buf()
            } else {
                cwd.join(parent)
            };
            folders.push(folder);
        }
    }
    let mut found: Vec<PathBuf> = Vec::new();
    for folder in folders {
        let candidate = folder.join("workspace.yaml");
        let canonical = candidate.canonicalize().ok();
        if let Some(canonical) = canonical {
            if !found.contains(&canonical) {
                found.push(canonical);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_local_pipeline_unless_the_user_chose() {
        let dir = std::env::temp_dir();
        let cmd: Vec<OsString> = vec!["python".into(), "x.py".into()];
        assert_eq!(
            prepare(&cmd, None, &dir).set,
            Some((VARIABLE, LOCAL_PIPELINE))
        );
        assert_eq!(
            prepare(&cmd, Some(OsStr::new("CLOUD_PIPELINE")), &dir).set,
            None
        );
    }
}
