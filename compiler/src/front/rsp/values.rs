//! Values of RuntimeSecurityPolicy network rules: CIDRs and port ranges,
//! parsed once so a bad one is reported on its own text.

use std::net::IpAddr;

/// Why a network value does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkValueError {
    #[error("`{text}` is not an IP address")]
    NotAnAddress { text: String },
    #[error("prefix length `{len}` is not a number from 0 to {max}")]
    BadPrefix { len: String, max: u8 },
    #[error("`{text}` is not a port (0-65535)")]
    NotAPort { text: String },
    #[error("the range `{text}` ends below where it starts")]
    EmptyRange { text: String },
}

/// A CIDR as Tetragon's SAddr/DAddr take it: `10.0.0.0/8`, `::1`,
/// `192.168.1.7` (a single address).
pub fn parse_cidr(text: &str) -> Result<String, NetworkValueError> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| NetworkValueError::NotAnAddress {
            text: addr.to_string(),
        })?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if let Some(len) = len {
        let ok = len.parse::<u8>().ok().filter(|l| *l <= max);
        if ok.is_none() {
            return Err(NetworkValueError::BadPrefix {
                len: len.to_string(),
                max,
            });
        }
        return Ok(format!("{ip}/{len}"));
    }
    Ok(ip.to_string())
}

/// A port or an inclusive range, `443` or `8000-8100` (also `8000:8100`),
/// as Tetragon's port operators write it (`8000:8100`).
pub fn parse_port_range(text: &str) -> Result<String, NetworkValueError> {
    let port = |t: &str| {
        t.trim()
            .parse::<u16>()
            .map_err(|_| NetworkValueError::NotAPort {
                text: t.trim().to_string(),
            })
    };
    match text.split_once(['-', ':']) {
        Some((low, high)) => {
            let (low, high) = (port(low)?, port(high)?);
            if high < low {
                return Err(NetworkValueError::EmptyRange {
                    text: text.to_string(),
                });
            }
            Ok(if low == high {
                low.to_string()
            } else {
                format!("{low}:{high}")
            })
        }
        None => Ok(port(text)?.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_ports() {
        assert_eq!(parse_cidr("10.0.0.0/8").as_deref(), Ok("10.0.0.0/8"));
        assert_eq!(parse_cidr("::1").as_deref(), Ok("::1"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0/8").is_err());
        assert!(parse_cidr("fd00::/129").is_err());
        assert_eq!(parse_port_range("443").as_deref(), Ok("443"));
        assert_eq!(parse_port_range("8000-8100").as_deref(), Ok("8000:8100"));
        assert_eq!(parse_port_range("8000:8100").as_deref(), Ok("8000:8100"));
        assert!(parse_port_range("8100-8000").is_err());
        assert!(parse_port_range("70000").is_err());
        assert!(parse_port_range("http").is_err());
    }
}
