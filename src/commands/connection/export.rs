//! `ohx connection export --format workspace-yaml [--output FILE] [ID...]`: the `workspace.yaml`
//! the OpenHEXA SDK's local mode and `openhexa pipelines run` read (editor or admin).
//!
//! All or nothing like `env`: nothing is written until every connection decrypted and checked.
//! The file is created 0600 under a temporary name and renamed into place, so no reader ever
//! sees half of it and it is never readable by others, even for a moment.

use std::path::Path;

use anyhow::{Context, Result};

use super::use_secrets::open_for_use;
use crate::domain::Action;
use crate::error::Error;
use crate::openhexa::workspace_yaml::{self, Entry};
use crate::output;
use crate::session::Session;

pub fn run(
    session: &mut Session,
    ids: &[String],
    format: &str,
    target: Option<&Path>,
) -> Result<()> {
    if format != "workspace-yaml" {
        return Err(Error::WorkspaceYaml(format!("unknown format '{format}'")).into());
    }
    let references = if ids.is_empty() {
        let slug = session.workspace_slug(None)?;
        session.access.read(&slug, Action::UseSecrets, |ws| {
            let mut all = Vec::new();
            ws.each_connection(|row| {
                all.push(format!("{slug}/{}", row.slug));
                Ok(())
            })?;
            Ok(all)
        })?
    } else {
        ids.to_vec()
    };
    let opened = open_for_use(session, &references)?;
    let mut seen: Vec<&str> = Vec::new();
    for c in &opened {
        if seen.contains(&c.identifier.as_str()) {
            return Err(Error::WorkspaceYamlClash(c.identifier.clone()).into());
        }
        seen.push(&c.identifier);
    }
    let entries: Vec<Entry<'_>> = opened
        .iter()
        .map(|c| Entry {
            identifier: &c.identifier,
            kind: c.kind,
            fields: c
                .fields
                .iter()
                .map(|(code, value)| (code.as_str(), value.expose_secret()))
                .collect(),
        })
        .collect();
    let document = workspace_yaml::render(&entries).map_err(Error::WorkspaceYaml)?;
    match target {
        None => output::write_stdout(&document),
        Some(path) => {
            write_private(path, document.as_bytes())?;
            session.printer.notice(&format!(
                "Wrote {} connection(s) to {} (0600). It holds secrets in clear: delete it when done; `ohx run` needs no file.",
                opened.len(),
                path.display()
            ));
            Ok(())
        }
    }
}

/// Writes `bytes` to `path` as a private file (0600), replacing it in one step.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let shown = path.display();
    if path.file_name().is_none() {
        return Err(Error::WorkspaceYaml(format!("--output {shown} is not a file name")).into());
    }
    crate::fsutil::replace_private(path, bytes).with_context(|| format!("cannot write {shown}"))
}
