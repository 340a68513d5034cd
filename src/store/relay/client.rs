//! A command's end of a held connection: its statements sent to the holder and the replies read
//! back. A holder that is not there (no socket, a stale one, one not of this user) just means
//! "connect directly"; one that goes away in the middle of a command is a lost connection, told
//! as such by the store's transactions.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::wire::{read_frame, write_frame, Reply, Request};
use crate::error::{DbFault, Error};
use crate::store::engine::{OwnedCell, Param, Value};

/// How long `status` and `release` wait for a holder's answer.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);

/// One session with the holder: while it lasts, one of its connections is this command's alone.
pub struct Held {
    stream: UnixStream,
    socket: PathBuf,
    closed: bool,
    /// A `BEGIN` not sent yet: it goes with the transaction's first statement.
    deferred: String,
    /// Requests sent whose answers are still to be read (a read's `COMMIT`), before the next.
    unanswered: usize,
}

impl Held {
    /// A session with the holder listening on `socket`, if one of this user answers there.
    pub(super) fn attach(socket: &Path) -> Option<Held> {
        let stream = crate::runtime_socket::connect(socket)?;
        Some(Held {
            stream,
            socket: socket.to_path_buf(),
            closed: false,
            deferred: String::new(),
            unanswered: 0,
        })
    }

    /// One request outside any session (status, release); `None` when no holder answers.
    pub(super) fn ask(socket: &Path, request: &Request) -> Option<Reply> {
        let mut held = Held::attach(socket)?;
        // A holder that does not answer at once is as good as none for these.
        held.stream.set_read_timeout(Some(PATIENCE)).ok()?;
        held.call(&request.encode()).ok()
    }

    /// Sends one request (after the deferred `BEGIN`, in the same round trip) and reads its
    /// answer, after the answers still owed for earlier requests; the first of those that failed
    /// is this request's failure.
    fn call(&mut self, payload: &[u8]) -> Result<Reply, Error> {
        let prefixed;
        let payload = if self.deferred.is_empty() {
            payload
        } else {
            prefixed = Request::after(&std::mem::take(&mut self.deferred), payload);
            &prefixed
        };
        self.send(payload)?;
        let mut earlier = Ok(());
        while self.unanswered > 0 {
            self.unanswered -= 1;
            if let (Err(e), Ok(())) = (self.receive(), &earlier) {
                earlier = Err(e);
            }
        }
        let reply = self.receive();
        earlier.and(reply)
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), Error> {
        write_frame(&mut self.stream, payload).map_err(|e| self.lost(e.to_string()))
    }

    fn receive(&mut self) -> Result<Reply, Error> {
        let bytes = match read_frame(&mut self.stream) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Err(self.lost("it closed the connection".into())),
            Err(e) => return Err(self.lost(e.to_string())),
        };
        match Reply::decode(&bytes) {
            Ok(Reply::Failed(fault, detail)) => Err(Error::Database { fault, detail }),
            Ok(reply) => Ok(reply),
            Err(why) => Err(self.lost(format!("it answered something unreadable ({why})"))),
        }
    }

    /// Keeps `begin` to send with the next statement.
    pub fn defer(&mut self, begin: &str) {
        self.deferred = begin.to_string();
    }

    /// Commits a read-only transaction without waiting for the answer (see `unanswered`); one
    /// whose `BEGIN` was never sent has nothing to commit.
    pub fn commit_unanswered(&mut self) -> Result<(), Error> {
        if !self.deferred.is_empty() {
            self.deferred.clear();
            return Ok(());
        }
        self.send(&Request::Batch("COMMIT".into()).encode())?;
        self.unanswered += 1;
        Ok(())
    }

    fn lost(&mut self, why: String) -> Error {
        self.closed = true;
        Error::Database {
            fault: DbFault::Io,
            detail: format!(
                "the connection held by `ohx store hold` ({}) was lost: {why}",
                self.socket.display()
            ),
        }
    }

    fn unexpected(reply: &Reply) -> Error {
        Error::Database {
            fault: DbFault::Other,
            detail: format!(
                "the connection holder answered out of turn (with {})",
                reply.kind()
            ),
        }
    }

    pub fn batch(&mut self, sql: &str) -> Result<(), Error> {
        match self.call(&Request::Batch(sql.to_string()).encode())? {
            Reply::Done => Ok(()),
            other => Err(Held::unexpected(&other)),
        }
    }

    pub fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, Error> {
        let values: Vec<Value<'_>> = params.iter().map(|p| p.value()).collect();
        match self.call(&Request::encode_statement(false, sql, &values))? {
            Reply::Changed(n) => Ok(n),
            other => Err(Held::unexpected(&other)),
        }
    }

    pub fn query(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<Vec<Vec<OwnedCell>>, Error> {
        let values: Vec<Value<'_>> = params.iter().map(|p| p.value()).collect();
        match self.call(&Request::encode_statement(true, sql, &values))? {
            Reply::Rows(rows) => Ok(rows),
            other => Err(Held::unexpected(&other)),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }
}
