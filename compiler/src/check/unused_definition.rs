//! Flags lists and selector macros that nothing uses.
//!
//! What it does: reports `spec.lists` entries that no `call`, enforcer or
//! `InMap`/`NotInMap` value refers to, and `spec.selectorsMacros` entries
//! that no selector names.
//! Why: an unused definition is usually a typo in the reference (which the
//! reference's own error then also shows), or configuration that no longer
//! does anything.
//! Example: a list `dups` while the selector says `list:dup`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::Policy;

pub const CHECK: Check = Check {
    name: "unused_definition",
    codes: &[Code::UnusedDefinition],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for list in policy.lists.iter().filter(|l| !l.used) {
        out.push(
            Diagnostic::of(Code::UnusedDefinition, format!("list `{}` is never used", list.name.value))
                .with_primary(list.name.span, "defined here")
                .with_help(format!("refer to it with `call: \"list:{0}\"` or an `InMap` value `\"list:{0}\"`, or remove it", list.name.value)),
        );
    }
    for m in policy.macros.iter().filter(|m| !m.used) {
        out.push(
            Diagnostic::of(
                Code::UnusedDefinition,
                format!("selector macro `{}` is never used", m.name.value),
            )
            .with_primary(m.name.span, "defined here")
            .with_help(format!(
                "add `macros: [{}]` to a selector, or remove it",
                m.name.value
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    #[test]
    fn unused_list_and_macro() {
        let y = policy(
            r#"
  lists:
  - {name: dups, type: syscalls, values: [sys_dup]}
  selectorsMacros:
    bash: {matchBinaries: [{operator: In, values: [/usr/bin/bash]}]}
  kprobes:
  - call: CALL
    selectors:
    - MACROS
"#,
        );
        let unused = y
            .replace("CALL", "sys_openat")
            .replace("MACROS", "matchActions: [{action: Post}]");
        assert_eq!(with_code(&unused, Code::UnusedDefinition).len(), 2);
        let used = y
            .replace("CALL", "\"list:dups\"")
            .replace("MACROS", "macros: [bash]");
        assert!(with_code(&used, Code::UnusedDefinition).is_empty());
    }
}
