//! The user-space process table: follows exec/fork/exit records in ring order and turns them into stream events with full process and parent information.

use std::collections::HashMap;

use crate::{
    clock::BootClock,
    exec_id::exec_id,
    model::{ProcessInfo, SensorEvent, signal_name},
    wire::{ExecRecord, ExitRecord, ForkRecord, Record, RecordFlags},
};

/// Live processes by tgid, seeded from /proc and kept up to date from records.
#[derive(Debug)]
pub struct ProcessTable {
    node_name: String,
    clock: BootClock,
    processes: HashMap<u32, ProcessInfo>,
    /// The host's namespace inodes (`/proc/1/ns`), to mark namespaces as
    /// the host's in events.
    host_ns: [u32; 10],
}

impl ProcessTable {
    pub fn new(node_name: impl Into<String>, clock: BootClock) -> Self {
        Self {
            node_name: node_name.into(),
            clock,
            processes: HashMap::new(),
            host_ns: [0; 10],
        }
    }

    /// Sets the host's namespace inodes.
    pub fn set_host_namespaces(&mut self, host_ns: [u32; 10]) {
        self.host_ns = host_ns;
    }

    pub fn host_namespaces(&self) -> &[u32; 10] {
        &self.host_ns
    }

    /// Which of `ns` are the host's, as a bit mask.
    pub fn host_mask(&self, ns: &[u32; 10]) -> u16 {
        (0..10)
            .filter(|&i| ns[i] != 0 && ns[i] == self.host_ns[i])
            .fold(0u16, |mask, i| mask | (1 << i))
    }

    /// The image `pid` runs, when it is the one the kernel knows as
    /// `exec_ktime` (0: whatever the table has).
    pub fn get_image(&self, pid: u32, exec_ktime: u64) -> Option<&ProcessInfo> {
        self.processes
            .get(&pid)
            .filter(|p| exec_ktime == 0 || p.exec_ktime == exec_ktime)
    }

    /// The parent of a process as the table knows it.
    pub fn parent_of_process(&self, process: &ProcessInfo) -> Option<&ProcessInfo> {
        self.processes
            .get(&process.parent_pid)
            .filter(|parent| Some(&parent.exec_id) == process.parent_exec_id.as_ref())
    }

    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    pub fn clock(&self) -> &BootClock {
        &self.clock
    }

    /// The process currently known under `pid`.
    pub fn get(&self, pid: u32) -> Option<&ProcessInfo> {
        self.processes.get(&pid)
    }

    pub fn len(&self) -> usize {
        self.processes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
    }

    /// Adds a process found running at start, unless a record already told
    /// about a newer image under that pid.
    pub fn seed(&mut self, mut process: ProcessInfo) {
        if let Some(task) = &process.task {
            process.host_ns_mask = self.host_mask(&task.ns);
        }
        self.processes.entry(process.pid).or_insert(process);
    }

    /// The exec id of the image `pid` started at `exec_ktime`.
    pub fn exec_id(&self, exec_ktime: u64, pid: u32) -> String {
        exec_id(&self.node_name, exec_ktime, pid)
    }

    /// Applies one record; returns the stream event it produces, if any
    /// (forks only update the table, as Tetragon exports no clone events).
    pub fn apply(&mut self, record: Record) -> Option<SensorEvent> {
        match record {
            Record::Exec(exec) => Some(self.apply_exec(exec)),
            Record::Fork(fork) => {
                self.apply_fork(&fork);
                None
            }
            Record::Exit(exit) => Some(self.apply_exit(&exit)),
            // Hook records are turned into events by the policy engine.
            Record::Hook(_) | Record::HookReturn(_) => None,
        }
    }

    /// The parent the kernel named: the table's entry for `parent_pid` when
    /// it is the same image (or when the kernel did not know the image).
    fn parent_of(&self, parent_pid: u32, parent_exec_ktime: u64) -> Option<&ProcessInfo> {
        self.processes
            .get(&parent_pid)
            .filter(|parent| parent_exec_ktime == 0 || parent.exec_ktime == parent_exec_ktime)
    }

    fn apply_exec(&mut self, exec: ExecRecord) -> SensorEvent {
        let parent = self
            .parent_of(exec.parent_pid, exec.parent_exec_ktime)
            .cloned();
        let parent_exec_id = match (&parent, exec.parent_exec_ktime) {
            (Some(parent), _) => Some(parent.exec_id.clone()),
            (None, 0) => None,
            (None, ktime) => Some(self.exec_id(ktime, exec.parent_pid)),
        };
        let mut flags = exec.flags;
        if parent.is_some() {
            // the kernel missed it but /proc seeding knew it
            flags.0 &= !RecordFlags::PARENT_UNKNOWN;
        }
        let mut binary = lossy(&exec.binary);
        if binary.is_empty() {
            binary = lossy(&exec.filename);
        }
        let mut argv = split_args(&exec.args);
        if !argv.is_empty() {
            argv.remove(0);
        }
        let process = ProcessInfo {
            exec_id: self.exec_id(exec.exec_ktime, exec.pid),
            pid: exec.pid,
            tid: exec.tid,
            uid: exec.uid,
            euid: exec.euid,
            auid: exec.auid,
            cwd: lossy(&exec.cwd),
            binary,
            arguments: argv,
            flags,
            start_time_ns: self.clock.unix_nanos(exec.exec_ktime),
            parent_pid: exec.parent_pid,
            parent_exec_id,
            exec_ktime: exec.exec_ktime,
            host_ns_mask: self.host_mask(&exec.task.ns),
            task: Some(exec.task),
        };
        self.processes.insert(exec.pid, process.clone());
        SensorEvent::Exec {
            process,
            parent,
            time_ns: self.clock.unix_nanos(exec.ktime),
        }
    }

    fn apply_fork(&mut self, fork: &ForkRecord) {
        let parent = self
            .parent_of(fork.parent_pid, fork.parent_exec_ktime)
            .cloned();
        let exec_id = self.exec_id(fork.exec_ktime, fork.pid);
        let start_time_ns = self.clock.unix_nanos(fork.exec_ktime);
        let child = match parent {
            Some(parent) => ProcessInfo {
                exec_id,
                pid: fork.pid,
                tid: fork.pid,
                flags: RecordFlags(
                    (parent.flags.0 & !RecordFlags::PROCFS & !RecordFlags::EXECVE)
                        | RecordFlags::CLONE,
                ),
                start_time_ns,
                parent_pid: fork.parent_pid,
                parent_exec_id: Some(parent.exec_id.clone()),
                exec_ktime: fork.exec_ktime,
                ..parent
            },
            None => ProcessInfo {
                exec_id,
                pid: fork.pid,
                tid: fork.pid,
                uid: 0,
                euid: 0,
                auid: u32::MAX,
                cwd: String::new(),
                binary: String::new(),
                arguments: Vec::new(),
                flags: RecordFlags(RecordFlags::CLONE | RecordFlags::PARENT_UNKNOWN),
                start_time_ns,
                parent_pid: fork.parent_pid,
                parent_exec_id: (fork.parent_exec_ktime != 0)
                    .then(|| self.exec_id(fork.parent_exec_ktime, fork.parent_pid)),
                exec_ktime: fork.exec_ktime,
                task: None,
                host_ns_mask: 0,
            },
        };
        self.processes.insert(fork.pid, child);
    }

    fn apply_exit(&mut self, exit: &ExitRecord) -> SensorEvent {
        let known = self
            .processes
            .get(&exit.pid)
            .is_some_and(|process| exit.exec_ktime == 0 || process.exec_ktime == exit.exec_ktime);
        let mut process = if known {
            self.processes.remove(&exit.pid)
        } else {
            None
        }
        .unwrap_or_else(|| ProcessInfo {
            exec_id: self.exec_id(exit.exec_ktime, exit.pid),
            pid: exit.pid,
            tid: exit.tid,
            uid: 0,
            euid: 0,
            auid: u32::MAX,
            cwd: String::new(),
            binary: String::new(),
            arguments: Vec::new(),
            flags: RecordFlags(exit.flags.0 | RecordFlags::ENTRY_MISSING),
            start_time_ns: self.clock.unix_nanos(exit.exec_ktime),
            parent_pid: 0,
            parent_exec_id: None,
            exec_ktime: exit.exec_ktime,
            task: None,
            host_ns_mask: 0,
        });
        process.tid = exit.tid;
        let parent = self
            .processes
            .get(&process.parent_pid)
            .filter(|parent| Some(&parent.exec_id) == process.parent_exec_id.as_ref())
            .cloned();
        let signal_number = exit.exit_code & 0x7f;
        let (status, signal) = if signal_number == 0 {
            ((exit.exit_code >> 8) & 0xff, None)
        } else {
            (0, Some(signal_name(signal_number)))
        };
        SensorEvent::Exit {
            process,
            parent,
            status,
            signal,
            time_ns: self.clock.unix_nanos(exit.ktime),
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Splits a NUL-separated argv block. A block cut by the kernel's bound ends
/// without a NUL; its last argument is kept as read.
pub fn split_args(block: &[u8]) -> Vec<String> {
    let trimmed = block.strip_suffix(&[0]).unwrap_or(block);
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split(|&byte| byte == 0).map(lossy).collect()
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use super::*;
    use crate::wire::RecordFlags;

    fn table() -> ProcessTable {
        ProcessTable::new("node", BootClock::with_boot_at(0))
    }

    fn seeded_shell(table: &mut ProcessTable) {
        table.seed(ProcessInfo {
            exec_id: table.exec_id(100, 10),
            pid: 10,
            tid: 10,
            uid: 0,
            euid: 0,
            auid: u32::MAX,
            cwd: "/root".into(),
            binary: "/usr/bin/sh".into(),
            arguments: vec!["script.sh".into()],
            flags: RecordFlags(RecordFlags::PROCFS),
            start_time_ns: 0,
            parent_pid: 1,
            parent_exec_id: None,
            exec_ktime: 100,
            task: None,
            host_ns_mask: 0,
        });
    }

    fn exec_record(
        pid: u32,
        parent_pid: u32,
        exec_ktime: u64,
        parent_exec_ktime: u64,
    ) -> ExecRecord {
        ExecRecord {
            cpu: 0,
            ktime: exec_ktime,
            pid,
            tid: pid,
            parent_pid,
            flags: RecordFlags(RecordFlags::EXECVE | RecordFlags::CLONE),
            exec_ktime,
            parent_exec_ktime,
            process_start_ktime: exec_ktime - 1,
            uid: 0,
            euid: 0,
            auid: u32::MAX,
            old_tid: pid,
            binary: b"/usr/bin/true".to_vec(),
            cwd: b"/root".to_vec(),
            args: b"true\0--flag\0".to_vec(),
            filename: b"/bin/true".to_vec(),
            task: crate::wire::TaskInfo::default(),
        }
    }

    #[test]
    fn fork_exec_exit_links_child_to_seeded_parent() {
        let mut table = table();
        seeded_shell(&mut table);
        let fork = ForkRecord {
            cpu: 0,
            ktime: 200,
            pid: 11,
            parent_pid: 10,
            flags: RecordFlags(RecordFlags::CLONE),
            exec_ktime: 200,
            parent_exec_ktime: 100,
        };
        assert!(table.apply(Record::Fork(fork)).is_none());
        assert_eq!(
            table.get(11).map(|child| child.binary.as_str()),
            Some("/usr/bin/sh")
        );

        let exec = table
            .apply(Record::Exec(exec_record(11, 10, 300, 100)))
            .unwrap();
        let SensorEvent::Exec {
            process, parent, ..
        } = exec
        else {
            panic!("not an exec: {exec:?}")
        };
        assert_eq!(process.binary, "/usr/bin/true");
        assert_eq!(process.arguments, vec!["--flag".to_owned()]);
        assert_eq!(
            process.parent_exec_id.as_deref(),
            Some(table.exec_id(100, 10).as_str())
        );
        assert_eq!(parent.unwrap().binary, "/usr/bin/sh");

        let exit = ExitRecord {
            cpu: 1,
            ktime: 400,
            pid: 11,
            tid: 11,
            exit_code: 3 << 8,
            flags: RecordFlags(0),
            exec_ktime: 300,
        };
        let SensorEvent::Exit {
            process: exited,
            status,
            signal,
            parent,
            ..
        } = table.apply(Record::Exit(exit)).unwrap()
        else {
            panic!("not an exit")
        };
        assert_eq!(exited.exec_id, process.exec_id);
        assert_eq!((status, signal), (3, None));
        assert_eq!(parent.unwrap().pid, 10);
        assert!(table.get(11).is_none());
    }

    #[test]
    fn exit_by_signal_and_unknown_process() {
        let mut table = table();
        let exit = ExitRecord {
            cpu: 0,
            ktime: 9,
            pid: 77,
            tid: 78,
            exit_code: 9,
            flags: RecordFlags(RecordFlags::ENTRY_MISSING),
            exec_ktime: 0,
        };
        let SensorEvent::Exit {
            process,
            status,
            signal,
            ..
        } = table.apply(Record::Exit(exit)).unwrap()
        else {
            panic!("not an exit")
        };
        assert_eq!((status, signal.as_deref()), (0, Some("SIGKILL")));
        assert_eq!(process.tid, 78);
        assert!(process.flags.has(RecordFlags::ENTRY_MISSING));
    }

    #[test]
    fn a_stale_exit_does_not_remove_a_newer_image() {
        let mut table = table();
        table.apply(Record::Exec(exec_record(20, 1, 500, 0)));
        let stale = ExitRecord {
            cpu: 0,
            ktime: 600,
            pid: 20,
            tid: 20,
            exit_code: 0,
            flags: RecordFlags(0),
            exec_ktime: 499,
        };
        table.apply(Record::Exit(stale));
        assert_eq!(table.get(20).map(|process| process.exec_ktime), Some(500));
    }

    #[test]
    fn exec_of_unknown_parent_keeps_the_kernel_parent_id() {
        let mut table = table();
        let SensorEvent::Exec {
            process, parent, ..
        } = table
            .apply(Record::Exec(exec_record(30, 29, 700, 650)))
            .unwrap()
        else {
            panic!("not an exec")
        };
        assert!(parent.is_none());
        assert_eq!(process.parent_exec_id, Some(table.exec_id(650, 29)));
    }

    #[test]
    fn argument_blocks_split_on_nul() {
        assert_eq!(
            split_args(b"a\0b c\0"),
            vec!["a".to_owned(), "b c".to_owned()]
        );
        assert_eq!(
            split_args(b"a\0trunc"),
            vec!["a".to_owned(), "trunc".to_owned()]
        );
        assert!(split_args(b"").is_empty());
        assert_eq!(split_args(b"a\0\0"), vec!["a".to_owned(), String::new()]);
    }
}
