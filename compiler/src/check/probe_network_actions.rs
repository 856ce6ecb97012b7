//! Flags `GetUrl` and `DnsLookup` on uprobes and USDTs.
//!
//! What it does: on Tetragon's main branch the uprobe and USDT sensors
//! refuse a policy with either action ("GetUrl and DnsLookup actions not
//! supported"): an error. Releases up to 1.7 load it, and the agent never
//! performs the action outside kprobes and tracepoints: a warning there.
//! Why: the request the policy promises is never made; on newer agents the
//! policy does not load at all.
//! Example: `matchActions: [{action: DnsLookup, argFqdn: example.com}]` on
//! a uprobe; move the action to a kprobe policy.

use super::VersionedCheck;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{ActionKind, HookKind, Policy};
use crate::tetragon::TetragonVersion;

pub const CHECK: VersionedCheck = VersionedCheck {
    name: "probe_network_actions",
    codes: &[Code::ActionNotSupported],
    run,
};

/// The first version whose uprobe and USDT sensors refuse the actions.
const REFUSED_SINCE: TetragonVersion = TetragonVersion::Main;

fn run(policy: &Policy, version: TetragonVersion, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let kind = hook.kind();
        if !matches!(kind, HookKind::Uprobe | HookKind::Usdt) {
            continue;
        }
        for sel in &hook.selectors {
            for action in sel.match_actions.iter().chain(&sel.match_return_actions) {
                if !matches!(
                    action.kind,
                    ActionKind::GetUrl { .. } | ActionKind::DnsLookup { .. }
                ) {
                    continue;
                }
                let name = action.kind.name();
                let history =
                    TetragonVersion::since(REFUSED_SINCE, "refused", "loaded without effect");
                let (severity, message) = if version >= REFUSED_SINCE {
                    (
                        Severity::Error,
                        format!("{} hooks cannot run `{name}`", kind.as_str()),
                    )
                } else {
                    (
                        Severity::Warning,
                        format!("`{name}` has no effect on {} hooks", kind.as_str()),
                    )
                };
                out.push(
                    Diagnostic::new(Code::ActionNotSupported, severity, message)
                        .with_primary(
                            action.name_span,
                            format!("not available on {} hooks", kind.as_str()),
                        )
                        .with_help("move the action to a kprobe policy")
                        .with_note(format!(
                            "the agent performs `{name}` for kprobe events only; {history} (\"GetUrl and DnsLookup actions not supported\")"
                        )),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{diagnostics_for_version, policy};
    use super::*;

    const UPROBE: &str = "  uprobes:\n  - path: /bin/bash\n    symbols: [readline]\n    selectors:\n    - matchActions:\n      - action: DnsLookup\n        argFqdn: example.com\n";
    const USDT: &str = "  usdts:\n  - path: /usr/bin/python3\n    provider: python\n    name: function__entry\n    selectors:\n    - matchActions:\n      - action: GetUrl\n        argUrl: http://example.com\n";

    fn severities(spec: &str, version: TetragonVersion) -> Vec<Severity> {
        diagnostics_for_version(&policy(spec), version)
            .into_iter()
            .filter(|d| d.code == Code::ActionNotSupported)
            .map(|d| d.severity)
            .collect()
    }

    #[test]
    fn refused_on_main_idle_on_releases() {
        for spec in [UPROBE, USDT] {
            assert_eq!(severities(spec, TetragonVersion::Main), [Severity::Error]);
            assert_eq!(severities(spec, TetragonVersion::V1_7), [Severity::Warning]);
            assert_eq!(severities(spec, TetragonVersion::V1_5), [Severity::Warning]);
        }
    }

    #[test]
    fn kprobes_keep_them() {
        let spec = "  kprobes:\n  - call: sys_openat\n    selectors:\n    - matchActions:\n      - action: DnsLookup\n        argFqdn: example.com\n";
        assert!(severities(spec, TetragonVersion::Main).is_empty());
    }
}
