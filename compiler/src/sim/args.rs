//! Hook arguments as Tetragon's BPF filters see them: which event argument a
//! policy declaration is, which filter family its type uses, and the value a
//! filter compares (raw integer bits, text bytes, a path, a socket tuple).

use crate::ir::names;
use crate::ir::{ArgDecl, ArgRef, ArgType, Hook};
use std::borrow::Cow;
use std::net::IpAddr;
use tpc_events::{ArgValue, Event, KprobeArgument};

use super::syscalls::{Abi, COMPAT_BIT};

/// Which BPF filter code runs for an argument type (`selector_arg_offset`
/// in Tetragon's `basic.h`), which decides what every operator does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Fixed-width integers. `signed` is Tetragon's `is_signed_type` (only
    /// `int`, `int32`, `int64`): 16- and 8-bit types compare unsigned.
    Int { bits: u8, signed: bool },
    /// `syscall64`: a 64-bit syscall id (compat syscalls carry bit 31).
    Syscall,
    /// Capability masks (`kernel_cap_t`, `cap_*`): 64-bit unsigned.
    CapMask,
    /// Strings and buffers (`string`, `char_buf`, `data_loc`, `net_device`).
    Text,
    /// Paths (`file`, `path`, `fd`, `dentry`, `linux_binprm`).
    Path,
    /// Sockets and packets.
    Inet(InetKind),
    /// Types without a runtime filter: Tetragon skips any filter on them.
    Unfiltered,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InetKind {
    /// `sock`, `socket`: tuple and TCP state.
    Sock,
    /// `skb`: tuple, no state.
    Skb,
    /// `sockaddr`: family, address and port (the source side).
    Sockaddr,
}

impl Family {
    /// The family of a declared type; `auto` (tracepoints) is decided by the
    /// value the event carries.
    pub fn of_type(ty: ArgType, value: Option<&ArgValue>) -> Family {
        use ArgType::*;
        match ty {
            Int | Int32 | Sint32 | BpfCmd => Family::Int {
                bits: 32,
                signed: true,
            },
            Uint32 | SizeT => Family::Int {
                bits: 32,
                signed: false,
            },
            Int16 | Sint16 | Uint16 => Family::Int {
                bits: 16,
                signed: false,
            },
            Int8 | Sint8 | Uint8 => Family::Int {
                bits: 8,
                signed: false,
            },
            Int64 | Sint64 | Long => Family::Int {
                bits: 64,
                signed: true,
            },
            Uint64 | Ulong => Family::Int {
                bits: 64,
                signed: false,
            },
            Syscall64 => Family::Syscall,
            KernelCapT | CapInheritable | CapPermitted | CapEffective => Family::CapMask,
            String | CharBuf | DataLoc | NetDevice => Family::Text,
            File | Path | Fd | Dentry | LinuxBinprm => Family::Path,
            Skb => Family::Inet(InetKind::Skb),
            Sock | Socket => Family::Inet(InetKind::Sock),
            Sockaddr => Family::Inet(InetKind::Sockaddr),
            Auto => value.map_or(Family::Unfiltered, Family::of_value),
            CharIovec | ConstBuf | Filename | Kiocb | IovIter | Cred | Capability
            | UserNamespace | BpfAttr | BpfProg | BpfMap | PerfEvent | LoadInfo | Module | Nop
            | SockaddrUn => Family::Unfiltered,
        }
    }

    /// The family a value's own kind suggests (for `type: auto`).
    fn of_value(value: &ArgValue) -> Family {
        match value {
            ArgValue::Int(_) => Family::Int {
                bits: 32,
                signed: true,
            },
            ArgValue::Uint(_) => Family::Int {
                bits: 32,
                signed: false,
            },
            ArgValue::Long(_) => Family::Int {
                bits: 64,
                signed: true,
            },
            ArgValue::Size(_) => Family::Int {
                bits: 64,
                signed: false,
            },
            ArgValue::String(_)
            | ArgValue::Bytes(_)
            | ArgValue::TruncatedBytes(_)
            | ArgValue::NetDev(_) => Family::Text,
            ArgValue::File(_) | ArgValue::Path(_) | ArgValue::LinuxBinprm(_) => Family::Path,
            ArgValue::Sock(_) => Family::Inet(InetKind::Sock),
            ArgValue::Skb(_) => Family::Inet(InetKind::Skb),
            ArgValue::Sockaddr(_) => Family::Inet(InetKind::Sockaddr),
            ArgValue::SyscallId(_) => Family::Syscall,
            ArgValue::KernelCapT(_)
            | ArgValue::CapEffective(_)
            | ArgValue::CapInheritable(_)
            | ArgValue::CapPermitted(_) => Family::CapMask,
            _ => Family::Unfiltered,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Family::Int {
                bits: 64,
                signed: true,
            } => "signed 64-bit integer",
            Family::Int { bits: 64, .. } => "unsigned 64-bit integer",
            Family::Int {
                bits: 32,
                signed: true,
            } => "signed 32-bit integer",
            Family::Int { bits: 32, .. } => "unsigned 32-bit integer",
            Family::Int { bits: 16, .. } => "16-bit integer",
            Family::Int { .. } => "8-bit integer",
            Family::Syscall => "syscall id",
            Family::CapMask => "capability mask",
            Family::Text => "string",
            Family::Path => "path",
            Family::Inet(InetKind::Sock) => "socket",
            Family::Inet(InetKind::Skb) => "packet",
            Family::Inet(InetKind::Sockaddr) => "socket address",
            Family::Unfiltered => "value without a runtime filter",
        }
    }
}

/// The declaration an [`ArgRef`] points at.
pub fn decl(hook: &Hook, target: ArgRef) -> Option<&ArgDecl> {
    match target {
        ArgRef::Arg(position) => hook.args.get(position),
        ArgRef::Data(position) => hook.data.get(position),
        ArgRef::Return => hook.return_arg.as_ref(),
    }
}

/// A short name for a filter target: `args[1] (file)`, `data[0]`, `return`.
pub fn target_name(hook: &Hook, target: ArgRef) -> String {
    let ty = decl(hook, target).map(|d| d.ty.value);
    let (base, label) = match target {
        ArgRef::Arg(p) => (
            format!("args[{p}]"),
            decl(hook, target).and_then(|d| d.label.as_ref()),
        ),
        ArgRef::Data(p) => (
            format!("data[{p}]"),
            decl(hook, target).and_then(|d| d.label.as_ref()),
        ),
        ArgRef::Return => ("returnArg".to_string(), None),
    };
    match (ty, label) {
        (Some(t), Some(l)) => format!("{base} \"{}\" ({t})", l.value),
        (Some(t), None) => format!("{base} ({t})"),
        _ => base,
    }
}

/// Where the event keeps the value of a declaration: `nop` arguments are not
/// collected, so the event's `args` skip them.
pub fn event_arg<'e>(hook: &Hook, event: &'e Event, target: ArgRef) -> Option<&'e KprobeArgument> {
    let position_in = |decls: &[ArgDecl], position: usize| -> Option<usize> {
        let d = decls.get(position)?;
        if d.ty.value == ArgType::Nop {
            return None;
        }
        Some(
            decls[..position]
                .iter()
                .filter(|d| d.ty.value != ArgType::Nop)
                .count(),
        )
    };
    match target {
        ArgRef::Arg(position) => event.args().get(position_in(&hook.args, position)?),
        ArgRef::Data(position) => event.data().get(position_in(&hook.data, position)?),
        ArgRef::Return => event.return_arg().or_else(|| {
            event.uprobe_return_arg(
                hook.args
                    .iter()
                    .filter(|d| d.ty.value != ArgType::Nop)
                    .count(),
            )
        }),
    }
}

/// A value as a filter of its family compares it.
#[derive(Debug)]
pub enum FilterInput<'e> {
    /// The event has no value at this position.
    Missing,
    /// The event has a value, but not one this family can read.
    WrongKind(&'e str),
    /// Integer bits (zero-extended; signed values are two's complement).
    Bits(u64),
    /// A syscall id with the ABI the event names.
    Syscall { raw: u64, abi: Option<Abi> },
    /// Bytes of a string or buffer.
    Text(Cow<'e, [u8]>),
    /// A buffer whose bytes the event does not carry (`truncated_bytes_arg`
    /// without `bytes_arg`).
    TextUnknown { original_size: Option<u64> },
    /// A path; `path` is empty when Tetragon could not build one (shown as
    /// `/` in events), `shown` is what the event says.
    Path {
        path: Cow<'e, str>,
        shown: &'e str,
        permission: Option<&'e str>,
        legacy: bool,
    },
    /// A socket tuple.
    Inet(Box<InetTuple>),
}

/// The fields of a socket, packet or socket address that filters read.
#[derive(Debug, Default)]
pub struct InetTuple {
    pub family: Option<u16>,
    pub saddr: Option<IpAddr>,
    pub daddr: Option<IpAddr>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub protocol: Option<u16>,
    pub state: Option<u16>,
}

/// Integer bits of an event integer: sign-extended from its own width.
pub fn integer_bits(value: &ArgValue) -> Option<u64> {
    Some(match value {
        ArgValue::Int(v) => i64::from(v.get()) as u64,
        ArgValue::Uint(v) => u64::from(v.get()),
        ArgValue::Long(v) => v.get() as u64,
        ArgValue::Size(v) => v.get(),
        _ => return None,
    })
}

/// Parses a capability mask as events write it (`0x000001ff` or decimal).
pub fn capability_mask(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok().or_else(|| u64::from_str_radix(t, 16).ok()),
    }
}

fn named(table: &'static [(&'static str, u16)], text: &str) -> Option<u16> {
    names::lookup(table, text).or_else(|| text.parse().ok())
}

/// Reads the value a filter of `family` compares from an event argument.
/// `legacy_paths` reads paths without a leading `/` (older Tetragon
/// exports) as absolute.
pub fn filter_input<'e>(
    family: Family,
    argument: Option<&'e KprobeArgument>,
    legacy_paths: bool,
) -> FilterInput<'e> {
    let Some(argument) = argument else {
        return FilterInput::Missing;
    };
    let value = &argument.value;
    let kind = value.key().unwrap_or("no value");
    match family {
        Family::Int { .. } => {
            integer_bits(value).map_or(FilterInput::WrongKind(kind), FilterInput::Bits)
        }
        Family::CapMask => match value {
            ArgValue::KernelCapT(t)
            | ArgValue::CapEffective(t)
            | ArgValue::CapInheritable(t)
            | ArgValue::CapPermitted(t) => {
                capability_mask(t).map_or(FilterInput::WrongKind(kind), FilterInput::Bits)
            }
            other => integer_bits(other).map_or(FilterInput::WrongKind(kind), FilterInput::Bits),
        },
        Family::Syscall => match value {
            ArgValue::SyscallId(id) => {
                let number = u64::from(id.id.map_or(0, |v| v.get()));
                let abi = id.abi.as_deref().and_then(Abi::from_name);
                let raw = if abi.is_some_and(Abi::is_compat) {
                    number | COMPAT_BIT
                } else {
                    number
                };
                FilterInput::Syscall { raw, abi }
            }
            other => integer_bits(other).map_or(FilterInput::WrongKind(kind), |raw| {
                FilterInput::Syscall { raw, abi: None }
            }),
        },
        Family::Text => match value {
            ArgValue::String(s) => FilterInput::Text(Cow::Borrowed(s.as_bytes())),
            ArgValue::Bytes(b) => FilterInput::Text(Cow::Owned(b.decode())),
            ArgValue::TruncatedBytes(t) => match &t.bytes_arg {
                Some(b) => FilterInput::Text(Cow::Owned(b.decode())),
                None => FilterInput::TextUnknown {
                    original_size: t.orig_size.map(|v| v.get()),
                },
            },
            ArgValue::NetDev(dev) => FilterInput::Text(Cow::Borrowed(
                dev.name.as_deref().unwrap_or_default().as_bytes(),
            )),
            _ => FilterInput::WrongKind(kind),
        },
        Family::Path => {
            let (shown, permission) = match value {
                ArgValue::File(f) => (f.path.as_deref(), f.permission.as_deref()),
                ArgValue::Path(p) => (p.path.as_deref(), p.permission.as_deref()),
                ArgValue::LinuxBinprm(b) => (b.path.as_deref(), b.permission.as_deref()),
                ArgValue::String(s) => (Some(s.as_str()), None),
                _ => return FilterInput::WrongKind(kind),
            };
            let shown = shown.unwrap_or_default();
            // `/` is what the agent shows when BPF could not build a path:
            // the filters saw an empty one.
            let (path, legacy) = if shown.is_empty() || shown == "/" {
                (Cow::Borrowed(""), false)
            } else if legacy_paths && !shown.starts_with('/') {
                (Cow::Owned(format!("/{shown}")), true)
            } else {
                (Cow::Borrowed(shown), false)
            };
            FilterInput::Path {
                path,
                shown,
                permission,
                legacy,
            }
        }
        Family::Inet(_) => {
            let mut t = InetTuple::default();
            let port =
                |v: Option<tpc_events::JsonInt<u32>>| v.and_then(|p| u16::try_from(p.get()).ok());
            let addr = |a: &Option<String>| a.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
            match value {
                ArgValue::Sock(s) => {
                    t.family = s.family.as_deref().and_then(|f| named(names::FAMILIES, f));
                    t.saddr = addr(&s.saddr);
                    t.daddr = addr(&s.daddr);
                    t.sport = port(s.sport);
                    t.dport = port(s.dport);
                    t.protocol = s
                        .protocol
                        .as_deref()
                        .and_then(|p| named(names::PROTOCOLS, p));
                    t.state = s
                        .state
                        .as_deref()
                        .and_then(|p| named(names::SOCK_STATES, p));
                }
                ArgValue::Skb(s) => {
                    t.family = s.family.as_deref().and_then(|f| named(names::FAMILIES, f));
                    t.saddr = addr(&s.saddr);
                    t.daddr = addr(&s.daddr);
                    t.sport = port(s.sport);
                    t.dport = port(s.dport);
                    t.protocol = s
                        .proto
                        .and_then(|p| u16::try_from(p.get()).ok())
                        .or_else(|| {
                            s.protocol
                                .as_deref()
                                .and_then(|p| named(names::PROTOCOLS, p))
                        });
                }
                ArgValue::Sockaddr(s) => {
                    t.family = s.family.as_deref().and_then(|f| named(names::FAMILIES, f));
                    t.saddr = addr(&s.addr);
                    t.sport = port(s.port);
                }
                _ => return FilterInput::WrongKind(kind),
            }
            FilterInput::Inet(Box::new(t))
        }
        Family::Unfiltered => FilterInput::Missing,
    }
}

/// A printable form of bytes: text when UTF-8, else escaped.
pub fn show_bytes(bytes: &[u8]) -> String {
    const LIMIT: usize = 120;
    let shown = &bytes[..bytes.len().min(LIMIT)];
    let mut out = match std::str::from_utf8(shown) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("\"{}\"", shown.escape_ascii()),
    };
    if bytes.len() > LIMIT {
        out.push_str(&format!(" ({} bytes)", bytes.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(capability_mask("0x000001ff"), Some(0x1ff));
        assert_eq!(capability_mask("000001ff"), Some(0x1ff));
        assert_eq!(capability_mask("10"), Some(10));
    }

    #[test]
    fn paths_shown_as_root_are_empty_for_filters() {
        let arg = KprobeArgument::file("/");
        match filter_input(Family::Path, Some(&arg), true) {
            FilterInput::Path { path, .. } => assert_eq!(path, ""),
            other => panic!("{other:?}"),
        }
        let arg = KprobeArgument::file("etc/passwd");
        match filter_input(Family::Path, Some(&arg), true) {
            FilterInput::Path { path, legacy, .. } => {
                assert_eq!(path, "/etc/passwd");
                assert!(legacy);
            }
            other => panic!("{other:?}"),
        }
    }
}
