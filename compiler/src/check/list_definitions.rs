//! Flags `spec.lists` entries Tetragon refuses or does not use as written.
//!
//! What it does: reports generated lists (`generated_syscalls`,
//! `generated_ftrace`) with `values`, `generated_ftrace` without `pattern`,
//! and malformed entries of `syscalls` lists (`sys_NAME`, an
//! architecture-prefixed wrapper such as `__x64_sys_NAME`, or `ABI/sys_NAME`
//! with ABI `x64`, `i386`, `arm64` or `arm32`) — the `sys_` form is needed
//! when the list is used in a `call` or an enforcer. Warns about `pattern`
//! on other list types (ignored), `validated: true` on a generated list
//! (then nothing is generated), lists without values, and plain function
//! lists that hold syscall names.
//! Why: the agent refuses bad lists ("generated list 'X' has values",
//! "invalid syscall list element", "invalid ABI"); the other cases load and
//! silently hook nothing or the wrong symbols.
//! Example: `{name: ksys, type: generated_ftrace}` without a `pattern`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::names::{
    SYSCALL_ABIS, SYSCALL_ARCH_PREFIXES, is_syscall_symbol, split_syscall_arch_prefix,
};
use crate::ir::{HookTarget, ListDef, ListKind, Policy};
use crate::span::Spanned;
use std::collections::HashSet;

pub const CHECK: Check = Check {
    name: "list_definitions",
    codes: &[Code::InvalidList],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let in_calls = lists_used_in_calls(policy);
    for list in &policy.lists {
        let generated = matches!(
            list.kind,
            ListKind::GeneratedSyscalls | ListKind::GeneratedFtrace
        );
        let name = &list.name.value;
        if generated {
            if let Some(first) = list.values.first() {
                out.push(
                    Diagnostic::of(Code::InvalidList, format!("list `{name}` is `{}` but has `values`", list.kind.as_str()))
                        .with_primary(first.span, "a generated list takes no values")
                        .with_help("remove `values` (Tetragon fills the list), or drop `type` to list the functions yourself")
                        .with_note(format!("Tetragon refuses the policy: \"error generated list '{name}' has values\"")),
                );
            }
            if list.validated {
                out.push(
                    Diagnostic::new(Code::InvalidList, Severity::Warning, format!("`validated: true` stops Tetragon from generating list `{name}`"))
                        .with_primary(list.name.span, "stays empty")
                        .with_help("remove `validated: true`")
                        .with_note("`validated` skips both validation and generation, so the list hooks nothing"),
                );
            }
        } else if list.values.is_empty() {
            out.push(
                Diagnostic::new(Code::InvalidList, Severity::Warning, format!("list `{name}` has no values"))
                    .with_primary(list.name.span, "empty list")
                    .with_help("add the functions or syscalls under `values`, or use `type: generated_syscalls` for every syscall"),
            );
        }
        match (list.kind, &list.pattern) {
            (ListKind::GeneratedFtrace, None) => out.push(
                Diagnostic::of(Code::InvalidList, format!("list `{name}` is `generated_ftrace` but has no `pattern`"))
                    .with_primary(list.kind_span.unwrap_or(list.name.span), "needs a `pattern`")
                    .with_help("add a regular expression over function names, e.g. `pattern: \"^ksys_\"`")
                    .with_note("Tetragon refuses the policy: the list must specify a pattern"),
            ),
            (ListKind::GeneratedFtrace, Some(_)) | (_, None) => {}
            (kind, Some(p)) => out.push(
                Diagnostic::new(Code::InvalidList, Severity::Warning, format!("`pattern` is ignored on a `{}` list", kind.as_str()))
                    .with_primary(p.span, "ignored")
                    .with_help("use `type: generated_ftrace` to generate the list from the pattern, or remove `pattern`"),
            ),
        }
        match list.kind {
            ListKind::Syscalls if !list.validated => {
                for v in &list.values {
                    if let Some(d) =
                        syscall_entry_problem(list, v, in_calls.contains(name.as_str()))
                    {
                        out.push(d);
                    }
                }
            }
            ListKind::Functions => plain_list_of_syscalls(list, out),
            _ => {}
        }
    }
}

/// Names of lists that a kprobe `call` or an enforcer expands.
fn lists_used_in_calls(policy: &Policy) -> HashSet<&str> {
    let mut used = HashSet::new();
    for hook in &policy.hooks {
        if let HookTarget::Kprobe { calls, .. } = &hook.target {
            used.extend(calls.iter().filter_map(|c| c.from_list.as_deref()));
        }
    }
    for enforcer in &policy.enforcers {
        for call in &enforcer.calls {
            if let Some(list) = policy
                .lists
                .iter()
                .find(|l| l.values.iter().any(|v| v.span == call.span))
            {
                used.insert(list.name.value.as_str());
            }
        }
    }
    used
}

fn syscall_entry_problem(list: &ListDef, v: &Spanned<String>, in_call: bool) -> Option<Diagnostic> {
    let text = v.value.trim();
    let invalid = |label: String, help: String, note: String| {
        Some(
            Diagnostic::of(
                Code::InvalidList,
                format!(
                    "`{text}` is not a valid entry of syscall list `{}`",
                    list.name.value
                ),
            )
            .with_primary(v.span, label)
            .with_help(help)
            .with_note(note),
        )
    };
    let (abi, name) = match text.split_once('/') {
        Some((_, rest)) if rest.contains('/') => {
            return invalid(
                "more than one `/`".into(),
                "write `sys_NAME` or `ABI/sys_NAME`".into(),
                format!("Tetragon refuses the policy: \"invalid syscall value: '{text}'\""),
            );
        }
        Some((abi, rest)) => (Some(abi), rest),
        None => (None, text),
    };
    if let Some(abi) = abi {
        if !SYSCALL_ABIS.contains(&abi) {
            let help = match crate::diagnostics::suggest::did_you_mean(
                abi,
                SYSCALL_ABIS.iter().copied(),
            ) {
                Some(s) => format!("did you mean `{s}/{name}`?"),
                None => format!("the ABIs are {}", SYSCALL_ABIS.join(", ")),
            };
            return invalid(
                format!("unknown ABI `{abi}`"),
                help,
                format!("Tetragon refuses the policy: \"invalid ABI: {abi}\""),
            );
        }
        if let (Some(prefix), _) = split_syscall_arch_prefix(name) {
            let prefix_abi = SYSCALL_ARCH_PREFIXES
                .iter()
                .find(|(p, _)| *p == prefix)
                .map_or("", |(_, a)| *a);
            let agrees = prefix_abi == abi || (abi == "arm32" && prefix == "__arm64_");
            if !agrees {
                return invalid(
                    format!("`{prefix}` is not the `{abi}` ABI"),
                    format!("write `{abi}/{}`", split_syscall_arch_prefix(name).1),
                    format!("Tetragon refuses the policy: \"invalid ABI ({abi}) for arch\""),
                );
            }
        }
    }
    if in_call && !is_syscall_symbol(name) {
        let fixed = if name.starts_with("__") {
            name.to_string()
        } else {
            format!("sys_{name}")
        };
        let with_abi = abi.map_or(fixed.clone(), |a| format!("{a}/{fixed}"));
        return invalid(
            "syscall entries used in `call` start with `sys_`".into(),
            format!("write `{with_abi}`"),
            format!("Tetragon refuses the policy: \"invalid syscall list element '{text}'\""),
        );
    }
    None
}

fn plain_list_of_syscalls(list: &ListDef, out: &mut Vec<Diagnostic>) {
    let syscalls: Vec<&Spanned<String>> = list
        .values
        .iter()
        .filter(|v| is_syscall_symbol(&v.value))
        .collect();
    let Some(first) = syscalls.first() else {
        return;
    };
    let all = syscalls.len() == list.values.len();
    let name = &list.name.value;
    let d = if all {
        Diagnostic::new(Code::InvalidList, Severity::Warning, format!("list `{name}` holds syscalls but has no `type: syscalls`"))
            .with_primary(list.name.span, "hooked as plain kernel functions")
            .with_secondary(first.span, "a syscall")
            .with_help("add `type: syscalls` so Tetragon hooks the syscall wrappers (`__x64_sys_...`)")
            .with_note("a list without a type hooks each name as written, and kernels have no plain `sys_NAME` function on x86_64 and arm64")
    } else {
        Diagnostic::new(Code::InvalidList, Severity::Warning, format!("list `{name}` mixes syscalls and other kernel functions"))
            .with_primary(first.span, "a syscall")
            .with_help("move the syscalls into a second list with `type: syscalls`")
            .with_note("Tetragon hooks every entry of one list the same way, as syscalls or as plain functions; its documentation says they cannot be mixed")
    };
    out.push(d);
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    #[test]
    fn generated_lists() {
        let y = policy("  lists:\n  - LIST\n  kprobes: [{call: \"list:l\", syscall: false}]\n");
        let check = |l: &str| with_code(&y.replace("LIST", l), Code::InvalidList);
        assert_eq!(check("{name: l, type: generated_ftrace}").len(), 1);
        assert!(check("{name: l, type: generated_ftrace, pattern: \"^ksys_\"}").is_empty());
        assert_eq!(
            check("{name: l, type: generated_syscalls, values: [sys_dup]}").len(),
            1
        );
        let validated = check("{name: l, type: generated_syscalls, validated: true}");
        assert_eq!(validated.len(), 1);
        assert_eq!(validated[0].severity, Severity::Warning);
        assert_eq!(
            check("{name: l, values: [vfs_read], pattern: \"^x\"}").len(),
            1
        );
    }

    #[test]
    fn syscall_entries() {
        let y = policy(
            "  lists:\n  - {name: s, type: syscalls, values: [VALUE]}\n  kprobes: [{call: \"list:s\"}]\n",
        );
        let check = |v: &str| with_code(&y.replace("VALUE", v), Code::InvalidList);
        assert!(check("sys_dup").is_empty());
        assert!(check("__ia32_sys_dup").is_empty());
        assert!(check("i386/sys_dup").is_empty());
        assert_eq!(check("dup")[0].help.as_deref(), Some("write `sys_dup`"));
        assert_eq!(check("x86/sys_dup").len(), 1);
        assert_eq!(check("i386/__x64_sys_dup").len(), 1);
        assert_eq!(check("x64/a/sys_dup").len(), 1);
        let in_map = policy(
            "  lists:\n  - {name: s, type: syscalls, values: [dup]}\n  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    args: [{index: 4, type: syscall64}]\n    selectors:\n    - matchArgs: [{index: 0, operator: InMap, values: [\"list:s\"]}]\n",
        );
        assert!(with_code(&in_map, Code::InvalidList).is_empty());
    }

    #[test]
    fn plain_lists_of_syscalls() {
        let y =
            policy("  lists:\n  - {name: l, values: VALUES}\n  kprobes: [{call: \"list:l\"}]\n");
        assert_eq!(
            with_code(
                &y.replace("VALUES", "[sys_dup, sys_dup2]"),
                Code::InvalidList
            )
            .len(),
            1
        );
        assert_eq!(
            with_code(
                &y.replace("VALUES", "[sys_dup, fd_install]"),
                Code::InvalidList
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &y.replace("VALUES", "[fd_install, vfs_read]"),
                Code::InvalidList
            )
            .is_empty()
        );
    }
}
