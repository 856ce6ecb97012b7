//! How the Tetragon agent reads a plain scalar written where the CRD expects
//! text.
//!
//! The agent reads policy files with `sigs.k8s.io/yaml`, which parses with
//! go-yaml v2 (YAML 1.1 resolution: `yes`/`on` are booleans, `0755` is
//! octal, `_` separates digits) and, when the Go field is a string, turns a
//! number or boolean back into text (decimal integers, `FormatFloat(f, 'g',
//! -1, 32)`, `true`/`false`). `kubectl apply` converts the same YAML to JSON
//! without that step, so the API server sees a number or boolean where the
//! CRD's schema says `type: string` and refuses the object. This module
//! computes the agent's reading so that a diagnostic can say both.

use super::yaml::{Node, NodeKind, Style};

/// What go-yaml v2 made of a plain scalar that is not text.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentScalar {
    /// "a number" or "a boolean".
    pub what: &'static str,
    /// The text the agent stores in the string field.
    pub text: String,
}

/// The agent's reading of `node` when it is a plain, untagged scalar that
/// YAML 1.1 resolves to a number or a boolean; `None` for text, nulls,
/// quoted and block scalars, tagged ones and collections.
pub fn non_text_scalar(node: &Node) -> Option<AgentScalar> {
    let NodeKind::Scalar { text, style } = &node.kind else {
        return None;
    };
    if *style != Style::Plain || node.tag.is_some() {
        return None;
    }
    resolve(text)
}

fn resolve(text: &str) -> Option<AgentScalar> {
    let boolean = |value: bool| {
        Some(AgentScalar {
            what: "a boolean",
            text: value.to_string(),
        })
    };
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return boolean(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return boolean(false);
        }
        _ => {}
    }
    let first = text.chars().next()?;
    if !matches!(first, '+' | '-' | '.' | '0'..='9') {
        return None;
    }
    let number = |text: String| {
        Some(AgentScalar {
            what: "a number",
            text,
        })
    };
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return number("+Inf".into()),
        "-.inf" | "-.Inf" | "-.INF" => return number("-Inf".into()),
        ".nan" | ".NaN" | ".NAN" => return number("NaN".into()),
        _ => {}
    }
    let plain = text.replace('_', "");
    if let Some(value) = go_parse_int(&plain) {
        return number(value.to_string());
    }
    if is_yaml11_float(&plain) {
        if let Ok(value) = plain.parse::<f64>() {
            #[expect(clippy::cast_possible_truncation, reason = "Go formats as float32")]
            return number(go_format_float32(value as f32));
        }
    }
    None
}

/// `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint` as go-yaml
/// does: a sign, then `0x`/`0o`/`0b` or a leading `0` for octal.
fn go_parse_int(s: &str) -> Option<i128> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    let value = if negative {
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    // ParseInt takes [-2^63, 2^63), ParseUint [0, 2^64).
    (value >= i128::from(i64::MIN)).then_some(value)
}

/// go-yaml v2's float pattern: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml11_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let all_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => !frac.is_empty() && all_digits(frac),
        Some((int, frac)) => !int.is_empty() && all_digits(int) && all_digits(frac),
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest digits that read
/// back as the same float32, in `%e` form when the exponent is below -4 or
/// at least 6 (the precision Go's shortest `g` form decides with), plain
/// otherwise.
fn go_format_float32(value: f32) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        format!("{value}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(text: &str) -> Option<(&'static str, String)> {
        resolve(text).map(|s| (s.what, s.text))
    }

    #[test]
    fn booleans_of_yaml_1_1() {
        for t in ["yes", "Y", "on", "TRUE"] {
            assert_eq!(reading(t), Some(("a boolean", "true".into())), "{t}");
        }
        for t in ["no", "n", "Off", "false"] {
            assert_eq!(reading(t), Some(("a boolean", "false".into())), "{t}");
        }
        assert_eq!(reading("yess"), None);
    }

    #[test]
    fn integers_in_every_base() {
        assert_eq!(reading("443"), Some(("a number", "443".into())));
        assert_eq!(reading("0x40"), Some(("a number", "64".into())));
        assert_eq!(reading("0755"), Some(("a number", "493".into())));
        assert_eq!(reading("0o17"), Some(("a number", "15".into())));
        assert_eq!(reading("0b101"), Some(("a number", "5".into())));
        assert_eq!(reading("-1"), Some(("a number", "-1".into())));
        assert_eq!(reading("1_000"), Some(("a number", "1000".into())));
        assert_eq!(
            reading("18446744073709551615"),
            Some(("a number", "18446744073709551615".into()))
        );
    }

    #[test]
    fn floats_as_go_formats_them() {
        assert_eq!(reading("1.10"), Some(("a number", "1.1".into())));
        assert_eq!(reading("1e3"), Some(("a number", "1000".into())));
        // Not octal, but a float for go-yaml.
        assert_eq!(reading("08"), Some(("a number", "8".into())));
        assert_eq!(reading(".5"), Some(("a number", "0.5".into())));
        assert_eq!(reading("1e-7"), Some(("a number", "1e-07".into())));
        assert_eq!(reading(".inf"), Some(("a number", "+Inf".into())));
        assert_eq!(reading("123456.0"), Some(("a number", "123456".into())));
        assert_eq!(
            reading("1234567.0"),
            Some(("a number", "1.234567e+06".into()))
        );
    }

    #[test]
    fn text_stays_text() {
        for t in [
            "/etc/passwd",
            "10.0.0.0/8",
            "1m",
            "5/minute",
            "sys_openat",
            "1.2.3.4",
            "0x",
            "-",
            "",
            "80-90",
        ] {
            assert_eq!(reading(t), None, "{t}");
        }
    }
}
