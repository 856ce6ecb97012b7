//! Flags argument filters that Tetragon loads but that cannot do what they
//! say.
//!
//! What it does: warns about `Prefix`/`Postfix` (and their negations) on
//! integers, capability sets and sockets, which never match; any filter on a
//! type the BPF programs cannot compare (`cred`, `filename`, `kiocb`, ...),
//! which is skipped and always passes; `SubString` on anything but `string`
//! and `char_buf`, which the agent loads without values; `NotEqual` on a
//! number with two or more different values, which is always true; `GT` on
//! the unsigned 64-, 16- and 8-bit types, which the BPF programs evaluate as
//! `<`; and `State` on an `skb`, which carries no TCP state. It also notes
//! that the negated operators on files and paths do not match objects that
//! have no path at all.
//! Why: the policy loads, so nothing tells the author that the selector
//! matches something else than written.
//! Example: `NotEqual` with values `0` and `1` on an `int`; use `NotInMap`
//! to exclude both.

use super::operator_type_mismatch::{Fit, fit, operators_for};
use super::{Check, arg_filters, decl_of, describe_target};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::types::FilterGroup;
use crate::ir::{ArgFilter, ArgType, FilterValue, Hook, Operator, Policy};
use std::collections::BTreeSet;

pub const CHECK: Check = Check {
    name: "ineffective_filter",
    codes: &[Code::IneffectiveFilter, Code::SurprisingSemantics],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for (_, filter) in arg_filters(sel) {
                check_filter(hook, filter, out);
            }
        }
    }
}

fn check_filter(hook: &Hook, filter: &ArgFilter, out: &mut Vec<Diagnostic>) {
    let Some(target) = filter.targets.first() else {
        return;
    };
    let Some(decl) = decl_of(hook, *target) else {
        return;
    };
    let op = filter.operator.value;
    let ty = decl.ty.value;
    let what = describe_target(hook, *target);
    let declared = |d: Diagnostic| d.with_secondary(decl.ty.span, format!("declared `{ty}` here"));
    match fit(op, ty) {
        Some(Fit::NeverMatches) if op == Operator::State => out.push(declared(
            Diagnostic::of(Code::IneffectiveFilter, format!("`State` never matches {what}: an `skb` carries no TCP state"))
                .with_primary(filter.operator.span, "never matches on an `skb`")
                .with_help("filter the socket state on a `sock` or `socket` argument instead"),
        )),
        Some(Fit::NeverMatches) if ty == ArgType::SockaddrUn => out.push(declared(
            Diagnostic::of(
                Code::IneffectiveFilter,
                format!("`{}` never matches {what}: the BPF programs compare a `sockaddr_un` path with `Equal`, `NotEqual`, `Prefix` and `NotPrefix` only", op.as_str()),
            )
            .with_primary(filter.operator.span, "never matches (negated or not)")
            .with_help(fitting(ty))
            .with_note("the agent loads the filter without an error; Tetragon's main branch adds `SubString` on kernels with `bpf_strnstr`"),
        )),
        Some(Fit::NeverMatches) => {
            let negated = if op.is_negated() { " (the negated form does not match either)" } else { "" };
            out.push(declared(
                Diagnostic::of(
                    Code::IneffectiveFilter,
                    format!("`{}` never matches {what}: it is declared `{ty}`, and the BPF programs compare text only for strings and paths", op.as_str()),
                )
                .with_primary(filter.operator.span, format!("never matches{negated}"))
                .with_help(fitting(ty)),
            ));
        }
        Some(Fit::AlwaysPasses) => out.push(declared(
            Diagnostic::of(
                Code::IneffectiveFilter,
                format!("Tetragon cannot filter `{ty}` values in BPF, so this `{}` filter is skipped and always passes", op.as_str()),
            )
            .with_primary(filter.operator.span, "ignored: always passes")
            .with_help(format!("filter another argument, or read {what} with a type Tetragon can compare (e.g. `file` or `string`)"))
            .with_note("the selector behaves as if this filter were not there"),
        )),
        Some(Fit::Ignored) => out.push(declared(
            Diagnostic::of(
                Code::IneffectiveFilter,
                format!("`{}` only works on `string` and `char_buf` arguments; on `{ty}` Tetragon loads it without its values", op.as_str()),
            )
            .with_primary(filter.operator.span, "no values are loaded for this type")
            .with_help(fitting(ty)),
        )),
        _ => {}
    }
    let group = ty.filter_group();
    let numeric = matches!(
        group,
        Some(FilterGroup::Int32 | FilterGroup::Int64 | FilterGroup::CapabilitySet)
    );
    if op == Operator::NotEqual && numeric {
        let distinct: BTreeSet<i128> = filter
            .values
            .iter()
            .filter_map(|v| match v.value {
                FilterValue::Int(n) => Some(n),
                _ => None,
            })
            .collect();
        if distinct.len() >= 2 {
            let second = filter
                .values
                .get(1)
                .map_or(filter.operator.span, |v| v.span);
            let help = if group == Some(FilterGroup::CapabilitySet) {
                "write one `NotEqual` filter per value (filters in a selector are ANDed)"
                    .to_string()
            } else {
                "use `NotInMap` with the same values to exclude all of them, or one `NotEqual` filter per value".to_string()
            };
            out.push(
                Diagnostic::of(
                    Code::IneffectiveFilter,
                    format!("`NotEqual` with {} different numbers is always true", distinct.len()),
                )
                .with_primary(second, "every number differs from at least one of the values")
                .with_secondary(filter.operator.span, "numeric `NotEqual` holds when the argument differs from *any* value")
                .with_help(help)
                .with_note("for strings `NotEqual` means \"none of\", but for numbers the BPF programs OR the comparisons"),
            );
        }
    }
    if op == Operator::Gt && ty.has_inverted_greater_than() {
        let example = filter.values.iter().find_map(|v| match v.value {
            FilterValue::Int(n) => Some(n),
            _ => None,
        });
        let max: i128 = match ty.class() {
            crate::ir::ArgClass::Integer { bits: 8, .. } => 255,
            crate::ir::ArgClass::Integer { bits: 16, .. } => 65_535,
            _ => i128::from(i64::MAX),
        };
        let help = match example {
            Some(n) if n < max => format!(
                "write `operator: InRange` with `values: [\"{}:{max}\"]` for \"greater than {n}\"",
                n + 1
            ),
            _ => "use `InRange` with an explicit `low:high` range".to_string(),
        };
        out.push(declared(
            Diagnostic::of(
                Code::IneffectiveFilter,
                format!("`GT` on a `{ty}` argument behaves as `LT` in Tetragon's BPF programs"),
            )
            .with_primary(filter.operator.span, "evaluated as \"less than\"")
            .with_help(help)
            .with_note("Tetragon compares unsigned 64-, 16- and 8-bit values (and `int16`/`int8`) the wrong way round for `GT`; 32-bit types and signed 64-bit types are fine"),
        ));
    }
    let negated_path_operator = matches!(
        op,
        Operator::NotEqual | Operator::NotPrefix | Operator::NotPostfix
    );
    if negated_path_operator && matches!(ty, ArgType::Fd | ArgType::File | ArgType::Path) {
        out.push(
            Diagnostic::of(
                Code::SurprisingSemantics,
                format!("`{}` on a `{ty}` does not match files that have no path (pipes, sockets, anonymous memory)", op.as_str()),
            )
            .with_primary(filter.operator.span, "no match when the path is empty")
            .with_note("Tetragon shows such files as \"/\" in events, but its BPF filters see an empty path, and every path operator, negated or not, fails on it"),
        );
    }
}

fn fitting(ty: ArgType) -> String {
    let ops = operators_for(ty);
    if ops.is_empty() {
        format!("Tetragon cannot filter `{ty}` arguments; filter another argument")
    } else {
        format!("operators that work on `{ty}`: {}", ops.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;
    use crate::diagnostics::Severity;

    fn kprobe_with(arg_type: &str, operator: &str, values: &str) -> String {
        policy(&format!(
            r#"
  kprobes:
  - call: sys_read
    args:
    - index: 0
      type: {arg_type}
    selectors:
    - matchArgs:
      - index: 0
        operator: {operator}
        values: {values}
"#
        ))
    }

    #[test]
    fn prefix_on_a_number_never_matches() {
        let d = with_code(
            &kprobe_with("int", "Prefix", "[\"1\"]"),
            Code::IneffectiveFilter,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("never matches"));
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(
            with_code(
                &kprobe_with("string", "Prefix", "[\"/etc\"]"),
                Code::IneffectiveFilter
            )
            .is_empty()
        );
    }

    #[test]
    fn filters_on_unfilterable_types_always_pass() {
        let d = with_code(
            &kprobe_with("cred", "Prefix", "[\"x\"]"),
            Code::IneffectiveFilter,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("always passes"));
    }

    #[test]
    fn substring_outside_strings_loads_no_values() {
        assert_eq!(
            with_code(
                &kprobe_with("file", "SubString", "[\"passwd\"]"),
                Code::IneffectiveFilter
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &kprobe_with("char_buf", "SubString", "[\"passwd\"]"),
                Code::IneffectiveFilter
            )
            .is_empty()
        );
    }

    #[test]
    fn numeric_not_equal_with_two_values_is_always_true() {
        let y = kprobe_with("int", "NotEqual", "[\"0\", \"1\"]");
        let d = with_code(&y, Code::IneffectiveFilter);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(primary_text(&y, &d[0]), "\"1\"");
        assert!(
            with_code(
                &kprobe_with("int", "NotEqual", "[\"0\", \"0\"]"),
                Code::IneffectiveFilter
            )
            .is_empty()
        );
        assert!(
            with_code(
                &kprobe_with("string", "NotEqual", "[\"a\", \"b\"]"),
                Code::IneffectiveFilter
            )
            .is_empty()
        );
    }

    #[test]
    fn unsigned_gt_is_inverted() {
        let d = with_code(
            &kprobe_with("uint64", "GT", "[\"100\"]"),
            Code::IneffectiveFilter,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(
            d[0].help
                .as_deref()
                .unwrap_or("")
                .contains("101:9223372036854775807")
        );
        assert!(
            with_code(
                &kprobe_with("uint32", "GT", "[\"100\"]"),
                Code::IneffectiveFilter
            )
            .is_empty()
        );
        assert!(
            with_code(
                &kprobe_with("int64", "GT", "[\"100\"]"),
                Code::IneffectiveFilter
            )
            .is_empty()
        );
    }

    #[test]
    fn state_on_skb_never_matches() {
        assert_eq!(
            with_code(
                &kprobe_with("skb", "State", "[TCP_ESTABLISHED]"),
                Code::IneffectiveFilter
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &kprobe_with("sock", "State", "[TCP_ESTABLISHED]"),
                Code::IneffectiveFilter
            )
            .is_empty()
        );
    }

    #[test]
    fn negated_path_operators_get_a_note() {
        let d = with_code(
            &kprobe_with("file", "NotPrefix", "[\"/tmp\"]"),
            Code::SurprisingSemantics,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Note);
        assert!(
            with_code(
                &kprobe_with("file", "Prefix", "[\"/tmp\"]"),
                Code::SurprisingSemantics
            )
            .is_empty()
        );
    }
}
