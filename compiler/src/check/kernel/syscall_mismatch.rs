//! Flags `syscall: true` on a kernel function that is not a syscall, and
//! `syscall: false` on a syscall.
//!
//! What it does: with `syscall: true`, a call that the kernel has as a plain
//! function but not as a syscall is an error; with `syscall: false`, a
//! `sys_*` name that the kernel only has as a syscall is an error (no such
//! function), and a syscall wrapper named in full (`__x64_sys_openat`) is a
//! warning, because its only parameter is the saved registers.
//! Why: Tetragon only warns when a `syscall: true` call is not a syscall, and
//! then reads the arguments as syscall arguments: the values are wrong. tpc
//! reports it as an error. With `syscall: false` on a wrapper, every
//! `args[].index` counts the wrapper's `struct pt_regs *` parameter, not the
//! syscall's arguments.
//! Example: `call: vfs_llseek` with `syscall: true`.

use super::target::{CallOutcome, CallTarget};
use super::{KernelCheck, KernelContext};
use crate::btf::{SyscallResolution, TypeShape, WrapperStyle};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::HookTarget;
use crate::span::Span;

pub const CHECK: KernelCheck = KernelCheck {
    name: "syscall_mismatch",
    codes: &[Code::SyscallMismatch],
    run,
};

fn run(context: &KernelContext<'_>, out: &mut Vec<Diagnostic>) {
    for hook in &context.hooks {
        let HookTarget::Kprobe {
            syscall_written, ..
        } = &hook.hook.target
        else {
            continue;
        };
        let super::Attachment::Calls(targets) = &hook.attachment else {
            continue;
        };
        for target in targets {
            let diagnostic = match &target.outcome {
                CallOutcome::NotASyscall(_) => {
                    not_a_syscall(target, syscall_written.map(|w| w.span))
                }
                CallOutcome::NoFunction {
                    syscall: Some(resolution),
                } => syscall_without_flag(target, resolution, syscall_written.map(|w| w.span)),
                CallOutcome::Function {
                    sig,
                    syscall_wrapper: Some(resolution),
                } if resolution.wrapper_style == Some(WrapperStyle::PtRegs)
                    && takes_only_pt_regs(sig) =>
                {
                    wrapper_as_function(target, resolution, syscall_written.map(|w| w.span))
                }
                _ => continue,
            };
            out.push(diagnostic);
        }
    }
}

fn takes_only_pt_regs(sig: &crate::btf::FunctionSig) -> bool {
    match sig.params.as_slice() {
        [param] => param.ty.pointee().is_some_and(
            |pointee| matches!(&pointee.shape, TypeShape::Struct { name } if name == "pt_regs"),
        ),
        _ => false,
    }
}

fn with_flag_label(diagnostic: Diagnostic, syscall_span: Option<Span>, text: &str) -> Diagnostic {
    match syscall_span {
        Some(span) => diagnostic.with_secondary(span, text),
        None => diagnostic,
    }
}

fn not_a_syscall(target: &CallTarget<'_>, syscall_span: Option<Span>) -> Diagnostic {
    let name = &target.call.name;
    let diagnostic = Diagnostic::error(
        Code::SyscallMismatch,
        format!("`{name}` is a kernel function, not a syscall, but the hook has `syscall: true`"),
    )
    .with_primary(target.call.span, "not a syscall");
    let diagnostic = with_flag_label(diagnostic, syscall_span, "marks the call as a syscall");
    let diagnostic = if syscall_span.is_none() {
        diagnostic.with_note("`syscall` defaults to true when the hook does not set it")
    } else {
        diagnostic
    };
    diagnostic.with_help("set `syscall: false`").with_note(
        "Tetragon's validation only warns when a `syscall: true` call is not a syscall wrapper \
         (`long (const struct pt_regs *)`), and the probe then reads the arguments as syscall \
         arguments, which gives wrong values; tpc reports an error",
    )
}

fn syscall_without_flag(
    target: &CallTarget<'_>,
    resolution: &SyscallResolution,
    syscall_span: Option<Span>,
) -> Diagnostic {
    let name = &target.call.name;
    let wrapper = resolution.wrapper.as_deref().unwrap_or(name);
    let diagnostic = Diagnostic::error(
        Code::SyscallMismatch,
        format!("`{name}` is a syscall, but the hook has `syscall: false`"),
    )
    .with_primary(target.call.span, "a syscall, not a kernel function");
    with_flag_label(
        diagnostic,
        syscall_span,
        "marks the call as a plain function",
    )
    .with_help("set `syscall: true`")
    .with_note(format!(
        "with `syscall: false` Tetragon looks for a kernel function `{name}`, which does not \
             exist; the syscall's entry point is `{wrapper}`"
    ))
}

fn wrapper_as_function(
    target: &CallTarget<'_>,
    resolution: &SyscallResolution,
    syscall_span: Option<Span>,
) -> Diagnostic {
    let name = &target.call.name;
    let diagnostic = Diagnostic::warning(
        Code::SyscallMismatch,
        format!("`{name}` is a syscall wrapper, but the hook has `syscall: false`"),
    )
    .with_primary(target.call.span, "takes only the saved registers");
    with_flag_label(diagnostic, syscall_span, "reads it as a plain function")
        .with_help(format!(
            "set `syscall: true` (and write `sys_{}`) to read the syscall's own arguments",
            resolution.base
        ))
        .with_note(
            "the wrapper's only parameter is `const struct pt_regs *`, so `args[].index` counts \
             that parameter, not the syscall's arguments",
        )
}
