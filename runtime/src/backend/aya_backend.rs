//! The real kernel behind `KernelBackend`, with aya: loads the sensor object (maps sized for the bundles), attaches the base sensor, loads and attaches hook programs on demand, writes policy maps, polls the ring buffer.

use std::{collections::HashMap, os::fd::AsFd, time::Duration};

use aya::{
    Btf, Ebpf, EbpfLoader,
    maps::{Array, HashMap as BpfHashMap, LpmTrie, Map, MapData, MapError, PerCpuArray, RingBuf},
    programs::{
        FEntry, FExit, KProbe, Lsm, ProgramError, RawTracePoint, TracePoint, UProbe,
        fentry::FEntryLinkId,
        fexit::FExitLinkId,
        kprobe::KProbeLinkId,
        lsm::LsmLinkId,
        raw_trace_point::RawTracePointLinkId,
        trace_point::TracePointLinkId,
        uprobe::{UProbeAttachLocation, UProbeLinkId, UProbeScope},
    },
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use tpc_bundle::kernel::maps;

use super::{AttachTarget, KernelBackend, LinkHandle};
use crate::{
    error::RuntimeError,
    model::DropCounts,
    objects,
    preflight::{self, PreflightReport},
    wire::{PROCESS_ENTRY_LEN, ProcessEntry},
};

const OBJECT: &str = "tpc.bpf.o";
const DROPS_MAP: &str = "tpc_drops";
const EXEC_PROGRAM: &str = "tpc_sched_process_exec";
const FORK_PROGRAM: &str = "tpc_sched_process_fork";
const EXIT_PROGRAM: &str = "tpc_sched_process_exit";
/// `BPF_NOEXIST`: add only when the key is absent.
const BPF_NOEXIST: u64 = 1;
/// `BPF_EXIST`: update only when the key is present.
const BPF_EXIST: u64 = 2;
/// Lines of a verifier log kept in an error.
const VERIFIER_LOG_LINES: usize = 24;
/// The least time one drain may take, whatever the caller's timeout.
const MIN_DRAIN: Duration = Duration::from_millis(10);
/// Records read between two looks at the clock during a drain.
const DRAIN_CLOCK_EVERY: usize = 256;

/// Whether a drain that has read `count` records should hand back control.
fn drain_is_over(count: usize, deadline: std::time::Instant) -> bool {
    count.is_multiple_of(DRAIN_CLOCK_EVERY) && std::time::Instant::now() >= deadline
}

/// Kernel-facing options.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Ring buffer size in bytes (a power of two, a multiple of the page
    /// size); the object's default (8 MiB) when `None`.
    pub ring_buffer_bytes: Option<u32>,
    /// `max_entries` of policy maps, sized from the bundles to load.
    pub map_sizes: Vec<(&'static str, u32)>,
    /// How long a woken reader waits before draining (batching).
    pub batch_wait: std::time::Duration,
}

enum Link {
    Tracepoint(String, TracePointLinkId),
    Raw(String, RawTracePointLinkId),
    Kprobe(String, KProbeLinkId),
    Uprobe(String, UProbeLinkId),
    /// fentry and LSM programs are loaded for one target: detaching also
    /// unloads, so the slot can be loaded for another.
    Fentry(String, FEntryLinkId),
    Fexit(String, FExitLinkId),
    Lsm(String, LsmLinkId),
    /// Loaded outside aya (`super::fmod_ret`): dropping it detaches and
    /// unloads.
    FmodRet(super::fmod_ret::FmodRetLink),
    /// A uprobe program at each site of a USDT probe, opened outside aya
    /// (`super::usdt_attach`): dropping them detaches.
    Usdt(Vec<super::usdt_attach::UsdtLink>),
}

/// The sensor object, loaded with aya.
pub struct AyaBackend {
    /// Programs, maps and links; `None` after shutdown.
    ebpf: Option<Ebpf>,
    ring: Option<RingBuf<MapData>>,
    links: HashMap<LinkHandle, Link>,
    next_link: u64,
    preflight: PreflightReport,
    batch_wait: std::time::Duration,
    /// The running kernel's BTF, read when a fentry or LSM hook first loads.
    btf: Option<Btf>,
}

impl std::fmt::Debug for AyaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AyaBackend")
            .field("loaded", &self.ebpf.is_some())
            .field("links", &self.links.len())
            .field("preflight", &self.preflight)
            .finish()
    }
}

impl AyaBackend {
    /// Checks the host, loads the object, attaches exec, fork and exit.
    /// On any failure nothing stays loaded.
    pub fn load(options: &LoadOptions) -> Result<Self, RuntimeError> {
        let object = objects::sensor().ok_or(RuntimeError::NoBpfObjects)?;
        let preflight = preflight::check_host()?;
        let mut loader = EbpfLoader::new();
        if let Some(bytes) = options.ring_buffer_bytes {
            loader.map_max_entries(maps::EVENTS, bytes);
        }
        for (name, size) in &options.map_sizes {
            loader.map_max_entries(name, *size);
        }
        let mut ebpf = loader.load(object).map_err(|source| RuntimeError::Load {
            object: OBJECT,
            source: Box::new(source),
        })?;
        let ring_map = ebpf
            .take_map(maps::EVENTS)
            .ok_or(RuntimeError::MissingInObject {
                object: OBJECT,
                what: "map",
                name: maps::EVENTS,
            })?;
        let ring = RingBuf::try_from(ring_map).map_err(map_error(maps::EVENTS))?;
        attach_base_tracepoint(&mut ebpf, EXEC_PROGRAM, "sched", "sched_process_exec")?;
        attach_base_raw_tracepoint(&mut ebpf, FORK_PROGRAM, "sched_process_fork")?;
        attach_base_tracepoint(&mut ebpf, EXIT_PROGRAM, "sched", "sched_process_exit")?;
        Ok(Self {
            ebpf: Some(ebpf),
            ring: Some(ring),
            links: HashMap::new(),
            next_link: 1,
            preflight,
            batch_wait: options.batch_wait,
            btf: None,
        })
    }

    /// What the host checks did (filesystems mounted).
    pub fn preflight(&self) -> &PreflightReport {
        &self.preflight
    }

    fn map(&mut self, name: &'static str) -> Result<&mut Map, RuntimeError> {
        self.ebpf
            .as_mut()
            .and_then(|ebpf| ebpf.map_mut(name))
            .ok_or(RuntimeError::MissingInObject {
                object: OBJECT,
                what: "map",
                name,
            })
    }

    fn map_ref(&self, name: &'static str) -> Result<&Map, RuntimeError> {
        self.ebpf
            .as_ref()
            .and_then(|ebpf| ebpf.map(name))
            .ok_or(RuntimeError::MissingInObject {
                object: OBJECT,
                what: "map",
                name,
            })
    }
}

fn map_error(map: &'static str) -> impl Fn(MapError) -> RuntimeError {
    move |source| RuntimeError::Map {
        map,
        source: Box::new(source),
    }
}

fn program_error(
    program: &'static str,
    attach_point: &'static str,
) -> impl Fn(ProgramError) -> RuntimeError {
    move |source| RuntimeError::Program {
        program,
        attach_point,
        source: Box::new(source),
    }
}

fn attach_base_tracepoint(
    ebpf: &mut Ebpf,
    name: &'static str,
    category: &'static str,
    event: &'static str,
) -> Result<(), RuntimeError> {
    let program: &mut TracePoint = ebpf
        .program_mut(name)
        .ok_or(RuntimeError::MissingInObject {
            object: OBJECT,
            what: "program",
            name,
        })?
        .try_into()
        .map_err(program_error(name, event))?;
    program.load().map_err(program_error(name, event))?;
    program
        .attach(category, event)
        .map_err(program_error(name, event))?;
    Ok(())
}

fn attach_base_raw_tracepoint(
    ebpf: &mut Ebpf,
    name: &'static str,
    event: &'static str,
) -> Result<(), RuntimeError> {
    let program: &mut RawTracePoint = ebpf
        .program_mut(name)
        .ok_or(RuntimeError::MissingInObject {
            object: OBJECT,
            what: "program",
            name,
        })?
        .try_into()
        .map_err(program_error(name, event))?;
    program.load().map_err(program_error(name, event))?;
    program.attach(event).map_err(program_error(name, event))?;
    Ok(())
}

/// A verifier log cut to its last lines (where the failing instruction is).
pub fn trim_verifier_log(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(VERIFIER_LOG_LINES);
    lines[start..].join("\n")
}

fn hook_program_error(program: &str, target: &AttachTarget, error: ProgramError) -> RuntimeError {
    match error {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => RuntimeError::Verifier {
            program: program.to_owned(),
            target: target.to_string(),
            reason: io_error.to_string(),
            log: trim_verifier_log(&verifier_log.to_string()),
        },
        other => RuntimeError::Attach {
            program: program.to_owned(),
            target: target.to_string(),
            source: Box::new(other),
        },
    }
}

fn key_array<const N: usize>(map: &'static str, bytes: &[u8]) -> Result<[u8; N], RuntimeError> {
    bytes.try_into().map_err(|_| RuntimeError::EntrySize {
        map,
        expected: N,
        found: bytes.len(),
    })
}

fn hash_update<const K: usize, const V: usize>(
    map: &mut Map,
    name: &'static str,
    key: &[u8],
    value: &[u8],
) -> Result<(), RuntimeError> {
    let mut hash: BpfHashMap<&mut MapData, [u8; K], [u8; V]> =
        BpfHashMap::try_from(map).map_err(map_error(name))?;
    hash.insert(key_array::<K>(name, key)?, key_array::<V>(name, value)?, 0)
        .map_err(map_error(name))
}

fn hash_delete<const K: usize, const V: usize>(
    map: &mut Map,
    name: &'static str,
    key: &[u8],
) -> Result<(), RuntimeError> {
    let mut hash: BpfHashMap<&mut MapData, [u8; K], [u8; V]> =
        BpfHashMap::try_from(map).map_err(map_error(name))?;
    match hash.remove(&key_array::<K>(name, key)?) {
        Ok(()) | Err(MapError::KeyNotFound) => Ok(()),
        Err(MapError::SyscallError(e)) if e.io_error.raw_os_error() == Some(nix::libc::ENOENT) => {
            Ok(())
        }
        Err(other) => Err(map_error(name)(other)),
    }
}

fn array_update<const V: usize>(
    map: &mut Map,
    name: &'static str,
    key: &[u8],
    value: &[u8],
) -> Result<(), RuntimeError> {
    let mut array: Array<&mut MapData, [u8; V]> = Array::try_from(map).map_err(map_error(name))?;
    let index = u32::from_ne_bytes(key_array::<4>(name, key)?);
    array
        .set(index, key_array::<V>(name, value)?, 0)
        .map_err(map_error(name))
}

fn lpm_update<const K: usize>(
    map: &mut Map,
    name: &'static str,
    key: &[u8],
    value: &[u8],
    delete: bool,
) -> Result<(), RuntimeError> {
    let mut trie: LpmTrie<&mut MapData, [u8; K], [u8; 1]> =
        LpmTrie::try_from(map).map_err(map_error(name))?;
    if key.len() != K + 4 {
        return Err(RuntimeError::EntrySize {
            map: name,
            expected: K + 4,
            found: key.len(),
        });
    }
    let prefix = u32::from_ne_bytes(key_array::<4>(name, &key[..4])?);
    let data = key_array::<K>(name, &key[4..])?;
    let key = aya::maps::lpm_trie::Key::new(prefix, data);
    if delete {
        return match trie.remove(&key) {
            Ok(()) | Err(MapError::KeyNotFound) => Ok(()),
            Err(MapError::SyscallError(e))
                if e.io_error.raw_os_error() == Some(nix::libc::ENOENT) =>
            {
                Ok(())
            }
            Err(other) => Err(map_error(name)(other)),
        };
    }
    trie.insert(&key, key_array::<1>(name, value)?, 0)
        .map_err(map_error(name))
}

/// Dispatches a write by map: every policy map's key and value sizes.
fn write_entry(
    map: &mut Map,
    name: &'static str,
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<(), RuntimeError> {
    macro_rules! hash {
        ($k:literal, $v:literal) => {
            match value {
                Some(v) => hash_update::<$k, $v>(map, name, key, v),
                None => hash_delete::<$k, $v>(map, name, key),
            }
        };
    }
    macro_rules! array {
        ($v:literal) => {
            match value {
                Some(v) => array_update::<$v>(map, name, key, v),
                // arrays keep their slots: a deleted entry is zeroed
                None => array_update::<$v>(map, name, key, &[0u8; $v]),
            }
        };
    }
    match name {
        maps::INT_SET => hash!(16, 1),
        "tpc_str_set_64" => hash!(72, 1),
        "tpc_str_set_256" => hash!(264, 1),
        "tpc_str_set_1024" => hash!(1032, 1),
        "tpc_str_set_4096" => hash!(4104, 1),
        maps::SUBSTR => hash!(8, 128),
        maps::FOLLOW_BINS => hash!(256, 32),
        maps::LISTS => hash!(16, 516),
        maps::HOOKS => array!(200),
        maps::POLICY_HOOKS => array!(2960),
        maps::RAW_HOOKS | maps::TP_HOOKS | maps::PROG_HOOKS => array!(4),
        maps::CONFIG => array!(48),
        maps::LPM_STR => lpm_update::<256>(map, name, key, value.unwrap_or(&[1]), value.is_none()),
        maps::LPM_V4 => lpm_update::<8>(map, name, key, value.unwrap_or(&[1]), value.is_none()),
        maps::LPM_V6 => lpm_update::<20>(map, name, key, value.unwrap_or(&[1]), value.is_none()),
        other => Err(RuntimeError::UnknownMap { map: other }),
    }
}

impl KernelBackend for AyaBackend {
    fn read_records(
        &mut self,
        timeout: Duration,
        on_record: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, RuntimeError> {
        let Some(ring) = self.ring.as_mut() else {
            return Ok(0);
        };
        // A drain is bounded: when the consumer's own writes are hooked
        // (a policy on `write`, output to a file), records arrive as fast
        // as they are read, and an unbounded drain would never hand control
        // back to the caller (its --duration, signals, reloads).
        let deadline = std::time::Instant::now() + timeout.max(MIN_DRAIN);
        let mut count = 0;
        // records already waiting need no wait
        while let Some(item) = ring.next() {
            on_record(&item);
            count += 1;
            if drain_is_over(count, deadline) {
                return Ok(count);
            }
        }
        if count > 0 {
            return Ok(count);
        }
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        {
            let mut fds = [PollFd::new(ring.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(millis)) {
                Ok(0) | Err(nix::Error::EINTR) => {}
                // woken: let a batch gather, then drain it in one go
                Ok(_) => std::thread::sleep(self.batch_wait.min(timeout)),
                Err(source) => return Err(RuntimeError::Poll { source }),
            }
        }
        let deadline = std::time::Instant::now() + timeout.max(MIN_DRAIN);
        while let Some(item) = ring.next() {
            on_record(&item);
            count += 1;
            if drain_is_over(count, deadline) {
                break;
            }
        }
        Ok(count)
    }

    fn drop_counts(&self) -> Result<DropCounts, RuntimeError> {
        let Ok(map) = self.map_ref(DROPS_MAP) else {
            return Ok(DropCounts::default());
        };
        let drops: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(map).map_err(map_error(DROPS_MAP))?;
        let sum = |index: u32| -> Result<u64, RuntimeError> {
            let values = drops.get(&index, 0).map_err(map_error(DROPS_MAP))?;
            Ok(values.iter().copied().sum())
        };
        Ok(DropCounts {
            exec: sum(0)?,
            fork: sum(1)?,
            exit: sum(2)?,
        })
    }

    fn seed_process(&mut self, entry: &ProcessEntry) -> Result<bool, RuntimeError> {
        let Ok(map) = self.map(maps::PROCESSES) else {
            return Ok(false);
        };
        let mut processes: BpfHashMap<&mut MapData, u32, [u8; PROCESS_ENTRY_LEN]> =
            BpfHashMap::try_from(map).map_err(map_error(maps::PROCESSES))?;
        match processes.insert(entry.pid, entry.encode(), BPF_NOEXIST) {
            Ok(()) => Ok(true),
            Err(MapError::SyscallError(error))
                if error.io_error.raw_os_error() == Some(nix::libc::EEXIST) =>
            {
                Ok(false)
            }
            Err(source) => Err(map_error(maps::PROCESSES)(source)),
        }
    }

    fn process_entry(&self, pid: u32) -> Result<Option<ProcessEntry>, RuntimeError> {
        let Ok(map) = self.map_ref(maps::PROCESSES) else {
            return Ok(None);
        };
        let processes: BpfHashMap<&MapData, u32, [u8; PROCESS_ENTRY_LEN]> =
            BpfHashMap::try_from(map).map_err(map_error(maps::PROCESSES))?;
        match processes.get(&pid, 0) {
            Ok(bytes) => Ok(ProcessEntry::decode(&bytes).ok()),
            Err(MapError::KeyNotFound) => Ok(None),
            Err(source) => Err(map_error(maps::PROCESSES)(source)),
        }
    }

    fn process_pids(&self) -> Result<Vec<u32>, RuntimeError> {
        let Ok(map) = self.map_ref(maps::PROCESSES) else {
            return Ok(Vec::new());
        };
        let processes: BpfHashMap<&MapData, u32, [u8; PROCESS_ENTRY_LEN]> =
            BpfHashMap::try_from(map).map_err(map_error(maps::PROCESSES))?;
        Ok(processes.keys().filter_map(Result::ok).collect())
    }

    fn update_process_entry(&mut self, entry: &ProcessEntry) -> Result<(), RuntimeError> {
        let map = self.map(maps::PROCESSES)?;
        let mut processes: BpfHashMap<&mut MapData, u32, [u8; PROCESS_ENTRY_LEN]> =
            BpfHashMap::try_from(map).map_err(map_error(maps::PROCESSES))?;
        match processes.insert(entry.pid, entry.encode(), BPF_EXIST) {
            Ok(()) => Ok(()),
            Err(MapError::SyscallError(error))
                if error.io_error.raw_os_error() == Some(nix::libc::ENOENT) =>
            {
                Ok(())
            }
            Err(source) => Err(map_error(maps::PROCESSES)(source)),
        }
    }

    fn map_update(
        &mut self,
        map: &'static str,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), RuntimeError> {
        let target = self.map(map)?;
        write_entry(target, map, key, Some(value))
    }

    fn map_delete(&mut self, map: &'static str, key: &[u8]) -> Result<(), RuntimeError> {
        let target = self.map(map)?;
        write_entry(target, map, key, None)
    }

    fn attach(&mut self, program: &str, target: &AttachTarget) -> Result<LinkHandle, RuntimeError> {
        if matches!(
            target,
            AttachTarget::Fentry { .. } | AttachTarget::Lsm { .. } | AttachTarget::FmodRet { .. }
        ) && self.btf.is_none()
        {
            self.btf = Some(Btf::from_sys_fs().map_err(|e| RuntimeError::AttachSetup {
                program: program.to_owned(),
                target: target.to_string(),
                reason: format!("reading the kernel's BTF: {e}"),
            })?);
        }
        let ebpf = self.ebpf.as_mut().ok_or(RuntimeError::ShutDown)?;
        let missing = || RuntimeError::MissingProgram {
            program: program.to_owned(),
        };
        let error = |e| hook_program_error(program, target, e);
        macro_rules! program {
            ($ty:ty) => {{
                let p: &mut $ty = ebpf
                    .program_mut(program)
                    .ok_or_else(missing)?
                    .try_into()
                    .map_err(error)?;
                p
            }};
        }
        let link = match target {
            AttachTarget::Tracepoint { category, name } => {
                let p = program!(TracePoint);
                if p.fd().is_err() {
                    p.load().map_err(error)?;
                }
                Link::Tracepoint(program.to_owned(), p.attach(category, name).map_err(error)?)
            }
            AttachTarget::RawTracepoint { name } => {
                let p = program!(RawTracePoint);
                if p.fd().is_err() {
                    p.load().map_err(error)?;
                }
                Link::Raw(program.to_owned(), p.attach(name).map_err(error)?)
            }
            AttachTarget::Kprobe { function } => {
                let p = program!(KProbe);
                if p.fd().is_err() {
                    p.load().map_err(error)?;
                }
                Link::Kprobe(program.to_owned(), p.attach(function, 0).map_err(error)?)
            }
            AttachTarget::Uprobe {
                path,
                symbol,
                offset,
            } => {
                let p = program!(UProbe);
                if p.fd().is_err() {
                    p.load().map_err(error)?;
                }
                let location = match symbol {
                    Some(symbol) if *offset == 0 => UProbeAttachLocation::Symbol(symbol),
                    Some(symbol) => UProbeAttachLocation::SymbolOffset(symbol, *offset),
                    None => UProbeAttachLocation::AbsoluteOffset(*offset),
                };
                let id = p
                    .attach(location, path, UProbeScope::AllProcesses)
                    .map_err(error)?;
                Link::Uprobe(program.to_owned(), id)
            }
            AttachTarget::Usdt {
                path,
                provider,
                name,
                sites,
            } => {
                let p = program!(UProbe);
                if p.fd().is_err() {
                    p.load().map_err(error)?;
                }
                let setup = |reason: String| RuntimeError::AttachSetup {
                    program: program.to_owned(),
                    target: target.to_string(),
                    reason,
                };
                if sites.is_empty() {
                    return Err(setup(format!(
                        "no sites of {provider}:{name} were given to attach at"
                    )));
                }
                let fd = p.fd().map_err(error)?;
                let mut links = Vec::new();
                for (offset, ref_ctr_offset) in sites {
                    links.push(
                        super::usdt_attach::attach(fd.as_fd(), path, *offset, *ref_ctr_offset)
                            .map_err(setup)?,
                    );
                }
                Link::Usdt(links)
            }
            AttachTarget::Fentry { function } => {
                let btf = self.btf.as_ref().ok_or(RuntimeError::ShutDown)?;
                let p = program!(FEntry);
                if p.fd().is_ok() {
                    let _ignored = p.unload();
                }
                p.load(function, btf).map_err(error)?;
                Link::Fentry(program.to_owned(), p.attach().map_err(error)?)
            }
            AttachTarget::Fexit { function } => {
                let btf = self.btf.as_ref().ok_or(RuntimeError::ShutDown)?;
                let p = program!(FExit);
                if p.fd().is_ok() {
                    let _ignored = p.unload();
                }
                p.load(function, btf).map_err(error)?;
                Link::Fexit(program.to_owned(), p.attach().map_err(error)?)
            }
            AttachTarget::Lsm { hook } => {
                let btf = self.btf.as_ref().ok_or(RuntimeError::ShutDown)?;
                let p = program!(Lsm);
                if p.fd().is_ok() {
                    let _ignored = p.unload();
                }
                p.load(hook, btf).map_err(error)?;
                Link::Lsm(program.to_owned(), p.attach().map_err(error)?)
            }
            AttachTarget::FmodRet { function } => {
                let btf = self.btf.as_ref().ok_or(RuntimeError::ShutDown)?;
                let loaded = load_fmod_ret(ebpf, program, function, btf).map_err(|reason| {
                    RuntimeError::Verifier {
                        program: program.to_owned(),
                        target: target.to_string(),
                        reason: reason.lines().next().unwrap_or_default().to_owned(),
                        log: reason.lines().skip(1).collect::<Vec<_>>().join("\n"),
                    }
                })?;
                let link = super::fmod_ret::attach(loaded.fd).map_err(|reason| {
                    RuntimeError::AttachSetup {
                        program: program.to_owned(),
                        target: target.to_string(),
                        reason,
                    }
                })?;
                Link::FmodRet(link)
            }
        };
        let handle = LinkHandle(self.next_link);
        self.next_link += 1;
        self.links.insert(handle, link);
        Ok(handle)
    }

    fn detach(&mut self, link: LinkHandle) -> Result<(), RuntimeError> {
        let (Some(ebpf), Some(link)) = (self.ebpf.as_mut(), self.links.remove(&link)) else {
            return Ok(());
        };
        macro_rules! detach {
            ($ty:ty, $program:expr, $id:expr) => {
                match ebpf.program_mut(&$program).map(<&mut $ty>::try_from) {
                    Some(Ok(p)) => p.detach($id),
                    _ => Ok(()),
                }
            };
        }
        let result = match link {
            Link::Tracepoint(program, id) => detach!(TracePoint, program, id),
            Link::Raw(program, id) => detach!(RawTracePoint, program, id),
            Link::Kprobe(program, id) => detach!(KProbe, program, id),
            Link::Uprobe(program, id) => detach!(UProbe, program, id),
            Link::Fentry(program, id) => {
                match ebpf.program_mut(&program).map(<&mut FEntry>::try_from) {
                    Some(Ok(p)) => p.detach(id).and_then(|()| p.unload()),
                    _ => Ok(()),
                }
            }
            Link::Fexit(program, id) => {
                match ebpf.program_mut(&program).map(<&mut FExit>::try_from) {
                    Some(Ok(p)) => p.detach(id).and_then(|()| p.unload()),
                    _ => Ok(()),
                }
            }
            Link::Lsm(program, id) => match ebpf.program_mut(&program).map(<&mut Lsm>::try_from) {
                Some(Ok(p)) => p.detach(id).and_then(|()| p.unload()),
                _ => Ok(()),
            },
            Link::FmodRet(link) => {
                drop(link);
                Ok(())
            }
            Link::Usdt(links) => {
                drop(links);
                Ok(())
            }
        };
        result.map_err(|source| RuntimeError::Detach {
            source: Box::new(source),
        })
    }

    fn policy_drops(&self, policy: u16) -> Result<u64, RuntimeError> {
        let map = self.map_ref(maps::POLICY_DROPS)?;
        let drops: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(map).map_err(map_error(maps::POLICY_DROPS))?;
        let values = drops
            .get(&u32::from(policy), 0)
            .map_err(map_error(maps::POLICY_DROPS))?;
        Ok(values.iter().copied().sum())
    }

    fn program_ids(&self) -> Vec<u32> {
        let Some(ebpf) = &self.ebpf else {
            return Vec::new();
        };
        ebpf.programs()
            .filter_map(|(_, program)| program.info().ok().map(|info| info.id()))
            .collect()
    }

    fn shutdown(&mut self) -> Result<(), RuntimeError> {
        // Dropping the Ebpf detaches every link and closes the program fds;
        // dropping the maps closes theirs. The kernel frees them once no fd
        // is left.
        self.links.clear();
        self.ring = None;
        self.ebpf = None;
        Ok(())
    }
}

impl Drop for AyaBackend {
    fn drop(&mut self) {
        let _ignored = self.shutdown();
    }
}

/// Loads fmod_ret program `program` of the fmod_ret object for
/// `function`, its map references pointed at the sensor object's maps.
fn load_fmod_ret(
    ebpf: &Ebpf,
    program: &str,
    function: &str,
    btf: &Btf,
) -> Result<super::fmod_ret::Loaded, String> {
    let object = objects::fmod_ret().ok_or("this build carries no fmod_ret object")?;
    let map_fd = |name: &str| ebpf.map(name).and_then(map_raw_fd);
    let insns = super::fmod_ret::instructions(object, program, &map_fd)?;
    super::fmod_ret::load(&insns, program, function, btf)
}

/// The fd of a map of the sensor object, for the fmod_ret loader.
fn map_raw_fd(map: &Map) -> Option<std::os::fd::RawFd> {
    let data = match map {
        Map::Array(d)
        | Map::HashMap(d)
        | Map::LruHashMap(d)
        | Map::PerCpuArray(d)
        | Map::PerCpuHashMap(d)
        | Map::LpmTrie(d) => d,
        _ => return None,
    };
    Some(super::fmod_ret::raw(data.fd().as_fd()))
}

/// One program as the kernel's verifier saw it (`tpc verify`).
#[derive(Debug, Clone)]
pub struct ProgramCheck {
    pub program: String,
    pub target: AttachTarget,
    /// Instructions the verifier processed, and the program's size after
    /// translation in instructions; `Err`: why it did not load (the
    /// verifier's reason and the end of its log).
    pub outcome: Result<(Option<u32>, Option<u32>), String>,
    pub load_time: Duration,
}

/// Loads the sensor object and each of `programs` (name, target) through
/// the live kernel's verifier, without attaching anything; releases
/// everything before returning. fentry and LSM programs are loaded for
/// their target (its BTF), the others once each.
pub fn verify_programs(
    options: &LoadOptions,
    programs: &[(String, AttachTarget)],
) -> Result<Vec<ProgramCheck>, RuntimeError> {
    let object = objects::sensor().ok_or(RuntimeError::NoBpfObjects)?;
    preflight::check_host()?;
    let mut loader = EbpfLoader::new();
    for (name, size) in &options.map_sizes {
        loader.map_max_entries(name, *size);
    }
    let mut ebpf = loader.load(object).map_err(|source| RuntimeError::Load {
        object: OBJECT,
        source: Box::new(source),
    })?;
    let mut btf: Option<Btf> = None;
    let mut out = Vec::new();
    for (program, target) in programs {
        let started = std::time::Instant::now();
        let outcome = verify_one(&mut ebpf, &mut btf, program, target);
        out.push(ProgramCheck {
            program: program.clone(),
            target: target.clone(),
            outcome,
            load_time: started.elapsed(),
        });
    }
    Ok(out)
}

fn verify_one(
    ebpf: &mut Ebpf,
    btf: &mut Option<Btf>,
    program: &str,
    target: &AttachTarget,
) -> Result<(Option<u32>, Option<u32>), String> {
    let describe = |e: ProgramError| match hook_program_error(program, target, e) {
        RuntimeError::Verifier { reason, log, .. } if log.trim().is_empty() => reason,
        RuntimeError::Verifier { reason, log, .. } => format!("{reason}\n{log}"),
        other => crate::error::chain(&other),
    };
    if matches!(
        target,
        AttachTarget::Fentry { .. }
            | AttachTarget::Fexit { .. }
            | AttachTarget::Lsm { .. }
            | AttachTarget::FmodRet { .. }
    ) && btf.is_none()
    {
        *btf = Some(Btf::from_sys_fs().map_err(|e| format!("reading the kernel's BTF: {e}"))?);
    }
    if let AttachTarget::FmodRet { function } = target {
        let btf = btf.as_ref().ok_or("no kernel BTF")?;
        let loaded = load_fmod_ret(ebpf, program, function, btf)?;
        let size = objects::fmod_ret()
            .and_then(|o| super::fmod_ret::instructions(o, program, &|_| Some(0)).ok())
            .and_then(|i| u32::try_from(i.len() / 8).ok());
        return Ok((loaded.verified, size));
    }
    let p = ebpf
        .program_mut(program)
        .ok_or_else(|| format!("the sensor object has no program {program}"))?;
    let info = match target {
        AttachTarget::Fentry { function } => {
            let p: &mut FEntry = p.try_into().map_err(describe)?;
            if p.fd().is_ok() {
                let _ignored = p.unload();
            }
            let btf = btf.as_ref().ok_or("no kernel BTF")?;
            p.load(function, btf).map_err(describe)?;
            p.info().map_err(describe)?
        }
        AttachTarget::Fexit { function } => {
            let p: &mut FExit = p.try_into().map_err(describe)?;
            if p.fd().is_ok() {
                let _ignored = p.unload();
            }
            let btf = btf.as_ref().ok_or("no kernel BTF")?;
            p.load(function, btf).map_err(describe)?;
            p.info().map_err(describe)?
        }
        AttachTarget::Lsm { hook } => {
            let p: &mut Lsm = p.try_into().map_err(describe)?;
            if p.fd().is_ok() {
                let _ignored = p.unload();
            }
            let btf = btf.as_ref().ok_or("no kernel BTF")?;
            p.load(hook, btf).map_err(describe)?;
            p.info().map_err(describe)?
        }
        _ => {
            macro_rules! load {
                ($ty:ty) => {{
                    let p: &mut $ty = p.try_into().map_err(describe)?;
                    if p.fd().is_err() {
                        p.load().map_err(describe)?;
                    }
                    p.info().map_err(describe)?
                }};
            }
            match target {
                AttachTarget::Tracepoint { .. } => load!(TracePoint),
                AttachTarget::RawTracepoint { .. } => load!(RawTracePoint),
                AttachTarget::Kprobe { .. } => load!(KProbe),
                _ => load!(UProbe),
            }
        }
    };
    Ok((
        info.verified_instruction_count(),
        info.size_translated().map(|bytes| bytes / 8),
    ))
}
