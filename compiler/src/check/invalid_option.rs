//! Flags `spec.options` entries Tetragon does not know or cannot parse.
//!
//! What it does: checks option names (`disable-kprobe-multi`,
//! `disable-uprobe-multi`, `override-method`, `policy-mode`,
//! `uprobe-heap-size`) and their values: booleans as Go parses them (`true`,
//! `1`, `t`, `false`, ...), `fmod-ret`/`override-return`, `enforce`/`monitor`,
//! a positive integer for `uprobe-heap-size` (only a warning: the docs state
//! it, the parser is not in our copy of the code). An unknown name is a
//! warning with the closest known name.
//! Why: a bad value fails the policy ("failed to set option
//! policy-mode: ..."); an unknown name is ignored silently, so the option
//! the author meant never takes effect.
//! Example: `{name: policy-mode, value: audit}`; write `monitor`.

use super::{Check, parse_go_bool};
use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::Policy;

pub const CHECK: Check = Check {
    name: "invalid_option",
    codes: &[Code::InvalidOption],
    run,
};

const OPTIONS: [&str; 5] = [
    "disable-kprobe-multi",
    "disable-uprobe-multi",
    "override-method",
    "policy-mode",
    "uprobe-heap-size",
];

/// `uprobe-heap-size` sizes the policy's own `process_call_heap` map for its
/// uprobes and usdts (docs `options.md`: "It takes a positive integer as
/// value"; code: `specOpts.UprobeHeapSize`). We only warn on a bad value:
/// how the agent parses it is not in our copy of the code.
fn check_heap_size(option: &crate::ir::PolicyOption, out: &mut Vec<Diagnostic>) {
    let value = option.value.as_ref().map(|v| v.value.trim());
    let positive = value
        .and_then(|v| v.strip_prefix('+').unwrap_or(v).parse::<u64>().ok())
        .is_some_and(|n| n > 0);
    if positive {
        return;
    }
    let (span, label) = match &option.value {
        Some(v) => (v.span, "expected a positive integer".to_string()),
        None => (option.name.span, "no `value`".to_string()),
    };
    out.push(
        Diagnostic::new(
            Code::InvalidOption,
            Severity::Warning,
            match value {
                Some(v) => format!("`{v}` is not a positive integer for option `uprobe-heap-size`"),
                None => "option `uprobe-heap-size` needs a `value`".to_string(),
            },
        )
        .with_primary(span, label)
        .with_help("write the number of map entries as text, e.g. `value: \"65536\"`")
        .with_note("Tetragon's docs say the option takes a positive integer (the `--uprobe-heap-size` flag's default is 32768)"),
    );
}

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for option in &policy.options {
        let name = option.name.value.as_str();
        if name == "uprobe-heap-size" {
            check_heap_size(option, out);
            continue;
        }
        let allowed: &[&str] = match name {
            "disable-kprobe-multi" | "disable-uprobe-multi" => &["true", "false"],
            "override-method" => &["fmod-ret", "override-return"],
            "policy-mode" => &["enforce", "monitor"],
            _ => {
                let mut d = Diagnostic::new(
                    Code::InvalidOption,
                    Severity::Warning,
                    format!("unknown option `{name}`: Tetragon ignores it"),
                )
                .with_primary(option.name.span, "not an option Tetragon knows");
                d = match did_you_mean(name, OPTIONS) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("known options: {}", OPTIONS.join(", "))),
                };
                out.push(d);
                continue;
            }
        };
        let value = option.value.as_ref().map(|v| v.value.trim());
        let ok = match (name, value) {
            ("disable-kprobe-multi" | "disable-uprobe-multi", Some(v)) => {
                parse_go_bool(v).is_some()
            }
            (_, Some(v)) => allowed.contains(&v),
            (_, None) => false,
        };
        if ok {
            continue;
        }
        let (span, label) = match &option.value {
            Some(v) => (v.span, format!("expected {}", allowed.join(" or "))),
            None => (option.name.span, "no `value`".to_string()),
        };
        let mut d = Diagnostic::of(
            Code::InvalidOption,
            match value {
                Some(v) => format!("`{v}` is not a valid value for option `{name}`"),
                None => format!("option `{name}` needs a `value`"),
            },
        )
        .with_primary(span, label);
        d = match value.and_then(|v| did_you_mean(v, allowed.iter().copied())) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(format!("write `value: \"{}\"`", allowed[0])),
        };
        out.push(d.with_note(format!(
            "Tetragon refuses the policy: \"failed to set option {name}\""
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    fn option(name: &str, value: &str) -> String {
        policy(&format!(
            "  kprobes: [{{call: sys_openat}}]\n  options:\n  - name: {name}\n    value: \"{value}\"\n"
        ))
    }

    #[test]
    fn values_and_names() {
        assert!(with_code(&option("policy-mode", "monitor"), Code::InvalidOption).is_empty());
        let bad = with_code(&option("policy-mode", "audit"), Code::InvalidOption);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].severity, Severity::Error);
        assert!(with_code(&option("disable-kprobe-multi", "1"), Code::InvalidOption).is_empty());
        assert_eq!(
            with_code(&option("disable-kprobe-multi", "yes"), Code::InvalidOption).len(),
            1
        );
        let unknown = with_code(
            &option("disable-kprobes-multi", "true"),
            Code::InvalidOption,
        );
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].severity, Severity::Warning);
        assert_eq!(
            unknown[0].help.as_deref(),
            Some("did you mean `disable-kprobe-multi`?")
        );
    }

    #[test]
    fn uprobe_heap_size() {
        assert!(with_code(&option("uprobe-heap-size", "65536"), Code::InvalidOption).is_empty());
        for bad in ["0", "-1", "lots"] {
            let d = with_code(&option("uprobe-heap-size", bad), Code::InvalidOption);
            assert_eq!(d.len(), 1, "{bad}");
            assert_eq!(d[0].severity, Severity::Warning);
        }
    }
}
