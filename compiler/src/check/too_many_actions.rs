//! Flags selectors with more actions than Tetragon runs.
//!
//! What it does: reports a fourth entry in a selector's `matchActions` or
//! `matchReturnActions`.
//! Why: the agent refuses the policy ("only 3 actions are support for
//! selector").
//! Example: `matchActions: [{action: Post}, {action: Signal, argSig: 19},
//! {action: GetUrl, ...}, {action: DnsLookup, ...}]`; split the actions
//! across two hooks or drop one.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::Policy;

pub const CHECK: Check = Check {
    name: "too_many_actions",
    codes: &[Code::TooManyActions],
    run,
};

/// Actions per `matchActions` / `matchReturnActions` list.
pub const MAX_ACTIONS: usize = 3;

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for (key, actions) in [
                ("matchActions", &sel.match_actions),
                ("matchReturnActions", &sel.match_return_actions),
            ] {
                if actions.len() <= MAX_ACTIONS {
                    continue;
                }
                out.push(
                    Diagnostic::of(
                        Code::TooManyActions,
                        format!("`{key}` has {} actions; Tetragon runs at most {MAX_ACTIONS} per selector", actions.len()),
                    )
                    .with_primary(actions[MAX_ACTIONS].span, format!("action {} is over the limit", MAX_ACTIONS + 1))
                    .with_help("drop an action (`Post` is implied when no action suppresses the event), or repeat the hook in another policy for the extra actions")
                    .with_note("Tetragon refuses the policy: \"only 3 actions are support for selector\""),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;

    #[test]
    fn four_actions_are_one_too_many() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_ptrace
    selectors:
    - matchActions:
      - action: Post
      - action: Signal
        argSig: 19
      - action: GetUrl
        argUrl: http://alert.example/ptrace
      - action: DnsLookup
        argFqdn: ptrace.alert.example
"#,
        );
        let d = with_code(&y, Code::TooManyActions);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(primary_text(&y, &d[0]).contains("DnsLookup"));
        let three = y.replace(
            "      - action: DnsLookup\n        argFqdn: ptrace.alert.example\n",
            "",
        );
        assert!(with_code(&three, Code::TooManyActions).is_empty());
    }
}
