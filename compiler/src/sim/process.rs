//! The process tree the simulator keeps, standing in for Tetragon's
//! `execve_map`: built from `process_exec` events and, for processes whose
//! exec the input does not hold, from the `process`, `parent` and
//! `ancestors` of hook events. It answers what `followForks`,
//! `followChildren` and the namespace/capability change filters need:
//! ancestors' PIDs and binaries, and the namespaces and capabilities
//! recorded for a process.

use std::collections::HashMap;
use tpc_events::{Event, Namespace, Namespaces, Process};

use crate::ir::{CapabilitySet, NamespaceKind};

/// How far ancestor walks go (a guard against cycles in bad input).
const MAX_LINEAGE: usize = 64;

/// Where the simulator learned about a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessSource {
    /// Its `process_exec` event was in the input.
    Exec,
    /// Only from another event's `process`, `parent` or `ancestors`.
    Observed,
}

/// One process of the tree.
#[derive(Clone, Debug)]
pub struct ProcessNode {
    pub pid: Option<u32>,
    /// PID in its own PID namespace: 0 for host processes (as Tetragon's
    /// map stores it), `None` when the events do not say.
    pub nspid: Option<u32>,
    pub binary: String,
    /// Key of the parent (its `exec_id`).
    pub parent: Option<String>,
    pub source: ProcessSource,
    pub exited: bool,
    /// Capability masks recorded at exec (or at the last change match), in
    /// the order effective, inheritable, permitted.
    pub recorded_caps: Option<[u64; 3]>,
    /// Namespace inodes recorded at exec (or at the last change match), in
    /// [`NamespaceKind::ALL`] order.
    pub recorded_ns: Option<[Option<u32>; 10]>,
}

/// One ancestor of a process, nearest first.
#[derive(Clone, Debug)]
pub struct Ancestor<'a> {
    pub pid: Option<u32>,
    pub nspid: Option<u32>,
    pub binary: &'a str,
    pub source: ProcessSource,
    /// Known from the event's own `parent`/`ancestors` fields.
    pub from_event: bool,
}

/// The tree, keyed by `exec_id` (or `pid:N` for processes without one).
#[derive(Debug, Default)]
pub struct ProcessTree {
    nodes: HashMap<String, ProcessNode>,
}

/// The key of a process in the tree.
pub fn process_key(process: &Process) -> Option<String> {
    match process.exec_id.as_deref() {
        Some(id) if !id.is_empty() => Some(id.to_string()),
        _ => process.pid().map(|pid| format!("pid:{pid}")),
    }
}

/// The PID of a process inside its PID namespace, as Tetragon's map keeps
/// it: 0 for a process in the host PID namespace; the container PID for a
/// process in a pod; unknown otherwise.
pub fn namespace_pid(process: &Process) -> Option<u32> {
    let pid_ns = process.ns.as_ref().and_then(|ns| ns.pid.as_ref());
    if pid_ns.is_some_and(|ns| ns.is_host == Some(true)) {
        return Some(0);
    }
    if let Some(pid) = process.container_pid() {
        return Some(pid);
    }
    if process.pod.is_none() && pid_ns.is_none() {
        return Some(0);
    }
    None
}

/// The capability masks of a process (effective, inheritable, permitted);
/// `None` when the event has no `cap`.
pub fn capability_masks(process: &Process) -> Option<[u64; 3]> {
    let cap = process.cap.as_ref()?;
    let mask = |list: &Option<Vec<tpc_events::Capability>>| -> u64 {
        list.as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.number())
            .filter_map(|n| u32::try_from(n).ok())
            .filter(|n| *n < 64)
            .fold(0u64, |m, n| m | (1u64 << n))
    };
    Some([
        mask(&cap.effective),
        mask(&cap.inheritable),
        mask(&cap.permitted),
    ])
}

pub fn capability_slot(set: CapabilitySet) -> usize {
    match set {
        CapabilitySet::Effective => 0,
        CapabilitySet::Inheritable => 1,
        CapabilitySet::Permitted => 2,
    }
}

/// One namespace of a process.
pub fn namespace(namespaces: &Namespaces, kind: NamespaceKind) -> Option<&Namespace> {
    match kind {
        NamespaceKind::Uts => namespaces.uts.as_ref(),
        NamespaceKind::Ipc => namespaces.ipc.as_ref(),
        NamespaceKind::Mnt => namespaces.mnt.as_ref(),
        NamespaceKind::Pid => namespaces.pid.as_ref(),
        NamespaceKind::PidForChildren => namespaces.pid_for_children.as_ref(),
        NamespaceKind::Net => namespaces.net.as_ref(),
        NamespaceKind::Time => namespaces.time.as_ref(),
        NamespaceKind::TimeForChildren => namespaces.time_for_children.as_ref(),
        NamespaceKind::Cgroup => namespaces.cgroup.as_ref(),
        NamespaceKind::User => namespaces.user.as_ref(),
    }
}

/// The namespace inodes of a process in [`NamespaceKind::ALL`] order.
pub fn namespace_inodes(process: &Process) -> Option<[Option<u32>; 10]> {
    let ns = process.ns.as_ref()?;
    let mut out = [None; 10];
    for (slot, kind) in out.iter_mut().zip(NamespaceKind::ALL) {
        *slot = namespace(ns, kind).and_then(|n| n.inum).map(|i| i.get());
    }
    Some(out)
}

impl ProcessTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&ProcessNode> {
        self.nodes.get(key)
    }

    fn node_of(process: &Process, source: ProcessSource) -> ProcessNode {
        ProcessNode {
            pid: process.pid(),
            nspid: namespace_pid(process),
            binary: process.binary().to_string(),
            parent: process.parent_exec_id.clone().filter(|p| !p.is_empty()),
            source,
            exited: false,
            recorded_caps: capability_masks(process),
            recorded_ns: namespace_inodes(process),
        }
    }

    /// Adds a process known from an event field, unless already known.
    fn observe_process(&mut self, process: &Process) {
        let Some(key) = process.exec_id.as_deref().filter(|k| !k.is_empty()) else {
            if let Some(key) = process_key(process) {
                self.nodes
                    .entry(key)
                    .or_insert_with(|| Self::node_of(process, ProcessSource::Observed));
            }
            return;
        };
        match self.nodes.get_mut(key) {
            Some(node) => {
                // Fill what an earlier mention left unknown.
                if node.binary.is_empty() {
                    node.binary = process.binary().to_string();
                }
                if node.pid.is_none() {
                    node.pid = process.pid();
                }
                if node.parent.is_none() {
                    node.parent = process.parent_exec_id.clone().filter(|p| !p.is_empty());
                }
                if node.recorded_caps.is_none() {
                    node.recorded_caps = capability_masks(process);
                }
                if node.recorded_ns.is_none() {
                    node.recorded_ns = namespace_inodes(process);
                }
            }
            None => {
                self.nodes.insert(
                    key.to_string(),
                    Self::node_of(process, ProcessSource::Observed),
                );
            }
        }
    }

    /// Links a chain of processes (the event's process, parent and
    /// ancestors) whose own `parent_exec_id` may be missing.
    fn link(&mut self, child: &Process, parent: &Process) {
        let (Some(child), Some(parent)) = (process_key(child), process_key(parent)) else {
            return;
        };
        if let Some(node) = self.nodes.get_mut(&child) {
            if node.parent.is_none() {
                node.parent = Some(parent);
            }
        }
    }

    /// Records everything an event says about processes: an exec (re)sets
    /// its process; any event adds the processes it mentions.
    pub fn ingest(&mut self, event: &Event) {
        let Some(process) = event.process() else {
            return;
        };
        let parent = event.parent();
        let ancestors = event.ancestors();
        if event.kind() == tpc_events::EventKind::ProcessExec {
            if let Some(key) = process_key(process) {
                self.nodes
                    .insert(key, Self::node_of(process, ProcessSource::Exec));
            }
        } else {
            self.observe_process(process);
        }
        if let Some(parent) = parent {
            self.observe_process(parent);
            self.link(process, parent);
            let mut child = parent;
            for ancestor in ancestors {
                self.observe_process(ancestor);
                self.link(child, ancestor);
                child = ancestor;
            }
        }
        if event.kind() == tpc_events::EventKind::ProcessExit {
            if let Some(node) = process_key(process).and_then(|k| self.nodes.get_mut(&k)) {
                node.exited = true;
            }
        }
    }

    /// The recorded state of a process, to update after a change filter matched.
    pub fn record_current(&mut self, process: &Process) {
        let Some(key) = process_key(process) else {
            return;
        };
        if let Some(node) = self.nodes.get_mut(&key) {
            if let Some(caps) = capability_masks(process) {
                node.recorded_caps = Some(caps);
            }
            if let Some(ns) = namespace_inodes(process) {
                node.recorded_ns = Some(ns);
            }
        }
    }

    /// The ancestors of the event's process, nearest first: the event's
    /// `parent` and `ancestors` fields, continued from the tree.
    pub fn lineage<'a>(&'a self, event: &'a Event) -> Vec<Ancestor<'a>> {
        let mut out = Vec::new();
        let Some(process) = event.process() else {
            return out;
        };
        let mut next_key: Option<&'a str> =
            process.parent_exec_id.as_deref().filter(|p| !p.is_empty());
        let mut from_event_parent = false;
        if let Some(parent) = event.parent() {
            from_event_parent = true;
            out.push(self.ancestor_from_event(parent));
            next_key = parent.parent_exec_id.as_deref().filter(|p| !p.is_empty());
            for ancestor in event.ancestors() {
                out.push(self.ancestor_from_event(ancestor));
                next_key = ancestor.parent_exec_id.as_deref().filter(|p| !p.is_empty());
            }
        }
        if !from_event_parent {
            // No parent in the event: the tree's parent of the process.
            if let Some(node) = process_key(process).and_then(|k| self.nodes.get(&k)) {
                next_key = node.parent.as_deref().or(next_key);
            }
        }
        while let Some(key) = next_key {
            if out.len() >= MAX_LINEAGE {
                break;
            }
            let Some(node) = self.nodes.get(key) else {
                break;
            };
            out.push(Ancestor {
                pid: node.pid,
                nspid: node.nspid,
                binary: &node.binary,
                source: node.source,
                from_event: false,
            });
            next_key = node.parent.as_deref();
        }
        out
    }

    fn ancestor_from_event<'a>(&'a self, process: &'a Process) -> Ancestor<'a> {
        let source = process
            .exec_id
            .as_deref()
            .and_then(|k| self.nodes.get(k))
            .map_or(ProcessSource::Observed, |n| n.source);
        Ancestor {
            pid: process.pid(),
            nspid: namespace_pid(process),
            binary: process.binary(),
            source,
            from_event: true,
        }
    }
}
