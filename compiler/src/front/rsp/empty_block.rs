//! Flags RuntimeSecurityPolicy Block rules that select no executable, or
//! every one (TPC310).
//!
//! What it does: reports `executableSelector.matchPaths: []` and
//! `matchPaths` entries without values under a Block rule, and an
//! Execution Block rule with no `matchPaths` at all.
//! Why: an empty list reads as "nothing" to a person and as "everything"
//! (or, in Tetragon, nothing at all: PR #4022) to a program; a Block must
//! not silently become an audit, nor block every program on the node.
//! Example: `matchPaths: []` with `action: Block`.

use super::{MatchPath, Rule, RuleKind};
use crate::diagnostics::{Code, Diagnostic};
use crate::front::yaml::Node;

pub(super) fn check(
    rule: &Rule<'_>,
    written: Option<&Node>,
    match_paths: &[MatchPath],
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(list) = written.filter(|n| n.as_seq().is_some_and(<[Node]>::is_empty)) {
        diags.push(
            Diagnostic::of(Code::RspEmptyBlock, "`matchPaths` is empty under a Block rule")
                .with_primary(list.span, "selects no executable")
                .with_secondary(rule.action_span, "this rule blocks")
                .with_help("list the executables the rule is about, or remove `executableSelector` for a rule on every process")
                .with_note("an empty selector list is not \"every process\" and not \"none\": tpc refuses it rather than block nothing or everything"),
        );
        return;
    }
    for m in match_paths.iter().filter(|m| m.values.is_empty()) {
        diags.push(
            Diagnostic::of(
                Code::RspEmptyBlock,
                "a `matchPaths` entry without values under a Block rule",
            )
            .with_primary(m.span, "no values")
            .with_secondary(rule.action_span, "this rule blocks")
            .with_help("add `values: [/path/to/binary]`"),
        );
    }
    if rule.kind == RuleKind::Execution && written.is_none() {
        diags.push(
            Diagnostic::of(Code::RspEmptyBlock, "an Execution Block rule without `executableSelector.matchPaths` would block every program")
                .with_primary(rule.action_span, "blocks every execution")
                .with_help("say which executables to block: `spec.selectors.executableSelector.matchPaths: [{pattern: Full, operator: In, values: [/usr/bin/nc]}]`"),
        );
    }
}
