//! Flags relative paths in `matchBinaries` and `matchParentBinaries`.
//!
//! What it does: warns about an `In`, `NotIn`, `Prefix` or `NotPrefix`
//! value that does not start with `/` (`bash`, `usr/bin/`). `Postfix` and
//! `NotPostfix` values are suffixes and may be relative.
//! Why: Tetragon compares the binary's full path as the kernel reports it,
//! which always starts with `/`: Tetragon loads the filter, and `In bash`
//! never matches (`NotIn bash` never excludes anything).
//! Example: `matchBinaries: [{operator: In, values: [bash]}]`; write
//! `/usr/bin/bash`, or `operator: Postfix` with `values: [/bash]`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{BinaryFilter, BinaryOp, Policy};

pub const CHECK: Check = Check {
    name: "relative_binary_path",
    codes: &[Code::IneffectiveFilter],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            let lists = [
                ("matchBinaries", &sel.match_binaries),
                ("matchParentBinaries", &sel.match_parent_binaries),
            ];
            for (key, filters) in lists {
                for filter in filters.iter() {
                    check_filter(key, filter, out);
                }
            }
        }
    }
}

fn check_filter(key: &str, filter: &BinaryFilter, out: &mut Vec<Diagnostic>) {
    let op = filter.operator.value;
    if matches!(op, BinaryOp::Postfix | BinaryOp::NotPostfix) {
        return;
    }
    for value in &filter.values {
        let path = value.value.as_str();
        if path.is_empty() || path.starts_with('/') || path.starts_with("list:") {
            continue;
        }
        let effect = match op {
            BinaryOp::NotIn | BinaryOp::NotPrefix => "never excludes a process",
            _ => "never matches",
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        out.push(
            Diagnostic::of(
                Code::IneffectiveFilter,
                format!(
                    "`{key}` value `{path}` is a relative path, so this `{}` {effect}",
                    op.as_str()
                ),
            )
            .with_primary(value.span, "not an absolute path")
            .with_secondary(filter.operator.span, format!("`{}` compares whole paths", op.as_str()))
            .with_help(format!(
                "write the binary's absolute path (for example `/usr/bin/{name}`), or use `operator: Postfix` with `/{name}` to match it wherever it is installed"
            ))
            .with_note("Tetragon compares the executable's full path as the kernel reports it, which always starts with `/`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    fn findings(op: &str, value: &str) -> usize {
        let y = policy(&format!(
            "  kprobes:\n  - call: sys_openat\n    selectors:\n    - matchBinaries:\n      - operator: {op}\n        values: [\"{value}\"]\n"
        ));
        with_code(&y, Code::IneffectiveFilter).len()
    }

    #[test]
    fn relative_values_of_whole_path_operators() {
        assert_eq!(findings("In", "bash"), 1);
        assert_eq!(findings("NotIn", "usr/bin/bash"), 1);
        assert_eq!(findings("Prefix", "usr/"), 1);
        assert_eq!(findings("In", "/usr/bin/bash"), 0);
        assert_eq!(findings("Postfix", "bash"), 0);
        assert_eq!(findings("NotPostfix", "/bash"), 0);
    }
}
