//! Renderers: human (miette), short one-line, JSON and SARIF 2.1.0. Each is a
//! pure function over a [`SourceMap`] and a slice of
//! [`Diagnostic`](super::Diagnostic)s; this module holds what they share:
//! span resolution to line/column positions, the kernel-scope phrase and the
//! run summary line.
//!
//! Public entry points:
//! - [`human::render`] / [`human::render_short`] for terminals and editors,
//! - [`json::render`] for scripts (one JSON document, see [`json`]),
//! - [`sarif::render`] for GitHub code scanning and other SARIF consumers,
//! - [`summary_line`] for the last line the CLI prints.
//!
//! Positions are 1-based. Columns count Unicode scalar values (characters),
//! except in SARIF, which counts UTF-16 code units (its default `columnKind`).
//! An end position is exclusive: it points just past the last character.

pub mod human;
pub mod json;
pub mod sarif;

use super::{Code, KernelScope, Tally};
use crate::span::{SourceFile, SourceMap, Span};

/// Why a machine-readable rendering could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("could not serialise the {format} report")]
    Serialize {
        format: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// The line the CLI prints after all findings, e.g.
/// `tpc: 3 files checked: 2 errors, 1 warning`.
pub fn summary_line(files: usize, tally: Tally) -> String {
    let files_part = format!("{} checked", counted(files, "file", "files"));
    let mut counts = Vec::new();
    if tally.errors > 0 {
        counts.push(counted(tally.errors, "error", "errors"));
    }
    if tally.warnings > 0 {
        counts.push(counted(tally.warnings, "warning", "warnings"));
    }
    if tally.notes > 0 {
        counts.push(counted(tally.notes, "note", "notes"));
    }
    if counts.is_empty() {
        format!("tpc: {files_part}: no problems found")
    } else {
        format!("tpc: {files_part}: {}", counts.join(", "))
    }
}

fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The kernel scope of a finding as one phrase, e.g.
/// `on kernels 5.10, 6.1; fine on 6.12, 6.18`. Runs of three or more
/// consecutive affected (or fine) kernels, in version order over all checked
/// kernels, are shortened to `5.4 to 6.1`; when every checked kernel is
/// affected the phrase says so.
pub fn kernel_scope_text(scope: &KernelScope) -> String {
    let affected = dedup_sorted(&scope.affected);
    let fine: Vec<&str> = dedup_sorted(&scope.fine)
        .into_iter()
        .filter(|k| !affected.contains(k))
        .collect();
    let list = |ks: &[&str]| ks.join(", ");
    let noun = |n: usize| if n == 1 { "kernel" } else { "kernels" };
    if affected.is_empty() {
        return format!("fine on {} {}", noun(fine.len()), list(&fine));
    }
    if fine.is_empty() {
        return if affected.len() == 1 {
            format!("on kernel {}, the only one checked", affected[0])
        } else {
            format!(
                "on all {} checked kernels: {}",
                affected.len(),
                list(&affected)
            )
        };
    }
    format!(
        "on {} {}; fine on {}",
        noun(affected.len()),
        list(&affected),
        list(&fine)
    )
}

/// The documentation of `code` without the one-space indent that `///`
/// comments leave on every line, and without surrounding blank lines.
pub(crate) fn documentation_text(code: Code) -> String {
    code.documentation()
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Kernel names trimmed, without duplicates, in version order (`5.4` before
/// `5.10`).
pub(crate) fn dedup_sorted(kernels: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = kernels.iter().map(|k| k.trim()).collect();
    out.retain(|k| !k.is_empty());
    out.sort_by(|a, b| version_key(a).cmp(&version_key(b)).then(a.cmp(b)));
    out.dedup();
    out
}

/// Numeric components of a kernel name (`5.15.0-91` → `[5, 15, 0, 91]`), so
/// that `5.10` sorts after `5.4`.
fn version_key(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<u64>().unwrap_or(u64::MAX))
        .collect()
}

/// A 1-based position in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: usize,
    /// Column in characters (Unicode scalar values).
    pub column: usize,
    /// Column in UTF-16 code units (what SARIF counts by default).
    pub utf16_column: usize,
}

/// A span made safe to display: clamped to its file, on character
/// boundaries, without a trailing line break, with line/column positions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResolvedSpan<'m> {
    pub file: &'m SourceFile,
    pub start_byte: usize,
    pub end_byte: usize,
    pub start: Position,
    /// Exclusive end: the position just past the last character.
    pub end: Position,
}

/// Resolves `span` against `map`; `None` when its file is not in the map.
pub(crate) fn resolve(map: &SourceMap, span: Span) -> Option<ResolvedSpan<'_>> {
    let file = map.get(span.file)?;
    let text: &str = &file.text;
    let start = floor_boundary(text, (span.start as usize).min(text.len()));
    let mut end = ceil_boundary(text, (span.end as usize).clamp(start, text.len()));
    // A node that swallowed its line break still ends on its own line.
    while end > start && matches!(text.as_bytes().get(end - 1), Some(b'\n' | b'\r')) {
        end -= 1;
    }
    // A point after the final line break would sit on a line that does not
    // exist; show it at the end of the last line instead.
    let mut start = start;
    if start == end && start == text.len() {
        let trimmed = text
            .strip_suffix('\n')
            .map(|rest| rest.strip_suffix('\r').unwrap_or(rest));
        if let Some(rest) = trimmed {
            start = rest.len();
            end = rest.len();
        }
    }
    Some(ResolvedSpan {
        file,
        start_byte: start,
        end_byte: end,
        start: position(file, start),
        end: position(file, end),
    })
}

fn position(file: &SourceFile, byte: usize) -> Position {
    let (line, column) = file.line_col(u32::try_from(byte).unwrap_or(u32::MAX));
    let utf16_column = file
        .line_text(line)
        .chars()
        .take(column - 1)
        .map(char::len_utf16)
        .sum::<usize>()
        + 1;
    Position {
        line,
        column,
        utf16_column,
    }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// Text on one line: line breaks in messages become spaces.
pub(crate) fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "test fixtures are hand-made and known to be valid"
)]
pub(crate) mod test_support {
    //! Small hand-made sources and diagnostics shared by the renderer tests.

    use crate::diagnostics::{Code, Diagnostic, KernelScope};
    use crate::span::{FileId, SourceMap, Span};

    pub const POLICY: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"d\u{e9}j\u{e0}-vu\"
spec:
  kprobes:
  - call: \"sys_write\"
    selectors:
    - matchArg:
      - index: 0
";

    pub fn span_of(map: &SourceMap, file: FileId, needle: &str) -> Span {
        let text = &map.get(file).unwrap().text;
        let start = text.find(needle).unwrap();
        Span::new(file, start, start + needle.len())
    }

    /// One policy file and three findings: an error with a primary and a
    /// secondary label, a kernel-scoped warning, and a label-less note.
    pub fn sample() -> (SourceMap, Vec<Diagnostic>) {
        let mut map = SourceMap::new();
        let file = map.add("policies/write.yaml", POLICY);
        let unknown = Diagnostic::error(Code::UnknownField, "unknown field `matchArg`")
            .with_primary(span_of(&map, file, "matchArg"), "not a field of a selector")
            .with_secondary(span_of(&map, file, "selectors"), "in this selector list")
            .with_help("did you mean `matchArgs`?")
            .with_note("Kubernetes prunes unknown fields, so this selector would match everything");
        let kernel =
            Diagnostic::warning(Code::UnknownField, "`sys_write` is not a kernel function")
                .with_primary(span_of(&map, file, "\"sys_write\""), "")
                .with_kernels(KernelScope {
                    affected: vec!["6.1".into(), "5.10".into()],
                    fine: vec!["6.18".into(), "6.12".into()],
                });
        let bare = Diagnostic::note(Code::NotAPolicy, "no policy documents in `empty.yaml`")
            .with_help("remove the file from the list");
        (map, vec![unknown, kernel, bare])
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly on a missing value"
)]
mod tests {
    use super::test_support::{POLICY, sample, span_of};
    use super::*;

    fn scope(affected: &[&str], fine: &[&str]) -> KernelScope {
        KernelScope {
            affected: affected.iter().map(|k| (*k).to_string()).collect(),
            fine: fine.iter().map(|k| (*k).to_string()).collect(),
        }
    }

    #[test]
    fn summary_line_counts_and_plurals() {
        let tally = Tally {
            errors: 2,
            warnings: 1,
            notes: 0,
        };
        assert_eq!(
            summary_line(3, tally),
            "tpc: 3 files checked: 2 errors, 1 warning"
        );
        assert_eq!(
            summary_line(1, Tally::default()),
            "tpc: 1 file checked: no problems found"
        );
        let notes_only = Tally {
            notes: 1,
            ..Tally::default()
        };
        assert_eq!(summary_line(0, notes_only), "tpc: 0 files checked: 1 note");
    }

    #[test]
    fn kernel_scope_sorts_by_version() {
        assert_eq!(
            kernel_scope_text(&scope(&["6.1", "5.10"], &["6.18", "6.12"])),
            "on kernels 5.10, 6.1; fine on 6.12, 6.18"
        );
        assert_eq!(
            kernel_scope_text(&scope(
                &["6.1", "5.4", "5.15", "5.10", "4.19"],
                &["6.6", "6.12"]
            )),
            "on kernels 4.19, 5.4, 5.10, 5.15, 6.1; fine on 6.6, 6.12"
        );
        assert_eq!(
            kernel_scope_text(&scope(&["5.10", "6.1", "6.12"], &[])),
            "on all 3 checked kernels: 5.10, 6.1, 6.12"
        );
        assert_eq!(
            kernel_scope_text(&scope(&["6.1", "6.1"], &[])),
            "on kernel 6.1, the only one checked"
        );
        assert_eq!(
            kernel_scope_text(&scope(&["6.1-arm64"], &["6.1"])),
            "on kernel 6.1-arm64; fine on 6.1"
        );
        assert_eq!(
            kernel_scope_text(&scope(&[], &["6.1"])),
            "fine on kernel 6.1"
        );
    }

    #[test]
    fn resolve_counts_characters_and_utf16_units() {
        let mut map = SourceMap::new();
        // 'é' is one UTF-16 unit, '😀' is two; both are one character.
        let file = map.add("x.yaml", "a: 1\n# é😀 key\n");
        let span = span_of(&map, file, "key");
        let resolved = resolve(&map, span).unwrap();
        assert_eq!(resolved.start.line, 2);
        assert_eq!(resolved.start.column, 6);
        assert_eq!(resolved.start.utf16_column, 7);
        assert_eq!(resolved.end.column, 9);
        assert_eq!(resolved.end.utf16_column, 10);
    }

    #[test]
    fn resolve_clamps_and_drops_trailing_line_break() {
        let mut map = SourceMap::new();
        let file = map.add("x.yaml", POLICY);
        // "kind: TracingPolicy\n" ends with its newline: still on line 2.
        let start = POLICY.find("kind").unwrap();
        let span = Span::new(file, start, start + "kind: TracingPolicy\n".len());
        let resolved = resolve(&map, span).unwrap();
        assert_eq!((resolved.start.line, resolved.end.line), (2, 2));
        assert_eq!(resolved.end.column, "kind: TracingPolicy".len() + 1);
        // Past the end of the file: clamped to the end of the last line
        // (POLICY ends with a line break).
        let past = resolve(&map, Span::new(file, 10_000, 20_000)).unwrap();
        let last_line_end = POLICY.len() - 1;
        assert_eq!(
            (past.start_byte, past.end_byte),
            (last_line_end, last_line_end)
        );
        assert_eq!((past.start.line, past.start.column), (10, 17));
        // Without a final line break the end of the text is a real position.
        let bare = map.add("y.yaml", "a: 1");
        let end = resolve(&map, Span::new(bare, 4, 4)).unwrap();
        assert_eq!((end.start.line, end.start.column), (1, 5));
        // Inside the two-byte 'é': widened to the whole character.
        let e_acute = POLICY.find('\u{e9}').unwrap();
        let inside = resolve(&map, Span::new(file, e_acute + 1, e_acute + 1)).unwrap();
        assert_eq!(inside.start_byte, e_acute);
        // A file the map does not know.
        assert!(resolve(&map, Span::new(crate::span::FileId(7), 0, 1)).is_none());
    }

    #[test]
    fn documentation_loses_the_doc_comment_indent() {
        let text = documentation_text(Code::UnknownField);
        assert!(text.starts_with("A key that does not exist"), "{text}");
        assert!(text.lines().all(|line| !line.starts_with(' ')), "{text}");
        assert!(text.contains("\nWhat it does: "), "{text}");
    }

    #[test]
    fn sample_is_well_formed() {
        let (map, diags) = sample();
        assert_eq!(diags.len(), 3);
        assert!(
            diags
                .iter()
                .all(|d| d.primary_span().is_none_or(|s| resolve(&map, s).is_some()))
        );
    }
}
