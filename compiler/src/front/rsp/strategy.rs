//! Which hooks a `RuntimeSecurityPolicy` becomes on a target kernel: the
//! Block strategy. Preferred first:
//!
//! 1. **BPF LSM** (`lsmhooks`, Block = Override: the hook returns the
//!    error, the operation fails with EPERM and the process lives on).
//!    Needs `bpf_lsm_*` attach points for every hook the rules use, BPF
//!    trampolines (`register_ftrace_direct` in the kernel), and, on the
//!    running kernel, `bpf` among the active LSMs
//!    (`/sys/kernel/security/lsm`).
//! 2. **kprobe Override** (`kprobes` on syscalls, Block = Override through
//!    `bpf_override_return` on the syscalls' error-injection entries).
//!    Needs kprobes (`register_kprobe`) and `bpf_override_return`.
//! 3. **tracepoint + Sigkill** (`syscalls/sys_enter_*` tracepoints, Block =
//!    Sigkill from the hook: the process dies before the syscall returns to
//!    user space). Needs only tracefs, so it runs everywhere.
//!
//! Audit rules use the same hook family as the policy's Block rules, so
//! one policy observes each operation at one place.

use crate::btf::{KernelInfo, KernelOrigin};

/// A hook family, with the way it blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strategy {
    Lsm,
    KprobeOverride,
    TracepointSigkill,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [
        Strategy::Lsm,
        Strategy::KprobeOverride,
        Strategy::TracepointSigkill,
    ];

    /// `lsm`, `kprobe`, `tracepoint` (the `--rsp-strategy` names).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Lsm => "lsm",
            Strategy::KprobeOverride => "kprobe",
            Strategy::TracepointSigkill => "tracepoint",
        }
    }

    pub fn from_name(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.name() == name)
    }

    /// How the strategy reads in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Strategy::Lsm => {
                "BPF LSM hooks, Block returns EPERM from the hook (Override argError -1)"
            }
            Strategy::KprobeOverride => {
                "syscall kprobes, Block makes the syscall fail with EPERM (Override argError -1, bpf_override_return)"
            }
            Strategy::TracepointSigkill => {
                "syscall tracepoints, Block kills the process in the hook (Sigkill)"
            }
        }
    }
}

/// The LSM hooks the rules may use; the LSM strategy needs all of them.
pub const LSM_HOOKS: [&str; 12] = [
    "bprm_creds_from_file",
    "file_permission",
    "inode_create",
    "inode_mkdir",
    "inode_unlink",
    "inode_rmdir",
    "inode_rename",
    "path_chmod",
    "path_chown",
    "socket_connect",
    "socket_listen",
    "socket_accept",
];

/// The strategy chosen, for which kernel, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrategyChoice {
    pub strategy: Strategy,
    /// The kernels it was chosen for (empty: none was named).
    pub kernels: Vec<String>,
    pub reason: String,
}

impl StrategyChoice {
    /// Named on the command line (`--rsp-strategy`).
    pub fn explicit(strategy: Strategy) -> StrategyChoice {
        StrategyChoice {
            strategy,
            kernels: Vec::new(),
            reason: "chosen with --rsp-strategy".to_string(),
        }
    }

    /// No target kernel: the strategy Tetragon's own design aims at.
    pub fn default_without_kernel() -> StrategyChoice {
        StrategyChoice {
            strategy: Strategy::Lsm,
            kernels: Vec::new(),
            reason: "no target kernel was named (--kernel, --btf or the running kernel), so BPF LSM, the strategy that denies without killing; name a kernel to choose by what it can do".to_string(),
        }
    }

    /// One line for `tpc build` and `tpc convert`.
    pub fn summary(&self) -> String {
        let on = if self.kernels.is_empty() {
            String::new()
        } else {
            format!(" for {}", self.kernels.join(", "))
        };
        format!(
            "RuntimeSecurityPolicy block strategy{on}: {} ({}): {}",
            self.strategy.name(),
            self.strategy.describe(),
            self.reason
        )
    }
}

/// Why each strategy can or cannot run on one kernel.
fn lsm_possible(kernel: &dyn KernelInfo, lsm_list: Option<&str>) -> Result<String, String> {
    if let Some(missing) = LSM_HOOKS.iter().find(|h| kernel.lsm_hook(h).is_none()) {
        return Err(format!(
            "no bpf_lsm_{missing} (BPF LSM hooks need CONFIG_BPF_LSM)"
        ));
    }
    if !kernel.has_function("register_ftrace_direct") {
        return Err(
            "no BPF trampolines (register_ftrace_direct), which LSM programs attach through".into(),
        );
    }
    if kernel.identity().origin == KernelOrigin::Running {
        return match lsm_list {
            Some(list) if list.split(',').any(|l| l.trim() == "bpf") => {
                Ok("BPF LSM hooks are built in and `bpf` is an active LSM".into())
            }
            Some(list) => Err(format!(
                "`bpf` is not an active LSM ({}: {list}; boot with `lsm=...,bpf`)",
                LSM_LIST
            )),
            None => Err(format!(
                "cannot confirm that `bpf` is an active LSM ({LSM_LIST} is not readable; mount securityfs)"
            )),
        };
    }
    Ok("it has BPF LSM hooks (bpf_lsm_*) and trampolines; it must boot with `bpf` among its LSMs (`lsm=...,bpf`)".into())
}

fn kprobe_override_possible(kernel: &dyn KernelInfo) -> Result<String, String> {
    if !kernel.has_function("register_kprobe") {
        return Err("no kprobes (CONFIG_KPROBES)".into());
    }
    if !kernel.has_function("bpf_override_return") {
        return Err("no bpf_override_return (CONFIG_BPF_KPROBE_OVERRIDE)".into());
    }
    Ok("it has kprobes and bpf_override_return for syscalls".into())
}

/// Where the running kernel lists its active LSMs.
pub const LSM_LIST: &str = "/sys/kernel/security/lsm";

/// The active LSMs of the running kernel, when readable.
pub fn running_lsm_list() -> Option<String> {
    std::fs::read_to_string(LSM_LIST).ok()
}

/// The first strategy every kernel can run (tracepoints run everywhere),
/// with the reason in terms of each kernel; `labels` name the kernels.
pub fn choose(kernels: &[(&str, &dyn KernelInfo)], lsm_list: Option<&str>) -> StrategyChoice {
    if kernels.is_empty() {
        return StrategyChoice::default_without_kernel();
    }
    let names: Vec<String> = kernels.iter().map(|(n, _)| (*n).to_string()).collect();
    let mut refused = Vec::new();
    for strategy in [Strategy::Lsm, Strategy::KprobeOverride] {
        let verdicts: Vec<(&str, Result<String, String>)> = kernels
            .iter()
            .map(|(name, kernel)| {
                let verdict = match strategy {
                    Strategy::Lsm => lsm_possible(*kernel, lsm_list),
                    _ => kprobe_override_possible(*kernel),
                };
                (*name, verdict)
            })
            .collect();
        if let Some((name, Err(why))) = verdicts.iter().find(|(_, v)| v.is_err()) {
            refused.push(format!("not {} ({name}: {why})", strategy.name()));
            continue;
        }
        let why = verdicts
            .iter()
            .map(|(name, v)| format!("{name}: {}", v.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("; ");
        let mut reason = refused.join("; ");
        if !reason.is_empty() {
            reason.push_str("; ");
        }
        reason.push_str(&why);
        return StrategyChoice {
            strategy,
            kernels: names,
            reason,
        };
    }
    refused.push("tracepoints run on every kernel".into());
    StrategyChoice {
        strategy: Strategy::TracepointSigkill,
        kernels: names,
        reason: refused.join("; "),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;

    #[test]
    fn carried_kernels_choose_by_what_they_have() {
        let db = crate::btf::carried_db().unwrap();
        let debian = db.kernel("debian-6.1").unwrap();
        let choice = choose(&[("6.1", &debian)], None);
        assert_eq!(choice.strategy, Strategy::Lsm, "{choice:?}");
        let running = db.kernel("running-6.18").unwrap();
        let choice = choose(&[("6.18", &running)], None);
        // carried, not running: whether `bpf` is an active LSM cannot be
        // known, so the BTF decides (and the reason says to boot with it)
        assert_eq!(choice.strategy, Strategy::Lsm, "{choice:?}");
        assert!(choice.reason.contains("lsm=...,bpf"), "{}", choice.reason);
        // with a kernel without trampolines, the one every kernel runs
        let arm = db.kernel("debian-6.1-arm64").unwrap();
        let both = choose(&[("6.1", &debian), ("6.1-arm64", &arm)], None);
        assert_eq!(both.strategy, Strategy::TracepointSigkill, "{both:?}");
        assert!(both.reason.contains("6.1-arm64"), "{}", both.reason);
        assert_eq!(both.kernels, ["6.1", "6.1-arm64"]);
        assert_eq!(
            Strategy::from_name("tracepoint"),
            Some(Strategy::TracepointSigkill)
        );
    }
}
