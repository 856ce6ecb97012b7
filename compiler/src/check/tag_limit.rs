//! Flags tags that Tetragon refuses or cuts.
//!
//! What it does: reports tags shorter than 2 bytes (an error) and warns
//! about tags longer than 128 bytes. (More than 16 tags is a schema error
//! reported by the frontend.)
//! Why: the agent refuses a hook with a 1-byte or empty tag ("custom tag n:
//! too short") and silently truncates long tags, so filters on the full tag
//! downstream never match.
//! Example: `tags: ["x"]`; write a descriptive tag such as
//! `"observability.filesystem"`.

use super::Check;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::Policy;

pub const CHECK: Check = Check {
    name: "tag_limit",
    codes: &[Code::TagLimit],
    run,
};

/// Tags shorter than this are refused.
pub const MIN_TAG: usize = 2;
/// Tags longer than this are truncated.
pub const MAX_TAG: usize = 128;

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for (i, tag) in hook.tags.iter().enumerate() {
            let len = tag.value.len();
            if len < MIN_TAG {
                out.push(
                    Diagnostic::new(
                        Code::TagLimit,
                        Severity::Error,
                        format!(
                            "tag {i} is {len} byte{} long; Tetragon needs at least {MIN_TAG}",
                            if len == 1 { "" } else { "s" }
                        ),
                    )
                    .with_primary(tag.span, "too short")
                    .with_help(
                        "write a descriptive tag, e.g. `observability.filesystem`, or remove it",
                    )
                    .with_note("Tetragon refuses the hook: \"custom tag: too short\""),
                );
            } else if len > MAX_TAG {
                out.push(
                    Diagnostic::new(
                        Code::TagLimit,
                        Severity::Warning,
                        format!(
                            "tag {i} is {len} bytes long; Tetragon keeps only the first {MAX_TAG}"
                        ),
                    )
                    .with_primary(tag.span, "truncated in events")
                    .with_help(format!("shorten the tag to at most {MAX_TAG} bytes")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, with_code};
    use super::*;

    fn with_tag(tag: &str) -> String {
        policy(&format!(
            "  kprobes:\n  - call: sys_openat\n    tags: [\"observability.filesystem\", \"{tag}\"]\n"
        ))
    }

    #[test]
    fn short_and_long_tags() {
        let short = with_code(&with_tag("x"), Code::TagLimit);
        assert_eq!(short.len(), 1);
        assert_eq!(short[0].severity, Severity::Error);
        let long = with_code(&with_tag(&"t".repeat(129)), Code::TagLimit);
        assert_eq!(long.len(), 1);
        assert_eq!(long[0].severity, Severity::Warning);
        assert!(with_code(&with_tag(&"t".repeat(128)), Code::TagLimit).is_empty());
        assert!(with_code(&with_tag("ok"), Code::TagLimit).is_empty());
    }
}
