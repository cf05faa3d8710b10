//! Spark's primitive encodings (`Encoders`): big-endian integers, length-prefixed strings and
//! byte arrays. Reading is bounds-checked and never panics.

use crate::error::InvalidMessage;

/// Reads primitives from a byte slice.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads from `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], InvalidMessage> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(InvalidMessage::Truncated)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, InvalidMessage> {
        Ok(self.take(1)?[0])
    }

    /// A Java `int`.
    pub fn i32(&mut self) -> Result<i32, InvalidMessage> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A Java `long`.
    pub fn i64(&mut self) -> Result<i64, InvalidMessage> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(a))
    }

    /// An `i32`-length-prefixed byte array.
    pub fn bytes(&mut self) -> Result<&'a [u8], InvalidMessage> {
        let len = self.i32()?;
        let len = usize::try_from(len).map_err(|_| InvalidMessage::NegativeLength(len))?;
        self.take(len)
    }

    /// An `i32`-length-prefixed UTF-8 string.
    pub fn string(&mut self) -> Result<String, InvalidMessage> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| InvalidMessage::NotUtf8)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// Fails if anything is left.
    pub fn finish(self) -> Result<(), InvalidMessage> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(InvalidMessage::TrailingBytes(self.buf.len() - self.pos))
        }
    }
}

/// Appends a Java `int`.
pub fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a Java `long`.
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends an `i32`-length-prefixed byte array.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_i32(out, len_i32(b.len()));
    out.extend_from_slice(b);
}

/// Appends an `i32`-length-prefixed UTF-8 string.
pub fn put_string(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

/// A length as Java `int`; lengths over 2 GiB cannot be expressed on Spark's wire.
pub fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
