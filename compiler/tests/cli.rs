//! End-to-end tests of the `tpc` binary: exit codes, formats, stdin, colour.

mod common;

use common::{repo_root, shared_dir};
use std::io::Write;
use std::process::{Command, Stdio};

fn tpc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tpc"));
    c.current_dir(repo_root());
    c.env_remove("NO_COLOR");
    c
}

const CLEAN: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: clean
spec:
  kprobes:
  - call: sys_write
    syscall: true
    args:
    - index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: [\"1\"]
";

fn run_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut child = tpc()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tpc runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("tpc finishes")
}

#[test]
fn clean_policy_exits_zero_with_summary() {
    let out = run_stdin(&["check", "-"], CLEAN);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 file checked"), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("tpc:")).count(), 1);
}

#[test]
fn errors_exit_one_and_point_at_the_line() {
    let bad = CLEAN.replace("operator: Equal", "operator: Equals");
    let out = run_stdin(&["check", "--format", "short", "-"], &bad);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("<stdin>:15:19: error[TPC007]"), "{stdout}");
}

#[test]
fn missing_file_is_a_usage_error() {
    let out = tpc()
        .args(["check", "does/not/exist.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    // An unquoted number where the CRD expects text: a warning (TPC010).
    let warn = CLEAN.replace("        values: [\"1\"]\n", "        values: [1]\n");
    assert_ne!(warn, CLEAN);
    let out = run_stdin(&["check", "-"], &warn);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run_stdin(&["check", "--deny-warnings", "-"], &warn);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn json_and_sarif_are_valid_json_on_stdout() {
    let bad = CLEAN.replace("type: int", "type: fle");
    for format in ["json", "sarif"] {
        let out = run_stdin(&["check", "--format", format, "-"], &bad);
        assert_eq!(out.status.code(), Some(1));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
        if format == "sarif" {
            assert_eq!(v["version"], "2.1.0");
            assert_eq!(v["runs"][0]["results"][0]["ruleId"], "TPC007");
            assert_eq!(
                v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
                11
            );
        } else {
            assert!(v.to_string().contains("TPC007"));
        }
        assert!(String::from_utf8_lossy(&out.stderr).contains("1 file checked"));
    }
}

#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let bad = CLEAN.replace("type: int", "type: fle");
    let piped = run_stdin(&["check", "-"], &bad);
    assert!(
        !piped.stdout.contains(&0x1b),
        "no escape codes when not a terminal"
    );
    let forced = run_stdin(&["check", "--color", "always", "-"], &bad);
    assert!(
        forced.stdout.contains(&0x1b),
        "escape codes with --color always"
    );
}

#[test]
fn explain_prints_documentation() {
    let out = tpc().args(["explain", "TPC003"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("unknown-field") && s.contains("What it does"),
        "{s}"
    );
    let out = tpc().args(["explain", "TPC999"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn folders_are_searched_recursively() {
    let corpus = shared_dir().join("corpus/tetragon/process-credentials");
    if !corpus.exists() {
        panic!("../shared is missing: {}", corpus.display());
    }
    let out = tpc()
        .args(["check", "--format", "short"])
        .arg(&corpus)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("4 files checked"), "{stdout}");
}

/// Issue 14: the same `metadata.name` in two files is a warning naming the
/// first file (within one file it is an error: see the fixtures).
#[test]
fn the_same_policy_name_across_files_is_a_warning_naming_the_first() {
    let dir = std::env::temp_dir().join(format!("tpc-duplicate-names-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    std::fs::write(dir.join("a.yaml"), CLEAN).expect("write");
    std::fs::write(dir.join("b.yaml"), CLEAN).expect("write");
    let out = tpc()
        .args(["check", "--no-kernel", "--format", "json"])
        .arg(&dir)
        .output()
        .expect("tpc runs");
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = report["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["code"], "TPC012");
    assert_eq!(findings[0]["severity"], "warning");
    assert!(
        findings[0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("b.yaml"))
    );
    assert!(
        findings[0].to_string().contains("a.yaml:4"),
        "{}",
        findings[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14: the README's first command shows a newcomer what tpc finds:
/// `examples/` holds a clean policy and one that draws warnings only.
#[test]
fn the_examples_show_findings_and_still_pass() {
    let out = tpc()
        .args(["check", "--no-kernel", "--format", "json", "examples/"])
        .output()
        .expect("tpc runs");
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = report["diagnostics"].as_array().expect("diagnostics");
    assert!(findings.len() >= 2, "{report}");
    for finding in findings {
        assert_eq!(finding["severity"], "warning", "{finding}");
        assert_eq!(finding["file"], "examples/needs-review.yaml", "{finding}");
    }
}
