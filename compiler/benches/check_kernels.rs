//! `tpc check` of Tetragon's whole example corpus against every kernel in
//! `../shared/btf` (the `.btf.xz` files: tpc's own decompression, parsing
//! and indexing included), timed against `xz -dc` of those same files in the
//! same run, and printed as a ratio (target: at most 3×). Also times the
//! carried-kernel path (`--kernel all`), in process (database decoded once
//! per process, so a fresh decode is timed separately) and as a fresh `tpc`
//! process, like a CI job runs it.
//!
//! Run: `cargo bench -p tpc --bench check_kernels`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use tpc::btf::KernelSelection;
use tpc::driver::{CheckOptions, KernelRequest, Report};

fn shared_dir() -> PathBuf {
    std::env::var_os("TPC_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn btf_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared_dir().join("btf"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|path| path.to_string_lossy().ends_with(".btf.xz"));
    files.sort();
    files
}

fn corpus_dir() -> PathBuf {
    shared_dir().join("corpus/tetragon")
}

fn corpus() -> Vec<(String, String)> {
    let mut files = Vec::new();
    tpc::driver::collect_policy_files(&corpus_dir(), &mut files).expect("corpus readable");
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable");
            (path.display().to_string(), text)
        })
        .collect()
}

fn check(sources: &[(String, String)], selections: Vec<KernelSelection>) -> Report {
    tpc::driver::check_sources_with(
        sources.to_vec(),
        &CheckOptions {
            kernels: KernelRequest::Selected(selections),
            host_checks: false,
            ..CheckOptions::default()
        },
    )
}

fn xz_all(files: &[PathBuf]) -> Duration {
    let start = Instant::now();
    for file in files {
        let status = Command::new("xz")
            .arg("-dc")
            .arg(file)
            .stdout(Stdio::null())
            .status()
            .expect("xz runs");
        assert!(status.success());
    }
    start.elapsed()
}

fn best_of(runs: usize, mut run: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// One `tpc check` process (stdout discarded; exit 1 is expected: the corpus
/// has findings).
fn tpc_process(args: &[String], corpus: &Path) -> Duration {
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_tpc"))
        .arg("check")
        .args(args)
        .args(["--no-host-checks", "--format", "short"])
        .arg(corpus)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("tpc runs");
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "tpc check failed: {status}"
    );
    start.elapsed()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn ratio_report() {
    let files = btf_files();
    if files.is_empty() || !corpus_dir().is_dir() {
        eprintln!("no ../shared/btf/*.btf.xz or corpus: nothing to measure");
        return;
    }
    let sources = corpus();
    let with_formats = tpc::driver::kernel_selections(&files, &[]).expect("selections");
    let btf_only: Vec<KernelSelection> = files
        .iter()
        .cloned()
        .map(KernelSelection::BtfFile)
        .collect();
    let report = check(&sources, with_formats.clone());
    let runs = 5;
    let xz = (0..runs).map(|_| xz_all(&files)).min().unwrap_or_default();
    let tpc = best_of(runs, || {
        check(&sources, with_formats.clone());
    });
    let tpc_btf_only = best_of(runs, || {
        check(&sources, btf_only.clone());
    });
    let btf_args: Vec<String> = files
        .iter()
        .flat_map(|file| ["--btf".to_string(), file.display().to_string()])
        .collect();
    let tpc_process_btf = (0..runs)
        .map(|_| tpc_process(&btf_args, &corpus_dir()))
        .min()
        .unwrap_or_default();
    let decode = best_of(runs, || {
        tpc::btf::CarriedDb::decode(tpc::btf::db::CARRIED_DB_BYTES).expect("db decodes");
    });
    let carried = best_of(runs, || {
        check(&sources, vec![KernelSelection::AllCarried]);
    });
    let all_args = ["--kernel".to_string(), "all".to_string()];
    let carried_process = (0..runs)
        .map(|_| tpc_process(&all_args, &corpus_dir()))
        .min()
        .unwrap_or_default();
    let xz_ms = ms(xz);
    println!(
        "corpus: {} files, {} policies; {} kernels ({}); {} findings",
        sources.len(),
        report.policies.len(),
        report.kernels.len(),
        report
            .kernels
            .iter()
            .map(|kernel| kernel.label.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        report.diagnostics.len()
    );
    println!(
        "best of {runs} runs, {} threads available",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "xz -dc of the {} BTF files (sequential):          {:>7.1} ms",
        files.len(),
        xz_ms
    );
    println!(
        "tpc check, corpus x {} BTF files (in process):     {:>7.1} ms  ratio {:.2}x  (with the dev kernel's tracepoint formats)",
        files.len(),
        ms(tpc),
        ms(tpc) / xz_ms
    );
    println!(
        "tpc check, corpus x {} BTF files, no formats:      {:>7.1} ms  ratio {:.2}x",
        files.len(),
        ms(tpc_btf_only),
        ms(tpc_btf_only) / xz_ms
    );
    println!(
        "tpc check --btf x{} (a fresh process):             {:>7.1} ms  ratio {:.2}x",
        files.len(),
        ms(tpc_process_btf),
        ms(tpc_process_btf) / xz_ms
    );
    println!(
        "carried path, tpc check --kernel all (process):   {:>7.1} ms  ratio {:.2}x",
        ms(carried_process),
        ms(carried_process) / xz_ms
    );
    println!(
        "carried path in process (database already decoded): {:>5.1} ms; decoding the database: {:.1} ms",
        ms(carried),
        ms(decode)
    );
    let verdict = if ms(tpc_process_btf) / xz_ms <= 3.0 {
        "within"
    } else {
        "OVER"
    };
    println!("target: tpc check --btf at most 3x xz -dc: {verdict}");
}

fn criterion_benches(c: &mut Criterion) {
    let files = btf_files();
    if files.is_empty() || !corpus_dir().is_dir() {
        return;
    }
    let sources = corpus();
    let selections = tpc::driver::kernel_selections(&files, &[]).expect("selections");
    let mut group = c.benchmark_group("check_kernels");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("corpus_x_shared_btf_files", |b| {
        b.iter(|| check(&sources, selections.clone()))
    });
    group.bench_function("corpus_x_carried_kernels", |b| {
        b.iter(|| check(&sources, vec![KernelSelection::AllCarried]))
    });
    group.finish();
}

criterion_group!(benches, criterion_benches);

fn main() {
    ratio_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
