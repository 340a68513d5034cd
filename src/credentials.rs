//! Opened connections turned into environment variables, the OpenHEXA SDK's names plus the ones
//! the usual tools read. All or nothing: any failure fails the whole call before anything is
//! printed or started.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::access::Opened;
use crate::domain::{env, ConnectionType, Secret};
use crate::error::{Error, Result};

/// One environment variable and where it came from.
pub struct EnvVar {
    pub name: String,
    pub value: Secret,
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
                if existing.value.expose_secret() != value {
                    return Err(Error::VariableClash {
                        name,
                        first: existing.origin.clone(),
                        second: origin,
                    });
                }
                return Ok(());
            }
            by_name.insert(
                name.clone(),
                EnvVar {
                    name,
                    value: Secret::new(value.to_string()),
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
            add(
                env::field_name(&connection.identifier, code),
                value.expose_secret(),
                code,
            )?;
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
        return Err(Error::BadVariableName {
            origin: origin.into(),
            name: name.into(),
        });
    }
    if env::is_sensitive(name) {
        return Err(Error::SensitiveVariable {
            origin: origin.into(),
            name: name.into(),
        });
    }
    Ok(())
}
