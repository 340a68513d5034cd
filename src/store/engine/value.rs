//! The neutral values that cross the engine layer: [`Value`] for parameters, [`Cell`] for what a
//! column holds. Integers are 64-bit and booleans are the integers 0 and 1 on every engine, so a
//! row reads the same whichever engine stored it.

/// A parameter of a query.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What one column of a result row holds. Text is bytes here: SQLite does not promise UTF-8 in a
/// file written outside ohx, and a type that wants text checks it.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// A Rust value that can be passed as a query parameter.
pub trait Param {
    fn value(&self) -> Value<'_>;
}

/// A Rust value that can be read from a column; the error says what was found instead.
pub trait FromCell: Sized {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String>;
}

impl Cell<'_> {
    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "null",
            Cell::Int(_) => "integer",
            Cell::Real(_) => "real",
            Cell::Text(_) => "text",
            Cell::Blob(_) => "blob",
        }
    }

    /// The text of a text cell.
    pub fn as_text(&self) -> Result<&str, String> {
        match self {
            Cell::Text(bytes) => {
                std::str::from_utf8(bytes).map_err(|e| format!("text that is not UTF-8 ({e})"))
            }
            other => Err(format!("expected text, found {}", other.kind())),
        }
    }

    fn as_int(&self) -> Result<i64, String> {
        match self {
            Cell::Int(n) => Ok(*n),
            other => Err(format!("expected an integer, found {}", other.kind())),
        }
    }
}

impl Param for i64 {
    fn value(&self) -> Value<'_> {
        Value::Int(*self)
    }
}

impl Param for u32 {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Param for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Param for str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl Param for &str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl Param for String {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl Param for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl Param for &[u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl Param for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl<T: Param> Param for Option<T> {
    fn value(&self) -> Value<'_> {
        match self {
            Some(v) => v.value(),
            None => Value::Null,
        }
    }
}

impl FromCell for i64 {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        cell.as_int()
    }
}

impl FromCell for u32 {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        let n = cell.as_int()?;
        u32::try_from(n).map_err(|_| format!("integer {n} out of range"))
    }
}

impl FromCell for bool {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        Ok(cell.as_int()? != 0)
    }
}

impl FromCell for String {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        cell.as_text().map(str::to_string)
    }
}

impl FromCell for Vec<u8> {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Blob(bytes) => Ok(bytes.to_vec()),
            other => Err(format!("expected a blob, found {}", other.kind())),
        }
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Null => Ok(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

/// A column's value, owned, whatever its type: what `ohx store copy` reads from one store and
/// writes to another without a Rust type per table. A real number is refused: no column of the
/// store holds one, so it was written outside ohx (and no parameter could carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datum {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl Datum {
    /// The value in a canonical byte form (a tag, a length, the bytes), the same whichever engine
    /// it was read from, for digests that compare two stores.
    pub fn canonical(&self, out: &mut Vec<u8>) {
        let (tag, bytes): (u8, &[u8]) = match self {
            Datum::Null => (0, &[]),
            Datum::Int(n) => {
                out.push(1);
                out.extend_from_slice(&n.to_be_bytes());
                return;
            }
            Datum::Text(s) => (2, s.as_bytes()),
            Datum::Blob(b) => (3, b),
        };
        out.push(tag);
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(bytes);
    }
}

impl Param for Datum {
    fn value(&self) -> Value<'_> {
        match self {
            Datum::Null => Value::Null,
            Datum::Int(n) => Value::Int(*n),
            Datum::Text(s) => Value::Text(s),
            Datum::Blob(b) => Value::Blob(b),
        }
    }
}

impl FromCell for Datum {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        Ok(match cell {
            Cell::Null => Datum::Null,
            Cell::Int(n) => Datum::Int(n),
            Cell::Text(_) => Datum::Text(cell.as_text()?.to_string()),
            Cell::Blob(b) => Datum::Blob(b.to_vec()),
            Cell::Real(_) => return Err("a real number, which ohx never stores".into()),
        })
    }
}

/// A cell read on one side of the connection holder (`store::relay`) and read on the other:
/// [`Cell`], owned. A column of a type ohx does not read arrives as `Unreadable`, an error only
/// when read, as reading it directly would be.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedCell {
    Null,
    Int(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
    Unreadable(String),
}

impl OwnedCell {
    pub fn from_cell(cell: Cell<'_>) -> OwnedCell {
        match cell {
            Cell::Null => OwnedCell::Null,
            Cell::Int(n) => OwnedCell::Int(n),
            Cell::Real(x) => OwnedCell::Real(x),
            Cell::Text(t) => OwnedCell::Text(t.to_vec()),
            Cell::Blob(b) => OwnedCell::Blob(b.to_vec()),
        }
    }

    /// The cell as [`Cell`], or why it cannot be read.
    pub fn as_cell(&self) -> Result<Cell<'_>, String> {
        Ok(match self {
            OwnedCell::Null => Cell::Null,
            OwnedCell::Int(n) => Cell::Int(*n),
            OwnedCell::Real(x) => Cell::Real(*x),
            OwnedCell::Text(t) => Cell::Text(t),
            OwnedCell::Blob(b) => Cell::Blob(b),
            OwnedCell::Unreadable(why) => return Err(why.clone()),
        })
    }
}
