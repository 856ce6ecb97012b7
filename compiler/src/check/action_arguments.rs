//! Flags actions without the arguments they need, with arguments out of
//! range, or with arguments their hook ignores.
//!
//! What it does: warns about `Signal` without `argSig` (signal 0 is
//! nothing), `Override` without `argError` on kprobes and LSM hooks (the
//! function is skipped and returns 0, i.e. success), a uprobe `Override`
//! without any of `argError`, `argRegs`, `argNewSymbol`/`argNewAddr`/
//! `argNewOffset`, `GetUrl` without `argUrl`, `DnsLookup` without `argFqdn`,
//! `TrackSock`/`UntrackSock` whose `argSock` is not the position of a `sock`
//! argument, `Set` without `argIndex`/`argValue`, `NotifyEnforcer` with
//! neither `argError` nor `argSig`; about signal numbers outside 1 to 64,
//! about an `argError` that an LSM override replaces by -1, and about
//! `argRegs`/`argNew*` outside uprobes and `imaHash` where nothing computes
//! it. Reports a uprobe `Override` with more than one of `argNewSymbol`,
//! `argNewAddr` and `argNewOffset` (an error).
//! Why: Tetragon loads most of these and does nothing useful (a missing
//! number is 0); the uprobe case is refused ("uprobe Override action needs
//! exactly one of either argNewSymbol, argNewOffset or argNewAddr defined").
//! Example: `{action: Signal}`; write `{action: Signal, argSig: 9}`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::names::is_security_function;
use crate::ir::{Action, ActionKind, ArgType, Hook, HookKind, HookTarget, Policy};
use crate::span::Spanned;

pub const CHECK: Check = Check {
    name: "action_arguments",
    codes: &[
        Code::ActionMissingArgument,
        Code::ActionArgumentIgnored,
        Code::InvalidValue,
    ],
    run,
};

/// LSM hooks for which Tetragon computes `imaHash`.
const IMA_HOOKS: [&str; 11] = [
    "bprm_check_security",
    "bprm_committed_creds",
    "bprm_committing_creds",
    "bprm_creds_for_exec",
    "bprm_creds_from_file",
    "file_ioctl",
    "file_lock",
    "file_open",
    "file_post_open",
    "file_receive",
    "mmap_file",
];

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for action in sel.match_actions.iter().chain(&sel.match_return_actions) {
                check_action(hook, action, out);
            }
        }
    }
}

fn missing(action: &Action, message: String, help: &str) -> Diagnostic {
    Diagnostic::new(Code::ActionMissingArgument, Severity::Warning, message)
        .with_primary(action.name_span, "missing argument")
        .with_help(help)
}

fn ignored<T>(field: &Spanned<T>, name: &str, why: &str) -> Diagnostic {
    Diagnostic::of(
        Code::ActionArgumentIgnored,
        format!("`{name}` is ignored here: {why}"),
    )
    .with_primary(field.span, "ignored")
    .with_help(format!("remove `{name}`"))
}

fn check_signal(signal: &Spanned<i32>, out: &mut Vec<Diagnostic>) {
    if !(1..=64).contains(&signal.value) && signal.value != 0 {
        out.push(
            Diagnostic::new(Code::InvalidValue, Severity::Warning, format!("{} is not a signal number", signal.value))
                .with_primary(signal.span, "signals are 1 to 64")
                .with_help("use e.g. 9 (SIGKILL), 15 (SIGTERM) or 19 (SIGSTOP)")
                .with_note("Tetragon does not check the number; the kernel refuses to send it, so the action does nothing"),
        );
    }
}

fn check_action(hook: &Hook, action: &Action, out: &mut Vec<Diagnostic>) {
    let kind = hook.kind();
    match &action.kind {
        ActionKind::Signal { signal } => match signal {
            None => out.push(
                missing(
                    action,
                    "`Signal` without `argSig` sends signal 0, which does nothing".into(),
                    "add the signal number, e.g. `argSig: 9` (SIGKILL) or `argSig: 19` (SIGSTOP)",
                )
                .with_note("Tetragon does not require `argSig` and uses 0 when it is missing"),
            ),
            Some(s) if s.value == 0 => out.push(
                Diagnostic::new(
                    Code::ActionMissingArgument,
                    Severity::Warning,
                    "`argSig: 0` sends no signal",
                )
                .with_primary(s.span, "signal 0 only checks that the process exists")
                .with_help("use e.g. `argSig: 9` (SIGKILL) or `argSig: 19` (SIGSTOP)"),
            ),
            Some(s) => check_signal(s, out),
        },
        ActionKind::Override {
            error,
            regs,
            new_symbol,
            new_addr,
            new_offset,
        } => {
            let targets = usize::from(new_symbol.is_some())
                + usize::from(new_addr.is_some())
                + usize::from(new_offset.is_some());
            if kind == HookKind::Uprobe {
                if targets > 1 {
                    out.push(
                        Diagnostic::error(Code::ActionMissingArgument, "a uprobe `Override` takes at most one of `argNewSymbol`, `argNewAddr` and `argNewOffset`")
                            .with_primary(action.span, format!("{targets} redirect targets"))
                            .with_help("keep the one that says where the call should go")
                            .with_note("Tetragon refuses the hook: \"uprobe Override action needs exactly one of either argNewSymbol, argNewOffset or argNewAddr defined\""),
                    );
                } else if targets == 0 && regs.is_empty() && error.is_none() {
                    out.push(missing(
                        action,
                        "this uprobe `Override` changes nothing: it has no `argError`, `argRegs`, `argNewSymbol`, `argNewAddr` or `argNewOffset`".into(),
                        "set the return value with `argError`, registers with `argRegs` (e.g. `[\"rax=0\"]`), or redirect the call with `argNewSymbol`",
                    ));
                }
                return;
            }
            for r in regs.iter().take(1) {
                out.push(ignored(r, "argRegs", "only uprobe overrides set registers"));
            }
            if let Some(s) = new_symbol {
                out.push(ignored(
                    s,
                    "argNewSymbol",
                    "only uprobe overrides redirect calls",
                ));
            }
            if let Some(s) = new_addr {
                out.push(ignored(
                    s,
                    "argNewAddr",
                    "only uprobe overrides redirect calls",
                ));
            }
            if let Some(s) = new_offset {
                out.push(ignored(
                    s,
                    "argNewOffset",
                    "only uprobe overrides redirect calls",
                ));
            }
            match error {
                None if matches!(kind, HookKind::Kprobe | HookKind::Lsm) => out.push(
                    missing(
                        action,
                        "`Override` without `argError` makes the function return 0".into(),
                        "add the error to return, e.g. `argError: -1` (EPERM) or `argError: -13` (EACCES)",
                    )
                    .with_note(if kind == HookKind::Lsm {
                        "an LSM hook that returns 0 allows the operation"
                    } else {
                        "the function is skipped and reports success to its caller"
                    }),
                ),
                Some(e) if kind == HookKind::Lsm && !(-4095..=0).contains(&e.value) => out.push(
                    Diagnostic::new(Code::InvalidValue, Severity::Warning, format!("`argError: {}` is not an error number; the override returns -1 instead", e.value))
                        .with_primary(e.span, "outside -4095 to 0")
                        .with_help("write a negative errno, e.g. `-1` (EPERM) or `-13` (EACCES)")
                        .with_note("an LSM override replaces values outside [-4095, 0] with -1"),
                ),
                Some(e) if fmod_ret(hook) && !(-4095..=0).contains(&e.value) => out.push(
                    Diagnostic::new(Code::InvalidValue, Severity::Warning, format!("`argError: {}` is not an error number; the caller receives it as the check's result", e.value))
                        .with_primary(e.span, "outside -4095 to 0")
                        .with_help("write a negative errno, e.g. `-1` (EPERM) or `-13` (EACCES)")
                        .with_note("a `security_*` function returns 0 to allow or a negative errno to refuse; the override (fmod_ret) returns this value unchanged, so what it does is up to the function's callers"),
                ),
                _ => {}
            }
        }
        ActionKind::GetUrl { url: None } => out.push(missing(
            action,
            "`GetUrl` without `argUrl` has nothing to fetch".into(),
            "add `argUrl: \"https://...\"`",
        )),
        ActionKind::DnsLookup { fqdn: None } => out.push(missing(
            action,
            "`DnsLookup` without `argFqdn` has nothing to resolve".into(),
            "add `argFqdn: \"name.example.com\"`",
        )),
        ActionKind::TrackSock { sock_arg } | ActionKind::UntrackSock { sock_arg } => {
            track_sock(hook, action, sock_arg.as_ref(), out)
        }
        ActionKind::Set { arg_index, value } if arg_index.is_none() || value.is_none() => {
            let what = match (arg_index, value) {
                (None, None) => "`argIndex` and `argValue`",
                (None, _) => "`argIndex`",
                _ => "`argValue`",
            };
            out.push(missing(
                action,
                format!("`Set` without {what} writes 0 into argument 0 by default"),
                "add `argIndex` (the USDT argument's position) and `argValue`",
            ));
        }
        ActionKind::NotifyEnforcer { error, signal } => {
            if error.is_none() && signal.is_none() {
                out.push(missing(
                    action,
                    "`NotifyEnforcer` without `argError` or `argSig` asks the enforcer to do nothing".into(),
                    "add `argError: -1` to fail the syscall, or `argSig: 9` to kill the process",
                ));
            }
            if let Some(s) = signal {
                check_signal(s, out);
            }
        }
        ActionKind::Post { ima_hash: true, .. } => {
            let hook_name = match &hook.target {
                HookTarget::Lsm { hook } => Some(hook.value.as_str()),
                _ => None,
            };
            let why = match hook_name {
                None => Some("only LSM hooks compute IMA hashes".to_string()),
                Some(h) if !IMA_HOOKS.contains(&h) => Some(format!(
                    "Tetragon computes IMA hashes only on {}",
                    IMA_HOOKS.join(", ")
                )),
                Some(_) => None,
            };
            if let Some(why) = why {
                out.push(
                    Diagnostic::of(Code::ActionArgumentIgnored, format!("`imaHash` is ignored here: {why}"))
                        .with_primary(action.span, "no IMA hash in events")
                        .with_help("remove `imaHash`, or move the action to an LSM hook such as `file_open` or `bprm_check_security`"),
                );
            }
        }
        _ => {}
    }
}

/// Overrides that return a value in place of an LSM check: LSM hooks and
/// `security_*` kprobes (fmod_ret).
fn fmod_ret(hook: &Hook) -> bool {
    match &hook.target {
        HookTarget::Lsm { .. } => true,
        HookTarget::Kprobe { calls, .. } => {
            !calls.is_empty() && calls.iter().all(|c| is_security_function(&c.name))
        }
        _ => false,
    }
}

fn track_sock(
    hook: &Hook,
    action: &Action,
    sock_arg: Option<&Spanned<i32>>,
    out: &mut Vec<Diagnostic>,
) {
    let name = action.kind.name();
    let position = sock_arg.map_or(0, |s| s.value);
    let arg = usize::try_from(position)
        .ok()
        .and_then(|p| hook.args.get(p));
    let is_sock = arg.is_some_and(|a| a.ty.value == ArgType::Sock);
    if is_sock {
        return;
    }
    let socks: Vec<String> = hook
        .args
        .iter()
        .enumerate()
        .filter(|(_, a)| a.ty.value == ArgType::Sock)
        .map(|(p, _)| p.to_string())
        .collect();
    let help = match socks.as_slice() {
        [] => "declare the socket as an argument of type `sock` and set `argSock` to its position in `args`".to_string(),
        [one] => format!("write `argSock: {one}` (the position of the `sock` argument in `args`)"),
        many => format!("set `argSock` to one of the `sock` arguments' positions: {}", many.join(", ")),
    };
    let (message, span) = match (sock_arg, arg) {
        (None, _) => (
            format!("`{name}` without `argSock` tracks `args[0]`, which is not a `sock`"),
            action.name_span,
        ),
        (Some(s), None) => (
            format!(
                "`argSock: {}` is not a position in this hook's `args`",
                s.value
            ),
            s.span,
        ),
        (Some(s), Some(a)) => (
            format!(
                "`argSock: {}` points at an argument of type `{}`, not `sock`",
                s.value, a.ty.value
            ),
            s.span,
        ),
    };
    out.push(
        Diagnostic::new(Code::ActionMissingArgument, Severity::Warning, message)
            .with_primary(span, "not a `sock` argument")
            .with_help(help)
            .with_note("`argSock` is a position in the hook's `args` list; Tetragon does not check what it points at"),
    );
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    fn actions(list: &str) -> String {
        policy(&format!(
            "  kprobes:\n  - call: sys_openat\n    args: [{{index: 0, type: int}}]\n    selectors:\n    - matchActions: {list}\n"
        ))
    }

    #[test]
    fn signal_needs_a_number() {
        assert_eq!(
            with_code(&actions("[{action: Signal}]"), Code::ActionMissingArgument).len(),
            1
        );
        assert!(
            with_code(
                &actions("[{action: Signal, argSig: 19}]"),
                Code::ActionMissingArgument
            )
            .is_empty()
        );
        assert_eq!(
            with_code(
                &actions("[{action: Signal, argSig: 99}]"),
                Code::InvalidValue
            )
            .len(),
            1
        );
    }

    #[test]
    fn override_without_error_returns_zero() {
        let d = with_code(
            &actions("[{action: Override}]"),
            Code::ActionMissingArgument,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(
            with_code(
                &actions("[{action: Override, argError: -1}]"),
                Code::ActionMissingArgument
            )
            .is_empty()
        );
        assert_eq!(
            with_code(
                &actions("[{action: Override, argError: -1, argRegs: [\"rax=1\"]}]"),
                Code::ActionArgumentIgnored
            )
            .len(),
            1
        );
    }

    #[test]
    fn lsm_override_error_range() {
        let y = policy(
            "  lsmhooks:\n  - hook: file_open\n    selectors:\n    - matchActions: [{action: Override, argError: ERR}]\n",
        );
        assert_eq!(
            with_code(&y.replace("ERR", "1"), Code::InvalidValue).len(),
            1
        );
        assert!(with_code(&y.replace("ERR", "-13"), Code::InvalidValue).is_empty());
    }

    #[test]
    fn uprobe_override_targets() {
        let y = policy(
            "  uprobes:\n  - path: /usr/bin/app\n    symbols: [check_license]\n    selectors:\n    - matchActions: [{action: Override, FIELDS}]\n",
        );
        let d = with_code(
            &y.replace("FIELDS", "argNewSymbol: ok, argNewAddr: 4096"),
            Code::ActionMissingArgument,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Error);
        assert!(
            with_code(
                &y.replace("FIELDS", "argNewSymbol: ok"),
                Code::ActionMissingArgument
            )
            .is_empty()
        );
    }

    #[test]
    fn track_sock_points_at_a_sock() {
        let y = policy(
            "  kprobes:\n  - call: tcp_close\n    syscall: false\n    args: [{index: 0, type: TYPE}]\n    selectors:\n    - matchActions: [{action: UntrackSock, argSock: 0}]\n",
        );
        assert!(with_code(&y.replace("TYPE", "sock"), Code::ActionMissingArgument).is_empty());
        let d = with_code(&y.replace("TYPE", "int"), Code::ActionMissingArgument);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("not `sock`"));
    }

    #[test]
    fn ima_hash_outside_lsm() {
        let d = with_code(
            &actions("[{action: Post, imaHash: true}]"),
            Code::ActionArgumentIgnored,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        let lsm = policy(
            "  lsmhooks:\n  - hook: file_open\n    selectors:\n    - matchActions: [{action: Post, imaHash: true}]\n",
        );
        assert!(with_code(&lsm, Code::ActionArgumentIgnored).is_empty());
    }
}
