//! The holder process (`ohx store-relay`, started by `ohx store hold`): it connects, listens on
//! its socket, and gives each command that attaches one connection of its own for as long as the
//! command stays attached, running the command's statements on it as they come. A connection
//! whose command left is rolled back and kept for the next one; one the server dropped is
//! replaced, silently when nothing had been asked of it yet.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::wire::{read_frame, write_frame, Reply, Request};
use crate::error::{DbFault, Error};
use crate::runtime_socket;
use crate::store::engine::{Datum, Param, PgConn};
use crate::store::postgres::{self, url::Target};

/// What the holder prints once it listens, or, when it cannot, why.
pub const READY: &str = "ready\n";
pub const FAILED: &str = "failed: ";

/// How often the holder checks that it is still wanted and its socket still there.
const TICK: Duration = Duration::from_millis(500);

/// How many unused connections it keeps; more commands at once get connections of their own,
/// closed when they are done.
const KEPT: usize = 4;

struct Holder {
    target: Target,
    idle: Duration,
    kept: Mutex<Vec<PgConn>>,
    attached: AtomicUsize,
    last_used: Mutex<Instant>,
    /// Asked to end, or replaced: accepts no one new and ends when the last command leaves.
    retiring: AtomicBool,
}

/// The holder itself; returns when it ends. Connecting fails before it listens, and says why
/// on stdout for `ohx store hold` to show.
pub fn serve(socket: &Path, target: Target, idle: Duration) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout();
    let first = match postgres::connect_own(&target) {
        Ok(conn) => conn,
        Err(e) => {
            let message = crate::error::render(&anyhow::Error::from(e));
            let _ = writeln!(out, "{FAILED}{}", message.replace('\n', " "));
            return Ok(());
        }
    };
    // A holder already there sees its socket replaced and retires.
    let (listener, inode) = runtime_socket::bind(socket)?;
    out.write_all(READY.as_bytes())?;
    out.flush()?;

    let holder = Arc::new(Holder {
        target,
        idle,
        kept: Mutex::new(vec![first]),
        attached: AtomicUsize::new(0),
        last_used: Mutex::new(Instant::now()),
        retiring: AtomicBool::new(false),
    });
    watch(holder.clone(), socket.to_path_buf(), inode);
    for stream in listener.incoming() {
        // A command that reached the socket before it was removed is served even by a holder
        // that retires: it must not fail for having come a moment late.
        let Ok(stream) = stream else { continue };
        if !runtime_socket::peer_is_me(&stream) {
            continue;
        }
        holder.attached.fetch_add(1, Ordering::SeqCst);
        let holder = holder.clone();
        let socket = socket.to_path_buf();
        std::thread::spawn(move || {
            holder.session(stream, &socket, inode);
            *lock(&holder.last_used) = Instant::now();
            holder.attached.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// A mutex's value even when a thread panicked holding it: the values kept here (a list of
/// connections, an instant) are never left half-changed.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Ends the process when it has been unused for `idle`, when it retires and the last command
/// has left, or at once when its socket is gone (the runtime folder removed, say).
fn watch(holder: Arc<Holder>, socket: PathBuf, inode: u64) {
    std::thread::spawn(move || loop {
        std::thread::sleep(TICK);
        if !runtime_socket::is_ours(&socket, inode) {
            holder.retiring.store(true, Ordering::SeqCst);
        }
        let unused = holder.attached.load(Ordering::SeqCst) == 0;
        let idle_for = lock(&holder.last_used).elapsed();
        if unused && (holder.retiring.load(Ordering::SeqCst) || idle_for >= holder.idle) {
            runtime_socket::remove_if_ours(&socket, inode);
            std::process::exit(0);
        }
    });
}

impl Holder {
    fn take(&self) -> Result<PgConn, Error> {
        let kept = lock(&self.kept).pop();
        match kept {
            Some(conn) => Ok(conn),
            None => postgres::connect_own(&self.target),
        }
    }

    fn put_back(&self, mut conn: PgConn) {
        // Whatever the command left open ends here; a connection that cannot even roll back is
        // gone.
        if conn.batch("ROLLBACK").is_err() || conn.is_closed() {
            return;
        }
        let mut kept = lock(&self.kept);
        if kept.len() < KEPT {
            kept.push(conn);
        }
    }

    /// Serves one attached command until it leaves.
    fn session(&self, mut stream: UnixStream, socket: &Path, inode: u64) {
        let mut conn: Option<PgConn> = None;
        let mut first = true;
        while let Ok(Some(bytes)) = read_frame(&mut stream) {
            let request = Request::decode(&bytes);
            let reply = match request {
                Err(why) => Reply::Failed(DbFault::Other, format!("an unreadable request ({why})")),
                Ok(Request::Status) => Reply::Status {
                    pid: std::process::id(),
                    store: self.target.shown.clone(),
                    idle_seconds: self.idle.as_secs(),
                },
                Ok(Request::Release) => {
                    self.retiring.store(true, Ordering::SeqCst);
                    runtime_socket::remove_if_ours(socket, inode);
                    Reply::Done
                }
                Ok(statement) => {
                    let reply = self.run(&mut conn, &statement, first);
                    first = false;
                    reply
                }
            };
            if write_frame(&mut stream, &reply.encode()).is_err() {
                break;
            }
        }
        if let Some(conn) = conn {
            self.put_back(conn);
        }
    }

    /// Runs one statement on the session's connection, taking one first if needed. A kept
    /// connection that the server dropped meanwhile (restarted, an idle session ended) is
    /// replaced when it fails the session's very first statement: nothing had happened on it.
    fn run(&self, conn: &mut Option<PgConn>, statement: &Request, first: bool) -> Reply {
        let attempt = |conn: &mut Option<PgConn>| -> Result<Reply, Error> {
            if conn.is_none() {
                *conn = Some(self.take()?);
            }
            match conn {
                Some(c) => execute(c, statement),
                None => Err(Error::Database {
                    fault: DbFault::Io,
                    detail: "no connection".into(),
                }),
            }
        };
        let mut done = attempt(conn);
        if first && done.is_err() && conn.as_ref().is_none_or(PgConn::is_closed) {
            *conn = None;
            done = attempt(conn);
        }
        done.unwrap_or_else(|e| match e {
            Error::Database { fault, detail } => Reply::Failed(fault, detail),
            other => Reply::Failed(
                DbFault::Io,
                crate::error::render(&anyhow::Error::from(other)),
            ),
        })
    }
}

fn params(values: &[Datum]) -> Vec<&dyn Param> {
    values.iter().map(|d| d as &dyn Param).collect()
}

fn execute(conn: &mut PgConn, statement: &Request) -> Result<Reply, Error> {
    Ok(match statement {
        Request::After(first, then) => {
            conn.batch(first)?;
            return execute(conn, then);
        }
        Request::Batch(sql) => {
            conn.batch(sql)?;
            Reply::Done
        }
        Request::Execute(sql, values) => Reply::Changed(conn.execute(sql, &params(values))?),
        Request::Query(sql, values) => Reply::Rows(conn.query(sql, &params(values))?.into_owned()),
        Request::Status | Request::Release => Reply::Done,
    })
}
