//! Policies in the kernel: loads bundles into the sensor object's maps,
//! attaches one program per hooked point whatever the number of policies on
//! it, and removes them again.
//!
//! Every id is assigned here: policies (1..1024, the drop counters), hooks
//! (one per attach point), policy hooks (one per policy and hook: its
//! selectors), value sets and followChildren bits. A hook's argument slots
//! are the union of what its policies read; a policy hook refers to slots
//! by index, so adding a policy never changes another's entries. Loading
//! is transactional: on any failure every entry written and every link made
//! is undone before the error is returned. Loading a policy on a point that
//! is already hooked only writes map entries: the verifier never runs again.
//!
//! [`AttachMode::PerBundle`] keeps the other design for comparison (the
//! benchmark `bench/many_policies.sh`): each bundle gets its own hook and
//! program per point, as Tetragon attaches one program chain per policy.

pub mod events;

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use tpc_bundle::binding::{self, BindingUnit, Claim, Overlap, Workload};
use tpc_bundle::{
    AttachPoint, Bundle, FORMAT_VERSION, Feature, HookUnit, KernelVersion, PROGRAM_ABI,
    PolicyScope, ProcessFilter, SENSOR_OBJECT,
    kernel::{self, IdSource, MapWrite, maps},
    layout::{self, KernelHook, KernelSlot},
    model::{ArgRead, ArgSource, ArgSpec},
};

use crate::{
    backend::{AttachTarget, KernelBackend, LinkHandle},
    error::RuntimeError,
    tracefs::Tracefs,
    wire::ProcessEntry,
};

/// Why a bundle could not be loaded; nothing of it stays loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "the bundle was built for program ABI {found}, this tpc runs ABI {supported}: rebuild it with this tpc"
    )]
    Abi { found: u32, supported: u32 },
    #[error("the bundle targets object {found}, this tpc embeds {SENSOR_OBJECT}")]
    Object { found: String },
    #[error("the bundle's format version {found} is not {FORMAT_VERSION}")]
    Format { found: u32 },
    #[error("this kernel ({running}) lacks what the bundle needs: {what}")]
    Requirement { running: String, what: String },
    #[error("policy {policy}, {locator}: {reason}")]
    Hook {
        policy: String,
        locator: String,
        reason: String,
    },
    #[error("policy {policy}: {reason}")]
    Policy { policy: String, reason: String },
    /// CFP-4191: two bindings of one template on the same workload without
    /// an override; the new one is not loaded and the running ones it
    /// conflicts with are rolled back too.
    #[error("binding {policy} not loaded: {reason}; rolled back as well: {}", rolled_back.join(", "))]
    BindingConflict {
        policy: String,
        reason: String,
        rolled_back: Vec<String>,
    },
    #[error("policy {policy}, {locator}: {source}")]
    Kernel {
        policy: String,
        locator: String,
        #[source]
        source: Box<RuntimeError>,
    },
}

/// A loaded bundle.
pub type BundleId = usize;

/// How hook programs are shared among bundles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AttachMode {
    /// One program per hooked point, whatever the number of policies on
    /// it; each policy is evaluated from its own map entries.
    #[default]
    Shared,
    /// One program (and link) per bundle and hooked point, the way Tetragon
    /// attaches one program chain per policy: every program runs on every
    /// hit. Kept to measure the shared design against
    /// (`bench/many_policies.sh`); each bundle's points take program slots
    /// of their own, and the kernel runs at most
    /// [`MAX_TRACEPOINT_PROGRAMS`] programs on one tracepoint.
    PerBundle,
}

/// Programs the kernel runs on one tracepoint (`BPF_TRACE_MAX_PROGS`):
/// attaching one more fails with `E2BIG`. Only [`AttachMode::PerBundle`]
/// comes near it.
pub const MAX_TRACEPOINT_PROGRAMS: usize = 64;

/// The program chain a policy hook runs in: its point's shared one, or in
/// [`AttachMode::PerBundle`] its bundle's own on that point.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ChainKey {
    attach: AttachPoint,
    bundle: Option<BundleId>,
}

/// How `tpc run` binds a policy to cgroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupBinding {
    /// The policy (`metadata.name`).
    pub policy: String,
    /// A cgroup v2 directory (absolute, or relative to the cgroup mount).
    pub path: PathBuf,
}

/// What the engine needs to know about the host.
#[derive(Debug, Clone)]
pub struct HostInfo {
    pub tracefs: Tracefs,
    /// The cgroup v2 mount: policy cgroup paths are relative to it.
    pub cgroup_root: PathBuf,
    /// `major.minor` of the running kernel.
    pub kernel: KernelVersion,
    pub release: String,
}

impl HostInfo {
    pub fn running() -> Self {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        HostInfo {
            tracefs: Tracefs::running(),
            cgroup_root: crate::preflight::cgroup2_root()
                .unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup")),
            kernel: parse_release(&release),
            release,
        }
    }
}

/// `6.18.44-fc` → 6.18.
pub fn parse_release(release: &str) -> KernelVersion {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    KernelVersion {
        major: parts.next().unwrap_or(0),
        minor: parts.next().unwrap_or(0),
    }
}

/// The cgroup v2 id of a directory: its inode number.
pub fn cgroup_id(root: &Path, path: &Path) -> Result<u64, String> {
    use std::os::unix::fs::MetadataExt;
    let full = if path.is_absolute() && path.starts_with(root) {
        path.to_path_buf()
    } else {
        root.join(path.strip_prefix("/").unwrap_or(path))
    };
    let meta = std::fs::metadata(&full)
        .map_err(|e| format!("cgroup {} cannot be read: {e}", full.display()))?;
    if !meta.is_dir() {
        return Err(format!("cgroup {} is not a directory", full.display()));
    }
    Ok(meta.ino())
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SlotKey {
    source: ArgSource,
    read: ArgRead,
}

/// The program family a hook runs in: its slots and dispatch map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProgKind {
    Tracepoint,
    RawTracepoint,
    Kprobe,
    KprobeOverride,
    Fentry,
    Lsm,
    Uprobe,
    Kretprobe,
    Uretprobe,
    KprobeFmodRet,
    Fexit,
}

const PROG_KINDS: usize = 11;

impl ProgKind {
    fn of(attach: &AttachPoint) -> Self {
        match attach {
            AttachPoint::Tracepoint { .. } => ProgKind::Tracepoint,
            AttachPoint::RawTracepoint { .. } => ProgKind::RawTracepoint,
            AttachPoint::Kprobe {
                override_return: false,
                ..
            } => ProgKind::Kprobe,
            AttachPoint::Kprobe {
                override_return: true,
                fmod_ret: false,
                ..
            } => ProgKind::KprobeOverride,
            AttachPoint::Kprobe {
                override_return: true,
                fmod_ret: true,
                ..
            } => ProgKind::KprobeFmodRet,
            AttachPoint::Fentry { .. } => ProgKind::Fentry,
            AttachPoint::Lsm { .. } => ProgKind::Lsm,
            AttachPoint::Uprobe { .. } | AttachPoint::Usdt { .. } => ProgKind::Uprobe,
        }
    }

    /// The kind of a hook's return program, if it has one.
    fn return_of(attach: &AttachPoint) -> Option<Self> {
        match attach {
            AttachPoint::Kprobe { returns: true, .. } => Some(ProgKind::Kretprobe),
            AttachPoint::Uprobe { returns: true, .. } => Some(ProgKind::Uretprobe),
            AttachPoint::Fentry { returns: true, .. } => Some(ProgKind::Fexit),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// (base in the dispatch map, programs).
    fn slots(self) -> (usize, usize) {
        match self {
            ProgKind::Tracepoint => (0, layout::TP_SLOTS),
            ProgKind::RawTracepoint => (0, layout::RAW_SLOTS),
            ProgKind::Kprobe => layout::KPROBE_SLOTS,
            ProgKind::KprobeOverride => layout::KPROBE_OVERRIDE_SLOTS,
            ProgKind::Fentry => layout::FENTRY_SLOTS,
            ProgKind::Lsm => layout::LSM_SLOTS,
            ProgKind::Uprobe => layout::UPROBE_SLOTS,
            ProgKind::Kretprobe => layout::KRETPROBE_SLOTS,
            ProgKind::Uretprobe => layout::URETPROBE_SLOTS,
            ProgKind::KprobeFmodRet => layout::KPROBE_FMODRET_SLOTS,
            ProgKind::Fexit => layout::FEXIT_SLOTS,
        }
    }

    /// The dispatch map and key of program slot `slot`.
    fn dispatch(self, slot: u32) -> (&'static str, u32) {
        let base = u32::try_from(self.slots().0).unwrap_or(0);
        match self {
            ProgKind::Tracepoint => (maps::TP_HOOKS, slot),
            ProgKind::RawTracepoint => (maps::RAW_HOOKS, slot),
            _ => (maps::PROG_HOOKS, base + slot),
        }
    }

    fn plural(self) -> &'static str {
        match self {
            ProgKind::Tracepoint => "tracepoints",
            ProgKind::RawTracepoint => "raw tracepoints",
            ProgKind::Kprobe => "kprobes",
            ProgKind::KprobeOverride => "kprobes with Override",
            ProgKind::Fentry => "fentry hooks",
            ProgKind::Lsm => "LSM hooks",
            ProgKind::Uprobe => "uprobes",
            ProgKind::Kretprobe => "kprobes with a return probe",
            ProgKind::Uretprobe => "uprobes with a return probe",
            ProgKind::KprobeFmodRet => "kprobes with Override on security_* functions",
            ProgKind::Fexit => "fentry hooks with a return probe",
        }
    }
}

/// The kernel's name of a function a hook names: syscalls attach at the
/// architecture's wrapper (`sys_openat` → `__x64_sys_openat`), as Tetragon
/// does.
pub fn kernel_function(function: &str, syscall: bool) -> String {
    if !syscall || function.starts_with("__") {
        return function.to_owned();
    }
    let prefix = if cfg!(target_arch = "aarch64") {
        "__arm64_"
    } else {
        "__x64_"
    };
    let bare = function.strip_prefix("sys_").unwrap_or(function);
    format!("{prefix}sys_{bare}")
}

/// What the backend attaches a hook's program to.
/// Why the running kernel has no `target`, when that can be told before
/// attaching: a kernel function it cannot probe (not in tracefs'
/// `available_filter_functions`), a tracepoint without a format, a missing
/// uprobe file. `None` when it is there or cannot be told.
pub fn missing_target(target: &AttachTarget) -> Option<String> {
    match target {
        AttachTarget::Kprobe { function } | AttachTarget::Fentry { function } => {
            let list =
                crate::tracefs::Tracefs::running().read_file("available_filter_functions")?;
            (!list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(function.as_str())))
            .then(|| format!("the kernel has no function {function} to probe"))
        }
        AttachTarget::Tracepoint { category, name } => crate::tracefs::Tracefs::running()
            .format(category, name)
            .err(),
        AttachTarget::Uprobe { path, .. } => {
            (!Path::new(path).exists()).then(|| format!("{path} does not exist here"))
        }
        AttachTarget::Usdt {
            path,
            provider,
            name,
            ..
        } => {
            if !Path::new(path).exists() {
                return Some(format!("{path} does not exist here"));
            }
            match crate::usdt::sites(path, provider, name) {
                Ok(sites) if sites.is_empty() => {
                    Some(format!("{path} has no USDT probe {provider}:{name}"))
                }
                Ok(_) => None,
                Err(error) => Some(error),
            }
        }
        _ => None,
    }
}

pub fn attach_target(attach: &AttachPoint) -> AttachTarget {
    match attach {
        AttachPoint::Tracepoint { subsystem, event } => AttachTarget::Tracepoint {
            category: subsystem.clone(),
            name: event.clone(),
        },
        AttachPoint::RawTracepoint { event, .. } => AttachTarget::RawTracepoint {
            name: event.clone(),
        },
        AttachPoint::Kprobe {
            function, syscall, ..
        } => AttachTarget::Kprobe {
            function: kernel_function(function, *syscall),
        },
        AttachPoint::Fentry {
            function, syscall, ..
        } => AttachTarget::Fentry {
            function: kernel_function(function, *syscall),
        },
        AttachPoint::Lsm { hook } => AttachTarget::Lsm { hook: hook.clone() },
        AttachPoint::Uprobe {
            path,
            symbol,
            offset,
            ..
        } => AttachTarget::Uprobe {
            path: path.clone(),
            symbol: symbol.clone(),
            offset: *offset,
        },
        AttachPoint::Usdt {
            path,
            provider,
            name,
        } => AttachTarget::Usdt {
            path: path.clone(),
            provider: provider.clone(),
            name: name.clone(),
            sites: Vec::new(),
        },
    }
}

/// What the backend attaches a hook's return program to, if it has one:
/// the same function or symbol (the program's section makes it a
/// kretprobe or uretprobe).
pub fn return_target(attach: &AttachPoint) -> Option<AttachTarget> {
    match attach {
        AttachPoint::Kprobe {
            function,
            syscall,
            returns: true,
            ..
        } => Some(AttachTarget::Kprobe {
            function: kernel_function(function, *syscall),
        }),
        AttachPoint::Uprobe {
            path,
            symbol,
            offset,
            returns: true,
        } => Some(AttachTarget::Uprobe {
            path: path.clone(),
            symbol: symbol.clone(),
            offset: *offset,
        }),
        AttachPoint::Fentry {
            function,
            syscall,
            returns: true,
        } => Some(AttachTarget::Fexit {
            function: kernel_function(function, *syscall),
        }),
        _ => None,
    }
}

/// Removed policy hooks kept for decoding records still in flight.
const RETIRED_POLICY_HOOKS: usize = 1024;

/// `KprobeAction::Post`'s number: the `return_action` of a selector
/// without `matchReturnActions`.
const POST_ACTION: u32 = 1;

#[derive(Debug)]
struct HookState {
    hook_id: u32,
    attach: AttachPoint,
    /// The bundle owning this chain ([`AttachMode::PerBundle`]); `None`
    /// when shared.
    bundle: Option<BundleId>,
    slots: Vec<(SlotKey, KernelSlot)>,
    link: Option<LinkHandle>,
    /// The program slot: `tpc_tracepoint_<n>` or `tpc_raw_tracepoint_<n>`.
    slot: u32,
    /// The return program's slot and link (return probes).
    ret_slot: Option<u32>,
    ret_link: Option<LinkHandle>,
    /// The fmod_ret program that applies the Override of a kprobe on a
    /// `security_*` function; attached before the kprobe, detached after.
    fmod_ret_link: Option<LinkHandle>,
    /// A USDT probe's sites and argument layout, read from the file once
    /// when the chain is made: the slots and the attach use the same read.
    usdt: Option<crate::usdt::UsdtProbe>,
    /// cgroup (0: everywhere) → policy hooks.
    lists: BTreeMap<u64, Vec<u32>>,
    /// Policy hooks on it, and whether each reads task info.
    users: BTreeMap<u32, bool>,
}

impl HookState {
    fn key(&self) -> ChainKey {
        ChainKey {
            attach: self.attach.clone(),
            bundle: self.bundle,
        }
    }

    fn config(&self) -> KernelHook {
        KernelHook {
            slots: self.slots.iter().map(|(_, s)| *s).collect(),
            scoped: self.lists.keys().any(|c| *c != 0),
            task_info: self.users.values().any(|t| *t),
            regs_indirect: matches!(
                self.attach,
                AttachPoint::Kprobe { syscall: true, .. }
                    | AttachPoint::Fentry { syscall: true, .. }
            ),
            returns: self.attach.returns(),
        }
    }
}

/// What an event of a policy hook needs: names, arguments, actions.
#[derive(Debug, Clone)]
pub struct PolicyHookInfo {
    pub policy: u16,
    pub policy_name: String,
    pub attach: AttachPoint,
    /// The kernel's name of the hooked function (`__x64_sys_openat`), the
    /// LSM hook, or the tracepoint event: what events call it.
    pub function_name: String,
    pub locator: String,
    /// The exported arguments with their slot.
    pub args: Vec<(u8, ArgSpec)>,
    /// Per selector, the `action` events carry.
    pub event_actions: Vec<u32>,
    /// Return probes: the `returnArg` with its slot, and per selector the
    /// `return_action` events carry.
    pub return_arg: Option<(u8, ArgSpec)>,
    pub return_actions: Vec<u32>,
    pub message: Option<String>,
    pub tags: Vec<String>,
    writes: Vec<MapWrite>,
    follow_bits: Vec<u32>,
    cgroups: Vec<u64>,
    chain: ChainKey,
}

#[derive(Debug, Clone)]
struct PolicyState {
    bundle: BundleId,
    phs: Vec<u32>,
}

/// A loaded bundle, as `tpc run` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleSummary {
    pub id: BundleId,
    pub label: String,
    pub policies: Vec<(u16, String)>,
    /// Policies that apply to no process on this host, with why.
    pub inactive: Vec<(String, String)>,
    /// Hooks left out because the kernel lacks their target and the policy
    /// says to ignore that (`ignore: callNotFound`): policy, hook, why.
    pub skipped: Vec<(String, String, String)>,
}

/// Every loaded policy.
#[derive(Debug)]
pub struct PolicyEngine {
    host: HostInfo,
    mode: AttachMode,
    hooks: BTreeMap<ChainKey, HookState>,
    hook_by_id: HashMap<u32, AttachPoint>,
    phs: HashMap<u32, PolicyHookInfo>,
    policies: BTreeMap<u16, PolicyState>,
    bundles: BTreeMap<BundleId, BundleSummary>,
    next_bundle: BundleId,
    next_ph: u32,
    next_set: u32,
    follow_used: Vec<bool>,
    /// Binary path → followChildren bits listing it.
    follow_paths: BTreeMap<String, [u64; 4]>,
    /// Per program kind (`ProgKind::index`), which program slots are taken.
    used: [Vec<bool>; PROG_KINDS],
    max_policy_hooks: u32,
    /// Policy hooks removed lately, newest last: their records may still be
    /// in flight (ids are not reused until the map is full).
    retired: std::collections::VecDeque<(u32, PolicyHookInfo)>,
    /// Loaded policies made from template bindings.
    bound: BTreeMap<u16, BoundPolicy>,
    /// Cgroups a binding lost to a higher-priority one.
    takings: Vec<Taking>,
    /// Running bindings a refused load conflicted with: rolled back once
    /// the refused bundle is undone.
    conflicting: Vec<(u16, String)>,
    /// While [`PolicyEngine::load_replacing`] runs: the bundle replaced.
    replaced: Option<BundleId>,
}

/// A loaded policy made from a `TracingPolicyBinding`.
#[derive(Debug, Clone)]
struct BoundPolicy {
    name: String,
    unit: BindingUnit,
    /// Its cgroups: normalized path (`""`: everywhere) and id (0).
    cgroups: Vec<(String, u64)>,
}

/// `loser` does not apply in `cgroup`: `winner` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Taking {
    loser: u16,
    winner: u16,
    cgroup: u64,
}

/// Undo log of one load.
#[derive(Default)]
struct Undo {
    writes: Vec<(&'static str, Vec<u8>)>,
    links: Vec<LinkHandle>,
}

struct EngineIds<'a> {
    next_set: &'a mut u32,
    follow_used: &'a mut Vec<bool>,
    taken: Vec<u32>,
}

impl IdSource for EngineIds<'_> {
    fn set_id(&mut self) -> u32 {
        *self.next_set += 1;
        *self.next_set
    }

    fn follow_bit(&mut self) -> Option<u32> {
        let bit = self.follow_used.iter().position(|used| !used)?;
        self.follow_used[bit] = true;
        let bit = u32::try_from(bit).ok()?;
        self.taken.push(bit);
        Some(bit)
    }
}

impl PolicyEngine {
    /// An engine for a sensor whose policy-hook map holds `max_policy_hooks`.
    pub fn new(host: HostInfo, max_policy_hooks: u32) -> Self {
        PolicyEngine {
            host,
            mode: AttachMode::Shared,
            hooks: BTreeMap::new(),
            hook_by_id: HashMap::new(),
            phs: HashMap::new(),
            policies: BTreeMap::new(),
            bundles: BTreeMap::new(),
            next_bundle: 1,
            next_ph: 0,
            next_set: 0,
            follow_used: vec![false; layout::FOLLOW_BITS],
            follow_paths: BTreeMap::new(),
            used: [
                ProgKind::Tracepoint,
                ProgKind::RawTracepoint,
                ProgKind::Kprobe,
                ProgKind::KprobeOverride,
                ProgKind::Fentry,
                ProgKind::Lsm,
                ProgKind::Uprobe,
                ProgKind::Kretprobe,
                ProgKind::Uretprobe,
                ProgKind::KprobeFmodRet,
                ProgKind::Fexit,
            ]
            .map(|k| vec![false; k.slots().1]),
            max_policy_hooks,
            retired: std::collections::VecDeque::new(),
            bound: BTreeMap::new(),
            takings: Vec::new(),
            conflicting: Vec::new(),
            replaced: None,
        }
    }

    /// The same engine attaching programs as `mode` says; set before
    /// anything is loaded.
    pub fn with_attach_mode(mut self, mode: AttachMode) -> Self {
        self.mode = mode;
        self
    }

    pub fn attach_mode(&self) -> AttachMode {
        self.mode
    }

    /// Writes the host configuration (the host's namespaces).
    pub fn configure(
        &self,
        backend: &mut dyn KernelBackend,
        host_ns: &[u32; 10],
    ) -> Result<(), RuntimeError> {
        backend.map_update(maps::CONFIG, &0u32.to_ne_bytes(), &layout::config(host_ns))
    }

    /// A loaded policy hook, or one removed while its records may still be
    /// in the ring buffer (an event the kernel posted, and enforced, just
    /// before its binding or policy was unloaded is still reported).
    pub fn policy_hook(&self, ph_id: u32) -> Option<&PolicyHookInfo> {
        self.phs.get(&ph_id).or_else(|| {
            self.retired
                .iter()
                .rev()
                .find(|(id, _)| *id == ph_id)
                .map(|(_, info)| info)
        })
    }

    pub fn attach_of_hook(&self, hook_id: u32) -> Option<&AttachPoint> {
        self.hook_by_id.get(&hook_id)
    }

    pub fn bundles(&self) -> impl Iterator<Item = &BundleSummary> {
        self.bundles.values()
    }

    /// The attach points hooked now, once per attached program (a point
    /// comes once per bundle in [`AttachMode::PerBundle`]).
    pub fn attached(&self) -> Vec<AttachPoint> {
        self.hooks
            .values()
            .filter(|h| h.link.is_some())
            .map(|h| h.attach.clone())
            .collect()
    }

    /// Policy ids of a bundle.
    pub fn policy_ids(&self, bundle: BundleId) -> Vec<u16> {
        self.policies
            .iter()
            .filter(|(_, p)| p.bundle == bundle)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Checks what the bundle needs against this kernel.
    pub fn check_requirements(&self, bundle: &Bundle) -> Result<(), LoadError> {
        if bundle.format != FORMAT_VERSION {
            return Err(LoadError::Format {
                found: bundle.format,
            });
        }
        if bundle.programs.abi != PROGRAM_ABI {
            return Err(LoadError::Abi {
                found: bundle.programs.abi,
                supported: PROGRAM_ABI,
            });
        }
        if bundle.programs.object != SENSOR_OBJECT {
            return Err(LoadError::Object {
                found: bundle.programs.object.clone(),
            });
        }
        let running = format!("Linux {}", self.host.release);
        let requirements = &bundle.requirements;
        if self.host.kernel < requirements.min_kernel {
            return Err(LoadError::Requirement {
                running,
                what: format!(
                    "Linux {} or later (for {})",
                    requirements.min_kernel,
                    requirements
                        .features
                        .iter()
                        .map(|f| f.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        if requirements.features.contains(&Feature::Btf)
            && !Path::new(crate::preflight::KERNEL_BTF).exists()
        {
            return Err(LoadError::Requirement {
                running,
                what: Feature::Btf.describe().to_owned(),
            });
        }
        if requirements.features.contains(&Feature::BpfLsm) {
            // The active LSMs; without `bpf` among them LSM programs load
            // but never run.
            if let Ok(lsms) = std::fs::read_to_string("/sys/kernel/security/lsm") {
                if !lsms.trim().split(',').any(|l| l == "bpf") {
                    return Err(LoadError::Requirement {
                        running,
                        what: format!(
                            "{} (active LSMs: {})",
                            Feature::BpfLsm.describe(),
                            lsms.trim()
                        ),
                    });
                }
            }
        }
        for tp in &requirements.tracepoints {
            let format = self
                .host
                .tracefs
                .format(&tp.subsystem, &tp.event)
                .map_err(|what| LoadError::Requirement {
                    running: running.clone(),
                    what,
                })?;
            for field in &tp.fields {
                let live = format.fields.get(field.index as usize);
                let ok = live.is_some_and(|l| {
                    l.name == field.name && field.size.is_none_or(|s| s == l.size)
                });
                if !ok {
                    return Err(LoadError::Requirement {
                        running,
                        what: format!(
                            "tracepoint {}/{} field {} `{}`{} (here: {})",
                            tp.subsystem,
                            tp.event,
                            field.index,
                            field.name,
                            field
                                .size
                                .map(|s| format!(" of {s} bytes"))
                                .unwrap_or_default(),
                            live.map_or_else(
                                || "no such field".to_owned(),
                                |l| format!("`{}` of {} bytes", l.name, l.size)
                            )
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Loads a new version of bundle `old` beside it (the caller removes
    /// `old` next): bindings of `old` are on their way out, so the new
    /// version's bindings do not conflict with them, renamed or not.
    pub fn load_replacing(
        &mut self,
        backend: &mut dyn KernelBackend,
        bundle: &Bundle,
        label: &str,
        bindings: &[CgroupBinding],
        old: BundleId,
    ) -> Result<BundleId, LoadError> {
        self.replaced = Some(old);
        let result = self.load(backend, bundle, label, bindings);
        self.replaced = None;
        result
    }

    /// Loads every policy of a bundle; on failure nothing of it stays.
    pub fn load(
        &mut self,
        backend: &mut dyn KernelBackend,
        bundle: &Bundle,
        label: &str,
        bindings: &[CgroupBinding],
    ) -> Result<BundleId, LoadError> {
        self.check_requirements(bundle)?;
        let id = self.next_bundle;
        self.next_bundle += 1;
        let mut undo = Undo::default();
        let mut summary = BundleSummary {
            id,
            label: label.to_owned(),
            policies: Vec::new(),
            inactive: Vec::new(),
            skipped: Vec::new(),
        };
        let result = self.load_policies(backend, bundle, id, bindings, &mut undo, &mut summary);
        match result {
            Ok(()) => {
                self.bundles.insert(id, summary);
                Ok(id)
            }
            Err(error) => {
                self.forget_bundle(id);
                rollback(backend, undo);
                self.drop_unused_hooks();
                if let Err(e) = self.resync(backend) {
                    log::warn!("restoring the policy maps after a failed load: {e}");
                }
                for (policy, reason) in std::mem::take(&mut self.conflicting) {
                    if let Err(e) = self.roll_back_policy(backend, policy, &reason) {
                        log::warn!("rolling back a conflicting binding: {e}");
                    }
                }
                Err(error)
            }
        }
    }

    fn load_policies(
        &mut self,
        backend: &mut dyn KernelBackend,
        bundle: &Bundle,
        id: BundleId,
        bindings: &[CgroupBinding],
        undo: &mut Undo,
        summary: &mut BundleSummary,
    ) -> Result<(), LoadError> {
        for policy in &bundle.policies {
            let policy_id = (1..u16::try_from(layout::MAX_POLICIES).unwrap_or(u16::MAX))
                .find(|p| !self.policies.contains_key(p))
                .ok_or_else(|| LoadError::Policy {
                    policy: policy.name.clone(),
                    reason: format!("more than {} policies loaded", layout::MAX_POLICIES - 1),
                })?;
            let bound: Vec<&CgroupBinding> = bindings
                .iter()
                .filter(|b| b.policy == policy.name)
                .collect();
            // (normalized path, cgroup id) of each cgroup it applies to
            let mut scoped: Vec<(String, u64)> = Vec::new();
            for binding in &bound {
                let cgroup =
                    cgroup_id(&self.host.cgroup_root, &binding.path).map_err(|reason| {
                        LoadError::Policy {
                            policy: policy.name.clone(),
                            reason,
                        }
                    })?;
                scoped.push((self.relative_cgroup(&binding.path), cgroup));
            }
            if bound.is_empty() {
                match &policy.scope {
                    PolicyScope::Everywhere => scoped.push((String::new(), 0)),
                    PolicyScope::Cgroups { paths } => {
                        for path in paths {
                            let cgroup = cgroup_id(&self.host.cgroup_root, Path::new(path))
                                .map_err(|reason| LoadError::Policy {
                                    policy: policy.name.clone(),
                                    reason,
                                })?;
                            scoped.push((self.relative_cgroup(Path::new(path)), cgroup));
                        }
                    }
                    PolicyScope::Workloads { reason } => {
                        summary.inactive.push((policy.name.clone(), reason.clone()));
                    }
                }
            }
            scoped.sort_by_key(|(_, id)| *id);
            scoped.dedup_by_key(|(_, id)| *id);
            let mut takings = Vec::new();
            if let (Some(unit), false) = (&policy.binding, scoped.is_empty()) {
                takings = self.resolve_binding(policy_id, &policy.name, unit, &scoped)?;
                self.bound.insert(
                    policy_id,
                    BoundPolicy {
                        name: policy.name.clone(),
                        unit: unit.clone(),
                        cgroups: scoped.clone(),
                    },
                );
            }
            // what it loses to running bindings it does not get
            let cgroups: Vec<u64> = scoped
                .iter()
                .map(|(_, id)| *id)
                .filter(|id| {
                    !takings
                        .iter()
                        .any(|t: &Taking| t.loser == policy_id && t.cgroup == *id)
                })
                .collect();
            self.policies.insert(
                policy_id,
                PolicyState {
                    bundle: id,
                    phs: Vec::new(),
                },
            );
            summary.policies.push((policy_id, policy.name.clone()));
            for hook in &policy.hooks {
                if hook.optional {
                    if let Some(reason) = missing_target(&attach_target(&hook.attach)) {
                        summary
                            .skipped
                            .push((policy.name.clone(), hook.locator.clone(), reason));
                        continue;
                    }
                }
                // the policy hooks of the losers it takes a cgroup from, on
                // this hook: its id replaces theirs in that cgroup's list
                let replacing: Vec<(u64, u32)> = takings
                    .iter()
                    .filter(|t| t.winner == policy_id)
                    .filter_map(|t| {
                        Some((t.cgroup, self.ph_of(t.loser, &hook.attach, &hook.locator)?))
                    })
                    .collect();
                let ph = self
                    .load_hook(
                        backend,
                        hook,
                        id,
                        policy_id,
                        &policy.name,
                        policy.monitor,
                        &cgroups,
                        &replacing,
                        undo,
                    )
                    .map_err(|e| match e {
                        HookFailure::Reason(reason) => LoadError::Hook {
                            policy: policy.name.clone(),
                            locator: hook.locator.clone(),
                            reason,
                        },
                        HookFailure::Kernel(source) => LoadError::Kernel {
                            policy: policy.name.clone(),
                            locator: hook.locator.clone(),
                            source: Box::new(source),
                        },
                    })?;
                if let Some(state) = self.policies.get_mut(&policy_id) {
                    state.phs.push(ph);
                }
            }
            // Losers in cgroups nested under the winner's: the winner's
            // list (at the ancestor) is written, now the loser leaves.
            for t in takings.iter().filter(|t| t.winner == policy_id) {
                self.withdraw(backend, t.loser, t.cgroup, undo)
                    .map_err(|source| LoadError::Kernel {
                        policy: policy.name.clone(),
                        locator: String::new(),
                        source: Box::new(source),
                    })?;
            }
            self.takings.extend(takings);
        }
        Ok(())
    }

    /// A cgroup path as the binding rules compare them: relative to the
    /// cgroup mount, normalized.
    fn relative_cgroup(&self, path: &Path) -> String {
        let relative = path.strip_prefix(&self.host.cgroup_root).unwrap_or(path);
        binding::normalize_cgroup(&relative.to_string_lossy())
    }

    /// The policy hook of `policy` on a hook (by point and locator).
    fn ph_of(&self, policy: u16, attach: &AttachPoint, locator: &str) -> Option<u32> {
        self.policies.get(&policy)?.phs.iter().copied().find(|ph| {
            self.phs
                .get(ph)
                .is_some_and(|i| &i.attach == attach && i.locator == locator)
        })
    }

    /// CFP-4191's rules between a binding being loaded and the running
    /// bindings of its template: the cgroups each side takes from the
    /// other, or why it cannot load. Versions of one binding (same name,
    /// as in a reload) do not conflict: for an instant both apply.
    fn resolve_binding(
        &mut self,
        policy_id: u16,
        name: &str,
        unit: &BindingUnit,
        scoped: &[(String, u64)],
    ) -> Result<Vec<Taking>, LoadError> {
        let workload_of = |cgroups: &[(String, u64)]| {
            if cgroups.iter().any(|(_, id)| *id == 0) {
                Workload::Everywhere
            } else {
                Workload::Cgroups(cgroups.iter().map(|(p, _)| p.clone()).collect())
            }
        };
        let mine = workload_of(scoped);
        let me = Claim {
            name,
            binding: unit,
            workload: &mine,
        };
        let mut takings = Vec::new();
        let mut conflicts = Vec::new();
        for (id, other) in &self.bound {
            let outgoing =
                self.replaced.is_some() && self.policies.get(id).map(|p| p.bundle) == self.replaced;
            if other.name == name || outgoing {
                continue;
            }
            let theirs = workload_of(&other.cgroups);
            let them = Claim {
                name: &other.name,
                binding: &other.unit,
                workload: &theirs,
            };
            match binding::overlap(&me, &them) {
                Overlap::Disjoint => {}
                Overlap::Conflict { reason } => conflicts.push((*id, other.name.clone(), reason)),
                Overlap::Unsupported { reason } => {
                    return Err(LoadError::Policy {
                        policy: name.to_owned(),
                        reason,
                    });
                }
                Overlap::Override { winner, taken } => {
                    let (loser, winner_id, loser_cgroups) = if winner == 0 {
                        (*id, policy_id, &other.cgroups)
                    } else {
                        (policy_id, *id, &scoped.to_vec())
                    };
                    for path in taken {
                        if let Some((_, cgroup)) = loser_cgroups.iter().find(|(p, _)| *p == path) {
                            takings.push(Taking {
                                loser,
                                winner: winner_id,
                                cgroup: *cgroup,
                            });
                        }
                    }
                }
            }
        }
        if let Some((_, _, reason)) = conflicts.first() {
            let reason = reason.clone();
            let rolled_back = conflicts.iter().map(|(_, n, _)| n.clone()).collect();
            self.conflicting = conflicts
                .into_iter()
                .map(|(id, _, why)| (id, why))
                .collect();
            return Err(LoadError::BindingConflict {
                policy: name.to_owned(),
                reason,
                rolled_back,
            });
        }
        Ok(takings)
    }

    /// Takes `loser`'s policy hooks out of `cgroup`'s lists where another
    /// binding's id did not already replace them.
    fn withdraw(
        &mut self,
        backend: &mut dyn KernelBackend,
        loser: u16,
        cgroup: u64,
        undo: &mut Undo,
    ) -> Result<(), RuntimeError> {
        let phs = self
            .policies
            .get(&loser)
            .map(|p| p.phs.clone())
            .unwrap_or_default();
        for ph in phs {
            let Some(info) = self.phs.get_mut(&ph) else {
                continue;
            };
            info.cgroups.retain(|c| *c != cgroup);
            let Some(state) = self.hooks.get_mut(&info.chain) else {
                continue;
            };
            let Some(list) = state.lists.get_mut(&cgroup) else {
                continue;
            };
            if !list.contains(&ph) {
                continue;
            }
            list.retain(|id| *id != ph);
            let key = layout::list_key(state.hook_id, cgroup);
            if list.is_empty() {
                state.lists.remove(&cgroup);
                backend.map_delete(maps::LISTS, &key)?;
            } else {
                write(backend, undo, maps::LISTS, &key, &layout::ph_list(list))?;
            }
        }
        Ok(())
    }

    /// Before `winner` goes: every loser it took a cgroup from (and no
    /// other running binding takes it) applies there again. Where the
    /// winner's id sits in the loser's place, one list update puts the
    /// loser's back; elsewhere the loser's id is added while the winner's
    /// is still listed. Either way every hit sees one of the two.
    fn restore_losers(
        &mut self,
        backend: &mut dyn KernelBackend,
        winner: u16,
    ) -> Result<(), RuntimeError> {
        let (given_back, kept): (Vec<Taking>, Vec<Taking>) =
            self.takings.iter().partition(|t| t.winner == winner);
        self.takings = kept;
        self.takings.retain(|t| t.loser != winner);
        for t in given_back {
            let still_taken = self
                .takings
                .iter()
                .any(|o| o.loser == t.loser && o.cgroup == t.cgroup);
            if still_taken || !self.policies.contains_key(&t.loser) {
                continue;
            }
            let phs = self
                .policies
                .get(&t.loser)
                .map(|p| p.phs.clone())
                .unwrap_or_default();
            for ph in phs {
                let Some(info) = self.phs.get(&ph) else {
                    continue;
                };
                let (attach, locator, chain) = (
                    info.attach.clone(),
                    info.locator.clone(),
                    info.chain.clone(),
                );
                let winner_ph = self.ph_of(winner, &attach, &locator);
                let Some(state) = self.hooks.get_mut(&chain) else {
                    continue;
                };
                let list = state.lists.entry(t.cgroup).or_default();
                if list.contains(&ph) {
                    continue;
                }
                let swapped = match winner_ph.and_then(|w| list.iter().position(|id| *id == w)) {
                    Some(at) => Some(std::mem::replace(&mut list[at], ph)),
                    None => {
                        list.push(ph);
                        None
                    }
                };
                let key = layout::list_key(state.hook_id, t.cgroup);
                let value = layout::ph_list(list);
                let config = state.config().encode();
                let hook_id = state.hook_id;
                backend.map_update(maps::LISTS, &key, &value)?;
                backend.map_update(maps::HOOKS, &hook_id.to_ne_bytes(), &config)?;
                if let Some(info) = self.phs.get_mut(&ph) {
                    if !info.cgroups.contains(&t.cgroup) {
                        info.cgroups.push(t.cgroup);
                    }
                }
                // a swapped-out winner is no longer listed there
                if let Some(w) = swapped.and_then(|w| self.phs.get_mut(&w)) {
                    w.cgroups.retain(|c| *c != t.cgroup);
                }
            }
        }
        Ok(())
    }

    /// Rolls back a running binding that a refused one conflicted with
    /// (CFP-4191: every binding involved): its entries go, its bundle
    /// reports it inactive with why.
    fn roll_back_policy(
        &mut self,
        backend: &mut dyn KernelBackend,
        policy: u16,
        reason: &str,
    ) -> Result<(), RuntimeError> {
        self.restore_losers(backend, policy)?;
        self.bound.remove(&policy);
        let Some(state) = self.policies.remove(&policy) else {
            return Ok(());
        };
        let mut first_error = None;
        for ph in state.phs {
            if let Err(e) = self.remove_policy_hook(backend, ph) {
                first_error.get_or_insert(e);
            }
        }
        if let Some(summary) = self.bundles.get_mut(&state.bundle) {
            if let Some(at) = summary.policies.iter().position(|(id, _)| *id == policy) {
                let (_, name) = summary.policies.remove(at);
                summary
                    .inactive
                    .push((name, format!("rolled back: {reason}")));
            }
        }
        if let Err(e) = self.detach_unused(backend) {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the parts of a policy hook"
    )]
    fn load_hook(
        &mut self,
        backend: &mut dyn KernelBackend,
        hook: &HookUnit,
        bundle: BundleId,
        policy_id: u16,
        policy_name: &str,
        monitor: bool,
        cgroups: &[u64],
        replacing: &[(u64, u32)],
        undo: &mut Undo,
    ) -> Result<u32, HookFailure> {
        let attach = hook.attach.clone();
        let chain = ChainKey {
            attach: attach.clone(),
            bundle: (self.mode == AttachMode::PerBundle).then_some(bundle),
        };
        let is_new = !self.hooks.contains_key(&chain);
        if is_new {
            let hook_id = (1..1024u32)
                .find(|id| !self.hook_by_id.contains_key(id))
                .ok_or_else(|| HookFailure::Reason("more than 1023 hooked points".into()))?;
            if let AttachPoint::Tracepoint { subsystem, event } = &attach {
                // the tracepoint must exist here before a slot is taken
                self.host
                    .tracefs
                    .format(subsystem, event)
                    .map_err(HookFailure::Reason)?;
            }
            let kind = ProgKind::of(&attach);
            let used = &mut self.used[kind.index()];
            let slot = used.iter().position(|u| !u).ok_or_else(|| {
                HookFailure::Reason(format!("more than {} {} hooked", used.len(), kind.plural()))
            })?;
            used[slot] = true;
            let slot = u32::try_from(slot).unwrap_or(0);
            let ret_slot = match ProgKind::return_of(&attach) {
                Some(ret_kind) => {
                    let free = self.used[ret_kind.index()].iter().position(|u| !u);
                    let Some(ret_slot) = free else {
                        if let Some(u) = self.used[kind.index()].get_mut(slot as usize) {
                            *u = false;
                        }
                        return Err(HookFailure::Reason(format!(
                            "more than {} {} hooked",
                            self.used[ret_kind.index()].len(),
                            ret_kind.plural()
                        )));
                    };
                    self.used[ret_kind.index()][ret_slot] = true;
                    Some(u32::try_from(ret_slot).unwrap_or(0))
                }
                None => None,
            };
            self.hook_by_id.insert(hook_id, attach.clone());
            self.hooks.insert(
                chain.clone(),
                HookState {
                    hook_id,
                    attach: attach.clone(),
                    bundle: chain.bundle,
                    slots: Vec::new(),
                    link: None,
                    slot,
                    ret_slot,
                    ret_link: None,
                    fmod_ret_link: None,
                    usdt: None,
                    lists: BTreeMap::new(),
                    users: BTreeMap::new(),
                },
            );
        }
        // Slots: merge this hook's reads into the hook's table.
        let slot_indices = self.merge_slots(&chain, hook)?;
        let ph_id = self.allocate_ph()?;
        let follow_before = self.follow_used.clone();
        let mut ids = EngineIds {
            next_set: &mut self.next_set,
            follow_used: &mut self.follow_used,
            taken: Vec::new(),
        };
        let slot_of = |i: usize| -> Result<u8, String> {
            slot_indices
                .get(i)
                .copied()
                .ok_or_else(|| format!("argument {i} has no slot"))
        };
        let entries =
            kernel::translate_hook(hook, u32::from(policy_id), monitor, &slot_of, &mut ids);
        let taken = ids.taken;
        let entries = match entries {
            Ok(e) => e,
            Err(e) => {
                self.follow_used = follow_before;
                return Err(HookFailure::Reason(e.to_string()));
            }
        };
        let task_info = hook.selectors.iter().any(|s| {
            s.process.iter().any(|f| {
                matches!(
                    f,
                    ProcessFilter::Namespaces { .. }
                        | ProcessFilter::Capabilities { .. }
                        | ProcessFilter::NamespaceChanges { .. }
                        | ProcessFilter::CapabilityChanges { .. }
                        | ProcessFilter::Pids {
                            namespace_pid: true,
                            ..
                        }
                )
            })
        });
        let info = PolicyHookInfo {
            policy: policy_id,
            policy_name: policy_name.to_owned(),
            attach: attach.clone(),
            function_name: match attach_target(&attach) {
                AttachTarget::Kprobe { function } | AttachTarget::Fentry { function } => function,
                _ => attach.function_name().to_owned(),
            },
            locator: hook.locator.clone(),
            args: hook
                .args
                .iter()
                .zip(&slot_indices)
                .take(hook.args.len())
                .filter(|(a, _)| !a.hidden)
                .map(|(a, s)| (*s, a.clone()))
                .collect(),
            event_actions: hook
                .selectors
                .iter()
                .map(|s| s.action.event_action)
                .collect(),
            return_arg: hook
                .return_arg
                .as_ref()
                .and_then(|spec| Some((*slot_indices.get(hook.args.len())?, spec.clone()))),
            return_actions: hook
                .selectors
                .iter()
                .map(|s| {
                    s.return_action
                        .as_ref()
                        .map_or(POST_ACTION, |r| r.event_action)
                })
                .collect(),
            message: hook.message.clone(),
            tags: hook.tags.clone(),
            writes: entries.writes.clone(),
            follow_bits: taken,
            cgroups: cgroups.to_vec(),
            chain: chain.clone(),
        };
        self.phs.insert(ph_id, info);
        // Value sets, then the policy hook, then the lists that name it.
        for w in &entries.writes {
            write(backend, undo, w.map, &w.key, &w.value).map_err(HookFailure::Kernel)?;
        }
        for registration in &entries.follow {
            self.register_follow(backend, undo, &registration.path, registration.bit)
                .map_err(HookFailure::Kernel)?;
        }
        if !entries.follow.is_empty() {
            self.refresh_process_follow_bits(backend)
                .map_err(HookFailure::Kernel)?;
        }
        write(
            backend,
            undo,
            maps::POLICY_HOOKS,
            &ph_id.to_ne_bytes(),
            &entries.policy_hook.encode(),
        )
        .map_err(HookFailure::Kernel)?;
        let state = self
            .hooks
            .get_mut(&chain)
            .ok_or_else(|| HookFailure::Reason("hook vanished".into()))?;
        state.users.insert(ph_id, task_info);
        for cgroup in cgroups {
            let list = state.lists.entry(*cgroup).or_default();
            // A binding taking this cgroup from a lower-priority one: its
            // id goes in the loser's place, so the one list update below
            // switches every hit from the loser's entries (still written)
            // to the winner's (written above), never through neither.
            let replaced = replacing
                .iter()
                .filter(|(c, _)| c == cgroup)
                .find_map(|(_, loser)| list.iter().position(|id| id == loser));
            if let Some(at) = replaced {
                list[at] = ph_id;
                continue;
            }
            if list.len() >= layout::MAX_PH_LIST {
                return Err(HookFailure::Reason(format!(
                    "more than {} policies on {} apply to the same processes",
                    layout::MAX_PH_LIST,
                    attach.describe()
                )));
            }
            list.push(ph_id);
        }
        for (cgroup, loser) in replacing {
            let gone = state.lists.get(cgroup).is_some_and(|l| !l.contains(loser));
            if gone {
                if let Some(info) = self.phs.get_mut(loser) {
                    info.cgroups.retain(|c| c != cgroup);
                }
            }
        }
        let Some(state) = self.hooks.get_mut(&chain) else {
            return Err(HookFailure::Reason("hook vanished".into()));
        };
        let hook_id = state.hook_id;
        let config = state.config().encode();
        let lists: Vec<(u64, Vec<u32>)> = cgroups
            .iter()
            .map(|c| (*c, state.lists.get(c).cloned().unwrap_or_default()))
            .collect();
        let slot = state.slot;
        write(backend, undo, maps::HOOKS, &hook_id.to_ne_bytes(), &config)
            .map_err(HookFailure::Kernel)?;
        for (cgroup, ids) in lists {
            write(
                backend,
                undo,
                maps::LISTS,
                &layout::list_key(hook_id, cgroup),
                &layout::ph_list(&ids),
            )
            .map_err(HookFailure::Kernel)?;
        }
        if is_new {
            let (dispatch, key) = ProgKind::of(&attach).dispatch(slot);
            let program = attach.program(slot);
            let mut target = attach_target(&attach);
            if let (AttachTarget::Usdt { sites, .. }, Some(probe)) = (
                &mut target,
                self.hooks.get(&chain).and_then(|s| s.usdt.as_ref()),
            ) {
                // where the slots were laid out from
                *sites = probe
                    .sites
                    .iter()
                    .map(|s| (s.offset, s.ref_ctr_offset))
                    .collect();
            }
            write(
                backend,
                undo,
                dispatch,
                &key.to_ne_bytes(),
                &hook_id.to_ne_bytes(),
            )
            .map_err(HookFailure::Kernel)?;
            if let (Some(fmod_ret), AttachTarget::Kprobe { function }) =
                (attach.fmod_ret_program(slot), &target)
            {
                // first, so that no value the kprobe leaves waits for it
                let link = backend
                    .attach(
                        &fmod_ret,
                        &AttachTarget::FmodRet {
                            function: function.clone(),
                        },
                    )
                    .map_err(HookFailure::Kernel)?;
                undo.links.push(link);
                if let Some(state) = self.hooks.get_mut(&chain) {
                    state.fmod_ret_link = Some(link);
                }
            }
            let link = backend
                .attach(&program, &target)
                .map_err(|e| self.attach_failure(&attach, e))?;
            undo.links.push(link);
            if let Some(state) = self.hooks.get_mut(&chain) {
                state.link = Some(link);
            }
            if let (Some(ret_kind), Some(ret_slot), Some(target)) = (
                ProgKind::return_of(&attach),
                self.hooks.get(&chain).and_then(|s| s.ret_slot),
                return_target(&attach),
            ) {
                let (dispatch, key) = ret_kind.dispatch(ret_slot);
                write(
                    backend,
                    undo,
                    dispatch,
                    &key.to_ne_bytes(),
                    &hook_id.to_ne_bytes(),
                )
                .map_err(HookFailure::Kernel)?;
                let program = attach.return_program(ret_slot).unwrap_or_default();
                let link = backend
                    .attach(&program, &target)
                    .map_err(HookFailure::Kernel)?;
                undo.links.push(link);
                if let Some(state) = self.hooks.get_mut(&chain) {
                    state.ret_link = Some(link);
                }
            }
        }
        Ok(ph_id)
    }

    /// Why an attach failed; in [`AttachMode::PerBundle`] a tracepoint
    /// carrying the kernel's maximum of programs says so.
    fn attach_failure(&self, attach: &AttachPoint, error: RuntimeError) -> HookFailure {
        let programs = self.hooks.values().filter(|h| h.attach == *attach).count();
        if matches!(attach, AttachPoint::Tracepoint { .. }) && programs > MAX_TRACEPOINT_PROGRAMS {
            return HookFailure::Reason(format!(
                "{} carries {} programs already, the kernel's maximum on one tracepoint ({}); \
                 one program per bundle cannot go further (drop --attach-per-bundle to share one program)",
                attach.describe(),
                programs - 1,
                crate::error::chain(&error)
            ));
        }
        HookFailure::Kernel(error)
    }

    fn allocate_ph(&mut self) -> Result<u32, HookFailure> {
        // Fresh ids first; freed ones only when the map is full, so an id a
        // program may still be reading is not rewritten at once.
        let max = self.max_policy_hooks;
        if self.next_ph + 1 < max {
            self.next_ph += 1;
            return Ok(self.next_ph);
        }
        let reused = (1..max).find(|id| !self.phs.contains_key(id));
        if let Some(id) = reused {
            self.retired.retain(|(r, _)| *r != id);
        }
        reused
            .ok_or_else(|| {
                HookFailure::Reason(format!(
                    "more than {} policy hooks loaded (the sensor was started for fewer; restart it with the bundles)",
                    max.saturating_sub(1)
                ))
            })
    }

    /// Adds the reads of `hook` to its hook's slots; the slot of each
    /// argument in order.
    fn merge_slots(&mut self, chain: &ChainKey, hook: &HookUnit) -> Result<Vec<u8>, HookFailure> {
        let attach = &chain.attach;
        let format = match attach {
            AttachPoint::Tracepoint { subsystem, event } => Some(
                self.host
                    .tracefs
                    .format(subsystem, event)
                    .map_err(HookFailure::Reason)?,
            ),
            _ => None,
        };
        let state = self
            .hooks
            .get_mut(chain)
            .ok_or_else(|| HookFailure::Reason("hook vanished".into()))?;
        // A USDT probe's arguments are where the file's note says.
        if let (
            AttachPoint::Usdt {
                path,
                provider,
                name,
            },
            None,
        ) = (attach, &state.usdt)
        {
            state.usdt =
                Some(crate::usdt::probe(path, provider, name).map_err(HookFailure::Reason)?);
        }
        let usdt = state.usdt.clone();
        // The arguments, then the return value (return probes).
        let all: Vec<&ArgSpec> = hook.args.iter().chain(hook.return_arg.as_ref()).collect();
        let mut indices: Vec<Option<u8>> = vec![None; all.len()];
        // Size arguments first, so a buffer can name its size slot.
        let mut order: Vec<usize> = (0..all.len()).collect();
        order.sort_by_key(|i| {
            matches!(
                all[*i].read,
                ArgRead::CharBuf { .. } | ArgRead::CharIovec { .. }
            )
        });
        for i in order {
            let arg = all[i];
            let offset = match (&arg.source, &format) {
                (ArgSource::Field { index, name }, Some(format)) => {
                    let field = format.fields.get(*index as usize).ok_or_else(|| {
                        HookFailure::Reason(format!(
                            "{} has no field {index} here (it has {})",
                            attach.describe(),
                            format.fields.len()
                        ))
                    })?;
                    if &field.name != name {
                        return Err(HookFailure::Reason(format!(
                            "field {index} of {} is `{}` here, the bundle expects `{name}`",
                            attach.describe(),
                            field.name
                        )));
                    }
                    u16::try_from(field.offset).map_err(|_| {
                        HookFailure::Reason(format!("field `{name}` lies past 64 KiB"))
                    })?
                }
                (ArgSource::RawArg { index }, None) => u16::try_from(index * 8)
                    .map_err(|_| HookFailure::Reason(format!("raw argument {index}")))?,
                (ArgSource::Register { offset, .. }, None)
                    if matches!(
                        attach,
                        AttachPoint::Kprobe { .. } | AttachPoint::Uprobe { .. }
                    ) =>
                {
                    *offset
                }
                (ArgSource::Return { offset }, None) if attach.returns() => *offset,
                (ArgSource::Usdt { .. }, None) if usdt.is_some() => 0,
                _ => {
                    return Err(HookFailure::Reason(format!(
                        "{} cannot be read on {}",
                        kernel::describe_source(&arg.source),
                        attach.describe()
                    )));
                }
            };
            let size_slot = match kernel::size_arg(hook, i) {
                Some(size) => Some(indices.get(size).copied().flatten().ok_or_else(|| {
                    HookFailure::Reason(format!(
                        "argument {i} takes its size from a missing argument"
                    ))
                })?),
                None => None,
            };
            let mut slot = kernel::slot_for(&arg.read, offset, size_slot);
            if let (ArgSource::Usdt { index }, Some(probe)) = (&arg.source, &usdt) {
                let spec = probe.args.get(*index as usize).ok_or_else(|| {
                    HookFailure::Reason(format!(
                        "{} has {} argument(s), so there is no argument {index}",
                        attach.describe(),
                        probe.args.len()
                    ))
                })?;
                slot.usdt = Some(crate::usdt::kernel_arg(spec));
            }
            slot.at_return = matches!(arg.source, ArgSource::Return { .. });
            slot.return_copy = arg.return_copy && attach.returns();
            let key = SlotKey {
                source: arg.source.clone(),
                read: arg.read.clone(),
            };
            let position = match state
                .slots
                .iter()
                .position(|(k, s)| *k == key && *s == slot)
            {
                Some(p) => p,
                None => {
                    if state.slots.len() >= layout::MAX_SLOTS {
                        return Err(HookFailure::Reason(format!(
                            "the policies on {} read more than {} different arguments",
                            attach.describe(),
                            layout::MAX_SLOTS
                        )));
                    }
                    state.slots.push((key, slot));
                    state.slots.len() - 1
                }
            };
            indices[i] = Some(u8::try_from(position).unwrap_or(u8::MAX));
        }
        Ok(indices.into_iter().map(|i| i.unwrap_or(u8::MAX)).collect())
    }

    fn register_follow(
        &mut self,
        backend: &mut dyn KernelBackend,
        undo: &mut Undo,
        path: &str,
        bit: u32,
    ) -> Result<(), RuntimeError> {
        let Some(key) = layout::follow_key(path.as_bytes()) else {
            return Ok(()); // longer than a process entry's binary: never matches
        };
        let bits = self.follow_paths.entry(path.to_owned()).or_insert([0; 4]);
        bits[(bit / 64) as usize % 4] |= 1u64 << (bit % 64);
        let value = layout::follow_value(bits);
        write(backend, undo, maps::FOLLOW_BINS, &key, &value)
    }

    /// Recomputes the followChildren bits of every process in the kernel's
    /// map from its ancestry, so processes started before a policy loaded
    /// are followed too.
    fn refresh_process_follow_bits(
        &self,
        backend: &mut dyn KernelBackend,
    ) -> Result<(), RuntimeError> {
        let pids = backend.process_pids()?;
        let mut entries: HashMap<u32, ProcessEntry> = HashMap::new();
        for pid in pids {
            if let Some(entry) = backend.process_entry(pid)? {
                entries.insert(pid, entry);
            }
        }
        let own_bits = |entry: &ProcessEntry| -> [u64; 4] {
            if entry.flags.has(crate::wire::RecordFlags::TRUNC_BINARY) {
                return [0; 4];
            }
            std::str::from_utf8(&entry.binary)
                .ok()
                .and_then(|b| self.follow_paths.get(b))
                .copied()
                .unwrap_or([0; 4])
        };
        let mut updated = Vec::new();
        for entry in entries.values() {
            let mut bits = own_bits(entry);
            let mut cursor = entry;
            for _ in 0..64 {
                let Some(parent) = entries
                    .get(&cursor.parent_pid)
                    .filter(|p| p.exec_ktime == cursor.parent_exec_ktime && p.pid != cursor.pid)
                else {
                    break;
                };
                let theirs = own_bits(parent);
                for (b, t) in bits.iter_mut().zip(theirs) {
                    *b |= t;
                }
                cursor = parent;
            }
            if bits != entry.follow {
                let mut changed = entry.clone();
                changed.follow = bits;
                updated.push(changed);
            }
        }
        for entry in updated {
            backend.update_process_entry(&entry)?;
        }
        Ok(())
    }

    /// Removes a bundle: its policies' entries, and the programs of points
    /// no other policy hooks.
    pub fn unload(
        &mut self,
        backend: &mut dyn KernelBackend,
        bundle: BundleId,
    ) -> Result<(), RuntimeError> {
        let policy_ids = self.policy_ids(bundle);
        let mut first_error = None;
        for policy in policy_ids {
            // losers apply again before the winner's entries go
            if let Err(e) = self.restore_losers(backend, policy) {
                first_error.get_or_insert(e);
            }
            self.bound.remove(&policy);
            let Some(state) = self.policies.remove(&policy) else {
                continue;
            };
            for ph in state.phs {
                if let Err(e) = self.remove_policy_hook(backend, ph) {
                    first_error.get_or_insert(e);
                }
            }
        }
        self.bundles.remove(&bundle);
        if let Err(e) = self.detach_unused(backend) {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }

    fn remove_policy_hook(
        &mut self,
        backend: &mut dyn KernelBackend,
        ph: u32,
    ) -> Result<(), RuntimeError> {
        let Some(info) = self.phs.remove(&ph) else {
            return Ok(());
        };
        if self.retired.len() >= RETIRED_POLICY_HOOKS {
            self.retired.pop_front();
        }
        self.retired.push_back((ph, info.clone()));
        if let Some(state) = self.hooks.get_mut(&info.chain) {
            state.users.remove(&ph);
            for cgroup in &info.cgroups {
                if let Some(list) = state.lists.get_mut(cgroup) {
                    list.retain(|id| *id != ph);
                    let key = layout::list_key(state.hook_id, *cgroup);
                    if list.is_empty() {
                        state.lists.remove(cgroup);
                        backend.map_delete(maps::LISTS, &key)?;
                    } else {
                        backend.map_update(maps::LISTS, &key, &layout::ph_list(list))?;
                    }
                }
            }
            backend.map_update(
                maps::HOOKS,
                &state.hook_id.to_ne_bytes(),
                &state.config().encode(),
            )?;
        }
        backend.map_delete(maps::POLICY_HOOKS, &ph.to_ne_bytes())?;
        for w in &info.writes {
            backend.map_delete(w.map, &w.key)?;
        }
        for bit in &info.follow_bits {
            if let Some(used) = self.follow_used.get_mut(*bit as usize) {
                *used = false;
            }
            let word = (bit / 64) as usize % 4;
            let mask = 1u64 << (bit % 64);
            let mut emptied = Vec::new();
            for (path, bits) in self.follow_paths.iter_mut() {
                if bits[word] & mask != 0 {
                    bits[word] &= !mask;
                    match layout::follow_key(path.as_bytes()) {
                        Some(key) if bits.iter().all(|w| *w == 0) => {
                            backend.map_delete(maps::FOLLOW_BINS, &key)?;
                            emptied.push(path.clone());
                        }
                        Some(key) => {
                            backend.map_update(
                                maps::FOLLOW_BINS,
                                &key,
                                &layout::follow_value(bits),
                            )?;
                        }
                        None => {}
                    }
                }
            }
            for path in emptied {
                self.follow_paths.remove(&path);
            }
        }
        if !info.follow_bits.is_empty() {
            self.refresh_process_follow_bits(backend)?;
        }
        Ok(())
    }

    /// Detaches every hook program and keeps the policies: the last records
    /// in the ring buffer are still read as their policies' events, and no
    /// new ones come (a policy hooking the reader's own writes would
    /// otherwise feed the final drain for ever).
    pub fn detach_all(&mut self, backend: &mut dyn KernelBackend) -> Result<(), RuntimeError> {
        let mut first_error = None;
        for state in self.hooks.values_mut() {
            for link in [
                state.link.take(),
                state.ret_link.take(),
                state.fmod_ret_link.take(),
            ]
            .into_iter()
            .flatten()
            {
                if let Err(error) = backend.detach(link) {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn detach_unused(&mut self, backend: &mut dyn KernelBackend) -> Result<(), RuntimeError> {
        let unused: Vec<ChainKey> = self
            .hooks
            .values()
            .filter(|h| h.users.is_empty())
            .map(HookState::key)
            .collect();
        for chain in unused {
            let Some(state) = self.hooks.remove(&chain) else {
                continue;
            };
            let attach = chain.attach;
            self.hook_by_id.remove(&state.hook_id);
            if let Some(link) = state.link {
                backend.detach(link)?;
            }
            if let Some(link) = state.ret_link {
                backend.detach(link)?;
            }
            if let Some(link) = state.fmod_ret_link {
                backend.detach(link)?;
            }
            let kind = ProgKind::of(&attach);
            let (dispatch, key) = kind.dispatch(state.slot);
            backend.map_update(dispatch, &key.to_ne_bytes(), &0u32.to_ne_bytes())?;
            if let Some(u) = self.used[kind.index()].get_mut(state.slot as usize) {
                *u = false;
            }
            if let (Some(ret_kind), Some(ret_slot)) = (ProgKind::return_of(&attach), state.ret_slot)
            {
                let (dispatch, key) = ret_kind.dispatch(ret_slot);
                backend.map_update(dispatch, &key.to_ne_bytes(), &0u32.to_ne_bytes())?;
                if let Some(u) = self.used[ret_kind.index()].get_mut(ret_slot as usize) {
                    *u = false;
                }
            }
            backend.map_delete(maps::HOOKS, &state.hook_id.to_ne_bytes())?;
        }
        Ok(())
    }

    /// After a failed load: forgets (without kernel calls, the undo log does
    /// those) the policies, policy hooks and slots the bundle added.
    fn forget_bundle(&mut self, bundle: BundleId) {
        let ids = self.policy_ids(bundle);
        // losers the failed bundle took cgroups from apply there again
        // (resync writes the lists)
        let undone: Vec<Taking> = self
            .takings
            .iter()
            .copied()
            .filter(|t| ids.contains(&t.winner))
            .collect();
        self.takings
            .retain(|t| !ids.contains(&t.winner) && !ids.contains(&t.loser));
        for t in undone {
            let phs = self
                .policies
                .get(&t.loser)
                .map(|p| p.phs.clone())
                .unwrap_or_default();
            for ph in phs {
                let Some(info) = self.phs.get_mut(&ph) else {
                    continue;
                };
                if !info.cgroups.contains(&t.cgroup) {
                    info.cgroups.push(t.cgroup);
                }
                if let Some(state) = self.hooks.get_mut(&info.chain) {
                    let list = state.lists.entry(t.cgroup).or_default();
                    if !list.contains(&ph) {
                        list.push(ph);
                    }
                }
            }
        }
        for id in &ids {
            self.bound.remove(id);
        }
        for id in ids {
            if let Some(state) = self.policies.remove(&id) {
                for ph in state.phs {
                    if let Some(info) = self.phs.remove(&ph) {
                        for bit in info.follow_bits {
                            if let Some(used) = self.follow_used.get_mut(bit as usize) {
                                *used = false;
                            }
                        }
                    }
                }
            }
        }
        let live: std::collections::HashSet<u32> = self.phs.keys().copied().collect();
        for state in self.hooks.values_mut() {
            state.users.retain(|ph, _| live.contains(ph));
            for list in state.lists.values_mut() {
                list.retain(|ph| live.contains(ph));
            }
            state.lists.retain(|_, l| !l.is_empty());
        }
        let users: std::collections::HashSet<u32> = self
            .phs
            .values()
            .flat_map(|p| p.follow_bits.iter().copied())
            .collect();
        for bits in self.follow_paths.values_mut() {
            for bit in 0..layout::FOLLOW_BITS as u32 {
                if !users.contains(&bit) {
                    bits[(bit / 64) as usize % 4] &= !(1u64 << (bit % 64));
                }
            }
        }
        self.follow_paths.retain(|_, b| b.iter().any(|w| *w != 0));
    }

    /// Rewrites the entries policies share (hook configs, lists, dispatch,
    /// followChildren paths) from the engine's view.
    fn resync(&self, backend: &mut dyn KernelBackend) -> Result<(), RuntimeError> {
        for state in self.hooks.values() {
            backend.map_update(
                maps::HOOKS,
                &state.hook_id.to_ne_bytes(),
                &state.config().encode(),
            )?;
            for (cgroup, ids) in &state.lists {
                backend.map_update(
                    maps::LISTS,
                    &layout::list_key(state.hook_id, *cgroup),
                    &layout::ph_list(ids),
                )?;
            }
            let (dispatch, key) = ProgKind::of(&state.attach).dispatch(state.slot);
            backend.map_update(dispatch, &key.to_ne_bytes(), &state.hook_id.to_ne_bytes())?;
            if let (Some(ret_kind), Some(ret_slot)) =
                (ProgKind::return_of(&state.attach), state.ret_slot)
            {
                let (dispatch, key) = ret_kind.dispatch(ret_slot);
                backend.map_update(dispatch, &key.to_ne_bytes(), &state.hook_id.to_ne_bytes())?;
            }
        }
        for (path, bits) in &self.follow_paths {
            if let Some(key) = layout::follow_key(path.as_bytes()) {
                backend.map_update(maps::FOLLOW_BINS, &key, &layout::follow_value(bits))?;
            }
        }
        self.refresh_process_follow_bits(backend)
    }

    /// After a rollback: hooks nobody uses any more are forgotten (their
    /// kernel entries and links were undone).
    fn drop_unused_hooks(&mut self) {
        let unused: Vec<ChainKey> = self
            .hooks
            .values()
            .filter(|h| h.users.is_empty())
            .map(HookState::key)
            .collect();
        for chain in unused {
            if let Some(state) = self.hooks.remove(&chain) {
                let attach = chain.attach;
                self.hook_by_id.remove(&state.hook_id);
                let used = &mut self.used[ProgKind::of(&attach).index()];
                if let Some(u) = used.get_mut(state.slot as usize) {
                    *u = false;
                }
                if let (Some(ret_kind), Some(ret_slot)) =
                    (ProgKind::return_of(&attach), state.ret_slot)
                {
                    if let Some(u) = self.used[ret_kind.index()].get_mut(ret_slot as usize) {
                        *u = false;
                    }
                }
            }
        }
    }
}

/// `max_entries` for the policy maps, sized for these bundles with room for
/// as many again (policies added later without a restart).
pub fn map_sizes(bundles: &[&Bundle]) -> Vec<(&'static str, u32)> {
    let mut counts: HashMap<&'static str, u64> = HashMap::new();
    let mut policy_hooks = 0u64;
    let mut follow = 0u64;
    let mut ids = kernel::CountingIds::default();
    for bundle in bundles {
        for (policy, hook) in bundle.hooks() {
            policy_hooks += 1;
            let slot_of = |i: usize| Ok(u8::try_from(i.min(layout::MAX_SLOTS - 1)).unwrap_or(0));
            if let Ok(entries) = kernel::translate_hook(hook, 1, policy.monitor, &slot_of, &mut ids)
            {
                for w in entries.writes {
                    *counts.entry(w.map).or_default() += 1;
                }
                follow += entries.follow.len() as u64;
            }
        }
    }
    let size = |n: u64, floor: u32| -> u32 {
        u32::try_from(n.saturating_mul(2).saturating_add(u64::from(floor))).unwrap_or(u32::MAX)
    };
    let mut out = vec![
        (maps::POLICY_HOOKS, size(policy_hooks, 64)),
        (maps::LISTS, size(policy_hooks, 64)),
        (maps::FOLLOW_BINS, size(follow, 64)),
    ];
    for map in [
        maps::INT_SET,
        maps::LPM_STR,
        maps::LPM_V4,
        maps::LPM_V6,
        maps::SUBSTR,
    ]
    .into_iter()
    .chain(maps::STR_SETS)
    {
        out.push((map, size(counts.get(map).copied().unwrap_or(0), 64)));
    }
    out
}

enum HookFailure {
    Reason(String),
    Kernel(RuntimeError),
}

/// Writes an entry and remembers its key: a failed load deletes every key it
/// wrote, then rewrites the entries other policies share from the engine's
/// own view ([`PolicyEngine::resync`]).
fn write(
    backend: &mut dyn KernelBackend,
    undo: &mut Undo,
    map: &'static str,
    key: &[u8],
    value: &[u8],
) -> Result<(), RuntimeError> {
    backend.map_update(map, key, value)?;
    if !undo.writes.iter().any(|(m, k)| *m == map && k == key) {
        undo.writes.push((map, key.to_vec()));
    }
    Ok(())
}

fn rollback(backend: &mut dyn KernelBackend, undo: Undo) {
    for link in undo.links.into_iter().rev() {
        let _ignored = backend.detach(link);
    }
    for (map, key) in undo.writes.into_iter().rev() {
        let _ignored = backend.map_delete(map, &key);
    }
}
