//! The real kernel behind `KernelBackend`, with aya: loads the base sensor object, attaches its three tracepoints, polls its ring buffer.

use std::{os::fd::AsFd, time::Duration};

use aya::{
    Ebpf, EbpfLoader,
    maps::{HashMap, MapData, PerCpuArray, RingBuf},
    programs::{RawTracePoint, TracePoint},
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::KernelBackend;
use crate::{
    error::RuntimeError,
    model::DropCounts,
    objects,
    preflight::{self, PreflightReport},
    wire::{PROCESS_ENTRY_LEN, ProcessEntry},
};

const OBJECT: &str = "base_sensor.bpf.o";
const RING_MAP: &str = "tpc_events";
const PROCESS_MAP: &str = "tpc_processes";
const DROPS_MAP: &str = "tpc_drops";
const EXEC_PROGRAM: &str = "tpc_sched_process_exec";
const FORK_PROGRAM: &str = "tpc_sched_process_fork";
const EXIT_PROGRAM: &str = "tpc_sched_process_exit";
/// `BPF_NOEXIST`: add only when the key is absent.
const BPF_NOEXIST: u64 = 1;

/// Kernel-facing options.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Ring buffer size in bytes (a power of two, a multiple of the page
    /// size); the object's default (8 MiB) when `None`.
    pub ring_buffer_bytes: Option<u32>,
}

/// The base sensor, loaded and attached with aya.
pub struct AyaBackend {
    /// Programs and their links; `None` after shutdown.
    ebpf: Option<Ebpf>,
    ring: Option<RingBuf<MapData>>,
    processes: Option<HashMap<MapData, u32, [u8; PROCESS_ENTRY_LEN]>>,
    drops: Option<PerCpuArray<MapData, u64>>,
    preflight: PreflightReport,
}

impl std::fmt::Debug for AyaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AyaBackend")
            .field("loaded", &self.ebpf.is_some())
            .field("preflight", &self.preflight)
            .finish()
    }
}

impl AyaBackend {
    /// Checks the host, loads the object, attaches exec, fork and exit.
    /// On any failure nothing stays loaded.
    pub fn load(options: &LoadOptions) -> Result<Self, RuntimeError> {
        let object = objects::base_sensor().ok_or(RuntimeError::NoBpfObjects)?;
        let preflight = preflight::check_host()?;
        let mut loader = EbpfLoader::new();
        if let Some(bytes) = options.ring_buffer_bytes {
            loader.map_max_entries(RING_MAP, bytes);
        }
        let mut ebpf = loader.load(object).map_err(|source| RuntimeError::Load {
            object: OBJECT,
            source: Box::new(source),
        })?;
        let ring = take_map(&mut ebpf, RING_MAP)?;
        let processes = take_map(&mut ebpf, PROCESS_MAP)?;
        let drops = take_map(&mut ebpf, DROPS_MAP)?;
        attach_tracepoint(&mut ebpf, EXEC_PROGRAM, "sched", "sched_process_exec")?;
        attach_raw_tracepoint(&mut ebpf, FORK_PROGRAM, "sched_process_fork")?;
        attach_tracepoint(&mut ebpf, EXIT_PROGRAM, "sched", "sched_process_exit")?;
        Ok(Self {
            ebpf: Some(ebpf),
            ring: Some(ring),
            processes: Some(processes),
            drops: Some(drops),
            preflight,
        })
    }

    /// What the host checks did (filesystems mounted).
    pub fn preflight(&self) -> &PreflightReport {
        &self.preflight
    }

    /// Kernel ids of the loaded programs (for leak checks).
    pub fn program_ids(&self) -> Vec<u32> {
        let Some(ebpf) = &self.ebpf else {
            return Vec::new();
        };
        ebpf.programs()
            .filter_map(|(_, program)| program.info().ok().map(|info| info.id()))
            .collect()
    }
}

fn take_map<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, RuntimeError>
where
    T: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.take_map(name).ok_or(RuntimeError::MissingInObject {
        object: OBJECT,
        what: "map",
        name,
    })?;
    T::try_from(map).map_err(|source| RuntimeError::Map {
        map: name,
        source: Box::new(source),
    })
}

fn program_error(
    program: &'static str,
    attach_point: &'static str,
) -> impl Fn(aya::programs::ProgramError) -> RuntimeError {
    move |source| RuntimeError::Program {
        program,
        attach_point,
        source: Box::new(source),
    }
}

fn attach_tracepoint(
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

fn attach_raw_tracepoint(
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

impl KernelBackend for AyaBackend {
    fn read_records(
        &mut self,
        timeout: Duration,
        on_record: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, RuntimeError> {
        let Some(ring) = self.ring.as_mut() else {
            return Ok(0);
        };
        let mut count = 0;
        // records already waiting need no wait
        while let Some(item) = ring.next() {
            on_record(&item);
            count += 1;
        }
        if count > 0 {
            return Ok(count);
        }
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        {
            let mut fds = [PollFd::new(ring.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(millis)) {
                Ok(_) | Err(nix::Error::EINTR) => {}
                Err(source) => return Err(RuntimeError::Poll { source }),
            }
        }
        while let Some(item) = ring.next() {
            on_record(&item);
            count += 1;
        }
        Ok(count)
    }

    fn drop_counts(&self) -> Result<DropCounts, RuntimeError> {
        let Some(drops) = &self.drops else {
            return Ok(DropCounts::default());
        };
        let sum = |index: u32| -> Result<u64, RuntimeError> {
            let values = drops.get(&index, 0).map_err(|source| RuntimeError::Map {
                map: DROPS_MAP,
                source: Box::new(source),
            })?;
            Ok(values.iter().copied().sum())
        };
        Ok(DropCounts {
            exec: sum(0)?,
            fork: sum(1)?,
            exit: sum(2)?,
        })
    }

    fn seed_process(&mut self, entry: &ProcessEntry) -> Result<bool, RuntimeError> {
        let Some(processes) = self.processes.as_mut() else {
            return Ok(false);
        };
        match processes.insert(entry.pid, entry.encode(), BPF_NOEXIST) {
            Ok(()) => Ok(true),
            Err(aya::maps::MapError::SyscallError(error))
                if error.io_error.raw_os_error() == Some(nix::libc::EEXIST) =>
            {
                Ok(false)
            }
            Err(source) => Err(RuntimeError::Map {
                map: PROCESS_MAP,
                source: Box::new(source),
            }),
        }
    }

    fn process_entry(&self, pid: u32) -> Result<Option<ProcessEntry>, RuntimeError> {
        let Some(processes) = &self.processes else {
            return Ok(None);
        };
        match processes.get(&pid, 0) {
            Ok(bytes) => Ok(ProcessEntry::decode(&bytes).ok()),
            Err(aya::maps::MapError::KeyNotFound) => Ok(None),
            Err(source) => Err(RuntimeError::Map {
                map: PROCESS_MAP,
                source: Box::new(source),
            }),
        }
    }

    fn shutdown(&mut self) -> Result<(), RuntimeError> {
        // Dropping the Ebpf detaches every link and closes the program fds;
        // dropping the maps closes theirs. The kernel frees them once no fd
        // is left.
        self.ebpf = None;
        self.ring = None;
        self.processes = None;
        self.drops = None;
        Ok(())
    }
}

impl Drop for AyaBackend {
    fn drop(&mut self) {
        let _ignored = self.shutdown();
    }
}
