//! The sensor: start (checks, load, attach the base sensor, seed from /proc), load and unload policy bundles, poll records into stream events with drop reports, stop cleanly.

use std::{
    fs,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use crate::{
    backend::{
        KernelBackend,
        aya_backend::{AyaBackend, LoadOptions},
    },
    clock::BootClock,
    error::RuntimeError,
    model::{DropCounts, SensorEvent},
    policies::{
        BundleId, CgroupBinding, HostInfo, PolicyEngine,
        events::{awaits_return, hook_events, return_events},
    },
    proc_seed,
    process_table::ProcessTable,
    wire::{HookRecord, Record},
};

/// How to start the sensor.
#[derive(Debug, Clone)]
pub struct SensorOptions {
    /// `node_name` in events and the first part of exec ids; the host name
    /// when `None`.
    pub node_name: Option<String>,
    /// Ring buffer size in bytes (power of two, page multiple); 8 MiB by default.
    pub ring_buffer_bytes: Option<u32>,
    /// Seed processes already running from this /proc (`None`: do not seed).
    pub proc_root: Option<PathBuf>,
    /// `max_entries` of policy maps (see `policies::map_sizes`).
    pub map_sizes: Vec<(&'static str, u32)>,
    /// After the ring buffer wakes the reader, wait this long before
    /// draining it, so one wake-up reads a batch of records rather than
    /// one (events reach user space up to this much later).
    pub batch_wait: Duration,
}

/// The default [`SensorOptions::batch_wait`].
pub const DEFAULT_BATCH_WAIT: Duration = Duration::from_millis(5);

impl Default for SensorOptions {
    fn default() -> Self {
        Self {
            node_name: None,
            ring_buffer_bytes: None,
            proc_root: Some(PathBuf::from("/proc")),
            map_sizes: Vec::new(),
            batch_wait: DEFAULT_BATCH_WAIT,
        }
    }
}

/// Counters of one poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    pub records: usize,
    pub events: usize,
    pub decode_errors: usize,
}

/// What the sensor saw over its whole run, returned by `stop`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub records: u64,
    pub events: u64,
    pub decode_errors: u64,
    /// Records the kernel dropped, over the whole run.
    pub dropped: DropCounts,
    pub seeded_processes: usize,
    /// Policy events posted.
    pub policy_events: u64,
    /// Hook records lost, per policy name, over the whole run.
    pub policy_drops: Vec<(String, u64)>,
    /// The last drain stopped at its time limit with records still
    /// waiting (the machine kept exec'ing faster than they were read).
    pub unread_at_stop: bool,
}

/// A running base sensor over some kernel backend.
#[derive(Debug)]
pub struct BaseSensor<B: KernelBackend = AyaBackend> {
    backend: B,
    table: ProcessTable,
    engine: PolicyEngine,
    reported_drops: DropCounts,
    /// Drops reported so far, per policy id.
    reported_policy_drops: std::collections::BTreeMap<u16, u64>,
    summary: RunSummary,
    /// Exec events of the processes found running at start (`procFS`),
    /// parents first, delivered by the first poll as Tetragon does, so a
    /// recorded stream knows every process's ancestors.
    startup: Vec<SensorEvent>,
    /// When the drop counters were last read (they cost a map lookup per
    /// CPU: at most every [`DROP_CHECK_EVERY`], and always when stopping).
    last_drop_check: Option<std::time::Instant>,
    stopping: bool,
    /// Entry records waiting for their return probe's record, by (thread,
    /// hook), innermost call last.
    pending_returns: PendingReturns,
}

/// Entry records of calls that have not returned yet.
#[derive(Debug, Default)]
struct PendingReturns {
    calls: std::collections::HashMap<(u32, u32), Vec<HookRecord>>,
    count: usize,
}

/// Calls kept waiting for a return at most (the kernel keeps as many, in
/// `tpc_ret_pending`); beyond it the oldest are forgotten.
const MAX_PENDING_RETURNS: usize = tpc_bundle::layout::RET_PENDING * 2;

impl PendingReturns {
    fn push(&mut self, record: HookRecord) {
        if self.count >= MAX_PENDING_RETURNS {
            // a return that never came (a missed kretprobe, a thread that
            // never returned): drop the oldest half
            let mut times: Vec<u64> = self.calls.values().flatten().map(|r| r.ktime).collect();
            times.sort_unstable();
            let cut = times.get(times.len() / 2).copied().unwrap_or(0);
            for stack in self.calls.values_mut() {
                stack.retain(|r| r.ktime > cut);
            }
            self.calls.retain(|_, s| !s.is_empty());
            self.count = self.calls.values().map(Vec::len).sum();
        }
        self.calls
            .entry((record.tid, record.hook_id))
            .or_default()
            .push(record);
        self.count += 1;
    }

    /// The entry record a return record finishes.
    fn take(&mut self, ret: &HookRecord) -> Option<HookRecord> {
        let key = (ret.tid, ret.hook_id);
        let stack = self.calls.get_mut(&key)?;
        let at = stack.iter().rposition(|r| r.ktime == ret.entry_ktime)?;
        let entry = stack.remove(at);
        if stack.is_empty() {
            self.calls.remove(&key);
        }
        self.count = self.count.saturating_sub(1);
        Some(entry)
    }
}

/// How often `poll` reads the drop counters.
const DROP_CHECK_EVERY: Duration = Duration::from_millis(100);
/// The longest `stop` reads what is left in the ring buffer: with the
/// hooks detached only the base sensor still writes, so the drain ends
/// when the records written before the stop are read; the limit is there
/// for a machine that execs faster than the reader keeps up.
const FINAL_DRAIN: Duration = Duration::from_secs(30);

impl BaseSensor<AyaBackend> {
    /// Checks the host, loads and attaches the base sensor, seeds running
    /// processes from /proc.
    pub fn start(options: &SensorOptions) -> Result<Self, RuntimeError> {
        let backend = AyaBackend::load(&LoadOptions {
            ring_buffer_bytes: options.ring_buffer_bytes,
            map_sizes: options.map_sizes.clone(),
            batch_wait: options.batch_wait,
        })?;
        Self::with_backend(backend, options, BootClock::from_system()?)
    }
}

impl<B: KernelBackend> BaseSensor<B> {
    /// A sensor over an already loaded backend; seeds from /proc when asked.
    pub fn with_backend(
        mut backend: B,
        options: &SensorOptions,
        clock: BootClock,
    ) -> Result<Self, RuntimeError> {
        let node_name = options.node_name.clone().unwrap_or_else(host_name);
        let mut table = ProcessTable::new(node_name, clock);
        let proc_for_host = options
            .proc_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("/proc"));
        let host_ns = proc_seed::host_namespaces(&proc_for_host);
        table.set_host_namespaces(host_ns);
        let policy_hooks = options
            .map_sizes
            .iter()
            .find(|(name, _)| *name == tpc_bundle::kernel::maps::POLICY_HOOKS)
            .map_or(512, |(_, n)| *n);
        let engine = PolicyEngine::new(HostInfo::running(), policy_hooks);
        engine.configure(&mut backend, &host_ns)?;
        let mut seeded_processes = 0;
        let mut seeded = Vec::new();
        if let Some(proc_root) = &options.proc_root {
            let ticks = clock_ticks_per_second();
            let snapshots = proc_seed::read_processes(proc_root, ticks);
            for (info, entry) in
                proc_seed::seeds(table.node_name(), &snapshots, |ns| clock.unix_nanos(ns))
            {
                backend.seed_process(&entry)?;
                seeded.push((info.exec_ktime, info.pid));
                table.seed(info);
                seeded_processes += 1;
            }
        }
        seeded.sort_unstable();
        let now = table
            .clock()
            .unix_nanos(BootClock::boot_ns_now().unwrap_or(0));
        let startup = seeded
            .iter()
            .filter_map(|(_, pid)| {
                let process = table.get(*pid)?.clone();
                let parent = table.parent_of_process(&process).cloned();
                Some(SensorEvent::Exec {
                    process,
                    parent,
                    time_ns: now,
                })
            })
            .collect();
        Ok(Self {
            backend,
            table,
            engine,
            reported_drops: DropCounts::default(),
            reported_policy_drops: std::collections::BTreeMap::new(),
            summary: RunSummary {
                seeded_processes,
                ..RunSummary::default()
            },
            startup,
            last_drop_check: None,
            stopping: false,
            pending_returns: PendingReturns::default(),
        })
    }

    /// Loads a bundle's policies: writes their map entries and attaches the
    /// hook programs points not hooked yet need. On failure nothing of the
    /// bundle stays loaded.
    pub fn load_bundle(
        &mut self,
        bundle: &tpc_bundle::Bundle,
        label: &str,
        bindings: &[CgroupBinding],
    ) -> Result<BundleId, RuntimeError> {
        Ok(self
            .engine
            .load(&mut self.backend, bundle, label, bindings)?)
    }

    /// Replaces a loaded bundle by a new version: the new one is loaded
    /// beside it (map entries only where its points are hooked already),
    /// then the old one is removed, so some version filters at every
    /// moment (for an instant both do). When the new one does not load,
    /// the old one stays and the error is returned.
    pub fn replace_bundle(
        &mut self,
        old: BundleId,
        bundle: &tpc_bundle::Bundle,
        label: &str,
        bindings: &[CgroupBinding],
    ) -> Result<BundleId, RuntimeError> {
        let new = self.load_bundle(bundle, label, bindings)?;
        self.unload_bundle(old)?;
        Ok(new)
    }

    /// Removes a bundle's policies; points no other policy hooks are detached.
    pub fn unload_bundle(&mut self, bundle: BundleId) -> Result<(), RuntimeError> {
        self.engine.unload(&mut self.backend, bundle)
    }

    pub fn engine(&self) -> &PolicyEngine {
        &self.engine
    }

    /// Hook records of each loaded policy the ring buffer could not take.
    pub fn policy_drops(&self) -> Result<Vec<(u16, String, u64)>, RuntimeError> {
        let mut out = Vec::new();
        for bundle in self.engine.bundles() {
            for (id, name) in &bundle.policies {
                out.push((*id, name.clone(), self.backend.policy_drops(*id)?));
            }
        }
        Ok(out)
    }

    pub fn node_name(&self) -> &str {
        self.table.node_name()
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn table(&self) -> &ProcessTable {
        &self.table
    }

    /// Waits up to `timeout` for records, turns them into events for `sink`
    /// in ring order, then reports new drops (if any) as a `Lost` event.
    pub fn poll(
        &mut self,
        timeout: Duration,
        sink: &mut dyn FnMut(SensorEvent),
    ) -> Result<PollStats, RuntimeError> {
        let mut stats = PollStats::default();
        for event in self.startup.drain(..) {
            stats.events += 1;
            sink(event);
        }
        let table = &mut self.table;
        let engine = &self.engine;
        let pending = &mut self.pending_returns;
        let mut policy_events = 0u64;
        stats.records =
            self.backend
                .read_records(timeout, &mut |bytes| match Record::decode(bytes) {
                    Ok(Record::Hook(hook)) => {
                        for posted in hook_events(engine, table, &hook) {
                            stats.events += 1;
                            policy_events += 1;
                            sink(SensorEvent::Policy(Box::new(posted)));
                        }
                        if awaits_return(&hook) {
                            pending.push(hook);
                        }
                    }
                    Ok(Record::HookReturn(ret)) => {
                        if let Some(entry) = pending.take(&ret) {
                            for posted in return_events(engine, table, &entry, &ret) {
                                stats.events += 1;
                                policy_events += 1;
                                sink(SensorEvent::Policy(Box::new(posted)));
                            }
                        }
                    }
                    Ok(record) => {
                        if let Some(event) = table.apply(record) {
                            stats.events += 1;
                            sink(event);
                        }
                    }
                    Err(error) => {
                        log::warn!("skipping a ring buffer record: {error}");
                        stats.decode_errors += 1;
                    }
                })?;
        self.summary.policy_events += policy_events;
        let due = self.stopping
            || self
                .last_drop_check
                .is_none_or(|at| at.elapsed() >= DROP_CHECK_EVERY);
        if !due {
            self.summary.records += stats.records as u64;
            self.summary.events += stats.events as u64;
            return Ok(stats);
        }
        self.last_drop_check = Some(std::time::Instant::now());
        let drops = self.backend.drop_counts()?;
        let new_drops = drops.since(&self.reported_drops);
        if new_drops.total() > 0 {
            self.reported_drops = drops;
            let time_ns = self
                .table
                .clock()
                .unix_nanos(BootClock::boot_ns_now().unwrap_or(0));
            sink(SensorEvent::Lost {
                dropped: new_drops,
                time_ns,
            });
            stats.events += 1;
        }
        for (id, name, dropped) in self.policy_drops()? {
            let before = self.reported_policy_drops.get(&id).copied().unwrap_or(0);
            if dropped > before {
                self.reported_policy_drops.insert(id, dropped);
                let time_ns = self
                    .table
                    .clock()
                    .unix_nanos(BootClock::boot_ns_now().unwrap_or(0));
                sink(SensorEvent::PolicyLost {
                    policy: name,
                    dropped: dropped - before,
                    time_ns,
                });
                stats.events += 1;
            }
        }
        self.summary.records += stats.records as u64;
        self.summary.events += stats.events as u64;
        self.summary.decode_errors += stats.decode_errors as u64;
        Ok(stats)
    }

    /// Polls until `stop` is set (e.g. by SIGINT/SIGTERM), then stops.
    pub fn run_until(
        mut self,
        stop: &AtomicBool,
        sink: &mut dyn FnMut(SensorEvent),
    ) -> Result<RunSummary, RuntimeError> {
        while !stop.load(Ordering::Relaxed) {
            self.poll(Duration::from_millis(100), sink)?;
        }
        self.stop(sink)
    }

    /// Drains what is left in the ring buffer into `sink`, reads the final
    /// drop counters and releases every program, link and map.
    pub fn stop(mut self, sink: &mut dyn FnMut(SensorEvent)) -> Result<RunSummary, RuntimeError> {
        self.stopping = true;
        // Policies first: what they posted is read below, nothing new
        // comes. The base sensor keeps running for that drain, which is
        // bounded in time on a busy machine.
        self.engine.detach_all(&mut self.backend)?;
        let deadline = std::time::Instant::now() + FINAL_DRAIN;
        loop {
            let stats = self.poll(Duration::ZERO, sink)?;
            if stats.records == 0 {
                break;
            }
            if std::time::Instant::now() >= deadline {
                self.summary.unread_at_stop = true;
                break;
            }
        }
        self.summary.dropped = self.backend.drop_counts()?;
        self.summary.policy_drops = self
            .policy_drops()?
            .into_iter()
            .map(|(_, name, n)| (name, n))
            .collect();
        self.backend.shutdown()?;
        Ok(self.summary)
    }

    /// Totals so far.
    pub fn summary(&self) -> RunSummary {
        self.summary.clone()
    }
}

/// A flag that SIGINT and SIGTERM set, for `run_until`.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>, RuntimeError> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|source| RuntimeError::Signals { source })?;
    }
    Ok(stop)
}

/// A flag SIGHUP sets (`tpc run` reloads its bundles then).
pub fn reload_on_sighup() -> Result<Arc<AtomicBool>, RuntimeError> {
    let reload = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))
        .map_err(|source| RuntimeError::Signals { source })?;
    Ok(reload)
}

fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn clock_ticks_per_second() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => u64::try_from(ticks).unwrap_or(100),
        _ => 100,
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use super::*;
    use crate::{
        backend::fake::FakeBackend,
        wire::{ExecRecord, ExitRecord, ForkRecord, RecordFlags, encode},
    };

    fn options() -> SensorOptions {
        SensorOptions {
            node_name: Some("test".into()),
            ring_buffer_bytes: None,
            proc_root: None,
            ..SensorOptions::default()
        }
    }

    fn exec(
        pid: u32,
        parent_pid: u32,
        exec_ktime: u64,
        parent_exec_ktime: u64,
        binary: &str,
    ) -> Vec<u8> {
        encode::exec(&ExecRecord {
            cpu: 0,
            ktime: exec_ktime,
            pid,
            tid: pid,
            parent_pid,
            flags: RecordFlags(RecordFlags::EXECVE),
            exec_ktime,
            parent_exec_ktime,
            process_start_ktime: exec_ktime,
            uid: 0,
            euid: 0,
            auid: u32::MAX,
            old_tid: pid,
            binary: binary.as_bytes().to_vec(),
            cwd: b"/".to_vec(),
            args: format!("{binary}\0x\0").into_bytes(),
            filename: binary.as_bytes().to_vec(),
            task: crate::wire::TaskInfo::default(),
        })
    }

    #[test]
    fn events_come_out_in_ring_order_with_drop_reports() {
        let mut backend = FakeBackend::default();
        backend.push_batch(vec![
            exec(100, 1, 10, 0, "/usr/bin/sh"),
            encode::fork(&ForkRecord {
                cpu: 0,
                ktime: 20,
                pid: 101,
                parent_pid: 100,
                flags: RecordFlags(2),
                exec_ktime: 20,
                parent_exec_ktime: 10,
            }),
            exec(101, 100, 30, 10, "/usr/bin/true"),
            encode::exit(&ExitRecord {
                cpu: 1,
                ktime: 40,
                pid: 101,
                tid: 101,
                exit_code: 0,
                flags: RecordFlags(0),
                exec_ktime: 30,
            }),
            vec![1, 2, 3],
        ]);
        backend.drops_after_batch.push_back(DropCounts {
            exec: 2,
            fork: 0,
            exit: 1,
        });
        let mut sensor =
            BaseSensor::with_backend(backend, &options(), BootClock::with_boot_at(0)).unwrap();
        let mut events = Vec::new();
        let stats = sensor
            .poll(Duration::ZERO, &mut |event| events.push(event))
            .unwrap();
        assert_eq!(
            stats,
            PollStats {
                records: 5,
                events: 4,
                decode_errors: 1
            }
        );
        let kinds: Vec<&str> = events
            .iter()
            .map(|event| match event {
                SensorEvent::Exec { .. } => "exec",
                SensorEvent::Exit { .. } => "exit",
                SensorEvent::Lost { .. } => "lost",
                SensorEvent::Policy(_) => "policy",
                SensorEvent::PolicyLost { .. } => "policy lost",
            })
            .collect();
        assert_eq!(kinds, ["exec", "exec", "exit", "lost"]);
        let SensorEvent::Exec { process, .. } = &events[1] else {
            panic!()
        };
        assert_eq!(
            process.parent_exec_id.as_deref(),
            Some(sensor.table().exec_id(10, 100).as_str())
        );

        // no new drops: no second report
        let mut later = Vec::new();
        sensor
            .poll(Duration::ZERO, &mut |event| later.push(event))
            .unwrap();
        assert!(later.is_empty());
        let summary = sensor.stop(&mut |_| {}).unwrap();
        assert_eq!(summary.dropped.total(), 3);
        assert_eq!(summary.records, 5);
    }

    #[test]
    fn seeding_fills_the_kernel_map_and_the_table() {
        let options = SensorOptions {
            proc_root: Some(PathBuf::from("/proc")),
            ..options()
        };
        let sensor =
            BaseSensor::with_backend(FakeBackend::default(), &options, BootClock::with_boot_at(0))
                .unwrap();
        let me = std::process::id();
        assert!(sensor.table().get(me).is_some());
        assert!(sensor.backend().entries.contains_key(&me));
        assert!(sensor.summary().seeded_processes > 0);
    }

    #[test]
    fn stop_shuts_the_backend_down() {
        let sensor = BaseSensor::with_backend(
            FakeBackend::default(),
            &options(),
            BootClock::with_boot_at(0),
        )
        .unwrap();
        let stop = AtomicBool::new(true);
        let summary = sensor.run_until(&stop, &mut |_| {}).unwrap();
        assert_eq!(summary.records, 0);
    }
}
