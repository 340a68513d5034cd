//! Connections opened for use (`get`, `env`, `url`, `run`, `test`): every secret decrypted and the
//! whole record checked, for editors and admins, across several workspaces in one read
//! transaction, unwrapping each workspace key once. All or nothing.

use std::collections::BTreeMap;

use crate::store::engine::Db;

use super::fields::{self, Value};
use super::records;
use super::{Actor, After, Attempt, Workspace};
use crate::authority::Pins;
use crate::domain::{Action, ConnectionType, Secret};
use crate::error::Result;
use crate::store::connections;

/// One connection with every value in clear.
pub struct Opened {
    pub workspace: String,
    pub identifier: String,
    pub kind: ConnectionType,
    pub fields: Vec<(String, Secret)>,
}

impl Opened {
    pub fn value(&self, code: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, v)| v.expose_secret())
    }

    /// `workspace/identifier`, how messages name the connection.
    pub fn label(&self) -> String {
        format!("{}/{}", self.workspace, self.identifier)
    }
}

/// Opens each `(workspace, identifier)` in `wanted`, in order.
pub(super) fn open_all(
    tx: &Db<'_>,
    actor: &Actor,
    pins: &Pins,
    wanted: &[(String, String)],
) -> anyhow::Result<Attempt<(Vec<Opened>, Vec<After>)>> {
    let mut entered: BTreeMap<&str, Workspace<'_>> = BTreeMap::new();
    let mut opened = Vec::with_capacity(wanted.len());
    for (slug, id) in wanted {
        if !entered.contains_key(slug.as_str()) {
            let Some(ws) = Workspace::enter_or_race(tx, actor, pins, slug, Action::UseSecrets)?
            else {
                return Ok(Attempt::Raced);
            };
            entered.insert(slug, ws);
        }
        if let Some(ws) = entered.get(slug.as_str()) {
            opened.push(ws.open_for_use(id)?);
        }
    }
    let after = entered.values().map(After::of).collect();
    Ok(Attempt::Done((opened, after)))
}

impl Workspace<'_> {
    /// One connection with every secret decrypted. Each secret is opened first so a damaged one
    /// is named; then the whole record is checked. Nothing is returned before both pass.
    pub fn open_for_use(&self, id: &str) -> Result<Opened> {
        self.require(Action::UseSecrets)?;
        let key = self.key()?;
        let row = self.connection(id)?;
        let stored = connections::fields(self.tx, row.id)?;
        let record = records::record_bytes(self.row().id, &row, &stored);
        let fields = fields::open(Some(key), self.row(), &row, stored)?
            .into_iter()
            .map(|f| {
                let text = match f.value {
                    Value::Plain(v) => Secret::new(v),
                    Value::Secret(s) => s,
                    Value::Hidden => Secret::new(String::new()),
                };
                (f.code, text)
            })
            .collect();
        records::verify(self.tx, self.slug(), key, &row, &record)?;
        self.check_record_signature(&row, &record)?;
        Ok(Opened {
            workspace: self.slug().into(),
            identifier: row.slug,
            kind: row.kind,
            fields,
        })
    }
}
