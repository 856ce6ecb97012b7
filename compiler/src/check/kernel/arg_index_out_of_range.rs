//! Flags `args[].index` values past the last parameter of what the hook
//! attaches to.
//!
//! What it does: counts the parameters of the kprobe's function (for
//! `syscall: true`, the syscall's own arguments, not the `pt_regs` wrapper),
//! the LSM hook, or the raw tracepoint's `TP_PROTO`, and reports indexes
//! beyond them. Tracefs tracepoints index their record's fields instead
//! (see `tracepoint_not_found`).
//! Why: Tetragon only logs a warning ("has an invalid index … based on
//! prototype") and then reads a register that holds no argument: the value
//! in every event is garbage. tpc reports it as an error.
//! Example: `index: 100` on `vfs_llseek`, which has 3 parameters.

use super::{KernelCheck, KernelContext, counted};
use crate::diagnostics::{Code, Diagnostic};

pub const CHECK: KernelCheck = KernelCheck {
    name: "arg_index_out_of_range",
    codes: &[Code::ArgIndexOutOfRange],
    run,
};

fn run(context: &KernelContext<'_>, out: &mut Vec<Diagnostic>) {
    for hook in &context.hooks {
        for (_, prototype) in hook.prototypes() {
            for arg in &hook.hook.args {
                let index = arg.index.value as usize;
                let count = prototype.params.len();
                if index < count {
                    continue;
                }
                let noun_plural = format!("{}s", prototype.noun);
                out.push(
                    Diagnostic::error(
                        Code::ArgIndexOutOfRange,
                        format!(
                            "`index: {index}` is out of range: {} has {}",
                            prototype.owner,
                            counted(count, prototype.noun, &noun_plural)
                        ),
                    )
                    .with_primary(arg.index.span, format!("no {} {index}", prototype.noun))
                    .with_note(format!("the prototype is `{}`", prototype.c))
                    .with_note(
                        "Tetragon only warns about this and reads a register that holds no \
                         argument, so tpc reports an error",
                    ),
                );
            }
        }
    }
}
