//! Kernel tests of templates and bindings (CFP-4191 option 1):
//!
//! - the differential test on a template with two bindings scoped to two
//!   cgroups (created here, under the bench's): the kernel runs both from
//!   one program, each binding on its own cgroup's processes only; the
//!   observe-all twin's events, replayed through the simulator (told which
//!   cgroup each workload ran in), give exactly the events and actions the
//!   kernel posted, event for event;
//! - adding and removing bindings while a workload of another binding runs
//!   (one on another cgroup, one overriding the workload's own binding with
//!   a higher priority): every run of the workload is killed and posted
//!   once, by its binding or by the override, never by neither.

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
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use runtime_support::kernel_test_can_run;
use tpc_events::Event;
use tpc_runtime::{CgroupBinding, KernelBackend, SensorEvent};
use tpc_tests::differential::{Bench, Case, OBSERVER, compare_events_placed, observer_of};

/// One sensor at a time.
static KERNEL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    KERNEL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

const TEMPLATE: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicyTemplate
metadata:
  name: guard-files
spec:
  variables:
  - name: guarded
    type: string
  - name: tools
    type: string
  - name: watched
    type: string
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_openat
    args:
    - index: 6
      type: string
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        valuesFromVariable: guarded
      matchBinaries:
      - operator: In
        valuesFromVariable: tools
      matchActions:
      - action: Sigkill
    - matchArgs:
      - index: 0
        operator: Prefix
        valuesFromVariable: watched
";

/// A binding of [`TEMPLATE`].
fn binding(name: &str, cgroup: &str, guarded: &str, tools: &[&str], watched: &str) -> String {
    let tools: Vec<String> = tools.iter().map(|t| format!("\"{t}\"")).collect();
    format!(
        "---
apiVersion: cilium.io/v1alpha1
kind: TracingPolicyBinding
metadata:
  name: {name}
spec:
  templateRef:
    name: guard-files
  cgroups: [\"{cgroup}\"]
  bindings:
  - name: guarded
    values: [\"{guarded}\"]
  - name: tools
    values: [{}]
  - name: watched
    values: [\"{watched}\"]
",
        tools.join(", ")
    )
}

/// Sub-cgroups of the bench's cgroup, removed on drop (before the bench
/// removes its own).
struct SubCgroups {
    dirs: Vec<PathBuf>,
}

impl SubCgroups {
    fn new(bench: &Bench, names: &[&str]) -> Self {
        let dirs: Vec<PathBuf> = names.iter().map(|n| bench.cgroup_dir().join(n)).collect();
        for dir in &dirs {
            let _ignored = fs::remove_dir(dir);
            fs::create_dir(dir).unwrap();
        }
        SubCgroups { dirs }
    }
}

impl Drop for SubCgroups {
    fn drop(&mut self) {
        for dir in &self.dirs {
            let _ignored = fs::remove_dir(dir);
        }
    }
}

const WORKLOAD: &str = "
@cat@ @DIR@/g0/f > /dev/null
@head@ -c 1 @DIR@/g0/f > /dev/null
@cat@ @DIR@/g1/f > /dev/null
@head@ -c 1 @DIR@/g1/f > /dev/null
@cat@ /etc/hostname > /dev/null
true
";

#[test]
fn bindings_in_the_kernel_match_the_simulator_event_for_event() {
    let _kernel = lock();
    if !kernel_test_can_run("bindings_in_the_kernel_match_the_simulator_event_for_event") {
        return;
    }
    let mut bench = Bench::new("tpldiff");
    let cgroups = SubCgroups::new(&bench, &["web", "db"]);
    for g in ["g0", "g1"] {
        fs::create_dir_all(bench.dir.join(g)).unwrap();
        fs::write(bench.dir.join(g).join("f"), "x\n").unwrap();
    }
    let rel = bench.cgroup_rel().to_owned();
    let policy = format!(
        "{TEMPLATE}{}{}",
        binding(
            "web",
            &format!("{rel}/web"),
            "@DIR@/g0/",
            &["@cat@"],
            "@DIR@/g1/"
        ),
        binding(
            "db",
            &format!("{rel}/db"),
            "@DIR@/g1/",
            &["@head@"],
            "@DIR@/g0/"
        ),
    );
    let case = Case {
        name: "template-two-bindings".into(),
        policy,
        workload: WORKLOAD.into(),
    };
    let bundle = bench.build(&case);
    assert_eq!(bundle.policies.len(), 2);
    bench.start(&[&bundle]);
    // the bindings scope themselves (their `cgroups`); the observer sees
    // the whole bench cgroup, the two bindings' and the one between
    let observer = observer_of(&bundle);
    let watch_all: Vec<CgroupBinding> = observer
        .policies
        .iter()
        .map(|p| CgroupBinding {
            policy: p.name.clone(),
            path: PathBuf::from(&rel),
        })
        .collect();
    let sensor = bench.sensor();
    let tested = sensor.load_bundle(&bundle, &case.name, &[]).unwrap();
    let observed = sensor.load_bundle(&observer, OBSERVER, &watch_all).unwrap();
    assert_eq!(
        sensor.engine().attached().len(),
        1,
        "one program for both bindings and the observer"
    );
    let mut events = bench.startup().to_vec();
    let mut placements = Vec::new();
    let mut lost = 0;
    for (dir, cgroup) in cgroups.dirs.iter().zip(["web", "db"]) {
        let (more, dropped, pid) = bench.run_workload_in(WORKLOAD, &dir.join("cgroup.procs"));
        events.extend(more);
        lost += dropped;
        placements.push((pid, format!("{rel}/{cgroup}")));
    }
    // a process in the bench's cgroup but in neither binding's
    let procs = bench.cgroup_dir().join("cgroup.procs");
    let (more, dropped, pid) = bench.run_workload_in(WORKLOAD, &procs);
    events.extend(more);
    lost += dropped;
    placements.push((pid, rel.clone()));
    let sensor = bench.sensor();
    sensor.unload_bundle(observed).unwrap();
    sensor.unload_bundle(tested).unwrap();
    assert_eq!(lost, 0, "records were lost");

    let events: Vec<Event> = events.iter().map(|e| e.to_event("tpc-test")).collect();
    let outcome = compare_events_placed(&bundle, &events, &placements);
    let posted_by = |name: &str| {
        events
            .iter()
            .filter(|e| e.policy_name() == Some(name))
            .count()
    };
    eprintln!(
        "observed {}, posted {} (web {}, db {}), disagreements {}",
        outcome.observed,
        outcome.kernel_posted,
        posted_by("web"),
        posted_by("db"),
        outcome.disagreements.len()
    );
    // web: cat of g0 killed, cat and head of g1 watched; db: head of g1
    // killed, cat and head of g0 watched; the third workload: nothing
    assert_eq!(posted_by("web"), 3, "web posts in its own cgroup only");
    assert_eq!(posted_by("db"), 3, "db posts in its own cgroup only");
    assert!(outcome.observed >= 15, "the observer saw too little");
    assert!(
        outcome.disagreements.is_empty(),
        "kernel and simulator disagree:\n{}",
        outcome.disagreements.join("\n")
    );
}

/// Runs `binary path` in the cgroup directory `cgroup`; its pid and the
/// signal that ended it.
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
    let status = child.wait_with_output().unwrap().status;
    (pid, status.signal())
}

#[test]
fn adding_and_removing_bindings_never_lets_a_workload_through() {
    let _kernel = lock();
    if !kernel_test_can_run("adding_and_removing_bindings_never_lets_a_workload_through") {
        return;
    }
    let mut bench = Bench::new("tplchurn");
    let cgroups = SubCgroups::new(&bench, &["w0", "w1"]);
    for g in ["g0", "g1"] {
        fs::create_dir_all(bench.dir.join(g)).unwrap();
        fs::write(bench.dir.join(g).join("f"), "x\n").unwrap();
    }
    let rel = bench.cgroup_rel().to_owned();
    let with_override = |text: String, priority: i64| {
        text.replace(
            "  bindings:\n",
            &format!("  overrideAllowed: true\n  overridePriority: {priority}\n  bindings:\n"),
        )
    };
    let build = |bench: &Bench, name: &str, text: String| {
        bench.build(&Case {
            name: name.into(),
            policy: format!("{TEMPLATE}{text}"),
            workload: String::new(),
        })
    };
    // a: the workload's binding; b: another cgroup's; c: overrides a on
    // w0 with a higher priority (the same guard, so the workload is killed
    // whichever applies)
    let a = build(
        &bench,
        "a",
        with_override(
            binding(
                "a",
                &format!("{rel}/w0"),
                "@DIR@/g0/",
                &["@cat@"],
                "@DIR@/none/",
            ),
            0,
        ),
    );
    let b = build(
        &bench,
        "b",
        binding(
            "b",
            &format!("{rel}/w1"),
            "@DIR@/g1/",
            &["@cat@"],
            "@DIR@/none/",
        ),
    );
    let c = build(
        &bench,
        "c",
        with_override(
            binding(
                "c",
                &format!("{rel}/w0"),
                "@DIR@/g0/",
                &["@cat@", "@head@"],
                "@DIR@/none/",
            ),
            5,
        ),
    );
    bench.start(&[&a, &b, &c]);
    let reader = tpc_tests::differential::binary(&bench, "cat");
    bench.sensor().load_bundle(&a, "a", &[]).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let workload = {
        let done = Arc::clone(&done);
        let cgroup = cgroups.dirs[0].clone();
        let guarded = bench.dir.join("g0/f");
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
    let mut rounds = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    let sensor = bench.sensor();
    let mut programs = sensor.backend().program_ids();
    programs.sort_unstable();
    while !workload.is_finished() && Instant::now() < deadline {
        let b_id = sensor.load_bundle(&b, "b", &[]).unwrap();
        let c_id = sensor.load_bundle(&c, "c", &[]).unwrap();
        sensor
            .poll(Duration::from_millis(1), &mut |e| events.push(e))
            .unwrap();
        sensor.unload_bundle(c_id).unwrap();
        sensor
            .poll(Duration::from_millis(1), &mut |e| events.push(e))
            .unwrap();
        sensor.unload_bundle(b_id).unwrap();
        if rounds == 0 {
            // bindings come and go as map entries: no program loads
            let mut now = sensor.backend().program_ids();
            now.sort_unstable();
            assert_eq!(now, programs, "adding bindings loaded programs");
            assert_eq!(sensor.engine().attached().len(), 1);
        }
        rounds += 1;
        if rounds >= 200 {
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
    let pids: Vec<u32> = runs.iter().map(|(pid, _)| *pid).collect();
    let mut posted: Vec<(u32, String)> = Vec::new();
    let mut lost = 0;
    for e in &events {
        match e {
            SensorEvent::Policy(p) => {
                let pid = p.event.process().and_then(|pr| pr.pid()).unwrap_or(0);
                if pids.contains(&pid) {
                    posted.push((pid, p.policy_name.clone()));
                }
            }
            SensorEvent::Lost { dropped, .. } => lost += dropped.total(),
            SensorEvent::PolicyLost { dropped, .. } => lost += dropped,
            _ => {}
        }
    }
    let by = |name: &str| posted.iter().filter(|(_, n)| n == name).count();
    println!(
        "{} runs in w0 during {rounds} rounds of adding and removing b and c; posted by a {}, by c {}, by b {}",
        runs.len(),
        by("a"),
        by("c"),
        by("b")
    );
    assert!(rounds >= 10, "only {rounds} rounds ran beside the workload");
    let unkilled: Vec<_> = runs.iter().filter(|(_, s)| *s != Some(9)).collect();
    assert!(
        unkilled.is_empty(),
        "runs not killed while bindings changed: {unkilled:?}"
    );
    assert_eq!(lost, 0);
    assert_eq!(by("b"), 0, "b applies to w1 only");
    let mut missing: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|p| !posted.iter().any(|(q, _)| q == p))
        .collect();
    missing.sort_unstable();
    assert!(missing.is_empty(), "runs nobody posted: {missing:?}");
    assert_eq!(
        posted.len(),
        runs.len(),
        "one event per run (a or c, never both)"
    );
}
