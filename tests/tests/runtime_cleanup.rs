//! Kernel test: starting and stopping the base sensor leaves no BPF programs, maps or links behind (counted with bpftool before start and after stop).

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
    sync::Mutex,
    time::{Duration, Instant},
};

use runtime_support::{BpfInventory, kernel_test_can_run};
use tpc_runtime::{BaseSensor, SensorOptions};

/// The tests of this file load the sensor; one at a time, so the counts of
/// one are not disturbed by the other.
static KERNEL: Mutex<()> = Mutex::new(());

#[test]
fn stop_leaves_no_programs_maps_or_links() {
    let _kernel = KERNEL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !kernel_test_can_run("stop_leaves_no_programs_maps_or_links") {
        return;
    }
    // A sensor stopped just before (another test) may still be being freed
    // by the kernel: wait for that first.
    let settle = Instant::now() + Duration::from_secs(10);
    let mut before = BpfInventory::now();
    while before.ours() != BpfInventory::default() && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(100));
        before = BpfInventory::now();
    }
    assert_eq!(
        before.ours(),
        BpfInventory::default(),
        "base sensor objects left over from an earlier run: {before:?}"
    );

    let mut sensor = BaseSensor::start(&SensorOptions::default()).unwrap();
    let running = BpfInventory::now().ours();
    assert_eq!(
        running.programs.len(),
        3,
        "exec, fork and exit programs while running: {running:?}"
    );
    for map in [
        "tpc_events",
        "tpc_processes",
        "tpc_drops",
        "tpc_exec_scr",
        "tpc_fork_scr",
    ] {
        assert!(
            running.maps.iter().any(|object| object.name == map),
            "map {map} while running: {running:?}"
        );
    }
    assert!(
        !running.links.is_empty(),
        "links while running: {running:?}"
    );
    sensor.poll(Duration::from_millis(10), &mut |_| {}).unwrap();
    let summary = sensor.stop(&mut |_| {}).unwrap();

    // the kernel frees programs and maps once their last fd is closed, after
    // an RCU grace period: give it a moment
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = BpfInventory::now();
    while (after.ours() != BpfInventory::default() || after.counts() != before.counts())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
        after = BpfInventory::now();
    }
    println!(
        "programs/maps/links before start {:?}, while running (ours) {:?}, after stop {:?}; run: {summary:?}",
        before.counts(),
        running.counts(),
        after.counts()
    );
    assert_eq!(
        after.ours(),
        BpfInventory::default(),
        "base sensor objects left after stop: {after:?}"
    );
    if after.counts() != before.counts() {
        // Ours are all gone (asserted above), so the difference comes from
        // other processes on this machine loading or unloading BPF objects.
        println!("note: other processes changed the kernel's BPF objects during the test");
    }
}

#[test]
fn missing_objects_or_privileges_are_explained() {
    // Whatever this machine has, the error (if any) names what is missing.
    let _kernel = KERNEL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let message = match BaseSensor::start(&SensorOptions {
        proc_root: None,
        ..SensorOptions::default()
    }) {
        Ok(sensor) => {
            sensor.stop(&mut |_| {}).unwrap();
            return;
        }
        Err(error) => error.to_string(),
    };
    assert!(
        message.contains("install clang and libbpf-dev")
            || message.contains("needs root")
            || message.contains("BTF")
            || message.contains("mount -t"),
        "unhelpful error: {message}"
    );
}
