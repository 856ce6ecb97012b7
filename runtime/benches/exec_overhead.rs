//! Benchmark: cost per exec of short processes with and without the base sensor attached, in the same run, printed as a ratio.
//!
//! `cargo bench -p tpc-runtime --bench exec_overhead` (root; `TPC_BENCH_EXECS`
//! sets the execs per phase, 3000 by default). Phases: without, with, without
//! again; the baseline is the mean of the two runs without.

use std::{
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use tpc_runtime::{BaseSensor, SensorOptions};

fn run_execs(count: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..count {
        let status = Command::new("/bin/true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Err(error) = status {
            eprintln!("exec failed: {error}");
        }
    }
    started.elapsed()
}

fn per_exec_micros(elapsed: Duration, count: u64) -> f64 {
    elapsed.as_secs_f64() * 1e6 / count as f64
}

fn main() {
    if !tpc_runtime::objects::embedded() {
        println!(
            "exec_overhead: skipped, built without BPF programs (install clang and libbpf-dev)"
        );
        return;
    }
    let is_root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .map(|line| line.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !is_root {
        println!("exec_overhead: skipped, needs root to load BPF programs");
        return;
    }
    let count: u64 = std::env::var("TPC_BENCH_EXECS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(3000);

    run_execs(count / 10); // warm up caches
    let without_before = run_execs(count);

    let mut sensor = match BaseSensor::start(&SensorOptions::default()) {
        Ok(sensor) => sensor,
        Err(error) => {
            eprintln!("exec_overhead: cannot start the sensor: {error}");
            std::process::exit(1);
        }
    };
    let workload = thread::spawn(move || run_execs(count));
    let mut events = 0u64;
    while !workload.is_finished() {
        if let Err(error) = sensor.poll(Duration::from_millis(50), &mut |_| events += 1) {
            eprintln!("exec_overhead: poll failed: {error}");
            std::process::exit(1);
        }
    }
    let with_sensor = workload.join().unwrap_or_default();
    let summary = match sensor.stop(&mut |_| events += 1) {
        Ok(summary) => summary,
        Err(error) => {
            eprintln!("exec_overhead: stop failed: {error}");
            std::process::exit(1);
        }
    };

    let without_after = run_execs(count);
    let baseline =
        (per_exec_micros(without_before, count) + per_exec_micros(without_after, count)) / 2.0;
    let attached = per_exec_micros(with_sensor, count);
    println!("exec_overhead: {count} execs of /bin/true per phase");
    println!(
        "  without sensor (before): {:.1} µs/exec",
        per_exec_micros(without_before, count)
    );
    println!(
        "  with sensor attached:    {attached:.1} µs/exec ({events} events, {} records dropped)",
        summary.dropped.total()
    );
    println!(
        "  without sensor (after):  {:.1} µs/exec",
        per_exec_micros(without_after, count)
    );
    println!(
        "  overhead ratio (with / without): {:.3}",
        attached / baseline
    );
}
