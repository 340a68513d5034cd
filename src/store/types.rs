//! How domain types are written to and read from columns: roles and connection types as their
//! names. A stored name ohx does not know (`mysql`, `owner`) fails the read as a bad value, which
//! the catalogue reports as a damaged store rather than a usage error.

use super::engine::{Cell, FromCell, Param, Value};
use crate::domain::{ConnectionType, Role};

impl Param for Role {
    fn value(&self) -> Value<'_> {
        Value::Text(self.as_str())
    }
}

impl FromCell for Role {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        let text = cell.as_text()?;
        Role::from_stored(text).ok_or_else(|| unknown("role", text))
    }
}

impl Param for ConnectionType {
    fn value(&self) -> Value<'_> {
        Value::Text(self.as_str())
    }
}

impl FromCell for ConnectionType {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        let text = cell.as_text()?;
        ConnectionType::from_stored(text).ok_or_else(|| unknown("connection type", text))
    }
}

fn unknown(what: &str, text: &str) -> String {
    let shown: String = text
        .chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect();
    format!("unknown {what} '{shown}'")
}
