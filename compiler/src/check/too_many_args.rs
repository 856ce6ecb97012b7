//! Flags hooks that collect more values than Tetragon can.
//!
//! What it does: reports a hook whose `args` and `data` entries together
//! number more than 5.
//! Why: Tetragon's event layout has five argument slots; the agent refuses
//! the hook ("too many arguments, max 5: args(N) data(M)"; on tracepoints
//! "number of arguments (N) larger than max (5)").
//! Example: six entries under `args`; drop one, or split the hook into two
//! policies collecting different arguments.

use super::Check;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::Policy;

pub const CHECK: Check = Check {
    name: "too_many_args",
    codes: &[Code::TooManyArgs],
    run,
};

/// `args` + `data` entries per hook.
pub const MAX_ARGS: usize = 5;

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let total = hook.args.len() + hook.data.len();
        if total <= MAX_ARGS {
            continue;
        }
        let Some(extra) = hook.args.iter().chain(&hook.data).nth(MAX_ARGS) else {
            continue;
        };
        let split = if hook.data.is_empty() {
            format!("{} has {total} `args`", hook.display_name())
        } else {
            format!(
                "{} collects {total} values ({} `args` + {} `data`)",
                hook.display_name(),
                hook.args.len(),
                hook.data.len()
            )
        };
        out.push(
            Diagnostic::of(Code::TooManyArgs, format!("{split}; Tetragon collects at most {MAX_ARGS} per hook"))
                .with_primary(extra.span, format!("value {} is over the limit", MAX_ARGS + 1))
                .with_help("drop a value you do not filter or need in events, or split the hook into two policies")
                .with_note("Tetragon refuses the hook: \"too many arguments, max 5\""),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    #[test]
    fn six_args() {
        let arg = |i: usize| format!("    - {{index: {i}, type: int}}\n");
        let y = |n: usize| {
            let args: String = (0..n).map(|i| arg(i.min(4))).collect();
            policy(&format!(
                "  kprobes:\n  - call: sys_mmap\n    args:\n{args}"
            ))
        };
        assert_eq!(with_code(&y(6), Code::TooManyArgs).len(), 1);
        assert!(with_code(&y(5), Code::TooManyArgs).is_empty());
    }

    #[test]
    fn args_and_data_count_together() {
        let y = policy(
            r#"
  kprobes:
  - call: security_file_open
    syscall: false
    args:
    - {index: 0, type: file}
    - {index: 0, type: int, resolve: f_flags}
    - {index: 0, type: int, resolve: f_mode}
    data:
    - {index: 0, type: int, source: current_task, resolve: pid}
    - {index: 0, type: int, source: current_task, resolve: tgid}
    - {index: 0, type: int, source: current_task, resolve: flags}
"#,
        );
        let d = with_code(&y, Code::TooManyArgs);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("3 `args` + 3 `data`"));
    }
}
