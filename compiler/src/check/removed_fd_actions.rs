//! Flags `FollowFD`, `UnfollowFD` and `CopyFD` by Tetragon release.
//!
//! What it does: these file-descriptor tracking actions are in the CRD's
//! action enum up to Tetragon 1.7 (deprecated, and needed by no current
//! argument type: `file` and `path` arguments carry their paths); Tetragon's
//! main branch removed them (June 2026), and the CRD validation the agent
//! runs first refuses them. With `--tetragon main`: an error; up to 1.7: a
//! note that they are deprecated.
//! Why: a policy that loads today stops loading with the next release.
//! Example: `matchActions: [{action: FollowFD}]` on `fd_install`; read the
//! `file` argument instead.

use super::VersionedCheck;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::front::schema::FD_ACTIONS;
use crate::ir::{ActionKind, Policy};
use crate::tetragon::TetragonVersion;

pub const CHECK: VersionedCheck = VersionedCheck {
    name: "removed_fd_actions",
    codes: &[Code::UnknownValue, Code::Deprecated],
    run,
};

/// The first version without the actions.
const REMOVED_IN: TetragonVersion = TetragonVersion::Main;

fn run(policy: &Policy, version: TetragonVersion, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for action in sel.match_actions.iter().chain(&sel.match_return_actions) {
                let ActionKind::Legacy { name } = &action.kind else {
                    continue;
                };
                if !FD_ACTIONS.contains(&name.as_str()) {
                    continue;
                }
                let history = TetragonVersion::since(REMOVED_IN, "refused", "accepted");
                let help = "remove the action: `file`, `path` and `fd` arguments already carry the file's path";
                out.push(if version >= REMOVED_IN {
                    Diagnostic::error(
                        Code::UnknownValue,
                        format!("action `{name}` is not in the CRD's enum of Tetragon {version}"),
                    )
                    .with_primary(action.name_span, "removed from Tetragon")
                    .with_help(help)
                    .with_note(format!(
                        "{history}; the agent checks the policy against the CRD and refuses the value (Unsupported value: \"{name}\")"
                    ))
                } else {
                    Diagnostic::new(
                        Code::Deprecated,
                        Severity::Note,
                        format!("action `{name}` is deprecated: Tetragon's main branch no longer accepts it"),
                    )
                    .with_primary(action.name_span, "deprecated")
                    .with_help(help)
                    .with_note(history)
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{diagnostics_for_version, policy};
    use super::*;

    #[test]
    fn refused_on_main_deprecated_before() {
        let y = policy(
            "  kprobes:\n  - call: fd_install\n    syscall: false\n    args: [{index: 0, type: int}, {index: 1, type: file}]\n    selectors:\n    - matchActions:\n      - action: FollowFD\n",
        );
        let on = |version| -> Vec<(Code, Severity)> {
            diagnostics_for_version(&y, version)
                .iter()
                .filter(|d| d.severity > Severity::Note || d.code == Code::Deprecated)
                .map(|d| (d.code, d.severity))
                .collect()
        };
        assert_eq!(
            on(TetragonVersion::Main),
            [(Code::UnknownValue, Severity::Error)]
        );
        assert_eq!(
            on(TetragonVersion::V1_7),
            [(Code::Deprecated, Severity::Note)]
        );
        assert_eq!(
            on(TetragonVersion::V1_5),
            [(Code::Deprecated, Severity::Note)]
        );
    }
}
