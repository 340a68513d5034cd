//! Connections as a workspace member sees them: listed, shown (checked first by key holders),
//! added, edited and deleted by admins, each write sealed and its record MAC renewed.

use super::authority::ConnectionChange;
use super::fields::{self, Field, Slot, Value};
use super::records;
use super::Workspace;
use crate::crypto::WorkspaceKey;
use crate::domain::{Action, ConnectionIdentifier, ConnectionType};
use crate::error::{Error, Result};
use crate::store::connections::{self, ConnectionRow};

/// A connection with its fields; secrets are decrypted only when revealed.
pub struct ConnectionView {
    pub row: ConnectionRow,
    pub fields: Vec<Field>,
}

/// A connection to add; `fields` are in display order.
pub struct NewConnection {
    pub identifier: ConnectionIdentifier,
    pub name: String,
    pub description: String,
    pub kind: ConnectionType,
    pub fields: Vec<(String, Value)>,
}

/// Changes to one connection; `None` keeps what is stored.
pub struct ConnectionEdit {
    /// A new identifier (`edit --slug`); every secret is sealed again to its new place.
    pub identifier: Option<ConnectionIdentifier>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub set: Vec<(String, Value)>,
    pub unset: Vec<String>,
}

impl Workspace<'_> {
    /// The connection `id`, or a not-found error naming it and the workspace.
    pub fn connection(&self, id: &str) -> Result<ConnectionRow> {
        connections::find(self.tx, self.row().id, id)?.ok_or_else(|| Error::NoSuchConnection {
            workspace: self.slug().into(),
            id: id.into(),
        })
    }

    /// The codes of a connection's fields and whether each is secret, for planning an edit.
    pub fn field_codes(&self, row: &ConnectionRow) -> Result<Vec<(String, bool)>> {
        Ok(connections::fields(self.tx, row.id)?
            .into_iter()
            .map(|f| (f.code, f.secret))
            .collect())
    }

    /// Calls `f` with each connection in identifier order, without holding them all in memory.
    pub fn each_connection(
        &self,
        f: impl FnMut(ConnectionRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        connections::each(self.tx, self.row().id, f)
    }

    pub fn connection_count(&self) -> Result<i64> {
        connections::count(self.tx, self.row().id)
    }

    /// One connection with its fields. Key holders check the record even when secrets stay
    /// masked, so an admin looking at a connection sees a host changed behind ohx's back;
    /// viewers hold no key to check with. `reveal` needs the right to use secrets.
    pub fn view(&self, id: &str, reveal: bool) -> Result<ConnectionView> {
        self.require(if reveal {
            Action::UseSecrets
        } else {
            Action::ShowFields
        })?;
        let row = self.connection(id)?;
        let stored = connections::fields(self.tx, row.id)?;
        let key = if self.role().holds_key() {
            Some(self.key()?)
        } else {
            None
        };
        let record = records::record_bytes(self.row().id, &row, &stored);
        let fields = fields::open(key.filter(|_| reveal), self.row(), &row, stored)?;
        if let Some(key) = key {
            records::verify(self.tx, self.slug(), key, &row, &record)?;
        }
        self.check_record_signature(&row, &record)?;
        Ok(ConnectionView { row, fields })
    }

    /// Adds a connection (admin); its identifier must be free in the workspace.
    pub fn add_connection(&self, new: &NewConnection) -> Result<()> {
        self.require(Action::ManageConnections)?;
        let key = self.key()?;
        let ws = self.row();
        if let Some(existing) = connections::find(self.tx, ws.id, &new.identifier)? {
            return Err(Error::IdentifierTaken {
                workspace: ws.slug.clone(),
                id: new.identifier.to_string(),
                name: existing.name,
                kind: existing.kind.to_string(),
            });
        }
        let id = connections::insert(
            self.tx,
            ws.id,
            &new.identifier,
            &new.name,
            &new.description,
            new.kind,
        )?;
        let recipient = self.sealing_recipient();
        for (position, (code, value)) in new.fields.iter().enumerate() {
            let slot = Slot {
                connection_id: id,
                connection_slug: &new.identifier,
                code,
                position: position as i64,
            };
            fields::store(self.tx, ws, &recipient, &slot, value)?;
        }
        self.seal(key, id, ConnectionChange::Created)
    }

    /// Renews connection `id`'s record MAC and signature after a change, and logs the change.
    fn seal(&self, key: &WorkspaceKey, id: i64, change: ConnectionChange) -> Result<()> {
        let Some(record) = records::reseal(self.tx, self.row().id, key, id)? else {
            return Ok(());
        };
        self.sign_record(id, &record)?;
        let identifier = connections::find_by_id(self.tx, id)?.map(|r| r.slug);
        self.log_connection(change, &identifier.unwrap_or_default(), &record)
    }

    /// Applies an edit (admin) to connection `id`, which must still be the row `expected` the
    /// caller planned the edit against. The record must pass its check first: an edit must not
    /// bless a record someone changed behind ohx's back.
    pub fn edit_connection(
        &self,
        id: &str,
        expected: &ConnectionRow,
        edit: &ConnectionEdit,
    ) -> Result<()> {
        self.require(Action::ManageConnections)?;
        let key = self.key()?;
        let ws = self.row();
        let current = self.connection(id)?;
        if current.id != expected.id {
            return Err(Error::ReplacedMeanwhile(id.into()));
        }
        let stored = connections::fields(self.tx, current.id)?;
        let record = records::record_bytes(ws.id, &current, &stored);
        records::verify(self.tx, self.slug(), key, &current, &record)?;
        self.check_record_signature(&current, &record)?;
        let recipient = self.sealing_recipient();
        // The secrets as they were, to tell a new value from the same one typed again.
        let before = fields::open(
            Some(key),
            ws,
            &current,
            connections::fields(self.tx, current.id)?,
        )?;
        let renamed = edit
            .identifier
            .as_ref()
            .filter(|new| new.to_string() != current.slug);
        let slug = match renamed {
            Some(new) => {
                // The log knows connections by identifier: the old one ends, the new one starts.
                self.log_connection(ConnectionChange::Deleted, &current.slug, &record)?;
                self.rename_connection(&current, new, &before, &recipient)?;
                new.to_string()
            }
            None => current.slug.clone(),
        };
        let existing: Vec<&str> = stored.iter().map(|f| f.code.as_str()).collect();
        for (offset, (code, value)) in edit.set.iter().enumerate() {
            let slot = Slot {
                connection_id: current.id,
                connection_slug: &slug,
                code,
                position: position_of(current.kind, &existing, code, offset),
            };
            fields::store(self.tx, ws, &recipient, &slot, value)?;
        }
        for code in &edit.unset {
            connections::remove_field(self.tx, current.id, code)?;
        }
        // The rotation mark clears once every secret that remains has a new value: one changed
        // password does not make another, possibly copied, secret safe, and the same value typed
        // again is not a new one.
        let old_value = |code: &str| {
            before
                .iter()
                .find(|f| f.code == code)
                .and_then(|f| match &f.value {
                    Value::Secret(s) => Some(s.expose_secret()),
                    _ => None,
                })
        };
        let replaced = |code: &str| {
            edit.set.iter().any(|(c, v)| {
                c == code
                    && matches!(v, Value::Secret(new) if old_value(code) != Some(new.expose_secret()))
            })
        };
        let stale_secret_left = stored
            .iter()
            .any(|f| f.secret && !edit.unset.contains(&f.code) && !replaced(&f.code));
        connections::update(
            self.tx,
            current.id,
            edit.name.as_deref().unwrap_or(&current.name),
            edit.description.as_deref().unwrap_or(&current.description),
            current.needs_rotation && stale_secret_left,
        )?;
        let change = if renamed.is_some() {
            ConnectionChange::Created
        } else {
            ConnectionChange::Edited
        };
        self.seal(key, current.id, change)
    }

    /// Gives a connection a new identifier, free in the workspace, and seals each of its secrets
    /// (`before`, already opened) again, since a sealed value is bound to its identifier.
    fn rename_connection(
        &self,
        current: &ConnectionRow,
        new: &ConnectionIdentifier,
        before: &[Field],
        recipient: &str,
    ) -> Result<()> {
        if let Some(existing) = connections::find(self.tx, self.row().id, new)? {
            return Err(Error::IdentifierTaken {
                workspace: self.slug().into(),
                id: new.to_string(),
                name: existing.name,
                kind: existing.kind.to_string(),
            });
        }
        connections::rename(self.tx, current.id, new)?;
        for (position, field) in before.iter().enumerate() {
            if !field.secret {
                continue;
            }
            // An existing field keeps its position: set_field changes only the value.
            let slot = Slot {
                connection_id: current.id,
                connection_slug: new,
                code: &field.code,
                position: position as i64,
            };
            fields::store(self.tx, self.row(), recipient, &slot, &field.value)?;
        }
        Ok(())
    }

    /// Deletes connection `id` (admin).
    pub fn delete_connection(&self, id: &str) -> Result<()> {
        self.require(Action::ManageConnections)?;
        let row = self.connection(id)?;
        let stored = connections::fields(self.tx, row.id)?;
        let record = records::record_bytes(self.row().id, &row, &stored);
        self.log_connection(ConnectionChange::Deleted, &row.slug, &record)?;
        connections::delete(self.tx, row.id)
    }
}

/// Where a field goes in display order: its schema position for typed connections, else where it
/// already is, else after the existing fields.
fn position_of(kind: ConnectionType, existing: &[&str], code: &str, offset: usize) -> i64 {
    let position = kind
        .fields()
        .iter()
        .position(|f| f.code == code)
        .or_else(|| existing.iter().position(|c| *c == code))
        .unwrap_or(existing.len() + offset);
    position as i64
}
