//! Kernel-independent checks on the IR. One check per file, each named after
//! what it flags, with the codes it emits and a doc comment (What it does /
//! Why / Example) that doubles as documentation. Checks only read the IR and
//! append diagnostics; they never change it.

use crate::diagnostics::{Code, Diagnostic};
use crate::ir::Policy;

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
