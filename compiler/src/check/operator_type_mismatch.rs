//! Flags argument filters whose operator does not apply to the type of the
//! value they read.
//!
//! What it does: checks every `matchArgs`, `matchData` and `matchReturnArgs`
//! operator against the declared type of its argument, with the agent's
//! rules: `Equal`/`NotEqual` need a string, path, integer or capability-set
//! argument; `GT`/`LT`/`Mask` an integer or capability set; `InMap`,
//! `NotInMap`, `InRange`, `NotInRange` an integer; the port, address,
//! protocol, family and state operators a socket (`sockaddr` only carries
//! the source side and a family); `FileType` a `file` or `path`;
//! `CapabilitiesGained` two capability-set arguments named with
//! `args: [a, b]`. The message names the type and the operators that fit it.
//! Why: Tetragon refuses the policy when it loads ("MatchArgs type cred
//! unsupported", "sock/socket/skb/sockaddr operators specified for
//! non-sock/socket/skb/sockaddr type").
//! Example: `operator: DPort` on an argument declared `type: int`; declare it
//! as `sock` (or `skb`) or compare it with `Equal`.

use super::{Check, arg_filters, decl_of, describe_target};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::types::{BpfFilterFamily, FilterGroup};
use crate::ir::{ArgFilter, ArgType, Hook, Operator, Policy};

pub const CHECK: Check = Check {
    name: "operator_type_mismatch",
    codes: &[Code::OperatorTypeMismatch],
    run,
};

/// What Tetragon makes of an operator on an argument type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fit {
    /// Loaded and compared as the operator says.
    Works,
    /// Refused at load time; the text is the gist of the agent's error.
    Refused(&'static str),
    /// Loaded, but the BPF comparison can never succeed (for negated
    /// operators too).
    NeverMatches,
    /// Loaded, but the BPF programs have no comparison for the type, so the
    /// filter is skipped and always passes.
    AlwaysPasses,
    /// Loaded without its values and without an error.
    Ignored,
}

const SOCKET_ONLY: &str =
    "sock/socket/skb/sockaddr operators specified for non-sock/socket/skb/sockaddr type";
const SOCKADDR_SOURCE_ONLY: &str =
    "sockaddr only supports [not]saddr, [not]sport[priv], and family";

const SOCKADDR_UN_ONLY: &str =
    "sockaddr_un only supports Family and string operators (Equal, NotEqual, Prefix, NotPrefix)";

/// Tetragon's verdict for `op` on an argument of type `ty`; `None` when the
/// type is `auto` (known only from the tracepoint's format).
pub(super) fn fit(op: Operator, ty: ArgType) -> Option<Fit> {
    use Operator::*;
    if ty == ArgType::SockaddrUn {
        return Some(sockaddr_un_fit(op));
    }
    let group = ty.filter_group()?;
    let family = ty.bpf_filter_family()?;
    let numeric = matches!(group, FilterGroup::Int32 | FilterGroup::Int64);
    Some(match op {
        Equal | NotEqual => match group {
            FilterGroup::Text
            | FilterGroup::Int32
            | FilterGroup::Int64
            | FilterGroup::CapabilitySet => Fit::Works,
            FilterGroup::Socket => Fit::Refused(
                "MatchArgs type sock, socket, skb, sockaddr and net_device do not support operator Equal",
            ),
            FilterGroup::Unfilterable => Fit::Refused("MatchArgs type unsupported"),
        },
        Gt | Lt | Mask => match group {
            FilterGroup::Int32 | FilterGroup::Int64 | FilterGroup::CapabilitySet => Fit::Works,
            FilterGroup::Socket => Fit::Refused(
                "MatchArgs type sock, socket, skb, sockaddr and net_device do not support this operator",
            ),
            _ if ty == ArgType::NetDevice => Fit::Refused(
                "MatchArgs type sock, socket, skb, sockaddr and net_device do not support this operator",
            ),
            _ => Fit::Refused("MatchArgs type unsupported"),
        },
        InMap | NotInMap if numeric => Fit::Works,
        InMap | NotInMap => Fit::Refused("unknown type for map operators"),
        InRange | NotInRange if numeric => Fit::Works,
        InRange | NotInRange => Fit::Refused("MatchArgs type unsupported for range operators"),
        Prefix | NotPrefix | Postfix | NotPostfix => match family {
            BpfFilterFamily::String | BpfFilterFamily::Path => Fit::Works,
            BpfFilterFamily::None => Fit::AlwaysPasses,
            BpfFilterFamily::Integer { .. } | BpfFilterFamily::Inet => Fit::NeverMatches,
        },
        SPort | NotSPort | SPortPriv | NotSPortPriv | Family | SAddr | NotSAddr => {
            socket_fit(group, false)
        }
        DPort | NotDPort | DPortPriv | NotDPortPriv | Protocol | DAddr | NotDAddr => {
            socket_fit(group, ty == ArgType::Sockaddr)
        }
        State => match socket_fit(group, ty == ArgType::Sockaddr) {
            Fit::Works if ty == ArgType::Skb => Fit::NeverMatches,
            other => other,
        },
        FileType | NotFileType => match ty {
            ArgType::File | ArgType::Path => Fit::Works,
            _ => Fit::Refused("FileType operators specified for non-file/path type"),
        },
        SubString | SubStringIgnCase => match ty {
            ArgType::String | ArgType::CharBuf => Fit::Works,
            _ => Fit::Ignored,
        },
        CapabilitiesGained if group == FilterGroup::CapabilitySet => Fit::Works,
        CapabilitiesGained => {
            Fit::Refused("CapabilitiesGained operator requires capability type arguments")
        }
        CelExpr => Fit::Works,
    })
}

/// `sockaddr_un` (Tetragon 1.7 and later; `unsupported_sockaddr_un` refuses
/// the type before): the agent takes `Family` and the string operators,
/// which the BPF side compares with the socket's path (`sun_path`) and
/// family; its other socket operators are refused. `Postfix` is loaded but
/// the BPF comparison has no case for it (never true, negated or not); so
/// has `SubString` up to 1.7 (main compares it on kernels with
/// `bpf_strnstr`).
fn sockaddr_un_fit(op: Operator) -> Fit {
    use Operator::*;
    match op {
        Family | Equal | NotEqual | Prefix | NotPrefix | CelExpr => Fit::Works,
        Postfix | NotPostfix | SubString | SubStringIgnCase => Fit::NeverMatches,
        SPort | NotSPort | SPortPriv | NotSPortPriv | SAddr | NotSAddr | DPort | NotDPort
        | DPortPriv | NotDPortPriv | Protocol | DAddr | NotDAddr | State => {
            Fit::Refused(SOCKADDR_UN_ONLY)
        }
        FileType | NotFileType => {
            Fit::Refused("FileType operators specified for non-file/path type")
        }
        InMap | NotInMap => Fit::Refused("unknown type for map operators"),
        InRange | NotInRange => Fit::Refused("MatchArgs type unsupported for range operators"),
        Gt | Lt | Mask | CapabilitiesGained => Fit::Refused("MatchArgs type unsupported"),
    }
}

fn socket_fit(group: FilterGroup, sockaddr_lacks_it: bool) -> Fit {
    match group {
        FilterGroup::Socket if sockaddr_lacks_it => Fit::Refused(SOCKADDR_SOURCE_ONLY),
        FilterGroup::Socket => Fit::Works,
        _ => Fit::Refused(SOCKET_ONLY),
    }
}

/// The operators that work on `ty` as written, for help text.
pub(super) fn operators_for(ty: ArgType) -> Vec<&'static str> {
    Operator::ALL
        .iter()
        .filter(|op| !matches!(op, Operator::CapabilitiesGained | Operator::CelExpr))
        .filter(|op| fit(**op, ty) == Some(Fit::Works))
        .map(|op| op.as_str())
        .collect()
}

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        for sel in &hook.selectors {
            for (_, filter) in arg_filters(sel) {
                if filter.operator.value == Operator::CapabilitiesGained {
                    capabilities_gained(hook, filter, out);
                    continue;
                }
                check_filter(hook, filter, out);
            }
        }
    }
}

fn check_filter(hook: &Hook, filter: &ArgFilter, out: &mut Vec<Diagnostic>) {
    let Some(target) = filter.targets.first() else {
        return;
    };
    let Some(decl) = decl_of(hook, *target) else {
        return;
    };
    let op = filter.operator.value;
    let ty = decl.ty.value;
    let Some(Fit::Refused(agent)) = fit(op, ty) else {
        return;
    };
    let what = describe_target(hook, *target);
    let mut d = Diagnostic::of(
        Code::OperatorTypeMismatch,
        format!(
            "`{}` cannot filter {what}, which is declared `{ty}`",
            op.as_str()
        ),
    )
    .with_primary(filter.operator.span, format!("not an operator for `{ty}`"))
    .with_secondary(decl.ty.span, format!("declared `{ty}` here"));
    d = with_fitting_help(d, op, ty);
    out.push(d.with_note(format!(
        "Tetragon refuses the policy when it loads: \"{agent}\""
    )));
}

fn with_fitting_help(d: Diagnostic, op: Operator, ty: ArgType) -> Diagnostic {
    use Operator::*;
    let fitting = operators_for(ty);
    let retype = match op {
        SPort | NotSPort | DPort | NotDPort | SPortPriv | NotSPortPriv | DPortPriv | NotDPortPriv | SAddr | NotSAddr
        | DAddr | NotDAddr | Protocol | Family | State if ty == ArgType::Sockaddr => {
            Some("a `sockaddr` only carries the source side: use `SPort`, `SAddr` or `Family`, or declare the argument as `sock`/`skb` if the kernel passes one".to_string())
        }
        SPort | NotSPort | DPort | NotDPort | SPortPriv | NotSPortPriv | DPortPriv | NotDPortPriv | SAddr | NotSAddr
        | DAddr | NotDAddr | Protocol | Family | State => {
            Some("socket operators need an argument of type `sock`, `socket`, `skb` or `sockaddr`".to_string())
        }
        FileType | NotFileType => Some("`FileType` needs an argument of type `file` or `path`".to_string()),
        _ => None,
    };
    let list = if fitting.is_empty() {
        format!(
            "Tetragon cannot filter `{ty}` arguments with any operator; filter another argument, or read this one as a type Tetragon can compare"
        )
    } else {
        format!("operators that work on `{ty}`: {}", fitting.join(", "))
    };
    match retype {
        Some(r) => d.with_help(format!("{r}; {list}")),
        None => d.with_help(list),
    }
}

fn capabilities_gained(hook: &Hook, filter: &ArgFilter, out: &mut Vec<Diagnostic>) {
    if filter.targets.len() != 2 {
        out.push(
            Diagnostic::of(
                Code::OperatorTypeMismatch,
                "`CapabilitiesGained` compares two capability sets, but this filter names one argument",
            )
            .with_primary(filter.target_span, "name two arguments here")
            .with_help("write `args: [a, b]` with the positions (in `args`) of two arguments of type `kernel_cap_t`, `cap_inheritable`, `cap_permitted` or `cap_effective`")
            .with_note("Tetragon refuses the policy: \"CapabilitiesGained operator requires two args: the new and the old capability\""),
        );
        return;
    }
    for target in &filter.targets {
        let Some(decl) = decl_of(hook, *target) else {
            continue;
        };
        let ty = decl.ty.value;
        if ty.is_capability_set() || ty == ArgType::Auto {
            continue;
        }
        out.push(
            Diagnostic::of(
                Code::OperatorTypeMismatch,
                format!("`CapabilitiesGained` compares capability sets, but {} is declared `{ty}`", describe_target(hook, *target)),
            )
            .with_primary(filter.target_span, "this argument is not a capability set")
            .with_secondary(decl.ty.span, format!("declared `{ty}` here"))
            .with_help("declare both arguments as `kernel_cap_t`, `cap_inheritable`, `cap_permitted` or `cap_effective`")
            .with_note("Tetragon refuses the policy: \"CapabilitiesGained operator requires capability type arguments\""),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{policy, primary_text, with_code};
    use super::*;

    fn kprobe_with(arg_type: &str, operator: &str, values: &str) -> String {
        policy(&format!(
            r#"
  kprobes:
  - call: tcp_connect
    syscall: false
    args:
    - index: 0
      type: {arg_type}
    selectors:
    - matchArgs:
      - index: 0
        operator: {operator}
        values: {values}
"#
        ))
    }

    #[test]
    fn dport_on_int_is_refused_and_lists_fitting_operators() {
        let y = kprobe_with("int", "DPort", "[\"443\"]");
        let d = with_code(&y, Code::OperatorTypeMismatch);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(primary_text(&y, &d[0]), "DPort");
        let help = d[0].help.as_deref().unwrap_or("");
        assert!(help.contains("sock"), "{help}");
        assert!(help.contains("Equal, NotEqual"), "{help}");
        assert!(
            with_code(
                &kprobe_with("sock", "DPort", "[\"443\"]"),
                Code::OperatorTypeMismatch
            )
            .is_empty()
        );
    }

    #[test]
    fn sockaddr_has_no_destination() {
        assert_eq!(
            with_code(
                &kprobe_with("sockaddr", "DAddr", "[\"10.0.0.0/8\"]"),
                Code::OperatorTypeMismatch
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &kprobe_with("sockaddr", "SAddr", "[\"10.0.0.0/8\"]"),
                Code::OperatorTypeMismatch
            )
            .is_empty()
        );
        assert!(
            with_code(
                &kprobe_with("sockaddr", "Family", "[AF_INET]"),
                Code::OperatorTypeMismatch
            )
            .is_empty()
        );
    }

    #[test]
    fn equal_and_numeric_operators_by_type() {
        assert_eq!(
            with_code(
                &kprobe_with("sock", "Equal", "[\"1\"]"),
                Code::OperatorTypeMismatch
            )
            .len(),
            1
        );
        assert_eq!(
            with_code(
                &kprobe_with("cred", "Equal", "[\"1\"]"),
                Code::OperatorTypeMismatch
            )
            .len(),
            1
        );
        assert_eq!(
            with_code(
                &kprobe_with("dentry", "Equal", "[\"/etc\"]"),
                Code::OperatorTypeMismatch
            )
            .len(),
            1
        );
        assert_eq!(
            with_code(
                &kprobe_with("string", "GT", "[\"1\"]"),
                Code::OperatorTypeMismatch
            )
            .len(),
            1
        );
        assert_eq!(
            with_code(
                &kprobe_with("file", "InMap", "[\"1\"]"),
                Code::OperatorTypeMismatch
            )
            .len(),
            1
        );
        assert_eq!(
            with_code(
                &kprobe_with("kernel_cap_t", "InRange", "[\"1:2\"]"),
                Code::OperatorTypeMismatch
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &kprobe_with("net_device", "Equal", "[\"eth0\"]"),
                Code::OperatorTypeMismatch
            )
            .is_empty()
        );
        assert!(
            with_code(
                &kprobe_with("uint64", "InRange", "[\"1:2\"]"),
                Code::OperatorTypeMismatch
            )
            .is_empty()
        );
        assert!(
            with_code(
                &kprobe_with("kernel_cap_t", "Mask", "[\"CAP_SYS_ADMIN\"]"),
                Code::OperatorTypeMismatch
            )
            .is_empty()
        );
    }

    #[test]
    fn file_type_needs_file_or_path() {
        assert_eq!(
            with_code(
                &kprobe_with("string", "FileType", "[reg]"),
                Code::OperatorTypeMismatch
            )
            .len(),
            1
        );
        assert!(
            with_code(
                &kprobe_with("file", "FileType", "[reg]"),
                Code::OperatorTypeMismatch
            )
            .is_empty()
        );
    }

    #[test]
    fn capabilities_gained_needs_two_capability_args() {
        let two = policy(
            r#"
  kprobes:
  - call: commit_creds
    syscall: false
    args:
    - {index: 0, type: cap_permitted}
    - {index: 1, type: TYPE}
    selectors:
    - matchArgs:
      - args: [0, 1]
        operator: CapabilitiesGained
"#,
        );
        assert!(
            with_code(
                &two.replace("TYPE", "cap_effective"),
                Code::OperatorTypeMismatch
            )
            .is_empty()
        );
        assert_eq!(
            with_code(&two.replace("TYPE", "int"), Code::OperatorTypeMismatch).len(),
            1
        );
        let one = two
            .replace("TYPE", "cap_effective")
            .replace("args: [0, 1]", "index: 0");
        let d = with_code(&one, Code::OperatorTypeMismatch);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("two capability sets"));
    }

    #[test]
    fn return_filters_are_checked_against_the_return_type() {
        let y = policy(
            r#"
  kprobes:
  - call: sys_openat
    return: true
    returnArg: {index: 0, type: int}
    selectors:
    - matchReturnArgs:
      - index: 0
        operator: OPERATOR
        values: ["0"]
"#,
        );
        assert_eq!(
            with_code(&y.replace("OPERATOR", "SAddr"), Code::OperatorTypeMismatch).len(),
            1
        );
        assert!(with_code(&y.replace("OPERATOR", "LT"), Code::OperatorTypeMismatch).is_empty());
    }

    #[test]
    fn every_type_has_a_verdict_table() {
        assert_eq!(
            operators_for(ArgType::Int),
            [
                "Equal",
                "NotEqual",
                "GT",
                "LT",
                "Mask",
                "InMap",
                "NotInMap",
                "InRange",
                "NotInRange"
            ]
        );
        assert!(operators_for(ArgType::Cred).is_empty());
        assert!(operators_for(ArgType::File).contains(&"FileType"));
    }
}
