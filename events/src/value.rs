//! Scalar JSON values of the protojson encoding that keep their input form:
//! integers (number or string), timestamps (RFC 3339 text plus nanoseconds),
//! `bytes` (base64 text), string maps, and the unknown-field store.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Unexpected, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::EventError;

/// A JSON string (an object key, mostly), borrowed from the input when it
/// has no escapes.
pub(crate) enum JsonStr<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl JsonStr<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            JsonStr::Borrowed(key) => key,
            JsonStr::Owned(key) => key,
        }
    }

    pub(crate) fn into_string(self) -> String {
        match self {
            JsonStr::Borrowed(key) => key.to_owned(),
            JsonStr::Owned(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = JsonStr<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an object key")
            }

            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<JsonStr<'de>, E> {
                Ok(JsonStr::Borrowed(key))
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<JsonStr<'de>, E> {
                Ok(JsonStr::Owned(key.to_owned()))
            }

            fn visit_string<E: de::Error>(self, key: String) -> Result<JsonStr<'de>, E> {
                Ok(JsonStr::Owned(key))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Object keys this crate does not model, kept verbatim (in input order) so
/// that a parsed-then-written event equals its input. Empty in the common
/// case, and then costs one pointer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnknownFields(Option<Box<Map<String, Value>>>);

impl UnknownFields {
    /// No unknown fields.
    pub fn new() -> Self {
        Self(None)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|map| map.is_empty())
    }

    /// The value of one unknown key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.as_ref().and_then(|map| map.get(key))
    }

    /// Adds or replaces one key (for producers that emit extra fields).
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        self.0
            .get_or_insert_with(Box::default)
            .insert(key.into(), value)
    }

    /// Removes one key.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.0.as_mut().and_then(|map| map.shift_remove(key))
    }

    /// The keys and values, in input order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().flat_map(|map| map.iter())
    }

    /// The number of unknown keys.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |map| map.len())
    }

    pub(crate) fn insert_unique<E: de::Error>(
        &mut self,
        key: String,
        value: Value,
    ) -> Result<(), E> {
        let map = self.0.get_or_insert_with(Box::default);
        if map.contains_key(&key) {
            return Err(E::custom(format_args!("duplicate field `{key}`")));
        }
        map.insert(key, value);
        Ok(())
    }

    pub(crate) fn take_map(&mut self) -> Option<Box<Map<String, Value>>> {
        self.0.take()
    }

    /// Writes the entries into `map`, skipping keys for which `shadowed`
    /// says a typed field already wrote a value.
    pub(crate) fn serialize_entries<M: SerializeMap>(
        &self,
        map: &mut M,
        shadowed: impl Fn(&str) -> bool,
    ) -> Result<(), M::Error> {
        for (key, value) in self.iter() {
            if value.is_null() && shadowed(key) {
                continue;
            }
            map.serialize_entry(key, value)?;
        }
        Ok(())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for i32 {}
    impl Sealed for u64 {}
    impl Sealed for i64 {}
}

/// The integer types protojson uses: `u32`/`i32` (written as JSON numbers)
/// and `u64`/`i64` (written as JSON strings).
pub trait ProtoInteger:
    sealed::Sealed + Copy + fmt::Debug + fmt::Display + PartialEq + Eq + std::str::FromStr
{
    /// Whether protojson writes this type as a string.
    const QUOTED_BY_PROTOJSON: bool;
    /// Converts from a JSON number that fits.
    fn from_i128(value: i128) -> Option<Self>;
    /// Writes the value as a JSON number.
    fn serialize_number<S: Serializer>(self, serializer: S) -> Result<S::Ok, S::Error>;
}

macro_rules! impl_proto_integer {
    ($($int:ty => $quoted:literal, $method:ident);* $(;)?) => {$(
        impl ProtoInteger for $int {
            const QUOTED_BY_PROTOJSON: bool = $quoted;
            fn from_i128(value: i128) -> Option<Self> {
                <$int>::try_from(value).ok()
            }
            fn serialize_number<S: Serializer>(self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.$method(self)
            }
        }
    )*};
}

impl_proto_integer! {
    u32 => false, serialize_u32;
    i32 => false, serialize_i32;
    u64 => true, serialize_u64;
    i64 => true, serialize_i64;
}

/// An integer field, with the JSON form it was read in (a number like `627`
/// or a string like `"627"`: protojson writes 64-bit integers as strings and
/// accepts both forms for every integer type), so it is written back the
/// same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonInt<T> {
    value: T,
    quoted: bool,
}

impl<T: ProtoInteger> JsonInt<T> {
    /// The value in protojson's own form (64-bit types quoted).
    pub fn new(value: T) -> Self {
        Self {
            value,
            quoted: T::QUOTED_BY_PROTOJSON,
        }
    }

    /// The value written as a JSON number.
    pub fn number(value: T) -> Self {
        Self {
            value,
            quoted: false,
        }
    }

    /// The value written as a JSON string.
    pub fn string(value: T) -> Self {
        Self {
            value,
            quoted: true,
        }
    }

    /// The integer.
    pub fn get(self) -> T {
        self.value
    }

    /// Whether it is written as a JSON string.
    pub fn is_quoted(self) -> bool {
        self.quoted
    }
}

impl<T: ProtoInteger> From<T> for JsonInt<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ProtoInteger> fmt::Display for JsonInt<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, formatter)
    }
}

impl<T: ProtoInteger> Serialize for JsonInt<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.quoted {
            serializer.collect_str(&self.value)
        } else {
            self.value.serialize_number(serializer)
        }
    }
}

impl<'de, T: ProtoInteger> Deserialize<'de> for JsonInt<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntVisitor<T>(std::marker::PhantomData<T>);

        impl<T: ProtoInteger> IntVisitor<T> {
            fn checked<E: de::Error>(
                self,
                value: i128,
                unexpected: Unexpected<'_>,
            ) -> Result<JsonInt<T>, E> {
                T::from_i128(value)
                    .map(JsonInt::number)
                    .ok_or_else(|| E::invalid_value(unexpected, &self))
            }
        }

        impl<T: ProtoInteger> Visitor<'_> for IntVisitor<T> {
            type Value = JsonInt<T>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    formatter,
                    "an integer in range for {}",
                    std::any::type_name::<T>()
                )
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<JsonInt<T>, E> {
                self.checked(i128::from(value), Unexpected::Unsigned(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<JsonInt<T>, E> {
                self.checked(i128::from(value), Unexpected::Signed(value))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<JsonInt<T>, E> {
                // protojson accepts a float with an integral value, e.g. `1.0`.
                let integral = value.fract() == 0.0 && value.abs() < 1.8e19;
                if integral {
                    // Integral and well inside the i128 range: the cast is exact.
                    self.checked(value as i128, Unexpected::Float(value))
                } else {
                    Err(E::invalid_value(Unexpected::Float(value), &self))
                }
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<JsonInt<T>, E> {
                text.parse::<T>()
                    .map(JsonInt::string)
                    .map_err(|_| E::invalid_value(Unexpected::Str(text), &self))
            }
        }

        deserializer.deserialize_any(IntVisitor(std::marker::PhantomData))
    }
}

/// A protojson `google.protobuf.Timestamp`: the RFC 3339 text as it was read
/// (written back unchanged) and the instant as nanoseconds since the Unix
/// epoch. The text is stored inline (RFC 3339 needs at most 35 bytes), so a
/// timestamp costs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: [u8; TIMESTAMP_MAX_LEN],
    text_len: u8,
    unix_nanos: i64,
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+HH:MM`.
const TIMESTAMP_MAX_LEN: usize = 35;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

impl Timestamp {
    /// Parses RFC 3339 text such as `2022-01-19T16:29:01.861Z` or
    /// `2024-05-01T10:00:00.123456789+02:00` (up to 9 fraction digits).
    /// The instant must fall within `i64` nanoseconds (years 1678 to 2262).
    pub fn parse(text: &str) -> Result<Self, EventError> {
        let invalid = |reason| EventError::InvalidTimestamp {
            text: text.to_owned(),
            reason,
        };
        let unix_nanos = parse_rfc3339(text).map_err(invalid)?;
        Self::with_text(text, unix_nanos).ok_or_else(|| invalid("too long"))
    }

    fn with_text(text: &str, unix_nanos: i64) -> Option<Self> {
        let mut stored = [0_u8; TIMESTAMP_MAX_LEN];
        stored
            .get_mut(..text.len())?
            .copy_from_slice(text.as_bytes());
        Some(Self {
            text: stored,
            text_len: u8::try_from(text.len()).ok()?,
            unix_nanos,
        })
    }

    /// The timestamp protojson would write for this instant: UTC, `Z`, and
    /// 0, 3, 6 or 9 fraction digits.
    pub fn from_unix_nanos(unix_nanos: i64) -> Self {
        let text = format_rfc3339(unix_nanos);
        // The longest text written is 30 bytes (9 fraction digits and `Z`).
        Self::with_text(&text, unix_nanos).unwrap_or(Self {
            text: [0; TIMESTAMP_MAX_LEN],
            text_len: 0,
            unix_nanos,
        })
    }

    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub fn unix_nanos(&self) -> i64 {
        self.unix_nanos
    }

    /// The RFC 3339 text, as read.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (the parser accepts nothing else).
        std::str::from_utf8(&self.text[..usize::from(self.text_len)]).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;

        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an RFC 3339 timestamp string")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
                Timestamp::parse(text).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(TimestampVisitor)
    }
}

fn parse_digits(bytes: &[u8], start: usize, count: usize) -> Result<i64, &'static str> {
    let digits = bytes.get(start..start + count).ok_or("too short")?;
    let mut value = 0_i64;
    for digit in digits {
        if !digit.is_ascii_digit() {
            return Err("expected a digit");
        }
        value = value * 10 + i64::from(digit - b'0');
    }
    Ok(value)
}

fn expect_byte(bytes: &[u8], index: usize, expected: &[u8]) -> Result<(), &'static str> {
    match bytes.get(index) {
        Some(byte) if expected.contains(byte) => Ok(()),
        _ => Err("not of the form YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"),
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Shift the year to start in March so the leap day is the last day.
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_rfc3339(text: &str) -> Result<i64, &'static str> {
    let bytes = text.as_bytes();
    let year = parse_digits(bytes, 0, 4)?;
    expect_byte(bytes, 4, b"-")?;
    let month = parse_digits(bytes, 5, 2)?;
    expect_byte(bytes, 7, b"-")?;
    let day = parse_digits(bytes, 8, 2)?;
    expect_byte(bytes, 10, b"Tt ")?;
    let hour = parse_digits(bytes, 11, 2)?;
    expect_byte(bytes, 13, b":")?;
    let minute = parse_digits(bytes, 14, 2)?;
    expect_byte(bytes, 16, b":")?;
    let second = parse_digits(bytes, 17, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("date out of range");
    }
    // 60 is a leap second; it counts as the first second of the next minute.
    if hour > 23 || minute > 59 || second > 60 {
        return Err("time of day out of range");
    }
    let mut index = 19;
    let mut fraction_nanos = 0_i64;
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        let digits_start = index;
        while bytes.get(index).is_some_and(u8::is_ascii_digit) {
            index += 1;
        }
        let digit_count = index - digits_start;
        if digit_count == 0 || digit_count > 9 {
            return Err("the fraction of a second needs 1 to 9 digits");
        }
        let digits = parse_digits(bytes, digits_start, digit_count)?;
        let scale = 10_i64.pow(u32::try_from(9 - digit_count).map_err(|_| "fraction too long")?);
        fraction_nanos = digits * scale;
    }
    let offset_seconds = match bytes.get(index) {
        Some(b'Z' | b'z') => {
            index += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let offset_hours = parse_digits(bytes, index + 1, 2)?;
            expect_byte(bytes, index + 3, b":")?;
            let offset_minutes = parse_digits(bytes, index + 4, 2)?;
            if offset_hours > 23 || offset_minutes > 59 {
                return Err("time zone offset out of range");
            }
            index += 6;
            let magnitude = offset_hours * 3600 + offset_minutes * 60;
            if *sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return Err("missing time zone (Z or +HH:MM)"),
    };
    if index != bytes.len() {
        return Err("unexpected text after the time zone");
    }
    // Four-digit years keep `seconds` far inside i64; nanoseconds may not fit.
    let seconds =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second
            - offset_seconds;
    seconds
        .checked_mul(NANOS_PER_SECOND)
        .and_then(|nanos| nanos.checked_add(fraction_nanos))
        .ok_or("outside the years 1678 to 2262")
}

fn format_rfc3339(unix_nanos: i64) -> String {
    let seconds = unix_nanos.div_euclid(NANOS_PER_SECOND);
    let fraction = unix_nanos.rem_euclid(NANOS_PER_SECOND);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if fraction != 0 {
        if fraction % 1_000_000 == 0 {
            text.push_str(&format!(".{:03}", fraction / 1_000_000));
        } else if fraction % 1000 == 0 {
            text.push_str(&format!(".{:06}", fraction / 1000));
        } else {
            text.push_str(&format!(".{fraction:09}"));
        }
    }
    text.push('Z');
    text
}

/// A protojson `bytes` value: base64 text as read (written back unchanged),
/// decoded on demand. Input may use the standard or URL-safe alphabet, with
/// or without padding, as protojson accepts; the text is checked when read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Base64Bytes {
    text: String,
}

const STANDARD_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

impl Base64Bytes {
    /// Encodes bytes the way protojson does (standard alphabet, padded).
    pub fn encode(bytes: &[u8]) -> Self {
        let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b0 = chunk[0];
            let b1 = chunk.get(1).copied().unwrap_or(0);
            let b2 = chunk.get(2).copied().unwrap_or(0);
            let indices = [
                b0 >> 2,
                ((b0 & 0b11) << 4) | (b1 >> 4),
                ((b1 & 0b1111) << 2) | (b2 >> 6),
                b2 & 0b11_1111,
            ];
            for (position, index) in indices.iter().enumerate() {
                if position <= chunk.len() {
                    text.push(char::from(STANDARD_ALPHABET[usize::from(*index)]));
                } else {
                    text.push('=');
                }
            }
        }
        Self { text }
    }

    /// Checks base64 text and keeps it as is.
    pub fn from_text(text: impl Into<String>) -> Result<Self, EventError> {
        let text = text.into();
        match check_base64(text.as_bytes()) {
            Ok(()) => Ok(Self { text }),
            Err(reason) => Err(EventError::InvalidBase64 { reason }),
        }
    }

    /// The base64 text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The decoded bytes.
    pub fn decode(&self) -> Vec<u8> {
        let data = strip_padding(self.text.as_bytes());
        let mut bytes = Vec::with_capacity(data.len() / 4 * 3 + 2);
        let mut accumulator = 0_u32;
        let mut bit_count = 0;
        for byte in data {
            // Checked when the value was built; anything else cannot be here.
            let Some(value) = sextet(*byte) else { continue };
            accumulator = (accumulator << 6) | u32::from(value);
            bit_count += 6;
            if bit_count >= 8 {
                bit_count -= 8;
                bytes.push(((accumulator >> bit_count) & 0xff) as u8);
            }
        }
        bytes
    }
}

fn strip_padding(data: &[u8]) -> &[u8] {
    let mut end = data.len();
    while end > 0 && data[end - 1] == b'=' {
        end -= 1;
    }
    &data[..end]
}

fn check_base64(data: &[u8]) -> Result<(), &'static str> {
    let unpadded = strip_padding(data);
    let padding = data.len() - unpadded.len();
    if padding > 2 || (padding > 0 && !data.len().is_multiple_of(4)) {
        return Err("bad padding");
    }
    if unpadded.len() % 4 == 1 {
        return Err("bad length");
    }
    if unpadded.iter().any(|byte| sextet(*byte).is_none()) {
        return Err("character outside the base64 alphabet");
    }
    Ok(())
}

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Base64Visitor;

        impl Visitor<'_> for Base64Visitor {
            type Value = Base64Bytes;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a base64 string")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Base64Bytes, E> {
                Base64Bytes::from_text(text).map_err(E::custom)
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Base64Bytes, E> {
                Base64Bytes::from_text(text).map_err(E::custom)
            }
        }

        deserializer.deserialize_string(Base64Visitor)
    }
}

/// A protojson `map<string, string>` (pod labels, annotations, node labels),
/// in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringMap(pub Vec<(String, String)>);

impl StringMap {
    /// The value for a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(candidate, _)| candidate == key)
            .map(|(_, value)| value.as_str())
    }
}

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringMapVisitor;

        impl<'de> Visitor<'de> for StringMapVisitor {
            type Value = StringMap;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an object of string values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, String>()? {
                    entries.push((key, value));
                }
                Ok(StringMap(entries))
            }
        }

        deserializer.deserialize_map(StringMapVisitor)
    }
}

/// Deserialising into a value read before, reusing its allocations where
/// it can (strings keep their buffers, boxed messages their boxes): what
/// [`crate::EventRecord::parse_into`] is built on. Reading into a value
/// gives the same value, or the same error, as reading a new one.
pub(crate) trait ReadInto<'de>: Deserialize<'de> {
    /// Replaces `place` with the value read. On error, `place` holds some
    /// valid but meaningless value.
    fn read_into<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
        *place = Self::deserialize(deserializer)?;
        Ok(())
    }
}

impl<'de> ReadInto<'de> for String {
    fn read_into<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
        // serde's own in-place read keeps the buffer.
        String::deserialize_in_place(deserializer, place)
    }
}

impl<'de, T: Deserialize<'de>> ReadInto<'de> for Vec<T> {
    fn read_into<D: Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
        // Reads elements into the ones already there.
        Vec::deserialize_in_place(deserializer, place)
    }
}

impl<'de> ReadInto<'de> for bool {}
impl<'de, T: ProtoInteger> ReadInto<'de> for JsonInt<T> {}
impl<'de> ReadInto<'de> for Timestamp {}
impl<'de> ReadInto<'de> for Base64Bytes {}
impl<'de> ReadInto<'de> for StringMap {}

/// Reads an `Option<T>` field into its old value: `null` leaves it alone
/// and says `false` (the caller decides what `null` means), any other value
/// is read into the old one (or a new one) and says `true`. Reads exactly
/// as `Option<T>`'s own `Deserialize` does.
pub(crate) struct OptionInto<'a, T>(pub(crate) &'a mut Option<T>);

impl<'de, T: ReadInto<'de>> de::DeserializeSeed<'de> for OptionInto<'_, T> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        struct OptionIntoVisitor<'a, T>(&'a mut Option<T>);

        impl<'de, T: ReadInto<'de>> Visitor<'de> for OptionIntoVisitor<'_, T> {
            type Value = bool;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("option")
            }

            fn visit_none<E: de::Error>(self) -> Result<bool, E> {
                Ok(false)
            }

            fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
                Ok(false)
            }

            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
                match self.0 {
                    Some(old) => T::read_into(deserializer, old)?,
                    None => *self.0 = Some(T::deserialize(deserializer)?),
                }
                Ok(true)
            }
        }

        deserializer.deserialize_option(OptionIntoVisitor(self.0))
    }
}

/// Reads a value into an old one ([`ReadInto`]) as a seed.
pub(crate) struct ReadIntoSeed<'a, T>(pub(crate) &'a mut T);

impl<'de, T: ReadInto<'de>> de::DeserializeSeed<'de> for ReadIntoSeed<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        T::read_into(deserializer, self.0)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_to_nanoseconds() {
        let stamp = Timestamp::parse("2022-01-19T16:29:01.861Z").unwrap();
        assert_eq!(stamp.unix_nanos(), 1_642_609_741_861_000_000);
        assert_eq!(stamp.as_str(), "2022-01-19T16:29:01.861Z");
        let offset = Timestamp::parse("2022-01-19T17:29:01.000000001+01:00").unwrap();
        assert_eq!(offset.unix_nanos(), 1_642_609_741_000_000_001);
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00Z")
                .unwrap()
                .unix_nanos(),
            0
        );
        assert_eq!(
            Timestamp::parse("1969-12-31T23:59:59.5Z")
                .unwrap()
                .unix_nanos(),
            -500_000_000
        );
        assert_eq!(
            Timestamp::parse("2024-02-29T00:00:00Z")
                .unwrap()
                .unix_nanos(),
            1_709_164_800_000_000_000
        );
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for text in [
            "",
            "2022-01-19",
            "2022-01-19T16:29:01",
            "2022-13-19T16:29:01Z",
            "2023-02-29T00:00:00Z",
            "2022-01-19T16:29:01.Z",
            "2022-01-19T16:29:01.1234567890Z",
            "2022-01-19T16:29:01Zjunk",
            "3000-01-01T00:00:00Z",
        ] {
            assert!(
                Timestamp::parse(text).is_err(),
                "{text:?} should be rejected"
            );
        }
    }

    #[test]
    fn timestamps_format_like_protojson() {
        for (nanos, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_642_609_741_861_000_000, "2022-01-19T16:29:01.861Z"),
            (1_642_609_741_861_001_000, "2022-01-19T16:29:01.861001Z"),
            (1_642_609_741_861_001_001, "2022-01-19T16:29:01.861001001Z"),
            (-1, "1969-12-31T23:59:59.999999999Z"),
            (951_782_400_000_000_000, "2000-02-29T00:00:00Z"),
        ] {
            let stamp = Timestamp::from_unix_nanos(nanos);
            assert_eq!(stamp.as_str(), text);
            assert_eq!(Timestamp::parse(text).unwrap().unix_nanos(), nanos);
        }
    }

    #[test]
    fn base64_round_trips() {
        for input in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0xff, 0xfe, 0x00],
        ] {
            let encoded = Base64Bytes::encode(input);
            assert_eq!(encoded.decode(), input);
            assert_eq!(Base64Bytes::from_text(encoded.as_str()).unwrap(), encoded);
        }
        assert_eq!(Base64Bytes::encode(b"foobar").as_str(), "Zm9vYmFy");
        assert_eq!(Base64Bytes::encode(b"fo").as_str(), "Zm8=");
        assert_eq!(Base64Bytes::from_text("Zm8").unwrap().decode(), b"fo");
        assert_eq!(
            Base64Bytes::from_text("_-8=").unwrap().decode(),
            [0xff, 0xef]
        );
        assert!(Base64Bytes::from_text("Zm8*").is_err());
        assert!(Base64Bytes::from_text("Z").is_err());
        assert!(Base64Bytes::from_text("Zm8===").is_err());
    }

    #[test]
    fn integers_keep_their_json_form() {
        let quoted: JsonInt<u64> = serde_json::from_str("\"627\"").unwrap();
        assert_eq!((quoted.get(), quoted.is_quoted()), (627, true));
        assert_eq!(serde_json::to_string(&quoted).unwrap(), "\"627\"");
        let plain: JsonInt<u64> = serde_json::from_str("627").unwrap();
        assert_eq!(serde_json::to_string(&plain).unwrap(), "627");
        let negative: JsonInt<i64> = serde_json::from_str("\"-5\"").unwrap();
        assert_eq!(negative.get(), -5);
        assert!(serde_json::from_str::<JsonInt<u32>>("4294967296").is_err());
        assert!(serde_json::from_str::<JsonInt<u32>>("-1").is_err());
        assert!(serde_json::from_str::<JsonInt<u32>>("\"x\"").is_err());
        assert!(serde_json::from_str::<JsonInt<i32>>("1.5").is_err());
        assert_eq!(
            serde_json::from_str::<JsonInt<i32>>("2.0").unwrap().get(),
            2
        );
        assert_eq!(
            serde_json::to_string(&JsonInt::new(7_u64)).unwrap(),
            "\"7\""
        );
        assert_eq!(serde_json::to_string(&JsonInt::new(7_u32)).unwrap(), "7");
    }
}
