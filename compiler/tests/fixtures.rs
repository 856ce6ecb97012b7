//! Fixture-driven snapshot tests: every policy under `fixtures/policies/err/`
//! must produce the diagnostic its first line announces (`# expect: TPCnnn`),
//! and its rendered diagnostics are an insta snapshot named after the stage
//! (`check`) and the fixture. Every policy under `fixtures/policies/ok/` must
//! check clean. A leading `# tetragon: VERSION` comment checks the fixture
//! with that release's rules (`tpc check --tetragon`). New fixtures are
//! picked up without code changes.

mod common;

use common::{relative, repo_root, yaml_files};
use tpc::diagnostics::{Severity, render};
use tpc::tetragon::TetragonVersion;

fn render_for_snapshot(path: &std::path::Path) -> (tpc::driver::Report, String) {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let tetragon = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("# tetragon:"))
        .map(|v| TetragonVersion::parse(v).expect("a known Tetragon version"))
        .unwrap_or_default();
    let options = tpc::driver::CheckOptions {
        tetragon,
        ..tpc::driver::CheckOptions::default()
    };
    let report = tpc::driver::check_sources_with(vec![(relative(path), text)], &options);
    let opts = render::human::HumanOptions {
        color: false,
        unicode: true,
        width: 100,
    };
    let mut out = render::human::render(&report.sources, &report.diagnostics, &opts);
    out.push_str(&render::summary_line(report.files, report.tally()));
    (report, out)
}

/// The codes announced by the fixture's leading `# expect:` comments.
fn expected_codes(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# expect:"))
        .flat_map(|rest| {
            rest.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.starts_with("TPC"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn snapshot_name(path: &std::path::Path, base: &std::path::Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path).with_extension("");
    format!(
        "check__{}",
        rel.to_string_lossy().replace(['/', '\\'], "__")
    )
}

#[test]
fn error_fixtures_report_their_mistake() {
    let base = repo_root().join("fixtures/policies/err");
    let files = yaml_files(&base);
    assert!(
        files.len() >= 40,
        "expected at least 40 error fixtures, found {}",
        files.len()
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("fixtures/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    let mut problems = Vec::new();
    for path in &files {
        let expected = expected_codes(path);
        if expected.is_empty() {
            problems.push(format!("{}: no `# expect: TPCnnn` line", relative(path)));
            continue;
        }
        let (report, rendered) = render_for_snapshot(path);
        let got: Vec<&str> = report.diagnostics.iter().map(|d| d.code.as_str()).collect();
        for code in &expected {
            if !got.contains(&code.as_str()) {
                problems.push(format!("{}: expected {code}, got {got:?}", relative(path)));
            }
        }
        for d in &report.diagnostics {
            let span = d.primary_span();
            if span.is_none() {
                problems.push(format!(
                    "{}: {} has no label",
                    relative(path),
                    d.code.as_str()
                ));
            }
        }
        if !report
            .diagnostics
            .iter()
            .any(|d| d.severity >= Severity::Warning)
        {
            problems.push(format!("{}: no error or warning at all", relative(path)));
        }
        settings.bind(|| insta::assert_snapshot!(snapshot_name(path, &base), rendered));
    }
    assert!(
        problems.is_empty(),
        "fixture problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn ok_fixtures_check_clean() {
    let base = repo_root().join("fixtures/policies/ok");
    let files = yaml_files(&base);
    assert!(!files.is_empty(), "no ok fixtures");
    for path in &files {
        let (report, rendered) = render_for_snapshot(path);
        let t = report.tally();
        assert!(
            t.errors == 0 && t.warnings == 0,
            "{} should be clean:\n{rendered}",
            relative(path)
        );
        assert!(
            !report.policies.is_empty(),
            "{} holds no policy",
            relative(path)
        );
    }
}

/// `tpc check` keeps only findings (`findings_only`: each policy's IR is
/// dropped once checked); every fixture, checked as one run, gets the same
/// findings as when the IR is kept, the cross-file ones included.
#[test]
fn dropping_the_ir_changes_no_finding() {
    let sources = every_fixture();
    let run = |findings_only: bool| {
        let options = tpc::driver::CheckOptions {
            findings_only,
            ..tpc::driver::CheckOptions::default()
        };
        tpc::driver::check_sources_with(sources.clone(), &options)
    };
    let kept = run(false);
    let dropped = run(true);
    assert!(kept.policies.len() > 100, "{}", kept.policies.len());
    // only what template bindings made is kept
    assert!(dropped.policies.len() < kept.policies.len() / 10);
    assert!(dropped.converted.is_empty() && !kept.converted.is_empty());
    assert_eq!(kept.rsp_choice, dropped.rsp_choice);
    assert_eq!(kept.diagnostics, dropped.diagnostics);
    let duplicates = |severity: Severity| {
        dropped
            .diagnostics
            .iter()
            .filter(|d| d.code == tpc::diagnostics::Code::DuplicatePolicyName)
            .filter(|d| d.severity == severity)
            .count()
    };
    // in one file and across files
    assert!(duplicates(Severity::Error) > 0);
    assert!(duplicates(Severity::Warning) > 0);
}

/// Every fixture and example, as the sources of one run.
fn every_fixture() -> Vec<(String, String)> {
    let mut files = yaml_files(&repo_root().join("fixtures/policies"));
    files.extend(yaml_files(&repo_root().join("examples")));
    files
        .iter()
        .map(|path| {
            (
                relative(path),
                std::fs::read_to_string(path).expect("fixture readable"),
            )
        })
        .collect()
}

/// The kernel checks run on each policy as it is parsed, file by file, and
/// `tpc check` then drops its IR: every fixture, checked as one run on
/// several carried kernels, gets exactly the findings (kernel groups and
/// order included) of checking every kept policy on each kernel at once
/// once all were parsed, and the same kernel matrix as when the IR is kept.
#[test]
fn streamed_kernel_checks_change_no_finding() {
    use tpc::btf::KernelSelection;
    use tpc::driver::{CheckOptions, KernelRequest, KernelSet};
    let sources = every_fixture();
    let kernels = KernelRequest::Selected(
        ["6.18", "5.10", "6.1-arm64", "6.1", "6.12"]
            .map(|name| KernelSelection::Carried(name.to_string()))
            .to_vec(),
    );
    // Named, so that the run without kernels lowers RuntimeSecurityPolicy
    // documents as the runs with them do.
    let rsp_strategy = Some(tpc::front::rsp::strategy::Strategy::KprobeOverride);
    let run = |kernels: &KernelRequest, findings_only: bool| {
        let options = CheckOptions {
            kernels: kernels.clone(),
            rsp_strategy,
            findings_only,
            ..CheckOptions::default()
        };
        tpc::driver::check_sources_with(sources.clone(), &options)
    };
    let streamed = run(&kernels, true);
    let kept = run(&kernels, false);

    // All policies first, then every kernel on all of them at once.
    let mut at_once = run(&KernelRequest::Skip, false);
    let set = KernelSet::load(&kernels);
    let mut found = set.findings();
    for loaded in &at_once.policies {
        set.check(&loaded.policy, TetragonVersion::default(), &mut found);
    }
    let grouped = found.merge_with(&mut at_once.diagnostics);
    at_once.diagnostics.extend(grouped);
    tpc::diagnostics::sort_and_dedup(&mut at_once.diagnostics);

    let labels: Vec<&str> = streamed.kernels.iter().map(|k| k.label.as_str()).collect();
    assert_eq!(labels, ["5.10", "6.1", "6.1-arm64", "6.12", "6.18"][..]);
    assert_eq!(streamed.kernels, set.kernels().cloned().collect::<Vec<_>>());
    assert!(streamed.policies.len() < at_once.policies.len() / 10);
    assert_eq!(streamed.checked.len(), at_once.policies.len());
    assert_eq!(streamed.diagnostics, at_once.diagnostics);
    assert_eq!(streamed.diagnostics, kept.diagnostics);
    assert_eq!(streamed.kernel_matrix(), kept.kernel_matrix());
    let rows = streamed.kernel_matrix().expect("kernels ran").rows;
    assert_eq!(rows.len(), kept.policies.len());
    // findings that hold on some kernels, merged over several
    let scoped = |d: &&tpc::diagnostics::Diagnostic| {
        d.kernels
            .as_ref()
            .is_some_and(|scope| scope.affected.len() > 1 && !scope.fine.is_empty())
    };
    assert!(streamed.diagnostics.iter().filter(scoped).count() > 10);
}
