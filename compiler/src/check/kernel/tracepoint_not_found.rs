//! Flags tracepoints a kernel does not have, and tracepoint `args[].index`
//! values that are not fields of the event's record.
//!
//! What it does: looks `subsystem/event` up in the kernel's tracefs `format`
//! files (or, for kernels without them, in BTF: `trace_event_raw_<event>`,
//! `btf_trace_<event>`, and the syscall prototypes behind
//! `syscalls/sys_enter_*`), and maps every `args[].index` to a field, common
//! fields included. A raw tracepoint (`raw: true`) is looked up as BTF's
//! `btf_trace_<event>`; its indexes are checked by `arg_index_out_of_range`.
//! A missing event gets the closest event of the kernel as a suggestion.
//! Why: the hook cannot attach ("tracepoint … not supported"), or Tetragon
//! refuses an index past the last field ("has N fields but field I was
//! requested").
//! Example: `index: 9` on `syscalls/sys_enter_openat`, which has 7 fields.

use super::{Attachment, KernelCheck, KernelContext, counted};
use crate::btf::{TracepointInfo, TracepointLookup};
use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::HookTarget;

pub const CHECK: KernelCheck = KernelCheck {
    name: "tracepoint_not_found",
    codes: &[Code::TracepointNotFound],
    run,
};

fn run(context: &KernelContext<'_>, out: &mut Vec<Diagnostic>) {
    for hook in &context.hooks {
        let HookTarget::Tracepoint {
            subsystem, event, ..
        } = &hook.hook.target
        else {
            continue;
        };
        let name = format!("{}/{}", subsystem.value, event.value);
        match &hook.attachment {
            Attachment::Tracepoint(TracepointLookup::Missing { reason }) => {
                let d = Diagnostic::error(
                    Code::TracepointNotFound,
                    format!("tracepoint `{name}` does not exist"),
                )
                .with_primary(event.span, "no such event")
                .with_secondary(subsystem.span, "in this subsystem")
                .with_note(reason.clone());
                out.push(
                    match close_tracepoint(context, &subsystem.value, &event.value) {
                        Some(close) => d.with_help(format!("did you mean `{close}`?")),
                        None => d,
                    },
                );
            }
            Attachment::Tracepoint(TracepointLookup::Found(info)) => {
                for arg in &hook.hook.args {
                    let index = arg.index.value as usize;
                    if index >= info.fields.len() {
                        out.push(index_past_fields(&name, info, arg.index.span, index));
                    }
                }
            }
            Attachment::RawTracepoint(None) => out.push(
                Diagnostic::error(
                    Code::TracepointNotFound,
                    format!("raw tracepoint `{}` does not exist", event.value),
                )
                .with_primary(event.span, "no such event")
                .with_note(format!(
                    "`raw: true` attaches through BTF, which has no `btf_trace_{}`",
                    event.value
                )),
            ),
            _ => {}
        }
    }
}

/// The kernel's tracepoint closest to `subsystem/event`: an event of the
/// same subsystem first, else the same event in another subsystem.
fn close_tracepoint(context: &KernelContext<'_>, subsystem: &str, event: &str) -> Option<String> {
    let events = context.kernel.tracepoint_events();
    let same_subsystem = events
        .iter()
        .filter(|(s, _)| s == subsystem)
        .map(|(_, e)| e.as_str());
    if let Some(close) = did_you_mean(event, same_subsystem) {
        return Some(format!("{subsystem}/{close}"));
    }
    events
        .iter()
        .find(|(s, e)| e == event && s != subsystem)
        .map(|(s, e)| format!("{s}/{e}"))
}

fn index_past_fields(
    name: &str,
    info: &TracepointInfo,
    span: crate::span::Span,
    index: usize,
) -> Diagnostic {
    let count = info.fields.len();
    let fields = info
        .fields
        .iter()
        .enumerate()
        .map(|(position, field)| format!("{position} `{}` ({})", field.name, field.c_type))
        .collect::<Vec<_>>()
        .join(", ");
    Diagnostic::error(
        Code::TracepointNotFound,
        format!(
            "`index: {index}` is not a field of `{name}`, which has {}",
            counted(count, "field", "fields")
        ),
    )
    .with_primary(
        span,
        format!("valid indexes are 0 to {}", count.saturating_sub(1)),
    )
    .with_note(format!("the fields, common fields included: {fields}"))
    .with_note(
        "on tracepoints `args[].index` is the field's position in the tracefs `format` file, \
         counting the `common_*` fields",
    )
}
