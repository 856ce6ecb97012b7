//! Flags filters with no values where their operator needs some, and values
//! where the operator reads none.
//!
//! What it does: warns about `matchArgs`/`matchData`/`matchReturnArgs`
//! entries, `matchBinaries`, `matchParentBinaries`, `matchPIDs`,
//! `matchNamespaces`, `matchNamespaceChanges`, `matchCapabilities` and
//! `matchCapabilityChanges` entries with an empty `values` list, and about
//! values given to `CapabilitiesGained` (which compares two arguments and
//! ignores them); reports a `CelExpr` filter without exactly one expression.
//! Why: Tetragon loads an empty filter without complaint, and it then never
//! matches (or, negated, excludes nothing). An empty `matchBinaries` once
//! made Tetragon drop every event (cilium/tetragon PR 4022); now it is
//! ignored. A `CelExpr` filter takes a single expression ("only a single
//! CelExpr value is supported").
//! Example: `matchBinaries: [{operator: In, values: []}]`.

use super::{Check, arg_filters};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{ListKind, Operator, Policy, SetOp};
use crate::span::Span;

pub const CHECK: Check = Check {
    name: "values_count",
    codes: &[Code::ValuesCount],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    // A `list:` of a generated list expands to no values in the IR, so an
    // empty map filter may be one; do not guess then.
    let generated_list_used = policy
        .lists
        .iter()
        .any(|l| l.used && matches!(l.kind, ListKind::GeneratedSyscalls | ListKind::GeneratedFtrace));
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for (list, filter) in arg_filters(sel) {
                let op = filter.operator.value;
                match op {
                    Operator::SPortPriv | Operator::NotSPortPriv | Operator::DPortPriv | Operator::NotDPortPriv => {}
                    Operator::CapabilitiesGained => {
                        if let Some(first) = filter.values.first() {
                            out.push(
                                Diagnostic::warning(Code::ValuesCount, "`CapabilitiesGained` ignores `values`")
                                    .with_primary(first.span, "ignored")
                                    .with_help("remove `values`: the operator compares the two capability sets named in `args`"),
                            );
                        }
                    }
                    Operator::CelExpr if filter.values.len() != 1 => {
                        let at = filter.values.get(1).map_or(filter.operator.span, |v| v.span);
                        out.push(
                            Diagnostic::error(
                                Code::ValuesCount,
                                format!("a `CelExpr` filter takes exactly one expression, found {}", filter.values.len()),
                            )
                            .with_primary(at, if filter.values.is_empty() { "no expression" } else { "one expression too many" })
                            .with_help("combine the conditions into one expression with `&&` or `||`, or write one filter per expression")
                            .with_note("Tetragon refuses the policy: \"only a single CelExpr value is supported\""),
                        );
                    }
                    Operator::CelExpr => {}
                    Operator::InMap | Operator::NotInMap if generated_list_used => {}
                    _ if filter.values.is_empty() => {
                        let effect = if op.is_negated() {
                            "it excludes nothing"
                        } else {
                            "it can never match, so the selector never matches"
                        };
                        out.push(
                            Diagnostic::warning(
                                Code::ValuesCount,
                                format!("this `{}` filter on {} has no values: {effect}", op.as_str(), list.key()),
                            )
                            .with_primary(filter.operator.span, "no values to compare with")
                            .with_help("list the values to compare with under `values`, or remove the filter"),
                        );
                    }
                    _ => {}
                }
            }
            for (key, filters) in [("matchBinaries", &sel.match_binaries), ("matchParentBinaries", &sel.match_parent_binaries)] {
                for f in filters.iter().filter(|f| f.values.is_empty()) {
                    out.push(
                        Diagnostic::warning(Code::ValuesCount, format!("this `{key}` entry has no values, so Tetragon ignores it"))
                            .with_primary(f.operator.span, "no binaries listed")
                            .with_help("list the binary paths under `values`, or remove the entry")
                            .with_note("the entry matches every binary; older Tetragon releases instead dropped every event of the selector (cilium/tetragon PR 4022)"),
                    );
                }
            }
            for f in sel.match_pids.iter().filter(|f| f.values.is_empty()) {
                out.push(empty_set("matchPIDs", f.operator.value, f.operator.span, "PIDs"));
            }
            for f in sel.match_namespaces.iter().filter(|f| f.values.is_empty()) {
                out.push(empty_set("matchNamespaces", f.operator.value, f.operator.span, "namespace inodes (or `host_ns`)"));
            }
            for f in sel.match_namespace_changes.iter().filter(|f| f.values.is_empty()) {
                out.push(empty_set("matchNamespaceChanges", f.operator.value, f.operator.span, "namespace names"));
            }
            for f in sel.match_capabilities.iter().filter(|f| f.values.is_empty()) {
                out.push(empty_set("matchCapabilities", f.operator.value, f.operator.span, "capability names"));
            }
            for f in sel.match_capability_changes.iter().filter(|f| f.values.is_empty()) {
                out.push(empty_set("matchCapabilityChanges", f.operator.value, f.operator.span, "capability names"));
            }
        }
    }
}

fn empty_set(key: &str, op: SetOp, span: Span, what: &str) -> Diagnostic {
    let effect = match op {
        SetOp::In => "`In` with no values never matches, so the selector never matches",
        SetOp::NotIn => "`NotIn` with no values excludes nothing",
    };
    Diagnostic::new(Code::ValuesCount, Severity::Warning, format!("this `{key}` entry has no values: {effect}"))
        .with_primary(span, "no values")
        .with_help(format!("list the {what} under `values`, or remove the entry"))
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;

    #[test]
    fn empty_match_binaries_is_ignored() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_execve
    selectors:
    - matchBinaries:
      - operator: In
        values: VALUES
"#,
        );
        let d = with_code(&y.replace("VALUES", "[]"), Code::ValuesCount);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(with_code(&y.replace("VALUES", "[/usr/bin/bash]"), Code::ValuesCount).is_empty());
    }

    #[test]
    fn empty_arg_filter_and_empty_pids() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_write
    args: [{index: 0, type: int}]
    selectors:
    - matchArgs: [{index: 0, operator: Equal, values: ARGS}]
      matchPIDs: [{operator: NotIn, values: PIDS}]
"#,
        );
        let both = with_code(&y.replace("ARGS", "[]").replace("PIDS", "[]"), Code::ValuesCount);
        assert_eq!(both.len(), 2, "{both:#?}");
        let clean = y.replace("ARGS", "[\"1\"]").replace("PIDS", "[1]");
        assert!(with_code(&clean, Code::ValuesCount).is_empty());
        let only_args = y.replace("ARGS", "[]").replace("PIDS", "[1]");
        let d = with_code(&only_args, Code::ValuesCount);
        assert_eq!(primary_text(&only_args, &d[0]), "Equal");
    }

    #[test]
    fn priv_operators_need_no_values_and_cel_needs_one() {
        let y = policy(
            r#"
  kprobes:
  - call: tcp_connect
    syscall: false
    args: [{index: 0, type: sock}]
    selectors:
    - matchArgs: [{index: 0, operator: DPortPriv}]
"#,
        );
        assert!(with_code(&y, Code::ValuesCount).is_empty());
        let cel = y.replace("{index: 0, operator: DPortPriv}", "{index: 0, operator: CelExpr, values: [\"a\", \"b\"]}");
        let d = with_code(&cel, Code::ValuesCount);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Error);
    }
}
