//! Flags action fields that the action does not read.
//!
//! What it does: for every `matchActions`/`matchReturnActions` entry,
//! reports fields that its action ignores, for example `argError` on
//! `Sigkill` or `argSig` on `Post` (a warning), and the `Post`-only options
//! on other actions: `rateLimit`/`rateLimitScope` (Tetragon refuses them:
//! "rate limiting can only applied to post action") and
//! `kernelStackTrace`/`userStackTrace` (refused: "can only be used along
//! Post action").
//! Why: an ignored field usually means the author meant another action
//! (`Sigkill` with `argError` reads like an `Override`), and the refused
//! ones fail the whole policy at load time.
//! Example: `{action: Sigkill, argError: -1}`; to make the call fail,
//! use `{action: Override, argError: -1}`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{Action, ActionKind, Policy};

pub const CHECK: Check = Check {
    name: "action_field_usage",
    codes: &[
        Code::ActionArgumentIgnored,
        Code::InvalidRateLimit,
        Code::ActionNotSupported,
    ],
    run,
};

/// The fields an action reads, besides `action` itself.
fn reads(kind: &ActionKind) -> &'static [&'static str] {
    match kind {
        ActionKind::Post { .. } => &[
            "rateLimit",
            "rateLimitScope",
            "kernelStackTrace",
            "userStackTrace",
            "imaHash",
        ],
        ActionKind::Signal { .. } => &["argSig"],
        ActionKind::Override { .. } => &[
            "argError",
            "argRegs",
            "argNewSymbol",
            "argNewAddr",
            "argNewOffset",
        ],
        ActionKind::GetUrl { .. } => &["argUrl"],
        ActionKind::DnsLookup { .. } => &["argFqdn"],
        ActionKind::TrackSock { .. } | ActionKind::UntrackSock { .. } => &["argSock"],
        ActionKind::NotifyEnforcer { .. } => &["argError", "argSig"],
        ActionKind::Set { .. } => &["argIndex", "argValue"],
        ActionKind::NoPost | ActionKind::Sigkill | ActionKind::CleanupEnforcerNotification => &[],
        // Older actions read fields this CRD does not have; nothing to say.
        ActionKind::Legacy { .. } => &[],
    }
}

/// The action most likely meant when `field` is set on the wrong one.
fn meant_for(field: &str) -> &'static str {
    match field {
        "argError" => "`Override` (or `NotifyEnforcer`)",
        "argSig" => "`Signal` (or `NotifyEnforcer`)",
        "argUrl" => "`GetUrl`",
        "argFqdn" => "`DnsLookup`",
        "argSock" => "`TrackSock` or `UntrackSock`",
        "argIndex" | "argValue" => "`Set`",
        "argRegs" | "argNewSymbol" | "argNewAddr" | "argNewOffset" => "`Override` on a uprobe",
        _ => "`Post`",
    }
}

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for action in sel.match_actions.iter().chain(&sel.match_return_actions) {
                check(action, out);
            }
        }
    }
}

fn check(action: &Action, out: &mut Vec<Diagnostic>) {
    let name = action.kind.name();
    if matches!(action.kind, ActionKind::Legacy { .. }) {
        return;
    }
    let read = reads(&action.kind);
    for field in action.fields.iter().filter(|f| f.value != "action") {
        let f = field.value.as_str();
        if read.contains(&f) {
            continue;
        }
        let d = match f {
            "rateLimit" | "rateLimitScope" => Diagnostic::error(
                Code::InvalidRateLimit,
                format!("`{f}` only applies to `Post`, not to `{name}`"),
            )
            .with_primary(field.span, format!("not allowed on `{name}`"))
            .with_help("add a separate `{action: Post, rateLimit: ...}` entry to rate-limit the events")
            .with_note(format!("Tetragon refuses the policy: \"rate limiting can only applied to post action (was applied to '{}')\"", name.to_ascii_lowercase())),
            "kernelStackTrace" | "userStackTrace" => Diagnostic::error(
                Code::ActionNotSupported,
                format!("`{f}` only applies to `Post`, not to `{name}`"),
            )
            .with_primary(field.span, format!("not allowed on `{name}`"))
            .with_help(format!("move `{f}: true` to a `Post` action of the same selector"))
            .with_note("Tetragon refuses the policy: \"kernelStackTrace or userStackTrace can only be used along Post action\""),
            _ => Diagnostic::warning(Code::ActionArgumentIgnored, format!("`{name}` ignores `{f}`"))
                .with_primary(field.span, "ignored")
                .with_help(format!("`{f}` is read by {}; remove it here, or use that action", meant_for(f))),
        };
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::super::codes_for;
    use crate::diagnostics::Code;

    fn with_action(action: &str) -> String {
        format!(
            "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {{name: p}}
spec:
  kprobes:
  - call: sys_ptrace
    syscall: true
    selectors:
    - matchActions:
      - {action}
"
        )
    }

    #[test]
    fn ignored_fields_are_warned() {
        let codes = codes_for(&with_action("{action: Sigkill, argError: -1}"));
        assert!(codes.contains(&Code::ActionArgumentIgnored), "{codes:?}");
        let codes = codes_for(&with_action("{action: Override, argError: -1}"));
        assert!(!codes.contains(&Code::ActionArgumentIgnored), "{codes:?}");
    }

    #[test]
    fn post_only_options_elsewhere_are_errors() {
        let codes = codes_for(&with_action("{action: Sigkill, rateLimit: 1m}"));
        assert!(codes.contains(&Code::InvalidRateLimit), "{codes:?}");
        let codes = codes_for(&with_action(
            "{action: Signal, argSig: 9, kernelStackTrace: true}",
        ));
        assert!(codes.contains(&Code::ActionNotSupported), "{codes:?}");
        let codes = codes_for(&with_action(
            "{action: Post, rateLimit: 1m, kernelStackTrace: true}",
        ));
        assert!(
            !codes.contains(&Code::InvalidRateLimit) && !codes.contains(&Code::ActionNotSupported),
            "{codes:?}"
        );
    }
}
