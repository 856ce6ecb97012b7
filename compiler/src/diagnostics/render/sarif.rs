//! SARIF 2.1.0 output, built from `serde-sarif`'s types, for GitHub code
//! scanning and other SARIF viewers.
//!
//! One run, tool driver `tpc` with the crate version. `rules` lists the codes
//! that occur, sorted by code; each result names its rule by `ruleId` and
//! `ruleIndex`. The primary label is the result's location, secondary labels
//! are `relatedLocations`. Columns are UTF-16 code units (SARIF's default
//! `columnKind`, stated explicitly in the run) so that viewers which ignore
//! `columnKind` still land on the right character. Relative paths get
//! `uriBaseId` `%SRCROOT%`; absolute paths become `file://` URIs.
//!
//! Code scanning shows only the message, so the message text also carries
//! the kernel scope, help and notes; the kernel scope is repeated as a
//! machine-readable `kernels` property. A diagnostic without labels has no
//! location (some consumers, GitHub among them, may not show such results).

use std::collections::BTreeMap;

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag,
    Region, ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run,
    Sarif, Tool, ToolComponent,
};

use super::{
    RenderError, ResolvedSpan, dedup_sorted, documentation_text, kernel_scope_text, resolve,
};
use crate::diagnostics::{Code, Diagnostic, Label, Severity};
use crate::span::SourceMap;

/// The `$schema` the document declares.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Base id for relative artifact paths (the checkout root in CI).
pub const SRCROOT: &str = "%SRCROOT%";

/// Renders all diagnostics as one SARIF 2.1.0 log (pretty-printed, ending in
/// a newline).
pub fn render(map: &SourceMap, diags: &[Diagnostic]) -> Result<String, RenderError> {
    let mut text = serde_json::to_string_pretty(&build(map, diags)).map_err(|source| {
        RenderError::Serialize {
            format: "sarif",
            source,
        }
    })?;
    text.push('\n');
    Ok(text)
}

/// The SARIF log as `serde-sarif` values, for callers that want to merge or
/// inspect it before writing.
pub fn build(map: &SourceMap, diags: &[Diagnostic]) -> Sarif {
    let mut codes: Vec<Code> = diags.iter().map(|diag| diag.code).collect();
    codes.sort();
    codes.dedup();

    let driver = ToolComponent::builder()
        .name("tpc")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(codes.iter().map(|code| rule(*code)).collect::<Vec<_>>())
        .build();
    let results: Vec<SarifResult> = diags
        .iter()
        .map(|diag| {
            let rule_index = codes.binary_search(&diag.code).unwrap_or(0);
            result(map, diag, rule_index)
        })
        .collect();
    let run = Run::builder()
        .tool(Tool::from(driver))
        .column_kind(json!("utf16CodeUnits"))
        .results(results)
        .build();
    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn rule(code: Code) -> ReportingDescriptor {
    let documentation = documentation_text(code);
    ReportingDescriptor::builder()
        .id(code.as_str())
        .name(code.name())
        .short_description(text_only(code.summary().to_string()))
        .full_description(text_only(documentation.clone()))
        .help(text_only(documentation))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level(code.default_severity())))
                .build(),
        )
        .build()
}

fn text_only(text: String) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(text).build()
}

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
        Severity::Note => ResultLevel::Note,
    }
}

fn result(map: &SourceMap, diag: &Diagnostic, rule_index: usize) -> SarifResult {
    // The primary label, or the first label when none is marked primary
    // (the same choice as `Diagnostic::primary_span`).
    let primary_index = diag
        .labels
        .iter()
        .position(|label| label.primary)
        .or((!diag.labels.is_empty()).then_some(0));
    let locations: Vec<Location> = primary_index
        .and_then(|index| diag.labels.get(index))
        .and_then(|label| location(map, label))
        .into_iter()
        .collect();
    let related: Vec<Location> = diag
        .labels
        .iter()
        .enumerate()
        .filter(|(index, _)| Some(*index) != primary_index)
        .filter_map(|(_, label)| location(map, label))
        .enumerate()
        .map(|(id, mut location)| {
            location.id = i64::try_from(id).ok();
            location
        })
        .collect();

    let builder = SarifResult::builder()
        .rule_id(diag.code.as_str())
        .rule_index(i64::try_from(rule_index).unwrap_or(0))
        .level(level(diag.severity))
        .message(Message::builder().text(message_text(diag)).build());
    let mut result = builder.build();
    if !locations.is_empty() {
        result.locations = Some(locations);
    }
    if !related.is_empty() {
        result.related_locations = Some(related);
    }
    if let Some(scope) = &diag.kernels {
        let mut properties = BTreeMap::new();
        properties.insert(
            "kernels".to_string(),
            json!({
                "affected": dedup_sorted(&scope.affected),
                "fine": dedup_sorted(&scope.fine),
            }),
        );
        result.properties = Some(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        );
    }
    result
}

/// The message plus what a viewer showing only the message would miss.
fn message_text(diag: &Diagnostic) -> String {
    let mut text = diag.message.clone();
    if let Some(scope) = &diag.kernels {
        text.push_str(&format!(" ({})", kernel_scope_text(scope)));
    }
    if let Some(help) = &diag.help {
        text.push_str(&format!("\nhelp: {help}"));
    }
    for note in &diag.notes {
        text.push_str(&format!("\nnote: {note}"));
    }
    text
}

fn location(map: &SourceMap, label: &Label) -> Option<Location> {
    let at = resolve(map, label.span)?;
    let physical = PhysicalLocation::builder()
        .artifact_location(artifact(&at.file.name))
        .region(region(&at))
        .build();
    let mut location = Location::builder().physical_location(physical).build();
    location.message = label
        .message
        .as_ref()
        .map(|text| Message::builder().text(text.clone()).build());
    Some(location)
}

fn region(at: &ResolvedSpan<'_>) -> Region {
    Region::builder()
        .start_line(to_i64(at.start.line))
        .start_column(to_i64(at.start.utf16_column))
        .end_line(to_i64(at.end.line))
        .end_column(to_i64(at.end.utf16_column))
        .build()
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `policies/a b.yaml` → `policies/a%20b.yaml` relative to `%SRCROOT%`;
/// `/abs/x.yaml` and `C:\x.yaml` → `file:///abs/x.yaml`, `file:///C:/x.yaml`.
fn artifact(path: &str) -> ArtifactLocation {
    let mut slashed = path.replace('\\', "/");
    while let Some(rest) = slashed.strip_prefix("./") {
        slashed = rest.to_string();
    }
    let bytes = slashed.as_bytes();
    let has_drive =
        bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/';
    if slashed.starts_with('/') || has_drive {
        let rooted = if has_drive {
            format!("/{slashed}")
        } else {
            slashed
        };
        ArtifactLocation::builder()
            .uri(format!("file://{}", percent_encode(&rooted, true)))
            .build()
    } else {
        ArtifactLocation::builder()
            .uri(percent_encode(&slashed, false))
            .uri_base_id(SRCROOT)
            .build()
    }
}

/// Percent-encodes what may not appear in a URI path. `:` is kept only in
/// absolute paths: in a relative reference it could read as a scheme.
fn percent_encode(path: &str, keep_colon: bool) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || b"-._~/!$&'()*+,;=@".contains(&byte)
            || (keep_colon && byte == b':');
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly on a missing value"
)]
mod tests {
    use super::super::test_support::{sample, span_of};
    use super::*;
    use serde_json::Value;

    fn rendered(map: &SourceMap, diags: &[Diagnostic]) -> String {
        render(map, diags).unwrap()
    }

    #[test]
    fn sarif_snapshot() {
        let (map, diags) = sample();
        let text = rendered(&map, &diags).replace(env!("CARGO_PKG_VERSION"), "[version]");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn round_trips_through_the_strict_model() {
        let (map, diags) = sample();
        let text = rendered(&map, &diags);
        let parsed: Sarif = serde_json::from_str(&text).unwrap();
        // The model drops keys it does not know: a lossless round trip means
        // every key we wrote is a SARIF property (or sits in a property bag).
        let original: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), original);
        assert_eq!(parsed.version, json!("2.1.0"));
        assert_eq!(parsed.schema.as_deref(), Some(SCHEMA_URI));
        assert_eq!(parsed.runs.len(), 1);
        let run = &parsed.runs[0];
        assert_eq!(run.tool.driver.name, "tpc");
        assert_eq!(
            run.tool.driver.version.as_deref(),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(run.column_kind, Some(json!("utf16CodeUnits")));
        let rules = run.tool.driver.rules.as_ref().unwrap();
        let rule_ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(rule_ids, ["TPC002", "TPC003"]);
        assert_eq!(rules[1].name.as_deref(), Some("unknown-field"));
        assert_eq!(
            rules[1].short_description.as_ref().unwrap().text,
            Code::UnknownField.summary()
        );
        assert_eq!(
            rules[1].default_configuration.as_ref().unwrap().level,
            Some(json!("error"))
        );
        let results = run.results.as_ref().unwrap();
        assert_eq!(results.len(), 3);
        for result in results {
            let index = usize::try_from(result.rule_index.unwrap()).unwrap();
            assert_eq!(result.rule_id.as_deref(), Some(rules[index].id.as_str()));
        }
        assert_eq!(results[0].level, Some(ResultLevel::Error));
        assert_eq!(results[1].level, Some(ResultLevel::Warning));
        assert_eq!(results[2].level, Some(ResultLevel::Note));
        // The label-less note has no location.
        assert!(results[2].locations.is_none());
    }

    #[test]
    fn document_has_schema_and_version_keys() {
        let (map, diags) = sample();
        let value: Value = serde_json::from_str(&rendered(&map, &diags)).unwrap();
        assert_eq!(value["version"], "2.1.0");
        assert_eq!(value["$schema"], SCHEMA_URI);
        assert_eq!(value["runs"][0]["columnKind"], "utf16CodeUnits");
    }

    #[test]
    fn regions_land_on_the_right_line_after_non_ascii_text() {
        let mut map = SourceMap::new();
        // Line 3 has a two-byte 'é' and a four-byte '😀' (two UTF-16 units)
        // before the labelled token.
        let source = "kind: TracingPolicy\nmetadata:\n  name: \"é😀\" # badname\nspec: {}\n";
        let file = map.add("policies\\sub dir\\p.yaml", source);
        let diag = Diagnostic::error(Code::InvalidName, "bad name")
            .with_primary(span_of(&map, file, "badname"), "this one")
            .with_secondary(span_of(&map, file, "metadata"), "under here")
            .with_kernels(crate::diagnostics::KernelScope {
                affected: vec!["5.10".into()],
                fine: vec!["6.1".into()],
            });
        let parsed: Sarif = serde_json::from_str(&rendered(&map, &[diag])).unwrap();
        let result = &parsed.runs[0].results.as_ref().unwrap()[0];
        let primary = &result.locations.as_ref().unwrap()[0];
        let physical = primary.physical_location.as_ref().unwrap();
        let artifact = physical.artifact_location.as_ref().unwrap();
        assert_eq!(artifact.uri.as_deref(), Some("policies/sub%20dir/p.yaml"));
        assert_eq!(artifact.uri_base_id.as_deref(), Some(SRCROOT));
        let region = physical.region.as_ref().unwrap();
        // `  name: "é😀" # badname`: `b` is character 16 but UTF-16 unit 17
        // (the emoji takes two units); the end is just past `badname`.
        assert_eq!(region.start_line, Some(3));
        assert_eq!(region.start_column, Some(17));
        assert_eq!(region.end_line, Some(3));
        assert_eq!(region.end_column, Some(24));
        assert_eq!(
            primary.message.as_ref().unwrap().text.as_deref(),
            Some("this one")
        );
        let related = &result.related_locations.as_ref().unwrap()[0];
        let related_region = related
            .physical_location
            .as_ref()
            .unwrap()
            .region
            .as_ref()
            .unwrap();
        assert_eq!(related_region.start_line, Some(2));
        assert_eq!(related_region.start_column, Some(1));
        assert_eq!(
            related.message.as_ref().unwrap().text.as_deref(),
            Some("under here")
        );
        // Kernel scope in the message and in the property bag.
        let text = result.message.text.as_deref().unwrap();
        assert_eq!(text, "bad name (on kernel 5.10; fine on 6.1)");
        let properties = result.properties.as_ref().unwrap();
        assert_eq!(
            properties.additional_properties["kernels"],
            json!({ "affected": ["5.10"], "fine": ["6.1"] })
        );
    }

    #[test]
    fn empty_run_still_lists_results() {
        let map = SourceMap::new();
        let value: Value = serde_json::from_str(&rendered(&map, &[])).unwrap();
        assert_eq!(value["runs"][0]["results"], json!([]));
        assert_eq!(value["runs"][0]["tool"]["driver"]["rules"], json!([]));
    }

    #[test]
    fn artifact_uris() {
        let uri = |path: &str| {
            let location = artifact(path);
            (location.uri.unwrap(), location.uri_base_id)
        };
        assert_eq!(uri("./p/x.yaml"), ("p/x.yaml".into(), Some(SRCROOT.into())));
        assert_eq!(uri("a:b.yaml"), ("a%3Ab.yaml".into(), Some(SRCROOT.into())));
        assert_eq!(
            uri("/etc/tpc/x.yaml"),
            ("file:///etc/tpc/x.yaml".into(), None)
        );
        assert_eq!(uri("C:\\p\\x.yaml"), ("file:///C:/p/x.yaml".into(), None));
        assert_eq!(
            uri("p/d\u{e9}.yaml"),
            ("p/d%C3%A9.yaml".into(), Some(SRCROOT.into()))
        );
    }
}
