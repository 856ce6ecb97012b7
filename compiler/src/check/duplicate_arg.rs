//! Flags argument declarations that repeat an earlier one.
//!
//! What it does: reports an `args` (or `data`) entry that declares the same
//! index, type, `resolve` path, `btfType`, `sizeArgIndex`, `maxData` and
//! `returnCopy` as an earlier entry of the same list.
//! Why: the copy costs BPF instructions, one of the five argument slots and
//! event space for nothing, and `matchArgs` by `index` only ever reads the
//! first of the two.
//! Example: two `args` entries both `{index: 0, type: int}`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{ArgDecl, Policy};

pub const CHECK: Check = Check {
    name: "duplicate_arg",
    codes: &[Code::DuplicateArg],
    run,
};

fn same(a: &ArgDecl, b: &ArgDecl) -> bool {
    let text = |s: &Option<crate::span::Spanned<String>>| s.as_ref().map(|x| x.value.clone());
    a.index.value == b.index.value
        && a.ty.value == b.ty.value
        && text(&a.resolve) == text(&b.resolve)
        && text(&a.btf_type) == text(&b.btf_type)
        && text(&a.source) == text(&b.source)
        && a.size_arg_index.as_ref().map(|s| s.value) == b.size_arg_index.as_ref().map(|s| s.value)
        && a.max_data == b.max_data
        && a.return_copy == b.return_copy
}

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for (key, decls) in [("args", &hook.args), ("data", &hook.data)] {
            for (i, decl) in decls.iter().enumerate() {
                let Some(first) = decls[..i].iter().position(|earlier| same(earlier, decl)) else {
                    continue;
                };
                out.push(
                    Diagnostic::of(
                        Code::DuplicateArg,
                        format!("`{key}[{i}]` collects the same value as `{key}[{first}]` (index {}, type `{}`)", decl.index.value, decl.ty.value),
                    )
                    .with_primary(decl.span, "duplicate")
                    .with_secondary(decls[first].span, "first declared here")
                    .with_help("remove the duplicate; filters and events read the first declaration"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    #[test]
    fn identical_declarations() {
        let y = policy(
            "  kprobes:\n  - call: sys_write\n    args:\n    - {index: 0, type: int}\n    - {index: 0, type: SECOND}\n",
        );
        assert_eq!(
            with_code(&y.replace("SECOND", "int"), Code::DuplicateArg).len(),
            1
        );
        assert!(with_code(&y.replace("SECOND", "fd"), Code::DuplicateArg).is_empty());
        let resolved = policy(
            "  kprobes:\n  - call: security_file_open\n    syscall: false\n    args:\n    - {index: 0, type: int, resolve: f_flags}\n    - {index: 0, type: int, resolve: f_mode}\n",
        );
        assert!(with_code(&resolved, Code::DuplicateArg).is_empty());
    }
}
