//! Flags Kubernetes label selectors that are refused or cannot match.
//!
//! What it does: checks `podSelector`, `containerSelector`, `hostSelector`,
//! `nodeSelector` and the selectors inside `matchWorkloads`:
//! `matchExpressions` with `In`/`NotIn` need `values` and those with
//! `Exists`/`DoesNotExist` take none; `hostSelector` may only be `null` or
//! `{}`; `containerSelector` keys other than `name` (the only key the CRD
//! documents) and `repo` (also in Tetragon's docs) are warned about.
//! Why: the API server refuses malformed selectors and the CRD's rule
//! "The hostSelector should be either null or {}"; a container selector on
//! a field Tetragon does not fill never matches, so the policy applies to
//! no container.
//! Example: `hostSelector: {matchLabels: {node-role: worker}}`; use
//! `nodeSelector` to choose nodes.

use super::Check;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{LabelOp, LabelSelector, Policy};
use crate::span::Span;

pub const CHECK: Check = Check {
    name: "label_selectors",
    codes: &[Code::InvalidLabelSelector],
    run,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Pod,
    Container,
    Host,
    Node,
}

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let top = [
        (Role::Pod, &policy.pod_selector),
        (Role::Container, &policy.container_selector),
        (Role::Host, &policy.host_selector),
        (Role::Node, &policy.node_selector),
    ];
    for (role, sel) in top {
        if let Some(sel) = sel {
            check(role, sel, out);
        }
    }
    for hook in &policy.hooks {
        for s in &hook.selectors {
            let Some(w) = &s.match_workloads else {
                continue;
            };
            for (role, sel) in [
                (Role::Pod, &w.pod_selector),
                (Role::Container, &w.container_selector),
                (Role::Host, &w.host_selector),
            ] {
                if let Some(sel) = sel {
                    check(role, sel, out);
                }
            }
        }
    }
}

fn check(role: Role, sel: &LabelSelector, out: &mut Vec<Diagnostic>) {
    for req in &sel.match_expressions {
        let op = req.operator.value;
        match op {
            LabelOp::In | LabelOp::NotIn if req.values.is_empty() => out.push(
                Diagnostic::of(Code::InvalidLabelSelector, format!("`{}` on `{}` needs at least one value", op_name(op), req.key.value))
                    .with_primary(req.operator.span, "no `values`")
                    .with_help("list the label values under `values`, or use `Exists`/`DoesNotExist`")
                    .with_note("the API server refuses the policy: values must be specified when operator is In or NotIn"),
            ),
            LabelOp::Exists | LabelOp::DoesNotExist if !req.values.is_empty() => out.push(
                Diagnostic::of(Code::InvalidLabelSelector, format!("`{}` takes no values", op_name(op)))
                    .with_primary(req.values[0].span, "must be empty")
                    .with_help("remove `values`, or use `In`/`NotIn` to compare values")
                    .with_note("the API server refuses the policy: values must be empty when operator is Exists or DoesNotExist"),
            ),
            _ => {}
        }
    }
    match role {
        Role::Host if !sel.is_empty() => out.push(
            Diagnostic::of(Code::InvalidLabelSelector, "`hostSelector` can only be `null` or `{}`")
                .with_primary(sel.span, "labels are not supported here")
                .with_help("write `hostSelector: {}` to include host processes, or `null` to exclude them; use `nodeSelector` to choose nodes by label")
                .with_note("the CRD's rule: \"The hostSelector should be either null or {}\""),
        ),
        Role::Container => {
            let keys = sel
                .match_labels
                .iter()
                .map(|(k, _)| (k.value.as_str(), k.span))
                .chain(sel.match_expressions.iter().map(|r| (r.key.value.as_str(), r.key.span)));
            for (key, span) in keys {
                if !matches!(key, "name" | "repo") {
                    out.push(unknown_container_key(key, span));
                }
            }
        }
        _ => {}
    }
}

fn unknown_container_key(key: &str, span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(Code::InvalidLabelSelector, Severity::Warning, format!("`containerSelector` cannot select on `{key}`"))
        .with_primary(span, "not a container field Tetragon knows")
        .with_help("select containers by `name` (the container's name in the pod spec)")
        .with_note("the CRD documents only the `name` field (Tetragon's docs also list `repo`); any other key matches no container");
    if let Some(s) = crate::diagnostics::suggest::did_you_mean(key, ["name", "repo"]) {
        d = d.with_help(format!("did you mean `{s}`?"));
    }
    d
}

fn op_name(op: LabelOp) -> &'static str {
    match op {
        LabelOp::In => "In",
        LabelOp::NotIn => "NotIn",
        LabelOp::Exists => "Exists",
        LabelOp::DoesNotExist => "DoesNotExist",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    #[test]
    fn host_selector_only_null_or_empty() {
        let y = policy("  kprobes: [{call: sys_openat}]\n  hostSelector: HOST\n");
        assert!(with_code(&y.replace("HOST", "{}"), Code::InvalidLabelSelector).is_empty());
        assert_eq!(
            with_code(
                &y.replace("HOST", "{matchLabels: {role: node}}"),
                Code::InvalidLabelSelector
            )
            .len(),
            1
        );
    }

    #[test]
    fn expressions_and_container_keys() {
        let y = policy(
            "  kprobes: [{call: sys_openat}]\n  podSelector:\n    matchExpressions: [{key: app, operator: OP}]\n",
        );
        assert_eq!(
            with_code(&y.replace("OP", "In"), Code::InvalidLabelSelector).len(),
            1
        );
        assert!(with_code(&y.replace("OP", "Exists"), Code::InvalidLabelSelector).is_empty());
        let c = policy(
            "  kprobes: [{call: sys_openat}]\n  containerSelector:\n    matchLabels: {KEY: nginx}\n",
        );
        assert!(with_code(&c.replace("KEY", "name"), Code::InvalidLabelSelector).is_empty());
        let d = with_code(&c.replace("KEY", "image"), Code::InvalidLabelSelector);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
    }
}
