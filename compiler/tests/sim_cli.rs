//! End-to-end tests of `tpc replay` and `tpc test`: outputs, exit codes,
//! malformed input, explanations (insta snapshots `replay__*`).

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use common::{repo_root, shared_dir};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn tpc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tpc"));
    c.current_dir(repo_root());
    c.env_remove("NO_COLOR");
    c
}

fn corpus() -> String {
    shared_dir()
        .join("corpus/tetragon-events")
        .display()
        .to_string()
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

fn snapshot(name: &str, value: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("fixtures/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, value));
}

const POLICY: &str = "tests/corpus-sim/policies/fd-write-etc.yaml";

#[test]
fn replay_writes_the_posted_events_in_tetragon_shape() {
    let out = run(&["replay", POLICY, &corpus()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let event = tpc_events::Event::from_json(lines[0]).expect("the output is a Tetragon event");
    assert_eq!(event.policy_name(), Some("fd-write-etc"));
    assert_eq!(
        event
            .action()
            .and_then(|a| a.name().map(str::to_string))
            .as_deref(),
        Some("KPROBE_ACTION_POST")
    );
    // No return probe: the agent's zero return action (Post) is exported.
    assert_eq!(event.return_action(), Some(tpc_events::KprobeAction::Post));
    assert_eq!(
        event.hook(),
        Some(tpc_events::Hook::Kprobe {
            function: "__x64_sys_write"
        })
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("40 events read"), "{stderr}");
    assert!(stderr.contains("fd-write-etc"), "{stderr}");
}

#[test]
fn replay_verdicts_give_one_line_per_input_value() {
    let out = run(&["replay", "--verdicts", POLICY, &corpus()]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 40);
    let fifth: serde_json::Value =
        serde_json::from_str(stdout.lines().nth(4).unwrap_or_default()).expect("json");
    assert_eq!(fifth["position"], 5);
    assert_eq!(fifth["kind"], "process_kprobe");
    assert_eq!(fifth["verdicts"][0]["selector"], 1);
    assert_eq!(fifth["verdicts"][0]["posted"], true);
    assert!(
        fifth["source"]
            .as_str()
            .is_some_and(|s| s.ends_with("00_four_golden_signals__process_kprobe.json"))
    );
}

#[test]
fn replay_compact_and_explain() {
    let policies = [
        "tests/corpus-sim/policies/keystore-read.yaml",
        "tests/corpus-sim/policies/size-quirks.yaml",
    ];
    let out = run(&[
        "replay",
        "--output",
        "compact",
        policies[0],
        policies[1],
        &corpus(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    snapshot("replay__compact_corpus", &text(&out.stdout));
    let out = run(&[
        "replay",
        "--explain",
        POLICY,
        "tests/corpus-sim/policies/size-quirks.yaml",
        &corpus(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let explained = text(&out.stdout);
    assert!(
        explained.contains("matchBinaries NotIn [/usr/bin/vi] failed: binary is /usr/bin/vi"),
        "{explained}"
    );
    snapshot("replay__explain_corpus", &explained);
    // A chosen position is explained even when it reaches no hook.
    let out = run(&["replay", "--explain=3", POLICY, &corpus()]);
    assert!(
        text(&out.stdout).contains("event #3: process_exec by /usr/bin/curl"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn malformed_lines_are_reported_skipped_and_fail_the_run() {
    let input = "{\"process_kprobe\":{\"process\":{\"pid\":1,\"binary\":\"/bin/sh\"},\"function_name\":\"__x64_sys_write\",\"args\":[{\"file_arg\":{\"path\":\"/etc/passwd\"}}]}}\nnot json\n{\"no_kind\": 1}\n";
    let out = run_stdin(&["replay", POLICY, "-"], input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("<stdin>:2: skipped value #2"), "{stderr}");
    assert!(stderr.contains("<stdin>:3: skipped value #3"), "{stderr}");
    let out = run_stdin(&["replay", "--strict", POLICY, "-"], input);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--strict"));
    let out = run_stdin(&["replay", "--verdicts", POLICY, "-"], input);
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("\"error\"")),
        "{stdout}"
    );
}

#[test]
fn replay_usage_errors() {
    let out = run(&["replay", POLICY]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no events given"));
    let out = run(&["replay", &corpus()]);
    assert_eq!(out.status.code(), Some(2));
    let bad = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: bad\nspec:\n  kprobes:\n  - call: sys_write\n    selectors:\n    - matchArgs:\n      - index: 3\n        operator: Equal\n        values: [\"1\"]\n";
    let dir = std::env::temp_dir().join(format!("tpc-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_default();
    let path = dir.join("bad.yaml");
    std::fs::write(&path, bad).unwrap_or_default();
    let out = run(&["replay", &path.display().to_string(), &corpus()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run(&[
        "replay",
        "--force",
        "-q",
        &path.display().to_string(),
        &corpus(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tpc_test_runs_the_fixtures() {
    let out = run(&["test", "fixtures/sim"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 failed"), "{stdout}");
    let out = run(&[
        "test",
        "--format",
        "json",
        "fixtures/sim/fork-chain.test.yaml",
    ]);
    let line: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).expect("json");
    assert_eq!(line["passed"], true);
    let out = run(&["test", "compiler"]);
    assert_eq!(out.status.code(), Some(2), "no test files under compiler/");
}

#[test]
fn tpc_test_fails_on_a_wrong_expectation() {
    let dir = std::env::temp_dir().join(format!("tpc-sim-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_default();
    let policy = repo_root().join(POLICY);
    let test = format!(
        "name: wrong\npolicies: [{}]\nevents:\n  - shared-dir: corpus/tetragon-events\nexpect:\n  - {{event: 5, selector: 0}}\n",
        policy.display()
    );
    std::fs::write(dir.join("wrong.test.yaml"), test).unwrap_or_default();
    let out = tpc()
        .env("TPC_SHARED", shared_dir())
        .args(["test", &dir.display().to_string()])
        .output()
        .expect("tpc runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("-   policy=fd-write-etc hook=kprobes[0] selector=0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+   policy=fd-write-etc hook=kprobes[0] selector=1"),
        "{stdout}"
    );
}

/// Two tracepoint events: one the fixture's first selector posts (a path
/// under /etc/ not ending in .conf), one nothing matches.
const OPENAT_EVENTS: &str = concat!(
    r#"{"process_tracepoint":{"process":{"exec_id":"bjoxOjE=","pid":10,"binary":"/usr/bin/cat"},"subsys":"syscalls","event":"sys_enter_openat","args":[{"string_arg":"/etc/passwd"},{"int_arg":0}]},"time":"2026-01-01T00:00:00Z"}"#,
    "\n",
    r#"{"process_tracepoint":{"process":{"exec_id":"bjoxOjE=","pid":10,"binary":"/usr/bin/cat"},"subsys":"syscalls","event":"sys_enter_openat","args":[{"string_arg":"/usr/lib/x.so"},{"int_arg":0}]},"time":"2026-01-01T00:00:01Z"}"#,
    "\n"
);

#[test]
fn replay_and_test_take_a_bundle_like_its_policy() {
    let dir = std::env::temp_dir().join(format!("tpc-replay-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = repo_root().join("fixtures/policies/build/args-string.yaml");
    let bundle = dir.join("args-string.tpcb");
    let events = dir.join("events.jsonl");
    std::fs::write(&events, OPENAT_EVENTS).unwrap();
    let built = tpc()
        .args(["build", "--kernel", "6.18", "-o"])
        .arg(&bundle)
        .arg(&policy)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let replay = |policy: &std::path::Path| {
        let out = tpc()
            .args(["replay", "--verdicts"])
            .arg(policy)
            .arg(&events)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let from_yaml = replay(&policy);
    let from_bundle = replay(&bundle);
    assert_eq!(from_yaml, from_bundle);
    assert!(from_yaml.contains("posted"), "{from_yaml}");

    let test_file = dir.join("bundle.test.yaml");
    std::fs::write(
        &test_file,
        "name: a bundle in a test file\npolicies: [args-string.tpcb]\nevents:\n  - file: events.jsonl\nexpect:\n  - event: 1\n    selector: 0\n    posted: true\n  - event: 2\n    selector: none\n    posted: false\n",
    )
    .unwrap();
    let out = tpc().arg("test").arg(&test_file).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // a damaged bundle is one clear error
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    let out = tpc()
        .arg("replay")
        .arg(&bundle)
        .arg(&events)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));
    let _ignored = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_places_processes_in_cgroups_for_bindings() {
    let events = [
        r#"{"process_tracepoint": {"process": {"exec_id": "e1", "pid": 4242, "binary": "/usr/bin/cat"}, "subsys": "syscalls", "event": "sys_enter_openat", "args": [{"string_arg": "/etc/shadow"}]}, "time": "2024-05-01T10:00:02Z"}"#,
        r#"{"process_tracepoint": {"process": {"exec_id": "e2", "pid": 4343, "binary": "/usr/bin/cat"}, "subsys": "syscalls", "event": "sys_enter_openat", "args": [{"string_arg": "/etc/shadow"}]}, "time": "2024-05-01T10:00:03Z"}"#,
    ]
    .join("\n");
    let policy = "fixtures/sim/policies/block-open-bindings.yaml";
    let placed = [
        "replay",
        "--output",
        "compact",
        "--process-cgroup",
        "4242=/system.slice/web.service/",
        policy,
        "-",
    ];
    let out = run_stdin(&placed, &events);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("[web SIGKILL]"), "{stdout}");
    // unplaced, neither binding applies
    let out = run_stdin(&["replay", "--output", "compact", policy, "-"], &events);
    assert!(text(&out.stdout).trim().is_empty());
    let out = run_stdin(&["replay", "--process-cgroup", "web", policy, "-"], &events);
    assert_eq!(out.status.code(), Some(2));
}

/// Issue 14: in a checkout without the shared data folder, a test whose
/// events come from it is one error naming what it needs, not a verdict
/// diff; the other test files still run.
#[test]
fn a_missing_shared_folder_is_one_clear_error() {
    let dir = std::env::temp_dir().join(format!("tpc-fresh-clone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).expect("scratch folder");
    let corpus = repo_root().join("tests/corpus-sim");
    for file in [
        "corpus-keystore-read.test.yaml",
        "policies/keystore-read.yaml",
    ] {
        std::fs::copy(corpus.join(file), dir.join(file)).expect("copy fixture");
    }
    let shipped = repo_root().join("fixtures/sim/fork-chain.test.yaml");
    std::fs::copy(&shipped, dir.join("fork-chain.test.yaml")).expect("copy fixture");
    let out = tpc()
        .env_remove("TPC_SHARED")
        .arg("test")
        .arg(&dir)
        .output()
        .expect("tpc runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let errors: Vec<&str> = stdout.lines().filter(|l| l.starts_with("ERROR ")).collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(
        errors[0].contains("corpus-keystore-read.test.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("needs ../shared/corpus/tetragon-events; not found"),
        "{stdout}"
    );
    assert!(!stdout.contains("verdicts differ"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(
        stdout.contains("2 files: 1 passed, 0 failed, 1 not run (missing data)"),
        "{stdout}"
    );
    // `$TPC_SHARED` naming a folder without the corpus: the path it needs
    let empty = dir.join("empty-shared");
    std::fs::create_dir_all(&empty).expect("scratch folder");
    let out = tpc()
        .env("TPC_SHARED", &empty)
        .args(["test", "--format", "json"])
        .arg(dir.join("corpus-keystore-read.test.yaml"))
        .output()
        .expect("tpc runs");
    assert_eq!(out.status.code(), Some(1));
    let line: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).expect("json");
    assert_eq!(line["passed"], false);
    let wanted = format!(
        "needs {}; not found",
        empty.join("corpus/tetragon-events").display()
    );
    assert!(
        line["error"]
            .as_str()
            .is_some_and(|e| e.starts_with(&wanted)),
        "{line}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
