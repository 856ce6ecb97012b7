//! Flags selectors with more filters of one kind than Tetragon evaluates.
//!
//! What it does: reports more than 5 `matchArgs` + `matchData` entries in a
//! selector, more than 10 `matchNamespaces` entries, more than one
//! `matchNamespaceChanges` entry, and more than 8 `CelExpr` filters in a
//! policy (errors); warns about more than one `matchPIDs`,
//! `matchCapabilities` or `matchCapabilityChanges` entry, of which the BPF
//! programs evaluate only the first. (More than one `matchBinaries` entry is
//! a schema error reported by the frontend.)
//! Why: the agent refuses the first group ("parseMatchArgs: supports up to 5
//! filters", "matchNamespaceChanges supports only a single filter"). The
//! second group loads, but the BPF reader consumes one entry and reads the
//! rest of the selector out of step, so the extra entries are not ANDed as
//! the documentation says. It is a warning rather than an error because
//! Tetragon's own examples do it and load.
//! Example: `matchPIDs: [{operator: NotIn, values: [1]}, {operator: NotIn,
//! values: [0]}]`; write one entry `{operator: NotIn, values: [0, 1]}`.

use super::{Check, arg_filters};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{Operator, Policy};
use crate::span::Span;

pub const CHECK: Check = Check {
    name: "too_many_filters",
    codes: &[Code::TooManyFilters],
    run,
};

/// `matchArgs` + `matchData` entries per selector (kernels ≥ 5.3).
pub const MAX_ARG_FILTERS: usize = 5;
/// `matchNamespaces` entries per selector (kernels ≥ 5.3).
pub const MAX_NAMESPACE_FILTERS: usize = 10;
/// `CelExpr` filters per policy.
pub const MAX_CEL_EXPRESSIONS: usize = 8;

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let mut cel: Vec<Span> = Vec::new();
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            let arg_spans: Vec<Span> = sel
                .match_args
                .iter()
                .chain(&sel.match_data)
                .map(|f| f.span)
                .collect();
            if arg_spans.len() > MAX_ARG_FILTERS {
                out.push(
                    Diagnostic::of(
                        Code::TooManyFilters,
                        format!(
                            "this selector has {} argument filters (`matchArgs` {} + `matchData` {}); Tetragon evaluates at most {MAX_ARG_FILTERS}",
                            arg_spans.len(),
                            sel.match_args.len(),
                            sel.match_data.len()
                        ),
                    )
                    .with_primary(arg_spans[MAX_ARG_FILTERS], format!("filter {} is over the limit", MAX_ARG_FILTERS + 1))
                    .with_help("merge filters on the same argument (values in one filter are ORed), or move some into another selector")
                    .with_note("Tetragon refuses the policy: \"parseMatchArgs: supports up to 5 filters\" (1 on kernels before 5.3)"),
                );
            }
            if sel.match_namespaces.len() > MAX_NAMESPACE_FILTERS {
                out.push(
                    Diagnostic::of(
                        Code::TooManyFilters,
                        format!("this selector has {} `matchNamespaces` entries; Tetragon takes at most {MAX_NAMESPACE_FILTERS}", sel.match_namespaces.len()),
                    )
                    .with_primary(sel.match_namespaces[MAX_NAMESPACE_FILTERS].span, "over the limit")
                    .with_help("there are only 10 namespace kinds: merge the entries of the same kind"),
                );
            }
            if let Some(second) = sel.match_namespace_changes.get(1) {
                out.push(
                    Diagnostic::of(Code::TooManyFilters, "a selector takes a single `matchNamespaceChanges` entry")
                        .with_primary(second.span, "second entry")
                        .with_secondary(sel.match_namespace_changes[0].span, "first entry")
                        .with_help("list every namespace in the `values` of one entry")
                        .with_note("Tetragon refuses the policy: \"matchNamespaceChanges supports only a single filter\""),
                );
            }
            let only_first = [
                (
                    "matchPIDs",
                    sel.match_pids.iter().map(|f| f.span).collect::<Vec<_>>(),
                    "merge the values into one entry (at most 4 PIDs), or use one selector per entry",
                ),
                (
                    "matchCapabilities",
                    sel.match_capabilities.iter().map(|f| f.span).collect(),
                    "merge the capabilities into one entry, or use one selector per entry",
                ),
                (
                    "matchCapabilityChanges",
                    sel.match_capability_changes
                        .iter()
                        .map(|f| f.span)
                        .collect(),
                    "merge the capabilities into one entry, or use one selector per entry",
                ),
            ];
            for (key, spans, help) in only_first {
                if spans.len() > 1 {
                    out.push(
                        Diagnostic::warning(
                            Code::TooManyFilters,
                            format!("only the first `{key}` entry of a selector is evaluated; this selector has {}", spans.len()),
                        )
                        .with_primary(spans[1], "not evaluated as written")
                        .with_secondary(spans[0], "only this entry counts")
                        .with_help(help)
                        .with_note("Tetragon's BPF programs read one entry and then read the rest of the selector out of step, so the extra entries are not ANDed as documented"),
                    );
                }
            }
            for (_, f) in arg_filters(sel) {
                if f.operator.value == Operator::CelExpr {
                    cel.push(f.operator.span);
                }
            }
        }
    }
    if cel.len() > MAX_CEL_EXPRESSIONS {
        out.push(
            Diagnostic::of(
                Code::TooManyFilters,
                format!("the policy has {} `CelExpr` filters; Tetragon takes at most {MAX_CEL_EXPRESSIONS} per policy", cel.len()),
            )
            .with_primary(cel[MAX_CEL_EXPRESSIONS], "over the limit")
            .with_help("combine expressions with `&&`/`||`, or split the policy"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;
    use crate::diagnostics::Severity;

    #[test]
    fn six_argument_filters() {
        let filter = "      - {index: 0, operator: NotEqual, values: [\"1\"]}\n";
        let y = |n: usize| {
            policy(&format!(
                "  kprobes:\n  - call: sys_read\n    args: [{{index: 0, type: int}}]\n    selectors:\n    - matchArgs:\n{}",
                filter.repeat(n)
            ))
        };
        assert_eq!(with_code(&y(6), Code::TooManyFilters).len(), 1);
        assert!(with_code(&y(5), Code::TooManyFilters).is_empty());
    }

    #[test]
    fn second_pid_entry_is_a_warning() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_clock_settime
    selectors:
    - matchPIDs:
      - {operator: NotIn, values: [1]}
      - {operator: NotIn, values: [0]}
"#,
        );
        let d = with_code(&y, Code::TooManyFilters);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert_eq!(primary_text(&y, &d[0]), "{operator: NotIn, values: [0]}");
    }

    #[test]
    fn namespace_changes_take_one_entry() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_setns
    selectors:
    - matchNamespaceChanges:
      - {operator: In, values: [Mnt]}
      - {operator: In, values: [Net]}
"#,
        );
        let d = with_code(&y, Code::TooManyFilters);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Error);
    }
}
