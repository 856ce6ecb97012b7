//! Flags a `returnArg` type that does not read what the function returns.
//!
//! What it does: compares `returnArg.type` with the kprobe function's BTF
//! return type (`long` for syscalls), by the same rules as argument types;
//! a `resolve` on the return value is checked by `resolve_path`.
//! Why: the collected return value is meaningless, and `matchReturnArgs`
//! filters on it never match as intended. Tetragon only logs a warning for
//! it (`pkg/btf/validation.go`) and loads the hook, so this is a warning.
//! Example: `returnArg: {index: 0, type: file}` on `security_file_open`,
//! which returns `int`.

use super::{KernelCheck, KernelContext};
use crate::btf::{ArgCompat, arg_type_compat, suggested_type};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::ArgType;

pub const CHECK: KernelCheck = KernelCheck {
    name: "return_type_mismatch",
    codes: &[Code::ReturnTypeMismatch],
    run,
};

fn run(context: &KernelContext<'_>, out: &mut Vec<Diagnostic>) {
    for hook in &context.hooks {
        let Some(arg) = &hook.hook.return_arg else {
            continue;
        };
        if arg.resolve.is_some()
            || arg.btf_type.is_some()
            || matches!(arg.ty.value, ArgType::Auto | ArgType::Nop)
        {
            continue;
        }
        for (_, prototype) in hook.prototypes() {
            let Some(ret) = &prototype.ret else {
                continue;
            };
            let declared = arg.ty.value.as_str();
            let ArgCompat::Incompatible { reason } = arg_type_compat(declared, ret) else {
                continue;
            };
            let mut diagnostic = Diagnostic::warning(
                Code::ReturnTypeMismatch,
                format!(
                    "`returnArg` type `{declared}` does not match the return type of {}, which is `{}`",
                    prototype.owner, ret.c
                ),
            )
            .with_primary(arg.ty.span, format!("the kernel returns `{}`", ret.c))
            .with_note(reason)
            .with_note("Tetragon logs a warning and loads the hook anyway, then reads the return value as the declared type");
            if let Some(fits) = suggested_type(ret).filter(|fits| *fits != declared) {
                diagnostic = diagnostic.with_help(format!("use `type: {fits}`"));
            }
            out.push(diagnostic);
        }
    }
}
