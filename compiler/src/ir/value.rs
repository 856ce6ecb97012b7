//! Typed filter values and the parsers that turn the policy's text into them,
//! the way Tetragon's agent parses them.

use super::names;
use std::net::IpAddr;

/// One parsed value of an argument filter.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FilterValue {
    /// An integer (Equal, NotEqual, GT, LT, Mask, InMap on integers).
    Int(i128),
    /// An inclusive range `lo:hi` (InRange, NotInRange, InMap).
    Range { lo: i128, hi: i128 },
    /// Text compared with a string or path argument.
    Text(String),
    /// An address with a prefix length (SAddr, DAddr and their negations).
    Cidr { addr: IpAddr, prefix: u8 },
    /// A port (SPort, DPort and their negations).
    Port(u16),
    /// An IP protocol number (Protocol).
    Protocol(u16),
    /// An address family (Family).
    Family(u16),
    /// A TCP socket state (State).
    SockState(u16),
    /// File type bits of `i_mode` (FileType, NotFileType).
    FileType(u32),
    /// A capability number (CapabilitiesGained).
    Capability(u8),
    /// A syscall by name (InMap on `syscall64`, usually from a `list:`).
    Syscall { name: String, list: Option<String> },
    /// A CEL expression (CelExpr), kept as written.
    Expr(String),
}

impl FilterValue {
    /// A short rendering for messages.
    pub fn display(&self) -> String {
        match self {
            FilterValue::Int(v) => v.to_string(),
            FilterValue::Range { lo, hi } => format!("{lo}:{hi}"),
            FilterValue::Text(s) | FilterValue::Expr(s) => s.clone(),
            FilterValue::Cidr { addr, prefix } => format!("{addr}/{prefix}"),
            FilterValue::Port(p) => p.to_string(),
            FilterValue::Protocol(p) => {
                names::name_of(names::PROTOCOLS, *p).map_or_else(|| p.to_string(), str::to_string)
            }
            FilterValue::Family(f) => {
                names::name_of(names::FAMILIES, *f).map_or_else(|| f.to_string(), str::to_string)
            }
            FilterValue::SockState(s) => {
                names::name_of(names::SOCK_STATES, *s).map_or_else(|| s.to_string(), str::to_string)
            }
            FilterValue::FileType(t) => names::name_of(names::FILE_TYPES, *t)
                .map_or_else(|| format!("{t:#o}"), str::to_string),
            FilterValue::Capability(c) => {
                names::capability_name(*c).map_or_else(|| c.to_string(), str::to_string)
            }
            FilterValue::Syscall { name, .. } => name.clone(),
        }
    }
}

/// Why a value did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("`{text}` is not an integer")]
    NotAnInteger { text: String },
    #[error("`{text}` does not fit in {bits} bits ({what})")]
    OutOfRange {
        text: String,
        bits: u8,
        what: &'static str,
    },
    #[error("`{text}` is not a decimal integer")]
    NotDecimal { text: String },
    #[error("`{text}` is not a range `low:high`")]
    NotARange { text: String },
    #[error("range `{text}` is empty: its low end is above its high end")]
    EmptyRange { text: String },
    #[error("`{text}` is not an IP address or CIDR")]
    NotAnAddress { text: String },
    #[error("prefix length {prefix} is too long for {family} (at most {max})")]
    PrefixTooLong {
        prefix: u32,
        family: &'static str,
        max: u8,
    },
    #[error("`{text}` is not a port number (0 to 65535)")]
    NotAPort { text: String },
    #[error("`{text}` is not a known {what} name or number")]
    UnknownName {
        text: String,
        what: &'static str,
        suggestion: Option<&'static str>,
    },
}

impl ValueError {
    /// A help line for the diagnostic, when there is one.
    pub fn help(&self) -> Option<String> {
        match self {
            ValueError::NotAnInteger { .. } => Some(
                "write a decimal number (`42`, `-1`), a hexadecimal one (`0x2a`) or an octal one (`052`)".into(),
            ),
            ValueError::NotARange { .. } => Some("write a range as `low:high`, e.g. `1024:65535`".into()),
            ValueError::NotDecimal { .. } => Some("map and port values are decimal: write `255`, not `0xff`".into()),
            ValueError::NotAnAddress { .. } => {
                Some("write an address (`10.0.0.1`, `::1`) or a CIDR (`10.0.0.0/8`, `fd00::/8`)".into())
            }
            ValueError::UnknownName {
                suggestion: Some(s), ..
            } => Some(format!("did you mean `{s}`?")),
            _ => None,
        }
    }
}

/// Parses an integer the way Go's `strconv.ParseInt(s, 0, 64)` does: an
/// optional sign, then decimal, `0x` hex, `0o`/leading-`0` octal or `0b`
/// binary, with `_` separators allowed after a base prefix.
pub fn parse_int(text: &str) -> Result<i128, ValueError> {
    let err = || ValueError::NotAnInteger {
        text: text.to_string(),
    };
    let t = text.trim();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if rest.is_empty() {
        return Err(err());
    }
    let lower = rest.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    let digits = if prefixed {
        if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
            return Err(err());
        }
        digits.replace('_', "")
    } else {
        digits
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(err());
    }
    let v = i128::from_str_radix(&digits, radix).map_err(|_| err())?;
    Ok(if neg { -v } else { v })
}

/// Checks `v` fits an integer of `bits` bits. Unsigned types also take
/// negative values down to the signed minimum (Tetragon stores the bit
/// pattern), and signed ones take unsigned values up to the unsigned maximum.
pub fn check_int_width(text: &str, v: i128, bits: u8, signed: bool) -> Result<i128, ValueError> {
    let bits_u = u32::from(bits);
    let min = -(1i128 << (bits_u - 1));
    let max = (1i128 << bits_u) - 1;
    if v < min || v > max {
        return Err(ValueError::OutOfRange {
            text: text.to_string(),
            bits,
            what: if signed { "signed" } else { "unsigned" },
        });
    }
    Ok(v)
}

/// Parses `low:high` (inclusive), as `InRange` takes it: both bounds in
/// any base Go's `ParseInt(s, 0, 64)` reads.
pub fn parse_range(text: &str) -> Result<(i128, i128), ValueError> {
    let Some((lo, hi)) = text.split_once(':') else {
        return Err(ValueError::NotARange {
            text: text.to_string(),
        });
    };
    let lo = parse_int(lo).map_err(|_| ValueError::NotARange {
        text: text.to_string(),
    })?;
    let hi = parse_int(hi).map_err(|_| ValueError::NotARange {
        text: text.to_string(),
    })?;
    if lo > hi {
        return Err(ValueError::EmptyRange {
            text: text.to_string(),
        });
    }
    Ok((lo, hi))
}

/// Parses an address or CIDR; a bare address gets a full-length prefix.
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8), ValueError> {
    let t = text.trim();
    let (addr, prefix) = match t.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (t, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| ValueError::NotAnAddress {
        text: text.to_string(),
    })?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => {
            let n: u32 = p.parse().map_err(|_| ValueError::NotAnAddress {
                text: text.to_string(),
            })?;
            if n > u32::from(max) {
                return Err(ValueError::PrefixTooLong {
                    prefix: n,
                    family: if addr.is_ipv4() { "IPv4" } else { "IPv6" },
                    max,
                });
            }
            u8::try_from(n).unwrap_or(max)
        }
    };
    Ok((addr, prefix))
}

/// Parses a decimal integer (what `InMap` values and port ranges take).
pub fn parse_decimal(text: &str) -> Result<i128, ValueError> {
    let t = text.trim();
    let digits = t
        .strip_prefix('-')
        .or_else(|| t.strip_prefix('+'))
        .unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueError::NotDecimal {
            text: text.to_string(),
        });
    }
    t.parse::<i128>().map_err(|_| ValueError::NotDecimal {
        text: text.to_string(),
    })
}

/// Parses `a:b` with decimal bounds, swapping reversed bounds (as Tetragon
/// does for map ranges).
pub fn parse_decimal_range(text: &str) -> Result<(i128, i128), ValueError> {
    let (a, b) = text.split_once(':').ok_or_else(|| ValueError::NotARange {
        text: text.to_string(),
    })?;
    let (a, b) = (parse_decimal(a)?, parse_decimal(b)?);
    Ok((a.min(b), a.max(b)))
}

/// Parses a port number.
pub fn parse_port(text: &str) -> Result<u16, ValueError> {
    parse_int(text)
        .ok()
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| ValueError::NotAPort {
            text: text.to_string(),
        })
}

/// Parses a name from `table` or a plain number.
pub fn parse_named<T>(
    text: &str,
    table: &'static [(&'static str, T)],
    what: &'static str,
) -> Result<T, ValueError>
where
    T: Copy + TryFrom<i128>,
{
    let t = text.trim();
    if let Some(v) = names::lookup(table, t) {
        return Ok(v);
    }
    if let Ok(n) = parse_int(t) {
        if let Ok(v) = T::try_from(n) {
            return Ok(v);
        }
    }
    let suggestion = crate::diagnostics::suggest::did_you_mean(t, table.iter().map(|(n, _)| *n))
        .and_then(|s| table.iter().map(|(n, _)| *n).find(|n| *n == s));
    Err(ValueError::UnknownName {
        text: text.to_string(),
        what,
        suggestion,
    })
}

/// Parses a capability name (`CAP_SYS_ADMIN`) or number.
pub fn parse_capability(text: &str) -> Result<u8, ValueError> {
    let t = text.trim();
    // The agent upper-cases capability names; the `CAP_` prefix is required.
    if let Some(n) = names::capability_number(&t.to_ascii_uppercase()) {
        return Ok(n);
    }
    if let Ok(n) = parse_int(t) {
        if let Ok(v) = u8::try_from(n) {
            if names::capability_name(v).is_some() {
                return Ok(v);
            }
        }
    }
    let upper = t.to_ascii_uppercase();
    let candidates = names::CAPABILITIES.iter().copied();
    let suggestion = names::capability_number(&upper)
        .and_then(names::capability_name)
        .or_else(|| {
            names::capability_number(&format!("CAP_{upper}")).and_then(names::capability_name)
        })
        .or_else(|| {
            crate::diagnostics::suggest::did_you_mean(t, candidates)
                .and_then(|s| names::CAPABILITIES.iter().copied().find(|c| *c == s))
        });
    Err(ValueError::UnknownName {
        text: text.to_string(),
        what: "capability",
        suggestion,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests unwrap what they just built")]
mod tests {
    use super::*;

    #[test]
    fn integers_like_go_base_zero() {
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int("-1"), Ok(-1));
        assert_eq!(parse_int("0x1F"), Ok(31));
        assert_eq!(parse_int("010"), Ok(8));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(
            parse_int("0x_ff"),
            Err(ValueError::NotAnInteger {
                text: "0x_ff".into()
            })
        );
        assert_eq!(parse_int("0"), Ok(0));
        assert!(parse_int("09").is_err());
        assert!(parse_int("12a").is_err());
        assert!(parse_int("").is_err());
    }

    #[test]
    fn widths() {
        assert!(check_int_width("300", 300, 8, false).is_err());
        assert!(check_int_width("-1", -1, 32, false).is_ok());
        assert!(check_int_width("4294967295", 4_294_967_295, 32, true).is_ok());
        assert!(check_int_width("4294967296", 4_294_967_296, 32, true).is_err());
    }

    #[test]
    fn ranges_and_addresses() {
        assert_eq!(parse_range("1:5"), Ok((1, 5)));
        assert_eq!(parse_range("0x10:0x20"), Ok((16, 32)));
        assert!(parse_range("5").is_err());
        assert_eq!(parse_decimal_range("9:3"), Ok((3, 9)));
        assert!(parse_decimal("0x10").is_err());
        assert!(matches!(
            parse_range("5:1"),
            Err(ValueError::EmptyRange { .. })
        ));
        assert_eq!(parse_cidr("10.0.0.0/8").map(|c| c.1), Ok(8));
        assert_eq!(parse_cidr("127.0.0.1").map(|c| c.1), Ok(32));
        assert_eq!(parse_cidr("fd00::/8").map(|c| c.1), Ok(8));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0/8").is_err());
        assert_eq!(parse_port("443"), Ok(443));
        assert!(parse_port("70000").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(
            parse_named::<u16>("IPPROTO_TCP", names::PROTOCOLS, "protocol"),
            Ok(6)
        );
        assert_eq!(
            parse_named::<u16>("17", names::PROTOCOLS, "protocol"),
            Ok(17)
        );
        assert!(parse_named::<u16>("IPPROTO_TPC", names::PROTOCOLS, "protocol").is_err());
        assert_eq!(parse_capability("CAP_SYS_ADMIN"), Ok(21));
        assert_eq!(parse_capability("cap_net_raw"), Ok(13));
        let e = parse_capability("SYS_ADMIN").unwrap_err();
        assert_eq!(e.help().as_deref(), Some("did you mean `CAP_SYS_ADMIN`?"));
    }
}
