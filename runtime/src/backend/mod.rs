//! The one seam between the runtime and the kernel: everything that loads, attaches, reads or writes maps or waits on the ring buffer goes through `KernelBackend`.

pub mod aya_backend;
pub mod fake;
pub mod fmod_ret;
pub mod usdt_attach;

use std::time::Duration;

use crate::{error::RuntimeError, model::DropCounts, wire::ProcessEntry};

/// An attachment of a hook program, as the backend hands it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkHandle(pub u64);

/// What a hook program is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttachTarget {
    /// `category/name` through tracefs.
    Tracepoint { category: String, name: String },
    /// A raw tracepoint by name.
    RawTracepoint { name: String },
    /// A kprobe on a kernel function, by its kernel name.
    Kprobe { function: String },
    /// fentry on a kernel function (loaded against its BTF).
    Fentry { function: String },
    /// fexit on a kernel function (loaded against its BTF): the return
    /// program of an fentry hook.
    Fexit { function: String },
    /// An fmod_ret program of the fmod_ret object on a kernel function
    /// (loaded against its BTF): the Override of a kprobe on it.
    FmodRet { function: String },
    /// A BPF LSM hook (`file_open`).
    Lsm { hook: String },
    /// A uprobe: `symbol` (+ `offset`) in `path`, or `offset` in the file.
    Uprobe {
        path: String,
        symbol: Option<String>,
        offset: u64,
    },
    /// A USDT probe of `path`: a uprobe at each of its sites, with its
    /// semaphore counted (`crate::usdt`). `sites`: (file offset, semaphore
    /// offset) as read when the hook's slots were laid out (the policy
    /// engine fills them; [`crate::policies::attach_target`] cannot).
    Usdt {
        path: String,
        provider: String,
        name: String,
        sites: Vec<(u64, u64)>,
    },
}

impl std::fmt::Display for AttachTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttachTarget::Tracepoint { category, name } => {
                write!(f, "tracepoint {category}/{name}")
            }
            AttachTarget::RawTracepoint { name } => write!(f, "raw tracepoint {name}"),
            AttachTarget::Kprobe { function } => write!(f, "kprobe {function}"),
            AttachTarget::Fentry { function } => write!(f, "fentry {function}"),
            AttachTarget::Fexit { function } => write!(f, "fexit {function}"),
            AttachTarget::FmodRet { function } => write!(f, "fmod_ret {function}"),
            AttachTarget::Lsm { hook } => write!(f, "lsm {hook}"),
            AttachTarget::Uprobe {
                path,
                symbol: Some(symbol),
                offset,
            } => write!(f, "uprobe {path}:{symbol}+{offset:#x}"),
            AttachTarget::Uprobe {
                path,
                symbol: None,
                offset,
            } => write!(f, "uprobe {path}@{offset:#x}"),
            AttachTarget::Usdt {
                path,
                provider,
                name,
                ..
            } => write!(f, "usdt {path}:{provider}:{name}"),
        }
    }
}

/// The loaded sensor object, as the rest of the runtime sees it.
/// `aya_backend::AyaBackend` talks to the kernel; `fake::FakeBackend` keeps
/// maps in memory and replays scripted records for unit tests.
pub trait KernelBackend {
    /// Waits up to `timeout` for ring-buffer records, then hands every
    /// available record, in ring order, to `on_record`. Returns how many.
    fn read_records(
        &mut self,
        timeout: Duration,
        on_record: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, RuntimeError>;

    /// Records the base sensor dropped since load, by kind, summed over CPUs.
    fn drop_counts(&self) -> Result<DropCounts, RuntimeError>;

    /// Puts a process found in /proc into the kernel's process map unless the
    /// kernel already has an entry for that pid. Returns whether it was added.
    fn seed_process(&mut self, entry: &ProcessEntry) -> Result<bool, RuntimeError>;

    /// The kernel's process-map entry for `pid`, if any.
    fn process_entry(&self, pid: u32) -> Result<Option<ProcessEntry>, RuntimeError>;

    /// Every pid in the kernel's process map.
    fn process_pids(&self) -> Result<Vec<u32>, RuntimeError>;

    /// Rewrites a process-map entry that exists (a vanished one is skipped).
    fn update_process_entry(&mut self, entry: &ProcessEntry) -> Result<(), RuntimeError>;

    /// Writes one entry of a map of the sensor object (keys and values in
    /// the layouts of `tpc_bundle::layout`).
    fn map_update(
        &mut self,
        map: &'static str,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), RuntimeError>;

    /// Deletes one entry; a missing entry is not an error.
    fn map_delete(&mut self, map: &'static str, key: &[u8]) -> Result<(), RuntimeError>;

    /// Loads `program` (once; later calls reuse it) and attaches it.
    fn attach(&mut self, program: &str, target: &AttachTarget) -> Result<LinkHandle, RuntimeError>;

    /// Detaches one attachment; the program stays loaded for others.
    fn detach(&mut self, link: LinkHandle) -> Result<(), RuntimeError>;

    /// Hook records of policy `policy` the ring buffer could not take, summed
    /// over CPUs.
    fn policy_drops(&self, policy: u16) -> Result<u64, RuntimeError>;

    /// Kernel ids of the loaded programs (for leak checks and `bpftool`).
    fn program_ids(&self) -> Vec<u32>;

    /// Detaches every program and releases programs, links and maps.
    /// Calling it again does nothing.
    fn shutdown(&mut self) -> Result<(), RuntimeError>;
}
