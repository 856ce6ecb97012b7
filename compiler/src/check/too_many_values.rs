//! Flags filters with more values than Tetragon takes.
//!
//! What it does: reports numeric argument filters (`Equal`, `NotEqual`,
//! `GT`, `LT`, `Mask` on integers and capability sets, `InRange`,
//! `NotInRange`) and `FileType` filters with more than 4 values,
//! `matchNamespaces` entries with more than 4 values, and `SubString`
//! filters with more than 100; warns about `matchPIDs` entries with more
//! than 4 PIDs (the BPF programs silently look at the first 4) and about
//! `InMap` ranges so large that loading them inserts millions of map
//! entries one by one.
//! Why: the agent refuses the policy ("selector does not support more than 4
//! values: consider using InMap or NotInMap operators"), or, for PIDs,
//! silently ignores the extra values.
//! Example: five numbers in one `Equal` filter on an `int`; use `InMap`.

use super::{Check, arg_filters, filter_decl, plural};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::types::FilterGroup;
use crate::ir::{FilterValue, Operator, Policy};

pub const CHECK: Check = Check {
    name: "too_many_values",
    codes: &[Code::TooManyValues],
    run,
};

/// Values per numeric, range and file-type filter (`writeMatchValues`).
pub const MAX_NUMERIC_VALUES: usize = 4;
/// Values per `matchNamespaces` entry.
pub const MAX_NAMESPACE_VALUES: usize = 4;
/// PIDs per `matchPIDs` entry the BPF programs read.
pub const MAX_PID_VALUES: usize = 4;
/// Values per `SubString` filter.
pub const MAX_SUBSTRING_VALUES: usize = 100;
/// An `InMap` range larger than this is worth a warning.
pub const LARGE_MAP_RANGE: i128 = 1 << 20;

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for (_, filter) in arg_filters(sel) {
                let op = filter.operator.value;
                let group = filter_decl(hook, filter).and_then(|d| d.ty.value.filter_group());
                let numeric = matches!(
                    group,
                    Some(FilterGroup::Int32 | FilterGroup::Int64 | FilterGroup::CapabilitySet)
                );
                let limit = match op {
                    Operator::Equal
                    | Operator::NotEqual
                    | Operator::Gt
                    | Operator::Lt
                    | Operator::Mask
                        if numeric =>
                    {
                        Some((
                            MAX_NUMERIC_VALUES,
                            "use `InMap` (or `NotInMap`), which takes any number of values",
                        ))
                    }
                    Operator::InRange | Operator::NotInRange => Some((
                        MAX_NUMERIC_VALUES,
                        "merge overlapping ranges, or use `InMap` with `low:high` ranges, which takes any number of them",
                    )),
                    Operator::FileType | Operator::NotFileType => {
                        Some((MAX_NUMERIC_VALUES, "split the filter across two selectors"))
                    }
                    Operator::SubString | Operator::SubStringIgnCase => Some((
                        MAX_SUBSTRING_VALUES,
                        "split the filter across selectors, or match on a common part",
                    )),
                    _ => None,
                };
                if let Some((max, help)) = limit {
                    if filter.values.len() > max {
                        out.push(
                            Diagnostic::of(
                                Code::TooManyValues,
                                format!(
                                    "`{}` takes at most {max} values here, found {}",
                                    op.as_str(),
                                    filter.values.len()
                                ),
                            )
                            .with_primary(
                                filter.values[max].span,
                                format!("value {} is over the limit", max + 1),
                            )
                            .with_secondary(filter.operator.span, "this operator")
                            .with_help(help)
                            .with_note("Tetragon refuses the policy when it loads"),
                        );
                    }
                }
                if matches!(op, Operator::InMap | Operator::NotInMap) {
                    for v in &filter.values {
                        if let FilterValue::Range { lo, hi } = v.value {
                            let size = hi - lo + 1;
                            if size > LARGE_MAP_RANGE {
                                out.push(
                                    Diagnostic::warning(
                                        Code::TooManyValues,
                                        format!("the range {lo}:{hi} puts {size} entries into a BPF map, one by one, when the policy loads"),
                                    )
                                    .with_primary(v.span, "expanded element by element")
                                    .with_help("use `InRange`/`NotInRange` for large ranges (at most 4 ranges per filter)"),
                                );
                            }
                        }
                    }
                }
            }
            for f in &sel.match_namespaces {
                if f.values.len() > MAX_NAMESPACE_VALUES {
                    out.push(
                        Diagnostic::of(
                            Code::TooManyValues,
                            format!("a `matchNamespaces` entry takes at most {MAX_NAMESPACE_VALUES} values, found {}", f.values.len()),
                        )
                        .with_primary(f.values[MAX_NAMESPACE_VALUES].span, format!("value {} is over the limit", MAX_NAMESPACE_VALUES + 1))
                        .with_help(format!("split the values over several `{}` entries in different selectors", f.namespace.value.as_str()))
                        .with_note("Tetragon refuses the policy: \"matchNamespace supports up to 4 values per filter\""),
                    );
                }
            }
            for f in &sel.match_pids {
                if f.values.len() > MAX_PID_VALUES {
                    let ignored = f.values.len() - MAX_PID_VALUES;
                    out.push(
                        Diagnostic::warning(
                            Code::TooManyValues,
                            format!("only the first {MAX_PID_VALUES} PIDs of a `matchPIDs` entry are used; {} ignored", plural(ignored, "is", "are")),
                        )
                        .with_primary(f.values[MAX_PID_VALUES].span, "PIDs from here on are ignored")
                        .with_help("split the PIDs across selectors, at most 4 per `matchPIDs` entry")
                        .with_note("the agent loads all of them, but the BPF programs compare only the first 4"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;
    use crate::diagnostics::Severity;

    #[test]
    fn five_numbers_in_equal_is_too_many() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_kill
    args: [{index: 1, type: int}]
    selectors:
    - matchArgs: [{index: 1, operator: Equal, values: VALUES}]
"#,
        );
        let five = y.replace("VALUES", "[\"1\", \"2\", \"3\", \"4\", \"9\"]");
        let d = with_code(&five, Code::TooManyValues);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(primary_text(&five, &d[0]), "\"9\"");
        assert!(
            with_code(
                &y.replace("VALUES", "[\"1\", \"2\", \"3\", \"9\"]"),
                Code::TooManyValues
            )
            .is_empty()
        );
        let in_map = five.replace("Equal", "InMap");
        assert!(with_code(&in_map, Code::TooManyValues).is_empty());
    }

    #[test]
    fn strings_are_not_limited_to_four() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_openat
    args: [{index: 1, type: string}]
    selectors:
    - matchArgs: [{index: 1, operator: Equal, values: [a, b, c, d, e, f]}]
"#,
        );
        assert!(with_code(&y, Code::TooManyValues).is_empty());
    }

    #[test]
    fn pids_are_clamped_with_a_warning() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_write
    selectors:
    - matchPIDs: [{operator: In, values: PIDS}]
"#,
        );
        let d = with_code(&y.replace("PIDS", "[1, 2, 3, 4, 5]"), Code::TooManyValues);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(with_code(&y.replace("PIDS", "[1, 2, 3, 4]"), Code::TooManyValues).is_empty());
    }

    #[test]
    fn namespaces_take_four_values() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_write
    selectors:
    - matchNamespaces: [{namespace: Mnt, operator: In, values: VALUES}]
"#,
        );
        assert_eq!(
            with_code(
                &y.replace("VALUES", "[\"1\", \"2\", \"3\", \"4\", \"5\"]"),
                Code::TooManyValues
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &y.replace("VALUES", "[\"1\", \"2\", \"3\", host_ns]"),
                Code::TooManyValues
            )
            .is_empty()
        );
    }

    #[test]
    fn huge_map_ranges_warn() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_write
    args: [{index: 2, type: uint64}]
    selectors:
    - matchArgs: [{index: 2, operator: InMap, values: [RANGE]}]
"#,
        );
        assert_eq!(
            with_code(&y.replace("RANGE", "\"0:100000000\""), Code::TooManyValues).len(),
            1
        );
        assert!(with_code(&y.replace("RANGE", "\"0:1000\""), Code::TooManyValues).is_empty());
    }
}
