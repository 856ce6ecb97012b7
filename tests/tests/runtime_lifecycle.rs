//! Kernel tests: `tpc run` (the real binary) reports known workloads' exec and exit events exactly (statuses and the signals that ended processes), and its JSON parses back into the shared event model unchanged and replays in `tpc replay`.

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
    collections::HashMap,
    fs,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use runtime_support::{ScratchDir, kernel_test_can_run, probe_copy, tpc_binary};
use serde_json::Value;

/// One exec or exit line of the stream, with what the test checks.
#[derive(Debug, Clone)]
struct Seen {
    index: usize,
    kind: String,
    pid: u64,
    binary: String,
    arguments: String,
    exec_id: String,
    parent_exec_id: String,
    parent_pid: Option<u64>,
    status: u64,
}

fn seen(index: usize, line: &Value) -> Option<Seen> {
    let (kind, body) = line
        .as_object()?
        .iter()
        .find(|(key, _)| key.starts_with("process_"))?;
    let process = &body["process"];
    Some(Seen {
        index,
        kind: kind.clone(),
        pid: process["pid"].as_u64()?,
        binary: process["binary"].as_str().unwrap_or_default().to_owned(),
        arguments: process["arguments"].as_str().unwrap_or_default().to_owned(),
        exec_id: process["exec_id"].as_str().unwrap_or_default().to_owned(),
        parent_exec_id: process["parent_exec_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        parent_pid: body["parent"]["pid"].as_u64(),
        status: body["status"].as_u64().unwrap_or(0),
    })
}

/// `tpc run --output compact --output-file FILE`, started and attached.
struct Runtime {
    child: std::process::Child,
    stderr_reader: std::thread::JoinHandle<String>,
    stdout_reader: std::thread::JoinHandle<String>,
}

impl Runtime {
    /// Starts the runtime and waits until it says it is attached.
    fn start(tpc: &std::path::Path, events_file: &std::path::Path) -> Self {
        let mut child = Command::new(tpc)
            .args(["run", "--output", "compact", "--output-file"])
            .arg(events_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (ready_sender, ready) = mpsc::channel();
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap_or_default();
                if line.contains("attached") {
                    let _ignored = ready_sender.send(());
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        let stdout = child.stdout.take().unwrap();
        let stdout_reader = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stdout).lines() {
                text.push_str(&line.unwrap_or_default());
                text.push('\n');
            }
            text
        });
        if ready.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ignored = child.kill();
            let _ignored = child.wait();
            panic!(
                "tpc run never attached; stderr:\n{}",
                stderr_reader.join().unwrap()
            );
        }
        Runtime {
            child,
            stderr_reader,
            stdout_reader,
        }
    }

    /// Stops it with SIGINT; asserts a clean stop; returns stderr and stdout.
    fn stop(mut self) -> (String, String) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let stderr_text = self.stderr_reader.join().unwrap();
        let stdout_text = self.stdout_reader.join().unwrap();
        assert!(exit.success(), "tpc run failed: {exit:?}\n{stderr_text}");
        assert!(stderr_text.contains("stopped"), "{stderr_text}");
        (stderr_text, stdout_text)
    }
}

#[test]
fn tpc_run_reports_exact_exec_and_exit_events_of_a_workload() {
    if !kernel_test_can_run("tpc_run_reports_exact_exec_and_exit_events_of_a_workload") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("lifecycle");
    let probe = probe_copy("/bin/sh", &scratch.path, "tpc-probe");
    let probe_text = probe.to_string_lossy().into_owned();
    let shell = fs::canonicalize("/bin/sh")
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let true_binary = fs::canonicalize("/bin/true")
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let events_file = scratch.path.join("events.jsonl");

    let runtime = Runtime::start(&tpc, &events_file);

    // The workload: a shell that forks /bin/true and the probe twice, one
    // run exiting 7.
    let script = r#"/bin/true; "$PROBE" -c 'exit 7' probe-one "two words"; "$PROBE" -c 'exit 0' probe-two; exit 0"#;
    let mut workload = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .env("PROBE", &probe)
        .spawn()
        .unwrap();
    let workload_pid = u64::from(workload.id());
    assert!(workload.wait().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));

    let (stderr_text, stdout_text) = runtime.stop();

    let text = fs::read_to_string(&events_file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty());

    // Every line parses into the shared event model and writes back unchanged.
    for line in &lines {
        let event =
            tpc_events::Event::from_json(line).unwrap_or_else(|error| panic!("{error}: {line}"));
        assert_eq!(&event.to_json_line(), line);
    }

    // The same file replays in the simulator: one verdict line per event,
    // none malformed, with the process tree built from these events.
    let policy_file = scratch.path.join("replay-policy.yaml");
    fs::write(
        &policy_file,
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: probe-children}\nspec:\n  kprobes:\n  - call: sys_write\n    syscall: true\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [\"PROBE\"]\n        followChildren: true\n"
            .replace("PROBE", &probe_text),
    )
    .unwrap();
    let replay = Command::new(&tpc)
        .arg("replay")
        .arg("--verdicts")
        .arg("--strict")
        .arg(&policy_file)
        .arg(&events_file)
        .output()
        .unwrap();
    let replay_stderr = String::from_utf8_lossy(&replay.stderr);
    assert!(
        replay.status.success(),
        "tpc replay failed on tpc run's output: {replay_stderr}"
    );
    let verdicts: Vec<Value> = String::from_utf8_lossy(&replay.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        verdicts.len(),
        lines.len(),
        "one verdict per event: {replay_stderr}"
    );
    for (i, verdict) in verdicts.iter().enumerate() {
        assert_eq!(verdict["position"], i + 1, "{verdict}");
    }
    assert!(replay_stderr.contains(" 0 malformed"), "{replay_stderr}");

    let values: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let all: Vec<Seen> = values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| seen(index, value))
        .collect();

    // the workload shell
    let shell_exec = all
        .iter()
        .find(|event| event.kind == "process_exec" && event.pid == workload_pid)
        .unwrap_or_else(|| panic!("no exec of the workload shell {workload_pid}"));
    assert_eq!(shell_exec.binary, shell);
    assert_eq!(
        shell_exec.parent_pid,
        Some(u64::from(std::process::id())),
        "the shell's parent is this test"
    );
    assert!(
        !shell_exec.parent_exec_id.is_empty(),
        "the test process was seeded from /proc"
    );

    let children: Vec<&Seen> = all
        .iter()
        .filter(|event| event.parent_exec_id == shell_exec.exec_id)
        .collect();
    let execs: Vec<&&Seen> = children
        .iter()
        .filter(|event| event.kind == "process_exec")
        .collect();
    let described: Vec<(String, String)> = execs
        .iter()
        .map(|event| (event.binary.clone(), event.arguments.clone()))
        .collect();
    assert_eq!(
        described,
        vec![
            (true_binary.clone(), String::new()),
            (
                probe_text.clone(),
                r#"-c "exit 7" probe-one "two words""#.to_owned()
            ),
            (probe_text.clone(), "-c \"exit 0\" probe-two".to_owned()),
        ],
        "child execs of the workload shell, in order"
    );
    let expected_status: HashMap<&str, u64> = HashMap::from([
        (true_binary.as_str(), 0),
        ("probe-one", 7),
        ("probe-two", 0),
    ]);
    for exec in &execs {
        assert_eq!(exec.parent_pid, Some(workload_pid));
        let exits: Vec<&Seen> = all
            .iter()
            .filter(|event| event.kind == "process_exit" && event.exec_id == exec.exec_id)
            .collect();
        assert_eq!(exits.len(), 1, "one exit for {exec:?}");
        let exit = exits[0];
        assert!(exit.index > exec.index, "exec before exit for {exec:?}");
        assert_eq!(exit.pid, exec.pid);
        assert_eq!(exit.binary, exec.binary);
        let key = if exec.binary == true_binary {
            true_binary.as_str()
        } else if exec.arguments.contains("probe-one") {
            "probe-one"
        } else {
            "probe-two"
        };
        assert_eq!(exit.status, expected_status[key], "exit status of {exec:?}");
    }
    // children exec after the shell did, and the shell exits last, with 0
    assert!(execs.iter().all(|exec| exec.index > shell_exec.index));
    let shell_exit = all
        .iter()
        .find(|event| event.kind == "process_exit" && event.exec_id == shell_exec.exec_id)
        .expect("exit of the workload shell");
    assert_eq!(shell_exit.status, 0);
    assert!(children.iter().all(|child| child.index < shell_exit.index));

    // the compact stream says the same in its own words
    let probe_exit_line = format!("💥 exit    {}", execs[1].pid);
    let compact_exit = stdout_text
        .lines()
        .find(|line| line.starts_with(&probe_exit_line))
        .expect("compact exit line");
    assert!(
        compact_exit.contains(&probe_text) && compact_exit.ends_with(" 7"),
        "{compact_exit}"
    );
    assert!(
        stdout_text
            .lines()
            .any(|line| line.starts_with("🚀 process") && line.contains("probe-one"))
    );

    // nothing was lost, or the loss was reported
    let lost_lines = values
        .iter()
        .filter(|value| value.get("rate_limit_info").is_some())
        .count();
    assert!(
        stderr_text.contains(" 0 lost") || lost_lines > 0,
        "{stderr_text}"
    );
    println!(
        "tpc run: {} JSON lines; workload shell {workload_pid}; {stderr_text}",
        lines.len()
    );
}

#[test]
fn tpc_run_without_privileges_says_what_is_missing() {
    // Dropping root needs root; the check itself needs the BPF objects.
    if !kernel_test_can_run("tpc_run_without_privileges_says_what_is_missing") {
        return;
    }
    let tpc = tpc_binary();
    let output = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&tpc)
        .arg("run")
        .output()
        .expect("setpriv (util-linux) runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("needs root") && stderr.contains("sudo tpc run"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn tpc_run_reports_the_signal_that_ended_a_process() {
    if !kernel_test_can_run("tpc_run_reports_the_signal_that_ended_a_process") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("signals");
    let probe = probe_copy("/bin/sh", &scratch.path, "tpc-signal-probe");
    let probe_text = probe.to_string_lossy().into_owned();
    let events_file = scratch.path.join("events.jsonl");
    let runtime = Runtime::start(&tpc, &events_file);

    // Each probe kills itself: SIGTERM, SIGKILL; the last one exits 3.
    let script = r#""$PROBE" -c 'kill -TERM $$' probe-term; "$PROBE" -c 'kill -KILL $$' probe-kill; "$PROBE" -c 'exit 3' probe-three; exit 0"#;
    let mut workload = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .env("PROBE", &probe)
        .spawn()
        .unwrap();
    assert!(workload.wait().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    let (stderr_text, stdout_text) = runtime.stop();

    let text = fs::read_to_string(&events_file).unwrap();
    let values: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let exit_of = |marker: &str| -> &Value {
        let exits: Vec<&Value> = values
            .iter()
            .filter(|value| {
                let process = &value["process_exit"]["process"];
                process["binary"] == probe_text.as_str()
                    && process["arguments"]
                        .as_str()
                        .is_some_and(|a| a.ends_with(marker))
            })
            .collect();
        assert_eq!(exits.len(), 1, "one exit of {marker}: {stderr_text}");
        &exits[0]["process_exit"]
    };
    let term = exit_of("probe-term");
    assert_eq!(term["signal"], "SIGTERM", "{term}");
    let kill = exit_of("probe-kill");
    assert_eq!(kill["signal"], "SIGKILL", "{kill}");
    for killed in [term, kill] {
        assert!(
            killed["status"].is_null() || killed["status"] == 0,
            "{killed}"
        );
    }
    let three = exit_of("probe-three");
    assert_eq!(three["status"], 3, "{three}");
    assert!(three.get("signal").is_none_or(Value::is_null), "{three}");
    assert!(
        stdout_text
            .lines()
            .any(|line| line.starts_with("💥 exit") && line.ends_with(" SIGKILL")),
        "{stdout_text}"
    );
}
