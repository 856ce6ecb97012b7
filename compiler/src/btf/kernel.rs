//! The [`KernelInfo`] trait every kernel source implements (loaded BTF or a
//! carried kernel), and the identity (name, release, arch) a kernel reports.

use std::fmt;

use super::types::{
    FunctionSig, PathError, PathRoot, ResolvedPath, SyscallResolution, TracepointLookup,
};

/// A CPU architecture, as far as syscall wrapper names tell it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Arm64,
    /// Neither `__x64_sys_*` nor `__arm64_sys_*` wrappers were found.
    Unknown,
}

impl Arch {
    /// The prefix Tetragon adds to `sys_*` names on this arch.
    pub fn syscall_prefix(self) -> Option<&'static str> {
        match self {
            Self::X86_64 => Some("__x64_"),
            Self::Arm64 => Some("__arm64_"),
            Self::Unknown => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
            Self::Unknown => "unknown",
        }
    }

    pub fn from_name(name: &str) -> Self {
        match name {
            "x86_64" | "amd64" | "x86" => Self::X86_64,
            "arm64" | "aarch64" => Self::Arm64,
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a kernel's data came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelOrigin {
    /// `/sys/kernel/btf/vmlinux` of the machine `tpc` runs on.
    Running,
    /// A file given with `--btf`.
    File(std::path::PathBuf),
    /// The database compiled into `tpc`.
    Carried,
}

/// Who a kernel is: how findings name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelIdentity {
    /// The primary name (`debian-6.1`, `running`, a file's stem).
    pub name: String,
    /// Other names that select it with `--kernel`.
    pub aliases: Vec<String>,
    /// `uname -r` when known (`6.1.0-56-cloud-amd64`).
    pub release: Option<String>,
    pub arch: Arch,
    pub origin: KernelOrigin,
}

impl KernelIdentity {
    /// A short label for matrices and "on 5.10, 6.1: …" lines: the release's
    /// `major.minor` when known, with `-arm64` for arm64 kernels, else the name.
    pub fn short_label(&self) -> String {
        let version = self.release.as_deref().and_then(major_minor);
        match (version, self.arch) {
            (Some(version), Arch::Arm64) => format!("{version}-arm64"),
            (Some(version), _) => version,
            (None, _) => self.name.clone(),
        }
    }

    /// True if `name` is this kernel's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|alias| alias == name)
    }
}

/// `6.12.107+deb13-cloud-amd64` → `6.12`.
pub(crate) fn major_minor(release: &str) -> Option<String> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().filter(|part| !part.is_empty())?;
    let minor = parts.next().filter(|part| !part.is_empty())?;
    Some(format!("{major}.{minor}"))
}

/// Everything the policy checks ask of one kernel. Implemented by
/// [`crate::btf::BtfKernel`] (BTF loaded from a file or sysfs) and
/// [`crate::btf::CarriedKernel`] (the database compiled into `tpc`), so a
/// check runs identically on either.
pub trait KernelInfo: Send + Sync {
    /// Name, aliases, release and arch.
    fn identity(&self) -> &KernelIdentity;

    /// The arch (from syscall wrapper names, or the carried metadata).
    fn arch(&self) -> Arch {
        self.identity().arch
    }

    /// True if the kernel has a function (BTF `FUNC`) called `name`.
    fn has_function(&self, name: &str) -> bool;

    /// A function's prototype, when the kernel has it.
    fn function(&self, name: &str) -> Option<FunctionSig>;

    /// How many functions the kernel has.
    fn function_count(&self) -> usize;

    /// The LSM hook `hook` (`file_open`), as the kernel's `bpf_lsm_<hook>`
    /// attach point; its prototype is the hook's.
    fn lsm_hook(&self, hook: &str) -> Option<FunctionSig> {
        self.function(&format!("bpf_lsm_{hook}"))
    }

    /// Every LSM hook name (without the `bpf_lsm_` prefix), sorted.
    fn lsm_hooks(&self) -> Vec<String>;

    /// What `syscall: true` with `name` (`openat`, `sys_openat`,
    /// `__x64_sys_openat`) attaches to here, and the syscall's prototype.
    fn syscall(&self, name: &str) -> SyscallResolution;

    /// Base names of every syscall with a wrapper in this kernel, sorted.
    fn syscall_names(&self) -> Vec<String>;

    /// Walks a `resolve`/`btfType` member path.
    fn resolve_path(&self, root: PathRoot<'_>, path: &str) -> Result<ResolvedPath, PathError>;

    /// A tracepoint's existence and field layout.
    fn tracepoint(&self, subsystem: &str, event: &str) -> TracepointLookup;

    /// Every `(subsystem, event)` tracepoint this kernel's formats list (for
    /// "did you mean" suggestions). The default knows none.
    fn tracepoint_events(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Calls `visit` with every function name (for "did you mean"
    /// suggestions). The default visits nothing.
    fn for_each_function_name(&self, visit: &mut dyn FnMut(&str)) {
        let _ = visit;
    }

    /// The `TP_PROTO` arguments of raw tracepoint `event`, from BTF's
    /// `btf_trace_<event>` typedef, without the hidden context pointer that
    /// comes first; `None` when the kernel has no such typedef. The
    /// signature's name is `btf_trace_<event>`. The default knows none.
    fn raw_tracepoint(&self, event: &str) -> Option<FunctionSig> {
        let _ = event;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_labels() {
        let mut identity = KernelIdentity {
            name: "debian-13-6.12".into(),
            aliases: vec![],
            release: Some("6.12.107+deb13-cloud-amd64".into()),
            arch: Arch::X86_64,
            origin: KernelOrigin::Carried,
        };
        assert_eq!(identity.short_label(), "6.12");
        identity.arch = Arch::Arm64;
        assert_eq!(identity.short_label(), "6.12-arm64");
        identity.release = None;
        assert_eq!(identity.short_label(), "debian-13-6.12");
    }
}
