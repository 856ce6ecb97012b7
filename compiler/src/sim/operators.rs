//! `matchArgs`, `matchData` and `matchReturnArgs` operators on every filter
//! family, as Tetragon's BPF code evaluates them (`basic.h`), quirks
//! included: `NotEqual` on numbers with several values is an OR of `≠`;
//! `GT` on unsigned 64-, 16- and 8-bit types compares `<`; `size_t` compares
//! 32 bits; paths Tetragon could not build match no operator, not even the
//! negated ones; `Prefix` on numbers or sockets never matches.

use crate::ir::{ArgFilter, ArgRef, ArgType, FilterValue, Hook, Operator};
use std::net::IpAddr;
use tpc_events::Event;

use super::args::{self, Family, FilterInput, InetKind, InetTuple};
use super::syscalls::{self, Arch};
use super::trace::Why;

/// Bytes of a prefix Tetragon's prefix trie looks at.
const PREFIX_WINDOW: usize = 255;
/// Bytes of the end of a string Tetragon's postfix check looks at.
const POSTFIX_WINDOW: usize = 127;

/// An argument filter with its values pre-converted for evaluation.
#[derive(Debug)]
pub struct ArgFilterPlan<'p> {
    pub filter: &'p ArgFilter,
    /// The declared type of the first target.
    pub declared: Option<ArgType>,
    ints: Vec<i128>,
    ranges: Vec<(i128, i128)>,
    texts: Vec<Vec<u8>>,
    cidrs: Vec<(IpAddr, u8)>,
    ports: Vec<(u16, u16)>,
    numbers: Vec<u16>,
    file_types: Vec<u32>,
    /// `InMap` syscall values per node architecture (x86_64, arm64), sorted.
    syscalls: [Vec<u64>; 2],
    unknown_syscalls: Vec<String>,
}

fn arch_slot(arch: Arch) -> usize {
    match arch {
        Arch::X86_64 => 0,
        Arch::Arm64 => 1,
    }
}

impl<'p> ArgFilterPlan<'p> {
    pub fn new(hook: &'p Hook, filter: &'p ArgFilter) -> Self {
        let declared = filter
            .targets
            .first()
            .and_then(|t| args::decl(hook, *t))
            .map(|d| d.ty.value);
        let strip_nul = declared == Some(ArgType::String);
        let mut plan = ArgFilterPlan {
            filter,
            declared,
            ints: Vec::new(),
            ranges: Vec::new(),
            texts: Vec::new(),
            cidrs: Vec::new(),
            ports: Vec::new(),
            numbers: Vec::new(),
            file_types: Vec::new(),
            syscalls: [Vec::new(), Vec::new()],
            unknown_syscalls: Vec::new(),
        };
        let port_op = matches!(
            filter.operator.value,
            Operator::SPort | Operator::NotSPort | Operator::DPort | Operator::NotDPort
        );
        for value in &filter.values {
            match &value.value {
                FilterValue::Int(v) => plan.ints.push(*v),
                FilterValue::Range { lo, hi } if port_op => {
                    let lo = u16::try_from(*lo).unwrap_or(u16::MAX);
                    let hi = u16::try_from(*hi).unwrap_or(u16::MAX);
                    plan.ports.push((lo, hi));
                }
                FilterValue::Range { lo, hi } => plan.ranges.push((*lo, *hi)),
                FilterValue::Port(p) => plan.ports.push((*p, *p)),
                FilterValue::Text(t) => {
                    let mut bytes = t.as_bytes().to_vec();
                    if strip_nul {
                        while bytes.last() == Some(&0) {
                            bytes.pop();
                        }
                    }
                    plan.texts.push(bytes);
                }
                FilterValue::Expr(t) => plan.texts.push(t.as_bytes().to_vec()),
                FilterValue::Cidr { addr, prefix } => plan.cidrs.push((*addr, *prefix)),
                FilterValue::Protocol(n) | FilterValue::Family(n) | FilterValue::SockState(n) => {
                    plan.numbers.push(*n)
                }
                FilterValue::FileType(t) => plan.file_types.push(*t),
                FilterValue::Capability(_) => {}
                FilterValue::Syscall { name, .. } => {
                    let mut known = false;
                    for arch in [Arch::X86_64, Arch::Arm64] {
                        if let Some(id) = syscalls::list_value_id(name, arch) {
                            plan.syscalls[arch_slot(arch)].push(id);
                            known = true;
                        }
                    }
                    if !known {
                        plan.unknown_syscalls.push(name.clone());
                    }
                }
            }
        }
        for set in &mut plan.syscalls {
            set.sort_unstable();
            set.dedup();
        }
        plan
    }

    pub fn operator(&self) -> Operator {
        self.filter.operator.value
    }

    /// A one-line description: `args[0] (file) Prefix [/etc/, /root/]`.
    pub fn describe(&self, hook: &Hook) -> String {
        let targets: Vec<String> = self
            .filter
            .targets
            .iter()
            .map(|t| args::target_name(hook, *t))
            .collect();
        let values: Vec<String> = self
            .filter
            .values
            .iter()
            .map(|v| v.value.display())
            .collect();
        let shown = if values.len() > 8 {
            format!("{}, ... ({} values)", values[..8].join(", "), values.len())
        } else {
            values.join(", ")
        };
        format!(
            "{} {} [{}]",
            targets.join(", "),
            self.operator().as_str(),
            shown
        )
    }

    /// Evaluates the filter on an event. `arch` is the node's architecture
    /// (for syscall lists); `legacy_paths` reads old relative paths as
    /// absolute.
    pub fn evaluate(
        &self,
        hook: &Hook,
        event: &Event,
        arch: Arch,
        legacy_paths: bool,
        mut why: Option<&mut Why>,
    ) -> bool {
        let op = self.operator();
        if op == Operator::CapabilitiesGained {
            return self.capabilities_gained(hook, event, why);
        }
        let Some(target) = self.filter.targets.first().copied() else {
            note(&mut why, || "the filter names no argument".into());
            return false;
        };
        let argument = args::event_arg(hook, event, target);
        let family = Family::of_type(
            self.declared.unwrap_or(ArgType::Auto),
            argument.map(|a| &a.value),
        );
        if family == Family::Unfiltered {
            if let Some(w) = why.as_deref_mut() {
                w.ignored = true;
                w.reason = format!(
                    "Tetragon has no runtime filter for type {}: the filter is skipped and always passes",
                    self.declared.map_or("auto", ArgType::as_str)
                );
            }
            return true;
        }
        if op == Operator::CelExpr {
            note(&mut why, || {
                "CelExpr filters are not evaluated by tpc's simulator: counted as not matching"
                    .into()
            });
            return false;
        }
        let input = args::filter_input(family, argument, legacy_paths);
        match input {
            FilterInput::Missing => {
                note(&mut why, || {
                    format!(
                        "the event has no value for {}",
                        args::target_name(hook, target)
                    )
                });
                false
            }
            FilterInput::WrongKind(kind) => {
                note(&mut why, || {
                    format!("the event's value is a {kind}, not a {}", family.describe())
                });
                false
            }
            FilterInput::Bits(raw) => match family {
                Family::Int { bits, signed } => self.integer(op, bits, signed, raw, None, why),
                _ => self.integer(op, 64, false, raw, None, why),
            },
            FilterInput::Syscall { raw, abi } => {
                let arch = abi.map_or(arch, |a| a.arch());
                self.integer(op, 64, false, raw, Some(arch), why)
            }
            FilterInput::Text(bytes) => self.text(op, &bytes, why),
            FilterInput::TextUnknown { original_size } => {
                note(&mut why, || {
                    format!(
                        "the event does not carry the buffer's bytes (truncated_bytes_arg, {} bytes): counted as not matching",
                        original_size.map_or_else(|| "unknown size".to_string(), |s| s.to_string())
                    )
                });
                false
            }
            FilterInput::Path {
                path,
                shown,
                permission,
                legacy,
            } => self.path(op, &path, shown, permission, legacy, why),
            FilterInput::Inet(tuple) => {
                let kind = match family {
                    Family::Inet(k) => k,
                    _ => InetKind::Sock,
                };
                self.inet(op, kind, &tuple, why)
            }
        }
    }

    fn integer(
        &self,
        op: Operator,
        bits: u8,
        signed: bool,
        raw: u64,
        arch: Option<Arch>,
        mut why: Option<&mut Why>,
    ) -> bool {
        let arg_bits = truncate(raw, bits);
        let arg_value: i128 = if signed {
            i128::from(sign_extend(raw, bits))
        } else {
            i128::from(arg_bits)
        };
        let shown = || {
            if signed {
                format!("{arg_value}")
            } else if bits == 64 && arg_value > i128::from(i64::MAX) {
                format!("{arg_value} ({:#x})", arg_bits)
            } else {
                format!("{arg_value}")
            }
        };
        let value_bits = |v: i128| truncate(v as u64, bits);
        let value_of = |v: i128| -> i128 {
            if signed {
                i128::from(sign_extend(v as u64, bits))
            } else {
                i128::from(truncate(v as u64, bits))
            }
        };
        match op {
            Operator::Equal => {
                let m = self.ints.iter().any(|v| value_bits(*v) == arg_bits);
                note(&mut why, || {
                    format!(
                        "value is {}, {} the listed values",
                        shown(),
                        if m { "one of" } else { "none of" }
                    )
                });
                m
            }
            Operator::NotEqual => {
                let m = self.ints.iter().any(|v| value_bits(*v) != arg_bits);
                let distinct = {
                    let mut vs: Vec<u64> = self.ints.iter().map(|v| value_bits(*v)).collect();
                    vs.sort_unstable();
                    vs.dedup();
                    vs.len()
                };
                note(&mut why, || format!("value is {}", shown()));
                if distinct > 1 {
                    quirk(
                        &mut why,
                        "Tetragon bug: NotEqual on numbers ORs the ≠ tests, so with several values it matches every value",
                    );
                }
                m
            }
            Operator::Gt => {
                let buggy = !signed && bits != 32;
                let m = self.ints.iter().any(|v| {
                    let w = value_of(*v);
                    if buggy { arg_value < w } else { arg_value > w }
                });
                note(&mut why, || format!("value is {}", shown()));
                if buggy {
                    quirk(
                        &mut why,
                        "Tetragon bug: GT on unsigned 64-, 16- and 8-bit types compares with < instead of >",
                    );
                }
                m
            }
            Operator::Lt => {
                let m = self.ints.iter().any(|v| arg_value < value_of(*v));
                note(&mut why, || format!("value is {}", shown()));
                m
            }
            Operator::Mask => {
                let m = self.ints.iter().any(|v| value_bits(*v) & arg_bits != 0);
                note(&mut why, || {
                    format!("value is {} ({:#x})", shown(), arg_bits)
                });
                m
            }
            Operator::InMap | Operator::NotInMap => {
                let in_values = self.ints.iter().any(|v| value_of(*v) == arg_value)
                    || self
                        .ranges
                        .iter()
                        .any(|(lo, hi)| *lo <= arg_value && arg_value <= *hi);
                let in_syscalls = match arch {
                    Some(arch) => self.syscalls[arch_slot(arch)]
                        .binary_search(&arg_bits)
                        .is_ok(),
                    None => false,
                };
                let found = in_values || in_syscalls;
                note(&mut why, || {
                    let mut s = match arch {
                        Some(arch) => {
                            format!("syscall id is {}{}", shown(), syscall_name(arg_bits, arch))
                        }
                        None => format!("value is {}", shown()),
                    };
                    s.push_str(if found {
                        ", in the map"
                    } else {
                        ", not in the map"
                    });
                    if !self.unknown_syscalls.is_empty() {
                        s.push_str(&format!(
                            " (unknown syscalls ignored: {})",
                            self.unknown_syscalls.join(", ")
                        ));
                    }
                    s
                });
                if op == Operator::InMap { found } else { !found }
            }
            Operator::InRange | Operator::NotInRange => {
                let bound = |b: i128| -> i128 {
                    if bits <= 32 {
                        let t = truncate(b as u64, 32);
                        if signed {
                            i128::from(sign_extend(t, 32))
                        } else {
                            i128::from(t)
                        }
                    } else if signed {
                        i128::from(b as i64)
                    } else {
                        i128::from(b as u64)
                    }
                };
                let inside = self
                    .ranges
                    .iter()
                    .any(|(lo, hi)| bound(*lo) <= arg_value && arg_value <= bound(*hi));
                note(&mut why, || {
                    format!(
                        "value is {}, {} the ranges",
                        shown(),
                        if inside { "inside" } else { "outside" }
                    )
                });
                if !signed && bits < 32 && self.ranges.iter().any(|(lo, _)| *lo < 0) {
                    quirk(
                        &mut why,
                        "Tetragon compares 16- and 8-bit ranges unsigned: a negative bound makes its range unmatchable",
                    );
                }
                if op == Operator::InRange {
                    inside
                } else {
                    !inside
                }
            }
            other => {
                note(&mut why, || {
                    format!(
                        "{} does not apply to a {} (Tetragon rejects it or never matches it): no match",
                        other.as_str(),
                        family_word(bits, signed)
                    )
                });
                false
            }
        }
    }

    fn text(&self, op: Operator, arg: &[u8], mut why: Option<&mut Why>) -> bool {
        let shown = || args::show_bytes(arg);
        match op {
            Operator::Equal | Operator::NotEqual => {
                let equal = !arg.is_empty() && self.texts.iter().any(|v| v.as_slice() == arg);
                note(&mut why, || {
                    format!(
                        "value is {}, {} the listed values",
                        shown(),
                        if equal { "one of" } else { "none of" }
                    )
                });
                if op == Operator::Equal { equal } else { !equal }
            }
            Operator::Prefix | Operator::NotPrefix => {
                let window = &arg[..arg.len().min(PREFIX_WINDOW)];
                let m = !arg.is_empty() && self.texts.iter().any(|v| window.starts_with(v));
                note(&mut why, || {
                    format!(
                        "value is {}, {} listed prefix",
                        shown(),
                        if m { "starts with a" } else { "starts with no" }
                    )
                });
                if op == Operator::Prefix { m } else { !m }
            }
            Operator::Postfix | Operator::NotPostfix => {
                let window = &arg[arg.len().saturating_sub(POSTFIX_WINDOW)..];
                let m = !arg.is_empty() && self.texts.iter().any(|v| window.ends_with(v));
                note(&mut why, || {
                    format!(
                        "value is {}, {} listed suffix",
                        shown(),
                        if m { "ends with a" } else { "ends with no" }
                    )
                });
                if op == Operator::Postfix { m } else { !m }
            }
            Operator::SubString | Operator::SubStringIgnCase => {
                let ignore_case = op == Operator::SubStringIgnCase;
                let m = self.texts.iter().any(|v| contains(arg, v, ignore_case));
                note(&mut why, || {
                    format!(
                        "value is {}, {} a listed substring",
                        shown(),
                        if m { "contains" } else { "contains no" }
                    )
                });
                m
            }
            other => {
                note(&mut why, || {
                    format!(
                        "{} does not apply to strings (Tetragon rejects it at load): no match",
                        other.as_str()
                    )
                });
                false
            }
        }
    }

    fn path(
        &self,
        op: Operator,
        path: &str,
        shown: &str,
        permission: Option<&str>,
        legacy: bool,
        mut why: Option<&mut Why>,
    ) -> bool {
        if path.is_empty() {
            note(&mut why, || {
                format!(
                    "the path is {} in the event: Tetragon could not build it, so its filters saw an empty path, which matches no operator, not even {}",
                    if shown.is_empty() {
                        "missing".to_string()
                    } else {
                        format!("{shown:?}")
                    },
                    op.as_str()
                )
            });
            if op.is_negated() {
                quirk(
                    &mut why,
                    "Tetragon returns no match for an empty path before negating, so Not* operators fail too",
                );
            }
            return false;
        }
        let matched = match op {
            Operator::FileType | Operator::NotFileType => {
                let Some(kind) = permission.and_then(file_type_of_permission) else {
                    note(&mut why, || {
                        "the event has no file permission string, so the file type is unknown: no match".into()
                    });
                    return false;
                };
                let m = self.file_types.contains(&kind);
                note(&mut why, || {
                    format!("file type of {path} is {}", file_type_name(kind))
                });
                if op == Operator::FileType { m } else { !m }
            }
            _ => self.text(op, path.as_bytes(), why.as_deref_mut()),
        };
        if legacy {
            if let Some(w) = why {
                w.reason.push_str(&format!(" (the event shows {shown:?}: older Tetragon exported paths without the leading /)"));
            }
        }
        matched
    }

    fn inet(&self, op: Operator, kind: InetKind, t: &InetTuple, mut why: Option<&mut Why>) -> bool {
        let family_is_ip = matches!(t.family, Some(2) | Some(10));
        let family_name = || {
            t.family
                .map(|f| {
                    crate::ir::names::name_of(crate::ir::names::FAMILIES, f)
                        .map_or_else(|| f.to_string(), str::to_string)
                })
                .unwrap_or_else(|| "unknown".into())
        };
        let sockaddr = kind == InetKind::Sockaddr;
        match op {
            Operator::SAddr | Operator::NotSAddr | Operator::DAddr | Operator::NotDAddr => {
                let destination = matches!(op, Operator::DAddr | Operator::NotDAddr);
                if sockaddr && destination {
                    note(&mut why, || {
                        "a sockaddr has no destination address (Tetragon rejects DAddr on it): no match".into()
                    });
                    return false;
                }
                if !family_is_ip {
                    note(&mut why, || {
                        format!(
                            "family is {}, not AF_INET or AF_INET6: address filters never match, not even negated ones",
                            family_name()
                        )
                    });
                    return false;
                }
                let address = if destination { t.daddr } else { t.saddr };
                let Some(address) = address else {
                    note(&mut why, || "the event has no address".into());
                    return false;
                };
                let same_version: Vec<&(IpAddr, u8)> = self
                    .cidrs
                    .iter()
                    .filter(|(a, _)| a.is_ipv4() == address.is_ipv4())
                    .collect();
                let inside = same_version
                    .iter()
                    .any(|(net, prefix)| cidr_contains(*net, *prefix, address));
                let negated = matches!(op, Operator::NotSAddr | Operator::NotDAddr);
                note(&mut why, || {
                    format!(
                        "address is {address}, {} a listed network",
                        if inside { "inside" } else { "outside" }
                    )
                });
                if negated {
                    if same_version.is_empty() {
                        if let Some(w) = why.as_deref_mut() {
                            w.reason.push_str(
                                " (no value of its IP version, so the negated filter matches)",
                            );
                        }
                    }
                    !inside
                } else {
                    inside
                }
            }
            Operator::SPort | Operator::NotSPort | Operator::DPort | Operator::NotDPort => {
                let destination = matches!(op, Operator::DPort | Operator::NotDPort);
                if sockaddr && destination {
                    note(&mut why, || {
                        "a sockaddr has no destination port (Tetragon rejects DPort on it): no match".into()
                    });
                    return false;
                }
                let Some(port) = (if destination { t.dport } else { t.sport }) else {
                    note(&mut why, || "the event has no port".into());
                    return false;
                };
                let listed = self.ports.iter().any(|(lo, hi)| *lo <= port && port <= *hi);
                note(&mut why, || {
                    format!(
                        "port is {port}, {}",
                        if listed { "listed" } else { "not listed" }
                    )
                });
                if matches!(op, Operator::SPort | Operator::DPort) {
                    listed
                } else {
                    !listed
                }
            }
            Operator::SPortPriv
            | Operator::NotSPortPriv
            | Operator::DPortPriv
            | Operator::NotDPortPriv => {
                let destination = matches!(op, Operator::DPortPriv | Operator::NotDPortPriv);
                if sockaddr && destination {
                    note(&mut why, || {
                        "a sockaddr has no destination port: no match".into()
                    });
                    return false;
                }
                let Some(port) = (if destination { t.dport } else { t.sport }) else {
                    note(&mut why, || "the event has no port".into());
                    return false;
                };
                let privileged = port < 1024;
                note(&mut why, || {
                    format!(
                        "port is {port}, {}",
                        if privileged {
                            "privileged (< 1024)"
                        } else {
                            "not privileged"
                        }
                    )
                });
                if matches!(op, Operator::SPortPriv | Operator::DPortPriv) {
                    privileged
                } else {
                    !privileged
                }
            }
            Operator::Protocol => {
                if sockaddr {
                    note(&mut why, || {
                        "a sockaddr has no protocol (Tetragon rejects Protocol on it): no match"
                            .into()
                    });
                    return false;
                }
                let m = t.protocol.is_some_and(|p| self.numbers.contains(&p));
                note(&mut why, || {
                    format!(
                        "protocol is {}",
                        t.protocol.map_or_else(
                            || "unknown".into(),
                            |p| crate::ir::names::name_of(crate::ir::names::PROTOCOLS, p)
                                .map_or_else(|| p.to_string(), str::to_string)
                        )
                    )
                });
                m
            }
            Operator::Family => {
                let m = t.family.is_some_and(|f| self.numbers.contains(&f));
                note(&mut why, || format!("family is {}", family_name()));
                m
            }
            Operator::State => {
                if kind != InetKind::Sock {
                    note(&mut why, || {
                        "only sock and socket arguments carry a TCP state: State never matches here"
                            .into()
                    });
                    return false;
                }
                let m = t.state.is_some_and(|s| self.numbers.contains(&s));
                note(&mut why, || {
                    format!(
                        "state is {}",
                        t.state.map_or_else(
                            || "unknown".into(),
                            |s| crate::ir::names::name_of(crate::ir::names::SOCK_STATES, s)
                                .map_or_else(|| s.to_string(), str::to_string)
                        )
                    )
                });
                m
            }
            other => {
                note(&mut why, || {
                    format!(
                        "{} does not apply to sockets (Tetragon rejects it or never matches it): no match",
                        other.as_str()
                    )
                });
                false
            }
        }
    }

    /// `CapabilitiesGained` with `args: [old, new]`: some capability is in
    /// the new set and not in the old one.
    fn capabilities_gained(&self, hook: &Hook, event: &Event, mut why: Option<&mut Why>) -> bool {
        let [old, new] = match self.filter.targets.as_slice() {
            [a, b, ..] => [*a, *b],
            _ => {
                note(&mut why, || {
                    "CapabilitiesGained needs two arguments (args: [old, new])".into()
                });
                return false;
            }
        };
        let mask = |target: ArgRef| -> Option<u64> {
            match args::filter_input(Family::CapMask, args::event_arg(hook, event, target), false) {
                FilterInput::Bits(b) => Some(b),
                _ => None,
            }
        };
        let (Some(a), Some(b)) = (mask(old), mask(new)) else {
            note(&mut why, || {
                "the event lacks one of the two capability sets".into()
            });
            return false;
        };
        let gained = (a ^ b) & b;
        note(&mut why, || {
            format!("old set {a:#x}, new set {b:#x}: gained {gained:#x}")
        });
        quirk(
            &mut why,
            "Tetragon bug: the CapabilitiesGained result replaces the result of the selector's earlier argument filters instead of being ANDed with it",
        );
        gained != 0
    }
}

fn note(why: &mut Option<&mut Why>, reason: impl FnOnce() -> String) {
    if let Some(w) = why.as_deref_mut() {
        w.reason = reason();
    }
}

fn quirk(why: &mut Option<&mut Why>, text: &str) {
    if let Some(w) = why.as_deref_mut() {
        w.quirk = Some(text.to_string());
    }
}

fn family_word(bits: u8, signed: bool) -> String {
    format!("{}{bits}-bit integer", if signed { "signed " } else { "" })
}

fn syscall_name(raw: u64, arch: Arch) -> String {
    let compat = raw & syscalls::COMPAT_BIT != 0;
    let abi = if compat {
        match arch {
            Arch::X86_64 => syscalls::Abi::I386,
            Arch::Arm64 => syscalls::Abi::Arm32,
        }
    } else {
        arch.native_abi()
    };
    let number = u32::try_from(raw & !syscalls::COMPAT_BIT).unwrap_or(u32::MAX);
    abi.name(number)
        .map_or_else(String::new, |n| format!(" ({}/{n})", abi.as_str()))
}

/// The low `bits` bits of a value.
pub fn truncate(value: u64, bits: u8) -> u64 {
    if bits >= 64 {
        value
    } else {
        value & ((1u64 << bits) - 1)
    }
}

/// The low `bits` bits of a value, sign-extended.
pub fn sign_extend(value: u64, bits: u8) -> i64 {
    if bits >= 64 {
        value as i64
    } else {
        let shift = 64 - u32::from(bits);
        ((value << shift) as i64) >> shift
    }
}

fn contains(haystack: &[u8], needle: &[u8], ignore_case: bool) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() > haystack.len() {
        return false;
    }
    haystack.windows(needle.len()).any(|w| {
        if ignore_case {
            w.eq_ignore_ascii_case(needle)
        } else {
            w == needle
        }
    })
}

fn cidr_contains(net: IpAddr, prefix: u8, address: IpAddr) -> bool {
    match (net, address) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let bits = u32::from(prefix.min(32));
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let bits = u32::from(prefix.min(128));
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// The `S_IFMT` bits for the first character of an `ls -l` style mode.
fn file_type_of_permission(permission: &str) -> Option<u32> {
    Some(match permission.chars().next()? {
        '-' => 0o100000,
        'd' => 0o040000,
        'l' => 0o120000,
        'c' => 0o020000,
        'b' => 0o060000,
        'p' => 0o010000,
        's' => 0o140000,
        _ => return None,
    })
}

fn file_type_name(bits: u32) -> &'static str {
    crate::ir::names::name_of(crate::ir::names::FILE_TYPES, bits).unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(truncate(u64::MAX, 32), 0xffff_ffff);
        assert_eq!(sign_extend(0xffff, 16), -1);
        assert_eq!(sign_extend(0x7fff, 16), 0x7fff);
        assert_eq!(sign_extend(u64::MAX, 64), -1);
    }

    #[test]
    fn networks() {
        let net: IpAddr = "10.0.0.0"
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let inside: IpAddr = "10.1.2.3"
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        assert!(cidr_contains(net, 8, inside));
        assert!(!cidr_contains(net, 16, inside));
        assert!(cidr_contains(net, 0, inside));
        let v6: IpAddr = "::ffff:10.1.2.3"
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        assert!(!cidr_contains(net, 8, v6));
    }

    #[test]
    fn substrings() {
        assert!(contains(b"/usr/bin/Curl", b"curl", true));
        assert!(!contains(b"/usr/bin/Curl", b"curl", false));
    }
}
