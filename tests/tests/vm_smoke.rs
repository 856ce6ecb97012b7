//! VM smoke test: boots each Debian kernel once (6.1 and 6.12, under QEMU)
//! and, in that one boot, checks the kernel has BTF and BPF as an active
//! LSM, that every file system BPF needs is mounted, that a kprobe, an
//! fentry and a BPF LSM program load, attach and fire, and that the harness
//! reports a failing scenario as failed and a hung one as timed out (with
//! their output) and goes on to the next scenario.

use std::time::Duration;

use tpc_tests::vm::{self, Guest, KernelSeries, Scenario, ScenarioStatus};

/// Where the probes' object goes in the guest (`vm/scenarios/probes.sh`).
const PROBES_OBJECT: &str = "/opt/tpc-vm/probes.bpf.o";

fn smoke(series: &KernelSeries) {
    let test = format!("vm_smoke on Debian {}", series.label);
    let Some(kernel) = vm::or_skip(&test, series.fetch()) else {
        return;
    };
    let source = vm::repository_root().join("vm/guest/probes.bpf.c");
    let Some(object) = vm::or_skip(&test, vm::compile_bpf(&source)) else {
        return;
    };
    let seconds = Duration::from_secs;
    let guest = Guest::new()
        .binary(
            env!("CARGO_BIN_EXE_tpc-vm-probes"),
            "/usr/local/bin/tpc-vm-probes",
        )
        .file(&object, PROBES_OBJECT)
        .scenario(
            Scenario::new("kernel", include_str!("../../vm/scenarios/kernel.sh"))
                .time_limit(seconds(20)),
        )
        .scenario(
            Scenario::new("mounts", include_str!("../../vm/scenarios/mounts.sh"))
                .time_limit(seconds(20)),
        )
        .scenario(
            Scenario::new("probes", include_str!("../../vm/scenarios/probes.sh"))
                .time_limit(seconds(90)),
        )
        .scenario(
            Scenario::new(
                "fails-on-purpose",
                "echo 'this scenario fails on purpose'\nfalse\necho 'not reached: sh -e went on'\n",
            )
            .time_limit(seconds(10)),
        )
        .scenario(
            Scenario::new(
                "hangs-on-purpose",
                "echo 'this scenario hangs on purpose'\nsleep 600\n",
            )
            .time_limit(seconds(2)),
        )
        .scenario(
            Scenario::new(
                "after-the-hang",
                "if ps | grep -v grep | grep -q 'sleep 600'; then\n  echo 'the hung scenario outlived its limit'\n  exit 1\nfi\necho 'the guest went on after the hung scenario'\n",
            )
            .time_limit(seconds(10)),
        );
    let Some(report) = vm::or_skip(&test, guest.boot(&kernel)) else {
        return;
    };
    eprintln!("{test}: {}", report.summary());

    assert!(
        report.setup_output.trim().is_empty(),
        "the guest's setup complained:\n{}",
        report.setup_output
    );
    let kernel_info = report.assert_passed("kernel");
    if let Some(release) = &kernel.release {
        assert_eq!(
            kernel_info.output.lines().next(),
            Some(release.as_str()),
            "the guest runs another kernel than {release}:\n{}",
            kernel_info.output
        );
    }
    report.assert_passed("mounts");
    let probes = report.assert_passed("probes");
    eprintln!("{test}: probes said:\n{}", probes.output.trim_end());
    for kind in ["kprobe", "fentry", "BPF LSM"] {
        assert!(
            probes
                .output
                .lines()
                .any(|line| line.starts_with(&format!("ok: {kind} on "))),
            "no `ok` line for the {kind} program:\n{}",
            probes.output
        );
    }

    let failed = report.result("fails-on-purpose");
    assert_eq!(failed.status, ScenarioStatus::Exited(1), "{failed:?}");
    assert_eq!(failed.output, "this scenario fails on purpose\n");
    let hung = report.result("hangs-on-purpose");
    assert_eq!(
        hung.status,
        ScenarioStatus::TimedOut { limit: seconds(2) },
        "{hung:?}"
    );
    assert_eq!(hung.output, "this scenario hangs on purpose\n");
    let after = report.assert_passed("after-the-hang");
    assert!(after.output.contains("went on"), "{after:?}");
}

#[test]
fn smoke_debian_6_1() {
    smoke(&vm::DEBIAN_6_1);
}

#[test]
fn smoke_debian_6_12() {
    smoke(&vm::DEBIAN_6_12);
}
