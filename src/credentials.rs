//! Credentials for use (`get`, `env`, `url`, `run`): connections looked up by reference, every
//! secret decrypted and checked, and turned into environment variables. All or nothing: any
//! failure fails the whole call before anything is printed or started.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::crypto::WorkspaceKey;
use crate::domain::{env, Action, ConnectionType};
use crate::error::Fail;
use crate::secrets::{self, split_reference, Value};
use crate::session::Session;
use crate::store::connections;

/// One connection with every value in clear.
pub struct Opened {
    pub workspace: String,
    pub identifier: String,
    pub kind: ConnectionType,
    pub fields: Vec<(String, Zeroizing<String>)>,
}

impl Opened {
    pub fn value(&self, code: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, v)| v.as_str())
    }

    /// `workspace/identifier`, how messages name the connection.
    pub fn label(&self) -> String {
        format!("{}/{}", self.workspace, self.identifier)
    }
}

/// Opens each referenced connection for use (editor or admin), in one read transaction, unwrapping
/// each workspace key once.
pub fn open_for_use(session: &mut Session, references: &[String]) -> Result<Vec<Opened>> {
    let mut wanted = Vec::with_capacity(references.len());
    for reference in references {
        let (ws_part, id) = split_reference(reference);
        wanted.push((session.workspace_slug(ws_part)?, id.to_string()));
    }
    let me = &session.me;
    session.store.read(|tx| -> Result<Vec<Opened>> {
        let mut keys: BTreeMap<String, (crate::store::workspaces::Workspace, WorkspaceKey)> =
            BTreeMap::new();
        let mut opened = Vec::with_capacity(wanted.len());
        for (ws_slug, id) in &wanted {
            if !keys.contains_key(ws_slug) {
                let m = me.membership(tx, ws_slug, Action::UseSecrets)?;
                let key = me.unlock(&m)?;
                keys.insert(ws_slug.clone(), (m.workspace, key));
            }
            let Some((ws, key)) = keys.get(ws_slug) else {
                continue;
            };
            let row = secrets::find(tx, ws, id)?;
            let kind = ConnectionType::parse(&row.kind)?;
            let stored = connections::fields(tx, row.id)?;
            // Each secret is opened first so a damaged one is named; then the whole record is
            // checked. Nothing is shown before both pass.
            let record = secrets::record_bytes(ws.id, &row, &stored);
            let fields = secrets::open(Some(key), ws, &row, stored)?
                .into_iter()
                .map(|f| {
                    let text = match f.value {
                        Value::Plain(v) => Zeroizing::new(v),
                        Value::Secret(s) => Zeroizing::new(s.expose_secret().to_string()),
                        Value::Hidden => Zeroizing::new(String::new()),
                    };
                    (f.code, text)
                })
                .collect();
            secrets::verify_bytes(tx, ws, key, &row, &record)?;
            opened.push(Opened {
                workspace: ws.slug.clone(),
                identifier: row.slug,
                kind,
                fields,
            });
        }
        Ok(opened)
    })
}

/// One environment variable and where it came from.
pub struct EnvVar {
    pub name: String,
    pub value: Zeroizing<String>,
    pub origin: String,
}

/// Which extra variables to add for the usual tools.
pub struct Native<'a> {
    pub enabled: bool,
    /// The key file written for each GCS connection (by index), when running a child.
    pub gcs_key_files: &'a BTreeMap<usize, PathBuf>,
}

/// The variables for `opened`, sorted by name. Two connections that give the same name different
/// values are an error naming both; a sensitive or malformed name is refused.
pub fn variables(opened: &[Opened], native: &Native<'_>) -> Result<Vec<EnvVar>> {
    let mut by_name: BTreeMap<String, EnvVar> = BTreeMap::new();
    for (index, connection) in opened.iter().enumerate() {
        let mut add = |name: String, value: &str, field: &str| -> Result<()> {
            let origin = format!("{} ({field})", connection.label());
            check_name(&name, &origin)?;
            if let Some(existing) = by_name.get(&name) {
                if existing.value.as_str() != value {
                    return Err(Fail::failure(format!(
                        "{} and {} both set {name} to different values",
                        existing.origin, origin
                    ))
                    .hint("export them separately, or give one connection another identifier")
                    .into());
                }
                return Ok(());
            }
            by_name.insert(
                name.clone(),
                EnvVar {
                    name,
                    value: Zeroizing::new(value.to_string()),
                    origin,
                },
            );
            Ok(())
        };
        add(
            env::prefix(&connection.identifier),
            connection.kind.as_str(),
            "type",
        )?;
        for (code, value) in &connection.fields {
            add(env::field_name(&connection.identifier, code), value, code)?;
        }
        if native.enabled {
            for (name, code) in native_names(connection.kind) {
                if let Some(value) = connection.value(code) {
                    add(name.to_string(), value, code)?;
                }
            }
            if let (ConnectionType::Gcs, Some(path)) =
                (connection.kind, native.gcs_key_files.get(&index))
            {
                add(
                    "GOOGLE_APPLICATION_CREDENTIALS".into(),
                    &path.to_string_lossy(),
                    "service_account_key",
                )?;
            }
        }
    }
    Ok(by_name.into_values().collect())
}

/// The variables libpq and the AWS tools read, and the field each comes from.
fn native_names(kind: ConnectionType) -> &'static [(&'static str, &'static str)] {
    match kind {
        ConnectionType::Postgresql => &[
            ("PGHOST", "host"),
            ("PGPORT", "port"),
            ("PGUSER", "username"),
            ("PGPASSWORD", "password"),
            ("PGDATABASE", "db_name"),
        ],
        ConnectionType::S3 => &[
            ("AWS_ACCESS_KEY_ID", "access_key_id"),
            ("AWS_SECRET_ACCESS_KEY", "access_key_secret"),
        ],
        _ => &[],
    }
}

fn check_name(name: &str, origin: &str) -> Result<()> {
    let well_formed = name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(
            Fail::failure(format!("{origin} gives the invalid variable name {name}")).into(),
        );
    }
    if env::is_sensitive(name) {
        return Err(Fail::failure(format!(
            "{origin} would set {name}, which changes how programs behave; refusing"
        ))
        .hint("rename the connection with a new identifier")
        .into());
    }
    Ok(())
}
