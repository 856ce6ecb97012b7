//! Flags two policies with the same name, in one file or across the files
//! of one run.
//!
//! What it does: reports every policy whose `metadata.name` (and, for a
//! `TracingPolicyNamespaced`, `metadata.namespace`) an earlier policy of
//! the run already has, and says where the first one is: an error within
//! one file (its documents are applied together), a warning across files
//! (folders of alternative examples reuse names; a folder deployed as one
//! set must not). Unlike the other checks it looks at every policy of the
//! run at once, so the driver calls it after the per-policy checks, on the
//! names alone ([`PolicyName`]): a run that keeps only findings drops each
//! policy's IR once it is checked.
//! Why: Tetragon keys policies by name and namespace: it refuses the second
//! one ("a sensor collection with the key already exists"), and `kubectl
//! apply` of both replaces the first with the second without a word.
//! Example: two documents of `policies.yaml` both named `file-monitoring`.

use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::Policy;
use crate::span::{Span, Spanned};
use std::collections::HashMap;

/// What this check needs of a policy: its key in Tetragon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyName {
    /// `metadata.name`.
    pub name: Spanned<String>,
    /// `metadata.namespace`; empty for a cluster-wide policy.
    pub namespace: String,
}

impl PolicyName {
    pub fn of(policy: &Policy) -> Self {
        PolicyName {
            name: policy.name.clone(),
            namespace: policy
                .namespace
                .as_ref()
                .map_or_else(String::new, |n| n.value.clone()),
        }
    }
}

/// Reports the policies of `policies` (in run order) whose name an earlier
/// one has. `locate` names a span's place (`file.yaml:12`) for the note on
/// a first policy in another file.
pub fn run<'a>(
    policies: impl IntoIterator<Item = &'a PolicyName>,
    locate: &dyn Fn(Span) -> String,
    out: &mut Vec<Diagnostic>,
) {
    let mut first: HashMap<(&str, &str), Span> = HashMap::new();
    for policy in policies {
        let namespace = policy.namespace.as_str();
        let name = policy.name.value.as_str();
        if name.is_empty() {
            continue;
        }
        let Some(&earlier) = first.get(&(namespace, name)) else {
            first.insert((namespace, name), policy.name.span);
            continue;
        };
        let scope = if namespace.is_empty() {
            String::new()
        } else {
            format!(" in namespace `{namespace}`")
        };
        let same_file = earlier.file == policy.name.span.file;
        let severity = if same_file {
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut d = Diagnostic::new(
            Code::DuplicatePolicyName,
            severity,
            format!("a policy named `{name}`{scope} is already defined"),
        )
        .with_primary(policy.name.span, "the same name again");
        d = if same_file {
            d.with_secondary(earlier, "first defined here")
        } else {
            d.with_note(format!("the first is at {}", locate(earlier)))
        };
        out.push(
            d.with_help("give each policy its own `metadata.name`")
                .with_note("Tetragon refuses the second policy (\"a sensor collection with the key already exists\"); `kubectl apply` of both keeps only the last"),
        );
    }
}
