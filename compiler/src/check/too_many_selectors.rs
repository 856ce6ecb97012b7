//! Flags hooks with more selectors than Tetragon supports.
//!
//! What it does: reports every selector after the fifth on one hook.
//! Why: Tetragon evaluates selectors with one tail call each and has five;
//! the CRD schema has no `maxItems`, so `kubectl apply` accepts a sixth, and
//! the agent then refuses the policy ("no more than 5 selectors supported").
//! Example: six entries under `selectors:`; merge two of them, or split the
//! hook into two policies.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::Policy;

/// Tetragon's `MaxSelectors`.
pub const MAX_SELECTORS: usize = 5;

pub const CHECK: Check = Check {
    name: "too_many_selectors",
    codes: &[Code::TooManySelectors],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let n = hook.selectors.len();
        if n <= MAX_SELECTORS {
            continue;
        }
        let extra = &hook.selectors[MAX_SELECTORS];
        out.push(
            Diagnostic::of(
                Code::TooManySelectors,
                format!("{} has {n} selectors; Tetragon supports at most {MAX_SELECTORS}", hook.display_name()),
            )
            .with_primary(extra.span, format!("selector {} is over the limit", MAX_SELECTORS + 1))
            .with_help("merge selectors that share actions (values inside one filter are ORed), or split the hook into two policies")
            .with_note("the CRD schema does not limit selectors, so `kubectl apply` accepts this; the agent refuses it"),
        );
    }
}
