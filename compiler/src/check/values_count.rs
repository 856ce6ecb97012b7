//! Flags filters with no values where their operator needs some, and values
//! where the operator reads none.
//!
//! What it does: warns about string and path filters in `matchArgs`/
//! `matchData`/`matchReturnArgs`, and `matchBinaries`/`matchParentBinaries`
//! entries, with an empty `values` list, and about
//! values given to `CapabilitiesGained` (which compares two arguments and
//! ignores them); reports a `CelExpr` filter without exactly one expression.
//! Why: Tetragon loads an empty filter without complaint, and it then never
//! matches (or, negated, excludes nothing). An empty `matchBinaries` once
//! made Tetragon drop every event (cilium/tetragon PR 4022); now it is
//! ignored. A `CelExpr` filter takes a single expression ("only a single
//! CelExpr value is supported").
//! Example: `matchBinaries: [{operator: In, values: []}]`.

use super::{Check, arg_filters};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{Operator, Policy, SetOp};

pub const CHECK: Check = Check {
    name: "values_count",
    codes: &[Code::ValuesCount],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for (list, filter) in arg_filters(sel) {
                let op = filter.operator.value;
                let written = filter.raw_values.len();
                match op {
                    Operator::SPortPriv
                    | Operator::NotSPortPriv
                    | Operator::DPortPriv
                    | Operator::NotDPortPriv => {
                        if let Some(first) = filter.raw_values.first() {
                            out.push(
                                Diagnostic::warning(Code::ValuesCount, format!("`{}` ignores `values`", op.as_str()))
                                    .with_primary(first.span, "ignored")
                                    .with_help(format!(
                                        "`{}` compares the port with 1024; to match given ports use `{}`",
                                        op.as_str(),
                                        match op {
                                            Operator::SPortPriv => "SPort",
                                            Operator::NotSPortPriv => "NotSPort",
                                            Operator::DPortPriv => "DPort",
                                            _ => "NotDPort",
                                        }
                                    )),
                            );
                        }
                    }
                    Operator::CapabilitiesGained => {
                        if let Some(first) = filter.raw_values.first() {
                            out.push(
                                Diagnostic::warning(Code::ValuesCount, "`CapabilitiesGained` ignores `values`")
                                    .with_primary(first.span, "ignored")
                                    .with_help("remove `values`: the operator compares the two capability sets named in `args`"),
                            );
                        }
                    }
                    Operator::CelExpr if written != 1 => {
                        let at = filter
                            .raw_values
                            .get(1)
                            .map_or(filter.operator.span, |v| v.span);
                        out.push(
                            Diagnostic::error(
                                Code::ValuesCount,
                                format!("a `CelExpr` filter takes exactly one expression, found {written}"),
                            )
                            .with_primary(at, if written == 0 { "no expression" } else { "one expression too many" })
                            .with_help("combine the conditions into one expression with `&&` or `||`, or write one filter per expression")
                            .with_note("Tetragon refuses the policy: \"only a single CelExpr value is supported\""),
                        );
                    }
                    _ if written == 0 => {
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
            for (key, filters) in [
                ("matchBinaries", &sel.match_binaries),
                ("matchParentBinaries", &sel.match_parent_binaries),
            ] {
                for f in filters.iter().filter(|f| f.values.is_empty()) {
                    out.push(
                        Diagnostic::warning(Code::ValuesCount, format!("this `{key}` entry has no values, so Tetragon ignores it"))
                            .with_primary(f.operator.span, "no binaries listed")
                            .with_help("list the binary paths under `values`, or remove the entry")
                            .with_note("the entry matches every binary; older Tetragon releases instead dropped every event of the selector (cilium/tetragon PR 4022)"),
                    );
                }
            }
            let set_filters = sel
                .match_pids
                .iter()
                .map(|f| ("matchPIDs", f.written, f.operator))
                .chain(
                    sel.match_namespaces
                        .iter()
                        .map(|f| ("matchNamespaces", f.written, f.operator)),
                )
                .chain(
                    sel.match_namespace_changes
                        .iter()
                        .map(|f| ("matchNamespaceChanges", f.written, f.operator)),
                )
                .chain(
                    sel.match_capabilities
                        .iter()
                        .map(|f| ("matchCapabilities", f.written, f.operator)),
                )
                .chain(
                    sel.match_capability_changes
                        .iter()
                        .map(|f| ("matchCapabilityChanges", f.written, f.operator)),
                );
            for (key, written, op) in set_filters {
                if written == 0 {
                    let effect = match op.value {
                        SetOp::In => {
                            "`In` an empty set never matches, so the selector never matches"
                        }
                        SetOp::NotIn => "`NotIn` an empty set matches everything",
                    };
                    out.push(
                        Diagnostic::warning(
                            Code::ValuesCount,
                            format!("this `{key}` entry has an empty `values` list: {effect}"),
                        )
                        .with_primary(op.span, "no values")
                        .with_help("list the values, or remove the entry"),
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
    fn empty_string_filter() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_openat
    args: [{index: 1, type: string}]
    selectors:
    - matchArgs: [{index: 1, operator: Equal, values: ARGS}]
"#,
        );
        let d = with_code(&y.replace("ARGS", "[]"), Code::ValuesCount);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(primary_text(&y.replace("ARGS", "[]"), &d[0]), "Equal");
        assert!(with_code(&y.replace("ARGS", "[/etc/passwd]"), Code::ValuesCount).is_empty());
    }

    #[test]
    fn invalid_values_are_not_reported_as_missing() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_mount
    selectors:
    - matchCapabilities: [{operator: NotIn, values: [SYS_ADMIN]}]
      matchNamespaces: [{namespace: Mnt, operator: NotIn, values: [host]}]
"#,
        );
        assert!(with_code(&y, Code::ValuesCount).is_empty());
        assert_eq!(with_code(&y, Code::InvalidValue).len(), 2);
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
        let cel = y.replace(
            "{index: 0, operator: DPortPriv}",
            "{index: 0, operator: CelExpr, values: [\"a\", \"b\"]}",
        );
        let d = with_code(&cel, Code::ValuesCount);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Error);
    }
}
