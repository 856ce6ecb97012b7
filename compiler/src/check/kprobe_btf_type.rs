//! Flags `btfType` and `btfTypeModule` on kprobe arguments for releases
//! that ignore them.
//!
//! What it does: up to Tetragon 1.7, `btfType` is read for uprobes and
//! USDTs only (from their `btfPath`); on kprobes and fentries the agent
//! ignores it, and `resolve` walks the parameter's own type. Tetragon's main
//! branch casts the kprobe argument to `btfType` (looked up in vmlinux,
//! then in `btfTypeModule` or the hooked function's module). With
//! `--tetragon 1.7` or older: a warning.
//! Why: the policy loads, but `resolve` then starts from another struct
//! than the author named (or fails with "invalid resolve path").
//! Example: `args: [{index: 0, type: int, btfType: nf_conn, resolve:
//! status}]` on a kprobe whose parameter 0 is a `struct sk_buff *`.

use super::VersionedCheck;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{HookKind, Policy};
use crate::tetragon::TetragonVersion;

pub const CHECK: VersionedCheck = VersionedCheck {
    name: "kprobe_btf_type",
    codes: &[Code::InvalidArgDeclaration],
    run,
};

/// The first version that casts kprobe arguments to `btfType`.
const READ_SINCE: TetragonVersion = TetragonVersion::Main;

fn run(policy: &Policy, version: TetragonVersion, out: &mut Vec<Diagnostic>) {
    if version >= READ_SINCE {
        return;
    }
    for hook in &policy.hooks {
        if !matches!(hook.kind(), HookKind::Kprobe | HookKind::Fentry) {
            continue;
        }
        for (i, arg) in hook.args.iter().enumerate() {
            let Some(btf_type) = &arg.btf_type else {
                continue;
            };
            let mut d = Diagnostic::new(
                Code::InvalidArgDeclaration,
                Severity::Warning,
                format!(
                    "Tetragon {version} ignores `btfType` on {} arguments: `args[{i}]` is not cast to `{}`",
                    hook.kind().as_str(),
                    btf_type.value
                ),
            )
            .with_primary(btf_type.span, "ignored by this release")
            .with_help("`resolve` walks the parameter's own type here; write the path from that type, or target Tetragon's main branch")
            .with_note(TetragonVersion::since(READ_SINCE, "read on kprobes", "ignored"));
            if let Some(module) = &arg.btf_type_module {
                d = d.with_secondary(module.span, "`btfTypeModule` is ignored too");
            }
            out.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{diagnostics_for_version, policy};
    use super::*;

    #[test]
    fn ignored_up_to_1_7_read_on_main() {
        let y = policy(
            "  kprobes:\n  - call: ip_rcv\n    syscall: false\n    args: [{index: 0, type: int, btfType: nf_conn, resolve: status}]\n",
        );
        let count = |version| {
            diagnostics_for_version(&y, version)
                .iter()
                .filter(|d| d.code == Code::InvalidArgDeclaration)
                .count()
        };
        assert_eq!(count(TetragonVersion::V1_7), 1);
        assert_eq!(count(TetragonVersion::V1_5), 1);
        assert_eq!(count(TetragonVersion::Main), 0);
    }
}
