//! Kernel-dependent checks: the policy's hooks, calls and arguments against
//! one kernel's types (BTF, a carried kernel, tracefs `format` files), plus
//! the host checks that look at files on this machine (uprobe binaries).
//!
//! One check per file, named after what it flags, each with its codes and a
//! doc comment (What it does / Why / Example). A kernel check runs once per
//! kernel on a [`KernelContext`], which resolves what every hook attaches to
//! on that kernel once, so the checks share the lookups. Checks write
//! messages that do not name the kernel, and keep kernel-specific facts (the
//! arch's syscall symbol, a prototype) in notes and help where they can: the
//! driver then groups identical findings across kernels into one diagnostic
//! with a [`crate::diagnostics::KernelScope`] ("on 5.10, 6.1: …; fine on
//! 6.12").

mod arg_index_out_of_range;
mod arg_type_mismatch;
mod call_not_found;
mod lsm_hook_not_found;
mod resolve_path;
mod return_type_mismatch;
mod syscall_mismatch;
mod target;
mod tracepoint_not_found;
mod uprobe_target;

pub use target::{Attachment, CallOutcome, CallTarget, HookOnKernel, KernelContext, Prototype};

use crate::btf::KernelInfo;
use crate::diagnostics::{Code, Diagnostic, suggest};
use crate::ir::Policy;
use crate::span::Span;

/// A registered kernel check.
pub struct KernelCheck {
    /// The file's name, e.g. `call_not_found`.
    pub name: &'static str,
    /// The codes it may emit.
    pub codes: &'static [Code],
    pub run: fn(&KernelContext<'_>, &mut Vec<Diagnostic>),
}

/// A registered host check: it looks at this machine, not at a kernel, and
/// runs once per policy.
pub struct HostCheck {
    pub name: &'static str,
    pub codes: &'static [Code],
    pub run: fn(&Policy, &mut Vec<Diagnostic>),
}

/// Every kernel check, in the order they run.
pub static KERNEL_CHECKS: &[KernelCheck] = &[
    call_not_found::CHECK,
    syscall_mismatch::CHECK,
    lsm_hook_not_found::CHECK,
    tracepoint_not_found::CHECK,
    arg_index_out_of_range::CHECK,
    arg_type_mismatch::CHECK,
    return_type_mismatch::CHECK,
    resolve_path::CHECK,
];

/// Every host check.
pub static HOST_CHECKS: &[HostCheck] = &[uprobe_target::CHECK];

/// Runs every kernel check on one policy against one kernel. The findings
/// carry no kernel scope; the driver adds it when it groups them.
pub fn run_all(kernel: &dyn KernelInfo, policy: &Policy) -> Vec<Diagnostic> {
    let context = KernelContext::new(kernel, policy);
    let mut out = Vec::new();
    for check in KERNEL_CHECKS {
        (check.run)(&context, &mut out);
    }
    out
}

/// Runs every host check on one policy.
pub fn run_host_checks(policy: &Policy) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for check in HOST_CHECKS {
        (check.run)(policy, &mut out);
    }
    out
}

/// The kernel function closest to `wanted`, for "did you mean" help: at
/// most one edit per six characters, and at most two (kernel names share
/// long prefixes, so a looser limit suggests unrelated siblings).
pub(crate) fn closest_function(kernel: &dyn KernelInfo, wanted: &str) -> Option<String> {
    let limit = (wanted.chars().count() / 6).clamp(1, 2);
    let mut best: Option<(usize, String)> = None;
    kernel.for_each_function_name(&mut |name| {
        if name.len().abs_diff(wanted.len()) > limit || name == wanted {
            return;
        }
        let distance = suggest::edit_distance(wanted, name);
        let better = best.as_ref().is_none_or(|(best_distance, best_name)| {
            (distance, name) < (*best_distance, best_name.as_str())
        });
        if distance <= limit && better {
            best = Some((distance, name.to_string()));
        }
    });
    best.map(|(_, name)| name)
}

/// The part of `span` (the YAML scalar holding `value`) that holds
/// `value[range]`, when the scalar is written plainly or in simple quotes
/// (its length is the value's, or the value's plus two); else the whole span.
pub(crate) fn sub_span(span: Span, value: &str, range: std::ops::Range<usize>) -> Span {
    let quote = match span.len().checked_sub(value.len()) {
        Some(0) => 0,
        Some(2) => 1,
        _ => return span,
    };
    if range.end > value.len() || range.start >= range.end {
        return span;
    }
    let start = span.start as usize + quote + range.start;
    let end = span.start as usize + quote + range.end;
    Span::new(span.file, start, end)
}

/// `1 parameter`, `3 parameters`.
pub(crate) fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests;
