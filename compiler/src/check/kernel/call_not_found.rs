//! Flags kprobe/fentry calls that do not exist on a kernel.
//!
//! What it does: looks every `call` (every member of a `list:`) up among the
//! kernel's BTF functions; with `syscall: true`, it resolves the name the way
//! Tetragon does (`sys_openat` → `__x64_sys_openat` on x86_64,
//! `__arm64_sys_openat` on arm64) and looks for that symbol.
//! Why: Tetragon refuses the whole policy when a call is missing ("call not
//! found"), unless the hook has `ignore: {callNotFound: true}`, in which case
//! it skips the call on that kernel: the finding is then a note.
//! Example: `call: dev_queue_xmit` on 6.12, where it became an inline
//! wrapper of `__dev_queue_xmit` and left BTF.
//!
//! A `syscall: true` call that names a kernel function which is not a
//! syscall is reported by `syscall_mismatch` instead, as is a
//! `syscall: false` call that names a syscall.

use super::target::{CallOutcome, CallTarget};
use super::{Closest, KernelCheck, KernelContext, closest_function};
use crate::btf::{SyscallResolution, SyscallSpelling};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::HookTarget;

pub const CHECK: KernelCheck = KernelCheck {
    name: "call_not_found",
    codes: &[Code::CallNotFound],
    run,
};

fn run(context: &KernelContext<'_>, out: &mut Vec<Diagnostic>) {
    for hook in &context.hooks {
        let HookTarget::Kprobe {
            ignore_call_not_found,
            call_span,
            ..
        } = &hook.hook.target
        else {
            continue;
        };
        let super::Attachment::Calls(targets) = &hook.attachment else {
            continue;
        };
        for target in targets {
            let diagnostic = match &target.outcome {
                CallOutcome::NoFunction { syscall: None } => missing_function(context, target),
                CallOutcome::NoSyscall(resolution) => missing_syscall(context, target, resolution),
                CallOutcome::Syscall(resolution) if !resolution.wrapper_in_btf => {
                    Some(alias_only(target, resolution))
                }
                _ => None,
            };
            let Some(mut diagnostic) = diagnostic else {
                continue;
            };
            if let Some(list) = &target.call.from_list {
                diagnostic =
                    diagnostic.with_secondary(*call_span, format!("list `{list}` used here"));
            }
            if *ignore_call_not_found && diagnostic.severity == Severity::Error {
                diagnostic = diagnostic.with_severity(Severity::Note).with_note(
                    "`ignore: {callNotFound: true}`: Tetragon skips this call on these kernels \
                     and loads the rest of the policy",
                );
            }
            out.push(diagnostic);
        }
    }
}

fn missing_function(context: &KernelContext<'_>, target: &CallTarget<'_>) -> Option<Diagnostic> {
    let name = &target.symbol;
    let mut diagnostic = Diagnostic::error(
        Code::CallNotFound,
        format!("kernel function `{name}` does not exist"),
    )
    .with_primary(target.call.span, "not a function in the kernel's BTF");
    if let Some(close) = closest_function(context.kernel, name) {
        diagnostic = diagnostic.with_help(format!("did you mean `{close}`?"));
    }
    Some(diagnostic.with_note(
        "a function that is inlined, renamed or removed in a kernel version is not in its BTF, \
         and kprobes cannot attach to it",
    ))
}

fn missing_syscall(
    context: &KernelContext<'_>,
    target: &CallTarget<'_>,
    resolution: &SyscallResolution,
) -> Option<Diagnostic> {
    let name = &target.call.name;
    let symbol = &resolution.tetragon_symbol;
    let diagnostic = match (&resolution.wrapper, resolution.spelling) {
        (None, _) => {
            let diagnostic = Diagnostic::error(
                Code::CallNotFound,
                format!("syscall `{name}` does not exist"),
            )
            .with_primary(target.call.span, "no such syscall");
            let mut closest = Closest::new(&resolution.base);
            for known in context.kernel.syscall_names() {
                closest.offer(&known);
            }
            let diagnostic = match closest.best() {
                Some(close) => {
                    let written = name
                        .strip_suffix(resolution.base.as_str())
                        .map_or_else(|| close.to_string(), |prefix| format!("{prefix}{close}"));
                    diagnostic.with_help(format!("did you mean `{written}`?"))
                }
                None => diagnostic,
            };
            diagnostic.with_note(format!(
                "with `syscall: true` Tetragon attaches to `{symbol}`, which does not exist"
            ))
        }
        (Some(wrapper), _) if resolution.arch_mismatch => Diagnostic::error(
            Code::CallNotFound,
            format!("`{name}` is a syscall wrapper of another architecture"),
        )
        .with_primary(target.call.span, "wrong architecture prefix")
        .with_help(format!(
            "write `sys_{}`: Tetragon adds the prefix of the node's architecture",
            resolution.base
        ))
        .with_note(format!(
            "{} kernels have the syscall as `{wrapper}`",
            context.kernel.arch()
        )),
        (Some(wrapper), SyscallSpelling::Bare) => Diagnostic::error(
            Code::CallNotFound,
            format!("`{name}` with `syscall: true` names no kernel symbol"),
        )
        .with_primary(target.call.span, "missing the `sys_` prefix")
        .with_help(format!("write `sys_{}`", resolution.base))
        .with_note(format!(
            "Tetragon adds only the architecture prefix and looks for `{symbol}`; the syscall is `{wrapper}`"
        )),
        (Some(wrapper), _) => Diagnostic::error(
            Code::CallNotFound,
            format!("syscall `{name}` is not where Tetragon looks for it"),
        )
        .with_primary(target.call.span, "no such symbol")
        .with_note(format!(
            "Tetragon attaches to `{symbol}`; the syscall is `{wrapper}` here"
        )),
    };
    Some(diagnostic)
}

/// x86_64 `SYSCALL_DEFINE0` syscalls: the wrapper is an alias that kallsyms
/// has but BTF does not list. Tetragon validates a `syscall: true` call by
/// looking its symbol up in BTF, so it refuses the call although a kprobe
/// could attach.
fn alias_only(target: &CallTarget<'_>, resolution: &SyscallResolution) -> Diagnostic {
    let symbol = &resolution.tetragon_symbol;
    Diagnostic::error(
        Code::CallNotFound,
        format!(
            "syscall `{}` has no BTF entry for its wrapper",
            target.call.name
        ),
    )
    .with_primary(target.call.span, "wrapper not in BTF")
    .with_note(format!(
        "`{symbol}` is an alias of `__do_sys_{}` (a syscall without arguments): kallsyms has it, \
         but Tetragon looks the call up in BTF, does not find it, and refuses the policy",
        resolution.base
    ))
}
