//! What the sensor reports: processes and lifecycle events, converted to the shared Tetragon event model (`tpc-events`) or rendered as compact lines.

use serde_json::Value;
use tpc_events::{
    Capabilities, Capability, Event, JsonInt, Namespace, Namespaces, Process, RateLimitInfo,
    Timestamp,
};

use crate::wire::{RecordFlags, TaskInfo};

/// A process as the runtime knows it (one exec image, or a fork of one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub exec_id: String,
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub euid: u32,
    pub auid: u32,
    pub cwd: String,
    pub binary: String,
    /// argv[1..]; argv[0] is not reported, as in Tetragon.
    pub arguments: Vec<String>,
    pub flags: RecordFlags,
    /// Unix-epoch ns the image started.
    pub start_time_ns: i64,
    pub parent_pid: u32,
    pub parent_exec_id: Option<String>,
    /// Boot-time ns of the exec (or fork) that is this image's identity.
    pub exec_ktime: u64,
    /// Namespaces and capabilities, when known (at exec, or as a hook saw them).
    pub task: Option<TaskInfo>,
    /// Bit `i` set: namespace `i` of `task` is the host's.
    pub host_ns_mask: u16,
}

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SensorEvent {
    Exec {
        process: ProcessInfo,
        parent: Option<ProcessInfo>,
        /// Unix-epoch ns of the event.
        time_ns: i64,
    },
    Exit {
        process: ProcessInfo,
        parent: Option<ProcessInfo>,
        /// Exit code when the process exited normally.
        status: u32,
        /// Terminating signal name ("SIGKILL"), when a signal ended it.
        signal: Option<String>,
        time_ns: i64,
    },
    /// Records the kernel could not deliver because the ring buffer was full,
    /// since the previous report.
    Lost { dropped: DropCounts, time_ns: i64 },
    /// An event a policy posted.
    Policy(Box<crate::policies::events::PolicyEvent>),
    /// Hook records of a policy the ring buffer could not take, since the
    /// previous report.
    PolicyLost {
        policy: String,
        dropped: u64,
        time_ns: i64,
    },
}

/// Records dropped by the kernel side, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropCounts {
    pub exec: u64,
    pub fork: u64,
    pub exit: u64,
}

impl DropCounts {
    pub fn total(&self) -> u64 {
        self.exec + self.fork + self.exit
    }

    /// `self - earlier`, per kind (counters only grow).
    pub fn since(&self, earlier: &DropCounts) -> DropCounts {
        DropCounts {
            exec: self.exec.saturating_sub(earlier.exec),
            fork: self.fork.saturating_sub(earlier.fork),
            exit: self.exit.saturating_sub(earlier.exit),
        }
    }
}

/// Tetragon's flag words for a process, in Tetragon's order.
pub fn flag_words(flags: RecordFlags, cwd: &str) -> String {
    let mut words = Vec::new();
    if flags.has(RecordFlags::EXECVE) {
        words.push("execve");
    }
    if flags.has(RecordFlags::PROCFS) {
        words.push("procFS");
    }
    if flags.has(RecordFlags::TRUNC_BINARY) || flags.has(RecordFlags::TRUNC_FILENAME) {
        words.push("truncFilename");
    }
    if flags.has(RecordFlags::TRUNC_ARGS) {
        words.push("truncArgs");
    }
    if flags.has(RecordFlags::PARENT_UNKNOWN) || flags.has(RecordFlags::ENTRY_MISSING) {
        words.push("miss");
    }
    if flags.has(RecordFlags::ERROR_BINARY) {
        words.push("errorFilename");
    }
    if flags.has(RecordFlags::ERROR_ARGS) {
        words.push("errorArgs");
    }
    if flags.has(RecordFlags::TRUNC_CWD) {
        words.push("truncCwd");
    }
    if cwd == "/" {
        words.push("rootcwd");
    }
    if flags.has(RecordFlags::ERROR_CWD) {
        words.push("errorCWD");
    }
    if flags.has(RecordFlags::CLONE) {
        words.push("clone");
    }
    words.join(" ")
}

/// Joins argv[1..] the way Tetragon's `arguments` reads: space-separated,
/// with an argument that holds whitespace, a quote or a backslash quoted.
pub fn join_arguments(arguments: &[String]) -> String {
    let mut joined = String::new();
    for (index, argument) in arguments.iter().enumerate() {
        if index > 0 {
            joined.push(' ');
        }
        let needs_quotes = argument.is_empty()
            || argument
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\\');
        if needs_quotes {
            joined.push('"');
            for c in argument.chars() {
                if c == '"' || c == '\\' {
                    joined.push('\\');
                }
                joined.push(c);
            }
            joined.push('"');
        } else {
            joined.push_str(argument);
        }
    }
    joined
}

/// Signal names for exit statuses.
pub fn signal_name(signal: u32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        16 => "SIGSTKFLT",
        17 => "SIGCHLD",
        18 => "SIGCONT",
        19 => "SIGSTOP",
        20 => "SIGTSTP",
        21 => "SIGTTIN",
        22 => "SIGTTOU",
        23 => "SIGURG",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        26 => "SIGVTALRM",
        27 => "SIGPROF",
        28 => "SIGWINCH",
        29 => "SIGIO",
        30 => "SIGPWR",
        31 => "SIGSYS",
        other => return format!("SIG{other}"),
    };
    name.to_owned()
}

impl ProcessInfo {
    /// The `process` / `parent` object of Tetragon's JSON export. `uid` is
    /// the effective uid, as in Tetragon.
    pub fn to_process(&self) -> Process {
        let mut process = Process::new(self.exec_id.clone(), self.pid, self.binary.clone());
        process.uid = Some(JsonInt::new(self.euid));
        process.cwd = Some(self.cwd.clone());
        let arguments = join_arguments(&self.arguments);
        if !arguments.is_empty() {
            process.arguments = Some(arguments);
        }
        process.flags = Some(flag_words(self.flags, &self.cwd));
        process.start_time = Some(Timestamp::from_unix_nanos(self.start_time_ns));
        process.auid = Some(JsonInt::new(self.auid));
        process.parent_exec_id = self.parent_exec_id.clone();
        process.tid = Some(JsonInt::new(self.tid));
        if let Some(task) = &self.task {
            process.ns = Some(Box::new(namespaces(&task.ns, self.host_ns_mask)));
            process.cap = Some(Box::new(capabilities(&task.caps)));
        }
        process
    }
}

/// `process.ns` of Tetragon's export; a namespace whose inode is 0 (the
/// kernel lacks it) is left out.
pub fn namespaces(ns: &[u32; 10], host_mask: u16) -> Namespaces {
    let one = |i: usize| {
        (ns[i] != 0).then(|| Namespace {
            inum: Some(JsonInt::new(ns[i])),
            is_host: Some(host_mask & (1 << i) != 0),
            ..Namespace::default()
        })
    };
    Namespaces {
        uts: one(0),
        ipc: one(1),
        mnt: one(2),
        pid: one(3),
        pid_for_children: one(4),
        net: one(5),
        time: one(6),
        time_for_children: one(7),
        cgroup: one(8),
        user: one(9),
        ..Namespaces::default()
    }
}

/// `process.cap` of Tetragon's export from (effective, inheritable,
/// permitted) masks.
pub fn capabilities(caps: &[u64; 3]) -> Capabilities {
    let list = |mask: u64| -> Vec<Capability> {
        (0..64)
            .filter(|bit| mask & (1u64 << bit) != 0)
            .filter_map(Capability::from_number)
            .collect()
    };
    Capabilities {
        effective: Some(list(caps[0])),
        inheritable: Some(list(caps[1])),
        permitted: Some(list(caps[2])),
        ..Capabilities::default()
    }
}

impl SensorEvent {
    /// The event in the shared event model: `process_exec`, `process_exit`,
    /// or `rate_limit_info` for records the kernel dropped.
    pub fn to_event(&self, node_name: &str) -> Event {
        let event = match self {
            SensorEvent::Exec {
                process,
                parent,
                time_ns,
            } => Event::process_exec(
                process.to_process(),
                parent.as_ref().map(ProcessInfo::to_process),
                Timestamp::from_unix_nanos(*time_ns),
            ),
            SensorEvent::Exit {
                process,
                parent,
                status,
                signal,
                time_ns,
            } => {
                let mut event = Event::process_exit(
                    process.to_process(),
                    parent.as_ref().map(ProcessInfo::to_process),
                    *status,
                    signal.clone(),
                    Timestamp::from_unix_nanos(*time_ns),
                );
                if let tpc_events::EventBody::ProcessExit(exit) = &mut event.body {
                    exit.time = Some(Timestamp::from_unix_nanos(*time_ns));
                }
                event
            }
            SensorEvent::Lost { dropped, time_ns } => {
                let info = RateLimitInfo {
                    number_of_dropped_process_events: Some(JsonInt::new(dropped.total())),
                    ..RateLimitInfo::default()
                };
                Event::new(info).with_time(Timestamp::from_unix_nanos(*time_ns))
            }
            SensorEvent::Policy(posted) => posted.event.clone(),
            SensorEvent::PolicyLost {
                dropped, time_ns, ..
            } => {
                let info = RateLimitInfo {
                    number_of_dropped_process_events: Some(JsonInt::new(*dropped)),
                    ..RateLimitInfo::default()
                };
                Event::new(info).with_time(Timestamp::from_unix_nanos(*time_ns))
            }
        };
        event.with_node_name(node_name)
    }

    /// The event as one JSON line of Tetragon's export.
    pub fn to_json_line(&self, node_name: &str) -> String {
        self.to_event(node_name).to_json_line()
    }

    /// The event as a JSON value of Tetragon's export.
    pub fn to_tetragon_json(&self, node_name: &str) -> Value {
        self.to_event(node_name).to_json_value()
    }

    /// One line like `tetra getevents -o compact`.
    pub fn to_compact_line(&self) -> String {
        match self {
            SensorEvent::Exec { process, .. } => {
                let arguments = join_arguments(&process.arguments);
                let mut line = format!("🚀 process {} {}", process.pid, process.binary);
                if !arguments.is_empty() {
                    line.push(' ');
                    line.push_str(&arguments);
                }
                line
            }
            SensorEvent::Exit {
                process,
                status,
                signal,
                ..
            } => {
                let arguments = join_arguments(&process.arguments);
                let mut line = format!("💥 exit    {} {}", process.pid, process.binary);
                if !arguments.is_empty() {
                    line.push(' ');
                    line.push_str(&arguments);
                }
                match signal {
                    Some(signal) => line.push_str(&format!(" {signal}")),
                    None => line.push_str(&format!(" {status}")),
                }
                line
            }
            SensorEvent::Lost { dropped, .. } => format!(
                "⚠️ lost    {} records (exec {}, fork {}, exit {}): ring buffer full",
                dropped.total(),
                dropped.exec,
                dropped.fork,
                dropped.exit
            ),
            SensorEvent::Policy(posted) => posted.compact.clone(),
            SensorEvent::PolicyLost {
                policy, dropped, ..
            } => format!("⚠️ lost    {dropped} events of policy {policy}: ring buffer full"),
        }
    }
}

/// Renders events as JSON lines, each process object once: a process's
/// JSON is kept from its exec and reused for its exit and as the parent of
/// its children (exec and exit events carry two process objects each, most
/// of the bytes of the stream). The lines are byte for byte those of
/// [`SensorEvent::to_json_line`].
#[derive(Debug, Default)]
pub struct JsonLines {
    processes: std::collections::HashMap<String, (ProcessInfo, String)>,
}

/// Processes whose JSON is kept; the cache starts again when it is full.
const JSON_CACHE_ENTRIES: usize = 16_384;

impl JsonLines {
    pub fn new() -> Self {
        Self::default()
    }

    fn process(&mut self, process: &ProcessInfo) -> String {
        if let Some((known, json)) = self.processes.get(&process.exec_id) {
            if known == process {
                return json.clone();
            }
        }
        let json = serde_json::to_string(&process.to_process()).unwrap_or_default();
        if self.processes.len() >= JSON_CACHE_ENTRIES {
            self.processes.clear();
        }
        self.processes
            .insert(process.exec_id.clone(), (process.clone(), json.clone()));
        json
    }

    /// One JSON line (without the newline).
    pub fn line(&mut self, event: &SensorEvent, node_name: &str) -> String {
        let text = |value: &str| serde_json::to_string(value).unwrap_or_default();
        match event {
            SensorEvent::Exec {
                process,
                parent,
                time_ns,
            } => {
                let time = serde_json::to_string(&Timestamp::from_unix_nanos(*time_ns))
                    .unwrap_or_default();
                let mut line = String::with_capacity(4096);
                line.push_str("{\"process_exec\":{\"process\":");
                line.push_str(&self.process(process));
                if let Some(parent) = parent {
                    line.push_str(",\"parent\":");
                    line.push_str(&self.process(parent));
                }
                line.push_str("},\"node_name\":");
                line.push_str(&text(node_name));
                line.push_str(",\"time\":");
                line.push_str(&time);
                line.push('}');
                line
            }
            SensorEvent::Exit {
                process,
                parent,
                status,
                signal,
                time_ns,
            } => {
                let time = serde_json::to_string(&Timestamp::from_unix_nanos(*time_ns))
                    .unwrap_or_default();
                let mut line = String::with_capacity(4096);
                line.push_str("{\"process_exit\":{\"process\":");
                line.push_str(&self.process(process));
                // the process is gone; its children keep their own copy
                self.processes.remove(&process.exec_id);
                if let Some(parent) = parent {
                    line.push_str(",\"parent\":");
                    line.push_str(&self.process(parent));
                }
                if let Some(signal) = signal {
                    line.push_str(",\"signal\":");
                    line.push_str(&text(signal));
                }
                line.push_str(",\"status\":");
                line.push_str(&status.to_string());
                line.push_str(",\"time\":");
                line.push_str(&time);
                line.push_str("},\"node_name\":");
                line.push_str(&text(node_name));
                line.push_str(",\"time\":");
                line.push_str(&time);
                line.push('}');
                line
            }
            other => other.to_json_line(node_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process() -> ProcessInfo {
        ProcessInfo {
            exec_id: "aWQ=".into(),
            pid: 42,
            tid: 42,
            uid: 0,
            euid: 0,
            auid: 4_294_967_295,
            cwd: "/".into(),
            binary: "/usr/bin/cat".into(),
            arguments: vec!["/etc/hosts".into(), "a b".into()],
            flags: RecordFlags(RecordFlags::EXECVE | RecordFlags::CLONE),
            start_time_ns: 1_643_738_516_410_000_000,
            parent_pid: 1,
            parent_exec_id: Some("cGFyZW50".into()),
            exec_ktime: 5,
            task: None,
            host_ns_mask: 0,
        }
    }

    #[test]
    fn exec_json_has_tetragon_fields() {
        let event = SensorEvent::Exec {
            process: process(),
            parent: None,
            time_ns: 0,
        };
        let json = event.to_tetragon_json("node");
        let process = &json["process_exec"]["process"];
        assert_eq!(process["binary"], "/usr/bin/cat");
        assert_eq!(process["arguments"], "/etc/hosts \"a b\"");
        assert_eq!(process["flags"], "execve rootcwd clone");
        assert_eq!(process["parent_exec_id"], "cGFyZW50");
        assert_eq!(json["node_name"], "node");
        assert!(json["process_exec"].get("parent").is_none());
    }

    #[test]
    fn exit_json_and_compact_carry_status_or_signal() {
        let exited = SensorEvent::Exit {
            process: process(),
            parent: None,
            status: 3,
            signal: None,
            time_ns: 0,
        };
        assert_eq!(exited.to_tetragon_json("n")["process_exit"]["status"], 3);
        assert!(exited.to_compact_line().ends_with(" 3"));
        let killed = SensorEvent::Exit {
            process: process(),
            parent: None,
            status: 0,
            signal: Some(signal_name(9)),
            time_ns: 0,
        };
        let json = killed.to_tetragon_json("n");
        assert_eq!(json["process_exit"]["signal"], "SIGKILL");
        let status = &json["process_exit"]["status"];
        assert!(status.is_null() || status == 0, "{json}");
        assert!(killed.to_compact_line().starts_with("💥 exit"));
    }

    #[test]
    fn lost_records_are_reported() {
        let lost = SensorEvent::Lost {
            dropped: DropCounts {
                exec: 2,
                fork: 1,
                exit: 0,
            },
            time_ns: 0,
        };
        let json = lost.to_tetragon_json("n");
        let dropped = &json["rate_limit_info"]["number_of_dropped_process_events"];
        assert!(dropped == "3" || dropped == 3, "{json}");
        assert!(lost.to_compact_line().contains("3 records"));
    }

    #[test]
    fn cached_json_lines_are_the_events_json_lines() {
        let mut child = process();
        child.exec_id = "Y2hpbGQ=".into();
        child.pid = 43;
        child.task = Some(TaskInfo {
            ns: [4_026_531_836; 10],
            caps: [0x1ff_ffff_ffff, 0, 0x1ff_ffff_ffff],
            nspid: 43,
        });
        child.host_ns_mask = 0x3ff;
        let parent = process();
        let events = [
            SensorEvent::Exec {
                process: child.clone(),
                parent: Some(parent.clone()),
                time_ns: 1_700_000_000_123_456_789,
            },
            SensorEvent::Exec {
                process: parent.clone(),
                parent: None,
                time_ns: 1,
            },
            SensorEvent::Exit {
                process: child.clone(),
                parent: Some(parent.clone()),
                status: 0,
                signal: None,
                time_ns: 1_700_000_001_000_000_000,
            },
            SensorEvent::Exit {
                process: child.clone(),
                parent: None,
                status: 9,
                signal: Some("SIGKILL".into()),
                time_ns: 2,
            },
            SensorEvent::Lost {
                dropped: DropCounts {
                    exec: 1,
                    fork: 0,
                    exit: 2,
                },
                time_ns: 3,
            },
        ];
        let mut lines = JsonLines::new();
        // twice: from an empty cache and from a warm one
        for _ in 0..2 {
            for event in &events {
                assert_eq!(lines.line(event, "no\"de"), event.to_json_line("no\"de"));
            }
        }
        // a process whose record changed under the same exec id is rendered anew
        let mut changed = child.clone();
        changed.cwd = "/tmp".into();
        let exec = SensorEvent::Exec {
            process: changed,
            parent: None,
            time_ns: 4,
        };
        assert_eq!(lines.line(&exec, "n"), exec.to_json_line("n"));
    }
}
