//! What a bundle holds, for people and tools (`tpc inspect`): programs and
//! their attach points, the map entries the bundle writes (counted by the
//! same encoder the runtime uses), each policy's hooks, selectors and
//! filters, the kernel requirements, the digest and the signer.

use std::collections::BTreeMap;

use serde::Serialize;
use tpc_bundle::VerifiedBundle;
use tpc_bundle::kernel::{self, CountingIds, maps};
use tpc_bundle::model::{
    ArgRead, ArgSource, ArgTest, AttachPoint, HookUnit, PolicyScope, ProcessFilter, SelectorUnit,
};

#[derive(Debug, Serialize)]
pub struct Inspection {
    pub format: u32,
    pub producer: String,
    pub digest: String,
    pub signer: Option<String>,
    pub object: String,
    pub abi: u32,
    pub requirements: Requirements,
    pub programs: Vec<ProgramUse>,
    /// Map name → entries the bundle writes.
    pub maps: BTreeMap<String, u64>,
    pub policies: Vec<PolicySummary>,
}

#[derive(Debug, Serialize)]
pub struct Requirements {
    pub min_kernel: String,
    pub features: Vec<String>,
    pub tracepoints: Vec<String>,
    pub raw_tracepoints: Vec<String>,
    pub assumed_kernel: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ProgramUse {
    pub program: String,
    pub attach: String,
    pub policies: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PolicySummary {
    pub name: String,
    pub kind: String,
    pub source: String,
    pub line: u32,
    pub mode: &'static str,
    pub scope: String,
    pub hooks: Vec<HookSummary>,
}

#[derive(Debug, Serialize)]
pub struct HookSummary {
    pub locator: String,
    pub attach: String,
    pub args: Vec<String>,
    pub selectors: Vec<SelectorSummary>,
}

#[derive(Debug, Serialize)]
pub struct SelectorSummary {
    pub index: u32,
    pub line: u32,
    pub filters: Vec<String>,
    pub action: String,
}

fn describe_arg(read: &ArgRead, source: &ArgSource, hidden: bool) -> String {
    let what = match read {
        ArgRead::Int { width, signed } => {
            format!(
                "{}{} integer",
                if *signed { "signed " } else { "" },
                width * 8
            )
        }
        ArgRead::Syscall64 => "syscall id".into(),
        ArgRead::UserString => "string (pointer)".into(),
        ArgRead::KernelString => "string (kernel pointer)".into(),
        ArgRead::DataLocString => "string (__data_loc)".into(),
        ArgRead::CharBuf { size_arg } => format!("buffer sized by argument {size_arg}"),
        ArgRead::CharIovec { size_arg } => {
            format!("iovec buffers, as many as argument {size_arg} says")
        }
        ArgRead::ConstBuf { len } => format!("{len}-byte array"),
        ArgRead::UserSockaddr => "socket address".into(),
        ArgRead::FilePath => "file (its path)".into(),
        ArgRead::PathPath => "path".into(),
        ArgRead::FdPath { .. } => "file descriptor (its file's path)".into(),
        ArgRead::BprmPath => "linux_binprm (the executed file's path)".into(),
        ArgRead::DentryPath => "dentry (names up to its file system's root)".into(),
        ArgRead::Sock => "sock (tuple, protocol and state)".into(),
        ArgRead::Socket => "socket (its sock's tuple, protocol and state)".into(),
        ArgRead::Cred => "cred (ids, securebits, capabilities, user namespace)".into(),
        ArgRead::UserNamespace => "user_namespace (level, owner, group, inode)".into(),
        ArgRead::Kiocb => "kiocb (its file's path)".into(),
        ArgRead::Filename => "filename (its name)".into(),
        ArgRead::NetDevice => "net_device (its name)".into(),
        ArgRead::Module => "module (its name)".into(),
        ArgRead::LoadInfo => "load_info (the module's name)".into(),
        ArgRead::BpfAttr => "bpf_attr (program type, instructions, name)".into(),
        ArgRead::BpfProg => "bpf_prog (type, instructions, name)".into(),
        ArgRead::BpfMap => "bpf_map (type, sizes, entries, name)".into(),
        ArgRead::PerfEvent => "perf_event (type, config, kprobe function)".into(),
        ArgRead::Skb => "skb (its IP tuple, protocol, length, mark)".into(),
    };
    format!(
        "{}: {what}{}",
        kernel::describe_source(source),
        if hidden { " (size only)" } else { "" }
    )
}

fn describe_process(filter: &ProcessFilter) -> String {
    match filter {
        ProcessFilter::Binaries {
            parent,
            matching,
            negate,
            values,
            follow_children,
        } => format!(
            "{} {}{:?} {} value(s){}",
            if *parent {
                "matchParentBinaries"
            } else {
                "matchBinaries"
            },
            if *negate { "not " } else { "" },
            matching,
            values.len(),
            if *follow_children {
                ", followChildren"
            } else {
                ""
            }
        ),
        ProcessFilter::Pids {
            negate,
            values,
            follow_forks,
            namespace_pid,
        } => format!(
            "matchPIDs {}{values:?}{}{}",
            if *negate { "NotIn " } else { "In " },
            if *follow_forks { ", followForks" } else { "" },
            if *namespace_pid {
                ", isNamespacePID"
            } else {
                ""
            }
        ),
        ProcessFilter::Namespaces {
            kind,
            negate,
            host,
            inums,
        } => format!(
            "matchNamespaces {} {}{}{inums:?}",
            tpc_bundle::NAMESPACE_KINDS
                .get(usize::from(*kind))
                .copied()
                .unwrap_or("?"),
            if *negate { "NotIn " } else { "In " },
            if *host { "host_ns " } else { "" }
        ),
        ProcessFilter::Capabilities {
            negate, set, mask, ..
        } => format!(
            "matchCapabilities set {set} {}{mask:#x}",
            if *negate { "NotIn " } else { "In " }
        ),
        ProcessFilter::NamespaceChanges { negate, kinds } => format!(
            "matchNamespaceChanges {}{kinds:#x}",
            if *negate { "NotIn " } else { "In " }
        ),
        ProcessFilter::CapabilityChanges {
            negate, set, mask, ..
        } => format!(
            "matchCapabilityChanges set {set} {}{mask:#x}",
            if *negate { "NotIn " } else { "In " }
        ),
    }
}

fn describe_test(test: &ArgTest) -> String {
    match test {
        ArgTest::Never => "never matches".into(),
        ArgTest::Always => "skipped (no runtime filter for the type)".into(),
        ArgTest::Int {
            bits,
            signed,
            compare,
            values,
        } => format!(
            "{compare:?} on {}{bits} bits, {} inline value(s)",
            if *signed { "signed " } else { "" },
            values.len()
        ),
        ArgTest::IntRange { negate, ranges, .. } => format!(
            "{}InRange, {} range(s)",
            if *negate { "Not" } else { "" },
            ranges.len()
        ),
        ArgTest::IntSet {
            negate, members, ..
        } => format!(
            "{}InMap, {} member(s) in a hash set",
            if *negate { "Not" } else { "" },
            members.len()
        ),
        ArgTest::Text {
            matching,
            negate,
            values,
        } => format!(
            "{}{matching:?}, {} value(s) in a {}",
            if *negate { "not " } else { "" },
            values.len(),
            match matching {
                tpc_bundle::model::TextMatch::Equal => "string set",
                tpc_bundle::model::TextMatch::Prefix => "prefix trie",
                tpc_bundle::model::TextMatch::Postfix => "reversed prefix trie",
                _ => "substring table",
            }
        ),
        ArgTest::InetFamily { families } => format!("Family in {families:?}"),
        ArgTest::InetAddress {
            negate,
            v4,
            v6,
            destination,
        } => format!(
            "{}{} in {} IPv4 and {} IPv6 network(s)",
            if *negate { "not " } else { "" },
            side(*destination, "address"),
            v4.len(),
            v6.len()
        ),
        ArgTest::InetPort {
            negate,
            ports,
            destination,
        } => format!(
            "{}{} in a set of {}",
            if *negate { "not " } else { "" },
            side(*destination, "port"),
            ports.len()
        ),
        ArgTest::InetPrivilegedPort {
            negate,
            destination,
        } => format!(
            "{}privileged {}",
            if *negate { "not " } else { "" },
            side(*destination, "port")
        ),
        ArgTest::InetProtocol { protocols } => format!("Protocol in {protocols:?}"),
        ArgTest::InetState { states } => format!("State in {states:?}"),
    }
}

/// "address" or "destination address" (and the same for ports).
fn side(destination: bool, what: &str) -> String {
    if destination {
        format!("destination {what}")
    } else {
        what.to_owned()
    }
}

fn describe_selector(selector: &SelectorUnit, hook: &HookUnit) -> SelectorSummary {
    let mut filters: Vec<String> = selector.process.iter().map(describe_process).collect();
    for f in &selector.args {
        let arg = hook.args.get(f.arg as usize).map_or_else(
            || format!("argument {}", f.arg),
            |a| kernel::describe_source(&a.source),
        );
        filters.push(format!("{arg}: {}", describe_test(&f.test)));
    }
    for f in &selector.return_args {
        filters.push(format!(
            "matchReturnArgs: the return value: {}",
            describe_test(&f.test)
        ));
    }
    let action = &selector.action;
    let mut parts = vec![
        tpc_events::KprobeAction::from_number(i32::try_from(action.event_action).unwrap_or(0))
            .and_then(|a| a.name().map(str::to_owned))
            .unwrap_or_else(|| action.event_action.to_string()),
    ];
    if !action.post {
        parts.push("NoPost".into());
    }
    if let Some(signal) = action.signal {
        parts.push(format!("signal {signal}"));
    }
    if let Some(rate) = action.rate_limit {
        parts.push(format!(
            "rateLimit {} ms {:?}",
            rate.interval_ns / 1_000_000,
            rate.scope
        ));
    }
    if let Some(ret) = &selector.return_action {
        let name =
            tpc_events::KprobeAction::from_number(i32::try_from(ret.event_action).unwrap_or(0))
                .and_then(|a| a.name().map(str::to_owned))
                .unwrap_or_else(|| ret.event_action.to_string());
        let mut at_return = vec![name];
        if !ret.post {
            at_return.push("NoPost".into());
        }
        if let Some(signal) = ret.signal {
            at_return.push(format!("signal {signal}"));
        }
        parts.push(format!("at return: {}", at_return.join(", ")));
    }
    SelectorSummary {
        index: selector.index,
        line: selector.place.line,
        filters,
        action: parts.join(", "),
    }
}

/// Everything `tpc inspect` shows.
pub fn inspect(verified: &VerifiedBundle) -> Inspection {
    let bundle = &verified.bundle;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut programs: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut ids = CountingIds::default();
    let mut attach_points: Vec<AttachPoint> = Vec::new();
    // next program slot per program family (`tpc_kprobe_`, ...)
    let mut next_slot: BTreeMap<String, u32> = BTreeMap::new();
    let mut policies = Vec::new();
    for policy in &bundle.policies {
        let mut hooks = Vec::new();
        for hook in &policy.hooks {
            if !attach_points.contains(&hook.attach) {
                attach_points.push(hook.attach.clone());
                let family = hook.attach.program(0);
                let counter = next_slot.entry(family).or_insert(0);
                let slot = *counter;
                *counter += 1;
                let program = hook.attach.program(slot);
                programs
                    .entry((program, hook.attach.describe()))
                    .or_default();
                if let Some(program) = hook.attach.fmod_ret_program(slot) {
                    programs
                        .entry((
                            format!("{program} ({})", tpc_bundle::FMOD_RET_OBJECT),
                            hook.attach.describe(),
                        ))
                        .or_default();
                }
                if let Some(family) = hook.attach.return_program(0) {
                    let counter = next_slot.entry(family).or_insert(0);
                    let slot = *counter;
                    *counter += 1;
                    if let Some(program) = hook.attach.return_program(slot) {
                        programs
                            .entry((program, hook.attach.describe()))
                            .or_default();
                    }
                }
            }
            for ((_, attach), users) in programs.iter_mut() {
                if *attach == hook.attach.describe() && !users.contains(&policy.name) {
                    users.push(policy.name.clone());
                }
            }
            *counts.entry(maps::POLICY_HOOKS.into()).or_default() += 1;
            let slot_of = |i: usize| Ok(u8::try_from(i).unwrap_or(u8::MAX));
            if let Ok(entries) = kernel::translate_hook(hook, 1, policy.monitor, &slot_of, &mut ids)
            {
                for w in &entries.writes {
                    *counts.entry(w.map.into()).or_default() += 1;
                }
                if !entries.follow.is_empty() {
                    *counts.entry(maps::FOLLOW_BINS.into()).or_default() +=
                        entries.follow.len() as u64;
                }
            }
            hooks.push(HookSummary {
                locator: hook.locator.clone(),
                attach: hook.attach.describe(),
                args: hook
                    .args
                    .iter()
                    .chain(hook.return_arg.as_ref())
                    .map(|a| {
                        if a.return_copy {
                            format!(
                                "{}: buffer copied when the call returns, as many bytes as it returned (returnCopy)",
                                kernel::describe_source(&a.source)
                            )
                        } else {
                            describe_arg(&a.read, &a.source, a.hidden)
                        }
                    })
                    .collect(),
                selectors: hook
                    .selectors
                    .iter()
                    .map(|s| describe_selector(s, hook))
                    .collect(),
            });
        }
        policies.push(PolicySummary {
            name: policy.name.clone(),
            kind: policy.kind.clone(),
            source: bundle
                .source_of(policy)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            line: policy.place.line,
            mode: if policy.monitor { "monitor" } else { "enforce" },
            scope: match &policy.scope {
                PolicyScope::Everywhere => "every process".into(),
                PolicyScope::Cgroups { paths } => format!("cgroups {}", paths.join(", ")),
                PolicyScope::Workloads { reason } => format!("Kubernetes workloads ({reason})"),
            } + &policy.binding.as_ref().map_or_else(String::new, |b| {
                format!(
                    "; binding of template {}{}",
                    b.template,
                    if b.override_allowed {
                        format!(" (override allowed, priority {})", b.override_priority)
                    } else {
                        String::new()
                    }
                )
            }),
            hooks,
        });
    }
    let hook_count = attach_points.len() as u64;
    if hook_count > 0 {
        counts.insert(maps::HOOKS.into(), hook_count);
        for (family, used) in &next_slot {
            let map = if family.starts_with("tpc_tracepoint_") {
                maps::TP_HOOKS
            } else if family.starts_with("tpc_raw_tracepoint_") {
                maps::RAW_HOOKS
            } else {
                maps::PROG_HOOKS
            };
            *counts.entry(map.into()).or_insert(0) += u64::from(*used);
        }
        let lists: u64 = bundle
            .hooks()
            .filter(|(p, _)| !matches!(p.scope, PolicyScope::Workloads { .. }))
            .map(|(_, h)| h.attach.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
        if lists > 0 {
            counts.insert(maps::LISTS.into(), lists);
        }
    }
    let r = &bundle.requirements;
    Inspection {
        format: bundle.format,
        producer: bundle.producer.clone(),
        digest: verified.digest.clone(),
        signer: verified.signer.clone(),
        object: bundle.programs.object.clone(),
        abi: bundle.programs.abi,
        requirements: Requirements {
            min_kernel: r.min_kernel.to_string(),
            features: r.features.iter().map(|f| f.describe().to_owned()).collect(),
            tracepoints: r
                .tracepoints
                .iter()
                .map(|t| {
                    format!(
                        "{}/{} (fields {})",
                        t.subsystem,
                        t.event,
                        t.fields
                            .iter()
                            .map(|f| format!("{} {}", f.index, f.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .collect(),
            raw_tracepoints: r.raw_tracepoints.clone(),
            assumed_kernel: r.assumed_kernel.clone(),
        },
        programs: programs
            .into_iter()
            .map(|((program, attach), policies)| ProgramUse {
                program,
                attach,
                policies,
            })
            .collect(),
        maps: counts,
        policies,
    }
}

/// The human form of an inspection.
pub fn render_human(i: &Inspection) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "bundle format {} by {}, sha256 {}\n",
        i.format, i.producer, i.digest
    ));
    s.push_str(&match &i.signer {
        Some(key) => format!("signed by ed25519 key {key}\n"),
        None => "not signed\n".to_owned(),
    });
    s.push_str(&format!("programs ({} ABI {}):\n", i.object, i.abi));
    for p in &i.programs {
        s.push_str(&format!(
            "  {} → {} ({})\n",
            p.program,
            p.attach,
            p.policies.join(", ")
        ));
    }
    s.push_str("map entries:\n");
    for (map, n) in &i.maps {
        s.push_str(&format!("  {map}: {n}\n"));
    }
    s.push_str(&format!(
        "requires: Linux {}+; {}\n",
        i.requirements.min_kernel,
        i.requirements.features.join(", ")
    ));
    for t in &i.requirements.tracepoints {
        s.push_str(&format!("  tracepoint {t}\n"));
    }
    for t in &i.requirements.raw_tracepoints {
        s.push_str(&format!("  raw tracepoint {t}\n"));
    }
    if let Some(k) = &i.requirements.assumed_kernel {
        s.push_str(&format!("  layouts read from {k}\n"));
    }
    for p in &i.policies {
        s.push_str(&format!(
            "policy {} ({}, {}:{}), {}, applies to {}\n",
            p.name, p.kind, p.source, p.line, p.mode, p.scope
        ));
        for h in &p.hooks {
            s.push_str(&format!("  {} on {}\n", h.locator, h.attach));
            for a in &h.args {
                s.push_str(&format!("    reads {a}\n"));
            }
            if h.selectors.is_empty() {
                s.push_str("    no selectors: every event posts\n");
            }
            for sel in &h.selectors {
                s.push_str(&format!(
                    "    selector {} (line {}): {}\n",
                    sel.index, sel.line, sel.action
                ));
                for f in &sel.filters {
                    s.push_str(&format!("      {f}\n"));
                }
            }
        }
    }
    s
}
