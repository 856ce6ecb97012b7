//! The bundle's contents as plain data: policies lowered to what the
//! kernel programs evaluate (argument reads, selectors as filter lists,
//! value sets, actions), with attach points and kernel requirements.
//!
//! Everything here is already decided by the compiler: operators are
//! resolved to the exact comparison the programs run (Tetragon's quirks
//! included), values are converted to the bits the programs compare, and
//! sets are expanded. Ids are local to a policy: the runtime assigns the
//! global ids (policy, policy hook, value set, follow bit) when it loads a
//! bundle, so bundles built apart can run together and share programs.

use serde::{Deserialize, Serialize};

/// Version of the bundle file format (the container and this model).
pub const FORMAT_VERSION: u32 = 1;

/// Version of the contract between lowered tables and the kernel programs
/// (map layouts in [`crate::layout`], program names, record formats). A
/// runtime runs a bundle only when its embedded programs have this ABI.
pub const PROGRAM_ABI: u32 = 6;

/// The one BPF object every lowered hook runs in.
pub const SENSOR_OBJECT: &str = "tpc.bpf.o";

/// The object of the fmod_ret programs ([`AttachPoint::fmod_ret_program`]),
/// which the runtime loads itself beside [`SENSOR_OBJECT`].
pub const FMOD_RET_OBJECT: &str = "fmod_ret.bpf.o";

/// A whole bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u32,
    /// The compiler that wrote it (`tpc 0.1.0`).
    pub producer: String,
    pub programs: ProgramSet,
    pub requirements: Requirements,
    /// The policy files, as given (name as written on the command line).
    pub sources: Vec<SourceFile>,
    pub policies: Vec<PolicyUnit>,
}

/// Which programs the lowered tables are for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSet {
    /// The object the runtime embeds ([`SENSOR_OBJECT`]).
    pub object: String,
    /// [`PROGRAM_ABI`] the lowering targeted.
    pub abi: u32,
}

/// What a kernel must offer for the bundle to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Requirements {
    /// The oldest kernel release the programs load on (`bpf_loop` needs 5.17).
    pub min_kernel: KernelVersion,
    /// Kernel features, by name (see [`Feature`]).
    pub features: Vec<Feature>,
    /// Tracepoints with the fields the lowering assumed.
    pub tracepoints: Vec<TracepointRequirement>,
    /// Raw tracepoints, as `subsystem/event`.
    pub raw_tracepoints: Vec<String>,
    /// The kernel whose tracepoint formats and types the lowering read
    /// (`running 6.18.44`, `debian-6.12`), if any.
    pub assumed_kernel: Option<String>,
}

/// `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
}

impl std::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A kernel capability the programs use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Kernel BTF at `/sys/kernel/btf/vmlinux` (CO-RE relocations).
    Btf,
    /// `BPF_MAP_TYPE_RINGBUF` (5.8).
    RingBuffer,
    /// The `bpf_loop` helper (5.17).
    BpfLoop,
    /// `BPF_PROG_TYPE_TRACEPOINT` attached through tracefs.
    Tracepoints,
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT`.
    RawTracepoints,
    /// `bpf_send_signal` (5.3), for Sigkill and Signal.
    SendSignal,
    /// `BPF_MAP_TYPE_LPM_TRIE`, for Prefix, Postfix and address filters.
    LpmTrie,
    /// `bpf_get_current_ancestor_cgroup_id` (5.6), for cgroup scoping.
    CgroupAncestors,
    /// kprobe programs (`CONFIG_KPROBES`, kprobe events).
    Kprobes,
    /// `bpf_override_return` (`CONFIG_BPF_KPROBE_OVERRIDE`), for Override on
    /// kprobes of error-injectable functions.
    KprobeOverride,
    /// fentry programs (BPF trampolines, 5.5).
    Fentry,
    /// fmod_ret programs (BPF trampolines, 5.7), for Override on kprobes of
    /// `security_*` functions.
    FmodRet,
    /// BPF LSM programs (`CONFIG_BPF_LSM` and `bpf` in `lsm=`).
    BpfLsm,
    /// uprobe programs.
    Uprobes,
}

impl Feature {
    pub fn describe(self) -> &'static str {
        match self {
            Feature::Btf => "kernel BTF (/sys/kernel/btf/vmlinux)",
            Feature::RingBuffer => "BPF ring buffers (Linux 5.8)",
            Feature::BpfLoop => "the bpf_loop helper (Linux 5.17)",
            Feature::Tracepoints => "tracepoint programs (tracefs)",
            Feature::RawTracepoints => "raw tracepoint programs",
            Feature::SendSignal => "the bpf_send_signal helper (Linux 5.3)",
            Feature::LpmTrie => "LPM trie maps",
            Feature::CgroupAncestors => "cgroup v2 ancestor ids (Linux 5.6)",
            Feature::Kprobes => "kprobe programs (CONFIG_KPROBES)",
            Feature::KprobeOverride => {
                "bpf_override_return (CONFIG_BPF_KPROBE_OVERRIDE, error-injectable functions)"
            }
            Feature::Fentry => "fentry programs (BPF trampolines)",
            Feature::FmodRet => "fmod_ret programs (BPF trampolines, Linux 5.7)",
            Feature::BpfLsm => "BPF LSM programs (CONFIG_BPF_LSM, `bpf` in the kernel's lsm= list)",
            Feature::Uprobes => "uprobe programs (CONFIG_UPROBES)",
        }
    }
}

/// A tracepoint and the fields the lowering read from its format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracepointRequirement {
    pub subsystem: String,
    pub event: String,
    pub fields: Vec<FieldRequirement>,
}

/// One field of a tracepoint record as the lowering saw it; the runtime
/// checks the live format has the same field at the same position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRequirement {
    /// Position in the format, common fields included.
    pub index: u32,
    pub name: String,
    /// Size in bytes, when the lowering knew it.
    pub size: Option<u32>,
}

/// A policy file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// A place in a policy file, for messages (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SourcePlace {
    pub line: u32,
    pub column: u32,
}

/// One policy, lowered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyUnit {
    pub name: String,
    /// `TracingPolicy` or `TracingPolicyNamespaced`.
    pub kind: String,
    /// Index into [`Bundle::sources`].
    pub source: u32,
    pub place: SourcePlace,
    /// `policy-mode: monitor`: enforcement actions are reported, not run.
    pub monitor: bool,
    pub scope: PolicyScope,
    /// A policy built from a `TracingPolicyBinding`: its template and
    /// override settings, which `tpc run` needs to apply the conflict rules
    /// across bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<crate::binding::BindingUnit>,
    pub hooks: Vec<HookUnit>,
    /// The compiler's IR of the policy (opaque here), so replay and test
    /// tools can run from the bundle alone.
    pub ir: serde_json::Value,
}

/// Which processes a policy applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyScope {
    /// Every process.
    Everywhere,
    /// Processes in these cgroup v2 directories (paths under the cgroup
    /// mount, e.g. `/system.slice/nginx.service`) and their descendants.
    Cgroups { paths: Vec<String> },
    /// Only workloads the policy names in Kubernetes terms (pod or
    /// container selectors, a namespaced policy): on a host without
    /// Kubernetes that is no process, unless `tpc run` binds cgroups to it.
    Workloads { reason: String },
}

/// One hook of a policy, lowered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HookUnit {
    /// `tracepoints[0]`.
    pub locator: String,
    pub place: SourcePlace,
    pub attach: AttachPoint,
    /// What is read on every hit, in the order events export it (hidden
    /// entries are read for another argument's size and not exported).
    pub args: Vec<ArgSpec>,
    /// Empty: every event is posted.
    pub selectors: Vec<SelectorUnit>,
    pub message: Option<String>,
    pub tags: Vec<String>,
    /// `returnArg` of a return probe: read from the return register when
    /// the call returns; `matchReturnArgs` filters name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_arg: Option<ArgSpec>,
    /// `ignore: callNotFound`: where the kernel lacks the target, the
    /// runtime leaves this hook out instead of refusing the bundle.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

impl HookUnit {
    /// Whether the hook has a return probe (`return: true`).
    pub fn returns(&self) -> bool {
        self.attach.returns()
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Where a hook attaches.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachPoint {
    Tracepoint {
        subsystem: String,
        event: String,
    },
    /// Attached by `event`; events report `subsystem/event` like tracepoints.
    RawTracepoint {
        subsystem: String,
        event: String,
    },
    /// A kprobe on a kernel function. `syscall`: `function` is a syscall
    /// (`sys_openat`), attached at the kernel's wrapper (`__x64_sys_openat`)
    /// with its arguments in the user's registers. `override_return`: a
    /// selector overrides the return value, with `bpf_override_return`, or
    /// with `fmod_ret`: an fmod_ret program on the same function returns the
    /// value the kprobe left (what Tetragon does on `security_*` functions).
    /// `returns`: a kretprobe finishes each call the entry posted for
    /// (`return: true`): `returnArg`, `matchReturnArgs`, `returnCopy`.
    Kprobe {
        function: String,
        syscall: bool,
        override_return: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        fmod_ret: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        returns: bool,
    },
    /// fentry on a kernel function (BTF), arguments as u64s. `returns`:
    /// an fexit program finishes each call the entry posted for, with the
    /// return value after the arguments.
    Fentry {
        function: String,
        syscall: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        returns: bool,
    },
    /// A BPF LSM program on `hook` (`file_open`), arguments as u64s; its
    /// return value is what Override sets.
    Lsm {
        hook: String,
    },
    /// A uprobe on `path` at `symbol` (plus `offset`), or at `offset` in the
    /// file when there is no symbol.
    Uprobe {
        path: String,
        symbol: Option<String>,
        offset: u64,
        /// A uretprobe finishes each call the entry posted for.
        #[serde(default, skip_serializing_if = "is_false")]
        returns: bool,
    },
    /// A USDT probe `provider:name` of the ELF file `path`: a uprobe at
    /// each of the probe's sites, with the probe's semaphore counted. The
    /// runtime reads the sites and the arguments' layout from the file's
    /// notes when it loads the hook, as Tetragon's agent does.
    Usdt {
        path: String,
        provider: String,
        name: String,
    },
}

impl AttachPoint {
    /// Whether a return probe finishes the hook's calls.
    pub fn returns(&self) -> bool {
        matches!(
            self,
            AttachPoint::Kprobe { returns: true, .. }
                | AttachPoint::Uprobe { returns: true, .. }
                | AttachPoint::Fentry { returns: true, .. }
        )
    }

    /// The fmod_ret program that applies the Override of a kprobe in
    /// program slot `slot` on a `security_*` function (`tpc_fmodret_<slot>`
    /// of the fmod_ret object), attached to the same function.
    pub fn fmod_ret_program(&self, slot: u32) -> Option<String> {
        match self {
            AttachPoint::Kprobe {
                override_return: true,
                fmod_ret: true,
                ..
            } => Some(format!("tpc_fmodret_{slot}")),
            _ => None,
        }
    }

    /// The return program of this kind of hook in program slot `slot`.
    pub fn return_program(&self, slot: u32) -> Option<String> {
        match self {
            AttachPoint::Kprobe { returns: true, .. } => Some(format!("tpc_kretprobe_{slot}")),
            AttachPoint::Uprobe { returns: true, .. } => Some(format!("tpc_uretprobe_{slot}")),
            AttachPoint::Fentry { returns: true, .. } => Some(format!("tpc_fexit_{slot}")),
            _ => None,
        }
    }

    /// The program of [`SENSOR_OBJECT`] that serves this kind of hook in
    /// program slot `slot`.
    pub fn program(&self, slot: u32) -> String {
        match self {
            AttachPoint::Tracepoint { .. } => format!("tpc_tracepoint_{slot}"),
            AttachPoint::RawTracepoint { .. } => format!("tpc_raw_tracepoint_{slot}"),
            AttachPoint::Kprobe {
                override_return: false,
                ..
            } => format!("tpc_kprobe_{slot}"),
            AttachPoint::Kprobe {
                override_return: true,
                fmod_ret: false,
                ..
            } => format!("tpc_kprobe_override_{slot}"),
            AttachPoint::Kprobe {
                override_return: true,
                fmod_ret: true,
                ..
            } => format!("tpc_kprobe_fmodret_{slot}"),
            AttachPoint::Fentry { .. } => format!("tpc_fentry_{slot}"),
            AttachPoint::Lsm { .. } => format!("tpc_lsm_{slot}"),
            AttachPoint::Uprobe { .. } | AttachPoint::Usdt { .. } => {
                format!("tpc_uprobe_{slot}")
            }
        }
    }

    /// Where the hook's event says it was (`function_name` of kprobe and
    /// LSM events, `subsystem`/`event` of tracepoints).
    pub fn function_name(&self) -> &str {
        match self {
            AttachPoint::Tracepoint { event, .. } | AttachPoint::RawTracepoint { event, .. } => {
                event
            }
            AttachPoint::Kprobe { function, .. } | AttachPoint::Fentry { function, .. } => function,
            AttachPoint::Lsm { hook } => hook,
            AttachPoint::Uprobe { symbol, path, .. } => symbol.as_deref().unwrap_or(path),
            AttachPoint::Usdt { name, .. } => name,
        }
    }

    /// `tracepoint syscalls/sys_enter_openat`.
    pub fn describe(&self) -> String {
        match self {
            AttachPoint::Tracepoint { subsystem, event } => {
                format!("tracepoint {subsystem}/{event}")
            }
            AttachPoint::RawTracepoint { subsystem, event } => {
                format!("raw tracepoint {subsystem}/{event}")
            }
            AttachPoint::Kprobe {
                function,
                syscall,
                override_return,
                fmod_ret,
                returns,
            } => format!(
                "kprobe {function}{}{}{}",
                if *syscall { " (syscall)" } else { "" },
                match (*override_return, *fmod_ret) {
                    (true, true) => " with override (fmod_ret)",
                    (true, false) => " with override",
                    _ => "",
                },
                if *returns { " with return probe" } else { "" }
            ),
            AttachPoint::Fentry {
                function,
                syscall,
                returns,
            } => format!(
                "fentry {function}{}{}",
                if *syscall { " (syscall)" } else { "" },
                if *returns { " with return probe" } else { "" }
            ),
            AttachPoint::Lsm { hook } => format!("lsm {hook}"),
            AttachPoint::Uprobe {
                path,
                symbol,
                offset,
                returns,
            } => {
                let place = match symbol {
                    Some(symbol) if *offset == 0 => format!("uprobe {path}:{symbol}"),
                    Some(symbol) => format!("uprobe {path}:{symbol}+{offset:#x}"),
                    None => format!("uprobe {path}@{offset:#x}"),
                };
                if *returns {
                    format!("{place} with return probe")
                } else {
                    place
                }
            }
            AttachPoint::Usdt {
                path,
                provider,
                name,
            } => format!("usdt {path}:{provider}:{name}"),
        }
    }
}

/// One argument read on every hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgSpec {
    pub source: ArgSource,
    pub read: ArgRead,
    pub export: ArgExport,
    pub label: Option<String>,
    /// Read only because another argument takes its size from it.
    pub hidden: bool,
    /// `returnCopy`: a buffer whose pointer is kept at entry and whose
    /// bytes are read when the call returns, as many as it returned.
    #[serde(default, skip_serializing_if = "is_false")]
    pub return_copy: bool,
}

/// Where an argument's raw value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgSource {
    /// A tracepoint record field, by position in the format (common fields
    /// included) and name; the runtime finds its offset in the live format.
    Field { index: u32, name: String },
    /// The `index`-th argument of a raw tracepoint, fentry or LSM program
    /// (a u64 array).
    RawArg { index: u32 },
    /// A register of the hook's `struct pt_regs` (kprobes, uprobes), by its
    /// offset there; for syscall hooks, of the user's registers.
    Register { name: String, offset: u16 },
    /// The return value register of a return probe (`returnArg`), by its
    /// offset in the return probe's `struct pt_regs`.
    Return { offset: u16 },
    /// The `index`-th argument of a USDT probe; where it is (a register,
    /// memory, a constant) the probe's note says, read by the runtime.
    Usdt { index: u32 },
}

/// How the programs read an argument.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgRead {
    /// `width` bytes, sign- or zero-extended.
    Int { width: u8, signed: bool },
    /// A 64-bit syscall id; bit 31 set for compat (32-bit) tasks.
    Syscall64,
    /// A NUL-terminated string at a user-space pointer.
    UserString,
    /// A NUL-terminated string at a kernel pointer.
    KernelString,
    /// A `__data_loc` string inside the tracepoint record.
    DataLocString,
    /// Bytes at a user-space pointer, as many as argument `size_arg` says.
    CharBuf { size_arg: u32 },
    /// `char_iovec`: the buffers of a `struct iovec` array, one after the
    /// other, as many entries as argument `size_arg` says (at most 7, as
    /// Tetragon reads them).
    CharIovec { size_arg: u32 },
    /// A fixed array of `len` bytes inside the record.
    ConstBuf { len: u32 },
    /// A `struct sockaddr` at a pointer (user, else kernel).
    UserSockaddr,
    /// A `struct file *`: its path.
    FilePath,
    /// A `struct path *`: the path.
    PathPath,
    /// A file descriptor of the current task (`width` bytes): its file's path.
    FdPath { width: u8, signed: bool },
    /// A `struct linux_binprm *`: the path of the file being executed.
    BprmPath,
    /// A `struct dentry *`: its names up to the file system's root.
    DentryPath,
    /// A `struct sock *`: family, type, protocol, ports, addresses and
    /// TCP state.
    Sock,
    /// A `struct socket *`: its `sk`, read as [`ArgRead::Sock`].
    Socket,
    /// A `struct cred *`: ids, securebits, capability sets, user namespace.
    Cred,
    /// A `struct user_namespace *`: level, owner, group, inode number.
    UserNamespace,
    /// A `struct kiocb *`: the path of its file.
    Kiocb,
    /// A `struct filename *`: its name.
    Filename,
    /// A `struct net_device *`: its name.
    NetDevice,
    /// A `struct module *`: its name.
    Module,
    /// A `struct load_info *`: the name of the module being loaded.
    LoadInfo,
    /// A `union bpf_attr *` of `BPF_PROG_LOAD`: type, instructions, name.
    BpfAttr,
    /// A `struct bpf_prog *`: type, instructions, name.
    BpfProg,
    /// A `struct bpf_map *`: type, key and value sizes, entries, name.
    BpfMap,
    /// A `struct perf_event *`: type, config, probe offset, kprobe function.
    PerfEvent,
    /// A `struct sk_buff *`: its IP header's tuple and protocol, length,
    /// priority, mark and hash.
    Skb,
}

/// The argument kind events carry (Tetragon's `KprobeArgument` oneof).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgExport {
    /// `int_arg`.
    Int,
    /// `uint_arg`.
    Uint,
    /// `long_arg`.
    Long,
    /// `size_arg`.
    Size,
    /// `string_arg`.
    String,
    /// `bytes_arg` (or `truncated_bytes_arg` when cut).
    Bytes,
    /// `syscall_id`.
    SyscallId,
    /// `sockaddr_arg`.
    Sockaddr,
    /// `file_arg` (a path).
    File,
    /// `path_arg`.
    Path,
    /// `linux_binprm_arg`.
    LinuxBinprm,
    /// `sock_arg`.
    Sock,
    /// `process_credentials_arg`.
    Cred,
    /// `user_ns_arg`.
    UserNamespace,
    /// `capability_arg` (an int: the capability's number and name).
    Capability,
    /// `module_arg`.
    Module,
    /// `bpf_attr_arg`.
    BpfAttr,
    /// `bpf_prog_arg`.
    BpfProg,
    /// `bpf_map_arg`.
    BpfMap,
    /// `perf_event_arg`.
    PerfEvent,
    /// `net_dev_arg`.
    NetDevice,
    /// `skb_arg`.
    Skb,
}

/// One selector: its filters and what it does when it is the first to match.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectorUnit {
    /// Position in the policy's `selectors` list.
    pub index: u32,
    pub place: SourcePlace,
    /// Evaluated for every selector before any argument filter, in
    /// Tetragon's order (binaries, parent binaries, PIDs, namespaces,
    /// capabilities, namespace changes, capability changes).
    pub process: Vec<ProcessFilter>,
    /// `matchArgs` then `matchData`, in order.
    pub args: Vec<ArgFilter>,
    pub action: SelectorAction,
    /// `matchReturnArgs` (return probes; `arg` is 0, the return value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub return_args: Vec<ArgFilter>,
    /// `matchReturnActions`; `None`: the return posts (`Post`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_action: Option<ReturnAction>,
}

/// What a selector does when its `matchReturnArgs` are the first to pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnAction {
    /// False when `matchReturnActions` has `NoPost`.
    pub post: bool,
    /// The `return_action` events carry.
    pub event_action: u32,
    /// The signal sent when the call returns; `None` in monitor mode.
    pub signal: Option<u32>,
}

/// What a winning selector does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectorAction {
    /// False when the selector has `NoPost`.
    pub post: bool,
    /// The `action` events carry (Tetragon's `KprobeAction` number).
    pub event_action: u32,
    /// The signal to send the current process (`Sigkill` is 9); `None` in
    /// monitor mode or without a signal action.
    pub signal: Option<u32>,
    pub rate_limit: Option<RateLimit>,
    /// `Override`: the value the hooked call returns instead (`argError`);
    /// `None` in monitor mode or without Override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_return: Option<i32>,
}

/// `rateLimit` of a `Post`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub interval_ns: u64,
    pub scope: RateLimitScope,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitScope {
    Thread,
    Process,
    Global,
}

/// `In`/`NotIn` and friends on binaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryMatch {
    /// The whole path equals a value.
    Exact,
    Prefix,
    /// The path's last 127 bytes end with a value.
    Postfix,
}

/// The namespaces `matchNamespaces` and `matchNamespaceChanges` name, in
/// the order the programs and events index them.
pub const NAMESPACE_KINDS: [&str; 10] = [
    "Uts",
    "Ipc",
    "Mnt",
    "Pid",
    "PidForChildren",
    "Net",
    "Time",
    "TimeForChildren",
    "Cgroup",
    "User",
];

/// A filter on the process that hit the hook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessFilter {
    /// `matchBinaries` (`parent` false) or `matchParentBinaries`.
    Binaries {
        parent: bool,
        matching: BinaryMatch,
        negate: bool,
        values: Vec<String>,
        /// A listed binary exec'd by an ancestor counts too (exact values only).
        follow_children: bool,
    },
    /// `matchPIDs` (at most 4 values are read).
    Pids {
        negate: bool,
        values: Vec<u32>,
        follow_forks: bool,
        namespace_pid: bool,
    },
    /// `matchNamespaces`: `kind` indexes [`NAMESPACE_KINDS`].
    Namespaces {
        kind: u8,
        negate: bool,
        /// `host_ns` is one of the values.
        host: bool,
        inums: Vec<u32>,
    },
    /// `matchCapabilities`: `set` is 0 effective, 1 inheritable, 2 permitted.
    Capabilities {
        negate: bool,
        set: u8,
        namespace_only: bool,
        mask: u64,
    },
    /// `matchNamespaceChanges`: bit `i` of `kinds` is [`NAMESPACE_KINDS`]`[i]`.
    NamespaceChanges { negate: bool, kinds: u16 },
    /// `matchCapabilityChanges`.
    CapabilityChanges {
        negate: bool,
        set: u8,
        namespace_only: bool,
        mask: u64,
    },
}

/// A filter on one argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgFilter {
    /// Index into [`HookUnit::args`].
    pub arg: u32,
    pub test: ArgTest,
    /// The filter's result replaces the selector's result so far instead
    /// of being ANDed with it (Tetragon's `CapabilitiesGained`).
    pub replaces_result: bool,
}

/// Integer comparison, on the argument's low `bits` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntCompare {
    /// The bits equal a value.
    Equal,
    /// The bits differ from some value (Tetragon ORs `≠`).
    DifferAny,
    Greater,
    Less,
    /// The bits share a bit with a value.
    Mask,
}

/// String matching on an argument's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextMatch {
    Equal,
    /// Starts with a value (the first 255 bytes are looked at).
    Prefix,
    /// The last 127 bytes end with a value.
    Postfix,
    SubString,
    SubStringIgnoreCase,
}

/// Which field of a socket address a filter reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InetField {
    Family,
    Address,
    Port,
}

/// The comparison one argument filter runs, values already converted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgTest {
    /// The operator never matches on this argument kind.
    Never,
    /// The filter is skipped (Tetragon has no runtime filter for the type).
    Always,
    /// Compare the argument with up to 8 values. Values are bit patterns:
    /// for `Greater`/`Less` they are compared signed when `signed`.
    Int {
        bits: u8,
        signed: bool,
        compare: IntCompare,
        values: Vec<u64>,
    },
    /// Inside one of up to 4 inclusive ranges (bounds as bit patterns,
    /// compared signed when `signed`).
    IntRange {
        bits: u8,
        signed: bool,
        negate: bool,
        ranges: Vec<(u64, u64)>,
    },
    /// The argument's low `bits` bits are a member (a hash set).
    IntSet {
        bits: u8,
        negate: bool,
        members: Vec<u64>,
    },
    Text {
        matching: TextMatch,
        negate: bool,
        values: Vec<String>,
    },
    /// Socket address family in a set (values ≤ 8).
    InetFamily { families: Vec<u16> },
    /// IPv4/IPv6 address inside a listed network; never for other
    /// families, negated or not. `destination` (sockets only) reads the
    /// peer's address (`DAddr`) instead of the local one.
    InetAddress {
        negate: bool,
        /// (address, prefix length).
        v4: Vec<([u8; 4], u8)>,
        v6: Vec<([u8; 16], u8)>,
        #[serde(default, skip_serializing_if = "is_false")]
        destination: bool,
    },
    /// Port in a set (ranges expanded); `destination` as for addresses.
    InetPort {
        negate: bool,
        ports: Vec<u16>,
        #[serde(default, skip_serializing_if = "is_false")]
        destination: bool,
    },
    /// Port below 1024; `destination` as for addresses.
    InetPrivilegedPort {
        negate: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        destination: bool,
    },
    /// A socket's protocol in a set (values ≤ 8; `sock`/`socket` only).
    InetProtocol { protocols: Vec<u16> },
    /// A socket's TCP state in a set (values ≤ 8; `sock`/`socket` only).
    InetState { states: Vec<u16> },
}

impl Bundle {
    /// Every hook of every policy with its policy.
    pub fn hooks(&self) -> impl Iterator<Item = (&PolicyUnit, &HookUnit)> {
        self.policies
            .iter()
            .flat_map(|p| p.hooks.iter().map(move |h| (p, h)))
    }

    /// The source a policy came from.
    pub fn source_of(&self, policy: &PolicyUnit) -> Option<&SourceFile> {
        self.sources.get(policy.source as usize)
    }
}
