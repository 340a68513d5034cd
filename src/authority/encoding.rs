//! The canonical byte encoding of log entries and cached states: fixed-width big-endian integers,
//! fixed-size byte arrays written as they are, and text as a 4-byte length followed by UTF-8.
//!
//! Every value has exactly one encoding and the reader refuses anything else (short input, bad
//! UTF-8, an unknown tag, trailing bytes), so what is signed and hashed is what is read back.

/// The longest text field accepted when reading (names, slugs and identifiers are far shorter).
const MAX_TEXT: usize = 4096;

#[derive(Default)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn new(magic: &[u8]) -> Writer {
        Writer {
            bytes: magic.to_vec(),
        }
    }

    pub(crate) fn u8(&mut self, value: u8) -> &mut Self {
        self.bytes.push(value);
        self
    }

    pub(crate) fn u32(&mut self, value: u32) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u64(&mut self, value: u64) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn i64(&mut self, value: i64) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn raw(&mut self, value: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(value);
        self
    }

    /// A length-prefixed byte string (texts, and the record bytes a signature covers).
    pub(crate) fn bytes(&mut self, value: &[u8]) -> &mut Self {
        // Lengths above 4 GiB cannot occur: records and texts are checked long before this.
        self.u32(u32::try_from(value.len()).unwrap_or(u32::MAX));
        self.raw(value)
    }

    pub(crate) fn text(&mut self, value: &str) -> &mut Self {
        self.bytes(value.as_bytes())
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Why bytes did not decode; turned into an error naming the entry by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading after `magic`, which must be there.
    pub(crate) fn new(bytes: &'a [u8], magic: &[u8]) -> Result<Reader<'a>, Malformed> {
        let rest = bytes
            .strip_prefix(magic)
            .ok_or(Malformed("unknown format or version"))?;
        Ok(Reader { rest })
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(Malformed("cut short"))?;
        self.rest = rest;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, Malformed> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub(crate) fn text(&mut self) -> Result<String, Malformed> {
        let len = self.u32()? as usize;
        if len > MAX_TEXT || len > self.rest.len() {
            return Err(Malformed("a text field is too long"));
        }
        let (text, rest) = self.rest.split_at(len);
        self.rest = rest;
        String::from_utf8(text.to_vec()).map_err(|_| Malformed("a text field is not UTF-8"))
    }

    /// Ends reading; bytes left over mean the input was not what was signed.
    pub(crate) fn end(self) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed("trailing bytes"))
        }
    }
}
