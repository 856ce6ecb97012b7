//! Flags lists used where their type does not fit.
//!
//! What it does: reports an `InMap`/`NotInMap` filter whose `list:` value
//! names a list of syscalls while the argument is not `syscall64`, or names
//! a list that is not a syscall list; warns when a kprobe's `syscall:`
//! contradicts the type of the list in its `call` (the list's type wins).
//! Why: Tetragon turns a syscall list into syscall ids only for `syscall64`
//! arguments and refuses the rest ("argument type is not syscall64", "list
//! is not syscall type").
//! Example: `InMap` with `list:dups` on an argument declared `uint64`;
//! declare it `syscall64`.

use super::{Check, arg_filters, decl_of, list_named};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::types::FilterGroup;
use crate::ir::{ArgType, FilterValue, HookTarget, Operator, Policy};

pub const CHECK: Check = Check {
    name: "list_usage",
    codes: &[Code::ListTypeMismatch],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for (_, filter) in arg_filters(sel) {
                if !matches!(filter.operator.value, Operator::InMap | Operator::NotInMap) {
                    continue;
                }
                let Some(target) = filter.targets.first() else {
                    continue;
                };
                let Some(decl) = decl_of(hook, *target) else {
                    continue;
                };
                let ty = decl.ty.value;
                let op = filter.operator.value.as_str();
                let syscall_list = filter.values.iter().find_map(|v| match &v.value {
                    FilterValue::Syscall { list: Some(l), .. } => Some((l.as_str(), v.span)),
                    _ => None,
                });
                if let Some((list, span)) = syscall_list {
                    if ty != ArgType::Syscall64 && ty != ArgType::Auto {
                        let position = match target {
                            crate::ir::ArgRef::Arg(p) => format!("`args[{p}]`"),
                            crate::ir::ArgRef::Data(p) => format!("`data[{p}]`"),
                            crate::ir::ArgRef::Return => "`returnArg`".into(),
                        };
                        out.push(
                            Diagnostic::of(
                                Code::ListTypeMismatch,
                                format!("`{op}` on a `list:` of syscalls needs a `syscall64` argument, but {position} is `{ty}`"),
                            )
                            .with_primary(span, format!("`list:{list}` holds syscalls"))
                            .with_secondary(decl.ty.span, format!("declared `{ty}`; should be `syscall64`"))
                            .with_help("declare the argument as `type: syscall64` (Tetragon then compares syscall ids, with the ABI bit for 32-bit syscalls)")
                            .with_note("Tetragon refuses the policy: the list's argument type is not syscall64"),
                        );
                    }
                    continue;
                }
                let numeric = matches!(
                    ty.filter_group(),
                    Some(FilterGroup::Int32 | FilterGroup::Int64)
                );
                let text_values: Vec<&str> = filter
                    .values
                    .iter()
                    .filter_map(|v| match &v.value {
                        FilterValue::Text(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                if numeric && !text_values.is_empty() {
                    let list = policy.lists.iter().find(|l| {
                        !l.kind.is_syscalls()
                            && !l.values.is_empty()
                            && l.values
                                .iter()
                                .map(|v| v.value.as_str())
                                .eq(text_values.iter().copied())
                    });
                    let span = filter
                        .values
                        .iter()
                        .find(|v| matches!(v.value, FilterValue::Text(_)))
                        .map_or(filter.operator.span, |v| v.span);
                    let name = list.map_or_else(
                        || "this list".to_string(),
                        |l| format!("`{}`", l.name.value),
                    );
                    let mut d = Diagnostic::of(Code::ListTypeMismatch, format!("`{op}` takes `list:` values only for syscall lists, and {name} is not one"))
                        .with_primary(span, "not a list of syscalls")
                        .with_help("give the list `type: syscalls` (with `sys_NAME` entries) and the argument `type: syscall64`, or write the numbers as values")
                        .with_note("Tetragon refuses the policy: the list is not syscall type");
                    if let Some(l) = list {
                        d = d.with_secondary(l.name.span, "defined here");
                    }
                    out.push(d);
                }
            }
        }
        if let HookTarget::Kprobe {
            calls,
            syscall_written: Some(written),
            ..
        } = &hook.target
        {
            let Some(list) = calls
                .first()
                .and_then(|c| c.from_list.as_deref())
                .and_then(|l| list_named(policy, l))
            else {
                continue;
            };
            let list_says = list.kind.is_syscalls();
            let (syscall, span) = (written.value, written.span);
            if list_says != syscall {
                out.push(
                    Diagnostic::new(
                        Code::ListTypeMismatch,
                        Severity::Warning,
                        format!("`syscall: {syscall}` is ignored for `list:{}`: the list's type decides", list.name.value),
                    )
                    .with_primary(span, "ignored")
                    .with_secondary(list.kind_span.unwrap_or(list.name.span), format!("a `{}` list", list.kind.as_str()))
                    .with_help(if list_says {
                        "remove `syscall: false`; to hook the functions as plain kernel functions, drop the list's `type: syscalls`"
                    } else {
                        "remove `syscall: true`; to hook syscalls, give the list `type: syscalls`"
                    }),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;

    const TRACEPOINT: &str = r#"
  lists:
  - {name: dups, type: LISTTYPE, values: [sys_dup, sys_dup2]}
  tracepoints:
  - subsystem: raw_syscalls
    event: sys_enter
    args: [{index: 4, type: ARGTYPE}]
    selectors:
    - matchArgs: [{index: 0, operator: InMap, values: ["list:dups"]}]
"#;

    #[test]
    fn syscall_list_needs_syscall64() {
        let y = policy(
            &TRACEPOINT
                .replace("LISTTYPE", "syscalls")
                .replace("ARGTYPE", "uint64"),
        );
        let d = with_code(&y, Code::ListTypeMismatch);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(
            d[0].message.contains("`syscall64`") && d[0].message.contains("`uint64`"),
            "{}",
            d[0].message
        );
        assert_eq!(primary_text(&y, &d[0]), "\"list:dups\"");
        let ok = policy(
            &TRACEPOINT
                .replace("LISTTYPE", "syscalls")
                .replace("ARGTYPE", "syscall64"),
        );
        assert!(with_code(&ok, Code::ListTypeMismatch).is_empty());
    }

    #[test]
    fn plain_list_in_a_map() {
        let y = policy(
            &TRACEPOINT
                .replace("type: LISTTYPE, ", "")
                .replace("ARGTYPE", "uint64"),
        );
        let d = with_code(&y, Code::ListTypeMismatch);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("`dups`"));
    }

    #[test]
    fn syscall_flag_against_list_type() {
        let y = policy(
            "  lists:\n  - {name: dups, type: syscalls, values: [sys_dup]}\n  kprobes:\n  - call: \"list:dups\"\n    syscall: FLAG\n",
        );
        assert_eq!(
            with_code(&y.replace("FLAG", "false"), Code::ListTypeMismatch).len(),
            1
        );
        assert!(with_code(&y.replace("FLAG", "true"), Code::ListTypeMismatch).is_empty());
    }
}
