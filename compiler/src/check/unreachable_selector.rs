//! Flags selectors that can never decide an event.
//!
//! What it does: reports the selectors that follow a selector without any
//! filter (which matches every event), and a selector whose filters are the
//! same as an earlier selector's.
//! Why: selectors are tried in order and the first one whose filters all
//! hold wins, so a later selector is never reached after a catch-all, and a
//! copy of an earlier selector only matches when the earlier one already
//! did. The actions of such selectors never run.
//! Example: `selectors: [{matchActions: [{action: Post}]}, {matchArgs:
//! ..., matchActions: [{action: Sigkill}]}]`; put the catch-all last.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{ArgFilter, Policy, Selector};
use std::fmt::Write as _;

pub const CHECK: Check = Check {
    name: "unreachable_selector",
    codes: &[Code::UnreachableSelector],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let sels = &hook.selectors;
        // A selector whose macros did not resolve (already reported) looks
        // unconditional without being so.
        let catch_all = sels
            .iter()
            .position(|s| s.is_unconditional() && s.macros.is_empty());
        if let Some(i) = catch_all {
            for later in &sels[i + 1..] {
                out.push(
                    Diagnostic::of(Code::UnreachableSelector, format!("selector {} is never reached: selector {} matches every event", later.index, sels[i].index))
                        .with_primary(later.span, "never evaluated")
                        .with_secondary(sels[i].span, "has no filters, so it matches first")
                        .with_help("move the selector without filters to the end, or give it filters")
                        .with_note("selectors are tried in order and the first whose filters all hold decides the event"),
                );
            }
        }
        let limit = catch_all.map_or(sels.len(), |i| i + 1);
        let signatures: Vec<Option<String>> = sels[..limit].iter().map(signature).collect();
        for (j, sig) in signatures.iter().enumerate() {
            let Some(sig) = sig else { continue };
            if sels[j].is_unconditional() {
                continue;
            }
            if let Some(i) = signatures[..j]
                .iter()
                .position(|s| s.as_deref() == Some(sig.as_str()))
            {
                out.push(
                    Diagnostic::of(Code::UnreachableSelector, format!("selector {} has the same filters as selector {}, so it never decides an event", sels[j].index, sels[i].index))
                        .with_primary(sels[j].span, "same filters")
                        .with_secondary(sels[i].span, "matches first")
                        .with_help("merge the two selectors' actions into the first one, or change the filters"),
                );
            }
        }
    }
}

fn filters(out: &mut String, key: &str, list: &[ArgFilter]) {
    for f in list {
        let values: Vec<String> = f.values.iter().map(|v| v.value.display()).collect();
        let _ = write!(
            out,
            "{key}{:?}{}{values:?};",
            f.targets,
            f.operator.value.as_str()
        );
    }
}

/// A span-free description of a selector's filters; `None` when it has
/// filters this check does not compare (`matchWorkloads`).
fn signature(s: &Selector) -> Option<String> {
    if s.match_workloads.is_some() {
        return None;
    }
    let mut out = String::new();
    filters(&mut out, "args", &s.match_args);
    filters(&mut out, "data", &s.match_data);
    filters(&mut out, "ret", &s.match_return_args);
    for f in &s.match_pids {
        let v: Vec<u32> = f.values.iter().map(|v| v.value).collect();
        let _ = write!(
            out,
            "pid{}{v:?}{}{};",
            f.operator.value.as_str(),
            f.follow_forks,
            f.is_namespace_pid
        );
    }
    for (key, list) in [
        ("bin", &s.match_binaries),
        ("parent", &s.match_parent_binaries),
    ] {
        for f in list {
            let v: Vec<&str> = f.values.iter().map(|v| v.value.as_str()).collect();
            let _ = write!(
                out,
                "{key}{}{v:?}{};",
                f.operator.value.as_str(),
                f.follow_children
            );
        }
    }
    for f in &s.match_namespaces {
        let v: Vec<_> = f.values.iter().map(|v| v.value).collect();
        let _ = write!(
            out,
            "ns{}{}{v:?};",
            f.namespace.value.as_str(),
            f.operator.value.as_str()
        );
    }
    for f in &s.match_namespace_changes {
        let v: Vec<_> = f.values.iter().map(|v| v.value.as_str()).collect();
        let _ = write!(out, "nsch{}{v:?};", f.operator.value.as_str());
    }
    for (key, list) in [
        ("cap", &s.match_capabilities),
        ("capch", &s.match_capability_changes),
    ] {
        for f in list {
            let v: Vec<u8> = f.values.iter().map(|v| v.value).collect();
            let _ = write!(
                out,
                "{key}{}{}{}{v:?};",
                f.operator.value.as_str(),
                f.set.as_str(),
                f.is_namespace_capability
            );
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    #[test]
    fn catch_all_first() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_openat
    args: [{index: 1, type: string}]
    selectors:
    - FIRST
    - matchArgs: [{index: 1, operator: Prefix, values: [/etc/]}]
      matchActions: [{action: Sigkill}]
"#,
        );
        let d = with_code(
            &y.replace("FIRST", "matchActions: [{action: Post}]"),
            Code::UnreachableSelector,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        let ok = y.replace(
            "FIRST",
            "matchBinaries: [{operator: In, values: [/usr/bin/cat]}]",
        );
        assert!(with_code(&ok, Code::UnreachableSelector).is_empty());
    }

    #[test]
    fn identical_filters() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_openat
    args: [{index: 1, type: string}]
    selectors:
    - matchArgs: [{index: 1, operator: Prefix, values: [/etc/]}]
      matchActions: [{action: Post}]
    - matchArgs: [{index: 1, operator: Prefix, values: [SECOND]}]
      matchActions: [{action: Sigkill}]
"#,
        );
        assert_eq!(
            with_code(&y.replace("SECOND", "/etc/"), Code::UnreachableSelector).len(),
            1
        );
        assert!(with_code(&y.replace("SECOND", "/root/"), Code::UnreachableSelector).is_empty());
    }
}
