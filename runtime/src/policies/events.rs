//! Hook records to events: one Tetragon `process_tracepoint` event per
//! policy that posted, with the policy's arguments (typed as Tetragon
//! exports them), `policy_name`, `action`, `message`, `tags`, and the
//! process and parent from the process table (namespaces and capabilities
//! as the hook saw them).

use tpc_bundle::{
    AttachPoint,
    layout::post_flags,
    model::{ArgExport, ArgRead, ArgSpec},
};
use tpc_events::{
    ArgValue, Base64Bytes, Capability, Event, JsonInt, KernelModule, KprobeAction, KprobeArgument,
    KprobeBpfAttr, KprobeBpfMap, KprobeBpfProg, KprobeCapability, KprobeLinuxBinprm, KprobeNetDev,
    KprobePath, KprobePerfEvent, KprobeSkb, KprobeSock, KprobeSockaddr, KprobeTruncatedBytes,
    Namespace, ProcessCredentials, ProcessLsm, ProcessUprobe, ProcessUsdt, SecureBits, SyscallId,
    Timestamp, UserNamespace,
};

use super::PolicyEngine;
use crate::{
    model::ProcessInfo,
    process_table::ProcessTable,
    wire::{HookRecord, RecordFlags},
};

/// One posted event of one policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyEvent {
    pub event: Event,
    /// The runtime's policy id (for drop counters).
    pub policy: u16,
    pub policy_name: String,
    /// Whether a signal was sent to the process for this policy.
    pub signaled: bool,
    /// One line like `tetra getevents -o compact`.
    pub compact: String,
}

const COMPAT_BIT: u64 = 0x8000_0000;

/// The error a `char_iovec` slot's original length stands for
/// (`TPC_ORIG_*` in `bpf-programs/policy_maps.h`), by Tetragon's name.
fn iovec_error(read: &ArgRead, original: u32) -> Option<&'static str> {
    match (read, original) {
        (ArgRead::CharIovec { .. }, 0xffff_fffe) => Some("CharBufErrorPageFault"),
        (ArgRead::CharIovec { .. }, 0xffff_fffd) => Some("CharBufErrorBufTooLarge"),
        _ => None,
    }
}

/// The event argument of one exported slot.
pub fn argument(record: &HookRecord, slot: u8, spec: &ArgSpec) -> KprobeArgument {
    let slot = usize::from(slot);
    let value = record.values.get(slot).copied().unwrap_or(0);
    let bytes = record.slot_bytes(slot);
    let original = record.slots.get(slot).map_or(0, |s| s.original_len);
    let arg = match spec.export {
        ArgExport::Int => KprobeArgument::int(value as i32),
        ArgExport::Uint => KprobeArgument::uint(value as u32),
        ArgExport::Long => KprobeArgument::long(value as i64),
        ArgExport::Size => KprobeArgument::size(value),
        ArgExport::String => KprobeArgument::string(String::from_utf8_lossy(bytes).into_owned()),
        ArgExport::Bytes => {
            if let Some(error) = iovec_error(&spec.read, original) {
                // Tetragon puts the error's name where the bytes go
                KprobeArgument::bytes(error.as_bytes())
            } else if u64::from(original) > bytes.len() as u64 {
                KprobeArgument::new(ArgValue::TruncatedBytes(Box::new(KprobeTruncatedBytes {
                    bytes_arg: Some(Base64Bytes::encode(bytes)),
                    orig_size: Some(JsonInt::new(u64::from(original))),
                    ..KprobeTruncatedBytes::default()
                })))
            } else {
                KprobeArgument::bytes(bytes)
            }
        }
        ArgExport::File => KprobeArgument::file(String::from_utf8_lossy(bytes).into_owned()),
        ArgExport::Path => KprobeArgument::new(ArgValue::Path(Box::new(KprobePath {
            path: Some(String::from_utf8_lossy(bytes).into_owned()),
            ..KprobePath::default()
        }))),
        ArgExport::LinuxBinprm => {
            KprobeArgument::new(ArgValue::LinuxBinprm(Box::new(KprobeLinuxBinprm {
                path: Some(String::from_utf8_lossy(bytes).into_owned()),
                ..KprobeLinuxBinprm::default()
            })))
        }
        ArgExport::SyscallId => {
            let compat = value & COMPAT_BIT != 0;
            let abi = match (cfg!(target_arch = "aarch64"), compat) {
                (false, false) => "x64",
                (false, true) => "i386",
                (true, false) => "arm64",
                (true, true) => "arm32",
            };
            KprobeArgument::new(ArgValue::SyscallId(Box::new(SyscallId {
                id: Some(JsonInt::new((value & !COMPAT_BIT) as u32)),
                abi: Some(abi.to_owned()),
                ..SyscallId::default()
            })))
        }
        ArgExport::Sockaddr => {
            let family = (value & 0xffff) as u16;
            let port = ((value >> 16) & 0xffff) as u32;
            let ip = matches!(family, 2 | 10);
            let addr = match (family, bytes.len()) {
                (2, 4) => Some(
                    std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
                ),
                (10, 16) => {
                    let mut octets = [0u8; 16];
                    octets.copy_from_slice(bytes);
                    Some(std::net::Ipv6Addr::from(octets).to_string())
                }
                _ => None,
            };
            KprobeArgument::new(ArgValue::Sockaddr(Box::new(KprobeSockaddr {
                family: Some(family_name(family)),
                addr,
                port: ip.then(|| JsonInt::new(port)),
                ..KprobeSockaddr::default()
            })))
        }
        ArgExport::Sock => sock_argument(value, bytes),
        ArgExport::Skb => skb_argument(value, bytes),
        ArgExport::Cred => cred_argument(bytes),
        ArgExport::UserNamespace => KprobeArgument::new(ArgValue::UserNs(Box::new(
            user_namespace(bytes.get(..16).unwrap_or_default()),
        ))),
        ArgExport::Capability => {
            let number = value as u32 as i32;
            KprobeArgument::new(ArgValue::Capability(Box::new(KprobeCapability {
                value: Some(JsonInt::new(number)),
                name: Capability::from_number(number).and_then(|c| c.name().map(str::to_owned)),
                ..KprobeCapability::default()
            })))
        }
        ArgExport::Module => KprobeArgument::new(ArgValue::Module(Box::new(KernelModule {
            name: Some(String::from_utf8_lossy(bytes).into_owned()),
            ..KernelModule::default()
        }))),
        ArgExport::NetDevice => KprobeArgument::new(ArgValue::NetDev(Box::new(KprobeNetDev {
            name: Some(String::from_utf8_lossy(bytes).into_owned()),
            ..KprobeNetDev::default()
        }))),
        ArgExport::BpfAttr | ArgExport::BpfProg => {
            let (prog_type, insn_cnt, prog_name) = bpf_program(bytes);
            if spec.export == ArgExport::BpfAttr {
                KprobeArgument::new(ArgValue::BpfAttr(Box::new(KprobeBpfAttr {
                    prog_type: Some(prog_type),
                    insn_cnt: Some(JsonInt::new(insn_cnt)),
                    prog_name: Some(prog_name),
                    ..KprobeBpfAttr::default()
                })))
            } else {
                KprobeArgument::new(ArgValue::BpfProg(Box::new(KprobeBpfProg {
                    prog_type: Some(prog_type),
                    insn_cnt: Some(JsonInt::new(insn_cnt)),
                    prog_name: Some(prog_name),
                    ..KprobeBpfProg::default()
                })))
            }
        }
        ArgExport::BpfMap => {
            let word = |i: usize| u32_at(bytes, i * 4);
            KprobeArgument::new(ArgValue::BpfMap(Box::new(KprobeBpfMap {
                map_type: Some(name_or_number(BPF_MAP_TYPES, word(0) as u16)),
                key_size: Some(JsonInt::new(word(1))),
                value_size: Some(JsonInt::new(word(2))),
                max_entries: Some(JsonInt::new(word(3))),
                map_name: Some(c_string(bytes.get(16..32).unwrap_or_default())),
                ..KprobeBpfMap::default()
            })))
        }
        ArgExport::PerfEvent => {
            let word = |i: usize| {
                bytes
                    .get(i * 8..i * 8 + 8)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map_or(0, u64::from_ne_bytes)
            };
            KprobeArgument::new(ArgValue::PerfEvent(Box::new(KprobePerfEvent {
                kprobe_func: Some(
                    String::from_utf8_lossy(bytes.get(24..).unwrap_or_default()).into_owned(),
                ),
                event_type: Some(name_or_number(PERF_TYPES, word(0) as u16)),
                config: Some(JsonInt::new(word(1))),
                probe_offset: Some(JsonInt::new(word(2))),
                ..KprobePerfEvent::default()
            })))
        }
    };
    match &spec.label {
        Some(label) => arg.with_label(label.clone()),
        None => arg,
    }
}

/// A `sock_arg` from a sock slot: the value holds family, ports (host
/// order) and protocol; the bytes both addresses, the type and the state
/// (`TPC_SOCK_BYTES` in the programs). Addresses only for IP families.
fn sock_argument(value: u64, bytes: &[u8]) -> KprobeArgument {
    let family = (value & 0xffff) as u16;
    let sport = ((value >> 16) & 0xffff) as u32;
    let dport = ((value >> 32) & 0xffff) as u32;
    let protocol = ((value >> 48) & 0xffff) as u16;
    let (sock_type, state) = if bytes.len() == SOCK_BYTES {
        (
            u16::from_ne_bytes([bytes[32], bytes[33]]),
            u16::from(bytes[34]),
        )
    } else {
        (0, 0)
    };
    let address = |at: usize| tuple_address(family, bytes, at);
    KprobeArgument::new(ArgValue::Sock(Box::new(KprobeSock {
        family: Some(family_name(family)),
        sock_type: Some(name_or_number(SOCK_TYPES, sock_type)),
        protocol: Some(name_or_number(PROTOCOLS, protocol)),
        saddr: address(0),
        daddr: address(16),
        sport: Some(JsonInt::new(sport)),
        dport: Some(JsonInt::new(dport)),
        state: Some(name_or_number(SOCK_STATES, state)),
        ..KprobeSock::default()
    })))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_ne_bytes)
}

/// Text up to its first NUL.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Level, owner, group and inode number (`TPC_USER_NS_BYTES`).
fn user_namespace(bytes: &[u8]) -> UserNamespace {
    UserNamespace {
        level: Some(JsonInt::new(u32_at(bytes, 0) as i32)),
        uid: Some(JsonInt::new(u32_at(bytes, 4))),
        gid: Some(JsonInt::new(u32_at(bytes, 8))),
        ns: Some(Namespace {
            inum: Some(JsonInt::new(u32_at(bytes, 12))),
            ..Namespace::default()
        }),
        ..UserNamespace::default()
    }
}

/// A `process_credentials_arg` from a cred slot (`TPC_CRED_BYTES`).
fn cred_argument(bytes: &[u8]) -> KprobeArgument {
    let id = |i: usize| Some(JsonInt::new(u32_at(bytes, i * 4)));
    let mask = |i: usize| {
        bytes
            .get(40 + i * 8..48 + i * 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_ne_bytes)
    };
    let securebits = u32_at(bytes, 32);
    let bits: Vec<SecureBits> = (0..32)
        .map(|bit| 1u32 << bit)
        .filter(|flag| securebits & flag != 0)
        .filter_map(|flag| i32::try_from(flag).ok().and_then(SecureBits::from_number))
        .collect();
    // model::capabilities takes (effective, inheritable, permitted)
    let caps = crate::model::capabilities(&[mask(2), mask(0), mask(1)]);
    KprobeArgument::new(ArgValue::ProcessCredentials(Box::new(ProcessCredentials {
        uid: id(0),
        gid: id(1),
        suid: id(2),
        sgid: id(3),
        euid: id(4),
        egid: id(5),
        fsuid: id(6),
        fsgid: id(7),
        securebits: (!bits.is_empty()).then_some(bits),
        caps: Some(caps),
        user_ns: Some(user_namespace(bytes.get(64..80).unwrap_or_default())),
        ..ProcessCredentials::default()
    })))
}

/// Program type, instruction count and name (`TPC_BPF_BYTES`).
fn bpf_program(bytes: &[u8]) -> (String, u32, String) {
    (
        name_or_number(BPF_PROG_TYPES, u32_at(bytes, 0) as u16),
        u32_at(bytes, 4),
        c_string(bytes.get(8..24).unwrap_or_default()),
    )
}

const BPF_PROG_TYPES: &[(u16, &str)] = &[
    (0, "BPF_PROG_TYPE_UNSPEC"),
    (1, "BPF_PROG_TYPE_SOCKET_FILTER"),
    (2, "BPF_PROG_TYPE_KPROBE"),
    (3, "BPF_PROG_TYPE_SCHED_CLS"),
    (4, "BPF_PROG_TYPE_SCHED_ACT"),
    (5, "BPF_PROG_TYPE_TRACEPOINT"),
    (6, "BPF_PROG_TYPE_XDP"),
    (7, "BPF_PROG_TYPE_PERF_EVENT"),
    (8, "BPF_PROG_TYPE_CGROUP_SKB"),
    (9, "BPF_PROG_TYPE_CGROUP_SOCK"),
    (10, "BPF_PROG_TYPE_LWT_IN"),
    (11, "BPF_PROG_TYPE_LWT_OUT"),
    (12, "BPF_PROG_TYPE_LWT_XMIT"),
    (13, "BPF_PROG_TYPE_SOCK_OPS"),
    (14, "BPF_PROG_TYPE_SK_SKB"),
    (15, "BPF_PROG_TYPE_CGROUP_DEVICE"),
    (16, "BPF_PROG_TYPE_SK_MSG"),
    (17, "BPF_PROG_TYPE_RAW_TRACEPOINT"),
    (18, "BPF_PROG_TYPE_CGROUP_SOCK_ADDR"),
    (19, "BPF_PROG_TYPE_LWT_SEG6LOCAL"),
    (20, "BPF_PROG_TYPE_LIRC_MODE2"),
    (21, "BPF_PROG_TYPE_SK_REUSEPORT"),
    (22, "BPF_PROG_TYPE_FLOW_DISSECTOR"),
    (23, "BPF_PROG_TYPE_CGROUP_SYSCTL"),
    (24, "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE"),
    (25, "BPF_PROG_TYPE_CGROUP_SOCKOPT"),
    (26, "BPF_PROG_TYPE_TRACING"),
    (27, "BPF_PROG_TYPE_STRUCT_OPS"),
    (28, "BPF_PROG_TYPE_EXT"),
    (29, "BPF_PROG_TYPE_LSM"),
    (30, "BPF_PROG_TYPE_SK_LOOKUP"),
    (31, "BPF_PROG_TYPE_SYSCALL"),
    (32, "BPF_PROG_TYPE_NETFILTER"),
];

const BPF_MAP_TYPES: &[(u16, &str)] = &[
    (0, "BPF_MAP_TYPE_UNSPEC"),
    (1, "BPF_MAP_TYPE_HASH"),
    (2, "BPF_MAP_TYPE_ARRAY"),
    (3, "BPF_MAP_TYPE_PROG_ARRAY"),
    (4, "BPF_MAP_TYPE_PERF_EVENT_ARRAY"),
    (5, "BPF_MAP_TYPE_PERCPU_HASH"),
    (6, "BPF_MAP_TYPE_PERCPU_ARRAY"),
    (7, "BPF_MAP_TYPE_STACK_TRACE"),
    (8, "BPF_MAP_TYPE_CGROUP_ARRAY"),
    (9, "BPF_MAP_TYPE_LRU_HASH"),
    (10, "BPF_MAP_TYPE_LRU_PERCPU_HASH"),
    (11, "BPF_MAP_TYPE_LPM_TRIE"),
    (12, "BPF_MAP_TYPE_ARRAY_OF_MAPS"),
    (13, "BPF_MAP_TYPE_HASH_OF_MAPS"),
    (14, "BPF_MAP_TYPE_DEVMAP"),
    (15, "BPF_MAP_TYPE_SOCKMAP"),
    (16, "BPF_MAP_TYPE_CPUMAP"),
    (17, "BPF_MAP_TYPE_XSKMAP"),
    (18, "BPF_MAP_TYPE_SOCKHASH"),
    (19, "BPF_MAP_TYPE_CGROUP_STORAGE"),
    (20, "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY"),
    (21, "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE"),
    (22, "BPF_MAP_TYPE_QUEUE"),
    (23, "BPF_MAP_TYPE_STACK"),
    (24, "BPF_MAP_TYPE_SK_STORAGE"),
    (25, "BPF_MAP_TYPE_DEVMAP_HASH"),
    (26, "BPF_MAP_TYPE_STRUCT_OPS"),
    (27, "BPF_MAP_TYPE_RINGBUF"),
    (28, "BPF_MAP_TYPE_INODE_STORAGE"),
    (29, "BPF_MAP_TYPE_TASK_STORAGE"),
    (30, "BPF_MAP_TYPE_BLOOM_FILTER"),
    (31, "BPF_MAP_TYPE_USER_RINGBUF"),
    (32, "BPF_MAP_TYPE_CGRP_STORAGE"),
    (33, "BPF_MAP_TYPE_ARENA"),
];

/// `perf_event_attr.type` of the generic PMUs; dynamic ones (kprobe,
/// uprobe) stay numbers.
const PERF_TYPES: &[(u16, &str)] = &[
    (0, "PERF_TYPE_HARDWARE"),
    (1, "PERF_TYPE_SOFTWARE"),
    (2, "PERF_TYPE_TRACEPOINT"),
    (3, "PERF_TYPE_HW_CACHE"),
    (4, "PERF_TYPE_RAW"),
    (5, "PERF_TYPE_BREAKPOINT"),
];

/// An `skb_arg` from an skb slot (`TPC_SKB_BYTES`): the value as a sock
/// slot's; the bytes both addresses, then len, priority, mark, hash.
fn skb_argument(value: u64, bytes: &[u8]) -> KprobeArgument {
    let family = (value & 0xffff) as u16;
    let protocol = ((value >> 48) & 0xffff) as u16;
    let ip = matches!(family, 2 | 10);
    let address = |at: usize| tuple_address(family, bytes, at);
    KprobeArgument::new(ArgValue::Skb(Box::new(KprobeSkb {
        hash: Some(JsonInt::new(u32_at(bytes, 44))),
        len: Some(JsonInt::new(u32_at(bytes, 32))),
        priority: Some(JsonInt::new(u32_at(bytes, 36))),
        mark: Some(JsonInt::new(u32_at(bytes, 40))),
        saddr: address(0),
        daddr: address(16),
        sport: Some(JsonInt::new(((value >> 16) & 0xffff) as u32)),
        dport: Some(JsonInt::new(((value >> 32) & 0xffff) as u32)),
        proto: ip.then(|| JsonInt::new(u32::from(protocol))),
        protocol: ip.then(|| name_or_number(PROTOCOLS, protocol)),
        family: Some(family_name(family)),
        ..KprobeSkb::default()
    })))
}

/// The address at `at` of a sock or skb slot's bytes (16 bytes; IPv4 in
/// the first 4), for IP families only.
fn tuple_address(family: u16, bytes: &[u8], at: usize) -> Option<String> {
    let raw = bytes.get(at..at + 16)?;
    match family {
        2 => Some(std::net::Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).to_string()),
        10 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(raw);
            Some(std::net::Ipv6Addr::from(octets).to_string())
        }
        _ => None,
    }
}

/// Bytes of a sock slot (`TPC_SOCK_BYTES`).
const SOCK_BYTES: usize = 36;

const SOCK_TYPES: &[(u16, &str)] = &[
    (1, "SOCK_STREAM"),
    (2, "SOCK_DGRAM"),
    (3, "SOCK_RAW"),
    (4, "SOCK_RDM"),
    (5, "SOCK_SEQPACKET"),
    (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];

const PROTOCOLS: &[(u16, &str)] = &[
    (0, "IPPROTO_IP"),
    (1, "IPPROTO_ICMP"),
    (2, "IPPROTO_IGMP"),
    (6, "IPPROTO_TCP"),
    (17, "IPPROTO_UDP"),
    (41, "IPPROTO_IPV6"),
    (58, "IPPROTO_ICMPV6"),
    (132, "IPPROTO_SCTP"),
    (136, "IPPROTO_UDPLITE"),
    (255, "IPPROTO_RAW"),
    (262, "IPPROTO_MPTCP"),
];

const SOCK_STATES: &[(u16, &str)] = &[
    (1, "TCP_ESTABLISHED"),
    (2, "TCP_SYN_SENT"),
    (3, "TCP_SYN_RECV"),
    (4, "TCP_FIN_WAIT1"),
    (5, "TCP_FIN_WAIT2"),
    (6, "TCP_TIME_WAIT"),
    (7, "TCP_CLOSE"),
    (8, "TCP_CLOSE_WAIT"),
    (9, "TCP_LAST_ACK"),
    (10, "TCP_LISTEN"),
    (11, "TCP_CLOSING"),
    (12, "TCP_NEW_SYN_RECV"),
];

/// The kernel's name for a number, or the number when tpc knows no name.
fn name_or_number(table: &[(u16, &str)], number: u16) -> String {
    table
        .iter()
        .find(|(n, _)| *n == number)
        .map_or_else(|| number.to_string(), |(_, name)| (*name).to_owned())
}

fn family_name(family: u16) -> String {
    match family {
        0 => "AF_UNSPEC".into(),
        1 => "AF_UNIX".into(),
        2 => "AF_INET".into(),
        10 => "AF_INET6".into(),
        16 => "AF_NETLINK".into(),
        17 => "AF_PACKET".into(),
        other => other.to_string(),
    }
}

/// The process of a record: the table's image, with the namespaces and
/// capabilities the hook read.
fn process_of(table: &ProcessTable, record: &HookRecord) -> (ProcessInfo, Option<ProcessInfo>) {
    let mut process = table
        .get_image(record.pid, record.exec_ktime)
        .or_else(|| table.get(record.pid))
        .cloned()
        .unwrap_or_else(|| ProcessInfo {
            exec_id: table.exec_id(record.exec_ktime, record.pid),
            pid: record.pid,
            tid: record.tid,
            uid: 0,
            euid: 0,
            auid: u32::MAX,
            cwd: String::new(),
            binary: String::new(),
            arguments: Vec::new(),
            flags: RecordFlags(RecordFlags::ENTRY_MISSING),
            start_time_ns: table.clock().unix_nanos(record.exec_ktime),
            parent_pid: 0,
            parent_exec_id: None,
            exec_ktime: record.exec_ktime,
            task: None,
            host_ns_mask: 0,
        });
    let parent = table.parent_of_process(&process).cloned();
    process.tid = record.tid;
    let mut task = process.task.unwrap_or_default();
    task.ns = record.ns;
    task.caps = record.caps;
    process.host_ns_mask = table.host_mask(&record.ns);
    process.task = Some(task);
    (process, parent)
}

/// The event of one policy hook (`process_tracepoint`, `process_kprobe`,
/// `process_lsm`, `process_uprobe` or `process_usdt`, as Tetragon names them), and a short
/// name of where it fired for compact lines.
fn hook_event(
    info: &super::PolicyHookInfo,
    process: tpc_events::Process,
    parent: Option<tpc_events::Process>,
    args: Vec<KprobeArgument>,
    action: KprobeAction,
    time: Timestamp,
) -> (Event, String) {
    let policy_name = Some(info.policy_name.clone());
    let message = info.message.clone();
    let tags = (!info.tags.is_empty()).then(|| info.tags.clone());
    match &info.attach {
        AttachPoint::Tracepoint { subsystem, event }
        | AttachPoint::RawTracepoint { subsystem, event } => {
            let mut out = Event::process_tracepoint(
                process,
                parent,
                subsystem.clone(),
                event.clone(),
                args,
                time,
            );
            if let tpc_events::EventBody::ProcessTracepoint(tp) = &mut out.body {
                tp.policy_name = policy_name;
                tp.action = Some(action);
                tp.message = message;
                tp.tags = tags;
            }
            (out, format!("{subsystem}/{event}"))
        }
        AttachPoint::Kprobe { .. } | AttachPoint::Fentry { .. } => {
            let function = info.function_name.clone();
            let mut out = Event::process_kprobe(process, parent, function.clone(), args, time);
            if let tpc_events::EventBody::ProcessKprobe(kp) = &mut out.body {
                kp.policy_name = policy_name;
                kp.action = Some(action);
                kp.message = message;
                kp.tags = tags;
            }
            (out, function)
        }
        AttachPoint::Lsm { hook } => {
            let payload = ProcessLsm {
                process: Some(process),
                parent,
                function_name: Some(hook.clone()),
                policy_name,
                message,
                args: Some(args),
                action: Some(action),
                tags,
                ..ProcessLsm::default()
            };
            (Event::new(payload).with_time(time), hook.clone())
        }
        AttachPoint::Uprobe {
            path,
            symbol,
            offset,
            ..
        } => {
            let payload = ProcessUprobe {
                process: Some(process),
                parent,
                path: Some(path.clone()),
                symbol: symbol.clone(),
                policy_name,
                message,
                args: Some(args),
                tags,
                offset: (*offset != 0).then(|| JsonInt::new(*offset)),
                action: Some(action),
                ..ProcessUprobe::default()
            };
            (
                Event::new(payload).with_time(time),
                format!("{path}:{}", symbol.as_deref().unwrap_or("?")),
            )
        }
        AttachPoint::Usdt {
            path,
            provider,
            name,
        } => {
            let payload = ProcessUsdt {
                process: Some(process),
                parent,
                path: Some(path.clone()),
                provider: Some(provider.clone()),
                name: Some(name.clone()),
                policy_name,
                message,
                args: Some(args),
                tags,
                action: Some(action),
                ..ProcessUsdt::default()
            };
            (
                Event::new(payload).with_time(time),
                format!("{provider}:{name}"),
            )
        }
    }
}

/// The events a hook record posts, one per policy whose selector posted
/// (policies with a return probe wait for its record: [`return_events`]).
pub fn hook_events(
    engine: &PolicyEngine,
    table: &ProcessTable,
    record: &HookRecord,
) -> Vec<PolicyEvent> {
    let mut out = Vec::new();
    let mut process: Option<(ProcessInfo, Option<ProcessInfo>)> = None;
    for post in &record.posts {
        if post.flags & post_flags::POSTED == 0 || post.flags & post_flags::AWAIT_RETURN != 0 {
            continue;
        }
        let (proc_info, parent) = process.get_or_insert_with(|| process_of(table, record));
        out.extend(post_event(
            engine, table, record, post, None, proc_info, parent,
        ));
    }
    out
}

/// Whether a hook record has policies waiting for the call's return.
pub fn awaits_return(record: &HookRecord) -> bool {
    record
        .posts
        .iter()
        .any(|p| p.flags & post_flags::AWAIT_RETURN != 0)
}

/// The events of a call that returned: one per policy of the entry
/// record whose return selector posted, with the entry's arguments (the
/// `returnCopy` ones from the return), `return` and `return_action`.
pub fn return_events(
    engine: &PolicyEngine,
    table: &ProcessTable,
    entry: &HookRecord,
    ret: &HookRecord,
) -> Vec<PolicyEvent> {
    let mut out = Vec::new();
    let mut process: Option<(ProcessInfo, Option<ProcessInfo>)> = None;
    for ret_post in &ret.posts {
        if ret_post.flags & post_flags::POSTED == 0 {
            continue;
        }
        let Some(post) = entry
            .posts
            .iter()
            .find(|p| p.ph_id == ret_post.ph_id && p.flags & post_flags::AWAIT_RETURN != 0)
        else {
            continue;
        };
        let (proc_info, parent) = process.get_or_insert_with(|| process_of(table, entry));
        out.extend(post_event(
            engine,
            table,
            entry,
            post,
            Some((ret, ret_post)),
            proc_info,
            parent,
        ));
    }
    out
}

fn post_event(
    engine: &PolicyEngine,
    table: &ProcessTable,
    record: &HookRecord,
    post: &crate::wire::HookPost,
    ret: Option<(&HookRecord, &crate::wire::HookPost)>,
    proc_info: &ProcessInfo,
    parent: &Option<ProcessInfo>,
) -> Option<PolicyEvent> {
    {
        // None: unloaded long ago (see `PolicyEngine::policy_hook`)
        let info = engine.policy_hook(post.ph_id)?;
        let args: Vec<KprobeArgument> = info
            .args
            .iter()
            .map(|(slot, spec)| match ret {
                Some((ret, _)) if spec.return_copy => argument(ret, *slot, spec),
                _ => argument(record, *slot, spec),
            })
            .collect();
        let action_number = post
            .selector
            .and_then(|s| info.event_actions.get(usize::from(s)).copied())
            .unwrap_or(KprobeAction::Post.number().unwrap_or(1) as u32);
        let action = KprobeAction::from_number(action_number as i32).unwrap_or(KprobeAction::Post);
        let time = Timestamp::from_unix_nanos(table.clock().unix_nanos(record.ktime));
        let process = proc_info.to_process();
        let parent_process = parent.as_ref().map(ProcessInfo::to_process);
        let (mut event, place) =
            hook_event(info, process, parent_process, args, action.clone(), time);
        let mut signaled = post.flags & post_flags::SIGNALED != 0;
        if let Some((ret, ret_post)) = ret {
            signaled |= ret_post.flags & post_flags::SIGNALED != 0;
            let return_action = ret_post
                .selector
                .and_then(|s| info.return_actions.get(usize::from(s)).copied())
                .and_then(|n| KprobeAction::from_number(n as i32))
                .unwrap_or(KprobeAction::Post);
            let return_arg = info
                .return_arg
                .as_ref()
                .map(|(slot, spec)| argument(ret, *slot, spec));
            match &mut event.body {
                tpc_events::EventBody::ProcessKprobe(kp) => {
                    kp.return_arg = return_arg;
                    kp.return_action = Some(return_action);
                }
                // Tetragon's uprobe events have no `return`: the value
                // goes into `args`, where its merge puts it.
                tpc_events::EventBody::ProcessUprobe(up) => {
                    if let Some(value) = return_arg {
                        let args = up.args.get_or_insert_with(Vec::new);
                        let at = tpc_events::uprobe_return_position(args.len());
                        if at < args.len() {
                            args[at] = value;
                        } else {
                            args.push(value);
                        }
                    }
                }
                _ => {}
            }
        }
        let compact = format!(
            "🔎 {place} {} {} {} ({})",
            proc_info.pid,
            if proc_info.binary.is_empty() {
                "?"
            } else {
                proc_info.binary.as_str()
            },
            action.name().unwrap_or("post"),
            info.policy_name
        );
        Some(PolicyEvent {
            event,
            policy: info.policy,
            policy_name: info.policy_name.clone(),
            signaled,
            compact,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock_bytes(saddr: &[u8], daddr: &[u8], sock_type: u16, state: u8) -> Vec<u8> {
        let mut bytes = vec![0u8; SOCK_BYTES];
        bytes[..saddr.len()].copy_from_slice(saddr);
        bytes[16..16 + daddr.len()].copy_from_slice(daddr);
        bytes[32..34].copy_from_slice(&sock_type.to_ne_bytes());
        bytes[34] = state;
        bytes
    }

    fn sock_of(argument: &KprobeArgument) -> KprobeSock {
        let json = serde_json::to_value(argument).unwrap_or_default();
        serde_json::from_value(json["sock_arg"].clone()).unwrap_or_default()
    }

    #[test]
    fn an_ipv4_sock_shows_both_sides_protocol_type_and_state() {
        let value = 2 | (40000u64 << 16) | (443u64 << 32) | (6u64 << 48);
        let bytes = sock_bytes(&[10, 0, 0, 1], &[93, 184, 216, 34], 1, 2);
        let sock = sock_of(&sock_argument(value, &bytes));
        assert_eq!(sock.family.as_deref(), Some("AF_INET"));
        assert_eq!(sock.sock_type.as_deref(), Some("SOCK_STREAM"));
        assert_eq!(sock.protocol.as_deref(), Some("IPPROTO_TCP"));
        assert_eq!(sock.saddr.as_deref(), Some("10.0.0.1"));
        assert_eq!(sock.daddr.as_deref(), Some("93.184.216.34"));
        assert_eq!(sock.sport.map(|p| p.get()), Some(40000));
        assert_eq!(sock.dport.map(|p| p.get()), Some(443));
        assert_eq!(sock.state.as_deref(), Some("TCP_SYN_SENT"));
    }

    #[test]
    fn a_unix_sock_has_no_addresses_and_unknown_numbers_stay_numbers() {
        let value = 1 | (99u64 << 48);
        let bytes = sock_bytes(&[1, 2, 3, 4], &[], 5, 99);
        let sock = sock_of(&sock_argument(value, &bytes));
        assert_eq!(sock.family.as_deref(), Some("AF_UNIX"));
        assert_eq!(sock.saddr, None);
        assert_eq!(sock.daddr, None);
        assert_eq!(sock.protocol.as_deref(), Some("99"));
        assert_eq!(sock.state.as_deref(), Some("99"));
        assert_eq!(sock.sock_type.as_deref(), Some("SOCK_SEQPACKET"));
    }

    #[test]
    fn an_ipv6_sock_reads_sixteen_bytes() {
        let mut local = [0u8; 16];
        local[15] = 1;
        let value = 10 | (22u64 << 16) | (50000u64 << 32) | (6u64 << 48);
        let bytes = sock_bytes(&local, &local, 1, 1);
        let sock = sock_of(&sock_argument(value, &bytes));
        assert_eq!(sock.saddr.as_deref(), Some("::1"));
        assert_eq!(sock.state.as_deref(), Some("TCP_ESTABLISHED"));
    }

    fn json_of(argument: &KprobeArgument) -> serde_json::Value {
        serde_json::to_value(argument).unwrap_or_default()
    }

    #[test]
    fn a_cred_shows_ids_capabilities_securebits_and_its_user_namespace() {
        let mut bytes = vec![0u8; 80];
        for (i, id) in [1000u32, 1001, 1002, 1003, 0, 1005, 1006, 1007]
            .iter()
            .enumerate()
        {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&id.to_ne_bytes());
        }
        bytes[32..36].copy_from_slice(&16u32.to_ne_bytes()); // keep caps
        bytes[48..56].copy_from_slice(&(1u64 << 21).to_ne_bytes()); // permitted
        bytes[56..64].copy_from_slice(&(1u64 << 1).to_ne_bytes()); // effective
        bytes[64..68].copy_from_slice(&1i32.to_ne_bytes());
        bytes[68..72].copy_from_slice(&1000u32.to_ne_bytes());
        bytes[76..80].copy_from_slice(&4026531837u32.to_ne_bytes());
        let json = json_of(&cred_argument(&bytes));
        let cred = &json["process_credentials_arg"];
        assert_eq!(cred["uid"], 1000);
        assert_eq!(cred["gid"], 1001);
        assert_eq!(cred["suid"], 1002);
        assert_eq!(cred["euid"], 0);
        assert_eq!(cred["fsgid"], 1007);
        assert_eq!(cred["securebits"][0], "SecBitKeepCaps");
        assert_eq!(cred["caps"]["permitted"][0], "CAP_SYS_ADMIN");
        assert_eq!(cred["caps"]["effective"][0], "DAC_OVERRIDE");
        assert_eq!(cred["user_ns"]["level"], 1);
        assert_eq!(cred["user_ns"]["uid"], 1000);
        assert_eq!(cred["user_ns"]["ns"]["inum"], 4026531837u32);
    }

    #[test]
    fn bpf_objects_and_perf_events_show_names_for_known_numbers() {
        let mut map = vec![0u8; 32];
        for (i, w) in [1u32, 4, 8, 1024].iter().enumerate() {
            map[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
        }
        map[16..21].copy_from_slice(b"procs");
        let spec = |export| ArgSpec {
            source: tpc_bundle::model::ArgSource::RawArg { index: 0 },
            read: tpc_bundle::model::ArgRead::BpfMap,
            export,
            label: None,
            hidden: false,
            return_copy: false,
        };
        let record = |bytes: &[u8]| {
            let mut slots = [crate::wire::SlotBytes::default(); 8];
            slots[0].len = u16::try_from(bytes.len()).unwrap_or_default();
            HookRecord {
                cpu: 0,
                ktime: 0,
                pid: 1,
                tid: 1,
                exec_ktime: 0,
                hook_id: 0,
                flags: 0,
                ns: [0; 10],
                caps: [0; 3],
                values: [0; 8],
                slots,
                posts: Vec::new(),
                data: bytes.to_vec(),
                entry_ktime: 0,
            }
        };
        let json = json_of(&argument(&record(&map), 0, &spec(ArgExport::BpfMap)));
        assert_eq!(json["bpf_map_arg"]["MapType"], "BPF_MAP_TYPE_HASH");
        assert_eq!(json["bpf_map_arg"]["MaxEntries"], 1024);
        assert_eq!(json["bpf_map_arg"]["MapName"], "procs");
        let mut prog = vec![0u8; 24];
        prog[..4].copy_from_slice(&2u32.to_ne_bytes());
        prog[4..8].copy_from_slice(&18u32.to_ne_bytes());
        prog[8..12].copy_from_slice(b"kp_1");
        let json = json_of(&argument(&record(&prog), 0, &spec(ArgExport::BpfAttr)));
        assert_eq!(json["bpf_attr_arg"]["ProgType"], "BPF_PROG_TYPE_KPROBE");
        assert_eq!(json["bpf_attr_arg"]["InsnCnt"], 18);
        assert_eq!(json["bpf_attr_arg"]["ProgName"], "kp_1");
        let mut perf = vec![0u8; 24];
        perf[..8].copy_from_slice(&6u64.to_ne_bytes());
        perf[16..24].copy_from_slice(&4u64.to_ne_bytes());
        perf.extend_from_slice(b"do_sys_open");
        let json = json_of(&argument(&record(&perf), 0, &spec(ArgExport::PerfEvent)));
        assert_eq!(json["perf_event_arg"]["KprobeFunc"], "do_sys_open");
        assert_eq!(json["perf_event_arg"]["Type"], "6");
        assert_eq!(json["perf_event_arg"]["ProbeOffset"], "4"); // protojson: 64-bit as text
    }
}
