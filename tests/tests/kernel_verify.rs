//! `tpc verify` on this machine's kernel, through the real binary: a
//! tracepoint bundle's programs all load (instruction counts, the policy
//! line each serves), a uprobe on a file that does not exist here is
//! reported with exit status 1, and nothing stays loaded afterwards.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

#[expect(
    dead_code,
    reason = "each kernel test file uses a subset of the helpers"
)]
mod runtime_support;

use std::{fs, process::Command};

use runtime_support::{BpfInventory, ScratchDir, kernel_test_can_run, tpc_binary};
use serde_json::Value;

#[test]
fn verify_loads_every_program_and_reports_missing_targets() {
    if !kernel_test_can_run("verify_loads_every_program_and_reports_missing_targets") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("verify");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let root = tpc_tests::vm::repository_root();
    let tracepoint = dir.join("tp.tpcb");
    let built = Command::new(&tpc)
        .arg("build")
        .arg(root.join("fixtures/policies/build/args-string.yaml"))
        .arg("-o")
        .arg(&tracepoint)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    let before = BpfInventory::now().ours();

    let out = Command::new(&tpc)
        .args(["verify", "--format", "json"])
        .arg(&tracepoint)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tpc verify failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let programs: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(programs.len(), 4, "{stdout}");
    for p in &programs {
        assert_eq!(p["loaded"], true, "{p}");
        assert!(p["instructions"].as_u64().unwrap() > 0, "{p}");
        assert!(p["error"].is_null(), "{p}");
    }
    let hook = &programs[3];
    assert_eq!(hook["program"], "tpc_tracepoint_0");
    assert_eq!(hook["target"], "tracepoint syscalls/sys_enter_openat");
    let serves = hook["serves"][0].as_str().unwrap();
    assert!(
        serves.contains("tracepoints[0]") && serves.contains("args-string.yaml:"),
        "{serves}"
    );

    let missing = dir.join("uprobe.yaml");
    fs::write(
        &missing,
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: uprobe-missing\nspec:\n  uprobes:\n  - path: \"/nonexistent/tpc-verify-binary\"\n    symbols: [\"main\"]\n",
    )
    .unwrap();
    let uprobe = dir.join("uprobe.tpcb");
    let built = Command::new(&tpc)
        .arg("build")
        .arg(&missing)
        .arg("-o")
        .arg(&uprobe)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let out = Command::new(&tpc)
        .arg("verify")
        .arg(&tracepoint)
        .arg(&uprobe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("/nonexistent/tpc-verify-binary does not exist here"),
        "{text}"
    );
    assert!(text.contains("serves uprobe-missing uprobes[0]"), "{text}");
    assert!(
        text.contains("5 programs, 5 loaded, 1 with problems"),
        "{text}"
    );
    // the kernel frees maps a moment after the last fd closes
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut now = BpfInventory::now().ours();
    while now != before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        now = BpfInventory::now().ours();
    }
    assert_eq!(now, before, "tpc verify left objects");
}
