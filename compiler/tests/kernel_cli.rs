//! `tpc check` with kernels, end to end: `--kernel`, `--btf`, `--no-kernel`,
//! the default (the running kernel), the policy × kernel matrix, kernels in
//! JSON and SARIF, unreadable BTF, and the uprobe host check.

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use common::repo_root;
use std::process::{Command, Output};

fn tpc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tpc"))
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("tpc runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const PER_KERNEL: &str = "fixtures/policies/kernel/call_not_found_per_kernel.yaml";

#[test]
fn unknown_kernel_is_a_usage_error_with_the_list() {
    let out = tpc(&["check", "--kernel", "debian-6.2", PER_KERNEL]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no carried kernel is called `debian-6.2`"),
        "{err}"
    );
    assert!(err.contains("did you mean `debian-6.1`?"), "{err}");
    assert!(
        err.contains("debian-5.10") && err.contains("running-6.18") && err.contains("all"),
        "{err}"
    );
}

#[test]
fn no_kernel_conflicts_with_kernel_choices() {
    let out = tpc(&["check", "--no-kernel", "--kernel", "all", PER_KERNEL]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn no_kernel_skips_the_kernel_checks() {
    let out = tpc(&["check", "--no-kernel", PER_KERNEL]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(!stdout(&out).contains("TPC100"));
    assert!(!stdout(&out).contains("checked against"));
}

#[test]
fn all_kernels_give_scopes_and_the_matrix() {
    let out = tpc(&["check", "--kernel", "all", PER_KERNEL]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("on kernels 5.10, 6.12, 6.12-deb12, 6.18; fine on 6.1, 6.1-arm64"),
        "kfree_skb_reason scope:\n{text}"
    );
    assert!(
        text.contains("on kernels 6.12, 6.12-deb12; fine on"),
        "{text}"
    );
    assert!(text.contains("checked against 6 kernels:"), "{text}");
    let header = text
        .lines()
        .find(|l| l.starts_with("policy"))
        .expect("matrix header");
    let columns: Vec<&str> = header
        .split("× kernel")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        columns,
        ["5.10", "6.1", "6.1-arm64", "6.12", "6.12-deb12", "6.18"]
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("per-kernel-calls"))
        .expect("matrix row");
    let cells: Vec<&str> = row.rsplit(')').next().unwrap().split_whitespace().collect();
    // kfree_skb_reason (5.10, 6.12s, 6.18), dev_queue_xmit (6.12s),
    // override_creds (6.18).
    assert_eq!(cells, ["1E", "✓", "✓", "2E", "2E", "2E"], "{row}");
    assert!(
        text.trim_end().ends_with("tpc: 1 file checked: 3 errors"),
        "{text}"
    );
}

#[test]
fn one_kernel_is_named_without_a_matrix() {
    let out = tpc(&["check", "--kernel", "trixie", PER_KERNEL]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("on kernel 6.12, the only one checked"),
        "{text}"
    );
    assert!(
        text.contains(
            "checked against kernel 6.12 (debian-13-6.12, 6.12.107+deb13-cloud-amd64, x86_64)"
        ),
        "{text}"
    );
    // debian-6.1 has all three functions.
    let out = tpc(&["check", "--kernel", "6.1", PER_KERNEL]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(!text.contains("policy × kernel"), "{text}");
}

#[test]
fn json_and_sarif_name_the_kernels() {
    let out = tpc(&["check", "--kernel", "all", "--format", "json", PER_KERNEL]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = value["diagnostics"].as_array().unwrap();
    let dev = findings
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("dev_queue_xmit"))
        .expect("dev_queue_xmit finding");
    assert_eq!(
        dev["kernels"]["affected"],
        serde_json::json!(["6.12", "6.12-deb12"])
    );
    assert_eq!(
        dev["kernels"]["fine"],
        serde_json::json!(["5.10", "6.1", "6.1-arm64", "6.18"])
    );

    let out = tpc(&["check", "--kernel", "all", "--format", "sarif", PER_KERNEL]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let results = value["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let text = value.to_string();
    assert!(text.contains("6.12-deb12"), "{text}");
    assert!(results.iter().all(|r| r["ruleId"] == "TPC100"));
}

#[test]
fn unreadable_btf_is_reported_and_other_kernels_still_run() {
    let junk = std::env::temp_dir().join(format!("tpc-not-btf-{}.btf", std::process::id()));
    std::fs::write(&junk, b"this is not BTF").unwrap();
    let out = tpc(&[
        "check",
        "--btf",
        junk.to_str().unwrap(),
        "--kernel",
        "debian-13-6.12",
        PER_KERNEL,
    ]);
    let _ = std::fs::remove_file(&junk);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("TPC109"), "{text}");
    assert!(text.contains("is not BTF"), "{text}");
    assert!(
        text.contains("kernel function `dev_queue_xmit` does not exist"),
        "{text}"
    );
}

#[test]
fn default_is_the_running_kernel_or_a_note() {
    let out = tpc(&["check", PER_KERNEL]);
    let text = stdout(&out);
    if std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        assert!(text.contains("checked against kernel"), "{text}");
        assert!(
            text.contains("running kernel, /sys/kernel/btf/vmlinux"),
            "{text}"
        );
    } else {
        assert!(
            text.contains("note[TPC109]") || text.contains("TPC109"),
            "{text}"
        );
        assert!(text.contains("kernel checks skipped"), "{text}");
        assert_eq!(out.status.code(), Some(0), "{text}");
    }
}

fn uprobe_policy(path: &str, symbols: &[&str]) -> String {
    let symbols: String = symbols.iter().map(|s| format!("    - \"{s}\"\n")).collect();
    format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: uprobe-check\nspec:\n  uprobes:\n  - path: \"{path}\"\n    symbols:\n{symbols}"
    )
}

fn check_text(name: &str, text: &str, extra: &[&str]) -> Output {
    let file =
        std::env::temp_dir().join(format!("tpc-kernel-cli-{}-{name}.yaml", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let mut args = vec!["check", "--no-kernel", "--format", "short"];
    args.extend_from_slice(extra);
    let file_arg = file.to_str().unwrap().to_string();
    args.push(&file_arg);
    let out = tpc(&args);
    let _ = std::fs::remove_file(&file);
    out
}

#[test]
fn uprobe_symbols_are_read_from_the_binary() {
    // The test binary's own ELF file has `main` in its symbol table.
    let binary = env!("CARGO_BIN_EXE_tpc");
    let out = check_text(
        "symbols",
        &uprobe_policy(binary, &["main", "main+4", "mian_no_such_symbol"]),
        &[],
    );
    let text = stdout(&out);
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("TPC108")).collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(
        warnings[0].contains("has no symbol `mian_no_such_symbol`"),
        "{text}"
    );
    // Host checks off: nothing.
    let out = check_text(
        "off",
        &uprobe_policy(binary, &["mian_no_such_symbol"]),
        &["--no-host-checks"],
    );
    assert!(!stdout(&out).contains("TPC108"), "{}", stdout(&out));
}

#[test]
fn uprobe_paths_must_be_absolute_and_may_be_missing() {
    // Reported once, by the hook check (TPC042); the host check adds nothing.
    let out = check_text("relative", &uprobe_policy("bin/bash", &["main"]), &[]);
    let text = stdout(&out);
    assert!(
        text.contains("warning[TPC042]") && text.contains("`bin/bash` is a relative path"),
        "{text}"
    );
    assert!(!text.contains("TPC108"), "{text}");
    let out = check_text(
        "missing",
        &uprobe_policy("/no/such/dir/binary", &["main"]),
        &[],
    );
    let text = stdout(&out);
    assert!(
        text.contains("warning[TPC108]") && text.contains("does not exist on this machine"),
        "{text}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "a missing binary is only a warning"
    );
}

/// Issue 14: a type mismatch Tetragon only warns about is a warning, so the
/// run passes unless `--deny-warnings` is given.
#[test]
fn type_mismatch_fails_only_with_deny_warnings() {
    let policy = "fixtures/policies/kernel/14-type-mismatch-is-a-warning.yaml";
    let out = tpc(&["check", "--kernel", "all", "--format", "short", policy]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("warning[TPC103]"), "{}", stdout(&out));
    let out = tpc(&[
        "check",
        "--kernel",
        "all",
        "--deny-warnings",
        "--format",
        "short",
        policy,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}
