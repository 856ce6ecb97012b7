//! The differential test bench: a policy runs in the kernel beside an
//! observe-all policy on the same hooks (one program serves both, so every
//! hit of the policy's hooks is one record naming both); a scripted
//! workload runs in a cgroup both are scoped to; the observe-all events,
//! replayed through the simulator with the policy, must give exactly the
//! events and actions the kernel posted for it, event for event.

#![expect(
    clippy::unwrap_used,
    reason = "test bench: a failed unwrap is a failed test"
)]

use std::{
    collections::BTreeMap,
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use tpc::driver::{Input, KernelRequest};
use tpc::ir::Policy;
use tpc::sim::{SimOptions, Simulator};
use tpc_bundle::{Bundle, PolicyScope};
use tpc_events::{Event, EventKind};
use tpc_runtime::{BaseSensor, CgroupBinding, SensorEvent, SensorOptions, policies};

/// Name of the observe-all policy.
pub const OBSERVER: &str = "tpc-observe-all";

/// One policy and the workload it runs against. In both texts `@DIR@` is
/// the bench's directory and `@name@` the path of a copied binary (`@cat@`,
/// `@head@`, `@bash@`, ...), so policies can name binaries no other process
/// runs.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub policy: String,
    /// A `/bin/sh` script.
    pub workload: String,
}

/// What one case showed.
#[derive(Debug, Default)]
pub struct CaseOutcome {
    /// Hook events the observe-all policy saw.
    pub observed: usize,
    /// Events the kernel posted for the policy.
    pub kernel_posted: usize,
    /// Verdicts that differ, each with the event and both sides.
    pub disagreements: Vec<String>,
    /// Records the ring buffer could not take (events would be missing on
    /// both sides alike, but the process tree could differ).
    pub lost: u64,
}

/// The bench: a sensor, a cgroup, copied binaries.
pub struct Bench {
    pub dir: PathBuf,
    cgroup: PathBuf,
    cgroup_rel: String,
    binaries: BTreeMap<String, PathBuf>,
    sensor: Option<BaseSensor>,
    /// The exec events of the processes running when the sensor started:
    /// every case's replay begins with them, as a recording would.
    startup: Vec<SensorEvent>,
}

/// Binaries copied into the bench under unique names.
const BINARIES: &[&str] = &[
    "cat", "head", "touch", "true", "bash", "sleep", "dd", "ls", "unshare", "setpriv", "capsh",
];

impl Bench {
    /// Copies the binaries and creates the cgroup. The sensor starts with
    /// [`Bench::start`], sized for the bundles to come.
    pub fn new(label: &str) -> Bench {
        let dir = std::env::temp_dir().join(format!("tpc-{label}-{}", std::process::id()));
        let _ignored = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let dir = fs::canonicalize(&dir).unwrap();
        let mut binaries = BTreeMap::new();
        for name in BINARIES {
            let source = which(name).unwrap_or_else(|| panic!("{name} not found on PATH"));
            let target = dir.join(format!("tpcdt-{name}"));
            fs::copy(&source, &target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
            binaries.insert((*name).to_owned(), target);
        }
        let root = tpc_runtime::preflight::cgroup2_root().expect("a cgroup v2 mount");
        let cgroup_rel = format!("tpc-{label}-{}", std::process::id());
        let cgroup = root.join(&cgroup_rel);
        let _ignored = fs::remove_dir(&cgroup);
        fs::create_dir(&cgroup).unwrap();
        Bench {
            dir,
            cgroup,
            cgroup_rel,
            binaries,
            sensor: None,
            startup: Vec::new(),
        }
    }

    /// A text with `@DIR@` and `@binary@` replaced.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.replace("@DIR@", &self.dir.display().to_string());
        for (name, path) in &self.binaries {
            out = out.replace(&format!("@{name}@"), &path.display().to_string());
        }
        out
    }

    /// Builds the case's policy with the compiler's build pipeline; panics
    /// with the findings when it does not build.
    pub fn build(&self, case: &Case) -> Bundle {
        let file = self.dir.join(format!("{}.yaml", case.name));
        fs::write(&file, self.expand(&case.policy)).unwrap();
        let outcome =
            tpc::lower::build::build(&[Input::Path(file)], &KernelRequest::Running).unwrap();
        match outcome.bundle {
            Some(bundle) => bundle,
            None => {
                let rendered = tpc::diagnostics::render::human::render_short(
                    &outcome.report.sources,
                    &outcome.report.diagnostics,
                );
                panic!("case {} does not build:\n{rendered}", case.name);
            }
        }
    }

    /// Starts the sensor with maps sized for these bundles (and their
    /// observers).
    pub fn start(&mut self, bundles: &[&Bundle]) {
        let mut all: Vec<&Bundle> = bundles.to_vec();
        all.extend_from_slice(bundles);
        let options = SensorOptions {
            node_name: Some("tpc-test".into()),
            map_sizes: policies::map_sizes(&all),
            ..SensorOptions::default()
        };
        let mut sensor = BaseSensor::start(&options).unwrap();
        let mut startup = Vec::new();
        sensor
            .poll(Duration::from_millis(50), &mut |event| startup.push(event))
            .unwrap();
        self.startup = startup;
        self.sensor = Some(sensor);
    }

    pub fn sensor(&mut self) -> &mut BaseSensor {
        self.sensor.as_mut().unwrap()
    }

    /// Runs a shell script inside the bench's cgroup while polling the
    /// sensor; returns every event, in ring order.
    pub fn run_workload(&mut self, script: &str) -> (Vec<SensorEvent>, u64) {
        let procs = self.cgroup.join("cgroup.procs");
        let (events, lost, _pid) = self.run_workload_in(script, &procs);
        (events, lost)
    }

    /// Runs a shell script in the cgroup whose `cgroup.procs` is `procs`
    /// while polling the sensor; returns every event, in ring order, the
    /// records lost and the pid of the workload's first process.
    pub fn run_workload_in(&mut self, script: &str, procs: &Path) -> (Vec<SensorEvent>, u64, u32) {
        let script_path = self.dir.join("workload.sh");
        fs::write(&script_path, self.expand(script)).unwrap();
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > {} && cd {} && exec /bin/sh {}",
                procs.display(),
                self.dir.display(),
                script_path.display()
            ))
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut events = Vec::new();
        let mut lost = 0u64;
        let sensor = self.sensor.as_mut().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut sink = |event: SensorEvent| {
            match &event {
                SensorEvent::Lost { dropped, .. } => lost += dropped.total(),
                SensorEvent::PolicyLost { dropped, .. } => lost += dropped,
                _ => {}
            }
            events.push(event);
        };
        loop {
            sensor.poll(Duration::from_millis(20), &mut sink).unwrap();
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ignored = child.kill();
                panic!("the workload ran for more than a minute");
            }
        }
        // what is still in flight
        let drain = Instant::now() + Duration::from_millis(300);
        while Instant::now() < drain {
            sensor.poll(Duration::from_millis(20), &mut sink).unwrap();
        }
        (events, lost, pid)
    }

    /// The bench's cgroup, relative to the cgroup v2 mount.
    pub fn cgroup_rel(&self) -> &str {
        &self.cgroup_rel
    }

    /// The bench's cgroup directory.
    pub fn cgroup_dir(&self) -> &Path {
        &self.cgroup
    }

    /// The exec events of the processes running when the sensor started.
    pub fn startup(&self) -> &[SensorEvent] {
        &self.startup
    }

    /// Runs one case: loads the policy and its observer scoped to the
    /// bench's cgroup, runs the workload, unloads both, and compares the
    /// kernel's verdicts with the simulator's.
    pub fn run_case(&mut self, case: &Case, bundle: &Bundle) -> CaseOutcome {
        let observer = observer_of(bundle);
        let mut bindings = Vec::new();
        for policy in bundle.policies.iter().chain(&observer.policies) {
            bindings.push(CgroupBinding {
                policy: policy.name.clone(),
                path: PathBuf::from(&self.cgroup_rel),
            });
        }
        let sensor = self.sensor.as_mut().unwrap();
        let tested = sensor.load_bundle(bundle, &case.name, &bindings).unwrap();
        let observed = sensor.load_bundle(&observer, OBSERVER, &bindings).unwrap();
        let (events, lost) = self.run_workload(&case.workload);
        let sensor = self.sensor.as_mut().unwrap();
        sensor.unload_bundle(observed).unwrap();
        sensor.unload_bundle(tested).unwrap();
        let mut all = self.startup.clone();
        all.extend(events);
        let mut outcome = compare(bundle, &all);
        outcome.lost = lost;
        outcome
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if let Some(sensor) = self.sensor.take() {
            let _ignored = sensor.stop(&mut |_| {});
        }
        // move ourselves out before removing the cgroup
        let _ignored = fs::remove_dir(&self.cgroup);
        let _ignored = fs::remove_dir_all(&self.dir);
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
            .and_then(|p| fs::canonicalize(p).ok())
    })
}

/// The observe-all twin of a bundle: the same hooks and arguments, no
/// selectors (every hit posts), one policy per tested policy.
pub fn observer_of(bundle: &Bundle) -> Bundle {
    let mut observer = bundle.clone();
    for (i, policy) in observer.policies.iter_mut().enumerate() {
        policy.name = if i == 0 {
            OBSERVER.to_owned()
        } else {
            format!("{OBSERVER}-{i}")
        };
        policy.monitor = false;
        policy.scope = PolicyScope::Everywhere;
        // not a binding: the observer must not take part in the rules
        // between bindings of one template
        policy.binding = None;
        for hook in &mut policy.hooks {
            hook.selectors.clear();
        }
    }
    observer
}

fn key(event: &Event) -> Option<(String, u32, u32)> {
    let time = event.time.as_ref()?.to_string();
    let process = event.process()?;
    Some((time, process.pid()?, process.tid().unwrap_or(0)))
}

fn describe(event: &Event) -> String {
    let mut text = event.to_json_line();
    if text.len() > 600 {
        text.truncate(600);
        text.push('…');
    }
    text
}

/// Compares the kernel's posted events of the bundle's policies with the
/// simulator's verdicts on the observer's events.
pub fn compare(bundle: &Bundle, events: &[SensorEvent]) -> CaseOutcome {
    let events: Vec<Event> = events.iter().map(|e| e.to_event("tpc-test")).collect();
    compare_events(bundle, &events)
}

/// [`compare`] on events as `tpc run` prints them (JSON lines parsed): the
/// bundle's policies' events are what the kernel posted, the observer's
/// (and process events) are replayed through the simulator.
pub fn compare_events(bundle: &Bundle, events: &[Event]) -> CaseOutcome {
    compare_events_placed(bundle, events, &[])
}

/// [`compare_events`] with the processes whose cgroups the simulator must
/// know (template bindings scoped to cgroups): (pid, cgroup path relative
/// to the cgroup mount), each covering the process's descendants.
pub fn compare_events_placed(
    bundle: &Bundle,
    events: &[Event],
    placements: &[(u32, String)],
) -> CaseOutcome {
    let names: Vec<&str> = bundle.policies.iter().map(|p| p.name.as_str()).collect();
    let policies: Vec<Policy> = bundle
        .policies
        .iter()
        .map(|p| serde_json::from_value(p.ir.clone()).unwrap())
        .collect();
    let refs: Vec<&Policy> = policies.iter().collect();
    let mut sim = Simulator::new(&refs, SimOptions::default());
    for (pid, path) in placements {
        sim.place_in_cgroup(*pid, path);
    }
    let mut kernel: BTreeMap<(String, u32, u32), Vec<String>> = BTreeMap::new();
    let mut stream = Vec::new();
    for e in events {
        match e.policy_name() {
            Some(name) if names.contains(&name) => {
                if let Some(k) = key(e) {
                    kernel
                        .entry(k)
                        .or_default()
                        .push(format!("{name} {:?}", e.action()));
                }
            }
            _ => stream.push(e.clone()),
        }
    }
    let mut outcome = CaseOutcome::default();
    // With several policies on one hook each observer posts the same hit:
    // it is replayed once.
    let mut replayed = std::collections::HashSet::new();
    for event in &stream {
        let observer_event = event.policy_name().is_some_and(|n| n.starts_with(OBSERVER));
        if observer_event {
            if let Some(k) = key(event) {
                if !replayed.insert(k) {
                    continue;
                }
            }
        }
        let verdicts = sim.feed(event);
        if !observer_event || event.kind() == EventKind::ProcessExec {
            continue;
        }
        outcome.observed += 1;
        let mut simulated: Vec<String> = verdicts
            .iter()
            .filter(|v| v.posted)
            .map(|v| format!("{} {:?}", v.policy, v.action))
            .collect();
        let Some(k) = key(event) else {
            continue;
        };
        let mut posted = kernel.remove(&k).unwrap_or_default();
        outcome.kernel_posted += posted.len();
        simulated.sort();
        posted.sort();
        if simulated != posted {
            outcome.disagreements.push(format!(
                "event {}\n  kernel posted:    {posted:?}\n  simulator posts:  {simulated:?}",
                describe(event)
            ));
        }
    }
    for (k, posted) in kernel {
        outcome.kernel_posted += posted.len();
        outcome.disagreements.push(format!(
            "the kernel posted {posted:?} at {k:?}, where the observer saw no event"
        ));
    }
    outcome
}

/// The path of a copied binary.
pub fn binary(bench: &Bench, name: &str) -> PathBuf {
    bench.binaries.get(name).cloned().unwrap()
}

/// `true` when `path` exists (used by workloads that need a file).
pub fn exists(path: &Path) -> bool {
    path.exists()
}
