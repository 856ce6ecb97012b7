//! Uprobes on this machine's kernel, through the real binaries: a policy on
//! libc's `unlinkat` (found with `ldd`, so the test needs no compiler) with
//! a Postfix on the path argument and Sigkill. `rm` of the matching name is
//! killed before the call runs (the file stays) and posts one
//! `process_uprobe` event with the path; `rm` of another name works. A
//! uretprobe on the same function kills at the return: `rm` of a missing
//! file of the matching name (`unlinkat` returns -1) is killed after the
//! call and posts one event with the return value after the arguments, as
//! Tetragon merges it; `rm` of a present file of that name (0) is not.
//! A `char_iovec` argument on libc's `writev` (Python's `os.writev`) reads
//! the buffers as Tetragon does.

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
    fs,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use runtime_support::{ScratchDir, TpcRun, build_bundle, kernel_test_can_run, tpc_binary};
use serde_json::Value;

/// The libc `rm` runs with, from `ldd`.
fn libc_of(binary: &str) -> PathBuf {
    let output = Command::new("ldd").arg(binary).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("libc.so"))
        .unwrap_or_else(|| panic!("no libc in `ldd {binary}`:\n{text}"));
    let path = line
        .split_whitespace()
        .find(|w| w.starts_with('/'))
        .unwrap_or_else(|| panic!("no libc path in `{line}`"));
    fs::canonicalize(path).unwrap()
}

fn policy(libc: &Path) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: uprobe-unlinkat
spec:
  uprobes:
  - path: "{}"
    symbols:
    - "unlinkat"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Postfix"
        values:
        - "tpc-uprobe-target"
      matchActions:
      - action: Sigkill
"#,
        libc.display()
    )
}

#[test]
fn uprobe_on_libc_kills_the_matching_call_and_posts_it() {
    if !kernel_test_can_run("uprobe_on_libc_kills_the_matching_call_and_posts_it") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("uprobe");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let libc = libc_of("/bin/rm");
    let bundle = build_bundle(&tpc, &dir, "uprobe", &policy(&libc));
    let target = dir.join("tpc-uprobe-target");
    let other = dir.join("other-file");
    fs::write(&target, "t").unwrap();
    fs::write(&other, "o").unwrap();

    let run = TpcRun::start(&tpc, &[bundle.as_os_str()]).unwrap();
    let killed = Command::new("/bin/rm").arg(&target).output().unwrap();
    let spared = Command::new("/bin/rm").arg(&other).output().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");

    assert_eq!(
        killed.status.signal(),
        Some(9),
        "rm of the target was not killed: {:?}\n{stderr}",
        killed.status
    );
    assert!(target.exists(), "the target was removed before the kill");
    assert!(spared.status.success(), "rm of another file: {spared:?}");
    assert!(!other.exists(), "the other file was not removed");

    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|e| e["process_uprobe"]["policy_name"] == "uprobe-unlinkat")
        .collect();
    assert_eq!(events.len(), 1, "posted events: {events:#?}\n{stderr}");
    let event = &events[0]["process_uprobe"];
    assert_eq!(event["path"], libc.display().to_string());
    assert_eq!(event["symbol"], "unlinkat");
    assert_eq!(event["action"], "KPROBE_ACTION_SIGKILL");
    assert_eq!(
        event["process"]["binary"],
        fs::canonicalize("/bin/rm").unwrap().display().to_string()
    );
    assert_eq!(event["args"][1]["string_arg"], target.display().to_string());
}

fn return_policy(libc: &Path) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: uretprobe-unlinkat
spec:
  uprobes:
  - path: "{}"
    symbols:
    - "unlinkat"
    return: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Postfix"
        values:
        - "tpc-uretprobe-target"
      matchReturnArgs:
      - index: 0
        operator: "Equal"
        values:
        - "-1"
      matchReturnActions:
      - action: Sigkill
"#,
        libc.display()
    )
}

#[test]
fn uretprobe_on_libc_kills_at_the_return_it_filters_on() {
    if !kernel_test_can_run("uretprobe_on_libc_kills_at_the_return_it_filters_on") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("uretprobe");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let libc = libc_of("/bin/rm");
    let bundle = build_bundle(&tpc, &dir, "uretprobe", &return_policy(&libc));
    let present = dir.join("present-tpc-uretprobe-target");
    let missing = dir.join("missing-tpc-uretprobe-target");
    fs::write(&present, "p").unwrap();

    let run = TpcRun::start(&tpc, &[bundle.as_os_str()]).unwrap();
    let removed = Command::new("/bin/rm").arg(&present).output().unwrap();
    let killed = Command::new("/bin/rm").arg(&missing).output().unwrap();
    let other = Command::new("/bin/rm")
        .arg(dir.join("missing-other"))
        .output()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");

    assert!(
        removed.status.success() && !present.exists(),
        "rm of the present target: {removed:?}\n{stderr}"
    );
    assert_eq!(
        killed.status.signal(),
        Some(9),
        "rm of the missing target was not killed at the return: {:?}\n{stderr}",
        killed.status
    );
    assert_eq!(
        other.status.code(),
        Some(1),
        "rm of another missing file: {other:?}"
    );

    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|e| e["process_uprobe"]["policy_name"] == "uretprobe-unlinkat")
        .collect();
    assert_eq!(events.len(), 1, "posted events: {events:#?}\n{stderr}");
    let event = &events[0]["process_uprobe"];
    assert_eq!(event["symbol"], "unlinkat");
    assert_eq!(event["action"], "KPROBE_ACTION_POST");
    assert_eq!(
        event["args"][1]["string_arg"],
        missing.display().to_string()
    );
    assert_eq!(
        event["args"][2]["int_arg"], -1,
        "the return value follows the arguments: {event:#}"
    );
    assert_eq!(event["args"].as_array().map(Vec::len), Some(3));
}

/// `char_iovec` on libc's `writev`, called by Debian's Python
/// (`os.writev`): the buffers one after the other, at most seven as
/// Tetragon reads them, and a buffer over 4094 bytes is Tetragon's error.
#[test]
fn char_iovec_on_writev_reads_the_buffers_as_tetragon_does() {
    let test = "char_iovec_on_writev_reads_the_buffers_as_tetragon_does";
    if !kernel_test_can_run(test) {
        return;
    }
    let Ok(python) = fs::canonicalize("/usr/bin/python3") else {
        assert!(!runtime_support::in_ci(), "{test}: no /usr/bin/python3");
        eprintln!("{test}: skipped: no /usr/bin/python3");
        return;
    };
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("iovec");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let libc = libc_of(&python.display().to_string());
    let policy = format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: uprobe-writev
spec:
  uprobes:
  - path: "{}"
    symbols: ["writev"]
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "char_iovec"
      sizeArgIndex: 3
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["77"]
      matchBinaries:
      - operator: "In"
        values: ["{}"]
"#,
        libc.display(),
        python.display()
    );
    let bundle = build_bundle(&tpc, &dir, "writev", &policy);
    let run = TpcRun::start(&tpc, &[bundle.as_os_str()]).unwrap();
    let script = format!(
        "import os\nfd = os.open('{}', os.O_WRONLY | os.O_CREAT)\nos.dup2(fd, 77)\nos.writev(77, [b'tpc-', b'iovec-', b'ok'])\nos.writev(77, [b'x' * 5000])\nos.writev(77, [b'a', b'b'] * 5)\n",
        dir.join("out").display()
    );
    let wrote = Command::new(&python)
        .args(["-S", "-c", &script])
        .current_dir("/")
        .output()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");
    assert!(wrote.status.success(), "python: {wrote:?}");
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|e| e["process_uprobe"]["policy_name"] == "uprobe-writev")
        .collect();
    let buffers: Vec<(String, i64)> = events
        .iter()
        .map(|e| {
            let args = &e["process_uprobe"]["args"];
            let bytes = args[1]["bytes_arg"].as_str().unwrap_or_default();
            let decoded = tpc_events::Base64Bytes::from_text(bytes)
                .map(|b| b.decode())
                .unwrap_or_default();
            (
                String::from_utf8_lossy(&decoded).into_owned(),
                args[2]["int_arg"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        buffers,
        vec![
            ("tpc-iovec-ok".to_owned(), 3),
            ("CharBufErrorBufTooLarge".to_owned(), 1),
            ("abababa".to_owned(), 10),
        ],
        "{events:#?}\n{stderr}"
    );
}
