//! The PostgreSQL engine: the store's `?N` placeholders rewritten to `$N`, a statement sent with
//! its parameters' types the first time and prepared and cached when it runs again, parameters
//! bound as the type the server expects, and cells read by column type. Transactions are begun
//! and ended by the store (`store::postgres`). A connection is either this process's own or one
//! held by `ohx store hold` (`store::relay`), which runs the very same statements on its side.

use std::collections::HashMap;

use postgres::types::private::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, Row, Statement};

use super::value::{Cell, OwnedCell, Param, Value};
use super::RowInner;
use crate::error::{DbFault, Error};
use crate::store::relay::Held;

/// One connection to the server: this process's own, or one that `ohx store hold` keeps open.
pub struct PgConn {
    link: Link,
}

enum Link {
    // Boxed: a client with its statement cache is ten times the size of a socket.
    Own(Box<Own>),
    Held(Held),
}

/// A connection of this process, with the statements prepared on it.
pub struct Own {
    client: Client,
    statements: HashMap<String, Statement>,
    /// Statements run once without preparing: the second run prepares them.
    seen: std::collections::HashSet<String>,
}

/// The rows of one query, as the connection returned them.
pub enum PgRows {
    Own(Vec<Row>),
    Held(Vec<Vec<OwnedCell>>),
}

impl PgRows {
    pub(super) fn first(&self) -> Option<RowInner<'_>> {
        match self {
            PgRows::Own(rows) => rows.first().map(RowInner::Postgres),
            PgRows::Held(rows) => rows.first().map(|r| RowInner::Held(r)),
        }
    }

    pub(super) fn each(&self) -> Box<dyn Iterator<Item = RowInner<'_>> + '_> {
        match self {
            PgRows::Own(rows) => Box::new(rows.iter().map(RowInner::Postgres)),
            PgRows::Held(rows) => Box::new(rows.iter().map(|r| RowInner::Held(r))),
        }
    }

    /// Every cell, owned, as the connection holder sends them on.
    pub fn into_owned(self) -> Vec<Vec<OwnedCell>> {
        match self {
            PgRows::Held(rows) => rows,
            PgRows::Own(rows) => rows
                .iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| {
                            cell(row, i, |c| Ok(OwnedCell::from_cell(c)))
                                .unwrap_or_else(OwnedCell::Unreadable)
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

impl PgConn {
    pub fn new(client: Client) -> PgConn {
        PgConn {
            link: Link::Own(Box::new(Own {
                client,
                statements: HashMap::new(),
                seen: std::collections::HashSet::new(),
            })),
        }
    }

    /// A connection that `ohx store hold` keeps open, reached through its socket.
    pub fn held(held: Held) -> PgConn {
        PgConn {
            link: Link::Held(held),
        }
    }

    /// Runs statements given as text without parameters (transaction control, DDL).
    pub fn batch(&mut self, sql: &str) -> Result<(), Error> {
        match &mut self.link {
            Link::Own(own) => own.client.batch_execute(sql).map_err(Error::from),
            Link::Held(held) => held.batch(sql),
        }
    }

    /// Begins a transaction with `sql`. On a held connection it goes with the transaction's first
    /// statement, one round trip fewer; a failure to begin is then that statement's failure.
    pub fn begin(&mut self, sql: &str) -> Result<(), Error> {
        match &mut self.link {
            Link::Own(own) => own.client.batch_execute(sql).map_err(Error::from),
            Link::Held(held) => {
                held.defer(sql);
                Ok(())
            }
        }
    }

    /// Commits a read-only transaction. On a held connection the `COMMIT` is sent at once but its
    /// answer read only with the next one: committing a read changes nothing, and no transaction
    /// is left open on the server while the command goes on (`ohx run` may run for hours).
    pub fn end_read(&mut self) -> Result<(), Error> {
        match &mut self.link {
            Link::Own(own) => own.client.batch_execute("COMMIT").map_err(Error::from),
            Link::Held(held) => held.commit_unanswered(),
        }
    }

    pub fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, Error> {
        match &mut self.link {
            Link::Own(own) => own.execute(sql, params),
            Link::Held(held) => held.execute(sql, params),
        }
    }

    pub fn query(&mut self, sql: &str, params: &[&dyn Param]) -> Result<PgRows, Error> {
        match &mut self.link {
            Link::Own(own) => own.query(sql, params).map(PgRows::Own),
            Link::Held(held) => held.query(sql, params).map(PgRows::Held),
        }
    }

    /// Whether the connection to the server (or to its holder) is gone.
    pub fn is_closed(&self) -> bool {
        match &self.link {
            Link::Own(own) => own.client.is_closed(),
            Link::Held(held) => held.is_closed(),
        }
    }
}

/// How a statement is sent. Most commands run each statement once, and preparing costs a round
/// trip of its own (BENCHMARKS.md: a third of a command's round trips on PostgreSQL), so the
/// first run sends the parameters' types with the statement instead; one run again (a rotation's
/// statement per secret) is prepared and cached. A NULL parameter has no type of its own to send,
/// so a statement with one is always prepared, and the server infers it.
enum Plan<'a> {
    Typed(Vec<(&'a (dyn ToSql + Sync), Type)>),
    Prepared(Statement, Vec<&'a (dyn ToSql + Sync)>),
}

impl Own {
    fn plan<'a>(&mut self, sql: &str, bound: &'a [Bound<'a>]) -> Result<Plan<'a>, Error> {
        let cached = self.statements.contains_key(sql);
        if !cached && !self.seen.contains(sql) {
            if let Some(typed) = typed(bound) {
                self.seen.insert(sql.to_string());
                return Ok(Plan::Typed(typed));
            }
        }
        Ok(Plan::Prepared(self.statement(sql)?, as_sql(bound)))
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&numbered_placeholders(sql))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, Error> {
        let bound = bind(params);
        Ok(match self.plan(sql, &bound)? {
            Plan::Typed(typed) => self
                .client
                .execute_typed(&numbered_placeholders(sql), &typed)?,
            Plan::Prepared(statement, params) => self.client.execute(&statement, &params)?,
        })
    }

    fn query(&mut self, sql: &str, params: &[&dyn Param]) -> Result<Vec<Row>, Error> {
        let bound = bind(params);
        Ok(match self.plan(sql, &bound)? {
            Plan::Typed(typed) => self
                .client
                .query_typed(&numbered_placeholders(sql), &typed)?,
            Plan::Prepared(statement, params) => self.client.query(&statement, &params)?,
        })
    }
}

/// `?1`, `?2`, ... as PostgreSQL's `$1`, `$2`, ...; text inside single quotes is left alone.
pub fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => quoted = !quoted,
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[derive(Debug)]
struct Bound<'a>(Value<'a>);

impl ToSql for Bound<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(n)?.to_sql(ty, out),
                Type::BOOL => (n != 0).to_sql(ty, out),
                _ => Err(format!("an integer given for a parameter of type {ty}").into()),
            },
            Value::Text(s) => s.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
        }
    }

    // The type is checked in `to_sql`, against the value actually given.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn bind<'a>(params: &'a [&'a dyn Param]) -> Vec<Bound<'a>> {
    params.iter().map(|p| Bound(p.value())).collect()
}

/// The parameters with the types ohx's columns have for them (integers are BIGINT, text TEXT,
/// bytes BYTEA everywhere in the schema); `None` when one is NULL.
fn typed<'a>(bound: &'a [Bound<'a>]) -> Option<Vec<(&'a (dyn ToSql + Sync), Type)>> {
    bound
        .iter()
        .map(|b| {
            let ty = match b.0 {
                Value::Null => return None,
                Value::Int(_) => Type::INT8,
                Value::Text(_) => Type::TEXT,
                Value::Blob(_) => Type::BYTEA,
            };
            Some((b as &(dyn ToSql + Sync), ty))
        })
        .collect()
}

fn as_sql<'a>(bound: &'a [Bound<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect()
}

/// Reads column `index` of `row` as a neutral cell and hands it to `read`.
pub fn cell<T>(
    row: &Row,
    index: usize,
    read: impl FnOnce(Cell<'_>) -> Result<T, String>,
) -> Result<T, String> {
    let column = row
        .columns()
        .get(index)
        .ok_or_else(|| format!("no column {index}"))?;
    let fail = |e: postgres::Error| e.to_string();
    let cell: Option<Cell<'_>> = match *column.type_() {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(index)
            .map_err(fail)?
            .map(Cell::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)
            .map_err(fail)?
            .map(|n| Cell::Int(n.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)
            .map_err(fail)?
            .map(|n| Cell::Int(n.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)
            .map_err(fail)?
            .map(|b| Cell::Int(b.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(index)
            .map_err(fail)?
            .map(Cell::Real),
        Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => row
            .try_get::<_, Option<&str>>(index)
            .map_err(fail)?
            .map(|s| Cell::Text(s.as_bytes())),
        Type::BYTEA => row
            .try_get::<_, Option<&[u8]>>(index)
            .map_err(fail)?
            .map(Cell::Blob),
        ref other => return Err(format!("a column of type {other}")),
    };
    read(cell.unwrap_or(Cell::Null))
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        use postgres::error::SqlState;
        let fault = match e.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::LOCK_NOT_AVAILABLE =>
            {
                DbFault::Locked
            }
            Some(c)
                if *c == SqlState::READ_ONLY_SQL_TRANSACTION
                    || *c == SqlState::INSUFFICIENT_PRIVILEGE =>
            {
                DbFault::ReadOnly
            }
            Some(c) if *c == SqlState::DISK_FULL => DbFault::DiskFull,
            Some(c) if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED => {
                DbFault::Damaged
            }
            Some(_) => DbFault::Other,
            // No SQL state: the connection failed or the server went away.
            None => DbFault::Io,
        };
        let detail = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        };
        Error::Database { fault, detail }
    }
}

#[cfg(test)]
mod tests {
    use super::numbered_placeholders;

    #[test]
    fn placeholders_are_numbered_outside_quotes_only() {
        assert_eq!(
            numbered_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
        assert_eq!(numbered_placeholders("SELECT '?' || ?"), "SELECT '?' || ?");
    }
}
