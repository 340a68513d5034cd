//! The store as a store writer sees it, on either engine: SQL on the SQLite file (rusqlite) or on
//! the PostgreSQL database (the `postgres` crate, plain TCP to the test server), with the same
//! `?N` placeholders and neutral values ([`V`]). Where the engines' SQL differs (planted schema
//! objects, whole-store copies), the handle offers one method per intent instead of dialect SQL
//! in the tests. The attack tests (`crate::authority`) tamper through it, so each attack runs on
//! both engines.

use std::collections::BTreeSet;
use std::error::Error as StdError;
use std::path::PathBuf;

use postgres::types::private::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use crate::harness::Env;
use crate::store_probe::{open_db, sidecar};

/// One value, as a parameter or as a cell read back.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl V {
    #[track_caller]
    pub fn int(&self) -> i64 {
        match self {
            V::Int(n) => *n,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    #[track_caller]
    pub fn text(&self) -> String {
        match self {
            V::Text(t) => t.clone(),
            other => panic!("expected text, got {other:?}"),
        }
    }

    #[track_caller]
    pub fn blob(&self) -> Vec<u8> {
        match self {
            V::Blob(b) => b.clone(),
            other => panic!("expected bytes, got {other:?}"),
        }
    }

    pub fn opt_int(&self) -> Option<i64> {
        match self {
            V::Null => None,
            v => Some(v.int()),
        }
    }

    pub fn opt_text(&self) -> Option<String> {
        match self {
            V::Null => None,
            v => Some(v.text()),
        }
    }

    pub fn opt_blob(&self) -> Option<Vec<u8>> {
        match self {
            V::Null => None,
            v => Some(v.blob()),
        }
    }
}

impl From<i64> for V {
    fn from(n: i64) -> V {
        V::Int(n)
    }
}

impl From<u32> for V {
    fn from(n: u32) -> V {
        V::Int(i64::from(n))
    }
}

impl From<&str> for V {
    fn from(t: &str) -> V {
        V::Text(t.to_string())
    }
}

impl From<String> for V {
    fn from(t: String) -> V {
        V::Text(t)
    }
}

impl From<&String> for V {
    fn from(t: &String) -> V {
        V::Text(t.clone())
    }
}

impl From<Vec<u8>> for V {
    fn from(b: Vec<u8>) -> V {
        V::Blob(b)
    }
}

impl From<&[u8]> for V {
    fn from(b: &[u8]) -> V {
        V::Blob(b.to_vec())
    }
}

impl From<&Vec<u8>> for V {
    fn from(b: &Vec<u8>) -> V {
        V::Blob(b.clone())
    }
}

/// `[v1, v2, ...]` as an array of [`V`].
macro_rules! vals {
    ($($v:expr),* $(,)?) => { [$(crate::store_sql::V::from($v)),*] };
}
pub(crate) use vals;

impl rusqlite::ToSql for V {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            V::Null => ValueRef::Null,
            V::Int(n) => ValueRef::Integer(*n),
            V::Text(t) => ValueRef::Text(t.as_bytes()),
            V::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// Bound as the type the server inferred for the parameter, as ohx's own engine does.
impl ToSql for V {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            V::Null => Ok(IsNull::Yes),
            V::Int(n) if *ty == Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
            V::Int(n) if *ty == Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
            V::Int(n) if *ty == Type::BOOL => (*n != 0).to_sql(ty, out),
            V::Int(n) => n.to_sql(ty, out),
            V::Text(t) => t.as_str().to_sql(ty, out),
            V::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A cell of a PostgreSQL row, read by its column type.
fn pg_cell(row: &postgres::Row, i: usize) -> V {
    let ty = row.columns()[i].type_().clone();
    let cell = if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i).map(|v| v.map(V::Int))
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)
            .map(|v| v.map(|n| V::Int(n.into())))
    } else if ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)
            .map(|v| v.map(|n| V::Int(n.into())))
    } else if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)
            .map(|v| v.map(|b| V::Int(b.into())))
    } else if ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i).map(|v| v.map(V::Blob))
    } else {
        row.try_get::<_, Option<String>>(i).map(|v| v.map(V::Text))
    };
    cell.unwrap_or_else(|e| panic!("cannot read column {i} ({ty}): {e}"))
        .unwrap_or(V::Null)
}

fn sqlite_cell(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<V> {
    use rusqlite::types::Value;
    Ok(match row.get::<_, Value>(i)? {
        Value::Null => V::Null,
        Value::Integer(n) => V::Int(n),
        Value::Real(r) => V::Text(r.to_string()),
        Value::Text(t) => V::Text(t),
        Value::Blob(b) => V::Blob(b),
    })
}

/// `?1`, `?2`, ... as PostgreSQL's `$1`, `$2`, ... (the tests' SQL has no `?` inside quotes).
fn numbered(sql: &str) -> String {
    sql.replace('?', "$")
}

/// The store's tables, parents before children: the order rows go back in.
pub const TABLES: [&str; 7] = [
    "users",
    "workspaces",
    "memberships",
    "connections",
    "fields",
    "authority_log",
    "openhexa_sync",
];

/// The URL of `env`'s PostgreSQL store, if its commands use one.
pub fn postgres_url(env: &Env) -> Option<String> {
    let url = env.var("OHX_STORE")?.to_str()?.to_string();
    (url.starts_with("postgresql:") || url.starts_with("postgres:")).then_some(url)
}

/// An open store, as someone who can write it (and holds no ohx identity) has it.
pub enum StoreSql {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl StoreSql {
    /// Opens `env`'s store: its PostgreSQL database when `OHX_STORE` names one, else the
    /// default SQLite file. Foreign keys are enforced on both (PostgreSQL always does).
    #[track_caller]
    pub fn open(env: &Env) -> StoreSql {
        match postgres_url(env) {
            Some(url) => {
                let server =
                    crate::team_store::plain_server().expect("a PostgreSQL store without a server");
                let mut config: postgres::Config = url
                    .parse()
                    .unwrap_or_else(|e| panic!("cannot parse {url}: {e}"));
                config.password(&server.password);
                let client = config
                    .connect(postgres::NoTls)
                    .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
                StoreSql::Postgres(client)
            }
            None => {
                let db = open_db(&env.store());
                db.execute_batch("PRAGMA foreign_keys = ON")
                    .expect("foreign keys on");
                StoreSql::Sqlite(db)
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, StoreSql::Postgres(_))
    }

    /// Runs statements without parameters, written in SQL both engines take.
    #[track_caller]
    pub fn batch(&mut self, sql: &str) {
        let done = match self {
            StoreSql::Sqlite(db) => db.execute_batch(sql).map_err(|e| e.to_string()),
            StoreSql::Postgres(client) => client.batch_execute(sql).map_err(|e| e.to_string()),
        };
        done.unwrap_or_else(|e| panic!("`{sql}` failed: {e}"));
    }

    /// Runs one statement with `?N` parameters; returns the number of rows it changed.
    #[track_caller]
    pub fn execute(&mut self, sql: &str, params: &[V]) -> u64 {
        let done = match self {
            StoreSql::Sqlite(db) => db
                .execute(sql, rusqlite::params_from_iter(params.iter()))
                .map(|n| n as u64)
                .map_err(|e| e.to_string()),
            StoreSql::Postgres(client) => {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                client
                    .execute(&numbered(sql), &refs)
                    .map_err(|e| e.to_string())
            }
        };
        done.unwrap_or_else(|e| panic!("`{sql}` failed: {e}"))
    }

    /// Every row of a query with `?N` parameters, each as its cells.
    #[track_caller]
    pub fn rows(&mut self, sql: &str, params: &[V]) -> Vec<Vec<V>> {
        let done = match self {
            StoreSql::Sqlite(db) => (|| {
                let mut stmt = db.prepare(sql)?;
                let n = stmt.column_count();
                let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    (0..n).map(|i| sqlite_cell(r, i)).collect()
                })?;
                rows.collect::<rusqlite::Result<Vec<Vec<V>>>>()
            })()
            .map_err(|e| e.to_string()),
            StoreSql::Postgres(client) => {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                client
                    .query(&numbered(sql), &refs)
                    .map(|rows| {
                        rows.iter()
                            .map(|r| (0..r.len()).map(|i| pg_cell(r, i)).collect())
                            .collect()
                    })
                    .map_err(|e| e.to_string())
            }
        };
        done.unwrap_or_else(|e| panic!("`{sql}` failed: {e}"))
    }

    /// The one row of a query, if any.
    #[track_caller]
    pub fn row(&mut self, sql: &str, params: &[V]) -> Option<Vec<V>> {
        let mut rows = self.rows(sql, params);
        assert!(rows.len() <= 1, "`{sql}` gave {} rows", rows.len());
        rows.pop()
    }

    /// The single integer a query returns.
    #[track_caller]
    pub fn query_i64(&mut self, sql: &str, params: &[V]) -> i64 {
        self.row(sql, params)
            .unwrap_or_else(|| panic!("`{sql}` gave no row"))[0]
            .int()
    }

    /// The first column of every row of a query, as bytes.
    #[track_caller]
    pub fn query_blobs(&mut self, sql: &str, params: &[V]) -> Vec<Vec<u8>> {
        self.rows(sql, params).iter().map(|r| r[0].blob()).collect()
    }

    // -----------------------------------------------------------------------------------------
    // Rows copied out and put back
    // -----------------------------------------------------------------------------------------

    /// Every column of the rows of `table` matching `filter` (SQL after `WHERE`, `?N` params).
    #[track_caller]
    pub fn copy_rows(&mut self, table: &str, filter: &str, params: &[V]) -> Vec<Vec<V>> {
        self.rows(&format!("SELECT * FROM {table} WHERE {filter}"), params)
    }

    /// Inserts rows copied by [`StoreSql::copy_rows`] back into `table`, every column as it was.
    #[track_caller]
    pub fn put_rows(&mut self, table: &str, rows: &[Vec<V>]) {
        for row in rows {
            let marks: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
            self.execute(
                &format!("INSERT INTO {table} VALUES ({})", marks.join(", ")),
                row,
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // Whole-store copies
    // -----------------------------------------------------------------------------------------

    /// Writes everything still in SQLite's WAL into the main file and closes, so the main file
    /// is the whole store. A database has nothing of the kind: there it only closes.
    #[track_caller]
    pub fn checkpoint(self) {
        if let StoreSql::Sqlite(db) = self {
            db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .expect("checkpoint");
            db.close().map_err(|(_, e)| e).expect("close");
        }
    }

    /// The schema objects a store writer could plant beside ohx's tables: (kind, name) of every
    /// table, view, index, trigger and function of the current schema.
    #[track_caller]
    pub fn schema_objects(&mut self) -> BTreeSet<(String, String)> {
        let sql = if self.is_postgres() {
            "SELECT c.relkind::text, c.relname::text FROM pg_class c
             WHERE c.relnamespace = current_schema()::regnamespace
             UNION ALL SELECT 'trigger', t.tgname::text FROM pg_trigger t
             JOIN pg_class c ON c.oid = t.tgrelid
             WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
             UNION ALL SELECT 'function', p.proname::text FROM pg_proc p
             WHERE p.pronamespace = current_schema()::regnamespace"
        } else {
            "SELECT type, name FROM sqlite_master"
        };
        self.rows(sql, &[])
            .into_iter()
            .map(|r| (r[0].text(), r[1].text()))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// A copy of the whole store, to put back later (a rollback)
// ---------------------------------------------------------------------------------------------

/// The whole store at one moment: the SQLite file and its companions (`-wal`, `-shm`,
/// `-journal`) as bytes, or every row of every table of the database. Put back, it is the store
/// as it was then; compared with a later copy, it tells whether anything changed.
#[derive(PartialEq)]
pub enum Snapshot {
    Files(Vec<(PathBuf, Option<Vec<u8>>)>),
    Tables {
        /// (table, its rows sorted), for every table in [`TABLES`].
        rows: Vec<(String, Vec<Vec<V>>)>,
        schema: BTreeSet<(String, String)>,
    },
}

impl Snapshot {
    /// Copies `env`'s store as it lies now (on SQLite, with whatever its `-wal` holds).
    #[track_caller]
    pub fn take(env: &Env) -> Snapshot {
        if postgres_url(env).is_none() {
            let store = env.store();
            return Snapshot::Files(
                ["", "-wal", "-shm", "-journal"]
                    .iter()
                    .map(|suffix| {
                        let path = sidecar(&store, suffix);
                        let bytes = std::fs::read(&path).ok();
                        (path, bytes)
                    })
                    .collect(),
            );
        }
        let mut db = StoreSql::open(env);
        let rows = TABLES
            .iter()
            .map(|table| {
                let mut rows = db.copy_rows(table, "TRUE", &[]);
                rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
                (table.to_string(), rows)
            })
            .collect();
        let schema = db.schema_objects();
        Snapshot::Tables { rows, schema }
    }

    /// Puts the store back as it was when copied: the files (removing those that did not
    /// exist), or every table's rows (the database's own restore of an old dump).
    #[track_caller]
    pub fn restore(&self, env: &Env) {
        match self {
            Snapshot::Files(files) => {
                for (path, bytes) in files {
                    match bytes {
                        Some(bytes) => std::fs::write(path, bytes).expect("put back a store file"),
                        None => {
                            let _ = std::fs::remove_file(path);
                        }
                    }
                }
            }
            Snapshot::Tables { rows, .. } => {
                let mut db = StoreSql::open(env);
                db.batch(&format!("BEGIN; TRUNCATE {}", TABLES.join(", ")));
                for (table, rows) in rows {
                    db.put_rows(table, rows);
                }
                db.batch("COMMIT");
            }
        }
    }

    /// What differs between this copy and `later`, one line per file or table, for a report.
    pub fn differences(&self, later: &Snapshot) -> Vec<String> {
        match (self, later) {
            (Snapshot::Files(was), Snapshot::Files(is)) => was
                .iter()
                .zip(is)
                .filter(|((_, a), (_, b))| a != b)
                .map(|((path, a), (_, b))| {
                    let size = |b: &Option<Vec<u8>>| match b {
                        Some(bytes) => format!("{} bytes", bytes.len()),
                        None => "absent".to_string(),
                    };
                    format!("{} was {}, is {}", path.display(), size(a), size(b))
                })
                .collect(),
            (Snapshot::Tables { rows: a, schema: s }, Snapshot::Tables { rows: b, schema: t }) => {
                let mut found: Vec<String> = a
                    .iter()
                    .zip(b)
                    .filter(|((_, x), (_, y))| x != y)
                    .map(|((table, x), (_, y))| {
                        format!("table {table} had {} rows, has {}", x.len(), y.len())
                    })
                    .collect();
                if s != t {
                    found.push(format!("the schema was {s:?}, is {t:?}"));
                }
                found
            }
            _ => vec!["the store changed engine".to_string()],
        }
    }
}
