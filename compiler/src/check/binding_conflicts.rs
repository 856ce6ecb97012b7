//! Bindings of one template that apply to the same workload (CFP-4191's
//! conflict rules, shared with `tpc run` in `tpc_bundle::binding`).
//!
//! What it does: for every pair of `TracingPolicyBinding`s of one template
//! whose workloads share a process (the same or nested cgroups in
//! `spec.cgroups`, no selector at all, or equal pod/container selectors),
//! reports a conflict unless both allow an override with different
//! priorities (TPC305: both are rolled back), notes which binding overrides
//! the other (TPC306), and refuses overrides tpc's tables cannot express
//! (TPC307).
//! Why: which values apply to a workload must not depend on the order in
//! which bindings were applied.
//! Example: two bindings of `block-exec` with `cgroups:
//! [system.slice/web.service]` and no `overrideAllowed`.

use crate::diagnostics::{Code, Diagnostic};
use crate::ir::Policy;

/// The workload of a binding's policy, for the conflict rules.
pub fn binding_workload(policy: &Policy) -> tpc_bundle::binding::Workload {
    use tpc_bundle::binding::Workload;
    if let Some(b) = &policy.binding {
        if !b.cgroups.is_empty() {
            return Workload::Cgroups(b.cgroups.iter().map(|c| c.value.clone()).collect());
        }
    }
    let canonical = |s: &Option<crate::ir::LabelSelector>| -> Option<String> {
        let s = s.as_ref()?;
        let mut parts: Vec<String> = s
            .match_labels
            .iter()
            .map(|(k, v)| format!("{}={}", k.value, v.value))
            .collect();
        parts.extend(s.match_expressions.iter().map(|e| {
            let mut values: Vec<&str> = e.values.iter().map(|v| v.value.as_str()).collect();
            values.sort_unstable();
            format!(
                "{} {:?} {}",
                e.key.value,
                e.operator.value,
                values.join(",")
            )
        }));
        parts.sort();
        Some(parts.join(";"))
    };
    match (
        canonical(&policy.pod_selector),
        canonical(&policy.container_selector),
    ) {
        (None, None) => Workload::Everywhere,
        (pod, container) => Workload::Selectors(format!(
            "pods:{} containers:{}",
            pod.unwrap_or_default(),
            container.unwrap_or_default()
        )),
    }
}

/// Applies CFP-4191's rules to every pair of bindings of one template;
/// returns the indexes (into `bound`) rolled back.
pub fn run(bound: &[&Policy], diags: &mut Vec<Diagnostic>) -> Vec<usize> {
    use tpc_bundle::binding::{BindingUnit, Claim, Overlap, overlap};
    let units: Vec<(BindingUnit, tpc_bundle::binding::Workload)> = bound
        .iter()
        .map(|i| {
            let b = i.binding.as_ref();
            (
                BindingUnit {
                    template: b.map(|b| b.template.value.clone()).unwrap_or_default(),
                    override_allowed: b.is_some_and(|b| b.override_allowed),
                    override_priority: b.map_or(0, |b| b.override_priority),
                },
                binding_workload(i),
            )
        })
        .collect();
    let claims: Vec<Claim<'_>> = bound
        .iter()
        .zip(&units)
        .map(|(i, (binding, workload))| Claim {
            name: &i.name.value,
            binding,
            workload,
        })
        .collect();
    let mut rolled_back = Vec::new();
    for a in 0..claims.len() {
        for b in a + 1..claims.len() {
            let (pa, pb) = (bound[a], bound[b]);
            match overlap(&claims[a], &claims[b]) {
                Overlap::Disjoint => {}
                Overlap::Conflict { reason } => {
                    diags.push(
                        Diagnostic::of(Code::BindingConflict, reason)
                            .with_primary(pa.name.span, "this binding is rolled back")
                            .with_secondary(pb.name.span, "and so is this one")
                            .with_help("scope them to different workloads, or set `overrideAllowed: true` on both with different `overridePriority`"),
                    );
                    rolled_back.extend([a, b]);
                }
                Overlap::Override { winner, taken } => {
                    let (w, l) = if winner == 0 { (pa, pb) } else { (pb, pa) };
                    let places = taken
                        .iter()
                        .map(|t| {
                            if t.is_empty() {
                                "every process".to_owned()
                            } else {
                                t.clone()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    diags.push(
                        Diagnostic::of(
                            Code::BindingOverride,
                            format!(
                                "binding {} overrides {} on {places} (overridePriority {} over {})",
                                w.name.value,
                                l.name.value,
                                w.binding.as_ref().map_or(0, |b| b.override_priority),
                                l.binding.as_ref().map_or(0, |b| b.override_priority),
                            ),
                        )
                        .with_primary(w.name.span, "applies there")
                        .with_secondary(l.name.span, "does not apply there"),
                    );
                }
                Overlap::Unsupported { reason } => {
                    diags.push(
                        Diagnostic::of(Code::UnsupportedOverride, reason)
                            .with_primary(pa.name.span, "")
                            .with_secondary(pb.name.span, ""),
                    );
                    rolled_back.extend([a, b]);
                }
            }
        }
    }
    rolled_back.sort_unstable();
    rolled_back.dedup();
    rolled_back
}
