//! Flags hook targets that cannot attach as written.
//!
//! What it does: checks kprobe and fentry `call` names (plausible symbols,
//! and `syscall:` agreeing with the name), tracepoint `subsystem`/`event`,
//! LSM `hook` names (no `bpf_lsm_`/`security_` prefix), uprobe `path`,
//! `symbols` (`name` or `name+offset`), the choice of exactly one of
//! `symbols`/`offsets`/`addrs`, `refCtrOffsets` lengths, `binaryDigests`
//! (`<algo>:<hex>`), the same addressing method for every uprobe on one
//! binary, and USDT `path`/`provider`/`name`.
//! Why: `syscall: true` (the CRD default!) makes Tetragon prefix the name
//! with the architecture's syscall wrapper (`vfs_read` becomes
//! `__x64_vfs_read`, which does not exist), so the policy fails to load;
//! the other mistakes are refused by the agent ("uprobe needs exactly one of
//! either Symbols, Offsets or Addrs defined", "invalid digest format") or
//! fail to attach.
//! Example: `call: vfs_read` without `syscall: false`.

use super::{Check, call_is_syscall, option_is_true};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::names::{is_symbol_name, is_syscall_symbol};
use crate::ir::value::parse_int;
use crate::ir::{Hook, HookTarget, Policy};
use crate::span::{Span, Spanned};
use std::collections::HashMap;

pub const CHECK: Check = Check {
    name: "hook_target",
    codes: &[Code::InvalidHookTarget, Code::SyscallMismatch],
    run,
};

/// Digest algorithms `binaryDigests` accepts, with their length in hex digits
/// (`build-id` lengths vary).
const DIGESTS: [(&str, Option<usize>); 5] = [
    ("sha256", Some(64)),
    ("sha384", Some(96)),
    ("sha512", Some(128)),
    ("sha1", Some(40)),
    ("build-id", None),
];

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        match &hook.target {
            HookTarget::Kprobe { .. } => kprobe(policy, hook, out),
            HookTarget::Tracepoint {
                subsystem, event, ..
            } => {
                for (field, v) in [("subsystem", subsystem), ("event", event)] {
                    if !is_symbol_name(v.value.trim()) {
                        out.push(
                            Diagnostic::of(Code::InvalidHookTarget, format!("tracepoint `{field}` `{}` is not a tracepoint name", v.value))
                                .with_primary(v.span, if v.value.is_empty() { "empty" } else { "letters, digits and `_` only" })
                                .with_help("name the tracepoint by its tracefs directory: `subsystem: syscalls`, `event: sys_enter_openat` (see /sys/kernel/tracing/events)"),
                        );
                    }
                }
            }
            HookTarget::Lsm { hook: name } => lsm(name, out),
            HookTarget::Uprobe { .. } => uprobe(hook, out),
            HookTarget::Usdt {
                path,
                provider,
                name,
                ..
            } => {
                for (field, v) in [("path", path), ("provider", provider), ("name", name)] {
                    if v.value.trim().is_empty() {
                        out.push(
                            Diagnostic::of(Code::InvalidHookTarget, format!("USDT `{field}` is empty"))
                                .with_primary(v.span, "empty")
                                .with_help("a USDT probe is named by the binary's `path`, its `provider` and its `name` (see `readelf -n` on the binary)"),
                        );
                    }
                }
                if !path.value.is_empty() && !path.value.starts_with('/') {
                    out.push(relative_path(path));
                }
            }
        }
    }
    uprobe_addressing(policy, out);
}

fn kprobe(policy: &Policy, hook: &Hook, out: &mut Vec<Diagnostic>) {
    let HookTarget::Kprobe {
        calls,
        syscall_written,
        ..
    } = &hook.target
    else {
        return;
    };
    for call in calls {
        let name = call.name.as_str();
        if name.starts_with("list:") {
            continue;
        }
        if !is_symbol_name(name) {
            let trimmed = name.trim().trim_end_matches("()");
            let mut d = Diagnostic::of(
                Code::InvalidHookTarget,
                format!("`{name}` is not a kernel function name"),
            )
            .with_primary(
                call.span,
                if name.is_empty() {
                    "empty"
                } else {
                    "letters, digits, `_` and `.` only"
                },
            );
            if trimmed != name && is_symbol_name(trimmed) {
                d = d.with_help(format!("write `call: {trimmed}`"));
            } else {
                d = d.with_help(
                    "write the symbol as in /proc/kallsyms, e.g. `call: security_file_open`",
                );
            }
            out.push(d);
            continue;
        }
        if call.from_list.is_some() {
            // List members are checked with their list.
            continue;
        }
        let as_syscall = call_is_syscall(policy, hook, call);
        if as_syscall && !is_syscall_symbol(name) {
            let how = if syscall_written.is_some() {
                "`syscall: true`"
            } else {
                "`syscall` defaults to true"
            };
            let mut d = Diagnostic::of(
                Code::SyscallMismatch,
                format!("`{name}` is not a syscall, but {how}, so Tetragon hooks `__x64_{name}`, which does not exist"),
            )
            .with_primary(call.span, "not a syscall name");
            if let Some(s) = syscall_written.map(|w| w.span) {
                d = d.with_secondary(s, "set here");
            }
            // `openat` is a syscall's name without the `sys_` prefix: the
            // fix is `sys_openat`, not `syscall: false`.
            let help = if is_syscall_name(name) {
                format!(
                    "write `call: sys_{name}`: with `syscall: true` a syscall is named `sys_NAME`"
                )
            } else {
                "add `syscall: false` to hook the kernel function itself (syscalls are written `sys_NAME`)".to_string()
            };
            out.push(
                d.with_help(help)
                    .with_note("the CRD defaults `syscall` to true; with it Tetragon adds the architecture's syscall prefix (`__x64_`, `__arm64_`) to the name"),
            );
        } else if !as_syscall && is_syscall_symbol(name) {
            let Some(span) = syscall_written.map(|w| w.span) else {
                continue;
            };
            let note = if name.starts_with("sys_") || name.starts_with("compat_sys_") {
                format!(
                    "kernels since 4.17 have no plain `{name}` symbol on x86_64 and arm64, only the architecture's wrapper (`__x64_{name}`)"
                )
            } else {
                "the wrapper's only parameter is a `struct pt_regs *`; `syscall: true` makes Tetragon read the syscall's own arguments from it".to_string()
            };
            out.push(
                Diagnostic::new(
                    Code::SyscallMismatch,
                    Severity::Warning,
                    format!("`{name}` is a syscall, but `syscall: false`"),
                )
                .with_primary(span, "hooks it as a plain kernel function")
                .with_secondary(call.span, "a syscall name")
                .with_help("remove `syscall: false` (or write `syscall: true`)")
                .with_note(note),
            );
        }
    }
}

fn lsm(name: &Spanned<String>, out: &mut Vec<Diagnostic>) {
    let hook = name.value.as_str();
    for prefix in ["bpf_lsm_", "security_"] {
        if let Some(rest) = hook.strip_prefix(prefix) {
            out.push(
                Diagnostic::of(
                    Code::InvalidHookTarget,
                    format!("LSM hooks are named without the `{prefix}` prefix: write `{rest}`"),
                )
                .with_primary(name.span, format!("write `hook: {rest}`"))
                .with_help(format!(
                    "write `hook: \"{rest}\"`; Tetragon adds `bpf_lsm_` itself"
                ))
                .with_note(format!(
                    "with the prefix Tetragon looks for `bpf_lsm_{hook}`, which does not exist"
                )),
            );
            return;
        }
    }
    if !is_symbol_name(hook) {
        out.push(
            Diagnostic::of(Code::InvalidHookTarget, format!("`{hook}` is not an LSM hook name"))
                .with_primary(name.span, if hook.is_empty() { "empty" } else { "letters, digits and `_` only" })
                .with_help("write the hook's name as in the kernel's `lsm_hook_defs.h`, e.g. `file_open`, `bprm_check_security`"),
        );
    }
}

fn relative_path(path: &Spanned<String>) -> Diagnostic {
    Diagnostic::new(Code::InvalidHookTarget, Severity::Warning, format!("`{}` is a relative path", path.value))
        .with_primary(path.span, "relative to the agent's working directory")
        .with_help(format!("write the absolute path on the node, e.g. `/{}`", path.value.trim_start_matches("./")))
        .with_note("Tetragon resolves a relative path against its own working directory, which is rarely where the binary is")
}

fn uprobe(hook: &Hook, out: &mut Vec<Diagnostic>) {
    let HookTarget::Uprobe {
        path,
        symbols,
        offsets,
        addrs,
        ref_ctr_offsets,
        binary_digests,
        ..
    } = &hook.target
    else {
        return;
    };
    if path.value.trim().is_empty() {
        out.push(
            Diagnostic::of(Code::InvalidHookTarget, "uprobe `path` is empty")
                .with_primary(path.span, "empty")
                .with_help("write the absolute path of the binary or library, e.g. `/usr/lib/x86_64-linux-gnu/libc.so.6`"),
        );
    } else if !path.value.starts_with('/') {
        out.push(relative_path(path));
    }
    let methods: Vec<&str> = [
        ("symbols", !symbols.is_empty()),
        ("offsets", !offsets.is_empty()),
        ("addrs", !addrs.is_empty()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if methods.len() != 1 {
        let message = if methods.is_empty() {
            "a uprobe needs one of `symbols`, `offsets` or `addrs`".to_string()
        } else {
            format!(
                "a uprobe takes exactly one of `symbols`, `offsets` and `addrs`, this one has {}",
                methods.join(" and ")
            )
        };
        out.push(
            Diagnostic::of(Code::InvalidHookTarget, message)
                .with_primary(hook.span, "which functions should it probe?")
                .with_help("list function names under `symbols` (or raw `offsets`/`addrs`), and split mixed entries into separate uprobes")
                .with_note("Tetragon refuses the hook: \"uprobe needs exactly one of either Symbols, Offsets or Addrs defined\""),
        );
    }
    if !ref_ctr_offsets.is_empty() {
        let (other, n) = if symbols.is_empty() {
            ("offsets", offsets.len())
        } else {
            ("symbols", symbols.len())
        };
        if ref_ctr_offsets.len() != n {
            out.push(
                Diagnostic::of(
                    Code::InvalidHookTarget,
                    format!(
                        "`refCtrOffsets` has {} entries but `{other}` has {n}",
                        ref_ctr_offsets.len()
                    ),
                )
                .with_primary(
                    ref_ctr_offsets[0]
                        .span
                        .to(ref_ctr_offsets[ref_ctr_offsets.len() - 1].span),
                    "one per probe",
                )
                .with_help(format!(
                    "give one reference counter offset per entry of `{other}`"
                ))
                .with_note("Tetragon refuses the hook: \"RefCtrOffsets has different dimension\""),
            );
        }
    }
    for s in symbols {
        let parts: Vec<&str> = s.value.split('+').collect();
        let problem = match parts.as_slice() {
            [name] if !is_symbol_name(name.trim()) => Some((
                "not a symbol name",
                "write a function name, e.g. `readline`",
            )),
            [name, offset] if !is_symbol_name(name.trim()) || parse_int(offset.trim()).is_err() => {
                Some((
                    "expected `name+offset`",
                    "write `name+offset` with a decimal or `0x` offset, e.g. `readline+0x10`",
                ))
            }
            [_, _, _, ..] => Some(("more than one `+`", "write `name` or `name+offset`")),
            _ => None,
        };
        if let Some((label, help)) = problem {
            out.push(
                Diagnostic::of(
                    Code::InvalidHookTarget,
                    format!("`{}` is not a uprobe symbol", s.value),
                )
                .with_primary(s.span, label)
                .with_help(help)
                .with_note("Tetragon refuses the hook: \"failed to parse symbol\""),
            );
        }
    }
    for digest in binary_digests {
        if let Some(d) = digest_problem(digest) {
            out.push(d);
        }
    }
}

fn digest_problem(digest: &Spanned<String>) -> Option<Diagnostic> {
    let text = digest.value.trim();
    let algos: Vec<&str> = DIGESTS.iter().map(|(a, _)| *a).collect();
    let Some((algo, hex)) = text.split_once(':') else {
        return Some(
            Diagnostic::of(
                Code::InvalidHookTarget,
                format!("`{text}` is not a binary digest"),
            )
            .with_primary(digest.span, "expected `<algorithm>:<hex digest>`")
            .with_help("write e.g. `sha256:` followed by the output of `sha256sum` on the binary")
            .with_note(
                "Tetragon refuses the hook: \"invalid digest format, expected '<algo>:<hash>'\"",
            ),
        );
    };
    let algo = algo.trim().to_ascii_lowercase();
    let Some((_, length)) = DIGESTS.iter().find(|(a, _)| *a == algo) else {
        let mut d = Diagnostic::of(
            Code::InvalidHookTarget,
            format!("unsupported digest algorithm `{algo}`"),
        )
        .with_primary(digest.span, format!("supported: {}", algos.join(", ")));
        if let Some(s) = crate::diagnostics::suggest::did_you_mean(&algo, algos.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        return Some(d.with_note("Tetragon refuses the hook: \"unsupported digest algorithm\""));
    };
    let hex = hex.trim();
    if hex.is_empty() || hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(
            Diagnostic::of(
                Code::InvalidHookTarget,
                format!("the {algo} digest `{hex}` is not hexadecimal"),
            )
            .with_primary(digest.span, "expected hex digits")
            .with_help("copy the digest from `sha256sum` (or `readelf -n` for a build id)"),
        );
    }
    match length {
        Some(n) if hex.len() != *n => Some(
            Diagnostic::of(
                Code::InvalidHookTarget,
                format!(
                    "a {algo} digest has {n} hex digits, this one has {}",
                    hex.len()
                ),
            )
            .with_primary(digest.span, "wrong length: it can never match")
            .with_help("copy the whole digest"),
        ),
        _ => None,
    }
}

/// With uprobe_multi, every uprobe on one binary must use the same
/// addressing method.
fn uprobe_addressing(policy: &Policy, out: &mut Vec<Diagnostic>) {
    if option_is_true(policy, "disable-uprobe-multi") {
        return;
    }
    let mut first: HashMap<&str, (&'static str, Span)> = HashMap::new();
    for hook in &policy.hooks {
        let HookTarget::Uprobe {
            path,
            symbols,
            offsets,
            addrs,
            ..
        } = &hook.target
        else {
            continue;
        };
        let method = match (symbols.is_empty(), offsets.is_empty(), addrs.is_empty()) {
            (false, true, true) => "symbols",
            (true, false, true) => "offsets",
            (true, true, false) => "addrs",
            _ => continue,
        };
        match first.get(path.value.as_str()) {
            Some((m, span)) if *m != method => out.push(
                Diagnostic::of(Code::InvalidHookTarget, format!("uprobes on `{}` mix `{m}` and `{method}`", path.value))
                    .with_primary(hook.span, format!("uses `{method}`"))
                    .with_secondary(*span, format!("uses `{m}`"))
                    .with_help("use the same addressing method for every uprobe on one binary, or add the option `{name: disable-uprobe-multi, value: \"true\"}`")
                    .with_note("Tetragon refuses the policy: \"multi-uprobe requires uprobes for the same hook path to use the same addressing method\""),
            ),
            Some(_) => {}
            None => {
                first.insert(path.value.as_str(), (method, hook.span));
            }
        }
    }
}

/// Is `name` a syscall of x86_64 or arm64 (`openat`, `clone3`)?
fn is_syscall_name(name: &str) -> bool {
    use crate::sim::syscall_table::{ARM64, X86_64};
    X86_64
        .iter()
        .chain(ARM64)
        .any(|(syscall, _)| *syscall == name)
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;

    #[test]
    fn a_bare_syscall_name_is_told_its_sys_name() {
        let d = with_code(
            &policy("  kprobes:\n  - call: openat\n    syscall: true\n"),
            Code::SyscallMismatch,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(
            d[0].help.as_deref(),
            Some("write `call: sys_openat`: with `syscall: true` a syscall is named `sys_NAME`")
        );
    }

    #[test]
    fn non_syscall_with_default_syscall_true() {
        let y = policy("  kprobes:\n  - call: vfs_read\nSYSCALL");
        let d = with_code(&y.replace("SYSCALL", ""), Code::SyscallMismatch);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("`__x64_vfs_read`"));
        assert_eq!(
            d[0].help.as_deref(),
            Some(
                "add `syscall: false` to hook the kernel function itself (syscalls are written `sys_NAME`)"
            )
        );
        assert!(
            with_code(
                &y.replace("SYSCALL", "    syscall: false\n"),
                Code::SyscallMismatch
            )
            .is_empty()
        );
        assert!(
            with_code(
                &policy("  kprobes:\n  - call: __x64_sys_openat\n"),
                Code::SyscallMismatch
            )
            .is_empty()
        );
    }

    #[test]
    fn syscall_false_on_a_syscall_warns() {
        let y = policy("  kprobes:\n  - call: sys_openat\n    syscall: false\n");
        let d = with_code(&y, Code::SyscallMismatch);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert_eq!(primary_text(&y, &d[0]), "false");
    }

    #[test]
    fn lists_decide_the_syscall_flag() {
        let y = policy(
            "  lists:\n  - name: reads\n    values: [vfs_read, vfs_readv]\n  kprobes:\n  - call: \"list:reads\"\n",
        );
        assert!(with_code(&y, Code::SyscallMismatch).is_empty());
    }

    #[test]
    fn bad_call_names() {
        let y = policy("  kprobes:\n  - call: \"security_file_open()\"\n    syscall: false\n");
        let d = with_code(&y, Code::InvalidHookTarget);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(
            d[0].help.as_deref(),
            Some("write `call: security_file_open`")
        );
    }

    #[test]
    fn lsm_prefix() {
        let y = policy("  lsmhooks:\n  - hook: HOOK\n");
        let d = with_code(
            &y.replace("HOOK", "security_file_open"),
            Code::InvalidHookTarget,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("write `file_open`"));
        assert!(with_code(&y.replace("HOOK", "file_open"), Code::InvalidHookTarget).is_empty());
    }

    #[test]
    fn uprobe_targets() {
        let y = policy("  uprobes:\n  - path: PATH\n    TARGETS\n");
        let check = |p: &str, t: &str| {
            with_code(
                &y.replace("PATH", p).replace("TARGETS", t),
                Code::InvalidHookTarget,
            )
        };
        assert!(check("/bin/bash", "symbols: [readline]").is_empty());
        assert_eq!(
            check("bin/bash", "symbols: [readline]")[0].severity,
            Severity::Warning
        );
        assert_eq!(
            check("/bin/bash", "symbols: [readline]\n    offsets: [16]").len(),
            1
        );
        assert_eq!(check("/bin/bash", "symbols: [\"a+b+c\"]").len(), 1);
        assert!(check("/bin/bash", "symbols: [\"readline+0x10\"]").is_empty());
        assert_eq!(
            check(
                "/bin/bash",
                "symbols: [readline]\n    refCtrOffsets: [1, 2]"
            )
            .len(),
            1
        );
        assert_eq!(
            check(
                "/bin/bash",
                "symbols: [readline]\n    binaryDigests: [\"md5:abcd\"]"
            )
            .len(),
            1
        );
        let sha = format!("sha256:{}", "ab".repeat(32));
        assert!(
            check(
                "/bin/bash",
                &format!("symbols: [readline]\n    binaryDigests: [\"{sha}\"]")
            )
            .is_empty()
        );
        assert_eq!(
            check(
                "/bin/bash",
                "symbols: [readline]\n    binaryDigests: [\"sha256:abcd\"]"
            )
            .len(),
            1
        );
    }

    #[test]
    fn uprobes_on_one_binary_use_one_method() {
        let y = policy(
            "  uprobes:\n  - {path: /bin/bash, symbols: [readline]}\n  - {path: /bin/bash, SECOND}\n",
        );
        assert_eq!(
            with_code(
                &y.replace("SECOND", "offsets: [4096]"),
                Code::InvalidHookTarget
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &y.replace("SECOND", "symbols: [main]"),
                Code::InvalidHookTarget
            )
            .is_empty()
        );
    }
}
