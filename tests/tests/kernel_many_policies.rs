//! Kernel test: 100 policies on the same tracepoint, each in its own bundle
//! and scoped to its own cgroup (created here) with its own Prefix, run by
//! one `tpc run`. A process posts and is killed only by its own cgroup's
//! policy, and the kernel holds one program for the hook, not 100.

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
    collections::BTreeMap,
    ffi::OsString,
    fs,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use runtime_support::{
    BpfInventory, ScratchDir, TpcRun, kernel_test_can_run, openat_prefix_policy, probe_copy,
    tpc_binary,
};
use serde_json::Value;
use tpc::btf::KernelSelection;
use tpc::driver::{Input, KernelRequest};
use tpc_runtime::{BaseSensor, CgroupBinding, SensorEvent, SensorOptions, policies};

const POLICIES: usize = 100;

/// One sensor at a time: the program counts must not see another test's.
static KERNEL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    KERNEL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn build_policy(file: &Path) -> tpc_bundle::Bundle {
    let kernel = KernelRequest::Selected(vec![KernelSelection::Carried("6.18".into())]);
    let outcome = tpc::lower::build::build(&[Input::Path(file.to_path_buf())], &kernel).unwrap();
    outcome.bundle.expect("the policy builds")
}

fn policy(i: usize, guarded: &Path) -> String {
    openat_prefix_policy(
        &format!("many-{i}"),
        &[format!("{}/", guarded.display())],
        &[],
        "Sigkill",
    )
}

/// Cgroups under the cgroup v2 mount, removed on drop (after their
/// processes are gone).
struct Cgroups {
    root: PathBuf,
    relative: String,
}

impl Cgroups {
    fn new(label: &str, count: usize) -> Self {
        let mount = tpc_runtime::preflight::cgroup2_root().expect("a cgroup v2 mount");
        let relative = format!("tpc-{label}-{}", std::process::id());
        let root = mount.join(&relative);
        let _ignored = fs::remove_dir(&root);
        fs::create_dir(&root).unwrap();
        for i in 0..count {
            fs::create_dir(root.join(format!("w{i}"))).unwrap();
        }
        Cgroups { root, relative }
    }

    fn path(&self, i: usize) -> PathBuf {
        self.root.join(format!("w{i}"))
    }

    fn relative(&self, i: usize) -> String {
        format!("{}/w{i}", self.relative)
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        if let Ok(entries) = fs::read_dir(&self.root) {
            for entry in entries.flatten() {
                if entry.path().is_dir() {
                    let _ignored = fs::remove_dir(entry.path());
                }
            }
        }
        let _ignored = fs::remove_dir(&self.root);
    }
}

/// Runs `binary path` in cgroup `cgroup`; returns its pid and whether a
/// signal ended it.
fn run_in(cgroup: &Path, binary: &Path, path: &Path) -> (u32, Option<i32>) {
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec {} {} > /dev/null",
            cgroup.display(),
            binary.display(),
            path.display()
        ))
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    (pid, output.status.signal())
}

#[test]
fn a_hundred_cgroup_scoped_policies_share_one_program_and_stay_apart() {
    let _kernel = lock();
    if !kernel_test_can_run("a_hundred_cgroup_scoped_policies_share_one_program_and_stay_apart") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("many");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let reader = probe_copy("/bin/cat", &dir, "tpc-many-cat");
    let cgroups = Cgroups::new("many", POLICIES);
    let mut args: Vec<OsString> = Vec::new();
    for i in 0..POLICIES {
        let guarded = dir.join(format!("g{i}"));
        fs::create_dir(&guarded).unwrap();
        fs::write(guarded.join("f"), "x\n").unwrap();
        let file = dir.join(format!("many-{i}.yaml"));
        fs::write(&file, policy(i, &guarded)).unwrap();
        let bundle = build_policy(&file);
        let out = dir.join(format!("many-{i}.tpcb"));
        fs::write(&out, tpc_bundle::encode(&bundle, None).unwrap()).unwrap();
        args.push(out.into_os_string());
        args.push("--cgroup".into());
        args.push(format!("many-{i}={}", cgroups.relative(i)).into());
    }

    let started = Instant::now();
    let run = TpcRun::start(&tpc, &args)
        .unwrap_or_else(|(status, stderr)| panic!("tpc run did not start ({status:?}):\n{stderr}"));
    let load_time = started.elapsed();

    // one program for the hook, whatever the number of policies
    let running = BpfInventory::now().ours();
    let hook_programs: Vec<_> = running
        .programs
        .iter()
        .filter(|p| p.name.starts_with("tpc_tracepoint"))
        .collect();
    let hook_links: Vec<_> = running
        .links
        .iter()
        .filter(|l| hook_programs.iter().any(|p| Some(p.id) == l.prog_id))
        .collect();

    // each cgroup's process: its own guarded file (killed), the next
    // cgroup's guarded file (not its policy: runs), an unguarded file
    let mut own = BTreeMap::new();
    let mut problems = Vec::new();
    let open = dir.join("many-0.yaml");
    for i in 0..POLICIES {
        let mine = dir.join(format!("g{i}/f"));
        let next = dir.join(format!("g{}/f", (i + 1) % POLICIES));
        let (pid, signal) = run_in(&cgroups.path(i), &reader, &mine);
        if signal != Some(9) {
            problems.push(format!(
                "cgroup {i}: opening its own guarded file ended with {signal:?}, not SIGKILL"
            ));
        }
        own.insert(pid, i);
        let (pid, signal) = run_in(&cgroups.path(i), &reader, &next);
        if signal.is_some() {
            problems.push(format!(
                "cgroup {i}: opening cgroup {}'s guarded file was killed",
                (i + 1) % POLICIES
            ));
        }
        own.insert(pid, usize::MAX);
        let (_, signal) = run_in(&cgroups.path(i), &reader, &open);
        if signal.is_some() {
            problems.push(format!("cgroup {i}: opening an unguarded file was killed"));
        }
    }
    // and outside every cgroup, nothing applies
    let (_, signal) = run_in(&cgroups.root, &reader, &dir.join("g0/f"));
    if signal.is_some() {
        problems.push("outside the cgroups: a guarded file killed the reader".into());
    }
    std::thread::sleep(Duration::from_millis(500));
    let (stderr, stdout) = run.stop("-INT");

    let mut posted_per_policy: BTreeMap<String, usize> = BTreeMap::new();
    for line in stdout.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let tp = &event["process_tracepoint"];
        let Some(name) = tp["policy_name"].as_str() else {
            continue;
        };
        *posted_per_policy.entry(name.to_owned()).or_default() += 1;
        let pid = tp["process"]["pid"].as_u64().unwrap_or(0) as u32;
        let path = tp["args"][0]["string_arg"].as_str().unwrap_or_default();
        match own.get(&pid) {
            Some(&i) if i != usize::MAX && name == format!("many-{i}") => {
                let expected = dir.join(format!("g{i}/f")).display().to_string();
                if path != expected {
                    problems.push(format!("{name} posted {path} for pid {pid}"));
                }
            }
            _ => problems.push(format!("{name} posted an event of pid {pid} ({path})")),
        }
    }
    for i in 0..POLICIES {
        let n = posted_per_policy
            .get(&format!("many-{i}"))
            .copied()
            .unwrap_or(0);
        if n != 1 {
            problems.push(format!("many-{i} posted {n} events, not 1"));
        }
    }
    println!(
        "{POLICIES} bundles loaded and attached in {:.0} ms; hook programs {}, links {}",
        load_time.as_secs_f64() * 1000.0,
        hook_programs.len(),
        hook_links.len()
    );
    assert_eq!(
        hook_programs.len(),
        1,
        "programs for the hook: {hook_programs:?}"
    );
    assert_eq!(hook_links.len(), 1, "links for the hook: {hook_links:?}");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n{stderr}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn loading_and_unloading_other_policies_never_lets_a_workload_through() {
    let _kernel = lock();
    if !kernel_test_can_run("loading_and_unloading_other_policies_never_lets_a_workload_through") {
        return;
    }
    let scratch = ScratchDir::new("churn");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let reader = probe_copy("/bin/cat", &dir, "tpc-churn-cat");
    let cgroups = Cgroups::new("churn", 3);
    let mut bundles = Vec::new();
    for i in 0..3 {
        let guarded = dir.join(format!("g{i}"));
        fs::create_dir(&guarded).unwrap();
        fs::write(guarded.join("f"), "x\n").unwrap();
        let file = dir.join(format!("many-{i}.yaml"));
        fs::write(&file, policy(i, &guarded)).unwrap();
        bundles.push(build_policy(&file));
    }
    let refs: Vec<&tpc_bundle::Bundle> = bundles.iter().collect();
    let mut sensor = BaseSensor::start(&SensorOptions {
        node_name: Some("tpc-test".into()),
        map_sizes: policies::map_sizes(&refs),
        ..SensorOptions::default()
    })
    .unwrap();
    let bind = |i: usize| {
        vec![CgroupBinding {
            policy: format!("many-{i}"),
            path: PathBuf::from(cgroups.relative(i)),
        }]
    };
    // policy 0 stays; 1 and 2 come and go while cgroup 0's workload runs
    sensor.load_bundle(&bundles[0], "many-0", &bind(0)).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let workload = {
        let done = Arc::clone(&done);
        let cgroup = cgroups.path(0);
        let guarded = dir.join("g0/f");
        let reader = reader.clone();
        std::thread::spawn(move || {
            let mut runs = Vec::new();
            while !done.load(Ordering::Relaxed) || runs.len() < 50 {
                runs.push(run_in(&cgroup, &reader, &guarded));
                if runs.len() >= 400 {
                    break;
                }
            }
            runs
        })
    };
    let mut events = Vec::new();
    let mut churns = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !workload.is_finished() && Instant::now() < deadline {
        let one = sensor.load_bundle(&bundles[1], "many-1", &bind(1)).unwrap();
        let two = sensor.load_bundle(&bundles[2], "many-2", &bind(2)).unwrap();
        sensor
            .poll(Duration::from_millis(1), &mut |e| events.push(e))
            .unwrap();
        sensor.unload_bundle(one).unwrap();
        sensor
            .poll(Duration::from_millis(1), &mut |e| events.push(e))
            .unwrap();
        sensor.unload_bundle(two).unwrap();
        churns += 1;
        if churns >= 200 {
            done.store(true, Ordering::Relaxed);
        }
    }
    done.store(true, Ordering::Relaxed);
    let runs = workload.join().unwrap();
    let drain = Instant::now() + Duration::from_millis(500);
    while Instant::now() < drain {
        sensor
            .poll(Duration::from_millis(20), &mut |e| events.push(e))
            .unwrap();
    }
    let _summary = sensor.stop(&mut |e| events.push(e)).unwrap();

    let unkilled: Vec<_> = runs
        .iter()
        .filter(|(_, signal)| *signal != Some(9))
        .collect();
    let pids: Vec<u32> = runs.iter().map(|(pid, _)| *pid).collect();
    let posted: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            SensorEvent::Policy(p) if p.policy_name == "many-0" => Some(
                p.event
                    .process()
                    .and_then(|process| process.pid())
                    .unwrap_or(0),
            ),
            _ => None,
        })
        .collect();
    let lost: u64 = events
        .iter()
        .map(|e| match e {
            SensorEvent::Lost { dropped, .. } => dropped.total(),
            SensorEvent::PolicyLost { dropped, .. } => *dropped,
            _ => 0,
        })
        .sum();
    println!(
        "{} runs in cgroup 0 during {churns} load/unload rounds of two other policies; {} posted",
        runs.len(),
        posted.len()
    );
    assert!(
        churns >= 10,
        "only {churns} load/unload rounds ran beside the workload"
    );
    assert!(
        unkilled.is_empty(),
        "runs not killed while other policies changed: {unkilled:?}"
    );
    assert_eq!(lost, 0);
    let mut missing: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|p| !posted.contains(p))
        .collect();
    missing.sort_unstable();
    assert!(
        missing.is_empty(),
        "runs whose event was not posted: {missing:?}"
    );
    assert_eq!(posted.len(), runs.len(), "one event per run");
}

/// `tpc run --attach-per-bundle` (the comparison mode, Tetragon's way):
/// each bundle gets its own program and link on the shared tracepoint,
/// and the policies still stay apart.
#[test]
fn attach_per_bundle_gives_each_bundle_its_own_program() {
    const BUNDLES: usize = 3;
    let _kernel = lock();
    if !kernel_test_can_run("attach_per_bundle_gives_each_bundle_its_own_program") {
        return;
    }
    let tpc = tpc_binary();
    let scratch = ScratchDir::new("per-bundle");
    let dir = fs::canonicalize(&scratch.path).unwrap();
    let reader = probe_copy("/bin/cat", &dir, "tpc-perb-cat");
    let cgroups = Cgroups::new("per-bundle", BUNDLES);
    let mut args: Vec<OsString> = vec!["--attach-per-bundle".into()];
    for i in 0..BUNDLES {
        let guarded = dir.join(format!("g{i}"));
        fs::create_dir(&guarded).unwrap();
        fs::write(guarded.join("f"), "x\n").unwrap();
        let file = dir.join(format!("many-{i}.yaml"));
        fs::write(&file, policy(i, &guarded)).unwrap();
        let out = dir.join(format!("many-{i}.tpcb"));
        fs::write(
            &out,
            tpc_bundle::encode(&build_policy(&file), None).unwrap(),
        )
        .unwrap();
        args.push(out.into_os_string());
        args.push("--cgroup".into());
        args.push(format!("many-{i}={}", cgroups.relative(i)).into());
    }
    let run = TpcRun::start(&tpc, &args)
        .unwrap_or_else(|(status, stderr)| panic!("tpc run did not start ({status:?}):\n{stderr}"));
    let running = BpfInventory::now().ours();
    let hook_programs: Vec<_> = running
        .programs
        .iter()
        .filter(|p| p.name.starts_with("tpc_tracepoint"))
        .collect();
    let hook_links = running
        .links
        .iter()
        .filter(|l| hook_programs.iter().any(|p| Some(p.id) == l.prog_id))
        .count();
    let mut problems = Vec::new();
    for i in 0..BUNDLES {
        let (_, own) = run_in(&cgroups.path(i), &reader, &dir.join(format!("g{i}/f")));
        if own != Some(9) {
            problems.push(format!(
                "cgroup {i}: its own guarded file ended with {own:?}"
            ));
        }
        let next = (i + 1) % BUNDLES;
        let (_, other) = run_in(&cgroups.path(i), &reader, &dir.join(format!("g{next}/f")));
        if other.is_some() {
            problems.push(format!(
                "cgroup {i}: cgroup {next}'s guarded file ended with {other:?}"
            ));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, stdout) = run.stop("-INT");
    let mut posted: BTreeMap<String, usize> = BTreeMap::new();
    for line in stdout.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(name) = event["process_tracepoint"]["policy_name"].as_str() {
            *posted.entry(name.to_owned()).or_default() += 1;
        }
    }
    for i in 0..BUNDLES {
        let n = posted.get(&format!("many-{i}")).copied().unwrap_or(0);
        if n != 1 {
            problems.push(format!("many-{i} posted {n} events, not 1"));
        }
    }
    assert_eq!(
        hook_programs.len(),
        BUNDLES,
        "programs for the hook: {hook_programs:?}"
    );
    assert_eq!(hook_links, BUNDLES, "links for the hook");
    assert!(
        stderr.contains(&format!("({BUNDLES} programs, one per bundle)")),
        "{stderr}"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n{stderr}",
        problems.len(),
        problems.join("\n")
    );
}
