//! Process filters of a selector (`matchBinaries`, `matchParentBinaries`,
//! `matchPIDs`, `matchNamespaces`, `matchCapabilities`,
//! `matchNamespaceChanges`, `matchCapabilityChanges`, `matchWorkloads`) and
//! the policy-level scope (namespaced policies, pod, container and host
//! selectors), as Tetragon's `pfilter.h` and policy filter evaluate them.

use std::cell::OnceCell;

use tpc_events::{Event, Process};

use crate::ir::{
    BinaryFilter, BinaryOp, CapabilityFilter, LabelOp, LabelSelector, NamespaceChangeFilter,
    NamespaceFilter, NamespaceKind, NamespaceValue, PidFilter, Policy, PolicyKind, SetOp,
    WorkloadFilter,
};

use super::process::{self, Ancestor, ProcessTree};
use super::trace::Why;

/// Bytes of a binary path Tetragon's postfix check looks at.
const POSTFIX_WINDOW: usize = 127;
/// `matchPIDs` values Tetragon reads.
const MAX_PID_VALUES: usize = 4;
/// Host-PID ancestors `followForks` reaches: Tetragon walks 9 map entries
/// and compares each one's PID and its parent's PID.
const FOLLOW_HOST_DEPTH: usize = 9;
/// Namespace-PID ancestors `followForks` reaches (no parent PID compared).
const FOLLOW_NS_DEPTH: usize = 8;

/// What the process filters look at for one event.
pub struct ProcessContext<'a> {
    pub event: &'a Event,
    pub process: Option<&'a Process>,
    pub tree: &'a ProcessTree,
    lineage: OnceCell<Vec<Ancestor<'a>>>,
}

impl<'a> ProcessContext<'a> {
    pub fn new(event: &'a Event, tree: &'a ProcessTree) -> Self {
        ProcessContext {
            event,
            process: event.process(),
            tree,
            lineage: OnceCell::new(),
        }
    }

    /// The ancestors, nearest first.
    pub fn lineage(&self) -> &[Ancestor<'a>] {
        self.lineage.get_or_init(|| self.tree.lineage(self.event))
    }
}

fn note(why: &mut Option<&mut Why>, reason: impl FnOnce() -> String) {
    if let Some(w) = why.as_deref_mut() {
        w.reason = reason();
    }
}

fn quirk(why: &mut Option<&mut Why>, text: &str) {
    if let Some(w) = why.as_deref_mut() {
        w.quirk = Some(text.to_string());
    }
}

/// `In [a, b]`, with long lists shortened.
pub fn list<T: std::fmt::Display>(op: &str, values: impl Iterator<Item = T>) -> String {
    let values: Vec<String> = values.map(|v| v.to_string()).collect();
    if values.len() > 8 {
        format!(
            "{op} [{}, ... ({} values)]",
            values[..8].join(", "),
            values.len()
        )
    } else {
        format!("{op} [{}]", values.join(", "))
    }
}

fn binary_matches(op: BinaryOp, values: &[crate::span::Spanned<String>], binary: &str) -> bool {
    match op {
        BinaryOp::In | BinaryOp::NotIn => values.iter().any(|v| v.value == binary),
        BinaryOp::Prefix | BinaryOp::NotPrefix => {
            values.iter().any(|v| binary.starts_with(v.value.as_str()))
        }
        BinaryOp::Postfix | BinaryOp::NotPostfix => {
            let bytes = binary.as_bytes();
            let window = &bytes[bytes.len().saturating_sub(POSTFIX_WINDOW)..];
            values.iter().any(|v| window.ends_with(v.value.as_bytes()))
        }
    }
}

fn describe_ancestor(a: &Ancestor<'_>) -> String {
    let how = if a.from_event {
        "from the event"
    } else if a.source == process::ProcessSource::Exec {
        "exec seen"
    } else {
        "observed"
    };
    format!(
        "{} (pid {}, {how})",
        a.binary,
        a.pid.map_or_else(|| "?".into(), |p| p.to_string())
    )
}

/// `matchBinaries` (`parent` false) or `matchParentBinaries` (`parent` true).
pub fn binaries(
    filter: &BinaryFilter,
    parent: bool,
    ctx: &ProcessContext<'_>,
    mut why: Option<&mut Why>,
) -> bool {
    let op = filter.operator.value;
    if filter.values.is_empty() {
        if let Some(w) = why.as_deref_mut() {
            w.ignored = true;
            w.reason = "the filter has no values: Tetragon ignores it".into();
        }
        return true;
    }
    let follow = filter.follow_children && matches!(op, BinaryOp::In | BinaryOp::NotIn);
    let whose = if parent { "parent binary" } else { "binary" };
    let binary: Option<&str> = if parent {
        ctx.lineage().first().map(|a| a.binary)
    } else {
        ctx.process.map(Process::binary)
    };
    let Some(binary) = binary.filter(|b| !b.is_empty()) else {
        note(&mut why, || {
            format!(
                "the {whose} is unknown (not in the event{}): no match",
                if parent { " nor the process tree" } else { "" }
            )
        });
        return false;
    };
    let mut matched = binary_matches(op, &filter.values, binary);
    let mut via: Option<String> = None;
    if follow && !matched {
        // A listed binary exec'd by an ancestor marks its descendants
        // (matchParentBinaries: the parent is the first ancestor, already
        // compared).
        let skip = usize::from(parent);
        if let Some(a) = ctx
            .lineage()
            .iter()
            .skip(skip)
            .find(|a| !a.binary.is_empty() && binary_matches(op, &filter.values, a.binary))
        {
            matched = true;
            via = Some(describe_ancestor(a));
        }
    }
    let result = if op.is_negated() { !matched } else { matched };
    note(&mut why, || {
        let mut s = format!("{whose} is {binary}");
        match (&via, follow) {
            (Some(a), _) => s.push_str(&format!(", and ancestor {a} is listed (followChildren)")),
            (None, true) => s.push_str(if matched {
                ", listed"
            } else {
                ", and no ancestor's binary is listed (followChildren)"
            }),
            (None, false) => {}
        }
        s
    });
    result
}

/// `matchPIDs`: only the first entry is evaluated by Tetragon, and only its
/// first 4 values.
pub fn pids(filter: &PidFilter, ctx: &ProcessContext<'_>, mut why: Option<&mut Why>) -> bool {
    let Some(process) = ctx.process else {
        note(&mut why, || "the event has no process: no match".into());
        return false;
    };
    let values: Vec<u32> = filter
        .values
        .iter()
        .take(MAX_PID_VALUES)
        .map(|v| v.value)
        .collect();
    let extra = filter.values.len().saturating_sub(MAX_PID_VALUES);
    let own = if filter.is_namespace_pid {
        process::namespace_pid(process)
    } else {
        process.pid()
    };
    let which = if filter.is_namespace_pid {
        "namespace PID"
    } else {
        "PID"
    };
    let Some(own) = own else {
        note(&mut why, || {
            format!("the process's {which} is unknown in the event: no match")
        });
        return false;
    };
    let result = if !filter.follow_forks {
        match filter.operator.value {
            SetOp::In => values.contains(&own),
            SetOp::NotIn => !values.contains(&own),
        }
    } else {
        if filter.is_namespace_pid && own == 0 {
            note(&mut why, || {
                "the process is not in a child PID namespace: followForks with isNamespacePID rejects it for In and NotIn".into()
            });
            return false;
        }
        let mut chain: Vec<u32> = vec![own];
        let depth = if filter.is_namespace_pid {
            FOLLOW_NS_DEPTH
        } else {
            FOLLOW_HOST_DEPTH
        };
        for a in ctx.lineage().iter().take(depth) {
            let pid = if filter.is_namespace_pid {
                a.nspid
            } else {
                a.pid
            };
            match pid {
                Some(p) => chain.push(p),
                None => break,
            }
        }
        let found = values.iter().any(|v| chain.contains(v));
        note(&mut why, || {
            format!("{which} chain (process first, followForks) is {chain:?}")
        });
        return finish_pids(filter, found, extra, why);
    };
    note(&mut why, || format!("{which} is {own}"));
    if extra > 0 {
        quirk(
            &mut why,
            "Tetragon reads only the first 4 matchPIDs values; the rest are ignored",
        );
    }
    result
}

fn finish_pids(filter: &PidFilter, found: bool, extra: usize, mut why: Option<&mut Why>) -> bool {
    if extra > 0 {
        quirk(
            &mut why,
            "Tetragon reads only the first 4 matchPIDs values; the rest are ignored",
        );
    }
    match filter.operator.value {
        SetOp::In => found,
        SetOp::NotIn => !found,
    }
}

/// `matchNamespaces`: one namespace kind, In or NotIn inode numbers
/// (`host_ns` is the host's).
pub fn namespaces(
    filter: &NamespaceFilter,
    ctx: &ProcessContext<'_>,
    mut why: Option<&mut Why>,
) -> bool {
    let kind = filter.namespace.value;
    let ns = ctx
        .process
        .and_then(|p| p.ns.as_deref())
        .and_then(|ns| process::namespace(ns, kind));
    let Some(ns) = ns.filter(|n| n.inum.is_some() || n.is_host.is_some()) else {
        note(&mut why, || {
            format!(
                "the event has no process.ns.{}: cannot tell, counted as not matching",
                kind.event_key()
            )
        });
        return false;
    };
    let inum = ns.inum.map(|i| i.get());
    let is_host = ns.is_host == Some(true);
    let equal = |v: &NamespaceValue| match v {
        NamespaceValue::Host => is_host,
        NamespaceValue::Inum(n) => inum == Some(*n),
    };
    let values: Vec<&NamespaceValue> = filter
        .values
        .iter()
        .take(MAX_PID_VALUES)
        .map(|v| &v.value)
        .collect();
    let any = values.iter().any(|v| equal(v));
    note(&mut why, || {
        format!(
            "{} namespace is {}{}",
            kind.as_str(),
            inum.map_or_else(|| "?".into(), |i| i.to_string()),
            if is_host { " (the host's)" } else { "" }
        )
    });
    match filter.operator.value {
        SetOp::In => any,
        SetOp::NotIn => !any,
    }
}

fn is_host_user_namespace(process: &Process) -> (bool, bool) {
    // (is host, known)
    match process.ns.as_ref().and_then(|ns| ns.user.as_ref()) {
        Some(user) => (user.is_host == Some(true), true),
        None => match process
            .process_credentials
            .as_ref()
            .and_then(|c| c.user_ns.as_ref())
        {
            Some(user_ns) => (
                user_ns.level.is_none_or(|l| l.get() == 0)
                    || user_ns.ns.as_ref().is_some_and(|n| n.is_host == Some(true)),
                true,
            ),
            None => (true, false),
        },
    }
}

/// `matchCapabilities`: In = the set holds at least one listed capability;
/// NotIn = none.
pub fn capabilities(
    filter: &CapabilityFilter,
    ctx: &ProcessContext<'_>,
    mut why: Option<&mut Why>,
) -> bool {
    let Some(process) = ctx.process else {
        note(&mut why, || "the event has no process: no match".into());
        return false;
    };
    if filter.is_namespace_capability {
        let (host, known) = is_host_user_namespace(process);
        if host {
            note(&mut why, || {
                format!(
                    "the process is in the host user namespace{}: isNamespaceCapability rejects it",
                    if known {
                        ""
                    } else {
                        " (assumed: the event does not say)"
                    }
                )
            });
            return false;
        }
    }
    let Some(masks) = process::capability_masks(process) else {
        note(&mut why, || {
            "the event has no process.cap: cannot tell, counted as not matching".into()
        });
        return false;
    };
    let set = masks[process::capability_slot(filter.set)];
    let wanted = filter
        .values
        .iter()
        .fold(0u64, |m, v| m | (1u64 << u32::from(v.value.min(63))));
    let any = set & wanted != 0;
    note(&mut why, || {
        format!(
            "{} set {} the listed capabilities ({})",
            filter.set.as_str(),
            if any {
                "holds some of"
            } else {
                "holds none of"
            },
            capability_names(set & wanted)
        )
    });
    match filter.operator.value {
        SetOp::In => any,
        SetOp::NotIn => !any,
    }
}

fn capability_names(mask: u64) -> String {
    let names: Vec<&str> = (0..64u8)
        .filter(|b| mask & (1u64 << b) != 0)
        .map(|b| crate::ir::names::capability_name(b).unwrap_or("?"))
        .collect();
    if names.is_empty() {
        "none held".into()
    } else {
        names.join(", ")
    }
}

/// `matchNamespaceChanges`: In = a listed namespace differs from the one
/// recorded at exec (or at the last match); NotIn = an unlisted one does.
/// Returns (passed, Tetragon marks the process for a state update).
pub fn namespace_changes(
    filter: &NamespaceChangeFilter,
    ctx: &ProcessContext<'_>,
    mut why: Option<&mut Why>,
) -> (bool, bool) {
    let Some(process) = ctx.process else {
        note(&mut why, || "the event has no process: no match".into());
        return (false, false);
    };
    let Some(node) = process::process_key(process).and_then(|k| ctx.tree.get(&k)) else {
        note(&mut why, || {
            "the process is not in the process map: Tetragon rejects it".into()
        });
        return (false, false);
    };
    let Some(current) = process::namespace_inodes(process) else {
        note(&mut why, || "the event has no process.ns: no match".into());
        return (false, false);
    };
    let recorded = node.recorded_ns.unwrap_or([None; 10]);
    let listed: Vec<NamespaceKind> = filter.values.iter().map(|v| v.value).collect();
    let mut mark = false;
    let mut changed: Option<NamespaceKind> = None;
    for (i, kind) in NamespaceKind::ALL.iter().enumerate() {
        let considered = match filter.operator.value {
            SetOp::In => listed.contains(kind),
            SetOp::NotIn => !listed.contains(kind),
        };
        if !considered {
            continue;
        }
        match recorded[i] {
            None | Some(0) => mark = true,
            Some(before) if Some(before) != current[i] => {
                changed = Some(*kind);
                mark = true;
                break;
            }
            Some(_) => {}
        }
    }
    note(&mut why, || match changed {
        Some(k) => format!("{} namespace changed since it was recorded", k.as_str()),
        None => "no considered namespace changed since it was recorded".into(),
    });
    (changed.is_some(), mark)
}

/// `matchCapabilityChanges`: In = a listed capability changed since exec
/// (or the last match); NotIn = none of them did but another one did.
pub fn capability_changes(
    filter: &CapabilityFilter,
    ctx: &ProcessContext<'_>,
    mut why: Option<&mut Why>,
) -> bool {
    let Some(process) = ctx.process else {
        note(&mut why, || "the event has no process: no match".into());
        return false;
    };
    let Some(node) = process::process_key(process).and_then(|k| ctx.tree.get(&k)) else {
        note(&mut why, || {
            "the process is not in the process map: Tetragon rejects it".into()
        });
        return false;
    };
    if filter.is_namespace_capability && is_host_user_namespace(process).0 {
        note(&mut why, || {
            "the process is in the host user namespace: isNamespaceCapability rejects it".into()
        });
        return false;
    }
    let slot = process::capability_slot(filter.set);
    let (Some(current), Some(recorded)) = (process::capability_masks(process), node.recorded_caps)
    else {
        note(&mut why, || {
            "capabilities unknown (no process.cap): no match".into()
        });
        return false;
    };
    let (before, now) = (recorded[slot], current[slot]);
    let wanted = filter
        .values
        .iter()
        .fold(0u64, |m, v| m | (1u64 << u32::from(v.value.min(63))));
    let listed_changed = before & wanted != now & wanted;
    let other_changed = before != now;
    note(&mut why, || {
        format!(
            "{} set was {before:#x}, is {now:#x}: {}",
            filter.set.as_str(),
            if listed_changed {
                "a listed capability changed"
            } else if other_changed {
                "only unlisted capabilities changed"
            } else {
                "nothing changed"
            }
        )
    });
    match filter.operator.value {
        SetOp::In => listed_changed,
        SetOp::NotIn => !listed_changed && other_changed,
    }
}

/// Evaluates a Kubernetes label selector on a set of labels.
pub fn labels_match(selector: &LabelSelector, labels: &[(String, String)]) -> bool {
    let get = |key: &str| {
        labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    selector
        .match_labels
        .iter()
        .all(|(k, v)| get(&k.value) == Some(v.value.as_str()))
        && selector.match_expressions.iter().all(|req| {
            let value = get(&req.key.value);
            let listed = |v: &str| req.values.iter().any(|x| x.value == v);
            match req.operator.value {
                LabelOp::In => value.is_some_and(listed),
                LabelOp::NotIn => value.is_none_or(|v| !listed(v)),
                LabelOp::Exists => value.is_some(),
                LabelOp::DoesNotExist => value.is_none(),
            }
        })
}

fn pod_labels(process: &Process) -> Vec<(String, String)> {
    process
        .pod
        .as_ref()
        .and_then(|p| p.pod_labels.as_ref())
        .map(|m| m.0.clone())
        .unwrap_or_default()
}

fn container_labels(process: &Process) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(container) = process.pod.as_ref().and_then(|p| p.container.as_ref()) {
        if let Some(name) = &container.name {
            out.push(("name".to_string(), name.clone()));
        }
        if let Some(image) = container.image.as_ref().and_then(|i| i.name.as_deref()) {
            let repo = image
                .rsplit_once(':')
                .filter(|(_, tag)| !tag.contains('/'))
                .map_or(image, |(r, _)| r);
            out.push(("repo".to_string(), repo.to_string()));
        }
    }
    out
}

/// Whether a process is in the workload the three selectors describe; the
/// reason when it is not.
fn workload(
    pod_selector: Option<&LabelSelector>,
    container_selector: Option<&LabelSelector>,
    host_selector: Option<&LabelSelector>,
    process: &Process,
) -> Result<(), String> {
    match process.pod.as_ref() {
        None => {
            let scoped = pod_selector.is_some() || container_selector.is_some();
            if scoped && host_selector.is_none() {
                return Err("the process is not in a pod, and there is no hostSelector".into());
            }
            if let Some(h) = host_selector {
                if !h.is_empty() {
                    return Err("the process is on the host and the hostSelector is not {}".into());
                }
            }
            Ok(())
        }
        Some(pod) => {
            if let Some(s) = pod_selector {
                if !labels_match(s, &pod_labels(process)) {
                    return Err(format!(
                        "pod {}/{} labels do not match the podSelector",
                        pod.namespace.as_deref().unwrap_or("?"),
                        pod.name.as_deref().unwrap_or("?")
                    ));
                }
            }
            if let Some(s) = container_selector {
                if !labels_match(s, &container_labels(process)) {
                    return Err("the container does not match the containerSelector".into());
                }
            }
            if pod_selector.is_none() && container_selector.is_none() && host_selector.is_some() {
                return Err("the selectors only select host processes".into());
            }
            Ok(())
        }
    }
}

/// `matchWorkloads` of a selector.
pub fn workloads(
    filter: &WorkloadFilter,
    ctx: &ProcessContext<'_>,
    mut why: Option<&mut Why>,
) -> bool {
    let Some(process) = ctx.process else {
        note(&mut why, || "the event has no process: no match".into());
        return false;
    };
    let result = workload(
        filter.pod_selector.as_ref(),
        filter.container_selector.as_ref(),
        filter.host_selector.as_ref(),
        process,
    );
    note(&mut why, || match &result {
        Ok(()) => "the process is in the selected workload".into(),
        Err(e) => e.clone(),
    });
    quirk(
        &mut why,
        "approximation: Tetragon documents no runtime semantics for matchWorkloads; tpc applies the label selectors to pod labels and container name/repo",
    );
    result.is_ok()
}

/// Whether the policy applies to the event's process at all (namespaced
/// policies, `podSelector`, `containerSelector`, `hostSelector`,
/// `nodeSelector`); the reason when it does not.
pub fn policy_scope(policy: &Policy, event: &Event) -> Result<(), String> {
    if let (Some(selector), Some(labels)) = (&policy.node_selector, &event.node_labels) {
        if !labels_match(selector, &labels.0) {
            return Err(format!(
                "node {} does not match the nodeSelector",
                event.node_name.as_deref().unwrap_or("?")
            ));
        }
    }
    let Some(process) = event.process() else {
        return Ok(());
    };
    if policy.kind == PolicyKind::TracingPolicyNamespaced {
        let namespace = policy
            .namespace
            .as_ref()
            .map(|n| n.value.as_str())
            .unwrap_or_default();
        let Some(pod) = process.pod.as_ref() else {
            return Err(format!(
                "a TracingPolicyNamespaced (namespace {namespace}) never applies to host processes"
            ));
        };
        let theirs = pod.namespace.as_deref().unwrap_or_default();
        if theirs != namespace {
            return Err(format!(
                "the pod is in namespace {theirs}, the policy in {namespace}"
            ));
        }
        return workload(
            policy.pod_selector.as_ref(),
            policy.container_selector.as_ref(),
            None,
            process,
        )
        .or_else(|e| {
            if policy.pod_selector.is_none() && policy.container_selector.is_none() {
                Ok(())
            } else {
                Err(e)
            }
        });
    }
    if policy.pod_selector.is_none() && policy.container_selector.is_none() {
        return Ok(());
    }
    workload(
        policy.pod_selector.as_ref(),
        policy.container_selector.as_ref(),
        policy.host_selector.as_ref(),
        process,
    )
}
