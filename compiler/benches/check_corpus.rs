//! Benchmark: `tpc check` (frontend + every kernel-independent check) over
//! Tetragon's example policies in `../shared/corpus/tetragon`, reported by
//! criterion as policies per second (throughput in elements).
//!
//! Run: `cargo bench -p tpc --bench check_corpus`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::PathBuf;

fn corpus() -> Vec<(String, String)> {
    let shared = std::env::var_os("TPC_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    let mut files = Vec::new();
    tpc::driver::collect_policy_files(&shared.join("corpus/tetragon"), &mut files)
        .expect("corpus readable");
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            (p.display().to_string(), text)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let sources = corpus();
    let policies = tpc::driver::check_sources(sources.clone()).policies.len();
    let mut group = c.benchmark_group("check");
    group.throughput(Throughput::Elements(policies as u64));
    group.bench_function(
        format!("corpus ({} files, {policies} policies)", sources.len()),
        |b| b.iter(|| tpc::driver::check_sources(sources.clone())),
    );
    group.finish();
    // A plain figure as well, measured outside criterion.
    let rounds = 50;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(tpc::driver::check_sources(sources.clone()));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "tpc check: {:.0} policies/s ({} policies x {rounds} rounds in {secs:.3}s)",
        (policies * rounds) as f64 / secs,
        policies
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
