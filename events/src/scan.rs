//! `quick_summary`: a hand-written scanner that reads the kind and hook of
//! one JSON value without allocating, checking the whole value as it goes.
//! It answers only when it is sure that the serde path (`summary.rs`) would
//! give the same summary; everything else (errors, escapes where a string is
//! decoded, numbers serde_json reads as `f64`, ...) is left to that path,
//! which stays the reference and writes every error message.
//!
//! What serde_json checks, and so what this scanner checks, depends on how
//! the summary reads each part of the value:
//!
//! - The top-level object and the kind's payload are read as maps: their
//!   keys are decoded strings. So are the values of unknown top-level keys
//!   (read with `deserialize_any`, to see whether they are objects), the keys
//!   of objects found there, and the payload fields the summary keeps. The
//!   scanner gives up on any backslash in these strings (decoding checks
//!   surrogate pairs; values with escapes would need decoding).
//! - Everything else is skipped (`IgnoredAny`): strict JSON syntax, no depth
//!   limit, strings checked for control characters and escape syntax only
//!   (`\uXXXX` needs four hex digits; surrogates are not paired). UTF-8 is
//!   checked once for the whole value, as `from_str` requires.
//! - A number read with `deserialize_any` can fail (an `f64` out of range):
//!   the scanner accepts only integers of at most 18 digits there.
//! - `offset` and `action`, when present, are decoded by serde_json from the
//!   value's own text, which the scanner has checked first.

use crate::enums::KprobeAction;
use crate::event::{EventKind, UNTYPED_KIND_KEYS};
use crate::summary::{EventSummary, TextField};
use crate::value::JsonInt;

/// Fills `summary` from `text` (exactly one JSON value, blanks around it
/// allowed) and returns true when the value is an event and the serde path
/// would read the same summary. False when unsure: `summary` is then
/// unspecified and the caller asks the serde path.
pub(crate) fn quick_summary(text: &[u8], summary: &mut EventSummary) -> bool {
    let (lowest, highest) = byte_range(text);
    if highest >= 0x80 && std::str::from_utf8(text).is_err() {
        return false;
    }
    summary.clear();
    if lowest >= 0x20 {
        // JSON lines: no blank but spaces, no control character anywhere.
        Scanner::<false> { text, at: 0 }.event(summary).is_some()
    } else {
        Scanner::<true> { text, at: 0 }.event(summary).is_some()
    }
}

/// The lowest and highest byte of `text` (`(0xff, 0)` when empty), in a
/// form the compiler turns into vector instructions.
fn byte_range(text: &[u8]) -> (u8, u8) {
    const LANES: usize = 32;
    let mut lowest = [0xff_u8; LANES];
    let mut highest = [0_u8; LANES];
    let mut blocks = text.chunks_exact(LANES);
    for block in &mut blocks {
        for lane in 0..LANES {
            lowest[lane] = lowest[lane].min(block[lane]);
            highest[lane] = highest[lane].max(block[lane]);
        }
    }
    let mut low = lowest.iter().copied().min().unwrap_or(0xff);
    let mut high = highest.iter().copied().max().unwrap_or(0);
    for &byte in blocks.remainder() {
        low = low.min(byte);
        high = high.max(byte);
    }
    (low, high)
}

/// The high bit of every byte of `word` (little-endian) equal to `byte`,
/// and maybe of some bytes after the first such byte: exact up to the
/// first. (An equal byte is zero after the xor; a zero byte borrows in the
/// subtraction and has its high bit clear.)
#[inline(always)]
fn equal_bytes(word: u64, byte: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let zeroed = word ^ (ONES * u64::from(byte));
    zeroed.wrapping_sub(ONES) & !zeroed & HIGH_BITS
}

/// Like [`equal_bytes`], for bytes below 0x20 (control characters).
#[inline(always)]
fn control_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS
}

/// What a top-level key is to the summary.
enum TopLevelKey {
    Kind(Option<EventKind>),
    Metadata,
    Other,
}

fn top_level_key(key: &[u8]) -> TopLevelKey {
    if let Some(kind) = EventKind::TYPED
        .iter()
        .find(|kind| kind.key().map(str::as_bytes) == Some(key))
    {
        return TopLevelKey::Kind(Some(*kind));
    }
    if UNTYPED_KIND_KEYS.iter().any(|kind| kind.as_bytes() == key) {
        return TopLevelKey::Kind(None);
    }
    match key {
        b"node_name" | b"time" | b"aggregation_info" | b"cluster_name" | b"node_labels" => {
            TopLevelKey::Metadata
        }
        _ => TopLevelKey::Other,
    }
}

/// How a number is written, as far as `deserialize_any` cares.
struct NumberShape {
    /// An integer (no fraction, no exponent) of at most 18 digits, which
    /// serde_json always reads as `u64` or `i64`.
    small_integer: bool,
}

/// The position in the value; every method returns `None` when unsure.
/// `CONTROLS`: the value has bytes below 0x20 (so strings must look for
/// them, and blanks other than spaces may appear between tokens).
struct Scanner<'a, const CONTROLS: bool> {
    text: &'a [u8],
    at: usize,
}

impl<'a, const CONTROLS: bool> Scanner<'a, CONTROLS> {
    /// The next byte that is not JSON whitespace, consumed.
    #[inline(always)]
    fn next_token(&mut self) -> Option<u8> {
        let byte = *self.text.get(self.at)?;
        self.at += 1;
        if byte > b' ' {
            return Some(byte);
        }
        self.after_blanks(byte)
    }

    /// `next_token` when `byte` may be whitespace.
    fn after_blanks(&mut self, mut byte: u8) -> Option<u8> {
        while matches!(byte, b' ' | b'\n' | b'\t' | b'\r') {
            byte = *self.text.get(self.at)?;
            self.at += 1;
        }
        Some(byte)
    }

    /// The next byte that is not JSON whitespace, not consumed.
    #[inline(always)]
    fn peek_token(&mut self) -> Option<u8> {
        let byte = self.next_token()?;
        self.at -= 1;
        Some(byte)
    }

    #[inline(always)]
    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next_token()? == wanted).then_some(())
    }

    /// The whole value: an object with one event kind.
    fn event(&mut self, summary: &mut EventSummary) -> Option<()> {
        let text = self.text;
        self.expect(b'{')?;
        // The only unknown key holding an object, and how many there are.
        let mut object_key = (0, 0);
        let mut object_keys = 0_usize;
        if self.peek_token()? == b'}' {
            self.at += 1;
        } else {
            loop {
                let (start, end) = self.plain_key()?;
                let key = &text[start..end];
                match top_level_key(key) {
                    TopLevelKey::Kind(typed) => {
                        if summary.kind.is_some() {
                            // Several kinds: an error the serde path words.
                            return None;
                        }
                        summary.kind = Some(typed.unwrap_or(EventKind::Other));
                        summary.kind_key.push_str(std::str::from_utf8(key).ok()?);
                        if typed.is_some() {
                            self.payload(summary)?;
                        } else {
                            self.skip_value()?;
                        }
                    }
                    TopLevelKey::Metadata => self.skip_value()?,
                    TopLevelKey::Other => {
                        if self.any_value()? {
                            object_keys += 1;
                            object_key = (start, end);
                        }
                    }
                }
                match self.next_token()? {
                    b',' => {}
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        if self.peek_token().is_some() {
            // Text after the value, or something that is not whitespace.
            return None;
        }
        if summary.kind.is_none() {
            // A lone unknown key holding an object is an untyped kind; no
            // kind at all, or several candidates, are errors.
            if object_keys != 1 {
                return None;
            }
            summary.kind = Some(EventKind::Other);
            let key = &text[object_key.0..object_key.1];
            summary.kind_key.push_str(std::str::from_utf8(key).ok()?);
        }
        Some(())
    }

    /// A key of a map serde decodes, and its colon: the key's content.
    #[inline(always)]
    fn plain_key(&mut self) -> Option<(usize, usize)> {
        self.expect(b'"')?;
        self.plain_key_rest()
    }

    /// `plain_key` after the opening quote.
    #[inline(always)]
    fn plain_key_rest(&mut self) -> Option<(usize, usize)> {
        let key = self.plain_string()?;
        self.expect(b':')?;
        Some(key)
    }

    /// After an opening quote, a string serde decodes: its content, when it
    /// has no escapes.
    #[inline(always)]
    fn plain_string(&mut self) -> Option<(usize, usize)> {
        let start = self.at;
        let escaped = self.string()?;
        (!escaped).then_some((start, self.at - 1))
    }

    /// The kind's payload, read as the summary's `HookFields` reads it.
    fn payload(&mut self, summary: &mut EventSummary) -> Option<()> {
        let text = self.text;
        self.expect(b'{')?;
        if self.peek_token()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let (start, end) = self.plain_key()?;
            let key = &text[start..end];
            if key == b"offset" {
                let value = self.value_text()?;
                summary.hook.offset = serde_json::from_slice::<Option<JsonInt<u64>>>(value).ok()?;
            } else if key == b"action" {
                let value = self.value_text()?;
                summary.hook.action = serde_json::from_slice::<Option<KprobeAction>>(value).ok()?;
            } else if let Some(slot) = summary.hook.text_slot(key) {
                self.optional_string(slot)?;
            } else {
                self.skip_value()?;
            }
            match self.next_token()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A payload field read as `Option<String>`: `null` or a string.
    fn optional_string(&mut self, slot: &mut TextField) -> Option<()> {
        let text = self.text;
        match self.next_token()? {
            b'n' => {
                self.literal(b"ull")?;
                slot.set(None);
            }
            b'"' => {
                let (start, end) = self.plain_string()?;
                slot.set(Some(std::str::from_utf8(&text[start..end]).ok()?));
            }
            _ => return None,
        }
        Some(())
    }

    /// Skips one value and returns its text (for serde to decode).
    fn value_text(&mut self) -> Option<&'a [u8]> {
        self.peek_token()?;
        let start = self.at;
        self.skip_value()?;
        Some(&self.text[start..self.at])
    }

    /// A value read with `deserialize_any`, as the summary's `IsObject`
    /// reads unknown top-level keys: whether it is an object.
    fn any_value(&mut self) -> Option<bool> {
        match self.next_token()? {
            b'{' => {
                // Keys are decoded, values skipped.
                if self.peek_token()? == b'}' {
                    self.at += 1;
                    return Some(true);
                }
                loop {
                    self.plain_key()?;
                    self.skip_value()?;
                    match self.next_token()? {
                        b',' => {}
                        b'}' => return Some(true),
                        _ => return None,
                    }
                }
            }
            b'"' => {
                self.plain_string()?;
            }
            byte @ (b'-' | b'0'..=b'9') => {
                if !self.number(byte)?.small_integer {
                    return None;
                }
            }
            _ => {
                // Arrays (elements skipped) and literals.
                self.at -= 1;
                self.skip_value()?;
            }
        }
        Some(false)
    }

    /// Skips one value as `IgnoredAny` does (strict syntax; no depth limit
    /// in serde_json, here at most 64 levels, beyond which it is unsure).
    /// Keys with escapes make it unsure too.
    fn skip_value(&mut self) -> Option<()> {
        // Open containers, innermost in the low bit: 1 object, 0 array.
        let mut open: u64 = 0;
        let mut depth = 0_u32;
        let mut byte = self.next_token()?;
        loop {
            // `byte` starts a value.
            match byte {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    if depth == u64::BITS {
                        return None;
                    }
                    depth += 1;
                    let next = self.next_token()?;
                    if byte == b'{' {
                        open = (open << 1) | 1;
                        if next == b'"' {
                            self.plain_key_rest()?;
                            byte = self.next_token()?;
                            continue;
                        }
                        if next != b'}' {
                            return None;
                        }
                    } else {
                        open <<= 1;
                        if next != b']' {
                            byte = next;
                            continue;
                        }
                    }
                    // An empty container.
                    open >>= 1;
                    depth -= 1;
                }
                b't' => self.literal(b"rue")?,
                b'f' => self.literal(b"alse")?,
                b'n' => self.literal(b"ull")?,
                b'-' | b'0'..=b'9' => {
                    self.number(byte)?;
                }
                _ => return None,
            }
            // A value ended: close containers until one goes on.
            loop {
                if depth == 0 {
                    return Some(());
                }
                let in_object = open & 1 == 1;
                let next = self.next_token()?;
                if next == b',' {
                    if in_object {
                        self.plain_key()?;
                    }
                    byte = self.next_token()?;
                    break;
                }
                if next != if in_object { b'}' } else { b']' } {
                    return None;
                }
                open >>= 1;
                depth -= 1;
            }
        }
    }

    /// The rest of `true`, `false` or `null` after its first letter.
    fn literal(&mut self, rest: &[u8]) -> Option<()> {
        let end = self.at + rest.len();
        (self.text.get(self.at..end)? == rest).then_some(())?;
        self.at = end;
        Some(())
    }

    /// After the first byte of a number: the rest of it, checked against
    /// JSON's grammar.
    fn number(&mut self, first: u8) -> Option<NumberShape> {
        let mut first = first;
        if first == b'-' {
            first = *self.text.get(self.at)?;
            self.at += 1;
        }
        let integer_start = self.at - 1;
        match first {
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        let mut small_integer = self.at - integer_start <= 18;
        if self.text.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
            small_integer = false;
        }
        if matches!(self.text.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.text.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
            small_integer = false;
        }
        Some(NumberShape { small_integer })
    }

    /// Skips ASCII digits; how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - start
    }

    /// After an opening quote: moves past the closing one, checking what
    /// serde_json checks of a skipped string (no control character, escapes
    /// well-formed). Whether the string has escapes. Eight bytes at a time.
    #[inline(always)]
    fn string(&mut self) -> Option<bool> {
        let mut escaped = false;
        loop {
            let Some(eight) = self.text.get(self.at..self.at + 8) else {
                return self.string_end(escaped);
            };
            let mut bytes = [0_u8; 8];
            bytes.copy_from_slice(eight);
            let word = u64::from_le_bytes(bytes);
            let quotes = equal_bytes(word, b'"');
            let mut stops = quotes | equal_bytes(word, b'\\');
            if CONTROLS {
                stops |= control_bytes(word);
            }
            if stops == 0 {
                self.at += 8;
                continue;
            }
            let first = stops.trailing_zeros();
            self.at += (first / 8) as usize;
            if (quotes >> first) & 1 == 1 {
                self.at += 1;
                return Some(escaped);
            }
            if !CONTROLS || self.text[self.at] == b'\\' {
                escaped = true;
                self.escape()?;
            } else {
                return None;
            }
        }
    }

    /// The end of a string within the last eight bytes of input, byte by
    /// byte.
    fn string_end(&mut self, mut escaped: bool) -> Option<bool> {
        loop {
            match *self.text.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    /// At a backslash: moves past the escape if it is well-formed.
    fn escape(&mut self) -> Option<()> {
        match *self.text.get(self.at + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
            b'u' => {
                let digits = self.text.get(self.at + 2..self.at + 6)?;
                if !digits.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                self.at += 6;
            }
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests;
