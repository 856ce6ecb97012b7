//! End-to-end tests of RuntimeSecurityPolicy through the `tpc` binary:
//! `tpc convert` (output, the strategy line, exit codes), the converted
//! text through `tpc check` and `tpc replay`, `tpc build --kernel`, and
//! `tpc explain rsp`.

mod common;

use common::repo_root;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn tpc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tpc"));
    c.current_dir(repo_root());
    c.env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> Output {
    tpc().args(args).output().expect("tpc runs")
}

fn run_stdin(args: &[&str], input: &str) -> Output {
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const MIXED: &str = "fixtures/policies/ok/rsp/mixed-rules.yaml";

#[test]
fn convert_prints_a_policy_check_accepts_and_says_which_strategy() {
    for (args, strategy, section) in [
        (vec!["--kernel", "debian-6.1"], "lsm", "lsmhooks:"),
        (vec!["--rsp-strategy", "kprobe"], "kprobe", "kprobes:"),
        (
            vec!["--rsp-strategy", "tracepoint"],
            "tracepoint",
            "tracepoints:",
        ),
    ] {
        let mut all = vec!["convert", MIXED];
        all.extend(args.iter().copied());
        let out = run(&all);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains("block strategy") && stderr.contains(&format!(": {strategy} (")),
            "{stderr}"
        );
        assert!(
            stdout.starts_with("# Converted by `tpc convert`"),
            "{stdout}"
        );
        assert!(stdout.contains("kind: TracingPolicy\n"), "{stdout}");
        assert!(stdout.contains(section), "{stdout}");
        let checked = run_stdin(&["check", "--no-kernel", "-"], &stdout);
        assert!(checked.status.success(), "{}", text(&checked.stdout));
    }
    let carried = run(&["convert", MIXED, "--kernel", "6.1"]);
    assert!(
        text(&carried.stderr).contains("for 6.1"),
        "{}",
        text(&carried.stderr)
    );
}

#[test]
fn convert_refuses_bad_policies_and_tracing_policies() {
    let bad = run(&["convert", "fixtures/policies/err/rsp/bad-cidr.yaml"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(bad.stdout.is_empty());
    assert!(
        text(&bad.stderr).contains("TPC311"),
        "{}",
        text(&bad.stderr)
    );
    let tp = run(&["convert", "fixtures/policies/build/lsm-file-open.yaml"]);
    assert_eq!(tp.status.code(), Some(1));
    assert!(
        text(&tp.stderr).contains("no RuntimeSecurityPolicy"),
        "{}",
        text(&tp.stderr)
    );
    let usage = run(&["convert", MIXED, "--kernel", "debian-5.11"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn replay_verdicts_name_the_rule_for_the_policy_and_not_for_its_conversion() {
    let events = "fixtures/sim/rsp/events.jsonl";
    let out = run(&["replay", "--verdicts", "--quiet", MIXED, events]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("\"rule\":{\"action\":\"Block\",\"index\":1,\"type\":\"File\"}")
            || stdout.contains("\"rule\":{\"index\":1,\"type\":\"File\",\"action\":\"Block\"}"),
        "{}",
        &stdout[..stdout.len().min(2000)]
    );
    let compact = run(&["replay", "--output", "compact", "--quiet", MIXED, events]);
    assert!(
        text(&compact.stdout).contains("[mixed-rules rules[0] Execution Block OVERRIDE]"),
        "{}",
        text(&compact.stdout)
    );
    let tracepoint = run(&[
        "replay",
        "--output",
        "compact",
        "--quiet",
        "--rsp-strategy",
        "tracepoint",
        MIXED,
        events,
    ]);
    assert!(
        text(&tracepoint.stdout).contains("rules[1] File Block SIGKILL]"),
        "{}",
        text(&tracepoint.stdout)
    );
}

#[test]
fn check_renders_rsp_findings_in_every_format() {
    let file = "fixtures/policies/err/rsp/bad-port-range.yaml";
    let short = run(&["check", "--no-kernel", "--format", "short", file]);
    assert!(
        text(&short.stdout).contains("bad-port-range.yaml:12:20: error[TPC312]"),
        "{}",
        text(&short.stdout)
    );
    let sarif = run(&["check", "--no-kernel", "--format", "sarif", file]);
    let json: serde_json::Value = serde_json::from_slice(&sarif.stdout).expect("SARIF is JSON");
    assert_eq!(json["runs"][0]["results"][0]["ruleId"], "TPC312");
}

#[test]
fn build_says_which_strategy_and_explain_says_why() {
    let dir = std::env::temp_dir().join(format!("tpc-rsp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bundle = dir.join("net.tpcb");
    let out = run(&[
        "build",
        "fixtures/policies/ok/rsp/net-audit-loopback.yaml",
        "--kernel",
        "6.12",
        "-o",
        &bundle.display().to_string(),
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("block strategy for 6.12: lsm"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
    let explain = run(&["explain", "rsp"]);
    assert!(explain.status.success());
    assert!(text(&explain.stdout).contains("bprm_creds_from_file"));
    let code = run(&["explain", "TPC310"]);
    assert!(text(&code.stdout).contains("rsp-empty-block"));
}
