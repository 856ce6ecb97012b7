//! USDT probes on this machine's kernel, through Debian's Python (built
//! with SystemTap probes, each guarded by a semaphore that the kernel
//! counts while the probe is attached). `python:import__find__load__start`
//! (its argument `8@%rax`, a register) with Sigkill kills the import of one
//! module name and lets another import fail as usual; `python:gc__start`
//! (`-4@112(%rsp)`, memory at the stack pointer) posts the generation that
//! `gc.collect(1)` collects. Each posts a `process_usdt` event with the
//! probe and its arguments.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

#[expect(
    dead_code,
    reason = "each kernel test file uses a subset of the helpers"
)]
mod runtime_support;

use std::{fs, os::unix::process::ExitStatusExt, path::PathBuf, process::Command, time::Duration};

use runtime_support::{ScratchDir, TpcRun, build_bundle, in_ci, kernel_test_can_run, tpc_binary};
use serde_json::Value;

/// Debian's Python, whose notes carry the probes.
fn python() -> Option<PathBuf> {
    let path = fs::canonicalize("/usr/bin/python3").ok()?;
    let probes = tpc_runtime::usdt::sites(
        &path.display().to_string(),
        "python",
        "import__find__load__start",
    );
    probes.is_ok_and(|sites| !sites.is_empty()).then_some(path)
}

fn policy(python: &std::path::Path) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: usdt-python
spec:
  usdts:
  - path: "{0}"
    provider: "python"
    name: "import__find__load__start"
    args:
    - index: 0
      type: "string"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "tpc_usdt_kill_me"
      matchActions:
      - action: Sigkill
  - path: "{0}"
    provider: "python"
    name: "gc__start"
    args:
    - index: 0
      type: "int32"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "1"
"#,
        python.display()
    )
}

#[test]
fn usdt_probes_of_python_filter_kill_and_post_their_arguments() {
    let test = "usdt_probes_of_python_filter_kill_and_post_their_arguments";
    if !kernel_test_can_run(test) {
        return;
    }
    let Some(python) = python() else {
        assert!(
            !in_ci(),
            "{test}: /usr/bin/python3 has no SystemTap probes (install Debian's python3)"
        );
        eprintln!("{test}: skipped: /usr/bin/python3 has no SystemTap probes");
        return;
    };
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("usdt");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let bundle = build_bundle(&tpc, &dir, "usdt", &policy(&python));

    let run = TpcRun::start(&tpc, &[bundle.as_os_str()]).unwrap();
    let script = |body: &str| {
        Command::new(&python)
            .args(["-S", "-c", body])
            .current_dir("/")
            .output()
            .unwrap()
    };
    let killed = script("import tpc_usdt_kill_me");
    let spared = script(
        "try:\n    import tpc_usdt_spared\nexcept ImportError:\n    print('no such module')\n",
    );
    let collected = script("import gc\ngc.disable()\ngc.collect(1)\nprint('collected')\n");
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");

    assert_eq!(
        killed.status.signal(),
        Some(9),
        "the import of tpc_usdt_kill_me was not killed: {killed:?}\n{stderr}"
    );
    assert!(
        spared.status.success()
            && String::from_utf8_lossy(&spared.stdout).contains("no such module"),
        "another import: {spared:?}"
    );
    assert!(collected.status.success(), "gc.collect(1): {collected:?}");

    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|e| e["process_usdt"]["policy_name"] == "usdt-python")
        .collect();
    let python_path = python.display().to_string();
    let imports: Vec<&Value> = events
        .iter()
        .filter(|e| e["process_usdt"]["name"] == "import__find__load__start")
        .collect();
    assert_eq!(imports.len(), 1, "import events: {imports:#?}\n{stderr}");
    let import = &imports[0]["process_usdt"];
    assert_eq!(import["path"], python_path);
    assert_eq!(import["provider"], "python");
    assert_eq!(import["action"], "KPROBE_ACTION_SIGKILL");
    assert_eq!(import["args"][0]["string_arg"], "tpc_usdt_kill_me");
    assert_eq!(import["process"]["binary"], python_path);
    let collections: Vec<&Value> = events
        .iter()
        .filter(|e| e["process_usdt"]["name"] == "gc__start")
        .collect();
    assert!(
        !collections.is_empty()
            && collections
                .iter()
                .all(|e| e["process_usdt"]["args"][0]["int_arg"] == 1
                    && e["process_usdt"]["action"] == "KPROBE_ACTION_POST"),
        "gc__start events (generation 1 only): {collections:#?}\n{stderr}"
    );
}
