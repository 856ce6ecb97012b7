//! Human output: miette's graphical reports (code, message, source snippet
//! with every label, help, notes, kernel scope) and the one-line `short`
//! format `path:line:col: severity[TPC003]: message`.
//!
//! Layout of one graphical report:
//!
//! ```text
//! error[TPC003] (unknown-field)
//!
//!   × unknown field `matchArg`
//!    ╭─[policies/write.yaml:9:7]
//!    ·  … snippet with the primary and secondary labels …
//!    ╰────
//!   help: did you mean `matchArgs`?
//!   note: …
//! ```
//!
//! A kernel-scoped finding gets a second message line
//! `on kernels 5.10, 6.1; fine on 6.12, 6.18`. Labels in another file than
//! the primary one are shown after the report as a "related locations"
//! snippet of that file. Colour is used only when [`HumanOptions::color`]
//! says so; the caller decides (terminal, `NO_COLOR`).

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents, ThemeCharacters, ThemeStyles,
};

use super::{kernel_scope_text, one_line, resolve};
use crate::diagnostics::{Diagnostic, Severity};
use crate::span::{FileId, SourceFile, SourceMap};

/// How to draw graphical reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanOptions {
    /// ANSI colours. Off by default; the CLI turns it on for a terminal
    /// without `NO_COLOR`.
    pub color: bool,
    /// Box-drawing characters (`╭─`, `×`); ASCII art (`,-`, `x`) when false.
    pub unicode: bool,
    /// Width to wrap messages at, in columns.
    pub width: usize,
}

impl Default for HumanOptions {
    fn default() -> Self {
        HumanOptions {
            color: false,
            unicode: true,
            width: 100,
        }
    }
}

/// Renders every diagnostic as a graphical report, separated by blank lines.
pub fn render(map: &SourceMap, diags: &[Diagnostic], options: &HumanOptions) -> String {
    let handler = handler(options);
    let mut out = String::new();
    for (index, diag) in diags.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        render_one(&handler, map, diag, options, &mut out);
    }
    out
}

/// One line per diagnostic: `path:line:col: severity[TPC003]: message`
/// (`severity[TPC003]: message` when it has no location), with the kernel
/// scope in parentheses when set. Line and column are 1-based; the column
/// counts characters.
pub fn render_short(map: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for diag in diags {
        if let Some(at) = diag.primary_span().and_then(|span| resolve(map, span)) {
            out.push_str(&format!(
                "{}:{}:{}: ",
                at.file.name, at.start.line, at.start.column
            ));
        }
        out.push_str(&format!(
            "{}[{}]: {}",
            diag.severity.as_str(),
            diag.code.as_str(),
            one_line(&diag.message)
        ));
        if let Some(scope) = &diag.kernels {
            out.push_str(&format!(" ({})", kernel_scope_text(scope)));
        }
        out.push('\n');
    }
    out
}

fn handler(options: &HumanOptions) -> GraphicalReportHandler {
    let characters = if options.unicode {
        ThemeCharacters::unicode()
    } else {
        ThemeCharacters::ascii()
    };
    let styles = if options.color {
        ThemeStyles::ansi()
    } else {
        ThemeStyles::none()
    };
    GraphicalReportHandler::new_themed(GraphicalTheme { characters, styles })
        .with_width(options.width)
        .with_urls(false)
        .with_links(false)
        .without_syntax_highlighting()
        .with_context_lines(1)
}

fn render_one(
    handler: &GraphicalReportHandler,
    map: &SourceMap,
    diag: &Diagnostic,
    options: &HumanOptions,
    out: &mut String,
) {
    let main_file = diag.primary_span().map(|span| span.file);
    let mut message = diag.message.clone();
    if let Some(scope) = &diag.kernels {
        message.push('\n');
        message.push_str(&kernel_scope_text(scope));
    }
    let report = Report {
        header: Some(format!(
            "{}[{}] ({})",
            diag.severity.as_str(),
            diag.code.as_str(),
            diag.code.name()
        )),
        message,
        severity: miette_severity(diag.severity),
        help: diag.help.clone(),
        source: main_file.and_then(|file| FileSource::new(map, file)),
        labels: labels_in(map, diag, main_file),
    };
    let mut rendered = String::new();
    if handler.render_report(&mut rendered, &report).is_ok() {
        out.push_str(&rendered);
    } else {
        // miette could not read a snippet; fall back to the plain line.
        out.push_str(&render_short(map, std::slice::from_ref(diag)));
    }
    for note in &diag.notes {
        out.push_str(&wrap_indented("  note: ", note, options.width));
    }

    // Labels that point into other files, one snippet per file.
    let mut other_files: Vec<FileId> = diag
        .labels
        .iter()
        .map(|label| label.span.file)
        .filter(|file| Some(*file) != main_file)
        .collect();
    other_files.sort();
    other_files.dedup();
    for file in other_files {
        let Some(source) = FileSource::new(map, file) else {
            continue;
        };
        let related = Report {
            header: None,
            message: format!("related locations in {}", source.file.name),
            severity: miette::Severity::Advice,
            help: None,
            labels: labels_in(map, diag, Some(file)),
            source: Some(source),
        };
        let mut rendered = String::new();
        if handler.render_report(&mut rendered, &related).is_ok() {
            out.push('\n');
            out.push_str(&rendered);
        }
    }
}

/// The labels of `diag` that lie in `file`, clamped to valid spans.
fn labels_in(map: &SourceMap, diag: &Diagnostic, file: Option<FileId>) -> Vec<LabeledSpan> {
    diag.labels
        .iter()
        .filter(|label| Some(label.span.file) == file)
        .filter_map(|label| {
            let at = resolve(map, label.span)?;
            let span = SourceSpan::from(at.start_byte..at.end_byte);
            let text = label.message.clone();
            Some(if label.primary {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            })
        })
        .collect()
}

fn miette_severity(severity: Severity) -> miette::Severity {
    match severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Note => miette::Severity::Advice,
    }
}

/// Greedy word wrap with `prefix` on the first line and spaces of the same
/// width on the others; every line ends with a newline.
fn wrap_indented(prefix: &str, text: &str, width: usize) -> String {
    let indent = " ".repeat(prefix.chars().count());
    let mut out = String::new();
    let mut line = prefix.to_string();
    let mut line_has_word = false;
    for word in text.split_whitespace() {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if line_has_word && !fits {
            out.push_str(&line);
            out.push('\n');
            line = indent.clone();
            line_has_word = false;
        }
        if line_has_word {
            line.push(' ');
        }
        line.push_str(word);
        line_has_word = true;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// One diagnostic in the shape miette wants.
#[derive(Debug)]
struct Report<'m> {
    header: Option<String>,
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<FileSource<'m>>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.header
            .as_ref()
            .map(|header| Box::new(header) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() || self.source.is_none() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// A source file for miette, named, with columns counted in characters
/// (miette's own `str` source counts bytes, which is wrong after `é`).
#[derive(Debug)]
struct FileSource<'m> {
    file: &'m SourceFile,
}

impl<'m> FileSource<'m> {
    fn new(map: &'m SourceMap, file: FileId) -> Option<Self> {
        map.get(file).map(|file| FileSource { file })
    }
}

impl SourceCode for FileSource<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text: &'a str = &self.file.text;
        let contents = text.read_span(span, context_lines_before, context_lines_after)?;
        let start = contents.span().offset();
        // miette reports the column of the snippet start: 0 when it starts at
        // a line start (context lines), else the byte offset into the line.
        let column = if contents.column() == 0 {
            0
        } else {
            let offset = u32::try_from(start).unwrap_or(u32::MAX);
            self.file.line_col(offset).1 - 1
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.file.name.clone(),
            contents.data(),
            *contents.span(),
            contents.line(),
            column,
            contents.line_count(),
        )))
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly on a missing value"
)]
mod tests {
    use super::super::test_support::{sample, span_of};
    use super::*;
    use crate::diagnostics::Code;
    use crate::span::Span;

    fn plain() -> HumanOptions {
        HumanOptions::default()
    }

    #[test]
    fn graphical_report_snapshot() {
        let (map, diags) = sample();
        insta::assert_snapshot!(render(&map, &diags, &plain()));
    }

    #[test]
    fn ascii_report_snapshot() {
        let (map, diags) = sample();
        let options = HumanOptions {
            unicode: false,
            ..plain()
        };
        insta::assert_snapshot!(render(&map, &diags[..1], &options));
    }

    #[test]
    fn report_contains_every_part() {
        let (map, diags) = sample();
        let out = render(&map, &diags, &plain());
        assert!(out.contains("error[TPC003] (unknown-field)"), "{out}");
        // Column 7 of line 9, counted in characters.
        assert!(out.contains("[policies/write.yaml:9:7]"), "{out}");
        assert!(out.contains("not a field of a selector"), "{out}");
        assert!(out.contains("in this selector list"), "{out}");
        assert!(out.contains("help: did you mean `matchArgs`?"), "{out}");
        assert!(out.contains("note: Kubernetes prunes"), "{out}");
        assert!(
            out.contains("on kernels 5.10, 6.1; fine on 6.12, 6.18"),
            "{out}"
        );
        // The label-less note still shows its message and help.
        assert!(out.contains("note[TPC002] (not-a-policy)"), "{out}");
        assert!(out.contains("no policy documents in `empty.yaml`"), "{out}");
        assert!(out.contains("help: remove the file from the list"), "{out}");
        assert!(!out.contains('\u{1b}'), "no colour unless asked: {out}");
    }

    #[test]
    fn column_in_header_counts_characters_after_non_ascii() {
        let mut map = SourceMap::new();
        let file = map.add("n.yaml", "name: \"d\u{e9}j\u{e0}\" # bad\n");
        let diag = Diagnostic::error(Code::InvalidName, "bad name")
            .with_primary(span_of(&map, file, "bad"), "here");
        let out = render(&map, &[diag], &plain());
        // `bad` is the 16th character but starts at byte 17 (miette's own
        // `str` source would say column 18).
        assert!(out.contains("[n.yaml:1:16]"), "{out}");
    }

    #[test]
    fn colour_only_when_asked() {
        let (map, diags) = sample();
        let options = HumanOptions {
            color: true,
            ..plain()
        };
        assert!(render(&map, &diags, &options).contains('\u{1b}'));
    }

    #[test]
    fn labels_in_another_file_get_their_own_snippet() {
        let mut map = SourceMap::new();
        let first = map.add("a.yaml", "key: 1\n");
        let second = map.add("b.yaml", "other: 2\nkey: 3\n");
        let diag = Diagnostic::error(Code::DuplicateKey, "`key` defined twice")
            .with_primary(span_of(&map, first, "key"), "second definition")
            .with_secondary(span_of(&map, second, "key"), "first definition");
        let out = render(&map, &[diag], &plain());
        assert!(out.contains("[a.yaml:1:1]"), "{out}");
        assert!(out.contains("related locations in b.yaml"), "{out}");
        assert!(out.contains("[b.yaml:2:1]"), "{out}");
        assert!(out.contains("first definition"), "{out}");
    }

    #[test]
    fn out_of_range_and_unknown_file_spans_do_not_break_rendering() {
        let mut map = SourceMap::new();
        let file = map.add("a.yaml", "key: 1\n");
        let diag = Diagnostic::error(Code::WrongType, "past the end")
            .with_primary(Span::new(file, 50, 60), "here")
            .with_secondary(Span::new(FileId(9), 0, 1), "nowhere");
        let out = render(&map, &[diag], &plain());
        assert!(out.contains("past the end"), "{out}");
        let lost = Diagnostic::error(Code::WrongType, "lost file")
            .with_primary(Span::new(FileId(9), 0, 1), "here");
        let out = render(&map, &[lost], &plain());
        assert!(out.contains("lost file"), "{out}");
    }

    #[test]
    fn points_and_multi_line_spans_in_a_crlf_file() {
        let mut map = SourceMap::new();
        let text = "spec:\r\n  kprobes:\r\n  - call: x\r\n    args:\r\n    - index: 0\r\n";
        let file = map.add("crlf.yaml", text);
        let entry_start = text.find("- call").unwrap();
        let entry_end = text.find("0\r\n").unwrap() + 1;
        let point = Diagnostic::error(Code::MissingField, "missing `type`").with_primary(
            Span::new(file, entry_end, entry_end),
            "expected `type` here",
        );
        let block = Diagnostic::error(Code::WrongType, "multi-line")
            .with_primary(Span::new(file, entry_start, entry_end), "this whole entry");
        let at_eof = Diagnostic::error(Code::MissingField, "at the end")
            .with_primary(Span::new(file, text.len(), text.len()), "end of file");
        insta::assert_snapshot!(render(&map, &[point, block, at_eof], &plain()));
    }

    #[test]
    fn short_format_lines() {
        let (map, diags) = sample();
        insta::assert_snapshot!(render_short(&map, &diags), @r#"
        policies/write.yaml:9:7: error[TPC003]: unknown field `matchArg`
        policies/write.yaml:7:11: warning[TPC003]: `sys_write` is not a kernel function (on kernels 5.10, 6.1; fine on 6.12, 6.18)
        note[TPC002]: no policy documents in `empty.yaml`
        "#);
    }

    #[test]
    fn notes_wrap_at_the_width() {
        let wrapped = wrap_indented("  note: ", "aaa bbb ccc ddd", 14);
        assert_eq!(
            wrapped,
            "  note: aaa\n        bbb\n        ccc\n        ddd\n"
        );
        let long_word = wrap_indented("  note: ", "abcdefghijklmnop", 10);
        assert_eq!(long_word, "  note: abcdefghijklmnop\n");
    }
}
