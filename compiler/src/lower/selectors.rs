//! Selectors lowered to the tests the kernel programs run. Every operator
//! becomes the comparison the simulator makes for the argument's filter
//! family (`sim::args::Family`, `sim::operators`): the two share their
//! definitions so that kernel and simulator cannot drift apart. Values are
//! converted here, once: integers to the bits compared (signed bounds
//! sign-extended), `GT` on unsigned 64/16/8-bit types to `<` (Tetragon's
//! behaviour), `InMap` ranges expanded, strings that can never match
//! dropped, postfixes reversed by the kernel encoder.

use std::net::IpAddr;

use tpc_bundle::model::{
    ArgFilter as KernelArgFilter, ArgTest, BinaryMatch, IntCompare, ProcessFilter, RateLimit,
    RateLimitScope as KernelScope, ReturnAction, SelectorAction, SelectorUnit, SourcePlace,
    TextMatch,
};

use crate::ir::{
    ActionKind, ArgFilter, ArgRef, ArgType, BinaryOp, FilterValue, Hook, NamespaceKind,
    NamespaceValue, Operator, RateLimitScope, Selector, SetOp,
};
use crate::sim::args::{Family, InetKind};
use crate::sim::operators::{sign_extend, truncate};
use crate::sim::plan::event_action;
use crate::sim::syscalls::{self, Arch};

use super::{LowerError, args::LoweredArgs};

/// Members an `InMap` filter may expand to (ranges included).
pub const MAX_SET_MEMBERS: u64 = 65_536;
/// Bytes of a prefix a prefix trie key holds.
const LPM_DATA: usize = tpc_bundle::layout::LPM_DATA;
const PREFIX_WINDOW: usize = tpc_bundle::layout::PREFIX_WINDOW;
const POSTFIX_WINDOW: usize = tpc_bundle::layout::POSTFIX_WINDOW;
const ARG_MAX: usize = tpc_bundle::layout::ARG_MAX;
/// `matchPIDs` and `matchNamespaces` values Tetragon reads.
const MAX_PROCESS_VALUES: usize = 4;

/// What lowering a selector needs besides the selector.
pub struct SelectorContext<'a> {
    pub hook: &'a Hook,
    pub args: &'a LoweredArgs,
    pub monitor: bool,
    /// Override can run here (kprobes, LSM hooks).
    pub override_allowed: bool,
    pub arch: Arch,
    pub place: &'a dyn Fn(crate::span::Span) -> SourcePlace,
    /// Warnings found on the way (actions without a kernel effect).
    pub warnings: &'a mut Vec<LowerError>,
}

pub fn lower_selector(
    cx: &mut SelectorContext<'_>,
    selector: &Selector,
) -> Result<SelectorUnit, LowerError> {
    Ok(SelectorUnit {
        index: u32::try_from(selector.index).unwrap_or(u32::MAX),
        place: (cx.place)(selector.span),
        process: process_filters(selector)?,
        args: arg_filters(cx, selector)?,
        action: action(cx, selector)?,
        return_args: selector
            .match_return_args
            .iter()
            .map(|f| return_filter(cx, f))
            .collect::<Result<_, _>>()?,
        return_action: return_action(cx, selector)?,
    })
}

/// A `matchReturnArgs` entry: a test on the return value (`arg` 0).
fn return_filter(
    cx: &SelectorContext<'_>,
    filter: &ArgFilter,
) -> Result<KernelArgFilter, LowerError> {
    let Some(declared) = cx.args.return_type else {
        return Err(LowerError::Unsupported {
            span: filter.span,
            what: "matchReturnArgs on a hook without a return probe".into(),
            help: "set `return: true` and `returnArg` on the hook".into(),
        });
    };
    if let Some(ArgRef::Arg(_) | ArgRef::Data(_)) = filter.targets.first() {
        return Err(LowerError::Unsupported {
            span: filter.target_span,
            what: "a matchReturnArgs filter on an argument".into(),
            help: "matchReturnArgs compares the return value (`index: 0`)".into(),
        });
    }
    let op = filter.operator.value;
    let family = Family::of_type(declared, None);
    let test = if family == Family::Unfiltered {
        ArgTest::Always
    } else if op == Operator::CelExpr || op == Operator::CapabilitiesGained {
        ArgTest::Never
    } else {
        lower_test(cx, filter, family, declared)?
    };
    Ok(KernelArgFilter {
        arg: 0,
        test,
        replaces_result: false,
    })
}

/// `matchReturnActions`: Post, NoPost, Sigkill and Signal run when the
/// call returns.
fn return_action(
    cx: &mut SelectorContext<'_>,
    selector: &Selector,
) -> Result<Option<ReturnAction>, LowerError> {
    if selector.match_return_actions.is_empty() {
        return Ok(None);
    }
    let mut post = true;
    let mut signal = None;
    for a in &selector.match_return_actions {
        match &a.kind {
            ActionKind::Post { .. } => {}
            ActionKind::NoPost => post = false,
            ActionKind::Sigkill => {
                if !cx.monitor && signal.is_none() {
                    signal = Some(9);
                }
            }
            ActionKind::Signal { signal: s } => {
                let number = s.as_ref().map_or(0, |s| s.value);
                if !cx.monitor && signal.is_none() && number > 0 {
                    signal = u32::try_from(number).ok();
                }
            }
            other => {
                return Err(LowerError::Unsupported {
                    span: a.name_span,
                    what: format!("the {} action in matchReturnActions", other.name()),
                    help: "tpc's return probes run Post, NoPost, Sigkill and Signal".into(),
                });
            }
        }
    }
    let event_action = selector
        .match_return_actions
        .last()
        .map_or(tpc_events::KprobeAction::Post, |a| event_action(&a.kind));
    Ok(Some(ReturnAction {
        post,
        event_action: event_action
            .number()
            .map_or(0, |n| u32::try_from(n).unwrap_or(0)),
        signal,
    }))
}

fn set_negated(op: SetOp) -> bool {
    op == SetOp::NotIn
}

fn ns_index(kind: NamespaceKind) -> u8 {
    NamespaceKind::ALL
        .iter()
        .position(|k| *k == kind)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(0)
}

fn cap_set(set: crate::ir::CapabilitySet) -> u8 {
    u8::try_from(crate::sim::process::capability_slot(set)).unwrap_or(0)
}

fn cap_mask(values: &[crate::span::Spanned<u8>]) -> u64 {
    values
        .iter()
        .fold(0u64, |m, v| m | (1u64 << u32::from(v.value.min(63))))
}

/// Process filters in Tetragon's order; like Tetragon (and the simulator),
/// only the first entry of each kind but `matchNamespaces` is evaluated.
fn process_filters(selector: &Selector) -> Result<Vec<ProcessFilter>, LowerError> {
    let mut out = Vec::new();
    for (list, parent) in [
        (&selector.match_binaries, false),
        (&selector.match_parent_binaries, true),
    ] {
        let Some(filter) = list.first() else {
            continue;
        };
        if filter.values.is_empty() {
            continue; // ignored by Tetragon: passes
        }
        let op = filter.operator.value;
        let matching = match op {
            BinaryOp::In | BinaryOp::NotIn => BinaryMatch::Exact,
            BinaryOp::Prefix | BinaryOp::NotPrefix => BinaryMatch::Prefix,
            BinaryOp::Postfix | BinaryOp::NotPostfix => BinaryMatch::Postfix,
        };
        let mut values = Vec::new();
        for value in &filter.values {
            let len = value.value.len();
            match matching {
                // a process entry keeps 255 bytes of a binary path
                BinaryMatch::Exact if len > 255 => {}
                BinaryMatch::Prefix if len > PREFIX_WINDOW => {}
                BinaryMatch::Prefix if len > LPM_DATA => {
                    return Err(LowerError::TooLong {
                        span: value.span,
                        what: "matchBinaries prefix".into(),
                        len,
                        max: LPM_DATA,
                    });
                }
                BinaryMatch::Postfix if len > POSTFIX_WINDOW => {}
                _ => values.push(value.value.clone()),
            }
        }
        out.push(ProcessFilter::Binaries {
            parent,
            matching,
            negate: op.is_negated(),
            values,
            follow_children: filter.follow_children && matching == BinaryMatch::Exact,
        });
    }
    if let Some(filter) = selector.match_pids.first() {
        out.push(ProcessFilter::Pids {
            negate: set_negated(filter.operator.value),
            values: filter
                .values
                .iter()
                .take(MAX_PROCESS_VALUES)
                .map(|v| v.value)
                .collect(),
            follow_forks: filter.follow_forks,
            namespace_pid: filter.is_namespace_pid,
        });
    }
    for filter in &selector.match_namespaces {
        let values: Vec<NamespaceValue> = filter
            .values
            .iter()
            .take(MAX_PROCESS_VALUES)
            .map(|v| v.value)
            .collect();
        out.push(ProcessFilter::Namespaces {
            kind: ns_index(filter.namespace.value),
            negate: set_negated(filter.operator.value),
            host: values.contains(&NamespaceValue::Host),
            inums: values
                .iter()
                .filter_map(|v| match v {
                    NamespaceValue::Inum(n) => Some(*n),
                    NamespaceValue::Host => None,
                })
                .collect(),
        });
    }
    if let Some(filter) = selector.match_capabilities.first() {
        out.push(ProcessFilter::Capabilities {
            negate: set_negated(filter.operator.value),
            set: cap_set(filter.set),
            namespace_only: filter.is_namespace_capability,
            mask: cap_mask(&filter.values),
        });
    }
    if let Some(filter) = selector.match_namespace_changes.first() {
        out.push(ProcessFilter::NamespaceChanges {
            negate: set_negated(filter.operator.value),
            kinds: filter
                .values
                .iter()
                .fold(0u16, |m, v| m | (1u16 << ns_index(v.value))),
        });
    }
    if let Some(filter) = selector.match_capability_changes.first() {
        out.push(ProcessFilter::CapabilityChanges {
            negate: set_negated(filter.operator.value),
            set: cap_set(filter.set),
            namespace_only: filter.is_namespace_capability,
            mask: cap_mask(&filter.values),
        });
    }
    if let Some(w) = &selector.match_workloads {
        return Err(LowerError::Unsupported {
            span: w.span,
            what: "matchWorkloads".into(),
            help: "tpc's kernel programs do not see Kubernetes labels; scope the policy to cgroups (`tpc run --cgroup POLICY=PATH`) instead".into(),
        });
    }
    Ok(out)
}

fn arg_filters(
    cx: &SelectorContext<'_>,
    selector: &Selector,
) -> Result<Vec<KernelArgFilter>, LowerError> {
    let mut out = Vec::new();
    if let Some(first) = selector.match_data.first() {
        return Err(LowerError::Unsupported {
            span: first.span,
            what: "matchData".into(),
            help: "`data` is read by kprobes, which come with the kprobe back end".into(),
        });
    }
    for filter in &selector.match_args {
        out.push(arg_filter(cx, filter)?);
    }
    Ok(out)
}

fn arg_filter(cx: &SelectorContext<'_>, filter: &ArgFilter) -> Result<KernelArgFilter, LowerError> {
    let op = filter.operator.value;
    if op == Operator::CapabilitiesGained {
        return Err(LowerError::Unsupported {
            span: filter.operator.span,
            what: "CapabilitiesGained".into(),
            help: "it compares two capability sets of a kprobe; it comes with the kprobe back end"
                .into(),
        });
    }
    let Some(ArgRef::Arg(position)) = filter.targets.first().copied() else {
        return Err(LowerError::Unsupported {
            span: filter.target_span,
            what: "a filter on data or the return value".into(),
            help: "tracepoints have only `args`".into(),
        });
    };
    let declared = cx.args.types.get(position).copied().unwrap_or(ArgType::Nop);
    let family = Family::of_type(declared, None);
    let spec_index = cx.args.of_decl.get(position).copied().flatten();
    let test = if family == Family::Unfiltered {
        ArgTest::Always
    } else if op == Operator::CelExpr {
        ArgTest::Never
    } else {
        lower_test(cx, filter, family, declared)?
    };
    let Some(spec_index) = spec_index else {
        // a `nop` argument: its filters are skipped (Unfiltered) above
        return Ok(KernelArgFilter {
            arg: 0,
            test: ArgTest::Always,
            replaces_result: false,
        });
    };
    Ok(KernelArgFilter {
        arg: u32::try_from(spec_index).unwrap_or(u32::MAX),
        test,
        replaces_result: false,
    })
}

fn ints(filter: &ArgFilter) -> Vec<i128> {
    filter
        .values
        .iter()
        .filter_map(|v| match &v.value {
            FilterValue::Int(i) => Some(*i),
            _ => None,
        })
        .collect()
}

fn ranges(filter: &ArgFilter) -> Vec<(i128, i128)> {
    filter
        .values
        .iter()
        .filter_map(|v| match &v.value {
            FilterValue::Range { lo, hi } => Some((*lo, *hi)),
            _ => None,
        })
        .collect()
}

fn inline_limit(filter: &ArgFilter, count: usize, max: usize) -> Result<(), LowerError> {
    if count > max {
        return Err(LowerError::TooMany {
            span: filter.span,
            what: format!("values for `{}`", filter.operator.value.as_str()),
            count,
            max,
        });
    }
    Ok(())
}

fn lower_test(
    cx: &SelectorContext<'_>,
    filter: &ArgFilter,
    family: Family,
    declared: ArgType,
) -> Result<ArgTest, LowerError> {
    let op = filter.operator.value;
    match family {
        Family::Int { bits, signed } => int_test(cx, filter, op, bits, signed, false),
        Family::Syscall => int_test(cx, filter, op, 64, false, true),
        Family::CapMask => int_test(cx, filter, op, 64, false, false),
        Family::Text | Family::Path => text_test(filter, op, declared == ArgType::String),
        Family::Inet(kind) => inet_test(filter, op, kind),
        Family::Unfiltered => Ok(ArgTest::Always),
    }
}

fn int_test(
    cx: &SelectorContext<'_>,
    filter: &ArgFilter,
    op: Operator,
    bits: u8,
    signed: bool,
    syscall: bool,
) -> Result<ArgTest, LowerError> {
    let bits_of = |v: i128| truncate(v as u64, bits);
    let value_of = |v: i128| -> u64 {
        if signed {
            sign_extend(v as u64, bits) as u64
        } else {
            truncate(v as u64, bits)
        }
    };
    let values = ints(filter);
    let inline = |compare: IntCompare, vals: Vec<u64>| -> Result<ArgTest, LowerError> {
        inline_limit(filter, vals.len(), tpc_bundle::layout::MAX_INLINE)?;
        Ok(ArgTest::Int {
            bits,
            signed,
            compare,
            values: vals,
        })
    };
    match op {
        Operator::Equal => inline(
            IntCompare::Equal,
            values.iter().map(|v| bits_of(*v)).collect(),
        ),
        Operator::NotEqual => inline(
            IntCompare::DifferAny,
            values.iter().map(|v| bits_of(*v)).collect(),
        ),
        Operator::Gt => {
            // Tetragon compares `<` for GT on unsigned 64-, 16- and 8-bit types
            let compare = if !signed && bits != 32 {
                IntCompare::Less
            } else {
                IntCompare::Greater
            };
            inline(compare, values.iter().map(|v| value_of(*v)).collect())
        }
        Operator::Lt => inline(
            IntCompare::Less,
            values.iter().map(|v| value_of(*v)).collect(),
        ),
        Operator::Mask => inline(
            IntCompare::Mask,
            values.iter().map(|v| bits_of(*v)).collect(),
        ),
        Operator::InRange | Operator::NotInRange => {
            let bound = |b: i128| -> u64 {
                if bits <= 32 {
                    let t = truncate(b as u64, 32);
                    if signed { sign_extend(t, 32) as u64 } else { t }
                } else {
                    b as u64
                }
            };
            let rs: Vec<(u64, u64)> = ranges(filter)
                .iter()
                .map(|(lo, hi)| (bound(*lo), bound(*hi)))
                .collect();
            inline_limit(filter, rs.len(), tpc_bundle::layout::MAX_INLINE / 2)?;
            Ok(ArgTest::IntRange {
                bits,
                signed,
                negate: op == Operator::NotInRange,
                ranges: rs,
            })
        }
        Operator::InMap | Operator::NotInMap => {
            let (min, max): (i128, i128) = if signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            let mut members: Vec<u64> = values.iter().map(|v| bits_of(*v)).collect();
            let mut total: u64 = 0;
            for (lo, hi) in ranges(filter) {
                let (lo, hi) = (lo.max(min), hi.min(max));
                if lo > hi {
                    continue;
                }
                total = total.saturating_add(u64::try_from(hi - lo + 1).unwrap_or(u64::MAX));
                if total > MAX_SET_MEMBERS {
                    return Err(LowerError::TooMany {
                        span: filter.span,
                        what: "values an InMap range expands to".into(),
                        count: usize::try_from(total).unwrap_or(usize::MAX),
                        max: MAX_SET_MEMBERS as usize,
                    });
                }
                let mut r = lo;
                while r <= hi {
                    members.push(bits_of(r));
                    r += 1;
                }
            }
            if syscall {
                for value in &filter.values {
                    if let FilterValue::Syscall { name, .. } = &value.value {
                        if let Some(id) = syscalls::list_value_id(name, cx.arch) {
                            members.push(id);
                        }
                    }
                }
            }
            members.sort_unstable();
            members.dedup();
            Ok(ArgTest::IntSet {
                bits,
                negate: op == Operator::NotInMap,
                members,
            })
        }
        _ => Ok(ArgTest::Never),
    }
}

fn text_test(filter: &ArgFilter, op: Operator, strip_nul: bool) -> Result<ArgTest, LowerError> {
    let (matching, negate) = match op {
        Operator::Equal => (TextMatch::Equal, false),
        Operator::NotEqual => (TextMatch::Equal, true),
        Operator::Prefix => (TextMatch::Prefix, false),
        Operator::NotPrefix => (TextMatch::Prefix, true),
        Operator::Postfix => (TextMatch::Postfix, false),
        Operator::NotPostfix => (TextMatch::Postfix, true),
        Operator::SubString => (TextMatch::SubString, false),
        Operator::SubStringIgnCase => (TextMatch::SubStringIgnoreCase, false),
        _ => return Ok(ArgTest::Never),
    };
    let mut values = Vec::new();
    for value in &filter.values {
        let mut text = match &value.value {
            FilterValue::Text(t) => t.clone(),
            _ => continue,
        };
        if strip_nul {
            while text.ends_with('\0') {
                text.pop();
            }
        }
        let len = text.len();
        let keep = match matching {
            // the kernel reads at most 4095 bytes of a string
            TextMatch::Equal => len < ARG_MAX,
            TextMatch::Prefix => {
                if len > PREFIX_WINDOW {
                    false
                } else if len > LPM_DATA {
                    return Err(LowerError::TooLong {
                        span: value.span,
                        what: "Prefix value".into(),
                        len,
                        max: LPM_DATA,
                    });
                } else {
                    true
                }
            }
            TextMatch::Postfix => len <= POSTFIX_WINDOW,
            TextMatch::SubString | TextMatch::SubStringIgnoreCase => {
                if len > tpc_bundle::layout::SUBSTR_MAX {
                    return Err(LowerError::TooLong {
                        span: value.span,
                        what: "SubString value".into(),
                        len,
                        max: tpc_bundle::layout::SUBSTR_MAX,
                    });
                }
                true
            }
        };
        if keep {
            values.push(text);
        }
    }
    Ok(ArgTest::Text {
        matching,
        negate,
        values,
    })
}

/// Socket filters: `sockaddr` (source side only, as Tetragon reads it),
/// `sock` and `socket` (both sides, protocol and TCP state). What the
/// simulator says never matches on an argument kind is `Never` here too.
fn inet_test(filter: &ArgFilter, op: Operator, kind: InetKind) -> Result<ArgTest, LowerError> {
    if kind == InetKind::Skb {
        return Err(LowerError::Unsupported {
            span: filter.span,
            what: "packet (`skb`) filters".into(),
            help: "skb arguments are not read by tpc's kernel programs yet".into(),
        });
    }
    let sock = kind == InetKind::Sock;
    let numbers = |f: &ArgFilter| -> Vec<u16> {
        f.values
            .iter()
            .filter_map(|v| match v.value {
                FilterValue::Family(n) | FilterValue::Protocol(n) | FilterValue::SockState(n) => {
                    Some(n)
                }
                _ => None,
            })
            .collect()
    };
    let destination = matches!(
        op,
        Operator::DAddr
            | Operator::NotDAddr
            | Operator::DPort
            | Operator::NotDPort
            | Operator::DPortPriv
            | Operator::NotDPortPriv
    );
    if destination && !sock {
        // a sockaddr has one side only
        return Ok(ArgTest::Never);
    }
    Ok(match op {
        Operator::Family => {
            let families = numbers(filter);
            inline_limit(filter, families.len(), tpc_bundle::layout::MAX_INLINE)?;
            ArgTest::InetFamily { families }
        }
        Operator::Protocol if sock => {
            let protocols = numbers(filter);
            inline_limit(filter, protocols.len(), tpc_bundle::layout::MAX_INLINE)?;
            ArgTest::InetProtocol { protocols }
        }
        Operator::State if sock => {
            let states = numbers(filter);
            inline_limit(filter, states.len(), tpc_bundle::layout::MAX_INLINE)?;
            ArgTest::InetState { states }
        }
        Operator::SAddr | Operator::NotSAddr | Operator::DAddr | Operator::NotDAddr => {
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for value in &filter.values {
                if let FilterValue::Cidr { addr, prefix } = value.value {
                    match addr {
                        IpAddr::V4(a) => v4.push((a.octets(), prefix.min(32))),
                        IpAddr::V6(a) => v6.push((a.octets(), prefix.min(128))),
                    }
                }
            }
            ArgTest::InetAddress {
                negate: matches!(op, Operator::NotSAddr | Operator::NotDAddr),
                v4,
                v6,
                destination,
            }
        }
        Operator::SPort | Operator::NotSPort | Operator::DPort | Operator::NotDPort => {
            let mut ports: Vec<u16> = Vec::new();
            for value in &filter.values {
                match value.value {
                    FilterValue::Port(p) => ports.push(p),
                    FilterValue::Range { lo, hi } => {
                        let lo = u16::try_from(lo).unwrap_or(u16::MAX);
                        let hi = u16::try_from(hi).unwrap_or(u16::MAX);
                        ports.extend(lo..=hi);
                    }
                    // as the simulator does, plain integers are not ports
                    _ => {}
                }
            }
            ports.sort_unstable();
            ports.dedup();
            ArgTest::InetPort {
                negate: matches!(op, Operator::NotSPort | Operator::NotDPort),
                ports,
                destination,
            }
        }
        Operator::SPortPriv
        | Operator::NotSPortPriv
        | Operator::DPortPriv
        | Operator::NotDPortPriv => ArgTest::InetPrivilegedPort {
            negate: matches!(op, Operator::NotSPortPriv | Operator::NotDPortPriv),
            destination,
        },
        _ => ArgTest::Never,
    })
}

fn action(cx: &mut SelectorContext<'_>, selector: &Selector) -> Result<SelectorAction, LowerError> {
    let mut signal = None;
    let mut rate_limit = None;
    let mut post = true;
    let mut override_return = None;
    for a in &selector.match_actions {
        match &a.kind {
            ActionKind::Post {
                rate_limit: r,
                kernel_stack_trace,
                user_stack_trace,
                ima_hash,
            } => {
                if rate_limit.is_none() {
                    rate_limit = r.as_ref().map(|r| RateLimit {
                        interval_ns: r.interval_ns,
                        scope: match r.scope {
                            RateLimitScope::Thread => KernelScope::Thread,
                            RateLimitScope::Process => KernelScope::Process,
                            RateLimitScope::Global => KernelScope::Global,
                        },
                    });
                }
                if *kernel_stack_trace || *user_stack_trace || *ima_hash {
                    cx.warnings.push(LowerError::NotCollected {
                        span: a.span,
                        what: "stack traces and IMA hashes".into(),
                    });
                }
            }
            ActionKind::NoPost => post = false,
            ActionKind::Sigkill => {
                if !cx.monitor && signal.is_none() {
                    signal = Some(9);
                }
            }
            ActionKind::Signal { signal: s } => {
                let number = s.as_ref().map_or(0, |s| s.value);
                if !cx.monitor && signal.is_none() && number > 0 {
                    signal = u32::try_from(number).ok();
                }
            }
            ActionKind::Override {
                error,
                regs,
                new_symbol,
                new_addr,
                new_offset,
            } => {
                if !regs.is_empty()
                    || new_symbol.is_some()
                    || new_addr.is_some()
                    || new_offset.is_some()
                {
                    return Err(LowerError::Unsupported {
                        span: a.name_span,
                        what: "Override of registers or the instruction pointer (uprobes)".into(),
                        help: "tpc's kernel programs override a call's return value (argError) on kprobes and LSM hooks".into(),
                    });
                }
                if !cx.override_allowed {
                    return Err(LowerError::Unsupported {
                        span: a.name_span,
                        what: format!("Override on a {} hook", cx.hook.target.kind().as_str()),
                        help: "Override runs on kprobes (bpf_override_return, error-injectable functions) and LSM hooks (the hook's return value)".into(),
                    });
                }
                let value = error.as_ref().map_or(0, |e| e.value);
                if !cx.monitor && override_return.is_none() {
                    override_return = Some(value);
                }
            }
            other => {
                return Err(LowerError::Unsupported {
                    span: a.name_span,
                    what: format!("the {} action", other.name()),
                    help: "tpc's kernel programs run Post, NoPost, Sigkill, Signal and Override; other actions come with later back-end work".into(),
                });
            }
        }
    }
    let event_action = selector
        .match_actions
        .last()
        .map_or(tpc_events::KprobeAction::Post, |a| event_action(&a.kind));
    Ok(SelectorAction {
        post,
        event_action: event_action
            .number()
            .map_or(0, |n| u32::try_from(n).unwrap_or(0)),
        signal,
        rate_limit,
        override_return,
    })
}
