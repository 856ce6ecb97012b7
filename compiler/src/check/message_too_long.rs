//! Flags hook messages Tetragon refuses or cuts.
//!
//! What it does: reports a `message` of exactly one byte (an error) and
//! warns about messages longer than 256 bytes.
//! Why: the agent refuses a one-byte message ("message field is too short")
//! and truncates long ones, with only a log line to say so.
//! Example: a 300-character `message`; keep the message short and put
//! details in `tags`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::Policy;

pub const CHECK: Check = Check {
    name: "message_too_long",
    codes: &[Code::MessageTooLong],
    run,
};

/// Messages longer than this are truncated.
pub const MAX_MESSAGE: usize = 256;

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let Some(message) = &hook.message else {
            continue;
        };
        let len = message.value.len();
        if len == 1 {
            out.push(
                Diagnostic::new(Code::MessageTooLong, Severity::Error, "a one-byte `message` is refused by Tetragon")
                    .with_primary(message.span, "too short")
                    .with_help("write a message that says what the event means, e.g. \"sensitive file opened\"")
                    .with_note("Tetragon refuses the hook: \"message field is too short\""),
            );
        } else if len > MAX_MESSAGE {
            out.push(
                Diagnostic::new(Code::MessageTooLong, Severity::Warning, format!("`message` is {len} bytes long; Tetragon keeps the first {MAX_MESSAGE}"))
                    .with_primary(message.span, "truncated in events")
                    .with_help(format!("shorten the message to at most {MAX_MESSAGE} bytes; put details in `tags`"))
                    .with_note("the limit applies after Go-style escaping, so newlines and quotes count double"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    fn with_message(m: &str) -> String {
        policy(&format!(
            "  kprobes:\n  - call: sys_openat\n    message: \"{m}\"\n"
        ))
    }

    #[test]
    fn one_byte_and_long_messages() {
        let one = with_code(&with_message("x"), Code::MessageTooLong);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].severity, Severity::Error);
        let long = with_code(&with_message(&"m".repeat(257)), Code::MessageTooLong);
        assert_eq!(long.len(), 1);
        assert_eq!(long[0].severity, Severity::Warning);
        assert!(with_code(&with_message(&"m".repeat(256)), Code::MessageTooLong).is_empty());
    }
}
