//! Loading every kernel of `../shared/btf` and answering the lookups the
//! Tetragon example corpus needs, timed against `xz -dc` of the same files in
//! the same run. Prints the ratio (target: at most 3×), and the carried-
//! database path's time.
//!
//! Run: `cargo bench -p tpc --bench btf_load`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use tpc::btf::{BtfKernel, CarriedDb, KernelInfo, KernelSelection, PathRoot, load_kernels};

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

/// What the corpus asks of a kernel, scraped line by line from the YAML
/// (`call:`, `hook:`, `subsystem:`/`event:` pairs, `resolve:`).
#[derive(Default)]
struct CorpusQueries {
    calls: Vec<String>,
    hooks: Vec<String>,
    tracepoints: Vec<(String, String)>,
    files: usize,
}

fn scrape(dir: &Path, queries: &mut CorpusQueries) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            scrape(&path, queries);
            continue;
        }
        let name = path.to_string_lossy();
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        queries.files += 1;
        let value = |line: &str, key: &str| {
            line.trim_start()
                .trim_start_matches("- ")
                .strip_prefix(key)
                .map(|rest| rest.trim().trim_matches('"').to_string())
        };
        let mut subsystem = None;
        for line in text.lines() {
            if let Some(call) = value(line, "call:") {
                queries.calls.push(call);
            } else if let Some(hook) = value(line, "hook:") {
                queries.hooks.push(hook);
            } else if let Some(sub) = value(line, "subsystem:") {
                subsystem = Some(sub);
            } else if let (Some(event), Some(sub)) = (value(line, "event:"), subsystem.take()) {
                queries.tracepoints.push((sub, event));
            }
        }
    }
}

fn corpus() -> CorpusQueries {
    let mut queries = CorpusQueries::default();
    scrape(&shared_dir().join("corpus/tetragon"), &mut queries);
    queries
}

/// Every lookup a `tpc check` of the corpus makes, on one kernel.
fn answer(kernel: &dyn KernelInfo, queries: &CorpusQueries) -> usize {
    let mut found = 0;
    for call in &queries.calls {
        if call.starts_with("list:") {
            continue;
        }
        if call.starts_with("sys_") {
            let resolution = kernel.syscall(call);
            found += usize::from(resolution.wrapper.is_some());
        }
        if let Some(sig) = kernel.function(call) {
            found += 1;
            for index in 0..sig.params.len() {
                let _ = tpc::btf::arg_type_compat("int", &sig.params[index].ty);
            }
        }
    }
    for hook in &queries.hooks {
        found += usize::from(kernel.lsm_hook(hook).is_some());
        let _ = kernel.resolve_path(
            PathRoot::Param {
                function: &format!("bpf_lsm_{hook}"),
                index: 0,
            },
            "mm.owner.real_parent.real_parent.comm",
        );
    }
    for (subsystem, event) in &queries.tracepoints {
        found += usize::from(matches!(
            kernel.tracepoint(subsystem, event),
            tpc::btf::TracepointLookup::Found(_)
        ));
    }
    found
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

fn check_all_btf(files: &[PathBuf], queries: &CorpusQueries, parallel: bool) -> usize {
    if parallel {
        let selections: Vec<KernelSelection> = files
            .iter()
            .cloned()
            .map(KernelSelection::BtfFile)
            .collect();
        let kernels = load_kernels(&selections).expect("kernels load");
        kernels
            .iter()
            .map(|kernel| answer(kernel.as_ref(), queries))
            .sum()
    } else {
        files
            .iter()
            .map(|file| {
                let kernel = BtfKernel::from_path(file).expect("kernel loads");
                answer(&kernel, queries)
            })
            .sum()
    }
}

/// Decoding the compiled-in database from scratch (what a fresh `tpc`
/// process does once).
fn decode_carried() -> usize {
    let db = CarriedDb::decode(tpc::btf::db::CARRIED_DB_BYTES).expect("db decodes");
    db.type_count()
}

/// The corpus lookups on every carried kernel (decoded once per process).
fn check_all_carried(queries: &CorpusQueries) -> usize {
    let db = tpc::btf::carried_db().expect("db decodes");
    db.kernels()
        .iter()
        .map(|kernel| answer(kernel, queries))
        .sum()
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn ratio_report() {
    let files = btf_files();
    if files.is_empty() {
        eprintln!("no ../shared/btf/*.btf.xz: nothing to measure");
        return;
    }
    let queries = corpus();
    let xz = (0..3).map(|_| xz_all(&files)).min().unwrap_or_default();
    let sequential = best_of(3, || {
        check_all_btf(&files, &queries, false);
    });
    let parallel = best_of(3, || {
        check_all_btf(&files, &queries, true);
    });
    let decode = best_of(3, || {
        decode_carried();
    });
    let lookups = best_of(3, || {
        check_all_carried(&queries);
    });
    let carried = decode + lookups;
    let answers = check_all_btf(&files, &queries, true);
    println!(
        "corpus: {} policy files, {} calls, {} LSM hooks, {} tracepoints; {} kernels; {answers} positive answers",
        queries.files,
        queries.calls.len(),
        queries.hooks.len(),
        queries.tracepoints.len(),
        files.len()
    );
    println!(
        "xz -dc of the {} BTF files:           {:>8.1} ms",
        files.len(),
        xz.as_secs_f64() * 1e3
    );
    println!(
        "tpc load + corpus lookups, sequential: {:>8.1} ms  ({:.2}x xz -dc)",
        sequential.as_secs_f64() * 1e3,
        sequential.as_secs_f64() / xz.as_secs_f64()
    );
    println!(
        "tpc load + corpus lookups, parallel:   {:>8.1} ms  ({:.2}x xz -dc, {} threads available)",
        parallel.as_secs_f64() * 1e3,
        parallel.as_secs_f64() / xz.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "carried database, all kernels:         {:>8.1} ms  ({:.2}x xz -dc; decode {:.1} ms + lookups {:.1} ms)",
        carried.as_secs_f64() * 1e3,
        carried.as_secs_f64() / xz.as_secs_f64(),
        decode.as_secs_f64() * 1e3,
        lookups.as_secs_f64() * 1e3
    );
}

fn criterion_benches(c: &mut Criterion) {
    let files = btf_files();
    if files.is_empty() {
        return;
    }
    let queries = corpus();
    let mut group = c.benchmark_group("btf");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("load_and_check_all_parallel", |b| {
        b.iter(|| check_all_btf(&files, &queries, true))
    });
    group.bench_function("carried_decode", |b| b.iter(decode_carried));
    group.bench_function("carried_check_all", |b| {
        b.iter(|| check_all_carried(&queries))
    });
    group.finish();
}

criterion_group!(benches, criterion_benches);

fn main() {
    ratio_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
