//! Flags policies that mix hook kinds.
//!
//! What it does: reports a policy in which more than one of `kprobes`,
//! `tracepoints`, `lsmhooks`, `uprobes` and `usdts` has entries.
//! Why: Tetragon's policy handler loads one kind of hook per policy and
//! refuses the rest ("tracing policies with multiple sections of kprobes,
//! tracepoints, lsm hooks, uprobes or usdts are currently not supported").
//! Example: a spec with both `kprobes:` and `tracepoints:`; split it into two
//! policies.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{HookKind, Policy};

pub const CHECK: Check = Check {
    name: "mixed_hook_sections",
    codes: &[Code::MixedHookSections],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let sections = [
        HookKind::Kprobe,
        HookKind::Tracepoint,
        HookKind::Lsm,
        HookKind::Uprobe,
        HookKind::Usdt,
    ];
    let present: Vec<_> = sections
        .iter()
        .filter_map(|k| policy.hooks.iter().find(|h| h.kind() == *k))
        .collect();
    if present.len() < 2 {
        return;
    }
    let names: Vec<&str> = present.iter().map(|h| h.kind().spec_key()).collect();
    let mut d = Diagnostic::of(
        Code::MixedHookSections,
        format!(
            "policy `{}` mixes {}; Tetragon loads one kind of hook per policy",
            policy.name.value,
            names.join(" and ")
        ),
    )
    .with_primary(
        present[1].span,
        format!("first of the {}", present[1].kind().spec_key()),
    );
    d = d.with_secondary(
        present[0].span,
        format!("first of the {}", present[0].kind().spec_key()),
    );
    out.push(d.with_help("split the policy into one policy per hook kind"));
}
