//! `ohx log`: the verified history of a workspace, as the audit trail.

use anyhow::Result;
use serde_json::json;

use crate::domain::time::utc_time;
use crate::domain::Action;
use crate::error::Error;
use crate::output;
use crate::session::Session;

pub fn run(session: &mut Session) -> Result<()> {
    let slug = session.workspace_slug(None)?;
    let history = session
        .access
        .read(&slug, Action::ListConnections, |ws| Ok(ws.history()?))?
        .ok_or_else(|| Error::Unsigned(slug.clone()))?;
    if session.globals.json {
        let items: Vec<_> = history
            .events
            .iter()
            .map(|e| {
                json!({
                    "seq": e.seq,
                    "time": utc_time(e.timestamp),
                    "actor": e.actor,
                    "kind": e.kind,
                    "summary": e.summary,
                })
            })
            .collect();
        return output::json(&items);
    }
    let rows = history
        .events
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                utc_time(e.timestamp),
                e.actor.clone(),
                e.summary.clone(),
            ]
        })
        .collect();
    output::table(&["#", "TIME (UTC)", "WHO", "WHAT"], rows)
}
