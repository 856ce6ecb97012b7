//! Syscall name resolution: from what a policy writes (`openat`, `sys_openat`,
//! `__x64_sys_openat`) to the wrapper Tetragon attaches to on a kernel, and
//! the best real prototype available for it.
//!
//! Tetragon's rule (`syscall: true`): a name that already has an arch prefix
//! (`__x64_`, `__arm64_`) is used as is; any other name gets the running
//! arch's prefix, so `sys_openat` becomes `__x64_sys_openat`, and a bare
//! `openat` becomes `__x64_openat`, which no kernel has.
//!
//! Kernels since 4.17 (x86_64) and 4.19 (arm64) wrap every syscall as
//! `__<arch>_sys_<name>(const struct pt_regs *regs)`; older kernels expose
//! `sys_<name>(real args...)` directly. The real prototype is looked for in
//! `__do_sys_<name>` (rarely kept by the compiler), the old direct `sys_<name>`,
//! the kernel's own `syscalls/sys_enter_<name>` format, the reference format
//! set carried by `tpc` (syscall argument types are user ABI, identical across
//! versions), and last `__se_sys_<name>` (every argument widened to `long`).

use super::kernel::Arch;
use super::types::{
    FunctionSig, Param, SyscallProtoSource, SyscallPrototype, SyscallResolution, SyscallSpelling,
    WrapperStyle,
};

/// What syscall resolution needs from a kernel.
pub(crate) trait SyscallHost {
    fn host_arch(&self) -> Arch;
    fn host_has_function(&self, name: &str) -> bool;
    fn host_function(&self, name: &str) -> Option<FunctionSig>;
    /// Parameters from this kernel's own `syscalls/sys_enter_<base>` format.
    fn own_syscall_format(&self, base: &str) -> Option<Vec<Param>>;
}

/// Prototypes from the reference syscall format set carried by `tpc`.
pub(crate) trait ReferenceSyscalls {
    fn reference_params(&self, base: &str) -> Option<Vec<Param>>;
    fn reference_kernel(&self) -> String;
}

const ARCH_PREFIXES: [(&str, Arch); 2] = [("__x64_", Arch::X86_64), ("__arm64_", Arch::Arm64)];

/// Splits a policy's syscall name into its base name and spelling.
pub(crate) fn parse_syscall_name(requested: &str) -> (String, SyscallSpelling, Option<Arch>) {
    for (prefix, arch) in ARCH_PREFIXES {
        if let Some(rest) = requested.strip_prefix(prefix) {
            let base = rest
                .strip_prefix("compat_sys_")
                .or_else(|| rest.strip_prefix("sys_"))
                .unwrap_or(rest);
            return (base.to_string(), SyscallSpelling::ArchPrefixed, Some(arch));
        }
    }
    if let Some(rest) = requested.strip_prefix("__ia32_sys_") {
        return (
            rest.to_string(),
            SyscallSpelling::ArchPrefixed,
            Some(Arch::X86_64),
        );
    }
    if let Some(rest) = requested.strip_prefix("sys_") {
        return (rest.to_string(), SyscallSpelling::SysPrefixed, None);
    }
    (requested.to_string(), SyscallSpelling::Bare, None)
}

/// Resolves a syscall name on one kernel.
pub(crate) fn resolve<H: SyscallHost + ?Sized>(
    host: &H,
    reference: Option<&dyn ReferenceSyscalls>,
    requested: &str,
) -> SyscallResolution {
    let arch = host.host_arch();
    let (base, spelling, written_arch) = parse_syscall_name(requested);
    let tetragon_symbol = match (spelling, arch.syscall_prefix()) {
        (SyscallSpelling::ArchPrefixed, _) | (_, None) => requested.to_string(),
        (_, Some(prefix)) => format!("{prefix}{requested}"),
    };
    let arch_mismatch =
        matches!(written_arch, Some(written) if arch != Arch::Unknown && written != arch);

    let mut wrapper = None;
    let mut wrapper_style = None;
    // An arch-prefixed name that exists is attached as written (this also
    // covers `__ia32_sys_*` and `__x64_compat_sys_*`).
    if spelling == SyscallSpelling::ArchPrefixed && host.host_has_function(requested) {
        wrapper = Some(requested.to_string());
        wrapper_style = Some(WrapperStyle::PtRegs);
    }
    if wrapper.is_none() {
        let prefixes: Vec<&str> = match arch.syscall_prefix() {
            Some(prefix) => vec![prefix],
            None => ARCH_PREFIXES.iter().map(|(prefix, _)| *prefix).collect(),
        };
        for prefix in prefixes {
            let candidate = format!("{prefix}sys_{base}");
            if host.host_has_function(&candidate) {
                wrapper = Some(candidate);
                wrapper_style = Some(WrapperStyle::PtRegs);
                break;
            }
        }
    }
    let mut wrapper_in_btf = wrapper.is_some();
    let do_sys = host.host_function(&format!("__do_sys_{base}"));
    let zero_arg_do_sys = do_sys.as_ref().is_some_and(takes_only_unused_regs);
    if wrapper.is_none() && zero_arg_do_sys && arch != Arch::Arm64 {
        wrapper = Some(format!(
            "{}sys_{base}",
            arch.syscall_prefix().unwrap_or("__x64_")
        ));
        wrapper_style = Some(WrapperStyle::PtRegs);
        wrapper_in_btf = false;
    }
    let direct = format!("sys_{base}");
    let direct_sig = host.host_function(&direct);
    if wrapper.is_none() && direct_sig.is_some() {
        wrapper = Some(direct.clone());
        wrapper_style = Some(WrapperStyle::Direct);
        wrapper_in_btf = true;
    }

    let prototype = if wrapper.is_none() {
        None
    } else if let Some(sig) = do_sys {
        Some(SyscallPrototype {
            params: if zero_arg_do_sys {
                Vec::new()
            } else {
                sig.params
            },
            source: SyscallProtoSource::DoSys,
        })
    } else if let Some(sig) = direct_sig.filter(|_| wrapper_style == Some(WrapperStyle::Direct)) {
        Some(SyscallPrototype {
            params: sig.params,
            source: SyscallProtoSource::DirectSys,
        })
    } else if let Some(params) = host.own_syscall_format(&base) {
        Some(SyscallPrototype {
            params,
            source: SyscallProtoSource::TracepointFormat,
        })
    } else if let Some((params, kernel)) = reference.and_then(|reference| {
        Some((
            reference.reference_params(&base)?,
            reference.reference_kernel(),
        ))
    }) {
        Some(SyscallPrototype {
            params,
            source: SyscallProtoSource::ReferenceKernel { kernel },
        })
    } else {
        host.host_function(&format!("__se_sys_{base}"))
            .map(|sig| SyscallPrototype {
                params: sig.params,
                source: SyscallProtoSource::SeSys,
            })
    };

    SyscallResolution {
        requested: requested.to_string(),
        base,
        spelling,
        tetragon_symbol,
        wrapper,
        wrapper_style,
        wrapper_in_btf,
        arch_mismatch,
        prototype,
    }
}

/// `SYSCALL_DEFINE0` bodies are `__do_sys_<name>(const struct pt_regs *__unused)`.
fn takes_only_unused_regs(sig: &FunctionSig) -> bool {
    match sig.params.as_slice() {
        [param] => {
            param.name == "__unused"
                && param.ty.pointee().is_some_and(|pointee| {
                    matches!(&pointee.shape, super::types::TypeShape::Struct { name } if name == "pt_regs")
                })
        }
        _ => false,
    }
}

/// Guesses the arch from which syscall wrappers a kernel has.
pub(crate) fn detect_arch(has_function: impl Fn(&str) -> bool) -> Arch {
    const PROBES: [&str; 4] = ["read", "openat", "close", "exit"];
    let count = |prefix: &str| {
        PROBES
            .iter()
            .filter(|name| has_function(&format!("{prefix}sys_{name}")))
            .count()
    };
    let x86 = count("__x64_");
    let arm = count("__arm64_");
    if x86 == 0 && arm == 0 {
        Arch::Unknown
    } else if x86 >= arm {
        Arch::X86_64
    } else {
        Arch::Arm64
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;
    use crate::btf::types::{TypeDesc, TypeShape};

    struct FakeHost {
        arch: Arch,
        functions: Vec<&'static str>,
    }

    impl SyscallHost for FakeHost {
        fn host_arch(&self) -> Arch {
            self.arch
        }
        fn host_has_function(&self, name: &str) -> bool {
            self.functions.contains(&name)
        }
        fn host_function(&self, name: &str) -> Option<FunctionSig> {
            self.host_has_function(name).then(|| FunctionSig {
                name: name.to_string(),
                params: vec![Param {
                    name: "fd".into(),
                    ty: TypeDesc {
                        c: "unsigned int".into(),
                        typedefs: vec![],
                        shape: TypeShape::Int {
                            size: 4,
                            signed: false,
                            is_char: false,
                            is_bool: false,
                        },
                    },
                }],
                ret: TypeDesc::unknown("long int"),
                variadic: false,
            })
        }
        fn own_syscall_format(&self, _base: &str) -> Option<Vec<Param>> {
            None
        }
    }

    #[test]
    fn spellings() {
        assert_eq!(
            parse_syscall_name("sys_openat"),
            ("openat".into(), SyscallSpelling::SysPrefixed, None)
        );
        assert_eq!(
            parse_syscall_name("__arm64_sys_openat"),
            (
                "openat".into(),
                SyscallSpelling::ArchPrefixed,
                Some(Arch::Arm64)
            )
        );
        assert_eq!(
            parse_syscall_name("openat"),
            ("openat".into(), SyscallSpelling::Bare, None)
        );
    }

    #[test]
    fn resolves_x86_wrappers_and_tetragon_symbols() {
        let host = FakeHost {
            arch: Arch::X86_64,
            functions: vec!["__x64_sys_close", "__do_sys_close"],
        };
        let sys = resolve(&host, None, "sys_close");
        assert_eq!(sys.wrapper.as_deref(), Some("__x64_sys_close"));
        assert_eq!(sys.tetragon_symbol, "__x64_sys_close");
        assert!(sys.tetragon_attaches());
        assert_eq!(sys.prototype.unwrap().source, SyscallProtoSource::DoSys);

        let bare = resolve(&host, None, "close");
        assert_eq!(bare.wrapper.as_deref(), Some("__x64_sys_close"));
        assert_eq!(bare.tetragon_symbol, "__x64_close");
        assert!(!bare.tetragon_attaches());

        let wrong_arch = resolve(&host, None, "__arm64_sys_close");
        assert!(wrong_arch.arch_mismatch);
        assert_eq!(wrong_arch.wrapper.as_deref(), Some("__x64_sys_close"));
        assert!(!wrong_arch.tetragon_attaches());

        let missing = resolve(&host, None, "sys_vfs_llseek");
        assert!(missing.wrapper.is_none());
        assert!(missing.prototype.is_none());
    }

    #[test]
    fn old_direct_syscalls() {
        let host = FakeHost {
            arch: Arch::Unknown,
            functions: vec!["sys_close"],
        };
        let resolution = resolve(&host, None, "sys_close");
        assert_eq!(resolution.wrapper.as_deref(), Some("sys_close"));
        assert_eq!(resolution.wrapper_style, Some(WrapperStyle::Direct));
        assert_eq!(
            resolution.prototype.unwrap().source,
            SyscallProtoSource::DirectSys
        );
    }

    #[test]
    fn arch_detection() {
        assert_eq!(
            detect_arch(|name| name == "__x64_sys_read" || name == "__x64_sys_close"),
            Arch::X86_64
        );
        assert_eq!(
            detect_arch(|name| name.starts_with("__arm64_sys_")),
            Arch::Arm64
        );
        assert_eq!(detect_arch(|_| false), Arch::Unknown);
    }
}
