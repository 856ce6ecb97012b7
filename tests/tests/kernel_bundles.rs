//! Kernel tests of `tpc run` with bundles (the real binaries): a Sigkill
//! policy kills exactly the calls it names and posts exactly them; signed
//! bundles run under `--trust` and others are refused; a tampered bundle and
//! one whose requirements the kernel fails are refused with the reason;
//! after SIGINT, SIGTERM or a load that fails midway no program, map or
//! link of ours is left.

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
    path::Path,
    process::{Command, Output},
    sync::Mutex,
    time::{Duration, Instant},
};

use runtime_support::{
    BpfInventory, ScratchDir, TpcRun, kernel_test_can_run, openat_prefix_policy, probe_copy,
    tpc_binary,
};
use serde_json::Value;

/// One `tpc run` at a time: the cleanup counts must not see another's
/// objects.
static KERNEL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    KERNEL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn openat_policy(name: &str, prefix: &Path, binary: &Path, action: &str) -> String {
    openat_prefix_policy(name, &[prefix.display().to_string()], &[binary], action)
}

fn build(tpc: &Path, policy: &Path, out: &Path, extra: &[&str]) {
    let output = Command::new(tpc)
        .arg("build")
        .arg(policy)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tpc build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn start<S: AsRef<std::ffi::OsStr>>(
    tpc: &Path,
    args: &[S],
) -> Result<TpcRun, (std::process::ExitStatus, String)> {
    TpcRun::start(tpc, args)
}

fn run_probe(binary: &Path, path: &Path) -> Output {
    Command::new(binary).arg(path).output().unwrap()
}

/// Waits until no object of ours is left, then asserts it.
fn assert_nothing_left(when: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut now = BpfInventory::now().ours();
    while now != BpfInventory::default() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        now = BpfInventory::now().ours();
    }
    assert_eq!(now, BpfInventory::default(), "objects left after {when}");
}

fn policy_events(stdout: &str, policy: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["process_tracepoint"]["policy_name"] == policy)
        .collect()
}

#[test]
fn sigkill_on_prefix_and_binary_kills_exactly_the_matching_calls() {
    let _kernel = lock();
    if !kernel_test_can_run("sigkill_on_prefix_and_binary_kills_exactly_the_matching_calls") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("kill");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let victim = probe_copy("/bin/cat", &dir, "tpc-victim");
    let bystander = probe_copy("/bin/cat", &dir, "tpc-bystander");
    let guarded = dir.join("guarded");
    fs::create_dir(&guarded).unwrap();
    let secret = guarded.join("secret.txt");
    let open = dir.join("open.txt");
    fs::write(&secret, "s\n").unwrap();
    fs::write(&open, "o\n").unwrap();
    let policy = dir.join("kill.yaml");
    fs::write(
        &policy,
        openat_policy("kill-guarded", &guarded, &victim, "Sigkill"),
    )
    .unwrap();
    let bundle = dir.join("kill.tpcb");
    build(&tpc, &policy, &bundle, &[]);

    let run = start(&tpc, &[bundle.as_os_str()]).unwrap();
    let killed = run_probe(&victim, &secret);
    let other_path = run_probe(&victim, &open);
    let other_binary = run_probe(&bystander, &secret);
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");

    assert_eq!(
        killed.status.signal(),
        Some(9),
        "the victim opening {} was not killed: {:?}\n{stderr}",
        secret.display(),
        killed.status
    );
    assert!(
        killed.stdout.is_empty(),
        "the victim read the file before it died"
    );
    assert!(
        other_path.status.success(),
        "the victim was stopped opening another path"
    );
    assert_eq!(other_path.stdout, b"o\n");
    assert!(
        other_binary.status.success(),
        "another binary was stopped opening the path"
    );
    assert_eq!(other_binary.stdout, b"s\n");

    let events = policy_events(&stdout, "kill-guarded");
    assert_eq!(events.len(), 1, "posted events: {events:#?}\n{stderr}");
    let event = &events[0]["process_tracepoint"];
    assert_eq!(event["process"]["binary"], victim.display().to_string());
    assert_eq!(event["action"], "KPROBE_ACTION_SIGKILL");
    assert_eq!(event["subsys"], "syscalls");
    assert_eq!(event["event"], "sys_enter_openat");
    assert_eq!(event["args"][0]["string_arg"], secret.display().to_string());
    assert_nothing_left("SIGINT");
}

#[test]
fn signed_bundles_run_under_trust_and_others_are_refused() {
    let _kernel = lock();
    if !kernel_test_can_run("signed_bundles_run_under_trust_and_others_are_refused") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("trust");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let policy = dir.join("post.yaml");
    fs::write(
        &policy,
        openat_policy("post-trust", &dir, Path::new("/bin/nonexistent"), "Post"),
    )
    .unwrap();
    for (name, key) in [("ours", "ours.key"), ("theirs", "theirs.key")] {
        let status = Command::new(&tpc)
            .args(["keygen", "-o"])
            .arg(dir.join(key))
            .status()
            .unwrap();
        assert!(status.success(), "keygen {name}");
    }
    let signed = dir.join("signed.tpcb");
    let foreign = dir.join("foreign.tpcb");
    let unsigned = dir.join("unsigned.tpcb");
    build(
        &tpc,
        &policy,
        &signed,
        &["--sign", &dir.join("ours.key").display().to_string()],
    );
    build(
        &tpc,
        &policy,
        &foreign,
        &["--sign", &dir.join("theirs.key").display().to_string()],
    );
    build(&tpc, &policy, &unsigned, &[]);
    let trust = dir.join("ours.key.pub");

    let run = start(
        &tpc,
        &["--trust".as_ref(), trust.as_os_str(), signed.as_os_str()],
    )
    .unwrap_or_else(|(status, stderr)| {
        panic!("the signed bundle did not run: {status:?}\n{stderr}")
    });
    let (stderr, _) = run.stop("-TERM");
    assert!(stderr.contains("signed"), "{stderr}");
    assert_nothing_left("SIGTERM");

    for (bundle, why) in [(&unsigned, "not signed"), (&foreign, "key")] {
        let Err((status, stderr)) = start(
            &tpc,
            &["--trust".as_ref(), trust.as_os_str(), bundle.as_os_str()],
        ) else {
            panic!("{} ran under --trust", bundle.display());
        };
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(why),
            "refusing {} should say `{why}`: {stderr}",
            bundle.display()
        );
        assert!(
            !stderr.contains("base sensor attached"),
            "the sensor started before the bundle was refused: {stderr}"
        );
    }
    // without --trust, any intact bundle runs, signed or not
    let run = start(&tpc, &[unsigned.as_os_str()]).unwrap();
    run.stop("-INT");
    assert_nothing_left("SIGINT");
}

fn rewrite(bundle: &Path, out: &Path, change: impl FnOnce(&mut tpc_bundle::Bundle)) {
    let bytes = fs::read(bundle).unwrap();
    let mut decoded = tpc_bundle::decode(&bytes, None).unwrap().bundle;
    change(&mut decoded);
    fs::write(out, tpc_bundle::encode(&decoded, None).unwrap()).unwrap();
}

#[test]
fn tampered_and_unsatisfiable_bundles_are_refused_with_the_reason() {
    let _kernel = lock();
    if !kernel_test_can_run("tampered_and_unsatisfiable_bundles_are_refused_with_the_reason") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("refuse");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let policy = dir.join("post.yaml");
    fs::write(
        &policy,
        openat_policy("post-refuse", &dir, Path::new("/bin/nonexistent"), "Post"),
    )
    .unwrap();
    let good = dir.join("good.tpcb");
    build(&tpc, &policy, &good, &[]);

    // one flipped byte in the middle of the file
    let mut bytes = fs::read(&good).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    let flipped = dir.join("flipped.tpcb");
    fs::write(&flipped, &bytes).unwrap();

    let future = dir.join("future.tpcb");
    rewrite(&good, &future, |b| {
        b.requirements.min_kernel = tpc_bundle::KernelVersion {
            major: 99,
            minor: 0,
        };
    });
    let missing = dir.join("missing.tpcb");
    rewrite(&good, &missing, |b| {
        for tp in &mut b.requirements.tracepoints {
            tp.event = "sys_enter_tpc_nonexistent".into();
        }
    });

    for (bundle, why) in [
        (&flipped, "digest does not match"),
        (&future, "99.0"),
        (&missing, "sys_enter_tpc_nonexistent"),
    ] {
        let Err((status, stderr)) = start(&tpc, &[bundle.as_os_str()]) else {
            panic!("{} ran", bundle.display());
        };
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(why),
            "refusing {} should say `{why}`: {stderr}",
            bundle.display()
        );
        assert_nothing_left(&format!("refusing {}", bundle.display()));
    }
}

#[test]
fn a_load_failing_midway_leaves_nothing() {
    let _kernel = lock();
    if !kernel_test_can_run("a_load_failing_midway_leaves_nothing") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("midway");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    // two hooks: the openat tracepoint attaches, then the raw tracepoint
    // (renamed after the build, its requirement dropped) does not exist
    let policy = dir.join("two.yaml");
    let mut text = openat_policy("two-hooks", &dir, Path::new("/bin/nonexistent"), "Post");
    text.push_str(
        "  - subsystem: raw_syscalls
    event: sys_enter
    raw: true
    args:
    - index: 1
      type: int64
    selectors:
    - matchBinaries:
      - operator: In
        values:
        - /bin/nonexistent
",
    );
    fs::write(&policy, text).unwrap();
    let good = dir.join("two.tpcb");
    build(&tpc, &policy, &good, &[]);
    let broken = dir.join("broken.tpcb");
    rewrite(&good, &broken, |b| {
        b.requirements.raw_tracepoints.clear();
        for policy in &mut b.policies {
            for hook in &mut policy.hooks {
                if let tpc_bundle::AttachPoint::RawTracepoint { event, .. } = &mut hook.attach {
                    *event = "tpc_no_such_raw_tracepoint".into();
                }
            }
        }
    });
    // the good bundle loads first, so the failure comes with programs of
    // both the base sensor and a bundle in the kernel
    let Err((status, stderr)) = start(&tpc, &[good.as_os_str(), broken.as_os_str()]) else {
        panic!("the broken bundle ran");
    };
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tpc_no_such_raw_tracepoint"), "{stderr}");
    assert!(
        stderr.contains("loaded"),
        "the good bundle did not load first: {stderr}"
    );
    assert_nothing_left("a failed load");
}

fn two_prefix_policy(name: &str, prefixes: &[&Path]) -> String {
    let prefixes: Vec<String> = prefixes
        .iter()
        .map(|p| format!("{}/", p.display()))
        .collect();
    openat_prefix_policy(name, &prefixes, &[], "Sigkill")
}

/// Runs `binary path` until it is killed (true) or `limit` passes (false).
fn killed_within(binary: &Path, path: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if run_probe(binary, path).status.signal() == Some(9) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn a_changed_bundle_is_reloaded_with_no_gap() {
    let _kernel = lock();
    if !kernel_test_can_run("a_changed_bundle_is_reloaded_with_no_gap") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("reload");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let victim = probe_copy("/bin/cat", &dir, "tpc-reload-cat");
    let (a, b) = (dir.join("a"), dir.join("b"));
    for d in [&a, &b] {
        fs::create_dir(d).unwrap();
        fs::write(d.join("f"), "x\n").unwrap();
    }
    let versions = [
        vec![a.as_path()],
        vec![a.as_path(), b.as_path()],
        vec![b.as_path()],
    ];
    let mut built = Vec::new();
    for (i, prefixes) in versions.iter().enumerate() {
        let policy = dir.join(format!("v{i}.yaml"));
        fs::write(&policy, two_prefix_policy("reload", prefixes)).unwrap();
        let out = dir.join(format!("v{i}.tpcb"));
        build(&tpc, &policy, &out, &[]);
        built.push(out);
    }
    let live = dir.join("live.tpcb");
    fs::copy(&built[0], &live).unwrap();
    let run = start(&tpc, &[live.as_os_str()]).unwrap();

    // a workload on `a` all along: every run must die, across both reloads
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workload = {
        let stop = std::sync::Arc::clone(&stop);
        let victim = victim.clone();
        let target = a.join("f");
        std::thread::spawn(move || {
            let mut results = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                results.push(run_probe(&victim, &target).status.signal());
            }
            results
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !killed_within(&victim, &b.join("f"), Duration::from_millis(300)),
        "version 0 killed on b"
    );
    // version 1 (a and b), announced by SIGHUP
    let next = dir.join("next.tpcb");
    fs::copy(&built[1], &next).unwrap();
    fs::rename(&next, &live).unwrap();
    run.signal("-HUP");
    let b_after_hup = killed_within(&victim, &b.join("f"), Duration::from_secs(5));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let a_runs = workload.join().unwrap();
    // version 2 (b only), noticed by its file changing
    fs::copy(&built[2], &next).unwrap();
    fs::rename(&next, &live).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut a_released = false;
    while Instant::now() < deadline {
        if run_probe(&victim, &a.join("f")).status.success() {
            a_released = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let b_still = killed_within(&victim, &b.join("f"), Duration::from_secs(1));
    let (stderr, _) = run.stop("-INT");

    let survivors = a_runs.iter().filter(|s| **s != Some(9)).count();
    println!(
        "{} runs on a during the first reload, {survivors} not killed",
        a_runs.len()
    );
    assert!(
        b_after_hup,
        "version 1 was not in force after SIGHUP:\n{stderr}"
    );
    assert!(a_runs.len() >= 5, "too few runs on a: {}", a_runs.len());
    assert_eq!(
        survivors, 0,
        "runs on a escaped during the reload:\n{stderr}"
    );
    assert!(
        a_released,
        "version 2 (the file changed) was not loaded:\n{stderr}"
    );
    assert!(b_still, "version 2 does not kill on b");
    assert_eq!(
        stderr.matches("tpc run: reloaded").count(),
        2,
        "two reloads reported:\n{stderr}"
    );
    assert_nothing_left("SIGINT after reloads");
}

/// A policy that posts every `write`, `tpc run`'s own included, feeds the
/// reader as fast as it reads: `--duration` and the final drain must still
/// end the run (they once waited for an empty ring buffer that never came).
#[test]
fn a_policy_on_the_readers_own_writes_still_lets_the_run_end() {
    let _kernel = lock();
    if !kernel_test_can_run("a_policy_on_the_readers_own_writes_still_lets_the_run_end") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("feedback");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let policy = dir.join("writes.yaml");
    fs::write(
        &policy,
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: every-write\nspec:\n  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_write\n    args:\n    - index: 5\n      type: int\n",
    )
    .unwrap();
    let bundle = dir.join("writes.tpcb");
    build(&tpc, &policy, &bundle, &[]);
    let events = dir.join("events.txt");
    let mut child = Command::new(&tpc)
        .args(["run", "--duration", "1", "-o", "compact"])
        .arg(&bundle)
        .stdout(fs::File::create(&events).unwrap())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // not a speed target: a run that has not ended long after its duration
    // is hung
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ignored = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ignored = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    let _ignored = child.wait();
    let status = status
        .unwrap_or_else(|| panic!("tpc run --duration 1 was still running after 60 s:\n{stderr}"));
    assert!(status.success(), "tpc run failed: {status:?}\n{stderr}");
    let posted = fs::read_to_string(&events).unwrap();
    assert!(
        posted.lines().any(|l| l.contains("sys_enter_write")),
        "no write was posted:\n{stderr}"
    );
    assert_nothing_left("a run on its own writes");
}

/// `vm_hooks` runs the bundle of `fixtures/policies/build/args-string.yaml`
/// built by `tpc build` on this machine in the Debian 6.1 and 6.12 guests;
/// here the same build (the same bytes: builds are deterministic) runs on
/// this machine's kernel and posts the same event.
#[test]
fn the_tracepoint_bundle_of_the_vm_tests_runs_here_too() {
    let _kernel = lock();
    if !kernel_test_can_run("the_tracepoint_bundle_of_the_vm_tests_runs_here_too") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("same-bundle");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let policy =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/policies/build/args-string.yaml");
    let bundle = dir.join("args-string.tpcb");
    build(&tpc, &policy, &bundle, &[]);
    let again = dir.join("again.tpcb");
    build(&tpc, &policy, &again, &[]);
    assert_eq!(
        fs::read(&bundle).unwrap(),
        fs::read(&again).unwrap(),
        "two builds differ"
    );
    let run = start(&tpc, &[bundle.as_os_str()]).unwrap();
    let _ignored = run_probe(Path::new("/bin/cat"), Path::new("/etc/gshadow"));
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");
    let opened: Vec<Value> = policy_events(&stdout, "args-string")
        .into_iter()
        .filter(|e| e["process_tracepoint"]["args"][0]["string_arg"] == "/etc/gshadow")
        .collect();
    assert!(
        !opened.is_empty(),
        "no sys_enter_openat event for /etc/gshadow:\n{stderr}"
    );
    assert_eq!(opened[0]["process_tracepoint"]["event"], "sys_enter_openat");
}
