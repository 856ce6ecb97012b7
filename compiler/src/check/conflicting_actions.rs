//! Flags action lists whose actions undo or shadow each other.
//!
//! What it does: warns about `Post` together with `NoPost`, the same action
//! twice in one list, `GetUrl`/`DnsLookup` that are not the last action, and
//! `GetUrl`/`DnsLookup` with `NoPost`.
//! Why: `NoPost` suppresses the event whatever else the list says, and the
//! agent performs `GetUrl`/`DnsLookup` only when the posted event names
//! them, which happens only if they are the last action and the event is
//! posted. The action that appears in the event is the last one that ran.
//! Example: `matchActions: [{action: GetUrl, argUrl: ...}, {action: Post}]`;
//! put `GetUrl` last.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{Action, ActionKind, Policy};
use std::mem::discriminant;

pub const CHECK: Check = Check {
    name: "conflicting_actions",
    codes: &[Code::ConflictingActions],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for list in [&sel.match_actions, &sel.match_return_actions] {
                check_list(list, out);
            }
        }
    }
}

fn is_agent_action(a: &Action) -> bool {
    matches!(
        a.kind,
        ActionKind::GetUrl { .. } | ActionKind::DnsLookup { .. }
    )
}

fn check_list(actions: &[Action], out: &mut Vec<Diagnostic>) {
    let no_post = actions
        .iter()
        .find(|a| matches!(a.kind, ActionKind::NoPost));
    if let (Some(np), Some(post)) = (
        no_post,
        actions
            .iter()
            .find(|a| matches!(a.kind, ActionKind::Post { .. })),
    ) {
        out.push(
            Diagnostic::of(
                Code::ConflictingActions,
                "`Post` and `NoPost` in the same selector: the event is not posted",
            )
            .with_primary(post.name_span, "has no effect")
            .with_secondary(np.name_span, "suppresses the event")
            .with_help("keep `NoPost` to suppress the event, or remove it to post the event"),
        );
    }
    for (i, a) in actions.iter().enumerate() {
        if let Some(first) = actions[..i].iter().find(|b| {
            discriminant(&b.kind) == discriminant(&a.kind) && b.kind.name() == a.kind.name()
        }) {
            out.push(
                Diagnostic::of(
                    Code::ConflictingActions,
                    format!("`{}` appears twice in this selector", a.kind.name()),
                )
                .with_primary(a.name_span, "repeated")
                .with_secondary(first.name_span, "first here")
                .with_help("keep one of them (merge their arguments if they differ)"),
            );
        }
    }
    for a in actions.iter().filter(|a| is_agent_action(a)) {
        if let Some(np) = no_post {
            out.push(
                Diagnostic::of(
                    Code::ConflictingActions,
                    format!("`{}` never runs with `NoPost`", a.kind.name()),
                )
                .with_primary(a.name_span, "performed by the agent only for posted events")
                .with_secondary(np.name_span, "suppresses the event")
                .with_help("remove `NoPost`"),
            );
        }
    }
    if let Some(last) = actions.last() {
        for a in actions
            .iter()
            .filter(|a| is_agent_action(a) && !std::ptr::eq(*a, last))
        {
            out.push(
                Diagnostic::of(Code::ConflictingActions, format!("`{}` is not the last action, so the agent never performs it", a.kind.name()))
                    .with_primary(a.name_span, "must be last")
                    .with_secondary(last.name_span, format!("the event will name `{}` instead", last.kind.name()))
                    .with_help(format!("move `{}` to the end of `matchActions`", a.kind.name()))
                    .with_note("the event's action is the last action of the list, and the agent performs GetUrl/DnsLookup when it receives an event whose action is one of them"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    fn actions(list: &str) -> String {
        policy(&format!(
            "  kprobes:\n  - call: sys_openat\n    selectors:\n    - matchActions: {list}\n"
        ))
    }

    #[test]
    fn post_with_no_post() {
        assert_eq!(
            with_code(
                &actions("[{action: Post}, {action: NoPost}]"),
                Code::ConflictingActions
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &actions("[{action: Sigkill}, {action: NoPost}]"),
                Code::ConflictingActions
            )
            .is_empty()
        );
    }

    #[test]
    fn get_url_must_be_last() {
        let d = with_code(
            &actions("[{action: GetUrl, argUrl: \"http://a\"}, {action: Post}]"),
            Code::ConflictingActions,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(
            with_code(
                &actions("[{action: Post}, {action: GetUrl, argUrl: \"http://a\"}]"),
                Code::ConflictingActions
            )
            .is_empty()
        );
    }

    #[test]
    fn duplicates_and_no_post_with_dns() {
        assert_eq!(
            with_code(
                &actions("[{action: Sigkill}, {action: Sigkill}]"),
                Code::ConflictingActions
            )
            .len(),
            1
        );
        let d = with_code(
            &actions("[{action: NoPost}, {action: DnsLookup, argFqdn: a.example}]"),
            Code::ConflictingActions,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
    }
}
