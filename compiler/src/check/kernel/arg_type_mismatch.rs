//! Flags argument `type`s that do not read what the kernel passes.
//!
//! What it does: compares each `args[].type` with the kernel's type for that
//! argument, by shape (typedefs looked through; rules in
//! [`crate::btf::argtype`]): the function's parameter (for `syscall: true`,
//! the syscall's own argument), the LSM hook's or raw tracepoint's
//! parameter, the type a `resolve` path ends at, or the tracepoint field.
//! It says what the kernel has and, when one fits, which type to use.
//! Why: Tetragon only warns about a mismatch (`pkg/btf/validation.go`
//! returns a `ValidationWarnError`; the loader logs it and continues) and
//! then reads the value as the declared type: events carry garbage or empty
//! values, and filters on them test something else. Since Tetragon loads
//! the policy, this is a warning (an error with `--deny-warnings`), loud
//! about what the filter really reads.
//! Example: `type: string` on parameter 0 of `vfs_llseek`, a
//! `struct file *` (use `type: file`).

use super::{Attachment, KernelCheck, KernelContext, Prototype};
use crate::btf::{
    ArgCompat, PathRoot, TracepointLookup, TypeDesc, arg_type_compat, suggested_type,
    tracepoint_field_compat,
};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{ArgDecl, ArgType, HookTarget};

pub const CHECK: KernelCheck = KernelCheck {
    name: "arg_type_mismatch",
    codes: &[Code::ArgTypeMismatch],
    run,
};

const LENIENCY: &str = "Tetragon logs a warning and loads the hook anyway, then reads the value \
                        as the declared type: events and filters see that reading, not what \
                        the policy meant";

/// What a mismatched read really sees, when the kernel passes a pointer and
/// the policy declares a scalar.
const POINTER_BITS: &str = "the kernel passes a pointer here: a filter on this argument compares \
                            the pointer's bits (an address), not the value it points at";

fn run(context: &KernelContext<'_>, out: &mut Vec<Diagnostic>) {
    for hook in &context.hooks {
        if let (
            HookTarget::Tracepoint {
                subsystem,
                event,
                raw: false,
            },
            Attachment::Tracepoint(TracepointLookup::Found(info)),
        ) = (&hook.hook.target, &hook.attachment)
        {
            for arg in &hook.hook.args {
                let Some(field) = info.fields.get(arg.index.value as usize) else {
                    continue;
                };
                if let ArgCompat::Incompatible { reason } =
                    tracepoint_field_compat(arg.ty.value.as_str(), field)
                {
                    // Format files and BTF spell dynamic fields differently
                    // (`__data_loc char[]`, `__data_loc`): name only the kind,
                    // so the finding reads the same on every kernel.
                    let shown = match field.location {
                        crate::btf::FieldLocation::Inline => field.c_type.clone(),
                        crate::btf::FieldLocation::DataLoc => "__data_loc".to_string(),
                        crate::btf::FieldLocation::RelLoc => "__rel_loc".to_string(),
                    };
                    let mut diagnostic = mismatch(
                        arg,
                        format!(
                            "field {} (`{}`) of `{}/{}`",
                            arg.index.value, field.name, subsystem.value, event.value
                        ),
                        &shown,
                        &field.ty,
                        reason,
                    );
                    if field.location != crate::btf::FieldLocation::Inline {
                        diagnostic.help = Some("use `type: data_loc`".to_string());
                    }
                    out.push(diagnostic);
                }
            }
            continue;
        }
        for (_, prototype) in hook.prototypes() {
            for arg in &hook.hook.args {
                check_arg(context, &prototype, arg, out);
            }
        }
    }
}

fn check_arg(
    context: &KernelContext<'_>,
    prototype: &Prototype,
    arg: &ArgDecl,
    out: &mut Vec<Diagnostic>,
) {
    if matches!(arg.ty.value, ArgType::Auto | ArgType::Nop) {
        return;
    }
    let index = arg.index.value as usize;
    let Some(param) = prototype.params.get(index) else {
        return;
    };
    if let Some(resolve) = &arg.resolve {
        // The type describes where the path ends.
        let walked = match (context.btf_type(arg), &prototype.btf_function) {
            (Some(btf_type), _) => context.kernel.resolve_path(
                PathRoot::Type {
                    name: &btf_type.value,
                },
                &resolve.value,
            ),
            (None, Some(function)) => context
                .kernel
                .resolve_path(PathRoot::Param { function, index }, &resolve.value),
            (None, None) => match super::resolve_path::type_root(&param.ty) {
                Some(root) => context
                    .kernel
                    .resolve_path(PathRoot::Type { name: &root }, &resolve.value),
                None => return,
            },
        };
        let Ok(path) = walked else {
            return;
        };
        let end = path.final_type();
        if let ArgCompat::Incompatible { reason } = arg_type_compat(arg.ty.value.as_str(), end) {
            out.push(mismatch(
                arg,
                format!("`resolve: {}`, which ends at", resolve.value),
                &end.c,
                end,
                reason,
            ));
        }
        return;
    }
    if context.btf_type(arg).is_some() {
        return;
    }
    if let ArgCompat::Incompatible { reason } = arg_type_compat(arg.ty.value.as_str(), &param.ty) {
        out.push(mismatch(
            arg,
            format!("{} {index} of {}", prototype.noun, prototype.owner),
            &param.ty.c,
            &param.ty,
            reason,
        ));
    }
}

/// `what` names the kernel value ("parameter 0 of `vfs_llseek`"); `shown`
/// is its type as C.
fn mismatch(arg: &ArgDecl, what: String, shown: &str, ty: &TypeDesc, reason: String) -> Diagnostic {
    let declared = arg.ty.value.as_str();
    let joiner = if what.ends_with(" at") {
        " "
    } else {
        ", which is "
    };
    let mut diagnostic = Diagnostic::warning(
        Code::ArgTypeMismatch,
        format!("`type: {declared}` does not match {what}{joiner}`{shown}`"),
    )
    .with_primary(arg.ty.span, format!("the kernel has `{shown}`"))
    .with_note(reason);
    if let Some(fits) = suggested_type(ty).filter(|fits| *fits != declared) {
        diagnostic = diagnostic.with_help(format!("use `type: {fits}`"));
    }
    if ty.pointee().is_some() && arg.ty.value.is_integer() {
        diagnostic = diagnostic.with_note(POINTER_BITS);
    }
    diagnostic.with_note(LENIENCY)
}
