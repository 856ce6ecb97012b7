//! Flags LSM hooks that a kernel does not have.
//!
//! What it does: looks `hook:` up as the kernel's `bpf_lsm_<hook>` attach
//! point (the name is written without `bpf_lsm_` or `security_`).
//! Why: the BPF LSM program cannot attach, and Tetragon refuses the policy.
//! Example: `hook: file_opn`, or `hook: security_file_open` (write
//! `file_open`).

use super::{Attachment, Closest, KernelCheck, KernelContext};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::HookTarget;

pub const CHECK: KernelCheck = KernelCheck {
    name: "lsm_hook_not_found",
    codes: &[Code::LsmHookNotFound],
    run,
};

fn run(context: &KernelContext<'_>, out: &mut Vec<Diagnostic>) {
    for hook in &context.hooks {
        let (HookTarget::Lsm { hook: name }, Attachment::Lsm(None)) =
            (&hook.hook.target, &hook.attachment)
        else {
            continue;
        };
        let wanted = name.value.as_str();
        let known = context.kernel.lsm_hooks();
        // A prefixed name of a real hook is reported, kernel-independently,
        // by the `hook_target` check; saying it again per kernel adds nothing.
        let stripped = wanted
            .strip_prefix("bpf_lsm_")
            .or_else(|| wanted.strip_prefix("security_"));
        if stripped.is_some_and(|bare| known.iter().any(|hook| hook == bare)) {
            continue;
        }
        let mut diagnostic = Diagnostic::error(
            Code::LsmHookNotFound,
            format!("LSM hook `{wanted}` does not exist"),
        )
        .with_primary(
            name.span,
            format!("no `bpf_lsm_{wanted}` in the kernel's BTF"),
        );
        let help = {
            let mut closest = Closest::new(wanted);
            for hook in &known {
                closest.offer(hook);
            }
            closest
                .best()
                .map(|close| format!("did you mean `{close}`?"))
        };
        if let Some(help) = help {
            diagnostic = diagnostic.with_help(help);
        }
        out.push(diagnostic);
    }
}
