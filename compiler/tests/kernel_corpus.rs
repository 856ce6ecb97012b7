//! Tetragon's example policies (`../shared/corpus/tetragon`) checked against
//! every kernel, through the carried database (`--kernel all`) and through
//! the six shared BTF files (`--btf ...`): the kernel findings must be
//! exactly the ones written out below, on exactly the kernels named, and the
//! two ways of naming the kernels must agree.
//!
//! What the examples run into: calls that some kernels lack (renamed,
//! inlined or removed), the `specs/` files that are wrong on purpose, and
//! two prototypes that changed (`security_inode_copy_up_xattr` gained a
//! `struct dentry *` first parameter in 6.12; `tty_write` takes a
//! `struct kiocb *` and a `struct iov_iter *` on every kernel here, while
//! `tty_54.yaml` was written for 5.4's `struct file *`, buffer, count). The
//! kernel facts behind every line are checked against bpftool in
//! `kernel_bpftool.rs`.

mod btf_support;
mod common;

use tpc::btf::KernelSelection;
use tpc::diagnostics::Severity;
use tpc::driver::{CheckOptions, KernelRequest, Report};

/// One expected kernel finding: file (relative to the corpus), line, code,
/// severity, message, and the kernels it holds on.
type Expected = (
    &'static str,
    usize,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const ALL: &[&str] = &["5.10", "6.1", "6.1-arm64", "6.12", "6.12-deb12", "6.18"];

const EXPECTED: &[Expected] = &[
    (
        "bpf.yaml",
        27,
        "TPC100",
        "note",
        "kernel function `security_bpf_map_alloc` does not exist",
        &["6.12", "6.12-deb12", "6.18"],
    ),
    (
        "bpf.yaml",
        36,
        "TPC100",
        "note",
        "kernel function `security_bpf_map_create` does not exist",
        &["5.10", "6.1", "6.1-arm64"],
    ),
    (
        "cves/cve-2023-2640-overlayfs-ubuntu.yaml",
        38,
        "TPC103",
        "warning",
        "`type: string` does not match parameter 0 of `security_inode_copy_up_xattr`, which is `struct dentry *`",
        &["6.12", "6.12-deb12", "6.18"],
    ),
    (
        "dev_queue_xmit.yaml",
        8,
        "TPC100",
        "error",
        "kernel function `dev_queue_xmit` does not exist",
        &["6.12", "6.12-deb12"],
    ),
    (
        "host-changes/monitor-kernel-modules.yaml",
        53,
        "TPC100",
        "error",
        "kernel function `do_init_module` does not exist",
        &["6.18"],
    ),
    (
        "host-changes/monitor-kernel-modules.yaml",
        59,
        "TPC100",
        "error",
        "kernel function `free_module` does not exist",
        &["6.18"],
    ),
    (
        "host-changes/monitor-signed-kernel-modules.yaml",
        43,
        "TPC100",
        "error",
        "kernel function `find_module_sections` does not exist",
        ALL,
    ),
    (
        "process-credentials/process-creds-changed.yaml",
        53,
        "TPC100",
        "error",
        "kernel function `override_creds` does not exist",
        &["6.18"],
    ),
    (
        "process-credentials/process-creds-changed.yaml",
        62,
        "TPC100",
        "error",
        "kernel function `revert_creds` does not exist",
        &["6.18"],
    ),
    (
        "specs/notasyscall.yaml",
        7,
        "TPC101",
        "error",
        "`vfs_llseek` is a kernel function, not a syscall, but the hook has `syscall: true`",
        ALL,
    ),
    (
        "specs/syswrongargindex.yaml",
        10,
        "TPC102",
        "error",
        "`index: 100` is out of range: syscall `lseek` has 3 arguments",
        ALL,
    ),
    (
        "specs/syswrongargtype.yaml",
        11,
        "TPC103",
        "warning",
        "`type: string` does not match argument 0 of syscall `lseek`, which is `unsigned int`",
        ALL,
    ),
    (
        "specs/wrongargindex.yaml",
        10,
        "TPC102",
        "error",
        "`index: 100` is out of range: `vfs_llseek` has 3 parameters",
        ALL,
    ),
    (
        "specs/wrongargtype.yaml",
        11,
        "TPC103",
        "warning",
        "`type: string` does not match parameter 0 of `vfs_llseek`, which is `struct file *`",
        ALL,
    ),
    (
        "stack_traces.yaml",
        7,
        "TPC100",
        "error",
        "kernel function `kfree_skb_reason` does not exist",
        &["5.10", "6.12", "6.12-deb12", "6.18"],
    ),
    (
        "tty_54.yaml",
        11,
        "TPC103",
        "warning",
        "`type: file` does not match parameter 0 of `tty_write`, which is `struct kiocb *`",
        ALL,
    ),
    (
        "tty_54.yaml",
        13,
        "TPC103",
        "warning",
        "`type: char_buf` does not match parameter 1 of `tty_write`, which is `struct iov_iter *`",
        ALL,
    ),
    (
        "tty_54.yaml",
        15,
        "TPC102",
        "error",
        "`index: 2` is out of range: `tty_write` has 2 parameters",
        ALL,
    ),
];

fn corpus_sources() -> Option<Vec<(String, String)>> {
    let dir = common::shared_dir().join("corpus/tetragon");
    if !btf_support::require(dir.is_dir(), "../shared/corpus/tetragon") {
        return None;
    }
    let files = common::yaml_files(&dir);
    Some(
        files
            .into_iter()
            .map(|path| {
                let name = path
                    .strip_prefix(&dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path).expect("corpus file readable");
                (name, text)
            })
            .collect(),
    )
}

fn check(sources: Vec<(String, String)>, selections: Vec<KernelSelection>) -> Report {
    tpc::driver::check_sources_with(
        sources,
        &CheckOptions {
            kernels: KernelRequest::Selected(selections),
            host_checks: false,
            ..CheckOptions::default()
        },
    )
}

/// The kernel findings of a report as comparable rows, and every other
/// finding's code and file.
/// A finding as compared: file, line, code, severity, message, kernels.
type Row = (String, usize, String, String, String, Vec<String>);

fn findings(report: &Report) -> (Vec<Row>, Vec<String>) {
    let mut kernel_rows = Vec::new();
    let mut others = Vec::new();
    for diagnostic in &report.diagnostics {
        let span = diagnostic
            .primary_span()
            .expect("every corpus finding has a location");
        let file = report.sources.get(span.file).expect("known file");
        let (line, _) = file.line_col(span.start);
        match &diagnostic.kernels {
            Some(scope) => {
                let severity = match diagnostic.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Note => "note",
                };
                let mut affected = scope.affected.clone();
                affected.sort_by_key(|label| ALL.iter().position(|known| known == label));
                let mut checked: Vec<&String> = scope.affected.iter().chain(&scope.fine).collect();
                checked.sort();
                assert_eq!(
                    checked.len(),
                    ALL.len(),
                    "{}: affected + fine must be every kernel",
                    diagnostic.message
                );
                kernel_rows.push((
                    file.name.to_string(),
                    line,
                    diagnostic.code.as_str().to_string(),
                    severity.to_string(),
                    diagnostic.message.clone(),
                    affected,
                ));
            }
            None => others.push(format!("{} {}", file.name, diagnostic.code.as_str())),
        }
    }
    (kernel_rows, others)
}

fn expected_rows() -> Vec<Row> {
    EXPECTED
        .iter()
        .map(|(file, line, code, severity, message, kernels)| {
            (
                (*file).to_string(),
                *line,
                (*code).to_string(),
                (*severity).to_string(),
                (*message).to_string(),
                kernels.iter().map(|k| (*k).to_string()).collect(),
            )
        })
        .collect()
}

fn assert_expected(report: &Report, sources: &[(String, String)]) {
    let labels: Vec<&str> = report.kernels.iter().map(|k| k.label.as_str()).collect();
    assert_eq!(labels, ALL, "kernel labels, in version order");
    let (rows, others) = findings(report);
    let expected = expected_rows();
    for row in &rows {
        assert!(expected.contains(row), "unexpected kernel finding: {row:?}");
    }
    for row in &expected {
        assert!(
            rows.contains(row),
            "missing kernel finding: {row:?}\ngot: {rows:#?}"
        );
    }
    assert_eq!(rows.len(), expected.len());
    // Everything else is exactly what the kernel-independent checks find.
    let base = tpc::driver::check_sources(sources.to_vec());
    let (base_rows, base_others) = findings(&base);
    assert!(
        base_rows.is_empty(),
        "kernel findings without a kernel: {base_rows:?}"
    );
    // Kernel findings replace kernel-independent ones with the same code on
    // the same call (they say the same, per kernel); nothing else changes.
    for other in &others {
        assert!(
            base_others.contains(other),
            "new kernel-independent finding: {other}"
        );
    }
    for base in base_others.iter().filter(|b| !others.contains(b)) {
        let (file, code) = base.split_once(' ').expect("`file code`");
        assert!(
            rows.iter().any(|r| r.0 == file && r.2 == code),
            "{base} disappeared without a kernel finding replacing it"
        );
    }
    assert!(
        others.contains(&"specs/testpod.yaml TPC002".to_string()),
        "{others:?}"
    );
}

#[test]
fn corpus_on_the_carried_kernels() {
    let Some(sources) = corpus_sources() else {
        return;
    };
    let report = check(sources.clone(), vec![KernelSelection::AllCarried]);
    assert_expected(&report, &sources);
}

#[test]
fn corpus_on_the_shared_btf_files() {
    let Some(sources) = corpus_sources() else {
        return;
    };
    let files = btf_support::shared_btf_files();
    if !btf_support::require(files.len() == 6, "the six ../shared/btf/*.btf.xz files") {
        return;
    }
    let selections = tpc::driver::kernel_selections(&files, &[]).expect("selections");
    // The dev kernel's tracepoint formats sit beside its BTF.
    assert!(
        selections
            .iter()
            .any(|s| matches!(s, KernelSelection::BtfFileWithFormats { .. })),
        "{selections:?}"
    );
    let report = check(sources.clone(), selections);
    assert_expected(&report, &sources);
}

#[test]
fn ignoring_call_not_found_makes_notes_and_the_rest_errors() {
    let Some(sources) = corpus_sources() else {
        return;
    };
    let report = check(sources, vec![KernelSelection::AllCarried]);
    let bpf: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("security_bpf_map"))
        .collect();
    assert_eq!(bpf.len(), 2);
    for diagnostic in bpf {
        assert_eq!(diagnostic.severity, Severity::Note);
        assert!(
            diagnostic
                .notes
                .iter()
                .any(|n| n.contains("ignore: {callNotFound: true}")),
            "{diagnostic:?}"
        );
    }
    // Without `ignore`, the same kind of finding is an error.
    let stack = report
        .diagnostics
        .iter()
        .find(|d| d.message.contains("kfree_skb_reason"))
        .expect("kfree_skb_reason finding");
    assert_eq!(stack.severity, Severity::Error);
}
