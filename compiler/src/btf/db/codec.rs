//! The byte-level codec of the carried database: LEB128 varints, length-
//! prefixed strings, and a bounds-checked reader.

use crate::btf::error::BtfError;

/// Appends values to a byte buffer.
#[derive(Default)]
pub(crate) struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn varint(&mut self, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.bytes.push(byte);
                return;
            }
            self.bytes.push(byte | 0x80);
        }
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.varint(u64::from(value));
    }

    pub(crate) fn usize(&mut self, value: usize) {
        self.varint(value as u64);
    }

    pub(crate) fn byte(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub(crate) fn str(&mut self, text: &str) {
        self.usize(text.len());
        self.raw(text.as_bytes());
    }
}

/// Reads values back, failing (never panicking) on truncated or bad input.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn truncated(&self) -> BtfError {
        BtfError::database(format!("truncated at byte {}", self.at))
    }

    pub(crate) fn varint(&mut self) -> Result<u64, BtfError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at).ok_or_else(|| self.truncated())?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BtfError::database(format!(
            "varint too long at byte {}",
            self.at
        )))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, BtfError> {
        u32::try_from(self.varint()?)
            .map_err(|_| BtfError::database(format!("value too large at byte {}", self.at)))
    }

    pub(crate) fn usize(&mut self) -> Result<usize, BtfError> {
        usize::try_from(self.varint()?)
            .map_err(|_| BtfError::database(format!("value too large at byte {}", self.at)))
    }

    /// A count that must not exceed the bytes left (each element takes at
    /// least `min_bytes`), so corrupt input cannot ask for huge allocations.
    pub(crate) fn count(&mut self, min_bytes: usize) -> Result<usize, BtfError> {
        let count = self.usize()?;
        let left = self.bytes.len() - self.at;
        if count.saturating_mul(min_bytes.max(1)) > left {
            return Err(BtfError::database(format!(
                "count {count} at byte {} exceeds the data left",
                self.at
            )));
        }
        Ok(count)
    }

    pub(crate) fn byte(&mut self) -> Result<u8, BtfError> {
        let byte = *self.bytes.get(self.at).ok_or_else(|| self.truncated())?;
        self.at += 1;
        Ok(byte)
    }

    pub(crate) fn raw(&mut self, len: usize) -> Result<&'a [u8], BtfError> {
        let end = self.at.checked_add(len).ok_or_else(|| self.truncated())?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| self.truncated())?;
        self.at = end;
        Ok(slice)
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, BtfError> {
        let len = self.usize()?;
        let bytes = self.raw(len)?;
        std::str::from_utf8(bytes).map_err(|_| BtfError::database("string is not UTF-8"))
    }

    pub(crate) fn is_done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;

    #[test]
    fn varints_roundtrip() {
        let mut writer = Writer::default();
        for value in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            writer.varint(value);
        }
        writer.str("hello");
        let mut reader = Reader::new(&writer.bytes);
        for value in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(reader.varint().unwrap(), value);
        }
        assert_eq!(reader.str().unwrap(), "hello");
        assert!(reader.is_done());
    }

    #[test]
    fn truncation_is_an_error() {
        let mut reader = Reader::new(&[0x80]);
        assert!(reader.varint().is_err());
        let mut reader = Reader::new(&[5, b'a']);
        assert!(reader.str().is_err());
        let mut reader = Reader::new(&[100]);
        assert!(reader.count(1).is_err());
    }
}
