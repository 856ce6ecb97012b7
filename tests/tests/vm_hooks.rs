//! Every kernel hook kind end to end on real kernels: boots each Debian
//! kernel once (6.1 and 6.12, under QEMU) with the real `tpc` binary and
//! bundles built here by `tpc build` (so the same bundle runs unchanged on
//! this machine's kernel's build and both guests), and in that boot runs
//! `vm/scenarios/hooks.sh`: one `tpc run` with a kprobe on a kernel
//! function (Sigkill), a kprobe on a syscall (Sigkill), a kprobe with an fd
//! argument (Post), an fentry hook (Post), an fentry hook with a return
//! probe (fexit: it sees what the LSM hook returned) and three BPF LSM hooks whose
//! Override makes open, exec and connect of a chosen target fail with the
//! chosen errno while other calls succeed, two kprobes on `security_*`
//! functions whose Override an fmod_ret program applies (open and connect
//! fail with the chosen errno), one more with a return probe, which reports
//! the overridden call with the override's value, and a tracepoint policy whose
//! bundle also runs on this machine's kernel (`kernel_bundles`'s
//! `the_tracepoint_bundle_of_the_vm_tests_runs_here_too`); then the events
//! each posted.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

#[expect(dead_code, reason = "only tpc_binary() of the kernel-test helpers")]
mod runtime_support;

use std::{path::PathBuf, process::Command, time::Duration};

use runtime_support::tpc_binary;
use tpc_tests::vm::{self, Guest, KernelSeries, Scenario};

/// The policies of fixtures/policies/build/ the scenario uses.
const POLICIES: &[&str] = &[
    "kprobe-sigkill",
    "kprobe-syscall",
    "kprobe-fd",
    "fentry-file-open",
    "fexit-file-open",
    "lsm-file-open",
    "lsm-bprm-check",
    "lsm-socket-connect",
    "kprobe-security-decoy",
    "kprobe-security-override",
    "args-string",
];

/// Every check the scenario prints, in order.
const CHECKS: &[&str] = &[
    "tpc verify: every program of every bundle loads",
    "tpc verify: 23 programs (3 of the base sensor, one per hook, a kretprobe or fexit per return probe, an fmod_ret program per Override on a security_* kprobe)",
    "lsm file_open: a guarded open fails with EPERM",
    "lsm file_open: another open succeeds",
    "lsm bprm_check_security: exec of tpc-no-exec fails with EACCES",
    "lsm bprm_check_security: another exec succeeds",
    "lsm socket_connect: connect to 127.0.0.1:4242 fails with EACCES",
    "lsm socket_connect: connect to port 4243 is refused by the kernel, not the policy",
    "kprobe security_file_open with Override (fmod_ret): a guarded open fails with EACCES",
    "kprobe security_file_open with Override (fmod_ret): another open succeeds",
    "kprobe security_socket_connect with Override (fmod_ret): connect to port 4244 fails with EPERM",
    "kprobe security_socket_connect with Override (fmod_ret): connect to port 4243 goes through to the kernel",
    "kprobe security_inode_unlink with a return probe and Override (fmod_ret): rm of ret-x fails with EPERM",
    "kprobe security_inode_unlink with a return probe and Override (fmod_ret): another rm succeeds",
    "kprobe security_file_open: the opener of tpc-kill-me is killed",
    "kprobe sys_openat: the opener of /tmp/tpc-sys/f is killed",
    "kprobe sys_openat: another open succeeds",
    "tpc run stops cleanly",
    "event: one process_lsm file_open event with action OVERRIDE",
    "event: the file_open event names the hook and the file",
    "event: one bprm_check_security event with the binary's path",
    "event: one socket_connect event with the address",
    "event: one process_kprobe security_file_open event with action SIGKILL",
    "event: one __x64_sys_openat event",
    "event: the syscall event carries the path argument",
    "event: one write event with the fd's path",
    "event: one fentry event with the file's path",
    "event: one process_kprobe security_file_open event with action OVERRIDE",
    "event: one process_kprobe security_socket_connect event with action OVERRIDE",
    "event: one security_inode_unlink event with action OVERRIDE and the overridden return value",
    "event: no security_inode_unlink event for the other rm",
    "event: one fexit event, the guarded open with the -1 that the LSM hook returned",
    "event: one tracepoint sys_enter_openat event of the bundle this machine's kernel runs too",
];

fn bundles(tpc: &std::path::Path) -> Vec<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tpc-vm-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    POLICIES
        .iter()
        .map(|name| {
            let policy = vm::repository_root().join(format!("fixtures/policies/build/{name}.yaml"));
            let bundle = dir.join(format!("{name}.tpcb"));
            let output = Command::new(tpc)
                .arg("build")
                .arg(&policy)
                .arg("-o")
                .arg(&bundle)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "tpc build {name}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            bundle
        })
        .collect()
}

fn hooks(series: &KernelSeries) {
    let test = format!("vm_hooks on Debian {}", series.label);
    let Some(kernel) = vm::or_skip(&test, series.fetch()) else {
        return;
    };
    let tpc = tpc_binary();
    let mut guest = Guest::new().binary(&tpc, "/usr/local/bin/tpc");
    for bundle in bundles(&tpc) {
        let name = bundle.file_name().unwrap().to_string_lossy().into_owned();
        guest = guest.file(&bundle, &format!("/data/{name}"));
    }
    let guest = guest.scenario(
        Scenario::new("hooks", include_str!("../../vm/scenarios/hooks.sh"))
            .time_limit(Duration::from_secs(300)),
    );
    let Some(report) = vm::or_skip(&test, guest.boot(&kernel)) else {
        return;
    };
    eprintln!("{test}: {}", report.summary());
    let result = report.assert_passed("hooks");
    let lines: Vec<&str> = result.output.lines().collect();
    let failed: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        failed.is_empty(),
        "{test}: checks failed:\n{}\n\n{}",
        failed
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
        report.describe_failure(result)
    );
    for check in CHECKS {
        assert!(
            lines.contains(&format!("ok: {check}").as_str()),
            "{test}: no `ok: {check}`\n{}",
            report.describe_failure(result)
        );
    }
}

#[test]
fn hooks_debian_6_1() {
    hooks(&vm::DEBIAN_6_1);
}

#[test]
fn hooks_debian_6_12() {
    hooks(&vm::DEBIAN_6_12);
}
