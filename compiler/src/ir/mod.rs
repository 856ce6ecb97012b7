//! The policy IR: plain data, resolved and typed, every node spanned.
//!
//! # What the IR means
//!
//! A [`Policy`] is one `TracingPolicy` or `TracingPolicyNamespaced` document.
//! It owns [`Hook`]s: kprobes (and fentries), tracepoints, uprobes, USDTs and
//! LSM hooks. A hook says *where* to observe (its [`HookTarget`]), *what to
//! collect* (its [`ArgDecl`]s: `args`, `data`, `returnArg`) and *what to do*
//! (its [`Selector`]s).
//!
//! Selectors are evaluated in order and short-circuit: the first selector
//! whose filters all hold decides the event, and its actions run. Inside a
//! selector every filter must hold (AND); inside one filter the values are
//! alternatives (OR), except for negated operators, where the filter holds
//! when the value differs from every listed value. A hook without selectors
//! posts every event. A selector without `matchActions` posts.
//!
//! Resolution has already happened: selector macros are merged into the
//! selectors that name them, `list:` references in `call` are expanded into
//! one [`Call`] per member, operator aliases are normalised
//! (`GreaterThan` → [`Operator::Gt`]), filter values are parsed into typed
//! [`FilterValue`]s, and `matchArgs` indexes point at declared arguments
//! ([`ArgRef`]). Anything that could not be resolved has been reported and is
//! left out, so consumers (checks, lowering, simulator) can trust what they
//! find.
//!
//! Every node keeps the [`Span`] of the YAML it came from, so a kernel or
//! lowering error still points at the policy line that caused it.

pub mod names;
pub mod types;
pub mod value;

pub use types::{ArgClass, ArgType};
pub use value::FilterValue;

use crate::span::{Span, Spanned};

/// One policy document.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    pub name: Spanned<String>,
    pub kind: PolicyKind,
    pub namespace: Option<Spanned<String>>,
    /// The whole document.
    pub span: Span,
    /// The `kind:` value.
    pub kind_span: Span,
    pub hooks: Vec<Hook>,
    pub lists: Vec<ListDef>,
    pub enforcers: Vec<Enforcer>,
    pub options: Vec<PolicyOption>,
    pub loader: Option<Spanned<bool>>,
    pub pod_selector: Option<LabelSelector>,
    pub container_selector: Option<LabelSelector>,
    pub host_selector: Option<LabelSelector>,
    pub node_selector: Option<LabelSelector>,
    /// `spec.selectorsMacros` names with their spans (already merged into
    /// selectors; kept for the unused-definition check).
    pub macros: Vec<MacroDef>,
    /// Set when the policy is a `TracingPolicyBinding` applied to its
    /// `TracingPolicyTemplate` (see [`crate::front::template`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<BindingOf>,
    /// When the policy was written as a `RuntimeSecurityPolicy`: its rules
    /// and which selector each rule became (`None` for a TracingPolicy).
    /// Left out of the serialised IR when absent, so TracingPolicy bundles
    /// keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsp: Option<RspOrigin>,
}

/// What a policy made from a binding keeps of it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BindingOf {
    /// `spec.templateRef.name`.
    pub template: Spanned<String>,
    /// `spec.overrideAllowed` (default false).
    pub override_allowed: bool,
    /// `spec.overridePriority` (default 0).
    pub override_priority: i64,
    /// `spec.cgroups`: cgroup v2 paths relative to the cgroup mount, as
    /// `tpc run --cgroup` takes them (tpc's way of naming workloads on a
    /// host without Kubernetes).
    pub cgroups: Vec<Spanned<String>>,
    /// The binding document.
    pub span: Span,
}

/// What a `RuntimeSecurityPolicy` document was before it became hooks and
/// selectors, so findings and verdicts can speak of its rules.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RspOrigin {
    /// `spec.rules[]`, in order.
    pub rules: Vec<RspRule>,
    /// Which rule each generated selector came from.
    pub selectors: Vec<RspSelector>,
    /// The hook family the rules were lowered to (`lsm`, `kprobe`,
    /// `tracepoint`) and why it was chosen.
    pub strategy: String,
    pub strategy_reason: String,
}

impl RspOrigin {
    /// The rule that selector `selector` of hook `hook` (index in
    /// [`Policy::hooks`]) came from.
    pub fn rule_of(&self, hook: usize, selector: usize) -> Option<&RspRule> {
        let found = self
            .selectors
            .iter()
            .find(|s| s.hook == hook && s.selector == selector)?;
        self.rules.get(found.rule)
    }
}

/// One `spec.rules[]` entry of a `RuntimeSecurityPolicy`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RspRule {
    pub index: usize,
    /// `Execution`, `File` or `Network`.
    pub kind: String,
    /// `Audit` or `Block`.
    pub action: String,
    pub span: Span,
}

/// One generated selector and the rule it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RspSelector {
    /// Index in [`Policy::hooks`].
    pub hook: usize,
    /// Index in that hook's selectors.
    pub selector: usize,
    /// Index in [`RspOrigin::rules`].
    pub rule: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PolicyKind {
    TracingPolicy,
    TracingPolicyNamespaced,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::TracingPolicy => "TracingPolicy",
            PolicyKind::TracingPolicyNamespaced => "TracingPolicyNamespaced",
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MacroDef {
    pub name: Spanned<String>,
    pub used: bool,
}

/// What kind of hook, as written in the spec.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum HookKind {
    Kprobe,
    Fentry,
    Tracepoint,
    Uprobe,
    Usdt,
    Lsm,
}

impl HookKind {
    /// The spec key that holds hooks of this kind.
    pub fn spec_key(self) -> &'static str {
        match self {
            HookKind::Kprobe => "kprobes",
            HookKind::Fentry => "fentries",
            HookKind::Tracepoint => "tracepoints",
            HookKind::Uprobe => "uprobes",
            HookKind::Usdt => "usdts",
            HookKind::Lsm => "lsmhooks",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::Kprobe => "kprobe",
            HookKind::Fentry => "fentry",
            HookKind::Tracepoint => "tracepoint",
            HookKind::Uprobe => "uprobe",
            HookKind::Usdt => "usdt",
            HookKind::Lsm => "lsm",
        }
    }
}

/// One hook: where to observe, what to collect, what to do.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hook {
    /// The hook's mapping in the spec.
    pub span: Span,
    /// Position in its spec list (`kprobes[index]`).
    pub index: usize,
    pub target: HookTarget,
    pub args: Vec<ArgDecl>,
    pub data: Vec<ArgDecl>,
    pub return_arg: Option<ArgDecl>,
    /// `return: true`.
    pub returns: Option<Spanned<bool>>,
    pub return_arg_action: Option<Spanned<String>>,
    pub selectors: Vec<Selector>,
    pub tags: Vec<Spanned<String>>,
    pub message: Option<Spanned<String>>,
}

impl Hook {
    pub fn kind(&self) -> HookKind {
        self.target.kind()
    }

    /// `kprobes[2]`-style locator.
    pub fn locator(&self) -> String {
        format!("{}[{}]", self.kind().spec_key(), self.index)
    }

    /// A short human name: the call, `subsystem/event`, the LSM hook, ...
    pub fn display_name(&self) -> String {
        match &self.target {
            HookTarget::Kprobe { calls, .. } => match calls.as_slice() {
                [one] => one.name.clone(),
                many => format!("{} functions", many.len()),
            },
            HookTarget::Tracepoint {
                subsystem, event, ..
            } => format!("{}/{}", subsystem.value, event.value),
            HookTarget::Uprobe { path, symbols, .. } => match symbols.as_slice() {
                [one] => format!("{}:{}", path.value, one.value),
                _ => path.value.clone(),
            },
            HookTarget::Usdt { provider, name, .. } => format!("{}:{}", provider.value, name.value),
            HookTarget::Lsm { hook } => hook.value.clone(),
        }
    }

    /// Is the return value collected (`return: true`)?
    pub fn collects_return(&self) -> bool {
        self.returns.as_ref().is_some_and(|r| r.value)
    }
}

/// Where a hook attaches.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum HookTarget {
    /// `spec.kprobes[]` and `spec.fentries[]`.
    Kprobe {
        /// One entry per function; a `call: "list:NAME"` expands to the list's
        /// members.
        calls: Vec<Call>,
        /// Whether the calls are syscalls: for `call: "list:NAME"` the list's
        /// type decides (syscall lists force true, other lists false, as
        /// Tetragon does); otherwise `syscall:`, which defaults to true (the
        /// CRD default).
        syscall: bool,
        /// `syscall:` as written, if it was.
        syscall_written: Option<Spanned<bool>>,
        /// The `call:` value.
        call_span: Span,
        ignore_call_not_found: bool,
        fentry: bool,
    },
    Tracepoint {
        subsystem: Spanned<String>,
        event: Spanned<String>,
        raw: bool,
    },
    Uprobe {
        path: Spanned<String>,
        symbols: Vec<Spanned<String>>,
        offsets: Vec<Spanned<i64>>,
        addrs: Vec<Spanned<i64>>,
        ref_ctr_offsets: Vec<Spanned<i64>>,
        btf_path: Option<Spanned<String>>,
        binary_digests: Vec<Spanned<String>>,
        ignore_digest_failure: bool,
    },
    Usdt {
        path: Spanned<String>,
        provider: Spanned<String>,
        name: Spanned<String>,
        btf_path: Option<Spanned<String>>,
    },
    Lsm {
        hook: Spanned<String>,
    },
}

impl HookTarget {
    pub fn kind(&self) -> HookKind {
        match self {
            HookTarget::Kprobe { fentry: true, .. } => HookKind::Fentry,
            HookTarget::Kprobe { .. } => HookKind::Kprobe,
            HookTarget::Tracepoint { .. } => HookKind::Tracepoint,
            HookTarget::Uprobe { .. } => HookKind::Uprobe,
            HookTarget::Usdt { .. } => HookKind::Usdt,
            HookTarget::Lsm { .. } => HookKind::Lsm,
        }
    }
}

/// One kernel function a kprobe attaches to.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Call {
    /// As written (`sys_openat`, `security_file_open`).
    pub name: String,
    /// The `call:` value, or the list member it came from.
    pub span: Span,
    /// The list it was expanded from, if any.
    pub from_list: Option<String>,
}

/// One collected value: an `args`, `data` or `returnArg` entry.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArgDecl {
    pub span: Span,
    /// `index`: the function parameter (kprobe, uprobe, lsm) or the tracepoint
    /// format field position (tracepoint).
    pub index: Spanned<u32>,
    /// The type; `auto` when `type` is absent (the CRD default) and also when
    /// the written name is unknown (already reported; see `type_text`).
    pub ty: Spanned<ArgType>,
    /// `type` as written; `None` when absent.
    pub type_text: Option<Spanned<String>>,
    pub label: Option<Spanned<String>>,
    pub max_data: bool,
    pub return_copy: bool,
    pub size_arg_index: Option<Spanned<u32>>,
    pub btf_type: Option<Spanned<String>>,
    pub btf_type_module: Option<Spanned<String>>,
    pub resolve: Option<Spanned<String>>,
    pub source: Option<Spanned<String>>,
}

/// Which collected value a filter looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ArgRef {
    /// Position in the hook's `args` list.
    Arg(usize),
    /// Position in the hook's `data` list.
    Data(usize),
    /// The `returnArg`.
    Return,
}

/// One selector.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Selector {
    pub span: Span,
    /// Position in the hook's `selectors` list.
    pub index: usize,
    pub label: Option<Spanned<String>>,
    pub match_args: Vec<ArgFilter>,
    pub match_data: Vec<ArgFilter>,
    pub match_return_args: Vec<ArgFilter>,
    pub match_pids: Vec<PidFilter>,
    pub match_binaries: Vec<BinaryFilter>,
    pub match_parent_binaries: Vec<BinaryFilter>,
    pub match_namespaces: Vec<NamespaceFilter>,
    pub match_namespace_changes: Vec<NamespaceChangeFilter>,
    pub match_capabilities: Vec<CapabilityFilter>,
    pub match_capability_changes: Vec<CapabilityFilter>,
    pub match_workloads: Option<WorkloadFilter>,
    pub match_actions: Vec<Action>,
    pub match_return_actions: Vec<Action>,
    /// The macros this selector named (already merged in).
    pub macros: Vec<Spanned<String>>,
}

impl Selector {
    /// True when the selector has no filter at all, so it matches every event.
    pub fn is_unconditional(&self) -> bool {
        self.match_args.is_empty()
            && self.match_data.is_empty()
            && self.match_return_args.is_empty()
            && self.match_pids.is_empty()
            && self.match_binaries.is_empty()
            && self.match_parent_binaries.is_empty()
            && self.match_namespaces.is_empty()
            && self.match_namespace_changes.is_empty()
            && self.match_capabilities.is_empty()
            && self.match_capability_changes.is_empty()
            && self.match_workloads.is_none()
    }
}

/// `matchArgs`, `matchData` and `matchReturnArgs` entries.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArgFilter {
    pub span: Span,
    /// The values the filter applies to (several when `args:` lists several).
    pub targets: Vec<ArgRef>,
    /// The `index:` or `args:` value, for labels.
    pub target_span: Span,
    pub operator: Spanned<Operator>,
    pub values: Vec<Spanned<FilterValue>>,
    /// The `values` entries as written (text, `list:` references included),
    /// whether or not they parsed.
    pub raw_values: Vec<Spanned<String>>,
}

/// Argument filter operators, aliases normalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Operator {
    Equal,
    NotEqual,
    Prefix,
    NotPrefix,
    Postfix,
    NotPostfix,
    Gt,
    Lt,
    Mask,
    SPort,
    NotSPort,
    SPortPriv,
    NotSPortPriv,
    DPort,
    NotDPort,
    DPortPriv,
    NotDPortPriv,
    SAddr,
    NotSAddr,
    DAddr,
    NotDAddr,
    Protocol,
    Family,
    State,
    InMap,
    NotInMap,
    CapabilitiesGained,
    InRange,
    NotInRange,
    SubString,
    SubStringIgnCase,
    CelExpr,
    FileType,
    NotFileType,
}

impl Operator {
    /// Every argument filter operator, in the CRD's order.
    pub const ALL: [Operator; 34] = {
        use Operator::*;
        [
            Equal,
            NotEqual,
            Prefix,
            NotPrefix,
            Postfix,
            NotPostfix,
            Gt,
            Lt,
            Mask,
            SPort,
            NotSPort,
            SPortPriv,
            NotSPortPriv,
            DPort,
            NotDPort,
            DPortPriv,
            NotDPortPriv,
            SAddr,
            NotSAddr,
            DAddr,
            NotDAddr,
            Protocol,
            Family,
            State,
            InMap,
            NotInMap,
            CapabilitiesGained,
            InRange,
            NotInRange,
            SubString,
            SubStringIgnCase,
            CelExpr,
            FileType,
            NotFileType,
        ]
    };

    /// Parses a CRD operator name (aliases included).
    pub fn from_name(name: &str) -> Option<Operator> {
        use Operator::*;
        Some(match name {
            "Equal" => Equal,
            "NotEqual" => NotEqual,
            "Prefix" => Prefix,
            "NotPrefix" => NotPrefix,
            "Postfix" => Postfix,
            "NotPostfix" => NotPostfix,
            "GreaterThan" | "GT" => Gt,
            "LessThan" | "LT" => Lt,
            "Mask" => Mask,
            "SPort" => SPort,
            "NotSPort" => NotSPort,
            "SPortPriv" => SPortPriv,
            "NotSportPriv" | "NotSPortPriv" => NotSPortPriv,
            "DPort" => DPort,
            "NotDPort" => NotDPort,
            "DPortPriv" => DPortPriv,
            "NotDPortPriv" => NotDPortPriv,
            "SAddr" => SAddr,
            "NotSAddr" => NotSAddr,
            "DAddr" => DAddr,
            "NotDAddr" => NotDAddr,
            "Protocol" => Protocol,
            "Family" => Family,
            "State" => State,
            "InMap" => InMap,
            "NotInMap" => NotInMap,
            "CapabilitiesGained" => CapabilitiesGained,
            "InRange" => InRange,
            "NotInRange" => NotInRange,
            "SubString" => SubString,
            "SubStringIgnCase" => SubStringIgnCase,
            "CelExpr" => CelExpr,
            "FileType" => FileType,
            "NotFileType" => NotFileType,
            _ => return None,
        })
    }

    /// The canonical CRD spelling.
    pub fn as_str(self) -> &'static str {
        use Operator::*;
        match self {
            Equal => "Equal",
            NotEqual => "NotEqual",
            Prefix => "Prefix",
            NotPrefix => "NotPrefix",
            Postfix => "Postfix",
            NotPostfix => "NotPostfix",
            Gt => "GT",
            Lt => "LT",
            Mask => "Mask",
            SPort => "SPort",
            NotSPort => "NotSPort",
            SPortPriv => "SPortPriv",
            NotSPortPriv => "NotSportPriv",
            DPort => "DPort",
            NotDPort => "NotDPort",
            DPortPriv => "DPortPriv",
            NotDPortPriv => "NotDPortPriv",
            SAddr => "SAddr",
            NotSAddr => "NotSAddr",
            DAddr => "DAddr",
            NotDAddr => "NotDAddr",
            Protocol => "Protocol",
            Family => "Family",
            State => "State",
            InMap => "InMap",
            NotInMap => "NotInMap",
            CapabilitiesGained => "CapabilitiesGained",
            InRange => "InRange",
            NotInRange => "NotInRange",
            SubString => "SubString",
            SubStringIgnCase => "SubStringIgnCase",
            CelExpr => "CelExpr",
            FileType => "FileType",
            NotFileType => "NotFileType",
        }
    }

    /// Negated operators hold when the value differs from every listed value.
    pub fn is_negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            NotEqual
                | NotPrefix
                | NotPostfix
                | NotSPort
                | NotSPortPriv
                | NotDPort
                | NotDPortPriv
                | NotSAddr
                | NotDAddr
                | NotInMap
                | NotInRange
                | NotFileType
        )
    }

    /// Operators that take no values.
    pub fn takes_no_values(self) -> bool {
        use Operator::*;
        matches!(self, SPortPriv | NotSPortPriv | DPortPriv | NotDPortPriv)
    }
}

/// `In`/`NotIn` for PID, namespace and capability filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SetOp {
    In,
    NotIn,
}

impl SetOp {
    pub fn from_name(name: &str) -> Option<SetOp> {
        match name {
            "In" => Some(SetOp::In),
            "NotIn" => Some(SetOp::NotIn),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SetOp::In => "In",
            SetOp::NotIn => "NotIn",
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PidFilter {
    pub span: Span,
    pub operator: Spanned<SetOp>,
    pub values: Vec<Spanned<u32>>,
    /// How many values were written (parsed or not).
    pub written: usize,
    pub follow_forks: bool,
    pub is_namespace_pid: bool,
}

/// `matchBinaries`/`matchParentBinaries` operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BinaryOp {
    In,
    NotIn,
    Prefix,
    NotPrefix,
    Postfix,
    NotPostfix,
}

impl BinaryOp {
    pub fn from_name(name: &str) -> Option<BinaryOp> {
        Some(match name {
            "In" => BinaryOp::In,
            "NotIn" => BinaryOp::NotIn,
            "Prefix" => BinaryOp::Prefix,
            "NotPrefix" => BinaryOp::NotPrefix,
            "Postfix" => BinaryOp::Postfix,
            "NotPostfix" => BinaryOp::NotPostfix,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::In => "In",
            BinaryOp::NotIn => "NotIn",
            BinaryOp::Prefix => "Prefix",
            BinaryOp::NotPrefix => "NotPrefix",
            BinaryOp::Postfix => "Postfix",
            BinaryOp::NotPostfix => "NotPostfix",
        }
    }

    pub fn is_negated(self) -> bool {
        matches!(
            self,
            BinaryOp::NotIn | BinaryOp::NotPrefix | BinaryOp::NotPostfix
        )
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BinaryFilter {
    pub span: Span,
    pub operator: Spanned<BinaryOp>,
    pub values: Vec<Spanned<String>>,
    pub follow_children: bool,
}

/// A Linux namespace kind, as `matchNamespaces` names it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum NamespaceKind {
    Uts,
    Ipc,
    Mnt,
    Pid,
    PidForChildren,
    Net,
    Time,
    TimeForChildren,
    Cgroup,
    User,
}

impl NamespaceKind {
    pub const ALL: [NamespaceKind; 10] = [
        NamespaceKind::Uts,
        NamespaceKind::Ipc,
        NamespaceKind::Mnt,
        NamespaceKind::Pid,
        NamespaceKind::PidForChildren,
        NamespaceKind::Net,
        NamespaceKind::Time,
        NamespaceKind::TimeForChildren,
        NamespaceKind::Cgroup,
        NamespaceKind::User,
    ];

    pub fn from_name(name: &str) -> Option<NamespaceKind> {
        NamespaceKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NamespaceKind::Uts => "Uts",
            NamespaceKind::Ipc => "Ipc",
            NamespaceKind::Mnt => "Mnt",
            NamespaceKind::Pid => "Pid",
            NamespaceKind::PidForChildren => "PidForChildren",
            NamespaceKind::Net => "Net",
            NamespaceKind::Time => "Time",
            NamespaceKind::TimeForChildren => "TimeForChildren",
            NamespaceKind::Cgroup => "Cgroup",
            NamespaceKind::User => "User",
        }
    }

    /// The key of this namespace in Tetragon's event `process.ns` object.
    pub fn event_key(self) -> &'static str {
        match self {
            NamespaceKind::Uts => "uts",
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Mnt => "mnt",
            NamespaceKind::Pid => "pid",
            NamespaceKind::PidForChildren => "pid_for_children",
            NamespaceKind::Net => "net",
            NamespaceKind::Time => "time",
            NamespaceKind::TimeForChildren => "time_for_children",
            NamespaceKind::Cgroup => "cgroup",
            NamespaceKind::User => "user",
        }
    }
}

/// A `matchNamespaces` value: an inode number or the host's namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum NamespaceValue {
    Host,
    Inum(u32),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NamespaceFilter {
    pub span: Span,
    pub namespace: Spanned<NamespaceKind>,
    pub operator: Spanned<SetOp>,
    pub values: Vec<Spanned<NamespaceValue>>,
    /// How many values were written (parsed or not).
    pub written: usize,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NamespaceChangeFilter {
    pub span: Span,
    pub operator: Spanned<SetOp>,
    pub values: Vec<Spanned<NamespaceKind>>,
    /// How many values were written (parsed or not).
    pub written: usize,
}

/// Which capability set a capability filter reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CapabilitySet {
    Effective,
    Inheritable,
    Permitted,
}

impl CapabilitySet {
    pub fn from_name(name: &str) -> Option<CapabilitySet> {
        Some(match name {
            "Effective" => CapabilitySet::Effective,
            "Inheritable" => CapabilitySet::Inheritable,
            "Permitted" => CapabilitySet::Permitted,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CapabilitySet::Effective => "Effective",
            CapabilitySet::Inheritable => "Inheritable",
            CapabilitySet::Permitted => "Permitted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CapabilityFilter {
    pub span: Span,
    pub operator: Spanned<SetOp>,
    pub set: CapabilitySet,
    pub is_namespace_capability: bool,
    /// Capability numbers (`CAP_SYS_ADMIN` = 21).
    pub values: Vec<Spanned<u8>>,
    /// How many values were written (parsed or not).
    pub written: usize,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkloadFilter {
    pub span: Span,
    pub pod_selector: Option<LabelSelector>,
    pub container_selector: Option<LabelSelector>,
    pub host_selector: Option<LabelSelector>,
}

/// A Kubernetes label selector.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LabelSelector {
    pub span: Span,
    pub match_labels: Vec<(Spanned<String>, Spanned<String>)>,
    pub match_expressions: Vec<LabelRequirement>,
}

impl LabelSelector {
    /// `{}`: selects everything.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LabelOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelOp {
    pub fn from_name(name: &str) -> Option<LabelOp> {
        Some(match name {
            "In" => LabelOp::In,
            "NotIn" => LabelOp::NotIn,
            "Exists" => LabelOp::Exists,
            "DoesNotExist" => LabelOp::DoesNotExist,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LabelRequirement {
    pub span: Span,
    pub key: Spanned<String>,
    pub operator: Spanned<LabelOp>,
    pub values: Vec<Spanned<String>>,
}

/// One `matchActions`/`matchReturnActions` entry.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Action {
    pub span: Span,
    /// The `action:` value.
    pub name_span: Span,
    pub kind: ActionKind,
    /// Every key written in the action's mapping (`action`, `argError`,
    /// `rateLimit`, ...), with the key's span, whether this action reads it
    /// or not.
    pub fields: Vec<Spanned<String>>,
}

impl Action {
    /// The span of key `name`, if written.
    pub fn field(&self, name: &str) -> Option<Span> {
        self.fields.iter().find(|f| f.value == name).map(|f| f.span)
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ActionKind {
    Post {
        rate_limit: Option<RateLimit>,
        kernel_stack_trace: bool,
        user_stack_trace: bool,
        ima_hash: bool,
    },
    NoPost,
    Sigkill,
    Signal {
        signal: Option<Spanned<i32>>,
    },
    Override {
        error: Option<Spanned<i32>>,
        regs: Vec<Spanned<String>>,
        new_symbol: Option<Spanned<String>>,
        new_addr: Option<Spanned<i64>>,
        new_offset: Option<Spanned<i64>>,
    },
    GetUrl {
        url: Option<Spanned<String>>,
    },
    DnsLookup {
        fqdn: Option<Spanned<String>>,
    },
    TrackSock {
        sock_arg: Option<Spanned<i32>>,
    },
    UntrackSock {
        sock_arg: Option<Spanned<i32>>,
    },
    NotifyEnforcer {
        error: Option<Spanned<i32>>,
        signal: Option<Spanned<i32>>,
    },
    CleanupEnforcerNotification,
    Set {
        arg_index: Option<Spanned<i32>>,
        value: Option<Spanned<i32>>,
    },
    /// Older actions the agent still parses (`FollowFD`, `UnfollowFD`, `CopyFD`).
    Legacy {
        name: String,
    },
}

impl ActionKind {
    /// The CRD spelling of the action.
    pub fn name(&self) -> &str {
        match self {
            ActionKind::Post { .. } => "Post",
            ActionKind::NoPost => "NoPost",
            ActionKind::Sigkill => "Sigkill",
            ActionKind::Signal { .. } => "Signal",
            ActionKind::Override { .. } => "Override",
            ActionKind::GetUrl { .. } => "GetUrl",
            ActionKind::DnsLookup { .. } => "DnsLookup",
            ActionKind::TrackSock { .. } => "TrackSock",
            ActionKind::UntrackSock { .. } => "UntrackSock",
            ActionKind::NotifyEnforcer { .. } => "NotifyEnforcer",
            ActionKind::CleanupEnforcerNotification => "CleanupEnforcerNotification",
            ActionKind::Set { .. } => "Set",
            ActionKind::Legacy { name } => name,
        }
    }
}

/// `rateLimit` with its scope.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RateLimit {
    pub span: Span,
    /// The interval in nanoseconds.
    pub interval_ns: u64,
    pub scope: RateLimitScope,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RateLimitScope {
    Thread,
    Process,
    Global,
}

impl RateLimitScope {
    pub fn from_name(name: &str) -> Option<RateLimitScope> {
        Some(match name {
            "thread" => RateLimitScope::Thread,
            "process" => RateLimitScope::Process,
            "global" => RateLimitScope::Global,
            _ => return None,
        })
    }
}

/// `spec.lists[]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ListDef {
    pub span: Span,
    pub name: Spanned<String>,
    pub kind: ListKind,
    pub kind_span: Option<Span>,
    pub values: Vec<Spanned<String>>,
    pub pattern: Option<Spanned<String>>,
    pub validated: bool,
    /// Whether anything refers to it.
    pub used: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ListKind {
    /// No `type`: a list of kernel function names.
    Functions,
    Syscalls,
    GeneratedSyscalls,
    GeneratedFtrace,
}

impl ListKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Functions => "functions",
            ListKind::Syscalls => "syscalls",
            ListKind::GeneratedSyscalls => "generated_syscalls",
            ListKind::GeneratedFtrace => "generated_ftrace",
        }
    }

    /// Lists whose members are syscalls.
    pub fn is_syscalls(self) -> bool {
        matches!(self, ListKind::Syscalls | ListKind::GeneratedSyscalls)
    }
}

/// `spec.enforcers[]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Enforcer {
    pub span: Span,
    /// `list:` references are expanded, with [`Call::from_list`] set.
    pub calls: Vec<Call>,
}

/// `spec.options[]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PolicyOption {
    pub span: Span,
    pub name: Spanned<String>,
    pub value: Option<Spanned<String>>,
}
