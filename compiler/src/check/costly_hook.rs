//! Points at hooks that run on every system call of the node.
//!
//! What it does: on a `raw_syscalls/sys_enter` or `raw_syscalls/sys_exit`
//! tracepoint (raw or not), warns when an event is posted for every system
//! call (no selectors, or a selector without filters that posts without a
//! `rateLimit`), and notes, when every selector narrows the hook to given
//! syscall ids (`Equal` or `InMap` on the `id` field), that kprobes on those
//! syscalls (`call: "list:NAME"` over a `type: syscalls` list) run only for
//! them (unless the hook notifies an enforcer, Tetragon's documented
//! pattern for syscall enforcement).
//! Why: these tracepoints fire on every system call of every process; the
//! BPF program runs and filters each time. A user measured 400% CPU for a
//! `sys_exit` hook that only wanted three syscalls (cilium/tetragon#3428);
//! the maintainers' advice was to hook the syscalls themselves.
//! Example: `tracepoints: [{subsystem: raw_syscalls, event: sys_enter}]`
//! without selectors.

use super::{Check, filter_decl};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{ActionKind, ArgRef, Hook, HookTarget, Operator, Policy, Selector};

pub const CHECK: Check = Check {
    name: "costly_hook",
    codes: &[Code::CostlyHook],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let HookTarget::Tracepoint {
            subsystem,
            event,
            raw,
        } = &hook.target
        else {
            continue;
        };
        if subsystem.value != "raw_syscalls"
            || !matches!(event.value.as_str(), "sys_enter" | "sys_exit")
        {
            continue;
        }
        let span = event.span;
        let name = format!("raw_syscalls/{}", event.value);
        if let Some(sel) = posts_everything(hook) {
            let message = match sel {
                Some(sel) if sel.index > 0 => format!(
                    "`{name}` posts an event for every system call on the node that selectors before {} do not take",
                    sel.index
                ),
                _ => format!("`{name}` posts an event for every system call on the node"),
            };
            let mut diag = Diagnostic::of(Code::CostlyHook, message)
                .with_primary(span, "fires on every system call of every process");
            if let Some(sel) = sel {
                diag = diag.with_secondary(sel.span, "matches every event and posts it");
            }
            out.push(
                diag.with_help("filter the syscall id (`matchArgs` with `InMap` on a `syscall64` argument), the binaries or the pids, or add a `rateLimit` to the `Post` action")
                    .with_note("each of these events goes through the ring buffer and the agent; on a busy node that is millions per second"),
            );
        } else if !hook.selectors.is_empty()
            && !notifies_enforcer(hook)
            && hook
                .selectors
                .iter()
                .all(|s| narrows_to_ids(hook, s, id_field(&event.value, *raw)))
        {
            out.push(
                Diagnostic::of(
                    Code::CostlyHook,
                    format!("`{name}` runs its BPF program on every system call to keep a few syscall ids"),
                )
                .with_severity(Severity::Note)
                .with_primary(span, "fires on every system call of every process")
                .with_help("hook the syscalls themselves: a `type: syscalls` list and `kprobes: [{call: \"list:NAME\"}]` run only for the listed syscalls")
                .with_note("a user measured 400% CPU for such a hook (cilium/tetragon#3428)"),
            );
        }
    }
}

/// `Some(None)` when the hook has no selectors (Tetragon posts every event),
/// `Some(Some(selector))` when a selector without filters posts without a
/// rate limit, `None` otherwise.
fn posts_everything(hook: &Hook) -> Option<Option<&Selector>> {
    if hook.selectors.is_empty() {
        return Some(None);
    }
    let sel = hook
        .selectors
        .iter()
        .find(|s| s.is_unconditional() && s.macros.is_empty())?;
    let actions = &sel.match_actions;
    let silenced = actions.iter().any(|a| matches!(a.kind, ActionKind::NoPost));
    let limited = actions.iter().any(|a| {
        matches!(
            a.kind,
            ActionKind::Post {
                rate_limit: Some(_),
                ..
            }
        )
    });
    // Without matchActions the selector posts (Tetragon's default action).
    (!silenced && !limited).then_some(Some(sel))
}

/// Whether a selector notifies an enforcer: Tetragon's documented enforcer
/// pattern pairs such a tracepoint with `spec.enforcers`, so kprobes are not
/// the alternative there.
fn notifies_enforcer(hook: &Hook) -> bool {
    hook.selectors
        .iter()
        .flat_map(|s| &s.match_actions)
        .any(|a| matches!(a.kind, ActionKind::NotifyEnforcer { .. }))
}

/// The `index` of the syscall id: format field 4 (after the four common
/// fields) of both tracepoints; the second argument of the raw `sys_enter`
/// (`regs, id`); the raw `sys_exit` (`regs, ret`) has none.
fn id_field(event: &str, raw: bool) -> Option<u32> {
    match (raw, event) {
        (false, _) => Some(4),
        (true, "sys_enter") => Some(1),
        (true, _) => None,
    }
}

/// Whether `sel` keeps only events whose syscall id is among given values:
/// an `Equal` or `InMap` filter on the id field.
fn narrows_to_ids(hook: &Hook, sel: &Selector, id_index: Option<u32>) -> bool {
    let Some(id_index) = id_index else {
        return false;
    };
    sel.match_args.iter().any(|f| {
        matches!(f.operator.value, Operator::Equal | Operator::InMap)
            && matches!(f.targets.as_slice(), [ArgRef::Arg(_)])
            && filter_decl(hook, f).is_some_and(|d| d.index.value == id_index)
    })
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    fn tracepoint(event: &str, raw: bool, body: &str) -> String {
        policy(&format!(
            "  tracepoints:\n  - subsystem: raw_syscalls\n    event: {event}\n    raw: {raw}\n{body}"
        ))
    }

    fn severities(text: &str) -> Vec<Severity> {
        with_code(text, Code::CostlyHook)
            .iter()
            .map(|d| d.severity)
            .collect()
    }

    const ID_ARG: &str = "    args:\n    - index: 4\n      type: syscall64\n";

    #[test]
    fn no_selectors_posts_everything() {
        assert_eq!(
            severities(&tracepoint("sys_enter", false, ID_ARG)),
            [Severity::Warning]
        );
        assert_eq!(
            severities(&tracepoint("sys_exit", true, "")),
            [Severity::Warning]
        );
    }

    #[test]
    fn catch_all_posting_without_rate_limit() {
        let posting = format!("{ID_ARG}    selectors:\n    - matchActions: [{{action: Post}}]\n");
        assert_eq!(
            severities(&tracepoint("sys_enter", false, &posting)),
            [Severity::Warning]
        );
        let limited = format!(
            "{ID_ARG}    selectors:\n    - matchActions: [{{action: Post, rateLimit: 1m}}]\n"
        );
        assert!(severities(&tracepoint("sys_enter", false, &limited)).is_empty());
        let silenced =
            format!("{ID_ARG}    selectors:\n    - matchActions: [{{action: NoPost}}]\n");
        assert!(severities(&tracepoint("sys_enter", false, &silenced)).is_empty());
    }

    #[test]
    fn id_filters_get_a_note_except_with_an_enforcer() {
        let ids = "    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"59\"]\n";
        assert_eq!(
            severities(&tracepoint("sys_enter", false, &format!("{ID_ARG}{ids}"))),
            [Severity::Note]
        );
        // The raw sys_enter's id is its second argument.
        let raw_id = "    args:\n    - index: 1\n      type: int64\n";
        assert_eq!(
            severities(&tracepoint("sys_enter", true, &format!("{raw_id}{ids}"))),
            [Severity::Note]
        );
        // A filter on something else than the id is left alone.
        let ret = "    args:\n    - index: 5\n      type: int64\n";
        assert!(severities(&tracepoint("sys_exit", false, &format!("{ret}{ids}"))).is_empty());
        let enforcer = format!(
            "{ID_ARG}{ids}      matchActions: [{{action: NotifyEnforcer, argError: -1}}]\n"
        );
        assert!(severities(&tracepoint("sys_enter", false, &enforcer)).is_empty());
    }

    #[test]
    fn other_tracepoints_are_left_alone() {
        let text = policy("  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_openat\n");
        assert!(severities(&text).is_empty());
    }
}
