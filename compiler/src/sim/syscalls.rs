//! Syscall numbers per ABI, for `InMap`/`NotInMap` filters whose values name
//! syscalls (`values: ["list:my-syscalls"]` on a `syscall64` argument), and
//! the ABI a node runs, read from its events.

use super::syscall_table;

/// A syscall ABI as Tetragon's `syscall_id.abi` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Abi {
    /// `x64`: native syscalls of x86_64 nodes.
    X64,
    /// `i386`: 32-bit compat syscalls of x86_64 nodes.
    I386,
    /// `arm64`: native syscalls of arm64 nodes.
    Arm64,
    /// `arm32`: 32-bit compat syscalls of arm64 nodes (no table: tpc has no
    /// arm32 syscall list).
    Arm32,
}

/// Bit Tetragon sets in a `syscall64` value for a 32-bit compat syscall.
pub const COMPAT_BIT: u64 = 0x8000_0000;

impl Abi {
    /// Parses Tetragon's ABI names (and the common spellings of them).
    pub fn from_name(name: &str) -> Option<Abi> {
        Some(match name {
            "x64" | "x86_64" | "amd64" => Abi::X64,
            "i386" | "ia32" | "x86" => Abi::I386,
            "arm64" | "aarch64" => Abi::Arm64,
            "arm32" | "arm" => Abi::Arm32,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Abi::X64 => "x64",
            Abi::I386 => "i386",
            Abi::Arm64 => "arm64",
            Abi::Arm32 => "arm32",
        }
    }

    /// 32-bit compat ABIs carry [`COMPAT_BIT`] in `syscall64` values.
    pub fn is_compat(self) -> bool {
        matches!(self, Abi::I386 | Abi::Arm32)
    }

    /// The node architecture this ABI runs on.
    pub fn arch(self) -> Arch {
        match self {
            Abi::X64 | Abi::I386 => Arch::X86_64,
            Abi::Arm64 | Abi::Arm32 => Arch::Arm64,
        }
    }

    fn table(self) -> Option<&'static [(&'static str, u32)]> {
        match self {
            Abi::X64 => Some(syscall_table::X86_64),
            Abi::I386 => Some(syscall_table::I386),
            Abi::Arm64 => Some(syscall_table::ARM64),
            Abi::Arm32 => None,
        }
    }

    /// The number of syscall `name` (without any `sys_` prefix).
    pub fn number(self, name: &str) -> Option<u32> {
        self.table()?
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, number)| *number)
    }

    /// The name of syscall `number`.
    pub fn name(self, number: u32) -> Option<&'static str> {
        self.table()?
            .iter()
            .find(|(_, n)| *n == number)
            .map(|(name, _)| *name)
    }
}

/// The architecture of a node: decides the syscall symbol prefix
/// (`__x64_sys_`, `__arm64_sys_`) and the default syscall ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Arch {
    #[default]
    X86_64,
    Arm64,
}

impl Arch {
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "x86_64" | "amd64" | "x64" => Some(Arch::X86_64),
            "arm64" | "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The prefix of native syscall symbols (`__x64_`).
    pub fn syscall_prefix(self) -> &'static str {
        match self {
            Arch::X86_64 => "__x64_",
            Arch::Arm64 => "__arm64_",
        }
    }

    /// The native syscall ABI.
    pub fn native_abi(self) -> Abi {
        match self {
            Arch::X86_64 => Abi::X64,
            Arch::Arm64 => Abi::Arm64,
        }
    }
}

/// Symbol prefixes of syscall wrappers, with the ABI they stand for.
const SYMBOL_PREFIXES: &[(&str, Abi)] = &[
    ("__x64_sys_", Abi::X64),
    ("__ia32_sys_", Abi::I386),
    ("__ia32_compat_sys_", Abi::I386),
    ("__arm64_sys_", Abi::Arm64),
    ("__arm64_compat_sys_", Abi::Arm32),
];

/// Splits a syscall wrapper symbol (`__x64_sys_openat`) into its ABI and
/// syscall name (`openat`).
pub fn split_symbol(symbol: &str) -> Option<(Abi, &str)> {
    SYMBOL_PREFIXES
        .iter()
        .find_map(|(prefix, abi)| symbol.strip_prefix(prefix).map(|name| (*abi, name)))
}

/// A syscall as a list value names it: `sys_dup`, `dup`, `__x64_sys_dup`,
/// `i386/sys_dup`. The ABI is `None` when the value leaves it to the node.
pub fn parse_list_value(value: &str) -> (Option<Abi>, &str) {
    if let Some((abi, rest)) = value.split_once('/') {
        if let Some(abi) = Abi::from_name(abi) {
            let (_, name) = parse_list_value(rest);
            return (Some(abi), name);
        }
    }
    if let Some((abi, name)) = split_symbol(value) {
        return (Some(abi), name);
    }
    (None, value.strip_prefix("sys_").unwrap_or(value))
}

/// The `syscall64` value Tetragon stores for a syscall list entry on a node
/// of `arch`: the number, with [`COMPAT_BIT`] for 32-bit ABIs.
pub fn list_value_id(value: &str, arch: Arch) -> Option<u64> {
    let (abi, name) = parse_list_value(value);
    let abi = abi.unwrap_or(arch.native_abi());
    let number = u64::from(abi.number(name)?);
    Some(if abi.is_compat() {
        number | COMPAT_BIT
    } else {
        number
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_per_abi() {
        assert_eq!(Abi::X64.number("write"), Some(1));
        assert_eq!(Abi::I386.number("dup"), Some(41));
        assert_eq!(Abi::Arm64.number("dup"), Some(23));
        assert_eq!(Abi::Arm64.number("newfstatat"), Some(79));
        assert_eq!(Abi::X64.name(59), Some("execve"));
        assert_eq!(Abi::Arm32.number("dup"), None);
    }

    #[test]
    fn list_values() {
        assert_eq!(list_value_id("sys_dup", Arch::X86_64), Some(32));
        assert_eq!(list_value_id("dup", Arch::Arm64), Some(23));
        assert_eq!(
            list_value_id("i386/sys_dup", Arch::X86_64),
            Some(41 | COMPAT_BIT)
        );
        assert_eq!(list_value_id("__x64_sys_dup", Arch::Arm64), Some(32));
        assert_eq!(list_value_id("sys_no_such_call", Arch::X86_64), None);
        assert_eq!(
            split_symbol("__arm64_sys_openat"),
            Some((Abi::Arm64, "openat"))
        );
        assert_eq!(split_symbol("security_file_open"), None);
    }
}
