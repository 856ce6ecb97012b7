//! Flags hooks that attach to the same place twice in one policy.
//!
//! What it does: reports two kprobes on the same function (after `list:`
//! expansion, with `sys_openat` and `__x64_sys_openat` counted as the same
//! syscall): an error while kprobe_multi is in use, a warning with the
//! `disable-kprobe-multi` option. Warns about the same fentry, tracepoint,
//! LSM hook, uprobe symbol or offset, or USDT probe hooked twice.
//! Why: with kprobe_multi (the default on kernels that have it) Tetragon
//! refuses the policy ("can't have multiple instances of same symbol with
//! kprobe_multi, use --disable-kprobe-multi option"); otherwise both hooks
//! fire and every event is reported twice.
//! Example: a kprobe on `sys_dup` and a kprobe on `list:dups` whose list
//! contains `sys_dup`; merge their selectors into one hook.

use super::{Check, call_is_syscall, option_is_true};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::names::{split_syscall_arch_prefix, syscall_base_name};
use crate::ir::{HookKind, HookTarget, Policy};
use crate::span::Span;
use std::collections::HashMap;

pub const CHECK: Check = Check {
    name: "duplicate_hook",
    codes: &[Code::DuplicateHook],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let multi = !option_is_true(policy, "disable-kprobe-multi");
    let mut seen: HashMap<(HookKind, String), (Span, String)> = HashMap::new();
    for hook in &policy.hooks {
        let kind = hook.kind();
        let mut places: Vec<(String, String, Span)> = Vec::new();
        match &hook.target {
            HookTarget::Kprobe { calls, .. } => {
                for call in calls {
                    let key = if call_is_syscall(policy, hook, call) {
                        let (_, bare) = split_syscall_arch_prefix(&call.name);
                        match syscall_base_name(bare) {
                            Some(base) => format!("syscall {base}"),
                            None => format!("syscall {bare}"),
                        }
                    } else {
                        call.name.clone()
                    };
                    places.push((key, format!("`{}`", call.name), call.span));
                }
            }
            HookTarget::Tracepoint {
                subsystem,
                event,
                raw,
            } => {
                let raw = if *raw { " (raw)" } else { "" };
                let name = format!("{}/{}{raw}", subsystem.value, event.value);
                places.push((
                    name.clone(),
                    format!("tracepoint `{name}`"),
                    subsystem.span.to(event.span),
                ));
            }
            HookTarget::Lsm { hook: name } => places.push((
                name.value.clone(),
                format!("LSM hook `{}`", name.value),
                name.span,
            )),
            HookTarget::Uprobe {
                path,
                symbols,
                offsets,
                addrs,
                ..
            } => {
                for s in symbols {
                    places.push((
                        format!("{}:{}", path.value, s.value),
                        format!("`{}` in `{}`", s.value, path.value),
                        s.span,
                    ));
                }
                for o in offsets {
                    places.push((
                        format!("{}+{}", path.value, o.value),
                        format!("offset {} in `{}`", o.value, path.value),
                        o.span,
                    ));
                }
                for a in addrs {
                    places.push((
                        format!("{}@{}", path.value, a.value),
                        format!("address {} in `{}`", a.value, path.value),
                        a.span,
                    ));
                }
            }
            HookTarget::Usdt {
                path,
                provider,
                name,
                ..
            } => {
                let key = format!("{}:{}:{}", path.value, provider.value, name.value);
                places.push((
                    key,
                    format!(
                        "USDT `{}:{}` in `{}`",
                        provider.value, name.value, path.value
                    ),
                    name.span,
                ));
            }
        }
        for (key, shown, span) in places {
            match seen.get(&(kind, key.clone())) {
                Some((first, first_shown)) => {
                    out.push(duplicate(kind, multi, &shown, first_shown, span, *first))
                }
                None => {
                    seen.insert((kind, key), (span, shown));
                }
            }
        }
    }
}

fn duplicate(
    kind: HookKind,
    multi: bool,
    shown: &str,
    first_shown: &str,
    span: Span,
    first: Span,
) -> Diagnostic {
    let same = if shown == first_shown {
        String::new()
    } else {
        format!(" (as {first_shown})")
    };
    let d = if kind == HookKind::Kprobe && multi {
        Diagnostic::new(Code::DuplicateHook, Severity::Error, format!("{shown} is hooked twice in this policy{same}"))
            .with_note("Tetragon attaches all kprobes of a policy with one kprobe_multi link and refuses a symbol that appears twice (\"can't have multiple instances of same symbol with kprobe_multi\")")
    } else {
        Diagnostic::new(
            Code::DuplicateHook,
            Severity::Warning,
            format!("{shown} is hooked twice in this policy{same}; each event is reported twice"),
        )
    };
    d.with_primary(span, "hooked again here")
        .with_secondary(first, "first hooked here")
        .with_help("merge the two hooks: put the second hook's selectors into the first (up to 5 selectors per hook)")
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;

    #[test]
    fn same_syscall_twice_with_and_without_multi() {
        let y = policy(
            r#"
  lists:
  - name: dups
    type: syscalls
    values: [sys_dup, sys_dup2]
  kprobes:
  - call: "list:dups"
  - call: __x64_sys_dup
OPTIONS"#,
        );
        let d = with_code(&y.replace("OPTIONS", ""), Code::DuplicateHook);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Error);
        assert_eq!(
            primary_text(&y.replace("OPTIONS", ""), &d[0]),
            "__x64_sys_dup"
        );
        let single = y.replace(
            "OPTIONS",
            "  options: [{name: disable-kprobe-multi, value: \"true\"}]\n",
        );
        let d = with_code(&single, Code::DuplicateHook);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        let distinct = y
            .replace("__x64_sys_dup", "sys_dup3")
            .replace("OPTIONS", "");
        assert!(with_code(&distinct, Code::DuplicateHook).is_empty());
    }

    #[test]
    fn same_tracepoint_twice() {
        let y = policy(
            "  tracepoints:\n  - {subsystem: sched, event: sched_process_exec}\n  - {subsystem: sched, event: SECOND}\n",
        );
        assert_eq!(
            with_code(
                &y.replace("SECOND", "sched_process_exec"),
                Code::DuplicateHook
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &y.replace("SECOND", "sched_process_exit"),
                Code::DuplicateHook
            )
            .is_empty()
        );
    }
}
