//! A small, bounds-checked reader of the BTF wire format (`struct btf_header`,
//! the type section and the string section), with no `unsafe` and no copies.
//!
//! Decoding is lazy: [`RawBtf::parse`] makes one pass over the type section to
//! record where each type starts (4 bytes per type) and checks that every
//! record fits; everything else is read on demand from the original bytes.
//! Names are borrowed from the string section, never allocated.

use super::error::BtfError;

pub(crate) const KIND_INT: u32 = 1;
pub(crate) const KIND_PTR: u32 = 2;
pub(crate) const KIND_ARRAY: u32 = 3;
pub(crate) const KIND_STRUCT: u32 = 4;
pub(crate) const KIND_UNION: u32 = 5;
pub(crate) const KIND_ENUM: u32 = 6;
pub(crate) const KIND_FWD: u32 = 7;
pub(crate) const KIND_TYPEDEF: u32 = 8;
pub(crate) const KIND_VOLATILE: u32 = 9;
pub(crate) const KIND_CONST: u32 = 10;
pub(crate) const KIND_RESTRICT: u32 = 11;
pub(crate) const KIND_FUNC: u32 = 12;
pub(crate) const KIND_FUNC_PROTO: u32 = 13;
pub(crate) const KIND_VAR: u32 = 14;
pub(crate) const KIND_DATASEC: u32 = 15;
pub(crate) const KIND_FLOAT: u32 = 16;
pub(crate) const KIND_DECL_TAG: u32 = 17;
pub(crate) const KIND_TYPE_TAG: u32 = 18;
pub(crate) const KIND_ENUM64: u32 = 19;

const HEADER_MIN_LEN: usize = 24;
const TYPE_HEADER_LEN: usize = 12;

/// One BTF blob, held whole, with the start offset of every type.
pub(crate) struct RawBtf {
    data: Vec<u8>,
    big_endian: bool,
    strings: std::ops::Range<usize>,
    /// `type_starts[id]` is the byte offset of type `id` in `data`;
    /// index 0 (the implicit `void`) is unused.
    type_starts: Vec<u32>,
}

/// The common 12-byte header of a type record, decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypeHeader {
    pub name_off: u32,
    pub kind: u32,
    pub vlen: u32,
    pub kind_flag: bool,
    /// `size` for INT/ENUM/STRUCT/UNION/FLOAT/DATASEC, `type` otherwise.
    pub size_or_type: u32,
    /// Where the kind-specific data after the header starts.
    pub extra: usize,
}

impl RawBtf {
    /// Validates the header and indexes the type section.
    pub(crate) fn parse(data: Vec<u8>) -> Result<Self, BtfError> {
        if data.len() < HEADER_MIN_LEN {
            return Err(BtfError::malformed("shorter than the BTF header"));
        }
        let big_endian = match (data[0], data[1]) {
            (0x9f, 0xeb) => false,
            (0xeb, 0x9f) => true,
            _ => return Err(BtfError::malformed("bad magic")),
        };
        let read = |at: usize| read_u32(&data, at, big_endian);
        let hdr_len = read(4)? as usize;
        let type_off = read(8)? as usize;
        let type_len = read(12)? as usize;
        let str_off = read(16)? as usize;
        let str_len = read(20)? as usize;
        if hdr_len < HEADER_MIN_LEN {
            return Err(BtfError::malformed("header length below 24"));
        }
        let types = section_range(hdr_len, type_off, type_len, data.len(), "type")?;
        let strings = section_range(hdr_len, str_off, str_len, data.len(), "string")?;

        // A type section is roughly 20 bytes per type; reserving avoids regrowth.
        let mut type_starts = Vec::with_capacity(type_len / 20 + 1);
        type_starts.push(0);
        let mut at = types.start;
        while at < types.end {
            if at + TYPE_HEADER_LEN > types.end {
                return Err(BtfError::malformed(format!(
                    "type record at byte {at} runs past the type section"
                )));
            }
            let info = read_u32(&data, at + 4, big_endian)?;
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let extra = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                other => {
                    return Err(BtfError::malformed(format!(
                        "unknown type kind {other} at byte {at}"
                    )));
                }
            };
            let start =
                u32::try_from(at).map_err(|_| BtfError::malformed("BTF larger than 4 GiB"))?;
            type_starts.push(start);
            at += TYPE_HEADER_LEN + extra;
        }
        if at != types.end {
            return Err(BtfError::malformed(
                "last type record runs past the type section",
            ));
        }
        let raw = Self {
            data,
            big_endian,
            strings,
            type_starts,
        };
        if raw.strings.is_empty() || raw.data[raw.strings.start] != 0 {
            // Split BTF (module BTF) has a string section that continues the
            // base's and does not start with the empty string.
            return Err(BtfError::SplitBtf {
                what: "a BTF blob whose string section does not start with the empty string"
                    .to_string(),
            });
        }
        Ok(raw)
    }

    /// Number of type ids, counting the implicit `void` (id 0).
    pub(crate) fn type_count(&self) -> u32 {
        self.type_starts.len() as u32
    }

    /// The raw bytes this view reads from.
    pub(crate) fn byte_len(&self) -> usize {
        self.data.len()
    }

    pub(crate) fn u32_at(&self, at: usize) -> u32 {
        // Every offset handed to this was bounds-checked by `parse`.
        read_u32(&self.data, at, self.big_endian).unwrap_or(0)
    }

    /// Decodes the header of type `id`; `None` for `void` and unknown ids.
    pub(crate) fn header(&self, id: u32) -> Option<TypeHeader> {
        if id == 0 {
            return None;
        }
        let at = *self.type_starts.get(id as usize)? as usize;
        let name_off = self.u32_at(at);
        let info = self.u32_at(at + 4);
        Some(TypeHeader {
            name_off,
            kind: (info >> 24) & 0x1f,
            vlen: info & 0xffff,
            kind_flag: info >> 31 == 1,
            size_or_type: self.u32_at(at + 8),
            extra: at + TYPE_HEADER_LEN,
        })
    }

    /// The kind of type `id` without decoding the rest (0 for void/unknown).
    pub(crate) fn kind_of(&self, id: u32) -> u32 {
        match self.type_starts.get(id as usize) {
            Some(&at) if id != 0 => (self.u32_at(at as usize + 4) >> 24) & 0x1f,
            _ => 0,
        }
    }

    /// The name offset of type `id` (0, the empty name, for void/unknown).
    pub(crate) fn name_off_of(&self, id: u32) -> u32 {
        match self.type_starts.get(id as usize) {
            Some(&at) if id != 0 => self.u32_at(at as usize),
            _ => 0,
        }
    }

    /// The NUL-terminated string at `offset` of the string section, as bytes.
    pub(crate) fn string_bytes(&self, offset: u32) -> &[u8] {
        let start = self.strings.start.saturating_add(offset as usize);
        if start >= self.strings.end {
            return b"";
        }
        let tail = &self.data[start..self.strings.end];
        let len = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        &tail[..len]
    }

    /// The string at `offset`; invalid UTF-8 (never seen in kernel BTF) reads as "".
    pub(crate) fn string(&self, offset: u32) -> &str {
        std::str::from_utf8(self.string_bytes(offset)).unwrap_or("")
    }
}

fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Result<u32, BtfError> {
    let bytes: [u8; 4] = data
        .get(at..at + 4)
        .and_then(|slice| slice.try_into().ok())
        .ok_or_else(|| BtfError::malformed(format!("read past the end at byte {at}")))?;
    Ok(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

fn section_range(
    hdr_len: usize,
    off: usize,
    len: usize,
    total: usize,
    what: &str,
) -> Result<std::ops::Range<usize>, BtfError> {
    let start = hdr_len
        .checked_add(off)
        .ok_or_else(|| BtfError::malformed(format!("{what} section offset overflows")))?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| BtfError::malformed(format!("{what} section length overflows")))?;
    if end > total {
        return Err(BtfError::malformed(format!(
            "{what} section ends at byte {end}, past the blob's {total} bytes"
        )));
    }
    Ok(start..end)
}

/// FNV-1a, 64 bits: a small, allocation-free hash for name indexes.
pub(crate) fn name_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A sorted `(hash, id)` table answering "which ids have this name".
#[derive(Default)]
pub(crate) struct NameIndex {
    entries: Vec<(u64, u32)>,
}

impl NameIndex {
    pub(crate) fn build(mut entries: Vec<(u64, u32)>) -> Self {
        entries.sort_unstable();
        Self { entries }
    }

    /// Ids whose name hashes like `name` (callers compare the real name).
    pub(crate) fn candidates(&self, name: &str) -> impl Iterator<Item = u32> + '_ {
        let hash = name_hash(name.as_bytes());
        let first = self.entries.partition_point(|&(h, _)| h < hash);
        self.entries[first..]
            .iter()
            .take_while(move |&&(h, _)| h == hash)
            .map(|&(_, id)| id)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
pub(crate) mod tests {
    use super::*;

    /// Builds a tiny little-endian BTF blob from type records and a string table.
    pub(crate) fn blob(types: &[u8], strings: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&[0x9f, 0xeb, 1, 0]);
        out.extend_from_slice(&24u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(types.len() as u32).to_le_bytes());
        out.extend_from_slice(&(types.len() as u32).to_le_bytes());
        out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        out.extend_from_slice(types);
        out.extend_from_slice(strings);
        out
    }

    pub(crate) fn record(name_off: u32, kind: u32, vlen: u32, size_or_type: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&name_off.to_le_bytes());
        out.extend_from_slice(&((kind << 24) | vlen).to_le_bytes());
        out.extend_from_slice(&size_or_type.to_le_bytes());
        out
    }

    #[test]
    fn parses_a_minimal_int() {
        let mut types = record(1, KIND_INT, 0, 4);
        types.extend_from_slice(&((1u32 << 24) | 32).to_le_bytes());
        let raw = RawBtf::parse(blob(&types, b"\0int\0")).unwrap();
        assert_eq!(raw.type_count(), 2);
        let header = raw.header(1).unwrap();
        assert_eq!(header.kind, KIND_INT);
        assert_eq!(raw.string(header.name_off), "int");
        assert!(raw.header(2).is_none());
        assert!(raw.header(0).is_none());
    }

    #[test]
    fn rejects_truncated_records() {
        let types = record(0, KIND_STRUCT, 3, 8); // claims 3 members, has none
        assert!(RawBtf::parse(blob(&types, b"\0")).is_err());
    }

    #[test]
    fn rejects_sections_past_the_end() {
        let mut bytes = blob(&[], b"\0");
        bytes[20] = 200; // str_len
        assert!(RawBtf::parse(bytes).is_err());
    }

    #[test]
    fn rejects_unknown_kinds() {
        let types = record(0, 25, 0, 0);
        assert!(RawBtf::parse(blob(&types, b"\0")).is_err());
    }

    #[test]
    fn out_of_range_string_offsets_read_empty() {
        let raw = RawBtf::parse(blob(&[], b"\0")).unwrap();
        assert_eq!(raw.string(1000), "");
    }
}
