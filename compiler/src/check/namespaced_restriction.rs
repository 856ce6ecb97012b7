//! Flags what a `TracingPolicyNamespaced` cannot have.
//!
//! What it does: reports a namespaced policy without `metadata.namespace`
//! (an error for the agent reading a file; `kubectl apply -n` fills it in)
//! and warns about a namespaced policy with a `hostSelector`, which Tetragon
//! overrides to `null`.
//! Why: the agent's validation requires the namespace of a namespaced
//! object; and a namespaced policy only ever applies to pods of its own
//! namespace, so Tetragon drops the host selection with a warning
//! ("TracingPolicyNamespaced cannot match host workloads").
//! Example: `kind: TracingPolicyNamespaced` with `spec.hostSelector: {}`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{Policy, PolicyKind};

pub const CHECK: Check = Check {
    name: "namespaced_restriction",
    codes: &[Code::NamespacedRestriction],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    if policy.kind != PolicyKind::TracingPolicyNamespaced {
        return;
    }
    if policy
        .namespace
        .as_ref()
        .is_none_or(|n| n.value.trim().is_empty())
    {
        out.push(
            Diagnostic::of(Code::NamespacedRestriction, format!("`TracingPolicyNamespaced` `{}` has no `metadata.namespace`", policy.name.value))
                .with_primary(policy.name.span, "which namespace does it apply to?")
                .with_secondary(policy.kind_span, "namespaced kind")
                .with_help("add `namespace: <namespace>` under `metadata`")
                .with_note("`kubectl apply -n NS` fills the namespace in, but the Tetragon agent refuses a namespaced policy file without one"),
        );
    }
    if let Some(host) = &policy.host_selector {
        out.push(
            Diagnostic::new(Code::NamespacedRestriction, Severity::Warning, "a `TracingPolicyNamespaced` cannot select host processes; Tetragon sets `hostSelector` to null")
                .with_primary(host.span, "overridden to null")
                .with_secondary(policy.kind_span, "namespaced kind")
                .with_help("remove `hostSelector` (or write `hostSelector: null`), or use a cluster-wide `TracingPolicy` to include host processes")
                .with_note("the agent logs \"TracingPolicyNamespaced cannot match host workloads\" and applies the policy to pods of its namespace only"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::with_code;
    use super::*;

    fn namespaced(metadata: &str, spec_extra: &str) -> String {
        format!(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicyNamespaced\nmetadata:\n  name: ns-policy\n{metadata}spec:\n  kprobes: [{{call: sys_openat}}]\n{spec_extra}"
        )
    }

    #[test]
    fn namespace_is_required() {
        assert_eq!(
            with_code(&namespaced("", ""), Code::NamespacedRestriction).len(),
            1
        );
        assert!(
            with_code(
                &namespaced("  namespace: team-a\n", ""),
                Code::NamespacedRestriction
            )
            .is_empty()
        );
    }

    #[test]
    fn host_selector_is_dropped() {
        let d = with_code(
            &namespaced("  namespace: team-a\n", "  hostSelector: {}\n"),
            Code::NamespacedRestriction,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(
            with_code(
                &namespaced("  namespace: team-a\n", "  hostSelector: null\n"),
                Code::NamespacedRestriction
            )
            .is_empty()
        );
    }
}
