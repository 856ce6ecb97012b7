//! Seeding from /proc: processes already running when the sensor starts get exec ids, parents and binaries.

use std::{collections::HashMap, fs, path::Path};

use crate::{
    exec_id::exec_id,
    model::ProcessInfo,
    wire::{ProcessEntry, RecordFlags, TaskInfo},
};

/// The entries of `/proc/<pid>/ns` in `tpc_bundle::NAMESPACE_KINDS` order.
pub const NAMESPACE_FILES: [&str; 10] = [
    "uts",
    "ipc",
    "mnt",
    "pid",
    "pid_for_children",
    "net",
    "time",
    "time_for_children",
    "cgroup",
    "user",
];

/// One process read from /proc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcSnapshot {
    pub pid: u32,
    pub parent_pid: u32,
    /// Boot-time ns the process started (stat field 22, in clock ticks).
    pub start_ktime: u64,
    pub uid: u32,
    pub euid: u32,
    pub auid: u32,
    pub binary: String,
    pub cwd: String,
    /// argv, argv[0] included.
    pub argv: Vec<String>,
    /// Namespaces, capabilities and namespace pid.
    pub task: TaskInfo,
}

/// Reads every process under `proc_root` (normally `/proc`). Processes that
/// vanish while being read are skipped.
pub fn read_processes(proc_root: &Path, clock_ticks_per_second: u64) -> Vec<ProcSnapshot> {
    let Ok(entries) = fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut snapshots: Vec<ProcSnapshot> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            read_process(
                &proc_root.join(pid.to_string()),
                pid,
                clock_ticks_per_second,
            )
        })
        .collect();
    snapshots.sort_by_key(|snapshot| snapshot.pid);
    snapshots
}

fn read_process(dir: &Path, pid: u32, clock_ticks_per_second: u64) -> Option<ProcSnapshot> {
    let stat = fs::read_to_string(dir.join("stat")).ok()?;
    let (parent_pid, start_ticks) = parse_stat(&stat)?;
    let status = fs::read_to_string(dir.join("status")).ok()?;
    let (uid, euid) = parse_status_uids(&status)?;
    let auid = fs::read_to_string(dir.join("loginuid"))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(u32::MAX);
    let link = |name: &str| {
        fs::read_link(dir.join(name))
            .map(|target| target.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let argv = fs::read(dir.join("cmdline"))
        .map(|block| crate::process_table::split_args(&block))
        .unwrap_or_default();
    let nanos_per_tick = 1_000_000_000 / clock_ticks_per_second.max(1);
    Some(ProcSnapshot {
        pid,
        parent_pid,
        start_ktime: start_ticks.saturating_mul(nanos_per_tick),
        uid,
        euid,
        auid,
        binary: link("exe"),
        cwd: link("cwd"),
        argv,
        task: TaskInfo {
            ns: read_namespaces(dir),
            caps: parse_status_caps(&status),
            nspid: parse_status_nspid(&status),
        },
    })
}

/// The namespace inodes of a process (`/proc/<pid>/ns/*`); 0 where the
/// kernel has no such namespace.
pub fn read_namespaces(dir: &Path) -> [u32; 10] {
    let mut out = [0u32; 10];
    for (slot, name) in out.iter_mut().zip(NAMESPACE_FILES) {
        *slot = fs::read_link(dir.join("ns").join(name))
            .ok()
            .and_then(|target| parse_ns_link(&target.to_string_lossy()))
            .unwrap_or(0);
    }
    out
}

/// The inodes the kernel gives its initial namespaces (`PROC_*_INIT_INO` in
/// `include/linux/proc_ns.h`), in `NAMESPACE_FILES` order; 0 where the
/// initial namespace has no fixed number (mnt, net).
pub const INITIAL_NAMESPACES: [u32; 10] = [
    0xEFFF_FFFE, // uts
    0xEFFF_FFFF, // ipc
    0,           // mnt
    0xEFFF_FFFC, // pid
    0xEFFF_FFFC, // pid_for_children
    0,           // net
    0xEFFF_FFFA, // time
    0xEFFF_FFFA, // time_for_children
    0xEFFF_FFFB, // cgroup
    0xEFFF_FFFD, // user
];

/// The host's namespaces: those of pid 1 under `proc_root`, and where pid 1
/// cannot be read (a sandbox without ptrace rights on it), the kernel's
/// initial namespaces.
pub fn host_namespaces(proc_root: &Path) -> [u32; 10] {
    let mut ns = read_namespaces(&proc_root.join("1"));
    for (slot, initial) in ns.iter_mut().zip(INITIAL_NAMESPACES) {
        if *slot == 0 {
            *slot = initial;
        }
    }
    ns
}

/// The inode of a namespace link such as `net:[4026531840]`.
pub fn parse_ns_link(target: &str) -> Option<u32> {
    let inside = target.rsplit_once('[')?.1.strip_suffix(']')?;
    inside.parse().ok()
}

/// (effective, inheritable, permitted) from `CapEff`, `CapInh`, `CapPrm`.
pub fn parse_status_caps(status: &str) -> [u64; 3] {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| u64::from_str_radix(rest.trim(), 16).ok())
            .unwrap_or(0)
    };
    [field("CapEff:"), field("CapInh:"), field("CapPrm:")]
}

/// The pid in the process's own pid namespace, 0 when that is the host's.
pub fn parse_status_nspid(status: &str) -> u32 {
    let Some(line) = status.lines().find_map(|line| line.strip_prefix("NSpid:")) else {
        return 0;
    };
    let ids: Vec<&str> = line.split_whitespace().collect();
    if ids.len() < 2 {
        return 0;
    }
    ids.last().and_then(|id| id.parse().ok()).unwrap_or(0)
}

/// (ppid, starttime) from /proc/<pid>/stat; the command name may hold
/// spaces and parentheses, so fields are counted after the last ')'.
pub fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after the name: field 3 (state) is index 0, so field N is index N - 3
    let parent_pid = fields.get(4 - 3)?.parse().ok()?;
    let start_ticks = fields.get(22 - 3)?.parse().ok()?;
    Some((parent_pid, start_ticks))
}

/// (real uid, effective uid) from /proc/<pid>/status.
pub fn parse_status_uids(status: &str) -> Option<(u32, u32)> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    let mut ids = line["Uid:".len()..]
        .split_whitespace()
        .map(str::parse::<u32>);
    Some((ids.next()?.ok()?, ids.next()?.ok()?))
}

/// The table entries and kernel map entries for the snapshots.
pub fn seeds(
    node_name: &str,
    snapshots: &[ProcSnapshot],
    unix_nanos: impl Fn(u64) -> i64,
) -> Vec<(ProcessInfo, ProcessEntry)> {
    let start_by_pid: HashMap<u32, u64> = snapshots
        .iter()
        .map(|snapshot| (snapshot.pid, snapshot.start_ktime))
        .collect();
    snapshots
        .iter()
        .map(|snapshot| {
            let parent_start = start_by_pid.get(&snapshot.parent_pid).copied();
            let flags = RecordFlags(
                RecordFlags::PROCFS
                    | if parent_start.is_none() && snapshot.parent_pid != 0 {
                        RecordFlags::PARENT_UNKNOWN
                    } else {
                        0
                    },
            );
            let info = ProcessInfo {
                exec_id: exec_id(node_name, snapshot.start_ktime, snapshot.pid),
                pid: snapshot.pid,
                tid: snapshot.pid,
                uid: snapshot.uid,
                euid: snapshot.euid,
                auid: snapshot.auid,
                cwd: snapshot.cwd.clone(),
                binary: snapshot.binary.clone(),
                arguments: snapshot.argv.iter().skip(1).cloned().collect(),
                flags,
                start_time_ns: unix_nanos(snapshot.start_ktime),
                parent_pid: snapshot.parent_pid,
                parent_exec_id: parent_start
                    .map(|start| exec_id(node_name, start, snapshot.parent_pid)),
                exec_ktime: snapshot.start_ktime,
                task: Some(snapshot.task),
                host_ns_mask: 0,
            };
            let entry = ProcessEntry {
                exec_ktime: snapshot.start_ktime,
                parent_exec_ktime: parent_start.unwrap_or(0),
                start_ktime: snapshot.start_ktime,
                pid: snapshot.pid,
                parent_pid: snapshot.parent_pid,
                uid: snapshot.uid,
                euid: snapshot.euid,
                auid: snapshot.auid,
                flags,
                task: snapshot.task,
                follow: [0; 4],
                binary: snapshot.binary.as_bytes().to_vec(),
            };
            (info, entry)
        })
        .collect()
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let stat = "1234 (a) b (c)) S 77 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5555 1000 10 18446744073709551615";
        assert_eq!(parse_stat(stat), Some((77, 5555)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn status_uids() {
        let status = "Name:\tbash\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(parse_status_uids(status), Some((1000, 0)));
    }

    #[test]
    fn namespaces_and_capabilities() {
        assert_eq!(parse_ns_link("net:[4026531840]"), Some(4_026_531_840));
        assert_eq!(parse_ns_link("net"), None);
        let status = "CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000000400\nNSpid:\t4242\t7\n";
        assert_eq!(parse_status_caps(status), [0x400, 0, 0x1ff_ffff_ffff]);
        assert_eq!(parse_status_nspid(status), 7);
        assert_eq!(parse_status_nspid("NSpid:\t12\n"), 0);
        let own = read_namespaces(Path::new("/proc/self"));
        assert!(own[5] != 0, "net namespace of this process");
    }

    #[test]
    fn reads_this_machines_proc_and_links_parents() {
        let snapshots = read_processes(Path::new("/proc"), 100);
        let me = std::process::id();
        let mine = snapshots
            .iter()
            .find(|snapshot| snapshot.pid == me)
            .expect("own process in /proc");
        assert!(!mine.binary.is_empty());
        assert!(mine.start_ktime > 0);
        let seeded = seeds("n", &snapshots, |ns| ns as i64);
        let (info, entry) = seeded.iter().find(|(info, _)| info.pid == me).unwrap();
        assert!(info.flags.has(RecordFlags::PROCFS));
        assert_eq!(entry.exec_ktime, info.exec_ktime);
        if snapshots
            .iter()
            .any(|snapshot| snapshot.pid == mine.parent_pid)
        {
            assert!(info.parent_exec_id.is_some());
        }
    }
}
