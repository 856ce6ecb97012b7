//! Flags a `returnArgAction` that is an action but not `TrackSock` or
//! `UntrackSock` (most often `Post`).
//!
//! What it does: since Tetragon 1.7 (commit a78e9a9b1, April 2026) the
//! loader refuses such a hook: an error. For 1.6 and earlier (`tpc check
//! --tetragon 1.6`) the hook loads and the action does nothing: a warning.
//! Why: `returnArgAction` only drives socket tracking on the return path;
//! `returnArgAction: Post` looks like it posts the return value, which
//! `returnArg` already does, and it stops the policy from loading on
//! current releases.
//! Example: `returnArgAction: Post` on a kretprobe; remove the line, or use
//! `matchReturnActions: [{action: Post}]` in a selector.

use super::VersionedCheck;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::front::schema::ACTIONS;
use crate::ir::Policy;
use crate::tetragon::TetragonVersion;

pub const CHECK: VersionedCheck = VersionedCheck {
    name: "unsupported_return_arg_action",
    codes: &[Code::ReturnMismatch],
    run,
};

/// The first release whose loader refuses the other actions.
const REFUSED_SINCE: TetragonVersion = TetragonVersion::V1_7;

fn run(policy: &Policy, version: TetragonVersion, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let Some(action) = &hook.return_arg_action else {
            continue;
        };
        let name = action.value.trim();
        // Unknown names are `return_mismatch`'s.
        let Some(known) = ACTIONS
            .values
            .iter()
            .chain(ACTIONS.agent_extra)
            .find(|a| a.eq_ignore_ascii_case(name))
        else {
            continue;
        };
        if matches!(*known, "TrackSock" | "UntrackSock") {
            continue;
        }
        let history = TetragonVersion::since(REFUSED_SINCE, "refused", "accepted as a no-op");
        let help = format!(
            "remove `returnArgAction`; to act on the return value, use `matchReturnActions: [{{action: {known}}}]` in a selector"
        );
        if version >= REFUSED_SINCE {
            out.push(
                Diagnostic::error(
                    Code::ReturnMismatch,
                    format!("Tetragon {version} refuses `returnArgAction: {name}`: only `TrackSock` and `UntrackSock` are allowed"),
                )
                .with_primary(action.span, "not a socket-tracking action")
                .with_help(help)
                .with_note(format!(
                    "{history}; the loader says \"ReturnArgAction type '{name}' unsupported; omit returnArgAction or use 'TrackSock'/'UntrackSock'\""
                )),
            );
        } else if hook.collects_return() {
            // Without `return: true`, `return_mismatch` already says the
            // field does nothing.
            out.push(
                Diagnostic::new(
                    Code::ReturnMismatch,
                    Severity::Warning,
                    format!("`returnArgAction: {name}` has no effect"),
                )
                .with_primary(action.span, "only socket tracking works here")
                .with_help(help)
                .with_note(format!(
                    "as a `returnArgAction`, only `TrackSock` and `UntrackSock` do anything; {history}"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{diagnostics_for_version, policy};
    use super::*;

    fn findings(action: &str, version: TetragonVersion) -> Vec<Diagnostic> {
        let y = policy(&format!(
            "  kprobes:\n  - call: sk_alloc\n    syscall: false\n    return: true\n    returnArg: {{index: 0, type: sock}}\n    returnArgAction: {action}\n"
        ));
        diagnostics_for_version(&y, version)
            .into_iter()
            .filter(|d| d.code == Code::ReturnMismatch)
            .collect()
    }

    #[test]
    fn post_is_refused_since_1_7_and_idle_before() {
        for version in [TetragonVersion::V1_7, TetragonVersion::Main] {
            let d = findings("Post", version);
            assert_eq!(d.len(), 1, "{d:#?}");
            assert_eq!(d[0].severity, Severity::Error);
            assert!(
                d[0].notes[0]
                    .contains("refused since Tetragon 1.7; accepted as a no-op by 1.6 and earlier")
            );
        }
        for version in [TetragonVersion::V1_5, TetragonVersion::V1_6] {
            let d = findings("Post", version);
            assert_eq!(d.len(), 1, "{d:#?}");
            assert_eq!(d[0].severity, Severity::Warning);
        }
    }

    #[test]
    fn socket_tracking_is_fine_everywhere() {
        for version in TetragonVersion::ALL {
            assert!(findings("TrackSock", version).is_empty());
            assert!(findings("UntrackSock", version).is_empty());
        }
    }
}
