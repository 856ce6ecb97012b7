//! Name tables that policies use in place of numbers: capabilities, IP
//! protocols, address families, TCP socket states, file types, signals.

/// Linux capabilities by number (`CAP_CHOWN` = 0 ... `CAP_CHECKPOINT_RESTORE` = 40).
pub const CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The number of a capability name (`CAP_SYS_ADMIN` → 21).
pub fn capability_number(name: &str) -> Option<u8> {
    CAPABILITIES
        .iter()
        .position(|c| *c == name)
        .and_then(|i| u8::try_from(i).ok())
}

pub fn capability_name(number: u8) -> Option<&'static str> {
    CAPABILITIES.get(usize::from(number)).copied()
}

/// IP protocol names (`IPPROTO_*`) and numbers.
pub const PROTOCOLS: &[(&str, u16)] = &[
    ("IPPROTO_IP", 0),
    ("IPPROTO_ICMP", 1),
    ("IPPROTO_IGMP", 2),
    ("IPPROTO_IPIP", 4),
    ("IPPROTO_TCP", 6),
    ("IPPROTO_EGP", 8),
    ("IPPROTO_PUP", 12),
    ("IPPROTO_UDP", 17),
    ("IPPROTO_IDP", 22),
    ("IPPROTO_TP", 29),
    ("IPPROTO_DCCP", 33),
    ("IPPROTO_IPV6", 41),
    ("IPPROTO_RSVP", 46),
    ("IPPROTO_GRE", 47),
    ("IPPROTO_ESP", 50),
    ("IPPROTO_AH", 51),
    ("IPPROTO_ICMPV6", 58),
    ("IPPROTO_MTP", 92),
    ("IPPROTO_BEETPH", 94),
    ("IPPROTO_ENCAP", 98),
    ("IPPROTO_PIM", 103),
    ("IPPROTO_COMP", 108),
    ("IPPROTO_L2TP", 115),
    ("IPPROTO_SCTP", 132),
    ("IPPROTO_UDPLITE", 136),
    ("IPPROTO_MPLS", 137),
    ("IPPROTO_ETHERNET", 143),
    ("IPPROTO_RAW", 255),
    ("IPPROTO_MPTCP", 262),
];

/// Address family names (`AF_*`) and numbers.
pub const FAMILIES: &[(&str, u16)] = &[
    ("AF_UNSPEC", 0),
    ("AF_UNIX", 1),
    ("AF_LOCAL", 1),
    ("AF_INET", 2),
    ("AF_AX25", 3),
    ("AF_IPX", 4),
    ("AF_APPLETALK", 5),
    ("AF_NETROM", 6),
    ("AF_BRIDGE", 7),
    ("AF_ATMPVC", 8),
    ("AF_X25", 9),
    ("AF_INET6", 10),
    ("AF_ROSE", 11),
    ("AF_DECnet", 12),
    ("AF_NETBEUI", 13),
    ("AF_SECURITY", 14),
    ("AF_KEY", 15),
    ("AF_NETLINK", 16),
    ("AF_ROUTE", 16),
    ("AF_PACKET", 17),
    ("AF_ASH", 18),
    ("AF_ECONET", 19),
    ("AF_ATMSVC", 20),
    ("AF_RDS", 21),
    ("AF_SNA", 22),
    ("AF_IRDA", 23),
    ("AF_PPPOX", 24),
    ("AF_WANPIPE", 25),
    ("AF_LLC", 26),
    ("AF_IB", 27),
    ("AF_MPLS", 28),
    ("AF_CAN", 29),
    ("AF_TIPC", 30),
    ("AF_BLUETOOTH", 31),
    ("AF_IUCV", 32),
    ("AF_RXRPC", 33),
    ("AF_ISDN", 34),
    ("AF_PHONET", 35),
    ("AF_IEEE802154", 36),
    ("AF_CAIF", 37),
    ("AF_ALG", 38),
    ("AF_NFC", 39),
    ("AF_VSOCK", 40),
    ("AF_KCM", 41),
    ("AF_QIPCRTR", 42),
    ("AF_SMC", 43),
    ("AF_XDP", 44),
    ("AF_MCTP", 45),
];

/// TCP socket states (`TCP_*`) and numbers.
pub const SOCK_STATES: &[(&str, u16)] = &[
    ("TCP_ESTABLISHED", 1),
    ("TCP_SYN_SENT", 2),
    ("TCP_SYN_RECV", 3),
    ("TCP_FIN_WAIT1", 4),
    ("TCP_FIN_WAIT2", 5),
    ("TCP_TIME_WAIT", 6),
    ("TCP_CLOSE", 7),
    ("TCP_CLOSE_WAIT", 8),
    ("TCP_LAST_ACK", 9),
    ("TCP_LISTEN", 10),
    ("TCP_CLOSING", 11),
    ("TCP_NEW_SYN_RECV", 12),
];

/// File type names that `FileType`/`NotFileType` accept, with the `S_IFMT`
/// bits of `i_mode` they stand for (several names share one type).
pub const FILE_TYPES: &[(&str, u32)] = &[
    ("sock", 0o140000),
    ("socket", 0o140000),
    ("lnk", 0o120000),
    ("link", 0o120000),
    ("reg", 0o100000),
    ("regular", 0o100000),
    ("blk", 0o060000),
    ("block", 0o060000),
    ("dir", 0o040000),
    ("chr", 0o020000),
    ("char", 0o020000),
    ("fifo", 0o010000),
    ("pipe", 0o010000),
];

/// Signal names and numbers (x86_64 and arm64 agree on these).
pub const SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
];

/// Architecture prefixes of syscall wrapper symbols (`__x64_sys_openat`),
/// with the ABI name a `syscalls` list writes before a `/` (`x64/sys_openat`).
pub const SYSCALL_ARCH_PREFIXES: &[(&str, &str)] = &[
    ("__x64_", "x64"),
    ("__ia32_", "i386"),
    ("__arm64_", "arm64"),
    ("__x32_", "x32"),
];

/// The ABIs a `syscalls` list entry may name before a `/`.
pub const SYSCALL_ABIS: &[&str] = &["x64", "i386", "arm64", "arm32"];

/// Splits an architecture prefix off a syscall symbol:
/// `__x64_sys_openat` → `(Some("__x64_"), "sys_openat")`.
pub fn split_syscall_arch_prefix(name: &str) -> (Option<&'static str>, &str) {
    for (prefix, _) in SYSCALL_ARCH_PREFIXES {
        if let Some(rest) = name.strip_prefix(prefix) {
            return (Some(prefix), rest);
        }
    }
    (None, name)
}

/// Does `name` name a syscall the way Tetragon's `syscall: true` expects:
/// `sys_NAME`, `compat_sys_NAME`, or either of them behind an architecture
/// prefix (`__x64_sys_NAME`, `__arm64_sys_NAME`, `__ia32_compat_sys_NAME`)?
pub fn is_syscall_symbol(name: &str) -> bool {
    let (_, rest) = split_syscall_arch_prefix(name);
    let base = rest
        .strip_prefix("sys_")
        .or_else(|| rest.strip_prefix("compat_sys_"));
    base.is_some_and(|b| !b.is_empty())
}

/// The syscall a symbol names, without prefixes: `__x64_sys_openat` and
/// `sys_openat` → `openat`.
pub fn syscall_base_name(name: &str) -> Option<&str> {
    let (_, rest) = split_syscall_arch_prefix(name);
    rest.strip_prefix("sys_")
        .or_else(|| rest.strip_prefix("compat_sys_"))
        .filter(|b| !b.is_empty())
}

/// Is `name` an LSM entry point (`security_file_open`), which Tetragon can
/// override through fmod_ret?
pub fn is_security_function(name: &str) -> bool {
    name.strip_prefix("security_")
        .is_some_and(|rest| !rest.is_empty())
}

/// Is `name` a plausible kernel or ELF symbol: letters, digits, `_`, `.`
/// (compiler suffixes such as `.isra.0`) and `$`, not starting with a digit?
pub fn is_symbol_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$'))
}

/// Looks a name up in a `(name, number)` table.
pub fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// The first name of a number in a `(name, number)` table.
pub fn name_of<T: Copy + PartialEq>(
    table: &'static [(&'static str, T)],
    value: T,
) -> Option<&'static str> {
    table.iter().find(|(_, v)| *v == value).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_numbers() {
        assert_eq!(capability_number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(capability_number("CAP_BPF"), Some(39));
        assert_eq!(capability_name(40), Some("CAP_CHECKPOINT_RESTORE"));
    }

    #[test]
    fn tables() {
        assert_eq!(lookup(PROTOCOLS, "IPPROTO_UDP"), Some(17));
        assert_eq!(lookup(FAMILIES, "AF_INET6"), Some(10));
        assert_eq!(lookup(SOCK_STATES, "TCP_LISTEN"), Some(10));
        assert_eq!(name_of(SIGNALS, 9), Some("SIGKILL"));
    }

    #[test]
    fn syscall_symbols() {
        assert!(is_syscall_symbol("sys_openat"));
        assert!(is_syscall_symbol("__x64_sys_openat"));
        assert!(is_syscall_symbol("__ia32_compat_sys_ioctl"));
        assert!(!is_syscall_symbol("openat"));
        assert!(!is_syscall_symbol("sys_"));
        assert!(!is_syscall_symbol("vfs_open"));
        assert_eq!(syscall_base_name("__arm64_sys_dup"), Some("dup"));
        assert_eq!(
            split_syscall_arch_prefix("__x64_sys_dup"),
            (Some("__x64_"), "sys_dup")
        );
        assert!(is_security_function("security_file_open"));
        assert!(!is_security_function("security_"));
        assert!(is_symbol_name("tcp_v4_connect.isra.0"));
        assert!(!is_symbol_name("sys open"));
        assert!(!is_symbol_name(""));
    }
}
