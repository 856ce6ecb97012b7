//! Flags string values longer (or shorter) than Tetragon can match.
//!
//! What it does: checks the byte length of text values per operator:
//! `Equal`/`NotEqual` on strings and paths take 1 to 4096 bytes (and only
//! 510 on kernels before 5.11, 144 before 5.4, which get a warning and a
//! note); `Prefix`/`NotPrefix` at most 256; `Postfix`/`NotPostfix` at most
//! 127; `SubString` less than 100; `matchBinaries`/`matchParentBinaries`
//! paths at most 255 for `In`/`NotIn`, with the same prefix and postfix
//! limits.
//! Why: Tetragon refuses such values when the policy loads ("string is too
//! long", "string is empty", "string is longer than 127 characters",
//! "Binary names > 255 chars not supported"), possibly only on some of the
//! kernels the policy is deployed to.
//! Example: a 300-character `Prefix`.

use super::{Check, arg_filters, filter_decl};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::types::FilterGroup;
use crate::ir::{BinaryOp, FilterValue, Operator, Policy};
use crate::span::Span;

pub const CHECK: Check = Check {
    name: "string_too_long",
    codes: &[Code::StringTooLong],
    run,
};

/// `Equal` string limit on kernels ≥ 5.11.
pub const MAX_EQUAL: usize = 4096;
/// `Equal` string limit on kernels 5.4 to 5.10.
pub const MAX_EQUAL_BEFORE_5_11: usize = 510;
/// `Equal` string limit on kernels before 5.4.
pub const MAX_EQUAL_BEFORE_5_4: usize = 144;
pub const MAX_PREFIX: usize = 256;
pub const MAX_POSTFIX: usize = 127;
/// `SubString` values must be shorter than this.
pub const SUBSTRING_LIMIT: usize = 100;
/// `matchBinaries` `In`/`NotIn` path limit.
pub const MAX_BINARY_PATH: usize = 255;

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for (_, filter) in arg_filters(sel) {
                let op = filter.operator.value;
                let text_arg = filter_decl(hook, filter)
                    .and_then(|d| d.ty.value.filter_group())
                    .is_some_and(|g| g == FilterGroup::Text);
                for v in &filter.values {
                    let FilterValue::Text(text) = &v.value else {
                        continue;
                    };
                    let len = text.len();
                    match op {
                        Operator::Equal | Operator::NotEqual if text_arg => {
                            equal_value(op, len, v.span, out)
                        }
                        Operator::Prefix | Operator::NotPrefix if len > MAX_PREFIX => {
                            out.push(too_long(
                                op.as_str(),
                                len,
                                MAX_PREFIX,
                                v.span,
                                "Tetragon's prefix trie holds at most 256 bytes",
                            ));
                        }
                        Operator::Postfix | Operator::NotPostfix if len > MAX_POSTFIX => {
                            out.push(too_long(
                                op.as_str(),
                                len,
                                MAX_POSTFIX,
                                v.span,
                                "Tetragon compares at most the last 127 bytes",
                            ));
                        }
                        Operator::SubString | Operator::SubStringIgnCase
                            if len >= SUBSTRING_LIMIT =>
                        {
                            out.push(too_long(
                                op.as_str(),
                                len,
                                SUBSTRING_LIMIT - 1,
                                v.span,
                                "Tetragon's substring search takes values shorter than 100 bytes",
                            ));
                        }
                        _ => {}
                    }
                }
            }
            for (key, filters) in [
                ("matchBinaries", &sel.match_binaries),
                ("matchParentBinaries", &sel.match_parent_binaries),
            ] {
                for f in filters {
                    let (max, why) = match f.operator.value {
                        BinaryOp::In | BinaryOp::NotIn => {
                            (MAX_BINARY_PATH, "binary paths are stored in 256-byte slots")
                        }
                        BinaryOp::Prefix | BinaryOp::NotPrefix => {
                            (MAX_PREFIX, "Tetragon's prefix trie holds at most 256 bytes")
                        }
                        BinaryOp::Postfix | BinaryOp::NotPostfix => {
                            (MAX_POSTFIX, "Tetragon compares at most the last 127 bytes")
                        }
                    };
                    for v in f.values.iter().filter(|v| v.value.len() > max) {
                        let what = format!("`{key}` `{}`", f.operator.value.as_str());
                        out.push(too_long(&what, v.value.len(), max, v.span, why));
                    }
                }
            }
        }
    }
}

fn too_long(what: &str, len: usize, max: usize, span: Span, why: &str) -> Diagnostic {
    Diagnostic::of(
        Code::StringTooLong,
        format!("{what} value is {len} bytes long; Tetragon takes at most {max}"),
    )
    .with_primary(span, format!("{len} bytes"))
    .with_help("shorten the value (a shorter prefix or suffix still matches the same paths)")
    .with_note(format!("{why}; the policy is refused when it loads"))
}

fn equal_value(op: Operator, len: usize, span: Span, out: &mut Vec<Diagnostic>) {
    let name = op.as_str();
    if len == 0 {
        out.push(
            Diagnostic::of(
                Code::StringTooLong,
                format!("`{name}` with an empty string"),
            )
            .with_primary(span, "empty")
            .with_help("remove the empty value; captured strings are never empty")
            .with_note("Tetragon refuses the policy: \"string is empty\""),
        );
    } else if len > MAX_EQUAL {
        out.push(too_long(
            &format!("`{name}`"),
            len,
            MAX_EQUAL,
            span,
            "Tetragon's string maps hold at most 4096 bytes",
        ));
    } else if len > MAX_EQUAL_BEFORE_5_11 {
        out.push(
            Diagnostic::new(
                Code::StringTooLong,
                Severity::Warning,
                format!("`{name}` value is {len} bytes long: kernels before 5.11 take at most {MAX_EQUAL_BEFORE_5_11}"),
            )
            .with_primary(span, format!("{len} bytes"))
            .with_help("use `Prefix` with a shorter value if the policy must load on 5.10 and older kernels")
            .with_note("Tetragon sizes its string maps by kernel: 4096 bytes from 5.11, 510 on 5.4 to 5.10, 144 before 5.4; a longer value fails to load there"),
        );
    } else if len > MAX_EQUAL_BEFORE_5_4 {
        out.push(
            Diagnostic::new(
                Code::StringTooLong,
                Severity::Note,
                format!("`{name}` value is {len} bytes long: kernels before 5.4 take at most {MAX_EQUAL_BEFORE_5_4}"),
            )
            .with_primary(span, format!("{len} bytes"))
            .with_note("only matters if the policy must load on kernels older than 5.4"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    fn equal(values: &str, operator: &str) -> String {
        policy(&format!(
            r#"
  kprobes:
  - call: sys_openat
    args: [{{index: 1, type: string}}]
    selectors:
    - matchArgs: [{{index: 1, operator: {operator}, values: {values}}}]
"#
        ))
    }

    #[test]
    fn equal_lengths_by_kernel() {
        let severities = |len: usize| -> Vec<Severity> {
            let v = format!("[\"/{}\"]", "a".repeat(len - 1));
            with_code(&equal(&v, "Equal"), Code::StringTooLong)
                .iter()
                .map(|d| d.severity)
                .collect()
        };
        assert_eq!(severities(144), Vec::<Severity>::new());
        assert_eq!(severities(145), vec![Severity::Note]);
        assert_eq!(severities(600), vec![Severity::Warning]);
        assert_eq!(severities(4096), vec![Severity::Warning]);
        assert_eq!(severities(4097), vec![Severity::Error]);
        let empty = with_code(&equal("[\"\"]", "Equal"), Code::StringTooLong);
        assert_eq!(empty.len(), 1);
        assert!(empty[0].message.contains("empty"));
    }

    #[test]
    fn prefix_and_postfix_limits() {
        let v = |n: usize| format!("[\"{}\"]", "x".repeat(n));
        assert!(with_code(&equal(&v(256), "Prefix"), Code::StringTooLong).is_empty());
        assert_eq!(
            with_code(&equal(&v(257), "Prefix"), Code::StringTooLong).len(),
            1
        );
        assert!(with_code(&equal(&v(127), "Postfix"), Code::StringTooLong).is_empty());
        assert_eq!(
            with_code(&equal(&v(128), "NotPostfix"), Code::StringTooLong).len(),
            1
        );
        assert!(with_code(&equal(&v(99), "SubString"), Code::StringTooLong).is_empty());
        assert_eq!(
            with_code(&equal(&v(100), "SubString"), Code::StringTooLong).len(),
            1
        );
    }

    #[test]
    fn binary_paths() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_execve
    selectors:
    - matchBinaries: [{operator: In, values: [PATH]}]
"#,
        );
        assert_eq!(
            with_code(
                &y.replace("PATH", &format!("/{}", "b".repeat(255))),
                Code::StringTooLong
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &y.replace("PATH", &format!("/{}", "b".repeat(254))),
                Code::StringTooLong
            )
            .is_empty()
        );
    }
}
