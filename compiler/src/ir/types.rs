//! Argument types (`args[].type`) and what kind of value each one collects.

/// An argument type as the CRD names it. Aliases (`int32`/`sint32`,
/// `int64`/`sint64`, ...) stay distinct so messages can repeat what the user
/// wrote; [`ArgType::class`] is what matters for semantics.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ArgType {
    Auto,
    Int,
    Sint8,
    Int8,
    Uint8,
    Sint16,
    Int16,
    Uint16,
    Uint32,
    Sint32,
    Int32,
    Ulong,
    Uint64,
    SizeT,
    Long,
    Sint64,
    Int64,
    CharBuf,
    CharIovec,
    Skb,
    Sock,
    Sockaddr,
    Socket,
    SockaddrUn,
    String,
    Fd,
    File,
    Filename,
    Path,
    Nop,
    BpfAttr,
    PerfEvent,
    BpfMap,
    UserNamespace,
    Capability,
    Kiocb,
    IovIter,
    Cred,
    ConstBuf,
    LoadInfo,
    Module,
    Syscall64,
    KernelCapT,
    CapInheritable,
    CapPermitted,
    CapEffective,
    LinuxBinprm,
    DataLoc,
    NetDevice,
    BpfCmd,
    Dentry,
    BpfProg,
}

/// What kind of value an argument type collects; decides which operators
/// apply and how values parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ArgClass {
    /// A fixed-size integer.
    Integer { bits: u8, signed: bool },
    /// Text copied from memory (`string`, `char_buf`, `data_loc`, ...).
    Text,
    /// A file system path reconstructed from a file, path, dentry, fd, ...
    Path,
    /// Raw bytes (`char_iovec`, `const_buf`).
    Bytes,
    /// A socket or packet with addresses and ports (`sock`, `skb`, `socket`).
    Socket,
    /// A `struct sockaddr` (family, address, port).
    SockAddr,
    /// A capability set (`kernel_cap_t`, `cap_*`): a 64-bit mask.
    CapabilitySet,
    /// A syscall id as Tetragon's `syscall64` reads it.
    SyscallId,
    /// A structured kernel object exported as a record (cred, module, ...).
    Record,
    /// Not collected (`nop`) or decided by BTF (`auto`).
    Opaque,
}

impl ArgType {
    pub const ALL: &'static [ArgType] = &[
        ArgType::Auto,
        ArgType::Int,
        ArgType::Sint8,
        ArgType::Int8,
        ArgType::Uint8,
        ArgType::Sint16,
        ArgType::Int16,
        ArgType::Uint16,
        ArgType::Uint32,
        ArgType::Sint32,
        ArgType::Int32,
        ArgType::Ulong,
        ArgType::Uint64,
        ArgType::SizeT,
        ArgType::Long,
        ArgType::Sint64,
        ArgType::Int64,
        ArgType::CharBuf,
        ArgType::CharIovec,
        ArgType::Skb,
        ArgType::Sock,
        ArgType::Sockaddr,
        ArgType::Socket,
        ArgType::SockaddrUn,
        ArgType::String,
        ArgType::Fd,
        ArgType::File,
        ArgType::Filename,
        ArgType::Path,
        ArgType::Nop,
        ArgType::BpfAttr,
        ArgType::PerfEvent,
        ArgType::BpfMap,
        ArgType::UserNamespace,
        ArgType::Capability,
        ArgType::Kiocb,
        ArgType::IovIter,
        ArgType::Cred,
        ArgType::ConstBuf,
        ArgType::LoadInfo,
        ArgType::Module,
        ArgType::Syscall64,
        ArgType::KernelCapT,
        ArgType::CapInheritable,
        ArgType::CapPermitted,
        ArgType::CapEffective,
        ArgType::LinuxBinprm,
        ArgType::DataLoc,
        ArgType::NetDevice,
        ArgType::BpfCmd,
        ArgType::Dentry,
        ArgType::BpfProg,
    ];

    pub fn from_name(name: &str) -> Option<ArgType> {
        ArgType::ALL.iter().copied().find(|t| t.as_str() == name)
    }

    /// The CRD spelling.
    pub fn as_str(self) -> &'static str {
        use ArgType::*;
        match self {
            Auto => "auto",
            Int => "int",
            Sint8 => "sint8",
            Int8 => "int8",
            Uint8 => "uint8",
            Sint16 => "sint16",
            Int16 => "int16",
            Uint16 => "uint16",
            Uint32 => "uint32",
            Sint32 => "sint32",
            Int32 => "int32",
            Ulong => "ulong",
            Uint64 => "uint64",
            SizeT => "size_t",
            Long => "long",
            Sint64 => "sint64",
            Int64 => "int64",
            CharBuf => "char_buf",
            CharIovec => "char_iovec",
            Skb => "skb",
            Sock => "sock",
            Sockaddr => "sockaddr",
            Socket => "socket",
            SockaddrUn => "sockaddr_un",
            String => "string",
            Fd => "fd",
            File => "file",
            Filename => "filename",
            Path => "path",
            Nop => "nop",
            BpfAttr => "bpf_attr",
            PerfEvent => "perf_event",
            BpfMap => "bpf_map",
            UserNamespace => "user_namespace",
            Capability => "capability",
            Kiocb => "kiocb",
            IovIter => "iov_iter",
            Cred => "cred",
            ConstBuf => "const_buf",
            LoadInfo => "load_info",
            Module => "module",
            Syscall64 => "syscall64",
            KernelCapT => "kernel_cap_t",
            CapInheritable => "cap_inheritable",
            CapPermitted => "cap_permitted",
            CapEffective => "cap_effective",
            LinuxBinprm => "linux_binprm",
            DataLoc => "data_loc",
            NetDevice => "net_device",
            BpfCmd => "bpf_cmd",
            Dentry => "dentry",
            BpfProg => "bpf_prog",
        }
    }

    pub fn class(self) -> ArgClass {
        use ArgType::*;
        match self {
            Int | Sint32 | Int32 | Capability | BpfCmd => ArgClass::Integer {
                bits: 32,
                signed: true,
            },
            Sint8 | Int8 => ArgClass::Integer {
                bits: 8,
                signed: true,
            },
            Uint8 => ArgClass::Integer {
                bits: 8,
                signed: false,
            },
            Sint16 | Int16 => ArgClass::Integer {
                bits: 16,
                signed: true,
            },
            Uint16 => ArgClass::Integer {
                bits: 16,
                signed: false,
            },
            Uint32 => ArgClass::Integer {
                bits: 32,
                signed: false,
            },
            Ulong | Uint64 | SizeT => ArgClass::Integer {
                bits: 64,
                signed: false,
            },
            Long | Sint64 | Int64 => ArgClass::Integer {
                bits: 64,
                signed: true,
            },
            String | CharBuf | Filename | DataLoc => ArgClass::Text,
            CharIovec | ConstBuf => ArgClass::Bytes,
            File | Path | Fd | Dentry | LinuxBinprm | Kiocb => ArgClass::Path,
            Skb | Sock | Socket => ArgClass::Socket,
            Sockaddr | SockaddrUn => ArgClass::SockAddr,
            KernelCapT | CapInheritable | CapPermitted | CapEffective => ArgClass::CapabilitySet,
            Syscall64 => ArgClass::SyscallId,
            BpfAttr | PerfEvent | BpfMap | UserNamespace | Cred | LoadInfo | Module | NetDevice
            | BpfProg | IovIter => ArgClass::Record,
            Nop | Auto => ArgClass::Opaque,
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(
            self.class(),
            ArgClass::Integer { .. } | ArgClass::SyscallId | ArgClass::CapabilitySet
        )
    }

    /// Types whose filters compare text (strings and paths).
    pub fn is_textual(self) -> bool {
        matches!(self.class(), ArgClass::Text | ArgClass::Path)
    }
}

/// How Tetragon's agent sorts an argument type when it loads a filter: the
/// group decides which operators it accepts (semantics reference §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FilterGroup {
    /// 32-bit integers: `int`, `int32`, `size_t`, `int16`, `int8`, the
    /// unsigned widths up to 32 bits, `bpf_cmd`.
    Int32,
    /// 64-bit integers: `int64`, `uint64`, `long`, `ulong`, `syscall64`.
    Int64,
    /// Compared as strings: `string`, `char_buf`, `data_loc`, `net_device`
    /// and the path-like `fd`, `file`, `path`, `linux_binprm`.
    Text,
    /// Sockets: `sock`, `socket`, `skb`, `sockaddr`.
    Socket,
    /// Capability masks: `kernel_cap_t`, `cap_inheritable`, `cap_permitted`,
    /// `cap_effective`.
    CapabilitySet,
    /// Everything else: the agent refuses `Equal` and the numeric operators.
    Unfilterable,
}

/// Which comparison the BPF programs run for a type (`selector_arg_offset`
/// in Tetragon's `basic.h`). `None` means every filter on the type is
/// skipped at run time: it always passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BpfFilterFamily {
    Integer { bits: u8 },
    String,
    Path,
    Inet,
    None,
}

impl ArgType {
    /// The agent's operator group for this type; `None` for `auto`, whose
    /// real type is only known from the tracepoint format.
    pub fn filter_group(self) -> Option<FilterGroup> {
        use ArgType::*;
        Some(match self {
            Auto => return None,
            Int | Sint32 | Int32 | SizeT | Sint16 | Int16 | Sint8 | Int8 | Uint32 | Uint16
            | Uint8 | BpfCmd => FilterGroup::Int32,
            Long | Sint64 | Int64 | Uint64 | Ulong | Syscall64 => FilterGroup::Int64,
            String | CharBuf | DataLoc | NetDevice | Fd | File | Path | LinuxBinprm => {
                FilterGroup::Text
            }
            Sock | Socket | Skb | Sockaddr => FilterGroup::Socket,
            KernelCapT | CapInheritable | CapPermitted | CapEffective => FilterGroup::CapabilitySet,
            Capability | Filename | CharIovec | ConstBuf | Kiocb | IovIter | Cred
            | UserNamespace | BpfAttr | BpfProg | BpfMap | PerfEvent | LoadInfo | Module | Nop
            | Dentry | SockaddrUn => FilterGroup::Unfilterable,
        })
    }

    /// The BPF comparison family; `None` for `auto` (decided by the
    /// tracepoint format).
    pub fn bpf_filter_family(self) -> Option<BpfFilterFamily> {
        use ArgType::*;
        Some(match self {
            Auto => return None,
            Int | Sint32 | Int32 | SizeT | Uint32 | BpfCmd => BpfFilterFamily::Integer { bits: 32 },
            Sint16 | Int16 | Uint16 => BpfFilterFamily::Integer { bits: 16 },
            Sint8 | Int8 | Uint8 => BpfFilterFamily::Integer { bits: 8 },
            Long | Sint64 | Int64 | Uint64 | Ulong | Syscall64 | KernelCapT | CapInheritable
            | CapPermitted | CapEffective => BpfFilterFamily::Integer { bits: 64 },
            String | CharBuf | DataLoc | NetDevice => BpfFilterFamily::String,
            Fd | File | Path | Dentry | LinuxBinprm => BpfFilterFamily::Path,
            Sock | Socket | Skb | Sockaddr => BpfFilterFamily::Inet,
            Capability | Filename | CharIovec | ConstBuf | Kiocb | IovIter | Cred
            | UserNamespace | BpfAttr | BpfProg | BpfMap | PerfEvent | LoadInfo | Module | Nop
            | SockaddrUn => BpfFilterFamily::None,
        })
    }

    /// Types whose `GT` the BPF programs evaluate as `<` (a Tetragon bug for
    /// unsigned 64-, 16- and 8-bit types, and for `int16`/`int8`, which the
    /// programs treat as unsigned).
    pub fn has_inverted_greater_than(self) -> bool {
        use ArgType::*;
        matches!(
            self,
            Uint64 | Ulong | Uint16 | Uint8 | Sint16 | Int16 | Sint8 | Int8
        )
    }

    /// Capability-set types (what `CapabilitiesGained` compares).
    pub fn is_capability_set(self) -> bool {
        self.filter_group() == Some(FilterGroup::CapabilitySet)
    }
}

impl std::fmt::Display for ArgType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::schema::ARG_TYPES;

    #[test]
    fn every_crd_type_is_known_and_round_trips() {
        for name in ARG_TYPES.values {
            let t = ArgType::from_name(name).unwrap_or_else(|| panic!("{name} unknown"));
            assert_eq!(t.as_str(), *name);
        }
        assert_eq!(ArgType::ALL.len(), ARG_TYPES.values.len());
    }

    #[test]
    fn groups_follow_the_agent() {
        assert_eq!(ArgType::SizeT.filter_group(), Some(FilterGroup::Int32));
        assert_eq!(ArgType::Syscall64.filter_group(), Some(FilterGroup::Int64));
        assert_eq!(ArgType::NetDevice.filter_group(), Some(FilterGroup::Text));
        assert_eq!(
            ArgType::Dentry.filter_group(),
            Some(FilterGroup::Unfilterable)
        );
        assert_eq!(
            ArgType::Dentry.bpf_filter_family(),
            Some(BpfFilterFamily::Path)
        );
        assert_eq!(
            ArgType::Cred.bpf_filter_family(),
            Some(BpfFilterFamily::None)
        );
        assert_eq!(ArgType::Auto.filter_group(), None);
        assert!(ArgType::Uint64.has_inverted_greater_than());
        assert!(!ArgType::Uint32.has_inverted_greater_than());
    }
}
