//! Flags `enforcers` sections Tetragon refuses, and `NotifyEnforcer`
//! without one.
//!
//! What it does: reports more than one `spec.enforcers` entry, enforcer
//! calls that are neither syscalls nor `security_*` functions (after
//! `list:` expansion), and a `NotifyEnforcer` action in a policy without
//! `enforcers`.
//! Why: the agent refuses the policy ("we support only single enforcer
//! sensor", "enforcer sensor requires either syscall or security_ functions",
//! "NotifyEnforcer action specified, but spec contains no enforcers").
//! Example: `enforcers: [{calls: [fd_install]}]`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::names::{is_security_function, is_syscall_symbol};
use crate::ir::{ActionKind, Policy};

pub const CHECK: Check = Check {
    name: "invalid_enforcer",
    codes: &[Code::InvalidEnforcer],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    if let [first, second, ..] = policy.enforcers.as_slice() {
        out.push(
            Diagnostic::of(
                Code::InvalidEnforcer,
                format!(
                    "a policy takes one `enforcers` entry, this one has {}",
                    policy.enforcers.len()
                ),
            )
            .with_primary(second.span, "second enforcer")
            .with_secondary(first.span, "first enforcer")
            .with_help("merge the `calls` of all entries into the first one")
            .with_note("Tetragon refuses the policy: \"we support only single enforcer sensor\""),
        );
    }
    for enforcer in &policy.enforcers {
        for call in &enforcer.calls {
            // Entries of syscall lists are checked with their list.
            let from_syscall_list = call
                .from_list
                .as_deref()
                .and_then(|l| super::list_named(policy, l))
                .is_some_and(|l| l.kind.is_syscalls());
            let name = call.name.as_str();
            if from_syscall_list
                || name.starts_with("list:")
                || is_syscall_symbol(name)
                || is_security_function(name)
            {
                continue;
            }
            out.push(
                Diagnostic::of(Code::InvalidEnforcer, format!("enforcer call `{name}` is neither a syscall nor a `security_*` function"))
                    .with_primary(call.span, "cannot be enforced")
                    .with_help(format!("write the syscall as `sys_{name}` if it is one, or enforce on the `security_*` function that checks it"))
                    .with_note(format!("Tetragon refuses the policy: \"enforcer sensor requires either syscall or security_ functions and symbol '{name}' appears to be neither\"")),
            );
        }
    }
    if policy.enforcers.is_empty() {
        let notify = policy
            .hooks
            .iter()
            .flat_map(|h| &h.selectors)
            .flat_map(|s| s.match_actions.iter().chain(&s.match_return_actions))
            .find(|a| matches!(a.kind, ActionKind::NotifyEnforcer { .. }));
        if let Some(action) = notify {
            out.push(
                Diagnostic::of(Code::InvalidEnforcer, "`NotifyEnforcer` needs an `enforcers` section in the spec")
                    .with_primary(action.name_span, "no enforcer to notify")
                    .with_help("add `enforcers: [{calls: [...]}]` listing the syscalls the enforcer should stop (often `list:` of the same syscall list)")
                    .with_note("Tetragon refuses the policy: \"NotifyEnforcer action specified, but spec contains no enforcers\""),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    #[test]
    fn enforcer_calls() {
        let y = policy("  enforcers:\n  - calls: [CALL]\n");
        assert_eq!(
            with_code(&y.replace("CALL", "fd_install"), Code::InvalidEnforcer).len(),
            1
        );
        assert!(with_code(&y.replace("CALL", "sys_dup"), Code::InvalidEnforcer).is_empty());
        assert!(
            with_code(
                &y.replace("CALL", "security_file_open"),
                Code::InvalidEnforcer
            )
            .is_empty()
        );
        assert_eq!(
            with_code(
                &format!("{y}  - calls: [sys_dup2]\n").replace("CALL", "sys_dup"),
                Code::InvalidEnforcer
            )
            .len(),
            1
        );
        let listed = policy(
            "  lists: [{name: dups, type: syscalls, values: [i386/sys_dup, sys_dup2]}]\n  enforcers:\n  - calls: [\"list:dups\"]\n",
        );
        assert!(with_code(&listed, Code::InvalidEnforcer).is_empty());
    }

    #[test]
    fn notify_enforcer_needs_an_enforcer() {
        let y = policy(
            "  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    selectors:\n    - matchActions: [{action: NotifyEnforcer, argSig: 9}]\nENFORCERS",
        );
        assert_eq!(
            with_code(&y.replace("ENFORCERS", ""), Code::InvalidEnforcer).len(),
            1
        );
        assert!(
            with_code(
                &y.replace("ENFORCERS", "  enforcers: [{calls: [sys_dup]}]\n"),
                Code::InvalidEnforcer
            )
            .is_empty()
        );
    }
}
