//! Explains selector constructs that do something else than they suggest.
//!
//! What it does: reports `followChildren` on `matchBinaries` entries whose
//! operator is not `In`/`NotIn` (refused); warns about a selector without
//! filters whose only action is `NoPost` (it silences the hook), and about
//! `CapabilitiesGained` after other argument filters of its selector (its
//! result replaces theirs); notes that `matchParentBinaries` needs the
//! agent's parents map, that `matchWorkloads` depends on pod metadata, and
//! that enforcement actions are skipped in `policy-mode: monitor`.
//! Why: these are behind "my filter does not work" reports: Tetragon loads
//! them (except the first) and behaves differently from what the YAML reads
//! like.
//! Example: `matchBinaries: [{operator: Prefix, values: [/usr/], followChildren: true}]`.

use super::{Check, option_named};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{ActionKind, BinaryOp, Operator, Policy};

pub const CHECK: Check = Check {
    name: "surprising_semantics",
    codes: &[Code::UnsupportedFilterOption, Code::SurprisingSemantics],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let monitor = option_named(policy, "policy-mode")
        .and_then(|o| o.value.as_ref())
        .is_some_and(|v| v.value.trim() == "monitor");
    let mut parents_noted = false;
    let mut workloads_noted = false;
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for (key, filters) in [
                ("matchBinaries", &sel.match_binaries),
                ("matchParentBinaries", &sel.match_parent_binaries),
            ] {
                for f in filters {
                    if f.follow_children
                        && !matches!(f.operator.value, BinaryOp::In | BinaryOp::NotIn)
                    {
                        out.push(
                            Diagnostic::of(Code::UnsupportedFilterOption, format!("`followChildren` does not work with `{}` in `{key}`", f.operator.value.as_str()))
                                .with_primary(f.operator.span, "only `In` and `NotIn` follow children")
                                .with_help("list the exact binary paths with `operator: In`, or drop `followChildren`")
                                .with_note(format!("Tetragon refuses the policy: \"followChildren not yet implemented for operation '{}'\"", f.operator.value.as_str())),
                        );
                    }
                }
            }
            if let (Some(f), false) = (sel.match_parent_binaries.first(), parents_noted) {
                parents_noted = true;
                out.push(
                    Diagnostic::of(Code::SurprisingSemantics, "`matchParentBinaries` works only when the agent runs with `--parents-map-enabled`")
                        .with_primary(f.span, "needs the parents map")
                        .with_note("without that flag Tetragon refuses the policy: \"matchParentBinaries selector can be used only with parents map enabled\""),
                );
            }
            if let (Some(w), false) = (&sel.match_workloads, workloads_noted) {
                workloads_noted = true;
                out.push(
                    Diagnostic::of(Code::SurprisingSemantics, "`matchWorkloads` matches on pod and container metadata")
                        .with_primary(w.span, "decided by Kubernetes metadata")
                        .with_note("Tetragon applies it only with pod information (the agent's policy filter); `tpc` cannot evaluate it when replaying events that lack pod metadata"),
                );
            }
            let only_no_post = !sel.match_actions.is_empty()
                && sel
                    .match_actions
                    .iter()
                    .all(|a| matches!(a.kind, ActionKind::NoPost));
            if sel.is_unconditional() && only_no_post {
                out.push(
                    Diagnostic::warning(Code::SurprisingSemantics, format!("selector {} matches every event and only suppresses it", sel.index))
                        .with_primary(sel.span, "silences the hook from here on")
                        .with_help("add filters that pick the events to drop, and put this selector before the ones that should post")
                        .with_note("events that no selector matches are dropped anyway, so a catch-all `NoPost` only hides events"),
                );
            }
            let arg_filters: Vec<_> = sel.match_args.iter().chain(&sel.match_data).collect();
            if let Some(pos) = arg_filters
                .iter()
                .position(|f| f.operator.value == Operator::CapabilitiesGained)
            {
                if pos > 0 {
                    out.push(
                        Diagnostic::warning(Code::SurprisingSemantics, "`CapabilitiesGained` replaces the result of the argument filters before it")
                            .with_primary(arg_filters[pos].operator.span, "ignores the filters above")
                            .with_secondary(arg_filters[0].span, "this filter's result is overwritten")
                            .with_help("put the `CapabilitiesGained` filter first in `matchArgs`")
                            .with_note("Tetragon's BPF programs assign its result instead of ANDing it with the earlier filters"),
                    );
                }
            }
            if monitor {
                for a in &sel.match_actions {
                    if matches!(
                        a.kind,
                        ActionKind::Sigkill
                            | ActionKind::Signal { .. }
                            | ActionKind::Override { .. }
                            | ActionKind::NotifyEnforcer { .. }
                    ) {
                        out.push(
                            Diagnostic::of(Code::SurprisingSemantics, format!("`{}` is skipped in `policy-mode: monitor`", a.kind.name()))
                                .with_primary(a.name_span, "not enforced in monitor mode")
                                .with_note("the event still names the action, although it did not run; switch to `policy-mode: enforce` to enforce"),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;
    use crate::diagnostics::Severity;

    #[test]
    fn follow_children_with_prefix() {
        let y = policy(
            "  kprobes:\n  - call: sys_execve\n    selectors:\n    - matchBinaries: [{operator: OP, values: [/usr/bin/], followChildren: true}]\n",
        );
        let d = with_code(&y.replace("OP", "Prefix"), Code::UnsupportedFilterOption);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Error);
        assert!(with_code(&y.replace("OP", "In"), Code::UnsupportedFilterOption).is_empty());
    }

    #[test]
    fn catch_all_no_post() {
        let y = policy(
            "  kprobes:\n  - call: sys_execve\n    selectors:\n    - matchActions: [{action: ACTION}]\n",
        );
        let d = with_code(&y.replace("ACTION", "NoPost"), Code::SurprisingSemantics);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(with_code(&y.replace("ACTION", "Post"), Code::SurprisingSemantics).is_empty());
    }

    #[test]
    fn parents_map_and_monitor_notes() {
        let y = policy(
            "  kprobes:\n  - call: sys_execve\n    selectors:\n    - matchParentBinaries: [{operator: In, values: [/usr/bin/sshd]}]\n      matchActions: [{action: Sigkill}]\nOPTIONS",
        );
        assert_eq!(
            with_code(&y.replace("OPTIONS", ""), Code::SurprisingSemantics).len(),
            1
        );
        let monitor = y.replace(
            "OPTIONS",
            "  options: [{name: policy-mode, value: monitor}]\n",
        );
        assert_eq!(with_code(&monitor, Code::SurprisingSemantics).len(), 2);
    }
}
