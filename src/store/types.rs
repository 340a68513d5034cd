//! How domain types are written to and read from columns: roles and connection types as their
//! names. A stored name ohx does not know (`mysql`, `owner`) fails the read as a bad value, which
//! the catalogue reports as a damaged store rather than a usage error.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::domain::{ConnectionType, Role};

impl ToSql for Role {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Role {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Role::from_stored(text).ok_or_else(|| unknown("role", text))
    }
}

impl ToSql for ConnectionType {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ConnectionType {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        ConnectionType::from_stored(text).ok_or_else(|| unknown("connection type", text))
    }
}

fn unknown(what: &str, text: &str) -> FromSqlError {
    let shown: String = text
        .chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect();
    FromSqlError::Other(format!("unknown {what} '{shown}'").into())
}
