//! Flags disagreements between `return`, `returnArg`, `returnArgAction` and
//! the return selectors.
//!
//! What it does: reports `return: true` without a `returnArg` and a
//! `returnArgAction` that is not an action name (errors); warns about a
//! `returnArg`, `matchReturnArgs`, `matchReturnActions` or `returnArgAction`
//! on a hook without `return: true`, and about socket tracking on a return
//! value that is not a `sock`. (A `returnArgAction` that is an action but
//! not `TrackSock`/`UntrackSock` is `unsupported_return_arg_action`'s: its
//! verdict depends on the Tetragon version.)
//! Why: Tetragon refuses the first group ("ReturnArg not specified with
//! Return=true", "ReturnArgAction type 'X' unsupported"); without
//! `return: true` it never installs the return probe, so the rest is
//! silently ignored. Also warns when a uprobe with `return: true` collects
//! six arguments: its events have no `return`, and Tetragon's merge puts
//! the return value in place of the sixth.
//! Example: `returnArg: {index: 0, type: int}` without `return: true`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::front::schema::ACTIONS;
use crate::ir::{ArgType, Hook, Policy};

pub const CHECK: Check = Check {
    name: "return_mismatch",
    codes: &[Code::ReturnMismatch],
    run,
};

/// A uprobe event has no `return`: Tetragon merges the return value into
/// `args` at index 5 (`ReturnArgIndex`), so with six collected arguments it
/// takes the sixth one's place.
fn sixth_uprobe_argument(hook: &Hook, returns: bool, out: &mut Vec<Diagnostic>) {
    if !returns || hook.kind() != crate::ir::HookKind::Uprobe {
        return;
    }
    let collected: Vec<_> = hook
        .args
        .iter()
        .filter(|a| a.ty.value != ArgType::Nop)
        .collect();
    if let Some(sixth) = collected.get(5) {
        out.push(
            Diagnostic::new(
                Code::ReturnMismatch,
                Severity::Warning,
                format!(
                    "{}'s return value replaces its sixth argument in the events",
                    hook.display_name()
                ),
            )
            .with_primary(sixth.span, "not in the event")
            .with_help("collect at most five arguments on a uprobe with `return: true`")
            .with_note(
                "a process_uprobe event has no `return`: Tetragon puts the return value into `args` at \
                 index 5, after fewer arguments or in place of the sixth, and filters that replay the \
                 events read it there",
            ),
        );
    }
}

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let returns = hook.collects_return();
        if returns && hook.return_arg.is_none() {
            let at = hook.returns.as_ref().map_or(hook.span, |r| r.span);
            out.push(
                Diagnostic::of(
                    Code::ReturnMismatch,
                    format!(
                        "{} sets `return: true` but declares no `returnArg`",
                        hook.display_name()
                    ),
                )
                .with_primary(at, "needs a `returnArg`")
                .with_help("add `returnArg: {index: 0, type: int}` with the function's return type")
                .with_note(
                    "Tetragon refuses the hook: \"ReturnArg not specified with Return=true\"",
                ),
            );
        }
        if !returns {
            not_returning(hook, out);
        }
        sixth_uprobe_argument(hook, returns, out);
        if let Some(action) = &hook.return_arg_action {
            let name = action.value.trim();
            // The names the agent parses (case-insensitively): CRD and legacy.
            let known = ACTIONS
                .values
                .iter()
                .chain(ACTIONS.agent_extra)
                .find(|a| a.eq_ignore_ascii_case(name));
            match known {
                None => {
                    let mut d = Diagnostic::of(
                        Code::ReturnMismatch,
                        format!("`returnArgAction: {name}` is not an action"),
                    )
                    .with_primary(action.span, "unknown action");
                    d = match crate::diagnostics::suggest::did_you_mean(
                        name,
                        ["TrackSock", "UntrackSock"],
                    ) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => d.with_help("`returnArgAction` takes `TrackSock` or `UntrackSock`"),
                    };
                    out.push(d.with_note(format!(
                        "Tetragon refuses the hook: \"ReturnArgAction type '{name}' unsupported\""
                    )));
                }
                // Other actions: `unsupported_return_arg_action`, whose
                // verdict depends on the Tetragon version.
                Some(a) if !matches!(*a, "TrackSock" | "UntrackSock") => {}
                Some(a) => {
                    if let Some(ret) = &hook.return_arg {
                        if ret.ty.value != ArgType::Sock && ret.ty.value != ArgType::Auto {
                            out.push(
                                Diagnostic::new(Code::ReturnMismatch, Severity::Warning, format!("`{a}` tracks the returned socket, but `returnArg` is `{}`", ret.ty.value))
                                    .with_primary(ret.ty.span, "not a `sock`")
                                    .with_secondary(action.span, "this action")
                                    .with_help("use it on a function that returns a `struct sock *`, with `returnArg: {index: 0, type: sock}`"),
                            );
                        }
                    }
                }
            }
        }
    }
}

fn not_returning(hook: &Hook, out: &mut Vec<Diagnostic>) {
    let help = "add `return: true` to the hook";
    let note = "without `return: true` Tetragon installs no return probe, so the return value is never read";
    if let Some(ret) = &hook.return_arg {
        out.push(
            Diagnostic::new(
                Code::ReturnMismatch,
                Severity::Warning,
                format!(
                    "{} declares a `returnArg` but not `return: true`",
                    hook.display_name()
                ),
            )
            .with_primary(ret.span, "never collected")
            .with_help(help)
            .with_note(note),
        );
        for sel in &hook.selectors {
            if let Some(f) = sel.match_return_args.first() {
                out.push(
                    Diagnostic::new(
                        Code::ReturnMismatch,
                        Severity::Warning,
                        "`matchReturnArgs` is ignored without `return: true`",
                    )
                    .with_primary(f.span, "never evaluated")
                    .with_help(help),
                );
            }
        }
    }
    for sel in &hook.selectors {
        if let Some(a) = sel.match_return_actions.first() {
            out.push(
                Diagnostic::new(
                    Code::ReturnMismatch,
                    Severity::Warning,
                    "`matchReturnActions` is ignored without `return: true`",
                )
                .with_primary(a.span, "never runs")
                .with_help(help)
                .with_note(note),
            );
        }
    }
    if let Some(action) = &hook.return_arg_action {
        out.push(
            Diagnostic::new(
                Code::ReturnMismatch,
                Severity::Warning,
                "`returnArgAction` has no effect without `return: true`",
            )
            .with_primary(action.span, "never runs")
            .with_help("add `return: true` and `returnArg: {index: 0, type: sock}`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    #[test]
    fn return_true_needs_return_arg() {
        let y = policy("  kprobes:\n  - call: sys_openat\n    return: true\nRET");
        let d = with_code(&y.replace("RET", ""), Code::ReturnMismatch);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Error);
        assert!(
            with_code(
                &y.replace("RET", "    returnArg: {index: 0, type: int}\n"),
                Code::ReturnMismatch
            )
            .is_empty()
        );
    }

    #[test]
    fn a_uprobe_return_value_in_place_of_a_sixth_argument_is_flagged() {
        let args = |n: usize| -> String {
            (0..n)
                .map(|i| format!("    - index: {i}\n      type: int\n"))
                .collect()
        };
        let y = |n: usize| {
            policy(&format!(
                "  uprobes:\n  - path: /usr/bin/x\n    symbols: [f]\n    return: true\n    returnArg: {{index: 0, type: int}}\n    args:\n{}",
                args(n)
            ))
        };
        let d = with_code(&y(6), Code::ReturnMismatch);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(d[0].message.contains("sixth argument"), "{}", d[0].message);
        assert!(with_code(&y(5), Code::ReturnMismatch).is_empty());
    }

    #[test]
    fn return_arg_without_return() {
        let y = policy(
            "  kprobes:\n  - call: sys_openat\n    RETURN\n    returnArg: {index: 0, type: int}\n    selectors:\n    - matchReturnArgs: [{index: 0, operator: LT, values: [\"0\"]}]\n",
        );
        let d = with_code(&y.replace("RETURN", "return: false"), Code::ReturnMismatch);
        assert_eq!(d.len(), 2, "{d:#?}");
        assert!(d.iter().all(|d| d.severity == Severity::Warning));
        assert!(with_code(&y.replace("RETURN", "return: true"), Code::ReturnMismatch).is_empty());
    }

    #[test]
    fn return_arg_action_names() {
        let y = policy(
            "  kprobes:\n  - call: sk_alloc\n    syscall: false\n    return: true\n    returnArg: {index: 0, type: sock}\n    returnArgAction: ACTION\n",
        );
        assert!(with_code(&y.replace("ACTION", "TrackSock"), Code::ReturnMismatch).is_empty());
        let unknown = with_code(&y.replace("ACTION", "TrackSocket"), Code::ReturnMismatch);
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].severity, Severity::Error);
    }
}
