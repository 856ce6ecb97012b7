//! Flags `resolve` paths and `btfType` names that do not exist in a kernel's
//! types.
//!
//! What it does: walks each `resolve` path (`f_path.dentry.d_name.name`,
//! `args[2]`) member by member through the kernel's structs, starting from
//! the argument's type (or the `btfType` it is cast to; `current_task` for
//! `data` entries), following every pointer level the way Tetragon does,
//! and names the first member that is not there, with close names. A
//! `btfType` (read on Tetragon's main branch; up to 1.7 the agent ignores
//! it on kernel hooks and the path starts from the parameter) must name a
//! struct, union or typedef (a warning when
//! `btfTypeModule` names the module Tetragon looks it up in instead: tpc
//! reads no module BTF). For `source: pt_regs`
//! the `resolve` value is a register name (`rdi`, `x0`), checked against
//! the names Tetragon's agent knows for the kernel's arch.
//! Why: Tetragon refuses the policy on that kernel ("invalid resolve path").
//! Struct layouts change between versions, so a path that works on one
//! kernel can fail on another.
//! Example: `resolve: "f_path.dentry.d_nam.name"` (`struct dentry` has
//! `d_name`).

use super::{KernelCheck, KernelContext, Prototype, sub_span};
use crate::btf::{PathError, PathRoot, TypeDesc, TypeShape, registers};
use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::ArgDecl;
use crate::span::Spanned;

pub const CHECK: KernelCheck = KernelCheck {
    name: "resolve_path",
    codes: &[Code::ResolvePath],
    run,
};

fn run(context: &KernelContext<'_>, out: &mut Vec<Diagnostic>) {
    for hook in &context.hooks {
        for (_, prototype) in hook.prototypes() {
            for arg in &hook.hook.args {
                check_param_path(context, &prototype, arg, false, out);
            }
            if let Some(arg) = &hook.hook.return_arg {
                check_param_path(context, &prototype, arg, true, out);
            }
        }
        for arg in &hook.hook.data {
            let root = match arg.source.as_ref().map(|source| source.value.as_str()) {
                Some("current_task") => "task_struct",
                Some("pt_regs") => {
                    out.extend(register_error(context, arg));
                    continue;
                }
                _ => continue,
            };
            let root = context.btf_type(arg).map_or(root, |ty| ty.value.as_str());
            let path = arg
                .resolve
                .as_ref()
                .map_or("", |resolve| resolve.value.as_str());
            if let Err(error) = context
                .kernel
                .resolve_path(PathRoot::Type { name: root }, path)
            {
                out.extend(path_error(arg, error));
            }
        }
    }
}

/// `source: pt_regs` reads a register by its assembler name, looked up in
/// the agent's table for the kernel's arch (not a BTF walk).
fn register_error(context: &KernelContext<'_>, arg: &ArgDecl) -> Option<Diagnostic> {
    let resolve = arg.resolve.as_ref()?;
    let name = resolve.value.trim();
    let arch = context.kernel.arch();
    if registers::register_size(arch, name).is_some() {
        return None;
    }
    let names = registers::register_names(arch);
    // The message names no arch, so that one finding lists every kernel
    // it holds on.
    let diagnostic = Diagnostic::error(
        Code::ResolvePath,
        format!("`{name}` is not a register Tetragon can read from `pt_regs` on this arch"),
    )
    .with_primary(resolve.span, "unknown register")
    .with_note(
        "with `source: pt_regs`, `resolve` names a register as the assembler does (`rdi`, `esi`, \
         `r10` on x86_64; `x0`, `w1`, `sp` on arm64); Tetragon refuses other names",
    );
    Some(match did_you_mean(name, names.iter().map(String::as_str)) {
        Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
        None => diagnostic,
    })
}

/// `struct file *` (or `struct file **`: every pointer level is followed,
/// as Tetragon does) → `struct file`; a struct or union itself → its name;
/// anything else has no members to walk.
pub(crate) fn type_root(ty: &TypeDesc) -> Option<String> {
    let mut target = ty;
    while let Some(pointee) = target.pointee() {
        target = pointee;
    }
    match &target.shape {
        TypeShape::Struct { name } if !name.is_empty() => Some(format!("struct {name}")),
        TypeShape::Union { name } if !name.is_empty() => Some(format!("union {name}")),
        _ => None,
    }
}

fn check_param_path(
    context: &KernelContext<'_>,
    prototype: &Prototype,
    arg: &ArgDecl,
    is_return: bool,
    out: &mut Vec<Diagnostic>,
) {
    let btf_type = context.btf_type(arg);
    if arg.resolve.is_none() && btf_type.is_none() {
        return;
    }
    let path = arg
        .resolve
        .as_ref()
        .map_or("", |resolve| resolve.value.as_str());
    let index = arg.index.value as usize;
    let walked = if let Some(btf_type) = btf_type {
        context.kernel.resolve_path(
            PathRoot::Type {
                name: &btf_type.value,
            },
            path,
        )
    } else if let Some(function) = &prototype.btf_function {
        let root = if is_return {
            PathRoot::Return { function }
        } else {
            PathRoot::Param { function, index }
        };
        context.kernel.resolve_path(root, path)
    } else {
        let ty = if is_return {
            prototype.ret.as_ref()
        } else {
            prototype.params.get(index).map(|param| &param.ty)
        };
        let Some(ty) = ty else {
            return;
        };
        match type_root(ty) {
            Some(root) => context
                .kernel
                .resolve_path(PathRoot::Type { name: &root }, path),
            None => {
                let what = if is_return {
                    format!("the return value of {}", prototype.owner)
                } else {
                    format!("{} {index} of {}", prototype.noun, prototype.owner)
                };
                if let Some(resolve) = &arg.resolve {
                    out.push(
                        Diagnostic::error(
                            Code::ResolvePath,
                            format!(
                                "cannot resolve `{path}`: {what} is `{}`, which has no members",
                                ty.c
                            ),
                        )
                        .with_primary(resolve.span, "needs a struct to walk"),
                    );
                }
                return;
            }
        }
    };
    if let Err(error) = walked {
        out.extend(path_error(arg, error));
    }
}

/// The diagnostic for a failed walk; `None` for errors other checks report
/// (a missing function or parameter).
fn path_error(arg: &ArgDecl, error: PathError) -> Option<Diagnostic> {
    match &error {
        PathError::NoSuchFunction { .. } | PathError::NoSuchParam { .. } => None,
        PathError::NoSuchType { name } => {
            let span = arg.btf_type.as_ref().map_or(arg.span, |ty| ty.span);
            // With `btfTypeModule`, Tetragon looks the type up in that
            // module's BTF (`/sys/kernel/btf/MODULE`), not in vmlinux's; tpc
            // reads no module BTF, so it cannot say the type is missing.
            if let Some(module) = &arg.btf_type_module {
                return Some(
                    Diagnostic::new(
                        Code::ResolvePath,
                        Severity::Warning,
                        format!(
                            "`btfType: {name}` is not in vmlinux's BTF; Tetragon looks it up in module `{}`, whose BTF tpc cannot check",
                            module.value
                        ),
                    )
                    .with_primary(span, "not in vmlinux")
                    .with_secondary(module.span, "looked up in this module's BTF")
                    .with_note(format!(
                        "the module must be loaded on the node and expose /sys/kernel/btf/{}; otherwise Tetragon refuses the policy (\"failed to find BTF type\")",
                        module.value
                    )),
                );
            }
            Some(
                Diagnostic::error(
                    Code::ResolvePath,
                    format!("`btfType: {name}` is not a struct, union or typedef of the kernel"),
                )
                .with_primary(span, "no such type")
                .with_help("if the type belongs to a kernel module, name the module with `btfTypeModule`")
                .with_note("without `btfTypeModule`, Tetragon looks in vmlinux's BTF, then in the BTF of the module that holds the hooked function; this function is in vmlinux"),
            )
        }
        PathError::NoSuchMember {
            step,
            member,
            container,
            suggestions,
            ..
        } => {
            // Close names go to help: they differ between kernels more
            // often than the finding itself.
            let resolve = arg.resolve.as_ref()?;
            let diagnostic = Diagnostic::error(
                Code::ResolvePath,
                format!(
                    "cannot resolve `{}`: {container} has no member `{member}`",
                    resolve.value
                ),
            )
            .with_primary(segment_span(resolve, Some(*step)), "no such member");
            Some(match suggestions.as_slice() {
                [] => diagnostic,
                [one] => diagnostic.with_help(format!("did you mean `{one}`?")),
                many => diagnostic.with_help(format!(
                    "did you mean one of: {}?",
                    many.iter()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            })
        }
        _ => {
            let resolve = arg.resolve.as_ref()?;
            let span = segment_span(resolve, step_of(&error));
            Some(
                Diagnostic::error(
                    Code::ResolvePath,
                    format!("cannot resolve `{}`: {error}", resolve.value),
                )
                .with_primary(span, "not found here"),
            )
        }
    }
}

fn step_of(error: &PathError) -> Option<usize> {
    match error {
        PathError::EmptySegment { step }
        | PathError::NoSuchMember { step, .. }
        | PathError::NotAComposite { step, .. }
        | PathError::IncompleteType { step, .. }
        | PathError::NotIndexable { step, .. }
        | PathError::IndexOutOfRange { step, .. }
        | PathError::BadSegment { step, .. } => Some(*step),
        _ => None,
    }
}

/// The span of the `step`-th dot-separated segment of a `resolve` value.
fn segment_span(resolve: &Spanned<String>, step: Option<usize>) -> crate::span::Span {
    let Some(step) = step else {
        return resolve.span;
    };
    let mut start = 0;
    for (at, segment) in resolve.value.split('.').enumerate() {
        if at == step {
            return sub_span(resolve.span, &resolve.value, start..start + segment.len());
        }
        start += segment.len() + 1;
    }
    resolve.span
}
