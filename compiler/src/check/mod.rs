//! Kernel-independent checks on the IR. One check per file, each named after
//! what it flags, with the codes it emits and a doc comment (What it does /
//! Why / Example) that doubles as documentation. Checks only read the IR and
//! append diagnostics; they never change it.

use crate::diagnostics::{Code, Diagnostic};
use crate::ir::Policy;

pub mod kernel;
mod mixed_hook_sections;
mod too_many_selectors;

/// A registered check.
pub struct Check {
    /// The file's name, e.g. `too_many_selectors`.
    pub name: &'static str,
    /// The codes it may emit.
    pub codes: &'static [Code],
    pub run: fn(&Policy, &mut Vec<Diagnostic>),
}

/// Every check, in the order they run.
pub static CHECKS: &[Check] = &[
    mixed_hook_sections::CHECK,
    too_many_selectors::CHECK,
];

/// Runs every check on one policy.
pub fn run_all(policy: &Policy) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for check in CHECKS {
        (check.run)(policy, &mut out);
    }
    out
}

/// Test support: parses `yaml`, runs the frontend and every check, and
/// returns all diagnostics (frontend's first).
#[cfg(test)]
pub(crate) fn diagnostics_for(yaml: &str) -> Vec<Diagnostic> {
    let parsed = crate::front::parse_policies(crate::span::FileId(0), yaml);
    let mut diags = parsed.diagnostics;
    for p in &parsed.policies {
        diags.extend(run_all(p));
    }
    diags
}

/// Test support: the codes of [`diagnostics_for`], in order.
#[cfg(test)]
pub(crate) fn codes_for(yaml: &str) -> Vec<Code> {
    diagnostics_for(yaml).iter().map(|d| d.code).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIX_SELECTORS: &str = r#"
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: six
spec:
  kprobes:
  - call: sys_write
    selectors:
    - matchPIDs: [{operator: In, values: [1]}]
    - matchPIDs: [{operator: In, values: [2]}]
    - matchPIDs: [{operator: In, values: [3]}]
    - matchPIDs: [{operator: In, values: [4]}]
    - matchPIDs: [{operator: In, values: [5]}]
    - matchPIDs: [{operator: In, values: [6]}]
"#;

    #[test]
    fn six_selectors_is_one_too_many() {
        let d = diagnostics_for(SIX_SELECTORS);
        let hits: Vec<_> = d.iter().filter(|d| d.code == Code::TooManySelectors).collect();
        assert_eq!(hits.len(), 1, "{d:#?}");
        let span = hits[0].primary_span().expect("labelled");
        assert!(SIX_SELECTORS[span.range()].contains("[6]"));
        assert!(!codes_for(&SIX_SELECTORS.replace("    - matchPIDs: [{operator: In, values: [6]}]\n", "")).contains(&Code::TooManySelectors));
    }

    #[test]
    fn mixed_sections() {
        let y = r#"
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: mixed}
spec:
  kprobes: [{call: sys_write}]
  tracepoints: [{subsystem: syscalls, event: sys_enter_write}]
"#;
        assert!(codes_for(y).contains(&Code::MixedHookSections));
    }
}
