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
use crate::diagnostics::{Code, Diagnostic};
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
    run_all_for(kernel, policy, crate::tetragon::TetragonVersion::default())
}

/// Runs every kernel check on one policy with the rules of `tetragon`.
pub fn run_all_for(
    kernel: &dyn KernelInfo,
    policy: &Policy,
    tetragon: crate::tetragon::TetragonVersion,
) -> Vec<Diagnostic> {
    let context = KernelContext::new(kernel, policy).for_tetragon(tetragon);
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

/// The kernel function closest to `wanted`, for "did you mean" help (see
/// [`Closest`] for how close is close enough).
pub(crate) fn closest_function(kernel: &dyn KernelInfo, wanted: &str) -> Option<String> {
    let mut closest = Closest::new(wanted);
    kernel.for_each_function_name(&mut |name| closest.offer(name));
    closest.best()
}

/// The closest of many names to a wanted one: at most one edit per six
/// characters, and at most two (kernel names share long prefixes and
/// suffixes, so a looser limit suggests unrelated siblings). Ties go to the
/// name that sorts first.
pub(crate) struct Closest<'w> {
    wanted: &'w str,
    limit: usize,
    best: Option<(usize, String)>,
    rows: BoundedRows,
}

impl<'w> Closest<'w> {
    pub(crate) fn new(wanted: &'w str) -> Self {
        Closest {
            wanted,
            limit: (wanted.len() / 6).clamp(1, 2),
            best: None,
            rows: BoundedRows::default(),
        }
    }

    pub(crate) fn offer(&mut self, name: &str) {
        if name.len().abs_diff(self.wanted.len()) > self.limit || name == self.wanted {
            return;
        }
        let Some(distance) =
            self.rows
                .distance_within(self.wanted.as_bytes(), name.as_bytes(), self.limit)
        else {
            return;
        };
        let better = self.best.as_ref().is_none_or(|(best_distance, best_name)| {
            (distance, name) < (*best_distance, best_name.as_str())
        });
        if better {
            self.best = Some((distance, name.to_string()));
        }
    }

    pub(crate) fn best(self) -> Option<String> {
        self.best.map(|(_, name)| name)
    }
}

/// Reusable rows for [`BoundedRows::distance_within`], so scanning tens of
/// thousands of names allocates nothing per name.
#[derive(Default)]
struct BoundedRows {
    previous: Vec<usize>,
    current: Vec<usize>,
}

impl BoundedRows {
    /// The Levenshtein distance between `a` and `b` when it is at most
    /// `limit`; stops as soon as every entry of a row is over the limit.
    fn distance_within(&mut self, a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
        self.previous.clear();
        self.previous.extend(0..=b.len());
        self.current.clear();
        self.current.resize(b.len() + 1, 0);
        for (i, &ca) in a.iter().enumerate() {
            self.current[0] = i + 1;
            let mut row_min = self.current[0];
            for (j, &cb) in b.iter().enumerate() {
                let substitution = self.previous[j] + usize::from(ca != cb);
                let value = substitution
                    .min(self.previous[j + 1] + 1)
                    .min(self.current[j] + 1);
                self.current[j + 1] = value;
                row_min = row_min.min(value);
            }
            if row_min > limit {
                return None;
            }
            std::mem::swap(&mut self.previous, &mut self.current);
        }
        let distance = self.previous[b.len()];
        (distance <= limit).then_some(distance)
    }
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
