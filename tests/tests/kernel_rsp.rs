//! Kernel tests of RuntimeSecurityPolicy on this machine's kernel, which has
//! no kprobes and no BPF LSM, so `tpc build` chooses the tracepoint + Sigkill
//! strategy: a Block on an Execution of a copied binary kills it, a Block on
//! a File write under a path prefix kills the writer before the write, and
//! an Audit of a Network connect to a loopback port posts the event; each
//! end to end with `tpc build` and `tpc run`, with the event posted.

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
    fs, os::unix::process::ExitStatusExt, path::Path, process::Command, sync::Mutex, time::Duration,
};

use runtime_support::{ScratchDir, TpcRun, kernel_test_can_run, probe_copy, tpc_binary};
use serde_json::Value;

/// One `tpc run` at a time.
static KERNEL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    KERNEL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Builds `policy` for the running kernel; returns `tpc build`'s stderr,
/// which names the block strategy.
fn build(tpc: &Path, policy: &Path, out: &Path) -> String {
    let output = Command::new(tpc)
        .arg("build")
        .arg(policy)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "tpc build failed: {stderr}");
    stderr
}

fn tracepoint_events(stdout: &str, policy: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["process_tracepoint"]["policy_name"] == policy)
        .collect()
}

fn write_policy(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn execution_block_kills_the_copied_binary() {
    let _kernel = lock();
    if !kernel_test_can_run("execution_block_kills_the_copied_binary") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("rsp-exec");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let blocked = probe_copy("/bin/true", &dir, "tpc-rsp-blocked");
    let allowed = probe_copy("/bin/true", &dir, "tpc-rsp-allowed");
    let policy = write_policy(
        &dir,
        "rsp-exec",
        &format!(
            "apiVersion: cilium.io/v1alpha1\nkind: RuntimeSecurityPolicy\nmetadata:\n  name: rsp-exec\nspec:\n  selectors:\n    executableSelector:\n      matchPaths:\n      - pattern: Full\n        operator: In\n        values: [\"{}\"]\n  rules:\n  - type: Execution\n    action: Block\n",
            blocked.display()
        ),
    );
    let bundle = dir.join("rsp-exec.tpcb");
    let stderr = build(&tpc, &policy, &bundle);
    assert!(
        stderr.contains("block strategy") && stderr.contains("tracepoint"),
        "tpc build does not say it chose the tracepoint strategy: {stderr}"
    );

    let run = TpcRun::start(&tpc, &[bundle.as_os_str()]).unwrap();
    let killed = Command::new(&blocked).status().unwrap();
    let other = Command::new(&allowed).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");

    assert_eq!(
        killed.signal(),
        Some(9),
        "{} was not killed: {killed:?}\n{stderr}",
        blocked.display()
    );
    assert!(other.success(), "another copy was stopped: {other:?}");
    let events = tracepoint_events(&stdout, "rsp-exec");
    assert_eq!(events.len(), 1, "posted events: {events:#?}\n{stderr}");
    let event = &events[0]["process_tracepoint"];
    assert_eq!(event["event"], "sys_enter_execve");
    assert_eq!(event["action"], "KPROBE_ACTION_SIGKILL");
    assert_eq!(
        event["args"][0]["string_arg"],
        blocked.display().to_string()
    );
}

#[test]
fn file_write_block_under_a_prefix_kills_the_writer() {
    let _kernel = lock();
    if !kernel_test_can_run("file_write_block_under_a_prefix_kills_the_writer") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("rsp-file");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let writer = probe_copy("/bin/sh", &dir, "tpc-rsp-writer");
    let bystander = probe_copy("/bin/sh", &dir, "tpc-rsp-bystander");
    let guarded = dir.join("guarded");
    fs::create_dir(&guarded).unwrap();
    let target = guarded.join("config");
    let elsewhere = dir.join("elsewhere");
    let policy = write_policy(
        &dir,
        "rsp-file",
        &format!(
            "apiVersion: cilium.io/v1alpha1\nkind: RuntimeSecurityPolicy\nmetadata:\n  name: rsp-file\nspec:\n  selectors:\n    executableSelector:\n      matchPaths:\n      - pattern: Full\n        operator: In\n        values: [\"{}\"]\n  rules:\n  - type: File\n    action: Block\n    file:\n      operations: [write]\n      prefixes: [\"{}/\"]\n",
            writer.display(),
            guarded.display()
        ),
    );
    let bundle = dir.join("rsp-file.tpcb");
    build(&tpc, &policy, &bundle);

    let run = TpcRun::start(&tpc, &[bundle.as_os_str()]).unwrap();
    let sh = |binary: &Path, path: &Path| {
        Command::new(binary)
            .arg("-c")
            .arg(format!("echo written > '{}'", path.display()))
            .status()
            .unwrap()
    };
    let killed = sh(&writer, &target);
    let other_path = sh(&writer, &elsewhere);
    let other_binary = sh(&bystander, &guarded.join("by-bystander"));
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");

    assert_eq!(
        killed.signal(),
        Some(9),
        "the writer was not killed: {killed:?}\n{stderr}"
    );
    assert!(
        fs::read_to_string(&target).unwrap_or_default().is_empty(),
        "the write under the prefix happened"
    );
    assert!(other_path.success(), "a write elsewhere was stopped");
    assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "written\n");
    assert!(other_binary.success(), "another binary was stopped");
    let events = tracepoint_events(&stdout, "rsp-file");
    assert_eq!(events.len(), 1, "posted events: {events:#?}\n{stderr}");
    let event = &events[0]["process_tracepoint"];
    assert_eq!(event["event"], "sys_enter_openat");
    assert_eq!(event["action"], "KPROBE_ACTION_SIGKILL");
    assert_eq!(event["process"]["binary"], writer.display().to_string());
    assert_eq!(event["args"][0]["string_arg"], target.display().to_string());
}

#[test]
fn network_connect_audit_posts_the_loopback_connect() {
    let _kernel = lock();
    if !kernel_test_can_run("network_connect_audit_posts_the_loopback_connect") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("rsp-net");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let policy = write_policy(
        &dir,
        "rsp-net",
        &format!(
            "apiVersion: cilium.io/v1alpha1\nkind: RuntimeSecurityPolicy\nmetadata:\n  name: rsp-net\nspec:\n  rules:\n  - type: Network\n    action: Audit\n    network:\n      operations: [connect]\n      cidrs: [127.0.0.0/8]\n      ports: [{port}]\n"
        ),
    );
    let bundle = dir.join("rsp-net.tpcb");
    build(&tpc, &policy, &bundle);

    let run = TpcRun::start(&tpc, &[bundle.as_os_str()]).unwrap();
    let connected = std::net::TcpStream::connect(("127.0.0.1", port));
    // another port on loopback is not audited
    let _refused = std::net::TcpStream::connect(("127.0.0.1", port.wrapping_add(1).max(1)));
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");
    assert!(
        connected.is_ok(),
        "the audited connect failed: {connected:?}"
    );
    let events = tracepoint_events(&stdout, "rsp-net");
    assert_eq!(events.len(), 1, "posted events: {events:#?}\n{stderr}");
    let event = &events[0]["process_tracepoint"];
    assert_eq!(event["event"], "sys_enter_connect");
    assert_eq!(event["args"][0]["sockaddr_arg"]["port"], port);
    assert_eq!(event["args"][0]["sockaddr_arg"]["addr"], "127.0.0.1");
    drop(listener);
}
