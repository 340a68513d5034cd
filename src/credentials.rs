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
    /// `ohx run --native-for`: the connection (by index) whose type's native variables it alone
    /// gets; connections of other types keep theirs.
    pub only_for: Option<usize>,
    /// The key file written for each GCS connection (by index), when running a child.
    pub gcs_key_files: &'a BTreeMap<usize, PathBuf>,
}

/// The variables for `opened`, sorted by name. Two connections that give the same name different
/// values are an error naming both; a sensitive or malformed name is refused.
pub fn variables(opened: &[Opened], native: &Native<'_>) -> Result<Vec<EnvVar>> {
    let mut vars = Collected::default();
    for (index, connection) in opened.iter().enumerate() {
        let label = connection.label();
        let identifier = &connection.identifier;
        vars.add(
            env::prefix(identifier),
            connection.kind.as_str(),
            (&label, "type"),
            false,
        )?;
        for (code, value) in &connection.fields {
            let name = env::field_name(identifier, code);
            vars.add(name, value.expose_secret(), (&label, code), false)?;
        }
        if !native.enabled || !chooses_native(opened, native.only_for, index) {
            continue;
        }
        for (name, code) in native_names(connection.kind) {
            if let Some(value) = connection.value(code) {
                vars.add(name.to_string(), value, (&label, code), true)?;
            }
        }
        if let (ConnectionType::Gcs, Some(path)) =
            (connection.kind, native.gcs_key_files.get(&index))
        {
            let path = path.to_string_lossy();
            let origin = (label.as_str(), "service_account_key");
            vars.add("GOOGLE_APPLICATION_CREDENTIALS".into(), &path, origin, true)?;
        }
    }
    Ok(vars.by_name.into_values().collect())
}

/// Whether connection `index` gets the native variables of its type: always, unless
/// `--native-for` (`only_for`) chose another connection of the same type.
pub fn chooses_native(opened: &[Opened], only_for: Option<usize>, index: usize) -> bool {
    let Some(this) = opened.get(index) else {
        return false;
    };
    only_for
        .and_then(|i| opened.get(i))
        .is_none_or(|chosen| chosen.kind != this.kind || only_for == Some(index))
}

/// Variables by name, each once.
#[derive(Default)]
struct Collected {
    by_name: BTreeMap<String, EnvVar>,
}

impl Collected {
    /// Adds `name`; `(connection, field)` says where it comes from. Native names are ohx's own
    /// choice, so they skip the rule for names connections choose.
    fn add(&mut self, name: String, value: &str, from: (&str, &str), native: bool) -> Result<()> {
        let origin = format!("{} ({})", from.0, from.1);
        if !native {
            check_name(&name, &origin)?;
        }
        let Some(existing) = self.by_name.get(&name) else {
            let value = Secret::new(value.to_string());
            let var = EnvVar {
                name: name.clone(),
                value,
                origin,
            };
            self.by_name.insert(name, var);
            return Ok(());
        };
        if existing.value.expose_secret() == value {
            return Ok(());
        }
        let (first, second) = (existing.origin.clone(), origin);
        Err(if native {
            Error::NativeVariableClash {
                name,
                first,
                second,
            }
        } else {
            Error::VariableClash {
                name,
                first,
                second,
            }
        })
    }
}

/// The variables libpq and the AWS tools read, and the field each comes from.
pub fn native_names(kind: ConnectionType) -> &'static [(&'static str, &'static str)] {
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
