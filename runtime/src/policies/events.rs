//! Hook records to events: one Tetragon `process_tracepoint` event per
//! policy that posted, with the policy's arguments (typed as Tetragon
//! exports them), `policy_name`, `action`, `message`, `tags`, and the
//! process and parent from the process table (namespaces and capabilities
//! as the hook saw them).

use tpc_bundle::{
    AttachPoint,
    layout::post_flags,
    model::{ArgExport, ArgSpec},
};
use tpc_events::{
    ArgValue, Base64Bytes, Event, JsonInt, KprobeAction, KprobeArgument, KprobeLinuxBinprm,
    KprobePath, KprobeSockaddr, KprobeTruncatedBytes, ProcessLsm, ProcessUprobe, SyscallId,
    Timestamp,
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
            if u64::from(original) > bytes.len() as u64 {
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
    };
    match &spec.label {
        Some(label) => arg.with_label(label.clone()),
        None => arg,
    }
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
/// `process_lsm` or `process_uprobe`, as Tetragon names them), and a short
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
            if let tpc_events::EventBody::ProcessKprobe(kp) = &mut event.body {
                kp.return_arg = return_arg;
                kp.return_action = Some(return_action);
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
