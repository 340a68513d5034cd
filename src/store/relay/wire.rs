//! What a client and the connection holder say to each other over its socket: length-prefixed
//! frames (a big-endian `u32`, then the bytes) holding one request or one reply each, in a small
//! tagged encoding of the engine layer's own values (docs/ARCHITECTURE.md, "Held connections").

use std::io::{Read, Write};

use crate::error::DbFault;
use crate::store::engine::{Datum, OwnedCell, Param, Value};

/// The largest frame either side accepts: a `connection list` of 100,000 rows is about 60 MB.
const MAX_FRAME: u32 = 1 << 30;

/// What a client asks of the holder. Statements are the engine layer's, with `?N` placeholders.
#[derive(Debug, PartialEq)]
pub enum Request {
    /// Statements without parameters (transaction control, DDL).
    Batch(String),
    /// A statement that returns no rows.
    Execute(String, Vec<Datum>),
    /// A statement whose rows are wanted.
    Query(String, Vec<Datum>),
    /// Who the holder is: its pid, the store, how long it stays idle before ending.
    Status,
    /// Stop holding: close the connections and end.
    Release,
    /// Statements without parameters to run first (a deferred `BEGIN`, the `COMMIT` of a read),
    /// then a request: two round trips in one. Its failure is the request's.
    After(String, Box<Request>),
}

/// The holder's answer to one request.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// The server (or the holder, connecting) failed: the same fault and message as a direct
    /// connection would have given.
    Failed(DbFault, String),
    Done,
    Changed(u64),
    Rows(Vec<Vec<OwnedCell>>),
    Status {
        pid: u32,
        store: String,
        idle_seconds: u64,
    },
}

pub fn write_frame(out: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|n| *n <= MAX_FRAME)
        .ok_or_else(|| std::io::Error::other("a frame too large for the connection holder"))?;
    // One write: the frame's two parts in one segment on the socket.
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    out.write_all(&frame)?;
    out.flush()
}

/// The next frame, or `None` when the other side closed the socket between frames.
pub fn read_frame(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len);
    if len > MAX_FRAME {
        return Err(std::io::Error::other(
            "a frame too large for the connection holder",
        ));
    }
    let mut payload = vec![0u8; len as usize];
    input.read_exact(&mut payload)?;
    Ok(Some(payload))
}

impl Request {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Request::Batch(sql) => {
                out.push(1);
                put_bytes(&mut out, sql.as_bytes());
            }
            Request::Execute(sql, params) | Request::Query(sql, params) => {
                let values: Vec<Value<'_>> = params.iter().map(Param::value).collect();
                return Request::encode_statement(matches!(self, Request::Query(..)), sql, &values);
            }
            Request::Status => out.push(4),
            Request::Release => out.push(5),
            Request::After(first, then) => return Request::after(first, &then.encode()),
        }
        out
    }

    /// `encoded`, a request already encoded, with `first` to run before it.
    pub fn after(first: &str, encoded: &[u8]) -> Vec<u8> {
        let mut out = vec![6];
        put_bytes(&mut out, first.as_bytes());
        out.extend_from_slice(encoded);
        out
    }

    /// Encodes a statement with its parameters straight from the engine layer's values.
    pub fn encode_statement(rows_wanted: bool, sql: &str, params: &[Value<'_>]) -> Vec<u8> {
        let mut out = vec![if rows_wanted { 3 } else { 2 }];
        put_bytes(&mut out, sql.as_bytes());
        put_u64(&mut out, params.len() as u64);
        for p in params {
            match *p {
                Value::Null => out.push(0),
                Value::Int(n) => {
                    out.push(1);
                    put_u64(&mut out, n as u64);
                }
                Value::Text(s) => {
                    out.push(3);
                    put_bytes(&mut out, s.as_bytes());
                }
                Value::Blob(b) => {
                    out.push(4);
                    put_bytes(&mut out, b);
                }
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Request, String> {
        let mut r = Reader { bytes, at: 0 };
        let request = match r.u8()? {
            1 => Request::Batch(r.text()?),
            tag @ (2 | 3) => {
                let sql = r.text()?;
                let count = r.count()?;
                let mut params = Vec::with_capacity(count.min(64));
                for _ in 0..count {
                    params.push(match r.u8()? {
                        0 => Datum::Null,
                        1 => Datum::Int(r.u64()? as i64),
                        3 => Datum::Text(r.text()?),
                        4 => Datum::Blob(r.bytes()?.to_vec()),
                        other => return Err(format!("a parameter of kind {other}")),
                    });
                }
                if tag == 2 {
                    Request::Execute(sql, params)
                } else {
                    Request::Query(sql, params)
                }
            }
            4 => Request::Status,
            5 => Request::Release,
            6 => {
                let first = r.text()?;
                let then = Request::decode(r.rest())?;
                if matches!(then, Request::After(..)) {
                    return Err("statements to run first, twice".into());
                }
                return Ok(Request::After(first, Box::new(then)));
            }
            other => return Err(format!("a request of kind {other}")),
        };
        r.end()?;
        Ok(request)
    }
}

impl Reply {
    /// What kind of reply this is, for a message about one that came out of turn (never its
    /// content: rows hold ciphertexts and signatures).
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Failed(..) => "a failure",
            Reply::Done => "done",
            Reply::Changed(_) => "a count of changed rows",
            Reply::Rows(_) => "rows",
            Reply::Status { .. } => "its status",
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Reply::Failed(fault, detail) => {
                out.push(0);
                out.push(fault_code(*fault));
                put_bytes(&mut out, detail.as_bytes());
            }
            Reply::Done => out.push(1),
            Reply::Changed(n) => {
                out.push(2);
                put_u64(&mut out, *n);
            }
            Reply::Rows(rows) => {
                out.push(3);
                put_u64(&mut out, rows.len() as u64);
                for row in rows {
                    put_u64(&mut out, row.len() as u64);
                    for cell in row {
                        put_cell(&mut out, cell);
                    }
                }
            }
            Reply::Status {
                pid,
                store,
                idle_seconds,
            } => {
                out.push(4);
                put_u64(&mut out, u64::from(*pid));
                put_bytes(&mut out, store.as_bytes());
                put_u64(&mut out, *idle_seconds);
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Reply, String> {
        let mut r = Reader { bytes, at: 0 };
        let reply = match r.u8()? {
            0 => {
                let fault = fault_of(r.u8()?);
                Reply::Failed(fault, r.text()?)
            }
            1 => Reply::Done,
            2 => Reply::Changed(r.u64()?),
            3 => {
                let count = r.count()?;
                let mut rows = Vec::with_capacity(count.min(1 << 16));
                for _ in 0..count {
                    let width = r.count()?;
                    let mut row = Vec::with_capacity(width.min(256));
                    for _ in 0..width {
                        row.push(r.cell()?);
                    }
                    rows.push(row);
                }
                Reply::Rows(rows)
            }
            4 => {
                let pid = u32::try_from(r.u64()?).map_err(|_| "a pid out of range")?;
                let store = r.text()?;
                Reply::Status {
                    pid,
                    store,
                    idle_seconds: r.u64()?,
                }
            }
            other => return Err(format!("a reply of kind {other}")),
        };
        r.end()?;
        Ok(reply)
    }
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_cell(out: &mut Vec<u8>, cell: &OwnedCell) {
    match cell {
        OwnedCell::Null => out.push(0),
        OwnedCell::Int(n) => {
            out.push(1);
            put_u64(out, *n as u64);
        }
        OwnedCell::Real(x) => {
            out.push(2);
            put_u64(out, x.to_bits());
        }
        OwnedCell::Text(t) => {
            out.push(3);
            put_bytes(out, t);
        }
        OwnedCell::Blob(b) => {
            out.push(4);
            put_bytes(out, b);
        }
        OwnedCell::Unreadable(why) => {
            out.push(5);
            put_bytes(out, why.as_bytes());
        }
    }
}

fn fault_code(fault: DbFault) -> u8 {
    match fault {
        DbFault::Locked => 1,
        DbFault::Damaged => 2,
        DbFault::ReadOnly => 3,
        DbFault::DiskFull => 4,
        DbFault::CannotOpen => 5,
        DbFault::Io => 6,
        DbFault::BadValue => 7,
        DbFault::Other => 8,
    }
}

fn fault_of(code: u8) -> DbFault {
    match code {
        1 => DbFault::Locked,
        2 => DbFault::Damaged,
        3 => DbFault::ReadOnly,
        4 => DbFault::DiskFull,
        5 => DbFault::CannotOpen,
        6 => DbFault::Io,
        7 => DbFault::BadValue,
        _ => DbFault::Other,
    }
}

/// Reads the encoding back, every length checked against what is left.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or("a message cut short")?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut n = [0u8; 8];
        n.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(n))
    }

    /// A count of items that follow, each at least one byte long.
    fn count(&mut self) -> Result<usize, String> {
        let n = self.u64()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.bytes.len() - self.at)
            .ok_or_else(|| "a count longer than the message".to_string())
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = usize::try_from(self.u64()?).map_err(|_| "a length out of range")?;
        self.take(n)
    }

    fn text(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "text that is not UTF-8".into())
    }

    fn cell(&mut self) -> Result<OwnedCell, String> {
        Ok(match self.u8()? {
            0 => OwnedCell::Null,
            1 => OwnedCell::Int(self.u64()? as i64),
            2 => OwnedCell::Real(f64::from_bits(self.u64()?)),
            3 => OwnedCell::Text(self.bytes()?.to_vec()),
            4 => OwnedCell::Blob(self.bytes()?.to_vec()),
            5 => OwnedCell::Unreadable(self.text()?),
            other => return Err(format!("a cell of kind {other}")),
        })
    }

    /// Everything not read yet.
    fn rest(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.at..];
        self.at = self.bytes.len();
        rest
    }

    fn end(&self) -> Result<(), String> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err("bytes after the end of a message".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_read_back_as_written() {
        let requests = [
            Request::Batch("BEGIN".into()),
            Request::Execute(
                "UPDATE t SET a = ?1 WHERE b = ?2".into(),
                vec![
                    Datum::Null,
                    Datum::Int(-7),
                    Datum::Text("é".into()),
                    Datum::Blob(vec![0, 255]),
                ],
            ),
            Request::Query("SELECT 1".into(), vec![]),
            Request::Status,
            Request::Release,
            Request::After(
                "COMMIT; BEGIN".into(),
                Box::new(Request::Query("SELECT ?1".into(), vec![Datum::Int(1)])),
            ),
        ];
        for request in requests {
            assert_eq!(Request::decode(&request.encode()), Ok(request));
        }
        let replies = [
            Reply::Failed(DbFault::Locked, "could not serialize".into()),
            Reply::Done,
            Reply::Changed(3),
            Reply::Rows(vec![
                vec![
                    OwnedCell::Int(i64::MIN),
                    OwnedCell::Null,
                    OwnedCell::Real(0.5),
                ],
                vec![
                    OwnedCell::Text(b"x".to_vec()),
                    OwnedCell::Blob(vec![1]),
                    OwnedCell::Unreadable("a column of type oid".into()),
                ],
            ]),
            Reply::Status {
                pid: 42,
                store: "postgresql://ann@db/ohx".into(),
                idle_seconds: 600,
            },
        ];
        for reply in replies {
            assert_eq!(Reply::decode(&reply.encode()), Ok(reply));
        }
    }

    #[test]
    fn statements_encoded_from_values_are_the_requests_the_holder_reads() {
        let encoded =
            Request::encode_statement(true, "SELECT ?1, ?2", &[Value::Int(5), Value::Text("ws")]);
        assert_eq!(
            Request::decode(&encoded),
            Ok(Request::Query(
                "SELECT ?1, ?2".into(),
                vec![Datum::Int(5), Datum::Text("ws".into())]
            ))
        );
    }

    #[test]
    fn cut_or_padded_messages_are_refused() {
        let whole = Request::Query("SELECT ?1".into(), vec![Datum::Text("abc".into())]).encode();
        for cut in 0..whole.len() {
            assert!(Request::decode(&whole[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = whole.clone();
        padded.push(0);
        assert!(Request::decode(&padded).is_err());
        // A count claiming more items than bytes is refused before anything is allocated.
        let mut huge = vec![3];
        put_u64(&mut huge, u64::MAX);
        assert!(Reply::decode(&huge).is_err());
    }
}
