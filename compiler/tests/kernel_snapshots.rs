//! Snapshot tests of the kernel checks: every policy under
//! `fixtures/policies/kernel/` is checked against every carried kernel
//! (`--kernel all`, so the result is the same on any machine), must report
//! the codes its `# expect:` lines announce, and its rendered findings are
//! an insta snapshot named `kernel__<fixture>` in `fixtures/snapshots/`.
//! A leading `# tetragon: VERSION` comment applies that release's rules.

mod common;

use common::{relative, repo_root, yaml_files};
use std::collections::BTreeSet;
use tpc::btf::KernelSelection;
use tpc::diagnostics::render;
use tpc::driver::{CheckOptions, KernelRequest, Report};

fn check(path: &std::path::Path) -> (Report, String) {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let tetragon = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("# tetragon:"))
        .map(|v| tpc::tetragon::TetragonVersion::parse(v).expect("a known Tetragon version"))
        .unwrap_or_default();
    let report = tpc::driver::check_sources_with(
        vec![(relative(path), text)],
        &CheckOptions {
            kernels: KernelRequest::Selected(vec![KernelSelection::AllCarried]),
            host_checks: false,
            rsp_strategy: None,
            tetragon,
            ..CheckOptions::default()
        },
    );
    let options = render::human::HumanOptions {
        color: false,
        unicode: true,
        width: 100,
    };
    let mut out = render::human::render(&report.sources, &report.diagnostics, &options);
    out.push_str(&render::summary_line(report.files, report.tally()));
    (report, out)
}

fn expected_codes(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    text.lines()
        .take_while(|line| line.starts_with('#'))
        .filter_map(|line| line.strip_prefix("# expect:"))
        .flat_map(|rest| {
            rest.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|word| word.starts_with("TPC"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn kernel_fixtures_report_their_findings() {
    let base = repo_root().join("fixtures/policies/kernel");
    let files = yaml_files(&base);
    assert!(
        files.len() >= 10,
        "expected at least 10 kernel fixtures, found {}",
        files.len()
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("fixtures/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    let mut problems = Vec::new();
    let mut kernel_findings = 0;
    let mut partial = 0;
    let mut kernels_hit = BTreeSet::new();
    for path in &files {
        let expected = expected_codes(path);
        if expected.is_empty() {
            problems.push(format!("{}: no `# expect: TPCnnn` line", relative(path)));
        }
        let (report, rendered) = check(path);
        let text = std::fs::read_to_string(path).expect("fixture readable");
        let independent = tpc::driver::check_sources(vec![(relative(path), text)]).diagnostics;
        let got: Vec<&str> = report.diagnostics.iter().map(|d| d.code.as_str()).collect();
        for code in &expected {
            if !got.contains(&code.as_str()) {
                problems.push(format!("{}: expected {code}, got {got:?}", relative(path)));
            }
        }
        for diagnostic in &report.diagnostics {
            let Some(scope) = &diagnostic.kernels else {
                // Kernel-independent findings may show up too (those found
                // without any kernel); every kernel finding names its kernels.
                if independent.iter().any(|d| d == diagnostic) {
                    continue;
                }
                problems.push(format!(
                    "{}: {} has no kernel scope",
                    relative(path),
                    diagnostic.message
                ));
                continue;
            };
            kernel_findings += 1;
            if !scope.fine.is_empty() {
                partial += 1;
            }
            kernels_hit.extend(scope.affected.iter().cloned());
            if diagnostic.primary_span().is_none() {
                problems.push(format!(
                    "{}: {} has no label",
                    relative(path),
                    diagnostic.message
                ));
            }
        }
        let stem = path
            .file_stem()
            .expect("named")
            .to_string_lossy()
            .into_owned();
        settings.bind(|| insta::assert_snapshot!(format!("kernel__{stem}"), rendered));
    }
    assert!(
        problems.is_empty(),
        "fixture problems:\n{}",
        problems.join("\n")
    );
    assert!(
        kernel_findings >= 20,
        "only {kernel_findings} kernel findings"
    );
    assert!(
        partial >= 5,
        "only {partial} findings hold on some kernels but not others"
    );
    assert!(kernels_hit.len() >= 3, "findings on {kernels_hit:?}");
}

/// Policies Tetragon loads on every carried kernel (`fixtures/policies/kernel-ok/`)
/// must not draw an error or a warning from the kernel checks: each was
/// once refused by `tpc check` although Tetragon's loader accepts it. Notes
/// are allowed.
#[test]
fn kernel_ok_fixtures_are_clean_on_every_carried_kernel() {
    let base = repo_root().join("fixtures/policies/kernel-ok");
    let files = yaml_files(&base);
    assert!(
        !files.is_empty(),
        "expected kernel-ok fixtures, found {}",
        files.len()
    );
    let mut problems = Vec::new();
    for path in &files {
        let (report, rendered) = check(path);
        let tally = report.tally();
        if tally.errors != 0 || tally.warnings != 0 || report.policies.is_empty() {
            problems.push(rendered);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
