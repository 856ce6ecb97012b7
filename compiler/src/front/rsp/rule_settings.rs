//! Flags RuntimeSecurityPolicy rules whose settings do not fit their type
//! (TPC313).
//!
//! What it does: requires `file:` on File rules and `network:` on Network
//! rules, refuses another type's settings, and refuses more than one
//! `matchPaths` entry on File and Network rules.
//! Why: a setting the rule type does not read would be ignored silently;
//! File and Network rules match the process with one `matchBinaries`
//! filter, which takes one entry.
//! Example: `type: File` with `network:`.

use super::{MatchPath, Rule, RuleKind};
use crate::diagnostics::{Code, Diagnostic};

/// Returns whether to lower the rule.
pub(super) fn check(
    rule: &Rule<'_>,
    match_paths: &[MatchPath],
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let mut ok = true;
    for kind in [RuleKind::File, RuleKind::Network] {
        let Some(key) = kind.settings_key() else {
            continue;
        };
        let Some(entry) = rule
            .node
            .as_map()
            .and_then(|m| m.iter().find(|e| e.key.scalar_text() == Some(key)))
        else {
            if kind == rule.kind {
                diags.push(
                    Diagnostic::of(
                        Code::RspRuleSettings,
                        format!("a {} rule needs `{key}:`", kind.name()),
                    )
                    .with_primary(rule.node.span, format!("no `{key}:` settings"))
                    .with_help(match kind {
                        RuleKind::File => "add `file: {operations: [write], prefixes: [/etc/]}`",
                        _ => "add `network: {operations: [connect], cidrs: [10.0.0.0/8]}`",
                    }),
                );
                ok = false;
            }
            continue;
        };
        if kind != rule.kind {
            diags.push(
                Diagnostic::of(
                    Code::RspRuleSettings,
                    format!("`{key}:` on a {} rule", rule.kind.name()),
                )
                .with_primary(
                    entry.key.span,
                    format!("only {} rules read `{key}:`", kind.name()),
                )
                .with_help(format!(
                    "make it a separate rule with `type: {}`",
                    kind.name()
                )),
            );
            ok = false;
        }
    }
    if rule.kind != RuleKind::Execution && match_paths.len() > 1 {
        diags.push(
            Diagnostic::of(
                Code::RspRuleSettings,
                format!("a {} rule takes one `matchPaths` entry, found {}", rule.kind.name(), match_paths.len()),
            )
            .with_primary(match_paths[1].span, "second entry")
            .with_secondary(rule.node.span, "this rule")
            .with_help("File and Network rules match the process with one matchBinaries filter; put the paths in one entry's `values`, or write one policy per entry")
            .with_note("Tetragon takes one matchBinaries filter per selector (CRD maxItems 1)"),
        );
        ok = false;
    }
    ok
}
