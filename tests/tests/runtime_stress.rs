//! Kernel stress tests: 20,000 short processes while the sensor runs, every exec delivered or counted as dropped; a tiny ring buffer forces drops, which must be counted and reported in the stream.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

#[expect(
    dead_code,
    reason = "each kernel test file uses a subset of the helpers"
)]
mod runtime_support;

use std::{
    process::{Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use runtime_support::{ScratchDir, kernel_test_can_run, probe_copy};
use tpc_runtime::{BaseSensor, DropCounts, SensorEvent, SensorOptions};

static KERNEL: Mutex<()> = Mutex::new(());

/// Runs `probe` `count` times from `threads` threads; returns how many
/// processes were really started.
fn launch(probe: &std::path::Path, count: u64, threads: u64) -> thread::JoinHandle<u64> {
    let probe = probe.to_path_buf();
    thread::spawn(move || {
        let launched = Arc::new(AtomicU64::new(0));
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                let probe = probe.clone();
                let launched = Arc::clone(&launched);
                let share = count / threads + u64::from(worker < count % threads);
                thread::spawn(move || {
                    for _ in 0..share {
                        let status = Command::new(&probe)
                            .stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .status();
                        if status.is_ok() {
                            launched.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        launched.load(Ordering::Relaxed)
    })
}

/// Exec events of `binary`, and exits of them, seen by `sink`.
#[derive(Debug, Default)]
struct Tally {
    execs: u64,
    exits: u64,
    lost_reports: u64,
    lost_in_stream: u64,
}

impl Tally {
    fn count(&mut self, event: &SensorEvent, binary: &str) {
        match event {
            SensorEvent::Exec { process, .. } if process.binary == binary => self.execs += 1,
            SensorEvent::Exit { process, .. } if process.binary == binary => self.exits += 1,
            SensorEvent::Lost { dropped, .. } => {
                self.lost_reports += 1;
                self.lost_in_stream += dropped.total();
            }
            _ => {}
        }
    }
}

#[test]
fn twenty_thousand_execs_are_delivered_or_counted_as_dropped() {
    let _kernel = KERNEL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !kernel_test_can_run("twenty_thousand_execs_are_delivered_or_counted_as_dropped") {
        return;
    }
    const LAUNCHES: u64 = 20_000;
    let scratch = ScratchDir::new("stress");
    let probe = probe_copy("/bin/true", &scratch.path, "tpc-stress");
    let binary = probe.to_string_lossy().into_owned();

    let mut sensor = BaseSensor::start(&SensorOptions::default()).unwrap();
    let mut tally = Tally::default();
    let started = Instant::now();
    let workload = launch(&probe, LAUNCHES, 2);
    while !workload.is_finished() {
        sensor
            .poll(Duration::from_millis(50), &mut |event| {
                tally.count(&event, &binary)
            })
            .unwrap();
    }
    let launched = workload.join().unwrap();
    let elapsed = started.elapsed();
    // drain: everything the workload did is in the ring by now
    let summary = sensor
        .stop(&mut |event| tally.count(&event, &binary))
        .unwrap();
    // the sensor's counters start at zero with its maps
    let dropped: DropCounts = summary.dropped;

    println!(
        "stress: launched {launched} in {:.1} s ({:.0}/s); delivered execs {} exits {}; dropped exec {} fork {} exit {}; lost reports in stream {} ({} records)",
        elapsed.as_secs_f64(),
        launched as f64 / elapsed.as_secs_f64(),
        tally.execs,
        tally.exits,
        dropped.exec,
        dropped.fork,
        dropped.exit,
        tally.lost_reports,
        tally.lost_in_stream
    );
    assert_eq!(launched, LAUNCHES, "every launch started a process");
    assert!(
        tally.execs <= launched,
        "more execs than launches: {} > {launched}",
        tally.execs
    );
    // Drops are counted machine-wide: a drop can belong to another process's
    // exec, so with drops the sum can exceed the launches, never fall short.
    assert!(
        tally.execs + dropped.exec >= launched,
        "execs neither delivered nor counted: delivered {} + dropped {} < launched {launched}",
        tally.execs,
        dropped.exec
    );
    if dropped.exec == 0 {
        assert_eq!(
            tally.execs, launched,
            "no drops, so every exec is delivered"
        );
    }
    assert_eq!(
        tally.lost_in_stream,
        summary.dropped.total(),
        "every drop is reported in the stream"
    );
}

#[test]
fn a_full_ring_buffer_drops_are_counted_and_reported() {
    let _kernel = KERNEL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !kernel_test_can_run("a_full_ring_buffer_drops_are_counted_and_reported") {
        return;
    }
    const LAUNCHES: u64 = 400;
    let scratch = ScratchDir::new("drops");
    let probe = probe_copy("/bin/true", &scratch.path, "tpc-drops");
    let binary = probe.to_string_lossy().into_owned();
    // two pages of ring, not read while the workload runs: most records drop
    let options = SensorOptions {
        ring_buffer_bytes: Some(8192),
        proc_root: None,
        ..SensorOptions::default()
    };
    let sensor = BaseSensor::start(&options).unwrap();
    let launched = launch(&probe, LAUNCHES, 1).join().unwrap();
    let stop = AtomicBool::new(true);
    let mut tally = Tally::default();
    let summary = sensor
        .run_until(&stop, &mut |event| tally.count(&event, &binary))
        .unwrap();
    println!(
        "drops: launched {launched}; delivered execs {}; dropped {:?}; reported in stream {}",
        tally.execs, summary.dropped, tally.lost_in_stream
    );
    assert!(
        summary.dropped.exec > 0,
        "a two-page ring cannot hold {LAUNCHES} exec records"
    );
    assert!(tally.execs + summary.dropped.exec >= launched);
    assert!(tally.lost_reports > 0, "drops must show up in the stream");
    assert_eq!(tally.lost_in_stream, summary.dropped.total());
}
