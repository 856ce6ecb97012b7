//! Checks that the host can run the sensor (privileges, kernel BTF, bpffs, tracefs), mounting the filesystems when they are missing and it can.

use std::{
    fs,
    path::{Path, PathBuf},
};

use nix::mount::{MsFlags, mount};

use crate::error::RuntimeError;

pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";
pub const BPFFS: &str = "/sys/fs/bpf";
pub const TRACEFS: &str = "/sys/kernel/tracing";
const TRACEFS_UNDER_DEBUGFS: &str = "/sys/kernel/debug/tracing";

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// What the checks did, for the caller to tell the user.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PreflightReport {
    /// Filesystems this process mounted (`(fstype, path)`).
    pub mounted: Vec<(&'static str, PathBuf)>,
}

/// Runs every check in order; the first failure says what is missing and how
/// to fix it.
pub fn check_host() -> Result<PreflightReport, RuntimeError> {
    let status = fs::read_to_string("/proc/self/status").map_err(|source| RuntimeError::Read {
        path: PathBuf::from("/proc/self/status"),
        source,
    })?;
    if !has_bpf_privileges(&status) {
        return Err(RuntimeError::NotPrivileged);
    }
    if !Path::new(KERNEL_BTF).exists() {
        return Err(RuntimeError::NoKernelBtf {
            path: PathBuf::from(KERNEL_BTF),
        });
    }
    let mut report = PreflightReport::default();
    let mountinfo =
        fs::read_to_string("/proc/self/mountinfo").map_err(|source| RuntimeError::Read {
            path: PathBuf::from("/proc/self/mountinfo"),
            source,
        })?;
    let mounts = parse_mountinfo(&mountinfo);
    if !is_mounted(&mounts, "bpf", BPFFS) {
        mount_filesystem("bpffs", "bpf", BPFFS)?;
        report.mounted.push(("bpf", PathBuf::from(BPFFS)));
    }
    if !is_mounted(&mounts, "tracefs", TRACEFS)
        && !is_mounted(&mounts, "tracefs", TRACEFS_UNDER_DEBUGFS)
    {
        mount_filesystem("tracefs", "tracefs", TRACEFS)?;
        report.mounted.push(("tracefs", PathBuf::from(TRACEFS)));
    }
    Ok(report)
}

fn mount_filesystem(
    filesystem: &'static str,
    fstype: &'static str,
    path: &str,
) -> Result<(), RuntimeError> {
    mount(
        Some(fstype),
        path,
        Some(fstype),
        MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|source| RuntimeError::FilesystemMissing {
        filesystem,
        fstype,
        path: PathBuf::from(path),
        source,
    })
}

/// Root, or the capabilities that loading tracing programs needs
/// (CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN), from `/proc/self/status`.
pub fn has_bpf_privileges(status: &str) -> bool {
    let Some(effective) = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
    else {
        return false;
    };
    let has = |capability: u32| effective & (1u64 << capability) != 0;
    has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))
}

/// `(fstype, mount point)` of every mount in a mountinfo text.
pub fn parse_mountinfo(mountinfo: &str) -> Vec<(String, String)> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split_whitespace().nth(4)?;
            let fstype = right.split_whitespace().next()?;
            Some((fstype.to_owned(), mount_point.to_owned()))
        })
        .collect()
}

/// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup`, or
/// `/sys/fs/cgroup/unified` on hybrid hosts).
pub fn cgroup2_root() -> Option<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    parse_mountinfo(&mountinfo)
        .into_iter()
        .find(|(fstype, _)| fstype == "cgroup2")
        .map(|(_, mount_point)| PathBuf::from(mount_point))
}

fn is_mounted(mounts: &[(String, String)], fstype: &str, path: &str) -> bool {
    mounts
        .iter()
        .any(|(mounted_type, mount_point)| mounted_type == fstype && mount_point == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_from_capability_masks() {
        assert!(has_bpf_privileges("Name:\tx\nCapEff:\t000001ffffffffff\n"));
        assert!(
            has_bpf_privileges("CapEff:\t000000c000000000\n"),
            "CAP_BPF + CAP_PERFMON"
        );
        assert!(
            !has_bpf_privileges("CapEff:\t0000008000000000\n"),
            "CAP_BPF alone"
        );
        assert!(!has_bpf_privileges("CapEff:\t0000000000000000\n"));
        assert!(!has_bpf_privileges("no caps line"));
    }

    #[test]
    fn mountinfo_lines() {
        let text = "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n\
                    40 22 0:35 / /sys/fs/bpf rw,relatime shared:9 - bpf bpf rw,mode=700\n";
        let mounts = parse_mountinfo(text);
        assert!(is_mounted(&mounts, "bpf", BPFFS));
        assert!(!is_mounted(&mounts, "tracefs", TRACEFS));
    }
}
