//! The kernel side of the contract: the layouts of the policy maps and the
//! hook record (`bpf-programs/policy_maps.h`), declared here once with
//! their sizes and field offsets, and the encoders that turn typed entries
//! into the bytes the programs read. A test (`tests/tests/layout_btf.rs`)
//! compares every layout with the BTF of the compiled object.

/// Argument slots of one hook, over every policy on it.
pub const MAX_SLOTS: usize = 8;
/// Arguments one policy hook exports.
pub const MAX_POLICY_ARGS: usize = 8;
pub const MAX_SELECTORS: usize = 5;
/// Filters of one policy hook, all selectors together.
pub const MAX_FILTERS: usize = 32;
/// Inline values of one filter.
pub const MAX_INLINE: usize = 8;
/// Policy hooks in one list (per hook and cgroup).
pub const MAX_PH_LIST: usize = 128;
/// Policy hooks evaluated on one hit (all lists together).
pub const MAX_CANDIDATES: usize = 128;
/// Policy hooks one hit can report.
pub const MAX_POSTS: usize = 16;
/// Policies with their own drop counter.
pub const MAX_POLICIES: usize = 1024;
/// Bytes read for one string or buffer.
pub const ARG_MAX: usize = 4096;
/// String and buffer bytes of one record.
pub const DATA_SIZE: usize = 16384;
/// String bytes of a prefix/postfix trie key.
pub const LPM_DATA: usize = 252;
pub const POSTFIX_WINDOW: usize = 127;
pub const PREFIX_WINDOW: usize = 255;
/// Bytes of each argument in a rate-limit key.
pub const RATE_ARG_BYTES: usize = 40;
/// Bytes of one SubString value.
pub const SUBSTR_MAX: usize = 124;
/// followChildren bits available (4 words).
pub const FOLLOW_BITS: usize = 256;
/// Raw tracepoint programs (`tpc_raw_tracepoint_0` ...).
pub const RAW_SLOTS: usize = 8;
/// Tracepoint programs (`tpc_tracepoint_0` ...).
pub const TP_SLOTS: usize = 96;
/// Programs of the other hook kinds, dispatched through `tpc_prog_hooks`
/// at `base + slot`: (base, programs).
pub const KPROBE_SLOTS: (usize, usize) = (0, 64);
pub const KPROBE_OVERRIDE_SLOTS: (usize, usize) = (64, 8);
pub const FENTRY_SLOTS: (usize, usize) = (72, 8);
pub const LSM_SLOTS: (usize, usize) = (80, 8);
pub const UPROBE_SLOTS: (usize, usize) = (88, 8);
/// Return probes (`tpc_kretprobe_<n>`, `tpc_uretprobe_<n>`).
pub const KRETPROBE_SLOTS: (usize, usize) = (96, 16);
pub const URETPROBE_SLOTS: (usize, usize) = (112, 8);
/// kprobes whose Override an fmod_ret program applies
/// (`tpc_kprobe_fmodret_<n>`, with `tpc_fmodret_<n>`).
pub const KPROBE_FMODRET_SLOTS: (usize, usize) = (128, 8);
/// Return probes of fentry hooks (`tpc_fexit_<n>`).
pub const FEXIT_SLOTS: (usize, usize) = (136, 8);
/// Entries of `tpc_prog_hooks`.
pub const PROG_SLOTS: usize = 144;
/// Calls awaiting their return probe (`tpc_ret_pending`).
pub const RET_PENDING: usize = 4096;
/// Bytes of a binary path in a process entry.
pub const BINARY_LEN: usize = 256;
/// Key data sizes of the string-set maps, smallest first.
pub const STRING_BUCKETS: [usize; 4] = [64, 256, 1024, 4096];

/// A struct's layout: size and `(field, offset, size)`.
#[derive(Clone, Copy, Debug)]
pub struct StructLayout {
    pub name: &'static str,
    pub size: usize,
    pub fields: &'static [(&'static str, usize, usize)],
}

/// Every struct the programs and the runtime share.
pub const LAYOUTS: &[StructLayout] = &[
    StructLayout {
        name: "tpc_arg_slot",
        size: 8,
        fields: &[
            ("offset", 0, 2),
            ("kind", 2, 1),
            ("width", 3, 1),
            ("flags", 4, 1),
            ("size_slot", 5, 1),
            ("max_len", 6, 2),
        ],
    },
    StructLayout {
        name: "tpc_usdt_arg",
        size: 16,
        fields: &[
            ("val_off", 0, 8),
            ("reg_off", 8, 2),
            ("idx_off", 10, 2),
            ("kind", 12, 1),
            ("shift", 13, 1),
            ("sig", 14, 1),
            ("scale", 15, 1),
        ],
    },
    StructLayout {
        name: "tpc_hook",
        size: 200,
        fields: &[
            ("nslots", 0, 4),
            ("flags", 4, 4),
            ("slots", 8, 64),
            ("usdt", 72, 128),
        ],
    },
    StructLayout {
        name: "tpc_list_key",
        size: 16,
        fields: &[("hook_id", 0, 4), ("reserved", 4, 4), ("cgroup_id", 8, 8)],
    },
    StructLayout {
        name: "tpc_ph_list",
        size: 516,
        fields: &[("count", 0, 4), ("ids", 4, 512)],
    },
    StructLayout {
        name: "tpc_filter",
        size: 88,
        fields: &[
            ("kind", 0, 1),
            ("op", 1, 1),
            ("slot", 2, 1),
            ("count", 3, 1),
            ("bits", 4, 1),
            ("flags", 5, 1),
            ("aux", 6, 1),
            ("selector", 7, 1),
            ("set_id", 8, 4),
            ("bit", 12, 4),
            ("values", 16, 64),
            ("mask", 80, 8),
        ],
    },
    StructLayout {
        name: "tpc_sel_action",
        size: 24,
        fields: &[
            ("rate_interval_ns", 0, 8),
            ("post", 8, 1),
            ("signal", 9, 1),
            ("rate_scope", 10, 1),
            ("first_filter", 11, 1),
            ("nproc", 12, 1),
            ("nargs", 13, 1),
            ("nret", 14, 1),
            ("ret_signal", 15, 1),
            ("override_ret", 16, 4),
            ("action_flags", 20, 4),
        ],
    },
    StructLayout {
        name: "tpc_policy_hook",
        size: 2960,
        fields: &[
            ("policy_id", 0, 4),
            ("nselectors", 4, 2),
            ("nfilters", 6, 2),
            ("flags", 8, 4),
            ("nargs", 12, 1),
            ("arg_slots", 13, 8),
            ("actions", 24, 120),
            ("filters", 144, 2816),
        ],
    },
    StructLayout {
        name: "tpc_int_key",
        size: 16,
        fields: &[("set_id", 0, 4), ("value", 8, 8)],
    },
    StructLayout {
        name: "tpc_str_key_64",
        size: 72,
        fields: &[("set_id", 0, 4), ("len", 4, 4), ("data", 8, 64)],
    },
    StructLayout {
        name: "tpc_str_key_4096",
        size: 4104,
        fields: &[("set_id", 0, 4), ("len", 4, 4), ("data", 8, 4096)],
    },
    StructLayout {
        name: "tpc_lpm_str_key",
        size: 260,
        fields: &[("prefixlen", 0, 4), ("set_id", 4, 4), ("data", 8, 252)],
    },
    StructLayout {
        name: "tpc_lpm_v4_key",
        size: 12,
        fields: &[("prefixlen", 0, 4), ("set_id", 4, 4), ("addr", 8, 4)],
    },
    StructLayout {
        name: "tpc_lpm_v6_key",
        size: 24,
        fields: &[("prefixlen", 0, 4), ("set_id", 4, 4), ("addr", 8, 16)],
    },
    StructLayout {
        name: "tpc_substr_key",
        size: 8,
        fields: &[("set_id", 0, 4), ("index", 4, 4)],
    },
    StructLayout {
        name: "tpc_substr_value",
        size: 128,
        fields: &[("len", 0, 4), ("data", 4, 124)],
    },
    StructLayout {
        name: "tpc_follow_key",
        size: 256,
        fields: &[("path", 0, 256)],
    },
    StructLayout {
        name: "tpc_follow_value",
        size: 32,
        fields: &[("bits", 0, 32)],
    },
    StructLayout {
        name: "tpc_rate_key",
        size: 336,
        fields: &[
            ("ph_id", 0, 4),
            ("selector", 4, 4),
            ("scope", 8, 8),
            ("data", 16, 320),
        ],
    },
    StructLayout {
        name: "tpc_config",
        size: 48,
        fields: &[("host_ns", 0, 40), ("flags", 40, 4)],
    },
    StructLayout {
        name: "tpc_post",
        size: 8,
        fields: &[
            ("ph_id", 0, 4),
            ("selector", 4, 1),
            ("flags", 5, 1),
            ("policy", 6, 2),
        ],
    },
    StructLayout {
        name: "tpc_hook_event",
        size: 376,
        fields: &[
            ("header", 0, 16),
            ("pid", 16, 4),
            ("tid", 20, 4),
            ("exec_ktime", 24, 8),
            ("hook_id", 32, 4),
            ("nposts", 36, 2),
            ("flags", 38, 2),
            ("ns", 40, 40),
            ("caps", 80, 24),
            ("values", 104, 64),
            ("offs", 168, 16),
            ("lens", 184, 16),
            ("orig_lens", 200, 32),
            ("posts", 232, 128),
            ("data_len", 360, 4),
            ("entry_ktime", 368, 8),
        ],
    },
    StructLayout {
        name: "tpc_ret_key",
        size: 16,
        fields: &[("pid_tgid", 0, 8), ("hook_id", 8, 4)],
    },
    StructLayout {
        name: "tpc_ret_state",
        size: 216,
        fields: &[
            ("entry_ktime", 0, 8),
            ("exec_ktime", 8, 8),
            ("values", 16, 64),
            ("nposts", 80, 2),
            ("posts", 88, 128),
        ],
    },
    StructLayout {
        name: "tpc_override_task",
        size: 8,
        fields: &[("ret", 0, 4), ("reserved", 4, 4)],
    },
    StructLayout {
        name: "tpc_override_key",
        size: 16,
        fields: &[("pid_tgid", 0, 8), ("slot", 8, 4), ("reserved", 12, 4)],
    },
];

/// The layout named `name`.
pub fn layout(name: &str) -> Option<&'static StructLayout> {
    LAYOUTS.iter().find(|l| l.name == name)
}

fn offset_of(name: &str, field: &str) -> usize {
    layout(name)
        .and_then(|l| l.fields.iter().find(|f| f.0 == field))
        .map_or(0, |f| f.1)
}

/// How a slot is read (`enum tpc_read`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SlotRead {
    Int = 1,
    Syscall64 = 2,
    UserString = 3,
    KernelString = 4,
    DataLoc = 5,
    CharBuf = 6,
    ConstBuf = 7,
    Sockaddr = 8,
    File = 9,
    Path = 10,
    Fd = 11,
    Bprm = 12,
    Dentry = 13,
    Sock = 14,
    Socket = 15,
    Cred = 16,
    UserNamespace = 17,
    Kiocb = 18,
    Filename = 19,
    NetDevice = 20,
    Module = 21,
    LoadInfo = 22,
    BpfAttr = 23,
    BpfProg = 24,
    BpfMap = 25,
    PerfEvent = 26,
    Skb = 27,
    CharIovec = 28,
}

/// `struct tpc_arg_slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelSlot {
    /// Record offset (tracepoints) or argument index (raw tracepoints).
    pub offset: u16,
    pub read: SlotRead,
    pub width: u8,
    pub signed: bool,
    /// Slot holding this buffer's size (`CharBuf`).
    pub size_slot: Option<u8>,
    pub max_len: u16,
    /// Read by the return probe (`returnArg`).
    pub at_return: bool,
    /// A `returnCopy` buffer: pointer at entry, bytes at return.
    pub return_copy: bool,
    /// A USDT argument: how to compute the value the slot reads.
    pub usdt: Option<KernelUsdtArg>,
}

/// `struct tpc_usdt_arg`: how a USDT argument is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct KernelUsdtArg {
    /// `enum tpc_usdt_kind`: 1 constant, 2 register, 3 memory at a
    /// register, 4 memory at base + index << scale.
    pub kind: u8,
    pub reg_off: u16,
    pub idx_off: u16,
    pub val_off: u64,
    pub scale: u8,
    /// 64 − the value's bits.
    pub shift: u8,
    pub signed: bool,
}

impl KernelUsdtArg {
    pub fn encode(&self, out: &mut [u8]) {
        put_u64(out, 0, self.val_off);
        put_u16(out, 8, self.reg_off);
        put_u16(out, 10, self.idx_off);
        out[12] = self.kind;
        out[13] = self.shift;
        out[14] = u8::from(self.signed);
        out[15] = self.scale;
    }
}

/// `tpc_arg_slot.flags`.
pub mod slot_flags {
    pub const SIGNED: u8 = 1;
    pub const RETURN: u8 = 2;
    pub const RETCOPY: u8 = 4;
    pub const USDT: u8 = 8;
}

pub const SLOT_NONE: u8 = 0xff;

impl KernelSlot {
    pub fn encode(&self, out: &mut [u8]) {
        put_u16(out, 0, self.offset);
        out[2] = self.read as u8;
        out[3] = self.width;
        out[4] = if self.signed { slot_flags::SIGNED } else { 0 }
            | if self.at_return {
                slot_flags::RETURN
            } else {
                0
            }
            | if self.return_copy {
                slot_flags::RETCOPY
            } else {
                0
            }
            | if self.usdt.is_some() {
                slot_flags::USDT
            } else {
                0
            };
        out[5] = self.size_slot.unwrap_or(SLOT_NONE);
        put_u16(out, 6, self.max_len);
    }
}

/// `struct tpc_hook`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelHook {
    pub slots: Vec<KernelSlot>,
    /// Some policy on the hook is scoped to cgroups.
    pub scoped: bool,
    /// Some filter on the hook reads namespaces or capabilities.
    pub task_info: bool,
    /// The arguments are in the `struct pt_regs` the first argument points
    /// at (syscall wrappers).
    pub regs_indirect: bool,
    /// A return probe finishes the calls some policy posted for.
    pub returns: bool,
}

impl KernelHook {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; 200];
        put_u32(&mut out, 0, self.slots.len().min(MAX_SLOTS) as u32);
        put_u32(
            &mut out,
            4,
            u32::from(self.scoped)
                | if self.task_info { 2 } else { 0 }
                | if self.regs_indirect { 4 } else { 0 }
                | if self.returns { 8 } else { 0 },
        );
        for (i, slot) in self.slots.iter().take(MAX_SLOTS).enumerate() {
            slot.encode(&mut out[8 + 8 * i..16 + 8 * i]);
            if let Some(usdt) = &slot.usdt {
                usdt.encode(&mut out[72 + 16 * i..88 + 16 * i]);
            }
        }
        out
    }
}

/// `struct tpc_list_key`.
pub fn list_key(hook_id: u32, cgroup_id: u64) -> Vec<u8> {
    let mut out = vec![0u8; 16];
    put_u32(&mut out, 0, hook_id);
    put_u64(&mut out, 8, cgroup_id);
    out
}

/// `struct tpc_ph_list`.
pub fn ph_list(ids: &[u32]) -> Vec<u8> {
    let mut out = vec![0u8; 516];
    put_u32(&mut out, 0, ids.len().min(MAX_PH_LIST) as u32);
    for (i, id) in ids.iter().take(MAX_PH_LIST).enumerate() {
        put_u32(&mut out, 4 + 4 * i, *id);
    }
    out
}

/// `enum tpc_filter_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FilterKind {
    Binary = 1,
    Pids = 2,
    Namespaces = 3,
    Caps = 4,
    NsChanges = 5,
    CapChanges = 6,
    Never = 16,
    Always = 17,
    Int = 18,
    IntRange = 19,
    IntSet = 20,
    Text = 21,
    InetFamily = 22,
    InetAddr = 23,
    InetPort = 24,
    InetPriv = 25,
    InetProto = 26,
    InetState = 27,
}

pub mod filter_flags {
    pub const NEGATE: u8 = 1;
    pub const SIGNED: u8 = 2;
    pub const FOLLOW: u8 = 4;
    pub const PARENT: u8 = 8;
    pub const NSPID: u8 = 16;
    pub const HOST: u8 = 32;
    pub const NSCAP: u8 = 64;
    pub const REPLACES: u8 = 128;
}

/// `struct tpc_filter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelFilter {
    pub kind: FilterKind,
    pub op: u8,
    pub slot: u8,
    pub bits: u8,
    pub flags: u8,
    pub aux: u8,
    pub selector: u8,
    pub set_id: u32,
    pub bit: u32,
    /// Inline values (at most [`MAX_INLINE`]); `count` is their number
    /// (ranges: pairs).
    pub values: Vec<u64>,
    pub count: u8,
    pub mask: u64,
}

impl KernelFilter {
    pub fn new(kind: FilterKind, selector: u8) -> Self {
        KernelFilter {
            kind,
            op: 0,
            slot: 0,
            bits: 0,
            flags: 0,
            aux: 0,
            selector,
            set_id: 0,
            bit: 0,
            values: Vec::new(),
            count: 0,
            mask: 0,
        }
    }

    pub fn encode(&self, out: &mut [u8]) {
        out[0] = self.kind as u8;
        out[1] = self.op;
        out[2] = self.slot;
        out[3] = self.count;
        out[4] = self.bits;
        out[5] = self.flags;
        out[6] = self.aux;
        out[7] = self.selector;
        put_u32(out, 8, self.set_id);
        put_u32(out, 12, self.bit);
        for (i, v) in self.values.iter().take(MAX_INLINE).enumerate() {
            put_u64(out, 16 + 8 * i, *v);
        }
        put_u64(out, 80, self.mask);
    }
}

pub const RATE_NONE: u8 = 0xff;

/// `struct tpc_sel_action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KernelAction {
    pub post: bool,
    pub signal: u8,
    pub rate_interval_ns: u64,
    /// 0 thread, 1 process, 2 global; `None` without rateLimit.
    pub rate_scope: Option<u8>,
    /// Where the selector's filters start in the table.
    pub first_filter: u8,
    /// Its process filters, then its argument filters.
    pub nproc: u8,
    pub nargs: u8,
    /// Override: the hooked call returns this.
    pub override_return: Option<i32>,
    /// `matchReturnArgs` filters, after the argument filters.
    pub nret: u8,
    /// `matchReturnActions` has NoPost.
    pub ret_nopost: bool,
    /// The signal `matchReturnActions` sends (0: none).
    pub ret_signal: u8,
}

impl KernelAction {
    pub fn encode(&self, out: &mut [u8]) {
        put_u64(out, 0, self.rate_interval_ns);
        out[8] = u8::from(self.post);
        out[9] = self.signal;
        out[10] = self.rate_scope.unwrap_or(RATE_NONE);
        out[11] = self.first_filter;
        out[12] = self.nproc;
        out[13] = self.nargs;
        out[14] = self.nret;
        out[15] = self.ret_signal;
        let mut flags = if self.ret_nopost { ACT_RET_NOPOST } else { 0 };
        if let Some(value) = self.override_return {
            put_u32(out, 16, value as u32);
            flags |= ACT_OVERRIDE;
        }
        put_u32(out, 20, flags);
    }
}

/// `tpc_sel_action.action_flags`: Override.
pub const ACT_OVERRIDE: u32 = 1;
/// `tpc_sel_action.action_flags`: `matchReturnActions` has NoPost.
pub const ACT_RET_NOPOST: u32 = 2;

pub const PH_MONITOR: u32 = 1;
/// Some filter replaces the selector's result (`CapabilitiesGained`).
pub const PH_REPLACES: u32 = 2;
/// A return probe decides whether the policy's events post.
pub const PH_RETURNS: u32 = 4;

/// `struct tpc_policy_hook`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct KernelPolicyHook {
    pub policy_id: u32,
    pub monitor: bool,
    /// The slot of each exported argument, in export order.
    pub arg_slots: Vec<u8>,
    /// One per selector; empty: every hit posts.
    pub actions: Vec<KernelAction>,
    pub filters: Vec<KernelFilter>,
    /// The hook has a return probe (`PH_RETURNS`).
    pub returns: bool,
}

impl KernelPolicyHook {
    pub fn encode(&self) -> Vec<u8> {
        let size = layout("tpc_policy_hook").map_or(2960, |l| l.size);
        let mut out = vec![0u8; size];
        put_u32(&mut out, 0, self.policy_id);
        put_u16(&mut out, 4, self.actions.len().min(MAX_SELECTORS) as u16);
        put_u16(&mut out, 6, self.filters.len().min(MAX_FILTERS) as u16);
        let replaces = self
            .filters
            .iter()
            .any(|f| f.flags & filter_flags::REPLACES != 0);
        put_u32(
            &mut out,
            8,
            if self.monitor { PH_MONITOR } else { 0 }
                | if replaces { PH_REPLACES } else { 0 }
                | if self.returns { PH_RETURNS } else { 0 },
        );
        out[12] = self.arg_slots.len().min(MAX_POLICY_ARGS) as u8;
        for (i, s) in self.arg_slots.iter().take(MAX_POLICY_ARGS).enumerate() {
            out[13 + i] = *s;
        }
        let actions = offset_of("tpc_policy_hook", "actions");
        let action_size = layout("tpc_sel_action").map_or(24, |l| l.size);
        for (i, a) in self.actions.iter().take(MAX_SELECTORS).enumerate() {
            a.encode(&mut out[actions + action_size * i..actions + action_size * (i + 1)]);
        }
        let filters = offset_of("tpc_policy_hook", "filters");
        for (i, f) in self.filters.iter().take(MAX_FILTERS).enumerate() {
            f.encode(&mut out[filters + 88 * i..filters + 88 * (i + 1)]);
        }
        out
    }
}

/// `struct tpc_int_key`.
pub fn int_key(set_id: u32, value: u64) -> Vec<u8> {
    let mut out = vec![0u8; 16];
    put_u32(&mut out, 0, set_id);
    put_u64(&mut out, 8, value);
    out
}

/// The string-set bucket (index into [`STRING_BUCKETS`]) a string of
/// `len` bytes lives in.
pub fn string_bucket(len: usize) -> Option<usize> {
    STRING_BUCKETS.iter().position(|size| len <= *size)
}

/// `struct tpc_str_key_<N>` for the bucket `bytes` belongs in.
pub fn str_key(set_id: u32, bytes: &[u8]) -> Option<(usize, Vec<u8>)> {
    let bucket = string_bucket(bytes.len())?;
    let mut out = vec![0u8; 8 + STRING_BUCKETS[bucket]];
    put_u32(&mut out, 0, set_id);
    put_u32(&mut out, 4, bytes.len() as u32);
    out[8..8 + bytes.len()].copy_from_slice(bytes);
    Some((bucket, out))
}

/// `struct tpc_lpm_str_key` for a stored prefix (at most [`LPM_DATA`] bytes).
pub fn lpm_str_key(set_id: u32, bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() > LPM_DATA {
        return None;
    }
    let mut out = vec![0u8; 8 + LPM_DATA];
    put_u32(&mut out, 0, 32 + 8 * bytes.len() as u32);
    put_u32(&mut out, 4, set_id);
    out[8..8 + bytes.len()].copy_from_slice(bytes);
    Some(out)
}

/// `struct tpc_lpm_v4_key` / `tpc_lpm_v6_key`.
pub fn lpm_addr_key(set_id: u32, addr: &[u8], prefix: u8) -> Vec<u8> {
    let mut out = vec![0u8; 8 + addr.len()];
    put_u32(&mut out, 0, 32 + u32::from(prefix));
    put_u32(&mut out, 4, set_id);
    out[8..].copy_from_slice(addr);
    out
}

/// `struct tpc_substr_key` and `struct tpc_substr_value`.
pub fn substr_entry(set_id: u32, index: u32, bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    if bytes.len() > SUBSTR_MAX {
        return None;
    }
    let mut key = vec![0u8; 8];
    put_u32(&mut key, 0, set_id);
    put_u32(&mut key, 4, index);
    let mut value = vec![0u8; 128];
    put_u32(&mut value, 0, bytes.len() as u32);
    value[4..4 + bytes.len()].copy_from_slice(bytes);
    Some((key, value))
}

/// `struct tpc_follow_key`: the path, zero-padded (at most 255 bytes).
pub fn follow_key(path: &[u8]) -> Option<Vec<u8>> {
    if path.len() >= BINARY_LEN {
        return None;
    }
    let mut out = vec![0u8; BINARY_LEN];
    out[..path.len()].copy_from_slice(path);
    Some(out)
}

/// `struct tpc_follow_value`.
pub fn follow_value(bits: &[u64; 4]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    for (i, w) in bits.iter().enumerate() {
        put_u64(&mut out, 8 * i, *w);
    }
    out
}

/// `struct tpc_config`.
pub fn config(host_ns: &[u32; 10]) -> Vec<u8> {
    let mut out = vec![0u8; 48];
    for (i, n) in host_ns.iter().enumerate() {
        put_u32(&mut out, 4 * i, *n);
    }
    out
}

pub mod post_flags {
    pub const POSTED: u8 = 1;
    pub const NOPOST: u8 = 2;
    pub const RATE_LIMITED: u8 = 4;
    pub const SIGNALED: u8 = 8;
    pub const OVERRIDDEN: u8 = 16;
    /// Entry records: the event waits for the return probe's record.
    pub const AWAIT_RETURN: u8 = 32;
    /// Return records: no selector's `matchReturnArgs` passed.
    pub const RET_FAILED: u8 = 64;
}

pub mod hook_event_flags {
    pub const TRUNCATED: u16 = 1;
    pub const NO_PROCESS: u16 = 2;
}

/// `tpc_post.selector` of a policy hook without selectors.
pub const NO_SELECTOR: u8 = 0xff;

fn put_u16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_consistent() {
        for l in LAYOUTS {
            let mut end = 0;
            for (name, offset, size) in l.fields {
                assert!(*offset >= end, "{}.{name} overlaps", l.name);
                end = offset + size;
            }
            assert!(end <= l.size, "{} fields past its size", l.name);
        }
        assert_eq!(
            layout("tpc_policy_hook").map(|l| l.size),
            Some(24 + 24 * MAX_SELECTORS + 88 * MAX_FILTERS)
        );
    }

    #[test]
    fn buckets_cover_the_longest_argument() {
        assert_eq!(string_bucket(0), Some(0));
        assert_eq!(string_bucket(65), Some(1));
        assert_eq!(string_bucket(ARG_MAX), Some(3));
        assert_eq!(string_bucket(ARG_MAX + 1), None);
    }
}
