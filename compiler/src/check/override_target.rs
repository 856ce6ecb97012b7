//! Flags `Override` on kprobes whose function Tetragon will not override.
//!
//! What it does: reports an `Override` in `matchActions` of a kprobe whose
//! call (or any call of its `list:`) is neither a syscall (`syscall: true`
//! or a syscall list) nor a `security_*` function.
//! Why: Tetragon overrides syscalls with `bpf_override_return` and
//! `security_*` functions with fmod_ret, and refuses anything else ("override
//! action can be used only with syscalls and security_ hooks").
//! Example: `Override` on `fd_install`; hook `security_file_open` (or an
//! LSM hook) to deny the operation instead.

use super::{Check, call_is_syscall, list_named};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::names::is_security_function;
use crate::ir::{ActionKind, HookKind, HookTarget, ListKind, Policy};

pub const CHECK: Check = Check {
    name: "override_target",
    codes: &[Code::OverrideTarget],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        if hook.kind() != HookKind::Kprobe {
            continue;
        }
        let HookTarget::Kprobe { calls, .. } = &hook.target else {
            continue;
        };
        let Some(action) = hook
            .selectors
            .iter()
            .flat_map(|s| &s.match_actions)
            .find(|a| matches!(a.kind, ActionKind::Override { .. }))
        else {
            continue;
        };
        for call in calls {
            let generated_ftrace = call
                .from_list
                .as_deref()
                .and_then(|l| list_named(policy, l))
                .is_some_and(|l| l.kind == ListKind::GeneratedFtrace);
            if generated_ftrace
                || call_is_syscall(policy, hook, call)
                || is_security_function(&call.name)
            {
                continue;
            }
            let origin = match &call.from_list {
                Some(l) => format!(" (from `list:{l}`)"),
                None => String::new(),
            };
            out.push(
                Diagnostic::of(
                    Code::OverrideTarget,
                    format!("`Override` on `{}`{origin}, which is neither a syscall nor a `security_*` function", call.name),
                )
                .with_primary(action.name_span, "Tetragon cannot override this function")
                .with_secondary(call.span, "hooked function")
                .with_help("override the syscall that leads here (`call: sys_NAME`), or the LSM check (`security_*` or an `lsmhooks` entry); use `Sigkill` to stop the process instead")
                .with_note("Tetragon refuses the policy: \"override action can be used only with syscalls and security_ hooks\""),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    #[test]
    fn override_needs_a_syscall_or_security_function() {
        let y = policy(
            "  kprobes:\n  - call: FUNC\n    syscall: FLAG\n    selectors:\n    - matchActions: [{action: Override, argError: -1}]\n",
        );
        let check = |c: &str, s: &str| {
            with_code(
                &y.replace("FUNC", c).replace("FLAG", s),
                Code::OverrideTarget,
            )
        };
        let d = check("fd_install", "false");
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, crate::diagnostics::Severity::Error);
        assert!(check("security_file_open", "false").is_empty());
        assert!(check("sys_openat", "true").is_empty());
    }
}
