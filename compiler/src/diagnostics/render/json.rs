//! JSON output: one pretty-printed document per run, for scripts and CI.
//!
//! Shape (keys always in this order; `null` for an absent value):
//!
//! ```json
//! {
//!   "format": "tpc-diagnostics",
//!   "version": 1,
//!   "columns": "unicode-code-points",
//!   "summary": { "errors": 1, "warnings": 0, "notes": 0 },
//!   "diagnostics": [
//!     {
//!       "code": "TPC003", "name": "unknown-field", "severity": "error",
//!       "message": "unknown field `matchArg`",
//!       "file": "policies/write.yaml",
//!       "primary": { "line": 9, "column": 7, "end_line": 9, "end_column": 15,
//!                    "start_byte": 166, "end_byte": 174 },
//!       "labels": [ { "file": "policies/write.yaml", "primary": true,
//!                     "message": "not a field of a selector",
//!                     "line": 9, "column": 7, "end_line": 9, "end_column": 15,
//!                     "start_byte": 166, "end_byte": 174 } ],
//!       "help": "did you mean `matchArgs`?",
//!       "notes": [],
//!       "kernels": null
//!     }
//!   ]
//! }
//! ```
//!
//! Lines and columns are 1-based, columns count Unicode scalar values, the
//! end is exclusive (just past the last character) and byte offsets are
//! 0-based and half-open. `file` and `primary` are `null` for a diagnostic
//! without labels. A label whose file is unknown has `file: null` and no
//! position keys. `kernels` is `{"affected": [...], "fine": [...]}` for
//! kernel-dependent findings, each list deduplicated and in version order.
//! `version` changes only on incompatible changes.

use serde::Serialize;

use super::{RenderError, ResolvedSpan, dedup_sorted, resolve};
use crate::diagnostics::{Diagnostic, Severity, Tally};
use crate::span::SourceMap;

/// Version of the JSON document shape.
pub const FORMAT_VERSION: u32 = 1;

/// Renders all diagnostics as one JSON document (pretty-printed, ending in a
/// newline).
pub fn render(map: &SourceMap, diags: &[Diagnostic]) -> Result<String, RenderError> {
    let document = Document {
        format: "tpc-diagnostics",
        version: FORMAT_VERSION,
        columns: "unicode-code-points",
        summary: Summary::from(Tally::of(diags)),
        diagnostics: diags.iter().map(|diag| entry(map, diag)).collect(),
    };
    let mut text =
        serde_json::to_string_pretty(&document).map_err(|source| RenderError::Serialize {
            format: "json",
            source,
        })?;
    text.push('\n');
    Ok(text)
}

#[derive(Serialize)]
struct Document<'d> {
    format: &'static str,
    version: u32,
    columns: &'static str,
    summary: Summary,
    diagnostics: Vec<Entry<'d>>,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    notes: usize,
}

impl From<Tally> for Summary {
    fn from(tally: Tally) -> Self {
        Summary {
            errors: tally.errors,
            warnings: tally.warnings,
            notes: tally.notes,
        }
    }
}

#[derive(Serialize)]
struct Entry<'d> {
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: &'d str,
    file: Option<&'d str>,
    primary: Option<Range>,
    labels: Vec<LabelEntry<'d>>,
    help: Option<&'d str>,
    notes: &'d [String],
    kernels: Option<Kernels<'d>>,
}

#[derive(Serialize)]
struct LabelEntry<'d> {
    file: Option<&'d str>,
    primary: bool,
    message: Option<&'d str>,
    #[serde(flatten)]
    range: Option<Range>,
}

#[derive(Serialize)]
struct Range {
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    start_byte: usize,
    end_byte: usize,
}

impl From<&ResolvedSpan<'_>> for Range {
    fn from(at: &ResolvedSpan<'_>) -> Self {
        Range {
            line: at.start.line,
            column: at.start.column,
            end_line: at.end.line,
            end_column: at.end.column,
            start_byte: at.start_byte,
            end_byte: at.end_byte,
        }
    }
}

#[derive(Serialize)]
struct Kernels<'d> {
    affected: Vec<&'d str>,
    fine: Vec<&'d str>,
}

fn entry<'d>(map: &'d SourceMap, diag: &'d Diagnostic) -> Entry<'d> {
    let primary = diag.primary_span().and_then(|span| resolve(map, span));
    Entry {
        code: diag.code.as_str(),
        name: diag.code.name(),
        severity: diag.severity,
        message: &diag.message,
        file: primary.as_ref().map(|at| at.file.name.as_str()),
        primary: primary.as_ref().map(Range::from),
        labels: diag
            .labels
            .iter()
            .map(|label| {
                let at = resolve(map, label.span);
                LabelEntry {
                    file: at.as_ref().map(|at| at.file.name.as_str()),
                    primary: label.primary,
                    message: label.message.as_deref(),
                    range: at.as_ref().map(Range::from),
                }
            })
            .collect(),
        help: diag.help.as_deref(),
        notes: &diag.notes,
        kernels: diag.kernels.as_ref().map(|scope| Kernels {
            affected: dedup_sorted(&scope.affected),
            fine: dedup_sorted(&scope.fine),
        }),
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly on a missing value"
)]
mod tests {
    use super::super::test_support::sample;
    use super::*;
    use crate::diagnostics::Code;
    use crate::span::{FileId, Span};

    #[test]
    fn json_snapshot() {
        let (map, diags) = sample();
        insta::assert_snapshot!(render(&map, &diags).unwrap());
    }

    #[test]
    fn fields_and_positions() {
        let (map, diags) = sample();
        let value: serde_json::Value =
            serde_json::from_str(&render(&map, &diags).unwrap()).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["summary"]["errors"], 1);
        assert_eq!(value["summary"]["warnings"], 1);
        assert_eq!(value["summary"]["notes"], 1);
        let first = &value["diagnostics"][0];
        assert_eq!(first["code"], "TPC003");
        assert_eq!(first["name"], "unknown-field");
        assert_eq!(first["severity"], "error");
        assert_eq!(first["file"], "policies/write.yaml");
        assert_eq!(first["primary"]["line"], 9);
        assert_eq!(first["primary"]["column"], 7);
        assert_eq!(first["primary"]["end_column"], 15);
        assert_eq!(first["labels"][1]["primary"], false);
        assert_eq!(first["labels"][1]["line"], 8);
        assert_eq!(first["labels"][1]["message"], "in this selector list");
        assert_eq!(first["kernels"], serde_json::Value::Null);
        let kernel = &value["diagnostics"][1];
        // Sorted by version, whatever order the check produced.
        assert_eq!(
            kernel["kernels"]["affected"],
            serde_json::json!(["5.10", "6.1"])
        );
        assert_eq!(
            kernel["kernels"]["fine"],
            serde_json::json!(["6.12", "6.18"])
        );
        assert_eq!(kernel["labels"][0]["message"], serde_json::Value::Null);
        let bare = &value["diagnostics"][2];
        assert_eq!(bare["file"], serde_json::Value::Null);
        assert_eq!(bare["primary"], serde_json::Value::Null);
        assert_eq!(bare["labels"].as_array().unwrap().len(), 0);
        assert_eq!(bare["help"], "remove the file from the list");
    }

    #[test]
    fn byte_offsets_match_the_source_and_columns_count_characters() {
        let (map, diags) = sample();
        let value: serde_json::Value =
            serde_json::from_str(&render(&map, &diags).unwrap()).unwrap();
        let text = &map.get(FileId(0)).unwrap().text;
        let primary = &value["diagnostics"][0]["primary"];
        let start = primary["start_byte"].as_u64().unwrap() as usize;
        let end = primary["end_byte"].as_u64().unwrap() as usize;
        assert_eq!(&text[start..end], "matchArg");

        let mut map = SourceMap::new();
        let file = map.add("n.yaml", "name: \"d\u{e9}j\u{e0}\" # bad\n");
        let diag = Diagnostic::error(Code::InvalidName, "bad name")
            .with_primary(Span::new(file, 17, 20), "");
        let value: serde_json::Value =
            serde_json::from_str(&render(&map, &[diag]).unwrap()).unwrap();
        // `bad` starts at byte 17 and is the 16th character.
        assert_eq!(value["diagnostics"][0]["primary"]["column"], 16);
        assert_eq!(value["diagnostics"][0]["primary"]["end_column"], 19);
        assert_eq!(value["diagnostics"][0]["primary"]["start_byte"], 17);
    }

    #[test]
    fn unknown_file_label_has_no_position() {
        let map = SourceMap::new();
        let diag = Diagnostic::error(Code::WrongType, "lost")
            .with_primary(Span::new(FileId(3), 0, 1), "here");
        let value: serde_json::Value =
            serde_json::from_str(&render(&map, &[diag]).unwrap()).unwrap();
        let label = &value["diagnostics"][0]["labels"][0];
        assert_eq!(label["file"], serde_json::Value::Null);
        assert!(label.get("line").is_none());
        assert_eq!(label["message"], "here");
    }

    #[test]
    fn output_is_deterministic() {
        let (map, diags) = sample();
        assert_eq!(render(&map, &diags).unwrap(), render(&map, &diags).unwrap());
    }
}
