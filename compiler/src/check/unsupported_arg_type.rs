//! Flags argument types the hook kind cannot collect.
//!
//! What it does: reports `type: auto` and `syscall64` on kprobe and fentry
//! `args`; `auto` on LSM hooks, uprobes and USDTs; `auto` (also the default
//! when `type` is left out) on every `returnArg` and on raw tracepoints
//! (which have no format to take a type from); `const_buf` on
//! tracepoints; and `bpf_cmd` on LSM hooks. (`sockaddr_un`, which
//! releases before 1.7 do not know, is `unsupported_sockaddr_un`'s.) A
//! missing `type` counts as `auto`, the CRD's default (tracepoints accept
//! it).
//! Why: Tetragon refuses the hook ("args[0].type: type 'auto' is invalid for
//! kprobes", "Arg(0) type 'auto' unsupported", "ReturnArg type 'auto'
//! unsupported", "const_buf type cannot be user-defined"). Only tracepoints
//! can work out a type from the kernel (from the tracefs format file).
//! Example: `returnArg: {index: 0}` on a kprobe; write
//! `returnArg: {index: 0, type: int}`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{ArgDecl, ArgType, HookKind, HookTarget, Policy};

pub const CHECK: Check = Check {
    name: "unsupported_arg_type",
    codes: &[Code::UnsupportedArgType],
    run,
};

/// The IR reads an unknown type name (reported by the frontend) and a
/// missing `type` as `auto`; this is true only for a written `auto`.
fn written_auto(arg: &ArgDecl) -> bool {
    arg.type_text.as_ref().is_some_and(|t| t.value == "auto")
}

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let kind = hook.kind();
        let raw = matches!(&hook.target, HookTarget::Tracepoint { raw: true, .. });
        for (i, arg) in hook.args.iter().enumerate() {
            let missing = arg.type_text.is_none();
            if raw && (missing || written_auto(arg)) {
                let message = if missing {
                    format!(
                        "`args[{i}]` has no `type`, so it gets the CRD default `auto`, which raw tracepoints cannot collect"
                    )
                } else {
                    format!("`args[{i}]` cannot be `type: auto` on a raw tracepoint")
                };
                out.push(
                    Diagnostic::of(Code::UnsupportedArgType, message)
                        .with_primary(if missing { arg.span } else { arg.ty.span }, "give the argument's type")
                        .with_help("write the type of the `TP_PROTO` argument, e.g. `syscall64` for the `id` of `raw_syscalls/sys_enter` (index 1), `linux_binprm` for `sched/sched_process_exec` (index 2)")
                        .with_note("a raw tracepoint has no tracefs format to take the type from; Tetragon refuses the hook (\"format is nil\")"),
                );
                continue;
            }
            if arg.ty.value == ArgType::Auto && !missing && !written_auto(arg) {
                continue;
            }
            if let Some((why, help)) = refusal(kind, arg.ty.value) {
                let mut d = report(arg, &format!("`args[{i}]`"), kind, why, help);
                if missing {
                    d.message = format!(
                        "`args[{i}]` has no `type`, so it gets the CRD default `auto`, which {} hooks cannot collect",
                        kind.as_str()
                    );
                    d.labels.clear();
                    d = d.with_primary(arg.span, "give the argument's type");
                }
                out.push(d);
            }
        }
        if let Some(ret) = &hook.return_arg {
            let ty = ret.ty.value;
            let missing = ret.type_text.is_none();
            if ty == ArgType::Auto && (missing || written_auto(ret)) {
                let written = !missing;
                let message = if written {
                    "`returnArg` cannot be `type: auto`: Tetragon does not work out return types"
                        .to_string()
                } else {
                    "`returnArg` has no `type`, so it gets the default `auto`, which Tetragon does not accept for return values".to_string()
                };
                out.push(
                    Diagnostic::of(Code::UnsupportedArgType, message)
                        .with_primary(if written { ret.ty.span } else { ret.span }, "give the return value's type")
                        .with_help("write the type the function returns, e.g. `type: int` (most kernel functions and every syscall) or `type: sock`")
                        .with_note("Tetragon refuses the hook: \"ReturnArg type 'auto' unsupported\""),
                );
            }
        }
    }
}

/// Why `ty` cannot be collected on a hook of `kind`, and what to write
/// instead.
fn refusal(kind: HookKind, ty: ArgType) -> Option<(String, &'static str)> {
    use HookKind::*;
    Some(match (kind, ty) {
        (Kprobe | Fentry, ArgType::Auto) => (
            format!("\"type 'auto' is invalid for {}s\": only tracepoints can take the type from the kernel", kind.as_str()),
            "write the parameter's type, e.g. `int`, `string`, `file`, `sock`",
        ),
        (Kprobe | Fentry, ArgType::Syscall64) => (
            format!("\"type 'syscall64' is invalid for {}s\": `syscall64` reads the id of `raw_syscalls` tracepoints", kind.as_str()),
            "use `int64` (or `uint64`) for a 64-bit parameter",
        ),
        (Lsm | Uprobe | Usdt, ArgType::Auto) => (
            format!("\"type 'auto' unsupported\" on {} hooks: only tracepoints can take the type from the kernel", kind.as_str()),
            "write the parameter's type, e.g. `int`, `string`, `file`",
        ),
        (Tracepoint, ArgType::ConstBuf) => (
            "\"const_buf type cannot be user-defined\": Tetragon picks `const_buf` itself for array fields".into(),
            "write `type: auto` and Tetragon reads array fields as `const_buf`",
        ),
        (Lsm, ArgType::BpfCmd) => (
            "`bpf_cmd` is not available on LSM hooks".into(),
            "use `int` for the command number",
        ),
        _ => return None,
    })
}

fn report(arg: &ArgDecl, what: &str, kind: HookKind, why: String, help: &str) -> Diagnostic {
    let ty = arg.ty.value;
    Diagnostic::of(
        Code::UnsupportedArgType,
        format!(
            "{what} has type `{ty}`, which {} hooks cannot collect",
            kind.as_str()
        ),
    )
    .with_primary(arg.ty.span, format!("`{ty}` is not supported here"))
    .with_help(help)
    .with_note(format!("Tetragon refuses the hook: {why}"))
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;

    #[test]
    fn auto_on_kprobes_but_not_on_tracepoints() {
        let k = policy("  kprobes:\n  - call: sys_openat\n    args: [{index: 0, type: auto}]\n");
        let d = with_code(&k, Code::UnsupportedArgType);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(primary_text(&k, &d[0]), "auto");
        let t = policy(
            "  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_openat\n    args: [{index: 5, type: auto}]\n",
        );
        assert!(with_code(&t, Code::UnsupportedArgType).is_empty());
        let ok = k.replace("auto", "int");
        assert!(with_code(&ok, Code::UnsupportedArgType).is_empty());
    }

    #[test]
    fn unknown_type_names_are_left_to_the_frontend() {
        let k = policy("  kprobes:\n  - call: sys_openat\n    args: [{index: 0, type: strng}]\n");
        assert!(with_code(&k, Code::UnsupportedArgType).is_empty());
        assert_eq!(with_code(&k, Code::UnknownValue).len(), 1);
        let quoted =
            policy("  kprobes:\n  - call: sys_openat\n    args: [{index: 0, type: \"auto\"}]\n");
        assert_eq!(with_code(&quoted, Code::UnsupportedArgType).len(), 1);
    }

    #[test]
    fn missing_type_defaults_to_auto() {
        let k = policy("  kprobes:\n  - call: sys_openat\n    args: [{index: 0}]\n");
        let d = with_code(&k, Code::UnsupportedArgType);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("CRD default `auto`"));
        let t = policy(
            "  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_openat\n    args: [{index: 5}]\n",
        );
        assert!(with_code(&t, Code::UnsupportedArgType).is_empty());
    }

    #[test]
    fn return_arg_without_type() {
        let y = policy(
            "  kprobes:\n  - call: sys_openat\n    return: true\n    returnArg: {index: 0}\n",
        );
        let d = with_code(&y, Code::UnsupportedArgType);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("no `type`"));
        let typed = y.replace("{index: 0}", "{index: 0, type: int}");
        assert!(with_code(&typed, Code::UnsupportedArgType).is_empty());
    }

    #[test]
    fn const_buf_on_tracepoints_and_syscall64_on_kprobes() {
        let t = policy(
            "  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_openat\n    args: [{index: 5, type: const_buf}]\n",
        );
        assert_eq!(with_code(&t, Code::UnsupportedArgType).len(), 1);
        let s = policy("  kprobes:\n  - call: sys_bpf\n    args: [{index: 0, type: syscall64}]\n");
        assert_eq!(with_code(&s, Code::UnsupportedArgType).len(), 1);
    }
}
