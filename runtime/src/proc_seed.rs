//! Seeding from /proc: processes already running when the sensor starts get exec ids, parents and binaries.

use std::{collections::HashMap, fs, path::Path};

use crate::{
    exec_id::exec_id,
    model::ProcessInfo,
    wire::{ProcessEntry, RecordFlags},
};

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
    })
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
