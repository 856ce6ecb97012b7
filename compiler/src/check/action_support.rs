//! Flags actions that the hook kind cannot perform.
//!
//! What it does: checks every `matchActions`/`matchReturnActions` entry
//! against the hook kind. Errors for what Tetragon refuses: on LSM hooks
//! anything but `Post`, `NoPost`, `Sigkill`, `Signal` and `Override`, and
//! stack traces; on fentries the enforcement actions (`Sigkill`, `Signal`,
//! `Override`, `NotifyEnforcer`, `Set`). Warnings for actions that load but
//! never run: `Override` on tracepoints and USDTs, `Set` outside USDTs,
//! socket tracking outside kprobes, the enforcer actions on uprobes and
//! USDTs. (`GetUrl`/`DnsLookup` on uprobes and USDTs: `probe_network_actions`.)
//! Why: the agent refuses the hook ("Sigkill action is not supported",
//! "enforcement is not supported for fentry yet"), or loads the action where
//! no BPF program performs it.
//! Example: `Override` on a tracepoint; override the syscall with a kprobe,
//! or use `Sigkill`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{Action, ActionKind, HookKind, Policy};

pub const CHECK: Check = Check {
    name: "action_support",
    codes: &[Code::ActionNotSupported],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let kind = hook.kind();
        for sel in &hook.selectors {
            for action in sel.match_actions.iter().chain(&sel.match_return_actions) {
                if let Some((severity, why, help)) = verdict(&action.kind, kind) {
                    out.push(report(action, kind, severity, why, help));
                }
                if let ActionKind::Post {
                    kernel_stack_trace,
                    user_stack_trace,
                    ..
                } = action.kind
                {
                    if kind == HookKind::Lsm && (kernel_stack_trace || user_stack_trace) {
                        out.push(
                            Diagnostic::of(Code::ActionNotSupported, "LSM hooks cannot collect stack traces")
                                .with_primary(action.span, "`kernelStackTrace`/`userStackTrace` on an LSM hook")
                                .with_help("remove the stack trace flags, or collect the stacks with a kprobe on the `security_*` function")
                                .with_note("Tetragon refuses the hook: \"stacktrace actions are not supported\""),
                        );
                    }
                }
            }
        }
    }
}

type Verdict = (Severity, String, &'static str);

fn verdict(action: &ActionKind, kind: HookKind) -> Option<Verdict> {
    use HookKind::*;
    let name = action.name();
    let refused = |why: String, help: &'static str| Some((Severity::Error, why, help));
    let idle = |why: String, help: &'static str| Some((Severity::Warning, why, help));
    match (action, kind) {
        (ActionKind::Post { .. } | ActionKind::NoPost, _) => None,
        (ActionKind::Sigkill | ActionKind::Signal { .. } | ActionKind::Override { .. }, Lsm) => {
            None
        }
        (_, Lsm) => refused(
            format!(
                "Tetragon refuses the hook: \"{name} action is not supported\"; LSM hooks take Post, NoPost, Sigkill, Signal and Override"
            ),
            "use `Override` with `argError` to deny the operation, or `Sigkill`",
        ),
        (
            ActionKind::Sigkill
            | ActionKind::Signal { .. }
            | ActionKind::Override { .. }
            | ActionKind::NotifyEnforcer { .. }
            | ActionKind::Set { .. },
            Fentry,
        ) => refused(
            "Tetragon refuses the hook: \"enforcement is not supported for fentry yet\"".into(),
            "move the hook to `kprobes` (same fields) to enforce",
        ),
        (ActionKind::Override { .. }, Tracepoint | Usdt) => idle(
            format!(
                "{}s cannot override a return value, so the action never changes anything",
                kind.as_str()
            ),
            "override the syscall with a kprobe (`call: sys_NAME`) or an LSM hook, or kill the process with `Sigkill`",
        ),
        (ActionKind::Set { .. }, Kprobe | Tracepoint | Uprobe) => idle(
            "`Set` writes USDT arguments; on other hooks it does nothing".into(),
            "use `Set` in a `usdts` hook, or `Override` to change a return value",
        ),
        (
            ActionKind::TrackSock { .. } | ActionKind::UntrackSock { .. },
            Tracepoint | Uprobe | Usdt,
        ) => idle(
            format!(
                "socket tracking is done by kprobes; on {} hooks `{name}` does nothing",
                kind.as_str()
            ),
            "track sockets with a kprobe on a function that takes or returns a `struct sock *`",
        ),
        // `GetUrl`/`DnsLookup` on uprobes and USDTs: `probe_network_actions`
        // (the verdict depends on the Tetragon version).
        (
            ActionKind::NotifyEnforcer { .. } | ActionKind::CleanupEnforcerNotification,
            Uprobe | Usdt,
        ) => idle(
            format!("`{name}` works with kprobes and tracepoints only"),
            "notify the enforcer from a kprobe or from the `raw_syscalls/sys_enter` tracepoint",
        ),
        _ => None,
    }
}

fn report(
    action: &Action,
    kind: HookKind,
    severity: Severity,
    why: String,
    help: &str,
) -> Diagnostic {
    let name = action.kind.name();
    let message = match severity {
        Severity::Error => format!("{} hooks cannot run `{name}`", kind.as_str()),
        _ => format!("`{name}` has no effect on {} hooks", kind.as_str()),
    };
    Diagnostic::new(Code::ActionNotSupported, severity, message)
        .with_primary(
            action.name_span,
            format!("not available on {} hooks", kind.as_str()),
        )
        .with_help(help)
        .with_note(why)
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;

    #[test]
    fn lsm_refuses_other_actions() {
        let y = policy(
            "  lsmhooks:\n  - hook: file_open\n    args: [{index: 0, type: file}]\n    selectors:\n    - matchActions: [{action: ACTION}]\n",
        );
        let d = with_code(
            &y.replace("ACTION", "GetUrl, argUrl: \"http://x\""),
            Code::ActionNotSupported,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Error);
        assert_eq!(
            primary_text(&y.replace("ACTION", "GetUrl, argUrl: \"http://x\""), &d[0]),
            "GetUrl"
        );
        assert!(
            with_code(
                &y.replace("ACTION", "Override, argError: -1"),
                Code::ActionNotSupported
            )
            .is_empty()
        );
        assert!(with_code(&y.replace("ACTION", "Sigkill"), Code::ActionNotSupported).is_empty());
    }

    #[test]
    fn fentry_cannot_enforce() {
        let y = policy(
            "  fentries:\n  - call: security_file_open\n    syscall: false\n    selectors:\n    - matchActions: [{action: ACTION}]\n",
        );
        assert_eq!(
            with_code(&y.replace("ACTION", "Sigkill"), Code::ActionNotSupported).len(),
            1
        );
        assert!(with_code(&y.replace("ACTION", "Post"), Code::ActionNotSupported).is_empty());
    }

    #[test]
    fn override_on_a_tracepoint_never_runs() {
        let y = policy(
            "  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_unlinkat\n    selectors:\n    - matchActions: [{action: ACTION}]\n",
        );
        let d = with_code(
            &y.replace("ACTION", "Override, argError: -1"),
            Code::ActionNotSupported,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(with_code(&y.replace("ACTION", "Sigkill"), Code::ActionNotSupported).is_empty());
    }

    #[test]
    fn stack_traces_on_lsm() {
        let y = policy(
            "  lsmhooks:\n  - hook: file_open\n    selectors:\n    - matchActions: [{action: Post, kernelStackTrace: FLAG}]\n",
        );
        assert_eq!(
            with_code(&y.replace("FLAG", "true"), Code::ActionNotSupported).len(),
            1
        );
        assert!(with_code(&y.replace("FLAG", "false"), Code::ActionNotSupported).is_empty());
    }
}
