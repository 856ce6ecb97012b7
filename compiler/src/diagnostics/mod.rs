//! Diagnostics as data: a stable [`Code`], a [`Severity`], a message, labelled
//! spans, help and notes. Passes produce them; the renderers in [`render`]
//! turn them into human, JSON or SARIF output at the very end.

pub mod codes;
pub mod render;
pub mod suggest;

pub use codes::Code;

use crate::span::Span;
use serde::Serialize;

/// How bad a finding is. Errors fail `tpc check`; warnings fail it only with
/// `--deny-warnings`; notes never do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A span with an optional message. The primary label is where the problem
/// is; secondary labels point at related places (the declaration an index
/// refers to, the first of two duplicates, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: Option<String>,
    pub primary: bool,
}

/// The kernels a kernel-dependent finding holds on, and the ones it does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelScope {
    /// Kernels on which the finding holds (display names such as "6.1").
    pub affected: Vec<String>,
    /// Kernels that were checked and are fine.
    pub fine: Vec<String>,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
    /// Set on findings that depend on the kernel (BTF checks).
    pub kernels: Option<KernelScope>,
}

impl Diagnostic {
    pub fn new(code: Code, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
            kernels: None,
        }
    }

    /// A diagnostic with the code's default severity.
    pub fn of(code: Code, message: impl Into<String>) -> Self {
        Diagnostic::new(code, code.default_severity(), message)
    }

    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic::new(code, Severity::Error, message)
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic::new(code, Severity::Warning, message)
    }

    pub fn note(code: Code, message: impl Into<String>) -> Self {
        Diagnostic::new(code, Severity::Note, message)
    }

    /// Adds the primary label (where the problem is).
    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Self {
        let message = message.into();
        self.labels.push(Label {
            span,
            message: (!message.is_empty()).then_some(message),
            primary: true,
        });
        self
    }

    /// Adds a secondary label (a related place).
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        let message = message.into();
        self.labels.push(Label {
            span,
            message: (!message.is_empty()).then_some(message),
            primary: false,
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_kernels(mut self, scope: KernelScope) -> Self {
        self.kernels = Some(scope);
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// The primary span, or the first label's span.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or_else(|| self.labels.first())
            .map(|l| l.span)
    }
}

/// Counts of findings by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
}

impl Tally {
    pub fn of<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> Tally {
        let mut t = Tally::default();
        for d in diags {
            match d.severity {
                Severity::Error => t.errors += 1,
                Severity::Warning => t.warnings += 1,
                Severity::Note => t.notes += 1,
            }
        }
        t
    }
}

/// Sorts diagnostics by file and position, keeping insertion order for ties,
/// and drops exact duplicates.
pub fn sort_and_dedup(diags: &mut Vec<Diagnostic>) {
    diags.sort_by_key(|d| d.primary_span().map(|s| (s.file, s.start, s.end)));
    diags.dedup();
}
