//! From a lowered hook to kernel map entries: the policy-hook table, the
//! value-set entries and the followChildren registrations, with ids the
//! caller assigns. The runtime calls it with global ids when it loads a
//! bundle; `tpc inspect` calls it with ids from 1 to count entries.

use crate::layout::{
    self, FilterKind, KernelAction, KernelFilter, KernelPolicyHook, KernelSlot, SlotRead,
    filter_flags as ff,
};
use crate::model::{
    ArgRead, ArgSource, ArgTest, BinaryMatch, HookUnit, IntCompare, ProcessFilter, RateLimitScope,
    TextMatch,
};

/// Names of the maps of the sensor object that hold value sets.
pub mod maps {
    pub const INT_SET: &str = "tpc_int_set";
    pub const STR_SETS: [&str; 4] = [
        "tpc_str_set_64",
        "tpc_str_set_256",
        "tpc_str_set_1024",
        "tpc_str_set_4096",
    ];
    pub const LPM_STR: &str = "tpc_lpm_str";
    pub const LPM_V4: &str = "tpc_lpm_v4";
    pub const LPM_V6: &str = "tpc_lpm_v6";
    pub const SUBSTR: &str = "tpc_substr";
    pub const FOLLOW_BINS: &str = "tpc_follow_bins";
    pub const HOOKS: &str = "tpc_hooks";
    pub const TP_HOOKS: &str = "tpc_tp_hooks";
    pub const RAW_HOOKS: &str = "tpc_raw_hooks";
    pub const PROG_HOOKS: &str = "tpc_prog_hooks";
    pub const LISTS: &str = "tpc_lists";
    pub const POLICY_HOOKS: &str = "tpc_policy_hooks";
    pub const RATE: &str = "tpc_rate";
    pub const CONFIG: &str = "tpc_config";
    pub const POLICY_DROPS: &str = "tpc_policy_drops";
    pub const PROCESSES: &str = "tpc_processes";
    pub const EVENTS: &str = "tpc_events";
}

/// One entry to write into a map of the sensor object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapWrite {
    pub map: &'static str,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// A binary whose exec sets a followChildren bit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowRegistration {
    pub path: String,
    pub bit: u32,
}

/// A hook turned into kernel entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelHookEntries {
    /// The policy-hook table (its `policy_id` is the caller's).
    pub policy_hook: KernelPolicyHook,
    /// Value-set entries.
    pub writes: Vec<MapWrite>,
    pub follow: Vec<FollowRegistration>,
}

/// Why a hook does not fit the kernel tables.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    #[error("{what}: {count} is more than the kernel tables hold ({max})")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("a value of {len} bytes is longer than the {max} bytes a {what} key holds")]
    ValueTooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("argument {index} is not declared by the hook")]
    NoSuchArgument { index: u32 },
    #[error("{0}")]
    Slot(String),
    #[error("no followChildren bit left (at most {max} across loaded policies)")]
    NoFollowBit { max: usize },
}

/// Where ids come from.
pub trait IdSource {
    /// A fresh value-set id (never 0).
    fn set_id(&mut self) -> u32;
    /// A free followChildren bit.
    fn follow_bit(&mut self) -> Option<u32>;
}

/// Ids counted from 1, for inspection.
#[derive(Debug, Default)]
pub struct CountingIds {
    pub sets: u32,
    pub bits: u32,
}

impl IdSource for CountingIds {
    fn set_id(&mut self) -> u32 {
        self.sets += 1;
        self.sets
    }

    fn follow_bit(&mut self) -> Option<u32> {
        let bit = self.bits;
        self.bits += 1;
        (bit < layout::FOLLOW_BITS as u32).then_some(bit)
    }
}

/// The kernel slot an argument needs. `offset` is the record offset of a
/// tracepoint field (the caller reads it from the live format) or the
/// index of a raw tracepoint argument; `size_slot` is the slot of the
/// argument a `CharBuf` takes its size from.
pub fn slot_for(read: &ArgRead, offset: u16, size_slot: Option<u8>) -> KernelSlot {
    let max = layout::ARG_MAX as u16;
    let (read, width, signed, max_len) = match read {
        ArgRead::Int { width, signed } => (SlotRead::Int, *width, *signed, 0),
        ArgRead::Syscall64 => (SlotRead::Syscall64, 8, false, 0),
        ArgRead::UserString => (SlotRead::UserString, 8, false, max),
        ArgRead::KernelString => (SlotRead::KernelString, 8, false, max),
        ArgRead::DataLocString => (SlotRead::DataLoc, 4, false, max),
        ArgRead::CharBuf { .. } => (SlotRead::CharBuf, 8, false, max),
        ArgRead::CharIovec { .. } => (SlotRead::CharIovec, 8, false, max),
        ArgRead::ConstBuf { len } => (
            SlotRead::ConstBuf,
            0,
            false,
            u16::try_from(*len).unwrap_or(max).min(max),
        ),
        ArgRead::UserSockaddr => (SlotRead::Sockaddr, 8, false, 0),
        ArgRead::FilePath => (SlotRead::File, 8, false, max),
        ArgRead::PathPath => (SlotRead::Path, 8, false, max),
        ArgRead::FdPath { width, signed } => (SlotRead::Fd, *width, *signed, max),
        ArgRead::BprmPath => (SlotRead::Bprm, 8, false, max),
        ArgRead::DentryPath => (SlotRead::Dentry, 8, false, max),
        ArgRead::Sock => (SlotRead::Sock, 8, false, 0),
        ArgRead::Socket => (SlotRead::Socket, 8, false, 0),
        ArgRead::Cred => (SlotRead::Cred, 8, false, 0),
        ArgRead::UserNamespace => (SlotRead::UserNamespace, 8, false, 0),
        ArgRead::Kiocb => (SlotRead::Kiocb, 8, false, max),
        ArgRead::Filename => (SlotRead::Filename, 8, false, max),
        ArgRead::NetDevice => (SlotRead::NetDevice, 8, false, 0),
        ArgRead::Module => (SlotRead::Module, 8, false, 0),
        ArgRead::LoadInfo => (SlotRead::LoadInfo, 8, false, 0),
        ArgRead::BpfAttr => (SlotRead::BpfAttr, 8, false, 0),
        ArgRead::BpfProg => (SlotRead::BpfProg, 8, false, 0),
        ArgRead::BpfMap => (SlotRead::BpfMap, 8, false, 0),
        ArgRead::PerfEvent => (SlotRead::PerfEvent, 8, false, 0),
        ArgRead::Skb => (SlotRead::Skb, 8, false, 0),
    };
    KernelSlot {
        offset,
        read,
        width,
        signed,
        size_slot,
        max_len,
        at_return: false,
        return_copy: false,
        usdt: None,
    }
}

/// Turns a hook into kernel entries. `slot_of(i)` gives the hook slot of
/// the hook's `i`-th argument (the caller merges slots across policies).
pub fn translate_hook(
    hook: &HookUnit,
    policy_id: u32,
    monitor: bool,
    slot_of: &dyn Fn(usize) -> Result<u8, String>,
    ids: &mut dyn IdSource,
) -> Result<KernelHookEntries, TranslateError> {
    if hook.selectors.len() > layout::MAX_SELECTORS {
        return Err(TranslateError::TooMany {
            what: "selectors",
            count: hook.selectors.len(),
            max: layout::MAX_SELECTORS,
        });
    }
    let mut arg_slots = Vec::new();
    for (i, arg) in hook.args.iter().enumerate() {
        if !arg.hidden {
            arg_slots.push(slot_of(i).map_err(TranslateError::Slot)?);
        }
    }
    if arg_slots.len() > layout::MAX_POLICY_ARGS {
        return Err(TranslateError::TooMany {
            what: "exported arguments",
            count: arg_slots.len(),
            max: layout::MAX_POLICY_ARGS,
        });
    }
    let mut entries = KernelHookEntries {
        policy_hook: KernelPolicyHook {
            policy_id,
            monitor,
            arg_slots,
            actions: Vec::new(),
            filters: Vec::new(),
            returns: hook.returns(),
        },
        writes: Vec::new(),
        follow: Vec::new(),
    };
    for (s, selector) in hook.selectors.iter().enumerate() {
        let sel = s as u8;
        let action = &selector.action;
        entries.policy_hook.actions.push(KernelAction {
            post: action.post,
            signal: action.signal.map_or(0, |s| u8::try_from(s).unwrap_or(0)),
            override_return: action.override_return,
            rate_interval_ns: action.rate_limit.map_or(0, |r| r.interval_ns),
            rate_scope: action.rate_limit.map(|r| match r.scope {
                RateLimitScope::Thread => 0,
                RateLimitScope::Process => 1,
                RateLimitScope::Global => 2,
            }),
            ..KernelAction::default()
        });
        let first = entries.policy_hook.filters.len();
        for filter in &selector.process {
            let f = process_filter(filter, sel, ids, &mut entries)?;
            entries.policy_hook.filters.push(f);
        }
        let nproc = entries.policy_hook.filters.len() - first;
        for filter in &selector.args {
            let index = filter.arg as usize;
            if index >= hook.args.len() {
                return Err(TranslateError::NoSuchArgument { index: filter.arg });
            }
            let slot = slot_of(index).map_err(TranslateError::Slot)?;
            let mut f = arg_filter(&filter.test, sel, ids, &mut entries.writes)?;
            f.slot = slot;
            if filter.replaces_result {
                f.flags |= ff::REPLACES;
            }
            entries.policy_hook.filters.push(f);
        }
        let nargs = entries.policy_hook.filters.len() - first - nproc;
        if !selector.return_args.is_empty() && hook.return_arg.is_none() {
            return Err(TranslateError::NoSuchArgument { index: 0 });
        }
        for filter in &selector.return_args {
            // the return value's slot comes after the arguments'
            let slot = slot_of(hook.args.len()).map_err(TranslateError::Slot)?;
            let mut f = arg_filter(&filter.test, sel, ids, &mut entries.writes)?;
            f.slot = slot;
            entries.policy_hook.filters.push(f);
        }
        let nret = entries.policy_hook.filters.len() - first - nproc - nargs;
        if let Some(action) = entries.policy_hook.actions.last_mut() {
            action.first_filter = u8::try_from(first).unwrap_or(u8::MAX);
            action.nproc = u8::try_from(nproc).unwrap_or(u8::MAX);
            action.nargs = u8::try_from(nargs).unwrap_or(u8::MAX);
            action.nret = u8::try_from(nret).unwrap_or(u8::MAX);
            if let Some(ret) = &selector.return_action {
                action.ret_nopost = !ret.post;
                action.ret_signal = ret.signal.map_or(0, |s| u8::try_from(s).unwrap_or(0));
            }
        }
    }
    if entries.policy_hook.filters.len() > layout::MAX_FILTERS {
        return Err(TranslateError::TooMany {
            what: "filters in the selectors of one hook",
            count: entries.policy_hook.filters.len(),
            max: layout::MAX_FILTERS,
        });
    }
    Ok(entries)
}

fn inline(
    values: impl IntoIterator<Item = u64>,
    f: &mut KernelFilter,
    what: &'static str,
) -> Result<(), TranslateError> {
    f.values = values.into_iter().collect();
    if f.values.len() > layout::MAX_INLINE {
        return Err(TranslateError::TooMany {
            what,
            count: f.values.len(),
            max: layout::MAX_INLINE,
        });
    }
    f.count = f.values.len() as u8;
    Ok(())
}

fn negate(flag: bool) -> u8 {
    if flag { ff::NEGATE } else { 0 }
}

const SET_MEMBER: [u8; 1] = [1];

fn string_entry(
    set_id: u32,
    bytes: &[u8],
    writes: &mut Vec<MapWrite>,
) -> Result<(), TranslateError> {
    let (bucket, key) = layout::str_key(set_id, bytes).ok_or(TranslateError::ValueTooLong {
        what: "string set",
        len: bytes.len(),
        max: layout::ARG_MAX,
    })?;
    writes.push(MapWrite {
        map: maps::STR_SETS[bucket],
        key,
        value: SET_MEMBER.to_vec(),
    });
    Ok(())
}

fn lpm_entry(set_id: u32, bytes: &[u8], writes: &mut Vec<MapWrite>) -> Result<(), TranslateError> {
    let key = layout::lpm_str_key(set_id, bytes).ok_or(TranslateError::ValueTooLong {
        what: "prefix trie",
        len: bytes.len(),
        max: layout::LPM_DATA,
    })?;
    writes.push(MapWrite {
        map: maps::LPM_STR,
        key,
        value: SET_MEMBER.to_vec(),
    });
    Ok(())
}

fn reversed(value: &str) -> Vec<u8> {
    value.bytes().rev().collect()
}

fn process_filter(
    filter: &ProcessFilter,
    sel: u8,
    ids: &mut dyn IdSource,
    entries: &mut KernelHookEntries,
) -> Result<KernelFilter, TranslateError> {
    Ok(match filter {
        ProcessFilter::Binaries {
            parent,
            matching,
            negate: neg,
            values,
            follow_children,
        } => {
            let mut f = KernelFilter::new(FilterKind::Binary, sel);
            f.flags = negate(*neg) | if *parent { ff::PARENT } else { 0 };
            f.set_id = ids.set_id();
            match matching {
                BinaryMatch::Exact => {
                    f.aux = 0;
                    for v in values {
                        string_entry(f.set_id, v.as_bytes(), &mut entries.writes)?;
                    }
                    if *follow_children {
                        let bit = ids.follow_bit().ok_or(TranslateError::NoFollowBit {
                            max: layout::FOLLOW_BITS,
                        })?;
                        f.flags |= ff::FOLLOW;
                        f.bit = bit;
                        for v in values {
                            entries.follow.push(FollowRegistration {
                                path: v.clone(),
                                bit,
                            });
                        }
                    }
                }
                BinaryMatch::Prefix => {
                    f.aux = 1;
                    for v in values {
                        lpm_entry(f.set_id, v.as_bytes(), &mut entries.writes)?;
                    }
                }
                BinaryMatch::Postfix => {
                    f.aux = 2;
                    for v in values {
                        lpm_entry(f.set_id, &reversed(v), &mut entries.writes)?;
                    }
                }
            }
            f
        }
        ProcessFilter::Pids {
            negate: neg,
            values,
            follow_forks,
            namespace_pid,
        } => {
            let mut f = KernelFilter::new(FilterKind::Pids, sel);
            f.flags = negate(*neg)
                | if *follow_forks { ff::FOLLOW } else { 0 }
                | if *namespace_pid { ff::NSPID } else { 0 };
            inline(
                values.iter().map(|v| u64::from(*v)),
                &mut f,
                "matchPIDs values",
            )?;
            f
        }
        ProcessFilter::Namespaces {
            kind,
            negate: neg,
            host,
            inums,
        } => {
            let mut f = KernelFilter::new(FilterKind::Namespaces, sel);
            f.aux = *kind;
            f.flags = negate(*neg) | if *host { ff::HOST } else { 0 };
            inline(
                inums.iter().map(|v| u64::from(*v)),
                &mut f,
                "matchNamespaces values",
            )?;
            f
        }
        ProcessFilter::Capabilities {
            negate: neg,
            set,
            namespace_only,
            mask,
        }
        | ProcessFilter::CapabilityChanges {
            negate: neg,
            set,
            namespace_only,
            mask,
        } => {
            let kind = if matches!(filter, ProcessFilter::Capabilities { .. }) {
                FilterKind::Caps
            } else {
                FilterKind::CapChanges
            };
            let mut f = KernelFilter::new(kind, sel);
            f.aux = *set;
            f.flags = negate(*neg) | if *namespace_only { ff::NSCAP } else { 0 };
            f.mask = *mask;
            f
        }
        ProcessFilter::NamespaceChanges { negate: neg, kinds } => {
            let mut f = KernelFilter::new(FilterKind::NsChanges, sel);
            f.flags = negate(*neg);
            f.mask = u64::from(*kinds);
            f
        }
    })
}

fn arg_filter(
    test: &ArgTest,
    sel: u8,
    ids: &mut dyn IdSource,
    writes: &mut Vec<MapWrite>,
) -> Result<KernelFilter, TranslateError> {
    Ok(match test {
        ArgTest::Never => KernelFilter::new(FilterKind::Never, sel),
        ArgTest::Always => KernelFilter::new(FilterKind::Always, sel),
        ArgTest::Int {
            bits,
            signed,
            compare,
            values,
        } => {
            let mut f = KernelFilter::new(FilterKind::Int, sel);
            f.bits = *bits;
            f.flags = if *signed { ff::SIGNED } else { 0 };
            f.op = match compare {
                IntCompare::Equal => 0,
                IntCompare::DifferAny => 1,
                IntCompare::Greater => 2,
                IntCompare::Less => 3,
                IntCompare::Mask => 4,
            };
            inline(values.iter().copied(), &mut f, "inline integer values")?;
            f
        }
        ArgTest::IntRange {
            bits,
            signed,
            negate: neg,
            ranges,
        } => {
            let mut f = KernelFilter::new(FilterKind::IntRange, sel);
            f.bits = *bits;
            f.flags = negate(*neg) | if *signed { ff::SIGNED } else { 0 };
            inline(
                ranges.iter().flat_map(|(lo, hi)| [*lo, *hi]),
                &mut f,
                "range bounds",
            )?;
            f.count = ranges.len() as u8;
            f
        }
        ArgTest::IntSet {
            bits,
            negate: neg,
            members,
        } => {
            let mut f = KernelFilter::new(FilterKind::IntSet, sel);
            f.bits = *bits;
            f.flags = negate(*neg);
            f.set_id = ids.set_id();
            for m in members {
                writes.push(MapWrite {
                    map: maps::INT_SET,
                    key: layout::int_key(f.set_id, *m),
                    value: SET_MEMBER.to_vec(),
                });
            }
            f
        }
        ArgTest::Text {
            matching,
            negate: neg,
            values,
        } => {
            let mut f = KernelFilter::new(FilterKind::Text, sel);
            f.flags = negate(*neg);
            f.set_id = ids.set_id();
            match matching {
                TextMatch::Equal => {
                    f.op = 0;
                    for v in values {
                        string_entry(f.set_id, v.as_bytes(), writes)?;
                    }
                }
                TextMatch::Prefix => {
                    f.op = 1;
                    for v in values {
                        lpm_entry(f.set_id, v.as_bytes(), writes)?;
                    }
                }
                TextMatch::Postfix => {
                    f.op = 2;
                    for v in values {
                        lpm_entry(f.set_id, &reversed(v), writes)?;
                    }
                }
                TextMatch::SubString | TextMatch::SubStringIgnoreCase => {
                    f.op = if *matching == TextMatch::SubString {
                        3
                    } else {
                        4
                    };
                    if values.len() > usize::from(u8::MAX) {
                        return Err(TranslateError::TooMany {
                            what: "SubString values",
                            count: values.len(),
                            max: usize::from(u8::MAX),
                        });
                    }
                    for (i, v) in values.iter().enumerate() {
                        let bytes: Vec<u8> = if *matching == TextMatch::SubStringIgnoreCase {
                            v.bytes().map(|b| b.to_ascii_lowercase()).collect()
                        } else {
                            v.as_bytes().to_vec()
                        };
                        let (key, value) = layout::substr_entry(f.set_id, i as u32, &bytes).ok_or(
                            TranslateError::ValueTooLong {
                                what: "SubString",
                                len: bytes.len(),
                                max: layout::SUBSTR_MAX,
                            },
                        )?;
                        writes.push(MapWrite {
                            map: maps::SUBSTR,
                            key,
                            value,
                        });
                    }
                    f.count = values.len() as u8;
                }
            }
            f
        }
        ArgTest::InetFamily { families } => {
            let mut f = KernelFilter::new(FilterKind::InetFamily, sel);
            inline(
                families.iter().map(|v| u64::from(*v)),
                &mut f,
                "Family values",
            )?;
            f
        }
        ArgTest::InetAddress {
            negate: neg,
            v4,
            v6,
            destination,
        } => {
            let mut f = KernelFilter::new(FilterKind::InetAddr, sel);
            f.flags = negate(*neg);
            f.aux = u8::from(*destination);
            f.set_id = ids.set_id();
            for (addr, prefix) in v4 {
                writes.push(MapWrite {
                    map: maps::LPM_V4,
                    key: layout::lpm_addr_key(f.set_id, addr, *prefix),
                    value: SET_MEMBER.to_vec(),
                });
            }
            for (addr, prefix) in v6 {
                writes.push(MapWrite {
                    map: maps::LPM_V6,
                    key: layout::lpm_addr_key(f.set_id, addr, *prefix),
                    value: SET_MEMBER.to_vec(),
                });
            }
            f
        }
        ArgTest::InetPort {
            negate: neg,
            ports,
            destination,
        } => {
            let mut f = KernelFilter::new(FilterKind::InetPort, sel);
            f.flags = negate(*neg);
            f.aux = u8::from(*destination);
            f.set_id = ids.set_id();
            for p in ports {
                writes.push(MapWrite {
                    map: maps::INT_SET,
                    key: layout::int_key(f.set_id, u64::from(*p)),
                    value: SET_MEMBER.to_vec(),
                });
            }
            f
        }
        ArgTest::InetPrivilegedPort {
            negate: neg,
            destination,
        } => {
            let mut f = KernelFilter::new(FilterKind::InetPriv, sel);
            f.flags = negate(*neg);
            f.aux = u8::from(*destination);
            f
        }
        ArgTest::InetProtocol { protocols } => {
            let mut f = KernelFilter::new(FilterKind::InetProto, sel);
            inline(
                protocols.iter().map(|v| u64::from(*v)),
                &mut f,
                "Protocol values",
            )?;
            f
        }
        ArgTest::InetState { states } => {
            let mut f = KernelFilter::new(FilterKind::InetState, sel);
            inline(states.iter().map(|v| u64::from(*v)), &mut f, "State values")?;
            f
        }
    })
}

/// The argument a hook's `CharBuf` (or `CharIovec`: its count) at `index`
/// takes its size from, if any.
pub fn size_arg(hook: &HookUnit, index: usize) -> Option<usize> {
    let arg = hook.args.get(index)?;
    if arg.return_copy {
        return None; // its size is the return value
    }
    match arg.read {
        ArgRead::CharBuf { size_arg } | ArgRead::CharIovec { size_arg } => Some(size_arg as usize),
        _ => None,
    }
}

/// A short form of an argument's source, for messages.
pub fn describe_source(source: &ArgSource) -> String {
    match source {
        ArgSource::Field { index, name } => format!("field {index} `{name}`"),
        ArgSource::RawArg { index } => format!("raw argument {index}"),
        ArgSource::Register { name, .. } => format!("register {name}"),
        ArgSource::Return { .. } => "the return value".into(),
        ArgSource::Usdt { index } => format!("USDT argument {index}"),
    }
}
