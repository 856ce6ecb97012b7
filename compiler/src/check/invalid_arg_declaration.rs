//! Flags `args`, `data` and `returnArg` declarations that Tetragon refuses
//! or silently ignores parts of.
//!
//! What it does: reports parameter indexes above 4 on kprobes, fentries,
//! uprobes and LSM hooks, and above 5 on raw tracepoints (where `index` is
//! the position in the tracepoint's `TP_PROTO`); `sizeArgIndex` above 15; `source` on `args`
//! entries; `data` entries without `source: current_task`/`pt_regs` or
//! without `resolve`; more than one `string` argument on a uprobe (errors);
//! and warns about `maxData` on anything but `char_buf`, `returnCopy` on
//! anything but `char_buf`/`char_iovec`, and `maxData` combined with
//! `returnCopy`.
//! Why: the agent refuses the hook ("ArgType int Index 5 out of bounds",
//! "invalid SizeArgIndex value (>15)", "standard argument is not allowed to
//! have source configured", "data argument missing 'resolve' setup"), or
//! ignores the flag with at most a log line.
//! Example: `data: [{index: 0, type: int}]`; write
//! `data: [{index: 0, type: int, source: current_task, resolve: pid}]`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{ArgDecl, ArgType, HookKind, Policy};

pub const CHECK: Check = Check {
    name: "invalid_arg_declaration",
    codes: &[Code::InvalidArgDeclaration],
    run,
};

/// Highest parameter index Tetragon reads on kprobes, uprobes and LSM hooks.
pub const MAX_PARAM_INDEX: u32 = 4;
/// Highest argument index of a raw tracepoint (`TP_PROTO` position).
pub const MAX_RAW_TRACEPOINT_INDEX: u32 = 5;
/// Highest `sizeArgIndex`.
pub const MAX_SIZE_ARG_INDEX: u32 = 15;
/// `data` sources the agent knows.
pub const DATA_SOURCES: [&str; 2] = ["current_task", "pt_regs"];

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let kind = hook.kind();
        let indexed_by_parameter = matches!(
            kind,
            HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe | HookKind::Lsm
        );
        let raw = matches!(
            &hook.target,
            crate::ir::HookTarget::Tracepoint { raw: true, .. }
        );
        for (i, arg) in hook.args.iter().enumerate() {
            let what = format!("`args[{i}]`");
            if raw && arg.index.value > MAX_RAW_TRACEPOINT_INDEX {
                out.push(
                    Diagnostic::of(
                        Code::InvalidArgDeclaration,
                        format!("{what} reads argument {} of a raw tracepoint, but Tetragon reads only indexes 0 to 5 there", arg.index.value),
                    )
                    .with_primary(arg.index.span, "index above 5")
                    .with_help("on a raw tracepoint `index` is the position in the tracepoint's `TP_PROTO` (for `raw_syscalls/sys_enter`: 0 is `regs`, 1 is `id`), not a field of the tracefs format")
                    .with_note(format!("Tetragon refuses the hook: \"raw tracepoint ... can read up to 5 arguments, but index {} was requested\"", arg.index.value)),
                );
            }
            if indexed_by_parameter && arg.index.value > MAX_PARAM_INDEX {
                out.push(
                    Diagnostic::of(
                        Code::InvalidArgDeclaration,
                        format!("{what} reads parameter {}, but Tetragon reads only the first 5 parameters (indexes 0 to 4) of {} hooks", arg.index.value, kind.as_str()),
                    )
                    .with_primary(arg.index.span, "index above 4")
                    .with_help("hook a function where the value is among the first five parameters, or reach it with `resolve` from an earlier parameter")
                    .with_note(format!("Tetragon refuses the hook: \"ArgType {} Index {} out of bounds\"", arg.ty.value, arg.index.value)),
                );
            }
            if let Some(source) = &arg.source {
                out.push(
                    Diagnostic::of(Code::InvalidArgDeclaration, format!("{what} sets `source`, which only `data` entries take"))
                        .with_primary(source.span, "not allowed on `args`")
                        .with_help(format!("move the entry to `data:` (with a `resolve`), or remove `source: {}`", source.value))
                        .with_note("Tetragon refuses the hook: \"standard argument is not allowed to have source configured\""),
                );
            }
            if let Some(size) = arg.size_arg_index.as_ref().filter(|s| {
                indexed_by_parameter
                    && arg.ty.value == ArgType::CharBuf
                    && s.value == arg.index.value + 1
            }) {
                out.push(
                    Diagnostic::new(
                        Code::InvalidArgDeclaration,
                        Severity::Warning,
                        format!("{what} takes its length from itself: `sizeArgIndex: {}` is parameter {}, the buffer", size.value, arg.index.value),
                    )
                    .with_primary(size.span, "points at the buffer, not at a length")
                    .with_secondary(arg.index.span, format!("the buffer is parameter {}", arg.index.value))
                    .with_help("`sizeArgIndex` is the length parameter's index plus one: for `write(fd, buf, count)` read `index: 1` with `sizeArgIndex: 3`")
                    .with_note("Tetragon then uses the pointer's value as the length, so what it captures is not the data that was passed"),
                );
            }
            common(arg, &what, out);
        }
        for (i, arg) in hook.data.iter().enumerate() {
            let what = format!("`data[{i}]`");
            match &arg.source {
                None => out.push(
                    Diagnostic::of(Code::InvalidArgDeclaration, format!("{what} has no `source`"))
                        .with_primary(arg.span, "where should Tetragon read this value?")
                        .with_help("add `source: current_task` (fields of the current task) or `source: pt_regs` (registers)")
                        .with_note("Tetragon refuses the hook: \"data argument has wrong source ''\""),
                ),
                Some(s) if !DATA_SOURCES.contains(&s.value.as_str()) => {
                    let mut d = Diagnostic::of(Code::InvalidArgDeclaration, format!("unknown `data` source `{}`", s.value))
                        .with_primary(s.span, "expected `current_task` or `pt_regs`");
                    if let Some(fix) = crate::diagnostics::suggest::did_you_mean(&s.value, DATA_SOURCES) {
                        d = d.with_help(format!("did you mean `{fix}`?"));
                    }
                    out.push(d.with_note(format!("Tetragon refuses the hook: \"data argument has wrong source '{}'\"", s.value)));
                }
                Some(_) => {}
            }
            if arg.resolve.is_none() {
                out.push(
                    Diagnostic::of(Code::InvalidArgDeclaration, format!("{what} has no `resolve` path"))
                        .with_primary(arg.span, "which field should Tetragon read?")
                        .with_help("add the field path to read, e.g. `resolve: pid` or `resolve: real_cred.uid.val`")
                        .with_note("Tetragon refuses the hook: \"data argument missing 'resolve' setup\""),
                );
            }
            common(arg, &what, out);
        }
        if let Some(ret) = &hook.return_arg {
            common(ret, "`returnArg`", out);
        }
        if kind == HookKind::Uprobe {
            let strings: Vec<&ArgDecl> = hook
                .args
                .iter()
                .filter(|a| a.ty.value == ArgType::String)
                .collect();
            if let [first, second, ..] = strings.as_slice() {
                out.push(
                    Diagnostic::of(Code::InvalidArgDeclaration, "a uprobe can read at most one `string` argument")
                        .with_primary(second.ty.span, "second `string` argument")
                        .with_secondary(first.ty.span, "first `string` argument")
                        .with_help("read the other strings as `char_buf` with a `sizeArgIndex`, or hook a second symbol")
                        .with_note("Tetragon preloads one user-space string per uprobe: \"can't preload more than one argument\""),
                );
            }
        }
    }
}

/// What is wrong with a `resolve` path's syntax: dot-separated field names,
/// each optionally followed by `[N]` array indexes, with optional casts in
/// parentheses.
pub(super) fn resolve_syntax_problem(path: &str) -> Option<String> {
    let mut flat = String::new();
    let mut parens = 0usize;
    let mut index: Option<String> = None;
    for c in path.trim().chars() {
        if let Some(digits) = index.as_mut() {
            if c == ']' {
                if digits.is_empty() || !digits.chars().all(|d| d.is_ascii_digit()) {
                    return Some(format!(
                        "`[{digits}]` is not an array index (write a decimal number, e.g. `[0]`)"
                    ));
                }
                index = None;
            } else {
                digits.push(c);
            }
            continue;
        }
        match c {
            '(' => {
                if parens == 0 {
                    flat.push('x');
                }
                parens += 1;
            }
            ')' if parens == 0 => return Some("`)` without `(`".into()),
            ')' => parens -= 1,
            '[' if parens == 0 => index = Some(String::new()),
            ']' if parens == 0 => return Some("`]` without `[`".into()),
            _ if parens > 0 => {}
            c => flat.push(c),
        }
    }
    if parens > 0 {
        return Some("unclosed `(`".into());
    }
    if index.is_some() {
        return Some("unclosed `[`".into());
    }
    for segment in flat.split('.') {
        if segment.is_empty() {
            return Some("empty field name (two dots in a row, or a dot at either end)".into());
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Some(format!("`{bad}` cannot appear in a field name"));
        }
    }
    None
}

fn common(arg: &ArgDecl, what: &str, out: &mut Vec<Diagnostic>) {
    let ty = arg.ty.value;
    // An unknown `type` name is already an error (TPC007) and is lowered as
    // `auto`; judging `maxData`/`returnCopy` against that stand-in would
    // call the argument `auto`, which the author never wrote.
    let type_known = arg
        .type_text
        .as_ref()
        .is_none_or(|t| ArgType::from_name(&t.value).is_some());
    if let Some(resolve) = &arg.resolve {
        if let Some(problem) = resolve_syntax_problem(&resolve.value) {
            out.push(
                Diagnostic::of(Code::InvalidArgDeclaration, format!("`resolve: {}` is not a field path: {problem}", resolve.value))
                    .with_primary(resolve.span, "invalid resolve path")
                    .with_help("write the fields to follow separated by dots, e.g. `f_path.dentry.d_name.name` or `mm.arg_start`")
                    .with_note("Tetragon refuses the hook: \"invalid resolve path\""),
            );
        }
    }
    if let Some(size) = &arg.size_arg_index {
        if size.value > MAX_SIZE_ARG_INDEX {
            out.push(
                Diagnostic::of(Code::InvalidArgDeclaration, format!("{what} has `sizeArgIndex: {}`; Tetragon takes 1 to {MAX_SIZE_ARG_INDEX}", size.value))
                    .with_primary(size.span, "above 15")
                    .with_help("`sizeArgIndex` is the size parameter's index plus one (`sizeArgIndex: 3` for parameter 2)")
                    .with_note("Tetragon refuses the hook: \"invalid SizeArgIndex value (>15)\""),
            );
        }
    }
    if arg.max_data && type_known && ty != ArgType::CharBuf {
        out.push(
            Diagnostic::new(
                Code::InvalidArgDeclaration,
                Severity::Warning,
                format!("`maxData` only applies to `char_buf`; {what} is `{ty}`"),
            )
            .with_primary(arg.span, "`maxData` is ignored here")
            .with_help("remove `maxData`, or read the buffer as `char_buf` with a `sizeArgIndex`"),
        );
    }
    if arg.return_copy && type_known && !matches!(ty, ArgType::CharBuf | ArgType::CharIovec) {
        out.push(
            Diagnostic::new(
                Code::InvalidArgDeclaration,
                Severity::Warning,
                format!(
                    "`returnCopy` only applies to `char_buf` and `char_iovec`; {what} is `{ty}`"
                ),
            )
            .with_primary(arg.span, "`returnCopy` is ignored here")
            .with_help("remove `returnCopy`"),
        );
    }
    if arg.max_data && arg.return_copy {
        out.push(
            Diagnostic::new(Code::InvalidArgDeclaration, Severity::Warning, format!("{what} sets both `maxData` and `returnCopy`, which Tetragon's documentation says do not work together"))
                .with_primary(arg.span, "choose one")
                .with_help("drop `maxData`, or drop `returnCopy`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;

    #[test]
    fn index_above_four() {
        let y = policy("  kprobes:\n  - call: sys_mmap\n    args: [{index: INDEX, type: int}]\n");
        let d = with_code(&y.replace("INDEX", "5"), Code::InvalidArgDeclaration);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(primary_text(&y.replace("INDEX", "5"), &d[0]), "5");
        assert!(with_code(&y.replace("INDEX", "4"), Code::InvalidArgDeclaration).is_empty());
        let t = policy(
            "  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_openat\n    args: [{index: 7, type: int}]\n",
        );
        assert!(with_code(&t, Code::InvalidArgDeclaration).is_empty());
    }

    #[test]
    fn data_needs_source_and_resolve() {
        let y = policy("  kprobes:\n  - call: sys_openat\n    data: [DATA]\n");
        let bare = y.replace("DATA", "{index: 0, type: int}");
        assert_eq!(with_code(&bare, Code::InvalidArgDeclaration).len(), 2);
        let good = y.replace(
            "DATA",
            "{index: 0, type: int, source: current_task, resolve: pid}",
        );
        assert!(with_code(&good, Code::InvalidArgDeclaration).is_empty());
        let typo = y.replace(
            "DATA",
            "{index: 0, type: int, source: current_tsk, resolve: pid}",
        );
        let d = with_code(&typo, Code::InvalidArgDeclaration);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].help.as_deref(), Some("did you mean `current_task`?"));
    }

    #[test]
    fn source_on_args_and_size_index() {
        let y = policy(
            "  kprobes:\n  - call: sys_write\n    args: [{index: 1, type: char_buf, sizeArgIndex: SIZE, SOURCE}]\n",
        );
        let d = with_code(
            &y.replace("SIZE", "16").replace("SOURCE", "source: pt_regs"),
            Code::InvalidArgDeclaration,
        );
        assert_eq!(d.len(), 2, "{d:#?}");
        assert!(
            with_code(
                &y.replace("SIZE", "3").replace(", SOURCE", ""),
                Code::InvalidArgDeclaration
            )
            .is_empty()
        );
    }

    #[test]
    fn return_copy_on_an_unknown_type_is_not_called_auto() {
        let y = policy(
            "  kprobes:\n  - call: sys_pipe2\n    args: [{index: 0, type: TYPE, returnCopy: true}]\n",
        );
        // The unknown name is TPC007's finding; no second one about `auto`.
        assert!(with_code(&y.replace("TYPE", "int32_vec"), Code::InvalidArgDeclaration).is_empty());
        // A known type that is not a buffer is still warned about.
        let d = with_code(&y.replace("TYPE", "int"), Code::InvalidArgDeclaration);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("is `int`"), "{}", d[0].message);
    }

    #[test]
    fn resolve_paths() {
        assert_eq!(resolve_syntax_problem("f_path.dentry.d_name.name"), None);
        assert_eq!(resolve_syntax_problem("mm.arg_start"), None);
        assert_eq!(resolve_syntax_problem("fdt.fd[3].f_path"), None);
        assert_eq!(
            resolve_syntax_problem("((struct file *)private_data).f_inode"),
            None
        );
        assert!(resolve_syntax_problem("f_path..dentry").is_some());
        assert!(resolve_syntax_problem("fd[x]").is_some());
        assert!(resolve_syntax_problem("(struct file *f_path").is_some());
        assert!(resolve_syntax_problem("f-path").is_some());
        assert!(resolve_syntax_problem("f_path)").is_some());
        let y = policy(
            "  kprobes:\n  - call: security_file_open\n    syscall: false\n    args: [{index: 0, type: string, resolve: \"PATH\"}]\n",
        );
        assert_eq!(
            with_code(
                &y.replace("PATH", "f_path.dentry."),
                Code::InvalidArgDeclaration
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &y.replace("PATH", "f_path.dentry.d_name.name"),
                Code::InvalidArgDeclaration
            )
            .is_empty()
        );
    }

    #[test]
    fn max_data_and_return_copy_warnings() {
        let y =
            policy("  kprobes:\n  - call: sys_read\n    args: [{index: 1, type: TYPE, FLAGS}]\n");
        let warn = |t: &str, f: &str| {
            with_code(
                &y.replace("TYPE", t).replace("FLAGS", f),
                Code::InvalidArgDeclaration,
            )
        };
        assert_eq!(warn("string", "maxData: true").len(), 1);
        assert!(warn("char_buf", "maxData: true").is_empty());
        assert_eq!(warn("int", "returnCopy: true").len(), 1);
        assert!(warn("char_iovec", "returnCopy: true").is_empty());
        assert_eq!(warn("char_buf", "maxData: true, returnCopy: true").len(), 1);
        assert!(
            warn("string", "maxData: true")
                .iter()
                .all(|d| d.severity == Severity::Warning)
        );
    }
}
