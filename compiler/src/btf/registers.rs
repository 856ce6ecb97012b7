//! Register names a `data` entry with `source: pt_regs` may `resolve`, per
//! arch, as Tetragon's agent maps them to `struct pt_regs` offsets.
//!
//! For `pt_regs` Tetragon does not walk BTF: `resolve` is a register name
//! looked up in a table compiled into the agent for its own arch
//! (`pkg/asm/regoffset_linux_amd64.go`, `regoffset_linux_arm64.go`), and an
//! unknown name makes the loader refuse the hook ("Failed to retrieve
//! register argument"). The names are the registers' assembler names, not
//! the kernel's `struct pt_regs` member names (`rdi`, not `di`, although
//! `di` is accepted too, as the 16-bit name).

use super::Arch;

/// x86_64: each row is one register's 64-, 32-, 16- and 8-bit names.
const X86_64: &[[&str; 4]] = &[
    ["rip", "eip", "", ""],
    ["rax", "eax", "ax", "al"],
    ["rbx", "ebx", "bx", "bl"],
    ["rcx", "ecx", "cx", "cl"],
    ["rdx", "edx", "dx", "dl"],
    ["rsi", "esi", "si", "sil"],
    ["rdi", "edi", "di", "dil"],
    ["rbp", "ebp", "bp", "bpl"],
    ["rsp", "esp", "sp", "spl"],
    ["r8", "r8d", "r8w", "r8b"],
    ["r9", "r9d", "r9w", "r9b"],
    ["r10", "r10d", "r10w", "r10b"],
    ["r11", "r11d", "r11w", "r11b"],
    ["r12", "r12d", "r12w", "r12b"],
    ["r13", "r13d", "r13w", "r13b"],
    ["r14", "r14d", "r14w", "r14b"],
    ["r15", "r15d", "r15w", "r15b"],
];

/// How many bytes Tetragon reads for register `name` on `arch`, or `None`
/// when the agent of that arch does not know the name. On an unknown arch
/// a name of either arch is accepted.
pub fn register_size(arch: Arch, name: &str) -> Option<u8> {
    match arch {
        Arch::X86_64 => x86_64_size(name),
        Arch::Arm64 => arm64_size(name),
        Arch::Unknown => x86_64_size(name).or_else(|| arm64_size(name)),
    }
}

/// Every register name of `arch`, for suggestions.
pub fn register_names(arch: Arch) -> Vec<String> {
    let x86 = || {
        X86_64
            .iter()
            .flatten()
            .filter(|name| !name.is_empty())
            .map(|name| (*name).to_string())
    };
    let arm = || {
        (0..=31)
            .map(|n| format!("x{n}"))
            .chain((0..=30).map(|n| format!("w{n}")))
            .chain(["sp".to_string(), "pc".to_string()])
    };
    match arch {
        Arch::X86_64 => x86().collect(),
        Arch::Arm64 => arm().collect(),
        Arch::Unknown => x86().chain(arm()).collect(),
    }
}

fn x86_64_size(name: &str) -> Option<u8> {
    X86_64.iter().find_map(|row| {
        let at = row
            .iter()
            .position(|candidate| !candidate.is_empty() && *candidate == name)?;
        Some(8 >> at)
    })
}

fn arm64_size(name: &str) -> Option<u8> {
    if name == "sp" || name == "pc" {
        return Some(8);
    }
    let numbered = |prefix: char, max: u32| {
        let digits = name.strip_prefix(prefix)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u32>().ok().filter(|n| *n <= max)
    };
    if numbered('x', 31).is_some() {
        return Some(8);
    }
    numbered('w', 30).map(|_| 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_names_and_sizes() {
        assert_eq!(register_size(Arch::X86_64, "rdi"), Some(8));
        assert_eq!(register_size(Arch::X86_64, "r10"), Some(8));
        assert_eq!(register_size(Arch::X86_64, "esi"), Some(4));
        assert_eq!(register_size(Arch::X86_64, "di"), Some(2));
        assert_eq!(register_size(Arch::X86_64, "r8b"), Some(1));
        assert_eq!(register_size(Arch::X86_64, "dil"), Some(1));
        assert_eq!(register_size(Arch::X86_64, "x0"), None);
        assert_eq!(register_size(Arch::X86_64, ""), None);
        assert_eq!(register_size(Arch::X86_64, "orig_ax"), None);
    }

    #[test]
    fn arm64_names_and_sizes() {
        assert_eq!(register_size(Arch::Arm64, "x0"), Some(8));
        assert_eq!(register_size(Arch::Arm64, "x31"), Some(8));
        assert_eq!(register_size(Arch::Arm64, "x32"), None);
        assert_eq!(register_size(Arch::Arm64, "w30"), Some(4));
        assert_eq!(register_size(Arch::Arm64, "w31"), None);
        assert_eq!(register_size(Arch::Arm64, "x"), None);
        assert_eq!(register_size(Arch::Arm64, "x+1"), None);
        assert_eq!(register_size(Arch::Arm64, "pc"), Some(8));
        assert_eq!(register_size(Arch::Arm64, "rdi"), None);
    }

    #[test]
    fn unknown_arch_takes_either() {
        assert_eq!(register_size(Arch::Unknown, "rdi"), Some(8));
        assert_eq!(register_size(Arch::Unknown, "x1"), Some(8));
        assert!(register_names(Arch::Unknown).len() > register_names(Arch::Arm64).len());
    }
}
