//! The registry of diagnostic codes. Codes are stable: a code is never reused
//! for a different problem. Each code's documentation is what
//! `tpc explain CODE` prints.

use super::Severity;
use serde::{Serialize, Serializer};

macro_rules! codes {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = ($code:literal, $name:literal, $sev:ident);
    )*) => {
        /// A stable diagnostic code (`TPCnnn`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable code, e.g. `TPC003`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short kebab-case name, e.g. `unknown-field`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity findings of this code get unless a pass says otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// The long documentation: what it flags, why, an example.
            pub fn documentation(self) -> &'static str {
                match self { $(Code::$variant => concat!($($doc, "\n"),*),)* }
            }
        }
    };
}

impl Code {
    /// Looks a code up by `TPC003`, `tpc003`, `3` or its name `unknown-field`.
    pub fn parse(text: &str) -> Option<Code> {
        let t = text.trim();
        let digits = t
            .strip_prefix("TPC")
            .or_else(|| t.strip_prefix("tpc"))
            .unwrap_or(t);
        if let Ok(n) = digits.parse::<u32>() {
            return Code::ALL
                .iter()
                .copied()
                .find(|c| c.as_str()[3..].parse::<u32>().ok() == Some(n));
        }
        Code::ALL.iter().copied().find(|c| c.name() == t)
    }

    /// First line of the documentation.
    pub fn summary(self) -> &'static str {
        self.documentation().lines().next().unwrap_or("").trim()
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

codes! {
    /// The file is not valid YAML.
    ///
    /// What it does: reports where the YAML parser stopped.
    /// Why: nothing after a syntax error can be checked.
    /// Example: a tab used for indentation, or `key: [unclosed`.
    YamlSyntax = ("TPC001", "yaml-syntax", Error);

    /// A YAML document is not a Tetragon policy and was skipped.
    ///
    /// What it does: notes documents whose `apiVersion`/`kind` are not a policy
    /// that tpc reads (`cilium.io/v1alpha1` `TracingPolicy` or
    /// `TracingPolicyNamespaced`), and reports an unknown kind inside `cilium.io`.
    /// Why: multi-document files often mix policies with other manifests; an
    /// unknown kind in `cilium.io` is usually a typo.
    /// Example: `kind: TracingPolicyNamespace` (missing the final d).
    NotAPolicy = ("TPC002", "not-a-policy", Warning);

    /// A key that does not exist at this place in the policy schema.
    ///
    /// What it does: flags keys the CRD schema does not define here, with the
    /// closest known key as a suggestion.
    /// Why: Kubernetes prunes unknown fields silently, so a misspelt
    /// `matchArg` simply disappears and the selector matches everything.
    /// Example: `matchArg:` instead of `matchArgs:`.
    UnknownField = ("TPC003", "unknown-field", Error);

    /// A known key written at the wrong level of the policy.
    ///
    /// What it does: flags a key that is valid elsewhere in the schema (for
    /// example `matchArgs` directly under a kprobe instead of under one of its
    /// `selectors`), and says where it belongs.
    /// Why: indentation mistakes are the most common YAML error, and the
    /// misplaced key is dropped without a trace.
    /// Example: `selectors:` indented under `args:`.
    MisplacedField = ("TPC004", "misplaced-field", Error);

    /// A value of the wrong YAML type (a list where a map is expected, text where
    /// a number is expected, ...).
    ///
    /// What it does: compares each value with the type the schema expects.
    /// Why: Tetragon refuses the policy at load time, far from the editor.
    /// Example: `index: "1"` (a quoted string) where an integer is expected.
    WrongType = ("TPC005", "wrong-type", Error);

    /// A required key is missing.
    ///
    /// What it does: reports keys the schema requires, such as `call` in a
    /// kprobe or `operator` in a `matchArgs` entry.
    /// Why: the policy is rejected by Kubernetes or by the agent.
    /// Example: a `matchBinaries` entry with `values` but no `operator`.
    MissingField = ("TPC006", "missing-field", Error);

    /// A value that is not one of the allowed names.
    ///
    /// What it does: checks enumerated values (operators, argument types,
    /// actions, namespaces, capability names and types, list types) and
    /// suggests the closest allowed one. Spellings that Tetragon's Go
    /// parsers would take but the CRD's enum does not list (`sigkill`;
    /// `FollowFD` with `--tetragon main`, whose enum dropped it) are
    /// reported too: the agent validates against the CRD before it parses.
    /// Why: Tetragon rejects unknown names, but only when the policy loads.
    /// Example: `operator: Equals` instead of `Equal`.
    UnknownValue = ("TPC007", "unknown-value", Error);

    /// The same key appears twice in one mapping.
    ///
    /// What it does: reports the second occurrence and points at the first.
    /// Why: YAML loaders keep only one of them, silently.
    /// Example: two `matchArgs:` keys in the same selector.
    DuplicateKey = ("TPC008", "duplicate-key", Error);

    /// `metadata.name` is missing or is not a valid Kubernetes object name.
    ///
    /// What it does: checks the name is a lowercase RFC 1123 subdomain.
    /// Why: the API server rejects such a policy.
    /// Example: `name: My_Policy`.
    InvalidName = ("TPC009", "invalid-name", Error);

    /// A spelling the Tetragon agent accepts but the Kubernetes CRD rejects.
    ///
    /// What it does: flags unquoted numbers and booleans (YAML 1.1: `yes`,
    /// `on`, `0755`, `0x40`) where the CRD expects text: the agent turns
    /// them into text (`"64"` for `0x40`, `"true"` for `yes`), the API
    /// server refuses them. (Enum spellings that only Tetragon's Go parsers
    /// take, such as `action: sigkill`, are TPC007: the agent validates
    /// enums against the CRD before parsing and refuses them too.)
    /// Why: the same policy then loads from a file but fails with `kubectl
    /// apply` (cilium/tetragon issues 1255 and 1318), or the agent compares
    /// other text than the one written.
    /// Example: `values: [443]` instead of `values: ["443"]`.
    AgentOnlySpelling = ("TPC010", "agent-only-spelling", Warning);

    /// The YAML is valid but expands beyond what tpc reads.
    ///
    /// What it does: stops reading a file whose aliases copy more than
    /// 100,000 nodes in total, or whose collections nest deeper than 256
    /// levels, and points at the alias or collection where it stopped.
    /// Why: a "billion laughs" file of a few hundred bytes expands to billions
    /// of nodes; reading it would take all the memory of the CI runner. No
    /// policy comes near these bounds.
    /// Example: `a: &a [x, x, x]`, `b: &b [*a, *a, *a]`, ... nine levels deep.
    YamlLimit = ("TPC011", "yaml-limit", Error);

    /// Two policies of one run have the same name (and namespace).
    ///
    /// What it does: compares `metadata.name` (with `metadata.namespace`
    /// for namespaced policies) across every document of every file checked
    /// together, and points at the first policy of that name.
    /// Why: Tetragon refuses the second policy ("a sensor collection with
    /// the key already exists"), and `kubectl apply` of both silently keeps
    /// only the last one.
    /// Example: two documents of one file both named `file-monitoring`.
    DuplicatePolicyName = ("TPC012", "duplicate-policy-name", Error);

    /// An operator that does not apply to the argument's type.
    ///
    /// What it does: checks each `matchArgs`/`matchData`/`matchReturnArgs`
    /// operator against the declared type of the argument it filters.
    /// Why: Tetragon refuses the policy ("not supported") at load time.
    /// Example: `operator: DPort` on an argument of type `int`.
    OperatorTypeMismatch = ("TPC020", "operator-type-mismatch", Error);

    /// A filter value that does not parse for its operator and argument type.
    ///
    /// What it does: parses every value the way Tetragon does: decimal and
    /// hexadecimal integers, ranges, CIDRs, ports, protocols, families, socket
    /// states, file types, capability and namespace names.
    /// Why: an unparsable value fails the whole policy at load time.
    /// Example: `values: ["10.0.0.0/33"]` for `DAddr`.
    InvalidValue = ("TPC021", "invalid-value", Error);

    /// A selector filter refers to an argument the hook does not declare.
    ///
    /// What it does: checks `matchArgs.index`, `matchArgs.args`,
    /// `matchData.index` and `matchReturnArgs.index` against the hook's `args`,
    /// `data` and `returnArg`.
    /// Why: Tetragon cannot filter on a value it does not collect.
    /// Example: `matchArgs: [{index: 2, ...}]` with only `args: [{index: 0, ...}]`.
    UndeclaredArg = ("TPC022", "undeclared-arg", Error);

    /// An operator that needs values has none, or one that takes none has some.
    ///
    /// What it does: checks the `values` list of every filter.
    /// Why: an empty `matchBinaries` list made Tetragon drop every event
    /// (cilium/tetragon PR 4022); values given to `SPortPriv` are ignored.
    /// Example: `matchBinaries: [{operator: In, values: []}]`.
    ValuesCount = ("TPC023", "values-count", Error);

    /// Two argument declarations collect the same thing.
    ///
    /// What it does: reports hook `args` entries that repeat an earlier entry's
    /// index and type.
    /// Why: the duplicate costs BPF instructions and event space for nothing.
    /// Example: two `args` entries both `{index: 0, type: int}`.
    DuplicateArg = ("TPC024", "duplicate-arg", Warning);

    /// An argument type that this hook kind cannot collect.
    ///
    /// What it does: rejects `type: auto` and `syscall64` on kprobes, `auto` on
    /// LSM hooks, uprobes and USDTs and on every `returnArg`, `const_buf` as a
    /// tracepoint type, and `sockaddr_un` for releases before 1.7 (which do
    /// not know it; `--tetragon`).
    /// Why: Tetragon refuses the policy ("type 'auto' is invalid for kprobes").
    /// Example: `returnArg: {index: 0}` (the type defaults to `auto`).
    UnsupportedArgType = ("TPC025", "unsupported-arg-type", Error);

    /// An `args`/`data` declaration that Tetragon refuses.
    ///
    /// What it does: checks parameter indexes (0–4 on kprobes, uprobes and LSM
    /// hooks, 0–5 on raw tracepoints), `sizeArgIndex` (≤ 15), `source` (only
    /// on `data`, as `current_task` or `pt_regs`, with a `resolve`), `maxData`
    /// and `returnCopy` (only on `char_buf`/`char_iovec`); warns about
    /// `btfType` on kprobes, which Tetragon 1.7 and older ignore.
    /// Why: the agent rejects the hook, or silently ignores the setting.
    /// Example: `data: [{index: 0, type: int}]` without `source` and `resolve`.
    InvalidArgDeclaration = ("TPC026", "invalid-arg-declaration", Error);

    /// A filter that is accepted but can never do what it says.
    ///
    /// What it does: flags filters Tetragon loads but never matches (`Prefix`
    /// on a number, `State` on an `skb`, any filter on a type the BPF side
    /// cannot filter, such as `cred`; a relative path in `matchBinaries`),
    /// and filters that always match (`NotEqual` on a number with two
    /// different values).
    /// Why: the selector silently does something else than intended.
    /// Example: `NotEqual` with values `0` and `1` on an `int`.
    IneffectiveFilter = ("TPC027", "ineffective-filter", Warning);

    /// A filter option that Tetragon does not support with this operator.
    ///
    /// What it does: reports `followChildren: true` on a `matchBinaries` or
    /// `matchParentBinaries` entry whose operator is not `In` or `NotIn`.
    /// Why: Tetragon refuses the policy ("followChildren not yet implemented
    /// for operation 'Prefix'").
    /// Example: `{operator: Prefix, values: [/usr/bin/], followChildren: true}`.
    UnsupportedFilterOption = ("TPC028", "unsupported-filter-option", Error);

    /// A `macros` entry names a macro that `spec.selectorsMacros` does not define.
    ///
    /// What it does: resolves every macro reference.
    /// Why: Tetragon refuses the policy.
    /// Example: `macros: [privileged]` without `selectorsMacros: {privileged: ...}`.
    UnknownMacro = ("TPC030", "unknown-macro", Error);

    /// A `list:NAME` reference names a list that `spec.lists` does not define.
    ///
    /// What it does: resolves `list:` references in `call` and in filter values.
    /// Why: Tetragon refuses the policy.
    /// Example: `call: "list:syscals"` with a list named `syscalls`.
    UnknownList = ("TPC031", "unknown-list", Error);

    /// A list is used where its type does not fit.
    ///
    /// What it does: checks that `InMap`/`NotInMap` on a list of syscalls filters
    /// an argument of type `syscall64`, and that `call: list:...` names a
    /// list of functions or syscalls.
    /// Why: Tetragon refuses the policy; with the wrong type the ids never match.
    /// Example: `InMap` with `list:dups` on a `uint64` argument.
    ListTypeMismatch = ("TPC032", "list-type-mismatch", Error);

    /// A list definition is inconsistent.
    ///
    /// What it does: checks `spec.lists` entries: generated lists need a
    /// `pattern` and no `values`, plain lists need `values`, names are unique.
    /// Why: Tetragon refuses such lists.
    /// Example: `type: generated_ftrace` without a `pattern`.
    InvalidList = ("TPC033", "invalid-list", Error);

    /// A list or macro is defined but never used.
    ///
    /// What it does: reports `spec.lists` and `spec.selectorsMacros` entries that
    /// nothing refers to.
    /// Why: usually a typo in the reference, or dead configuration.
    /// Example: a list `dups` while the selector says `list:dup`.
    UnusedDefinition = ("TPC034", "unused-definition", Warning);

    /// A macro sets a filter kind that its selector (or another macro) sets too.
    ///
    /// What it does: reports `macros` whose bodies and the selector both set the
    /// same filter list, for example `matchArgs`.
    /// Why: Tetragon refuses the policy ("field is defined in multiple macros
    /// and/or policy selectors").
    /// Example: a selector with `matchArgs` using a macro that has `matchArgs`.
    MacroConflict = ("TPC035", "macro-conflict", Error);

    /// A macro whose definition uses other macros.
    ///
    /// What it does: reports `selectorsMacros` entries that themselves list
    /// `macros`.
    /// Why: Tetragon refuses the policy ("macro definition cannot use other
    /// macros").
    /// Example: `selectorsMacros: {a: {macros: [b]}}`.
    NestedMacro = ("TPC037", "nested-macro", Error);

    /// A `spec.options` entry Tetragon does not know or cannot parse.
    ///
    /// What it does: checks option names (`disable-kprobe-multi`,
    /// `disable-uprobe-multi`, `override-method`, `policy-mode`,
    /// `uprobe-heap-size`) and values.
    /// Why: a bad value fails the policy; an unknown name is ignored silently.
    /// Example: `{name: policy-mode, value: audit}`.
    InvalidOption = ("TPC036", "invalid-option", Error);

    /// `return`, `returnArg`, `returnArgAction` and `matchReturnArgs` disagree.
    ///
    /// What it does: checks that `returnArg` comes with `return: true`, that
    /// `matchReturnArgs`/`matchReturnActions` have a return value to look at,
    /// and that `returnArgAction` is `TrackSock` or `UntrackSock` (anything
    /// else is refused since Tetragon 1.7; a no-op warning with `--tetragon
    /// 1.6` and older).
    /// Why: without `return: true` Tetragon never collects the return value, so
    /// return filters never match.
    /// Example: `returnArg: {index: 0, type: int}` without `return: true`.
    ReturnMismatch = ("TPC040", "return-mismatch", Error);

    /// The same hook appears twice in one policy.
    ///
    /// What it does: reports a kprobe, tracepoint, LSM hook or uprobe symbol
    /// that the policy already hooks.
    /// Why: events are reported twice, or the second attach fails.
    /// Example: two kprobes on `security_file_open`.
    DuplicateHook = ("TPC041", "duplicate-hook", Error);

    /// A hook's target is malformed.
    ///
    /// What it does: checks call and hook names are plausible symbols, uprobe
    /// paths are absolute and name at least one symbol, offset or address,
    /// tracepoints name a subsystem and an event.
    /// Why: such hooks fail to attach.
    /// Example: `path: usr/bin/bash` (relative).
    InvalidHookTarget = ("TPC042", "invalid-hook-target", Error);

    /// A policy with hooks of more than one kind.
    ///
    /// What it does: reports a policy that sets more than one of `kprobes`,
    /// `tracepoints`, `lsmhooks`, `uprobes` and `usdts`.
    /// Why: Tetragon loads one kind of hook per policy and refuses the rest.
    /// Example: `kprobes` and `tracepoints` in one spec; split into two policies.
    MixedHookSections = ("TPC043", "mixed-hook-sections", Error);

    /// An `enforcers` section Tetragon refuses.
    ///
    /// What it does: checks there is at most one enforcer and that its calls are
    /// syscalls or `security_*` functions, and that `NotifyEnforcer` has one.
    /// Why: the enforcer sensor fails to load.
    /// Example: `enforcers: [{calls: [fd_install]}]`.
    InvalidEnforcer = ("TPC044", "invalid-enforcer", Error);

    /// An action is missing an argument it needs.
    ///
    /// What it does: checks `Override` has `argError` (or, on uprobes, one of the
    /// override targets), `Signal` has `argSig`, `GetUrl` has `argUrl`,
    /// `DnsLookup` has `argFqdn`, `TrackSock`/`UntrackSock` have `argSock`,
    /// `Set` has `argIndex` and `argValue`, and so on.
    /// Why: Tetragon refuses the action or silently uses 0.
    /// Example: `action: Signal` without `argSig`.
    ActionMissingArgument = ("TPC050", "action-missing-argument", Error);

    /// An action that the hook kind cannot perform.
    ///
    /// What it does: checks actions against the hook kind: LSM hooks take only
    /// `Post`, `NoPost`, `Sigkill`, `Signal` and `Override` (errors), fentries
    /// no enforcement (errors); `Override` on tracepoints, `Set` outside USDTs,
    /// socket tracking outside kprobes are warnings (they load and never run);
    /// `GetUrl`/`DnsLookup` on uprobes and USDTs are errors on Tetragon's main
    /// branch, warnings up to 1.7.
    /// Why: the policy fails to load, or the action never runs.
    /// Example: `Override` on a tracepoint.
    ActionNotSupported = ("TPC051", "action-not-supported", Error);

    /// An action argument that this action ignores.
    ///
    /// What it does: reports arguments given to an action that does not read
    /// them (for example `argSig` on `Sigkill`, `rateLimit` on `Sigkill`).
    /// Why: the author probably meant another action.
    /// Example: `{action: Post, argError: -1}`.
    ActionArgumentIgnored = ("TPC052", "action-argument-ignored", Warning);

    /// A `rateLimit` or `rateLimitScope` that Tetragon cannot parse.
    ///
    /// What it does: parses `rateLimit` as a number with an optional `s`, `m` or
    /// `h` suffix and checks the scope is `thread`, `process` or `global`.
    /// Why: Tetragon refuses the policy.
    /// Example: `rateLimit: "1 minute"`.
    InvalidRateLimit = ("TPC053", "invalid-rate-limit", Error);

    /// Actions in one selector that contradict each other.
    ///
    /// What it does: reports `Post` together with `NoPost`, or repeated actions.
    /// Why: the result depends on an order the author did not intend.
    /// Example: `matchActions: [{action: Post}, {action: NoPost}]`.
    ConflictingActions = ("TPC054", "conflicting-actions", Warning);

    /// `Override` on a function that Tetragon does not let BPF override.
    ///
    /// What it does: reports `Override` on a kprobe that is neither a syscall
    /// nor a `security_*` function, the only functions Tetragon overrides
    /// (syscalls through `bpf_override_return`, `security_*` through fmod_ret).
    /// Why: Tetragon refuses the policy ("override action can be used only
    /// with syscalls and security_ hooks").
    /// Example: `Override` on `fd_install`.
    OverrideTarget = ("TPC055", "override-target", Error);

    /// More selectors on one hook than Tetragon supports.
    ///
    /// What it does: reports a sixth selector (Tetragon runs one tail call per
    /// selector and has five).
    /// Why: the CRD schema lets it through; the agent refuses the policy.
    /// Example: six entries under `selectors`.
    TooManySelectors = ("TPC060", "too-many-selectors", Error);

    /// More values in one filter than Tetragon supports.
    ///
    /// What it does: checks value counts: numeric `matchArgs` values (4),
    /// `matchNamespaces` values (4), `matchPIDs` values (4, silently clamped by
    /// the BPF side), `SubString` values (100).
    /// Why: extra values are refused or silently ignored.
    /// Example: five PIDs in one `matchPIDs` entry.
    TooManyValues = ("TPC061", "too-many-values", Error);

    /// A string value longer than Tetragon can match.
    ///
    /// What it does: checks string lengths per operator: `Equal` ≤ 4096 bytes
    /// (510 on 5.4–5.10, 144 below 5.4), `Prefix` ≤ 256, `Postfix` ≤ 127,
    /// `SubString` < 100, binary paths ≤ 255.
    /// Why: longer values are refused, or match only on newer kernels.
    /// Example: a 300-character `Prefix`.
    StringTooLong = ("TPC062", "string-too-long", Error);

    /// More filters in one selector than Tetragon supports.
    ///
    /// What it does: checks `matchArgs` + `matchData` (5 per selector on kernels
    /// ≥ 5.3, 1 before), `matchNamespaces` (10 on ≥ 5.3, 4 before),
    /// `matchNamespaceChanges` (1), `matchBinaries`/`matchParentBinaries` (1),
    /// `CelExpr` filters (8 per policy); warns about more than one
    /// `matchPIDs`, `matchCapabilities` or `matchCapabilityChanges` entry, of
    /// which the BPF programs evaluate only the first.
    /// Why: the agent refuses the policy, or ignores the extra entries.
    /// Example: six `matchArgs` entries in one selector.
    TooManyFilters = ("TPC063", "too-many-filters", Error);

    /// More actions in one selector than Tetragon supports.
    ///
    /// What it does: reports a fourth entry in `matchActions`.
    /// Why: the agent refuses the policy.
    /// Example: four actions in one selector.
    TooManyActions = ("TPC064", "too-many-actions", Error);

    /// More arguments on one hook than Tetragon collects.
    ///
    /// What it does: reports a sixth `args` entry.
    /// Why: Tetragon collects at most five arguments per hook.
    /// Example: six entries under `args`.
    TooManyArgs = ("TPC065", "too-many-args", Error);

    /// Too many tags, a tag Tetragon refuses, or one it will truncate.
    ///
    /// What it does: checks at most 16 tags and tags of at least 2 bytes
    /// (errors), and warns on tags over 128 bytes.
    /// Why: extra and one-byte tags are refused; long tags are cut silently.
    /// Example: a 200-character tag.
    TagLimit = ("TPC066", "tag-limit", Warning);

    /// A `message` Tetragon refuses (one byte long) or truncates (over 256 bytes).
    ///
    /// What it does: reports a one-byte `message` (an error) and warns on
    /// messages over 256 bytes.
    /// Why: Tetragon refuses a one-byte message ("message field is too short")
    /// and cuts longer ones, with only a log line.
    /// Example: a 300-character message.
    MessageTooLong = ("TPC067", "message-too-long", Error);

    /// Something a `TracingPolicyNamespaced` may not contain.
    ///
    /// What it does: reports a namespaced policy without a
    /// `metadata.namespace` (`kubectl apply -n` fills it in, the agent reading
    /// a file refuses it), and warns about a `hostSelector` in a namespaced
    /// policy, which Tetragon overrides to null.
    /// Why: the agent rejects the policy, or silently ignores the setting.
    /// Example: `hostSelector: {}` in a `TracingPolicyNamespaced`.
    NamespacedRestriction = ("TPC070", "namespaced-restriction", Error);

    /// A Kubernetes label selector that the API server or Tetragon refuses,
    /// or that selects on a field Tetragon does not fill.
    ///
    /// What it does: checks `podSelector`, `containerSelector`, `nodeSelector`,
    /// `hostSelector` and `matchWorkloads` selectors: `In`/`NotIn` need
    /// values, `Exists`/`DoesNotExist` take none, `hostSelector` may only be
    /// `null` or `{}`, and `containerSelector` only knows the `name` (and,
    /// per the docs, `repo`) keys.
    /// Why: the API server rejects malformed selectors; a selector on an
    /// unknown container field never matches.
    /// Example: `hostSelector: {matchLabels: {role: node}}`.
    InvalidLabelSelector = ("TPC071", "invalid-label-selector", Error);

    /// A selector that can never be reached or never match.
    ///
    /// What it does: reports selectors that come after a selector with no
    /// filters (which matches every event, so later selectors never run), and
    /// filters whose values contradict each other.
    /// Why: selectors are a first-match OR; an unreachable selector's actions
    /// never run.
    /// Example: `selectors: [{matchActions: [{action: Post}]}, {matchArgs: ...}]`.
    UnreachableSelector = ("TPC080", "unreachable-selector", Warning);

    /// A construct that is valid but behaves differently from what it suggests.
    ///
    /// What it does: explains surprising but legal semantics, for example
    /// `NotEqual` with several values (true only when the argument differs from
    /// all of them), or `followForks` without `matchPIDs`.
    /// Why: these are behind many "my filter does not work" reports.
    /// Example: `matchBinaries NotIn` combined with `followChildren`.
    SurprisingSemantics = ("TPC081", "surprising-semantics", Note);

    /// A field Tetragon documents as deprecated or as having no effect.
    ///
    /// What it does: flags deprecated spellings and options.
    /// Why: they may stop working in a later release.
    /// Example: `operator: GreaterThan` (prefer `GT`).
    Deprecated = ("TPC082", "deprecated", Note);

    /// A hook that runs on every system call of the node.
    ///
    /// What it does: on `raw_syscalls/sys_enter` and `raw_syscalls/sys_exit`,
    /// warns when every system call would be posted (no selectors, or a
    /// selector without filters that posts without `rateLimit`), and notes
    /// when the selectors only keep some syscall ids, which kprobes on those
    /// syscalls do without running on every other one.
    /// Why: the BPF program runs on every system call of every process; a
    /// user measured 400% CPU for a `sys_exit` hook that kept three syscalls
    /// (cilium/tetragon#3428).
    /// Example: `tracepoints: [{subsystem: raw_syscalls, event: sys_enter}]`
    /// without selectors.
    CostlyHook = ("TPC083", "costly-hook", Warning);

    /// A policy or file could not be read.
    ///
    /// What it does: reports I/O errors and files that are not UTF-8.
    /// Why: nothing in them can be checked.
    /// Example: a path that does not exist.
    Io = ("TPC090", "io", Error);

    /// The called kernel function does not exist on this kernel.
    ///
    /// What it does: looks the kprobe/fentry `call` up among the kernel's BTF
    /// functions, per kernel.
    /// Why: the hook fails to attach (or is skipped with
    /// `ignore: {callNotFound: true}`, which turns this into a note).
    /// Example: `call: tcp_sendpage` on 6.5+, where it was removed.
    CallNotFound = ("TPC100", "call-not-found", Error);

    /// `syscall: true` on a function that is not a syscall, or the reverse.
    ///
    /// What it does: resolves syscall names to the architecture's wrapper
    /// (`__x64_sys_*`, `__arm64_sys_*`) and reports mismatches.
    /// Why: Tetragon attaches to the wrong symbol or reads the wrong registers.
    /// Example: `call: vfs_llseek` with `syscall: true`.
    SyscallMismatch = ("TPC101", "syscall-mismatch", Error);

    /// An argument index beyond the function's parameters.
    ///
    /// What it does: compares each `args[].index` with the prototype in BTF.
    /// Why: Tetragon reads a register that holds garbage.
    /// Example: `index: 100` on `vfs_llseek`, which has 3 parameters.
    ArgIndexOutOfRange = ("TPC102", "arg-index-out-of-range", Error);

    /// An argument's declared type does not fit the kernel parameter's type.
    ///
    /// What it does: compares each `args[].type` with the BTF type of the
    /// parameter and says what the kernel has.
    /// Why: Tetragon only logs a warning and loads the hook
    /// (`pkg/btf/validation.go`), then reads the value as the declared type:
    /// a scalar type on a pointer reads the pointer's bits, a struct type
    /// reads the wrong memory, so events and filters do not see what the
    /// author meant. A warning, so `--deny-warnings` makes it fail.
    /// Example: `type: string` on a `struct file *` parameter.
    ArgTypeMismatch = ("TPC103", "arg-type-mismatch", Warning);

    /// `returnArg`'s type does not fit the function's return type.
    ///
    /// What it does: compares `returnArg.type` with the BTF return type.
    /// Why: the collected value is meaningless; Tetragon only logs a
    /// warning and loads the hook, so this is a warning.
    /// Example: `returnArg: {type: file}` on a function returning `int`.
    ReturnTypeMismatch = ("TPC104", "return-type-mismatch", Warning);

    /// A `btfType`/`resolve` path walks a struct member that does not exist.
    ///
    /// What it does: walks the path through the kernel's structs and names the
    /// first member that is not there. A `btfType` missing from vmlinux is a
    /// warning when `btfTypeModule` names the module Tetragon looks it up in
    /// (tpc reads no module BTF).
    /// Why: Tetragon refuses the policy on that kernel.
    /// Example: `resolve: "f_path.dentry.d_nam.name"`.
    ResolvePath = ("TPC105", "resolve-path", Error);

    /// The LSM hook does not exist on this kernel.
    ///
    /// What it does: looks for `bpf_lsm_<hook>` in the kernel's BTF.
    /// Why: the hook cannot attach.
    /// Example: `hook: file_opn`.
    LsmHookNotFound = ("TPC106", "lsm-hook-not-found", Error);

    /// The tracepoint does not exist, or an argument index is not one of its fields.
    ///
    /// What it does: looks the tracepoint up in the kernel's tracefs `format`
    /// files (or BTF when there are none) and maps each `args[].index` to a field.
    /// Why: the hook cannot attach, or reads the wrong field.
    /// Example: `index: 9` on `syscalls/sys_enter_openat`.
    TracepointNotFound = ("TPC107", "tracepoint-not-found", Error);

    /// A uprobe binary or symbol could not be verified.
    ///
    /// What it does: checks the binary exists and exports the symbols; a missing
    /// binary is a warning (it may exist only on the node).
    /// Why: the uprobe fails to attach.
    /// Example: `symbols: [readline]` on a binary without that symbol.
    UprobeTarget = ("TPC108", "uprobe-target", Warning);

    /// The kernel BTF could not be read.
    ///
    /// What it does: reports unreadable or malformed BTF input.
    /// Why: no kernel check can run without it.
    /// Example: `--btf` pointing at a file that is not BTF.
    BtfUnavailable = ("TPC109", "btf-unavailable", Error);

    /// A part of a policy that tpc's kernel programs do not run yet.
    ///
    /// What it does: `tpc build` reports hook kinds, argument types, filters
    /// and actions that the back end cannot lower to its kernel programs
    /// (tracepoints and raw tracepoints run today; kprobes, uprobes, LSM and
    /// fentry hooks, and actions such as Override, come with later back-end
    /// work). As a warning: a part that is lowered without an effect
    /// (stack traces are not collected).
    /// Why: a bundle must do in the kernel exactly what the policy says, or
    /// not be built.
    /// Example: `tpc build` on a policy with `kprobes:`.
    NotLowered = ("TPC200", "not-lowered", Error);

    /// A value, a count or a size that does not fit the kernel tables.
    ///
    /// What it does: checks string lengths against the key sizes of the
    /// kernel's prefix tries and string sets, value counts against the
    /// inline value slots of a filter (8 values, 4 ranges), the number of
    /// filters, selectors and arguments of a hook, and the members an `InMap`
    /// range expands to (65,536).
    /// Why: a value the kernel cannot hold would be cut, and the filter would
    /// decide differently from the policy.
    /// Example: a `Prefix` value of 253 bytes (a prefix trie key holds 252).
    KernelTableLimit = ("TPC201", "kernel-table-limit", Error);

    /// The tracepoint's record layout is needed to build and is not known.
    ///
    /// What it does: `tpc build` reads the target kernel's tracepoint format
    /// (tracefs, or what `--kernel`/`--btf` provides) to place each field and
    /// to decide `type: auto`; it reports a missing format or field.
    /// Why: the kernel program must read the right bytes.
    /// Example: `tpc build --btf vmlinux` on a kernel whose BTF does not
    /// describe the syscall tracepoints.
    TracepointLayoutUnknown = ("TPC202", "tracepoint-layout-unknown", Error);

    /// A policy that applies to no process on a host without Kubernetes.
    ///
    /// What it does: warns when a policy is scoped by `podSelector`,
    /// `containerSelector`, or is a `TracingPolicyNamespaced`: `tpc run` on a
    /// plain host loads it, but no process is in a selected workload unless
    /// cgroups are bound to it (`tpc run --cgroup NAME=PATH`).
    /// Why: a policy that is loaded but never fires looks like a working one.
    /// Example: `spec.podSelector: {matchLabels: {app: web}}`.
    InactiveOnHost = ("TPC203", "inactive-on-host", Warning);

    /// A `TracingPolicyBinding` names a template that no input defines.
    ///
    /// What it does: looks `spec.templateRef.name` up among the
    /// `TracingPolicyTemplate` documents of every input (files and
    /// folders given together), and reports two templates with one name.
    /// Why: a binding without its template enforces nothing.
    /// Example: `templateRef: {name: block-exec}` with no template called
    /// `block-exec` among the inputs.
    UnknownTemplate = ("TPC300", "unknown-template", Error);

    /// A variable that the template does not declare.
    ///
    /// What it does: reports a binding value for a name missing from the
    /// template's `spec.variables`, and a filter's `valuesFromVariable`
    /// naming an undeclared variable.
    /// Why: the value would feed no filter, or the filter no value.
    /// Example: `bindings: [{name: paths, ...}]` where the template declares
    /// `allowedPaths`.
    UnknownVariable = ("TPC301", "unknown-variable", Error);

    /// A template variable that the binding gives no value.
    ///
    /// What it does: every variable in the template's `spec.variables` must
    /// have an entry in the binding's `bindings` with at least one value.
    /// Why: a filter without values decides nothing the author meant.
    /// Example: a template with variables `paths` and `uids`, and a binding
    /// that sets only `paths`.
    MissingVariableValue = ("TPC302", "missing-variable-value", Error);

    /// A binding value that is not valid for the filter its variable feeds.
    ///
    /// What it does: every binding value is read as the filter fed by its
    /// variable reads it (its operator and the argument's type), with the
    /// same rules as a policy's own values.
    /// Why: a value the agent cannot parse makes the binding fail to load.
    /// Example: `values: ["abc"]` for a variable used by an `Equal` on an
    /// `int` argument.
    BindingValueType = ("TPC303", "binding-value-type", Error);

    /// A variable whose declared type differs from the filter it feeds.
    ///
    /// What it does: compares a variable's `type` with the type of the
    /// argument of each `matchArgs`/`matchData`/`matchReturnArgs` filter
    /// that uses it (`string` for `matchBinaries`); also reports a filter
    /// with both `values` and `valuesFromVariable`.
    /// Why: the type says which values a binding may give; a wrong one
    /// misleads every binding's author.
    /// Example: `variables: [{name: fds, type: string}]` used by a filter on
    /// an `int` argument.
    VariableTypeMismatch = ("TPC304", "variable-type-mismatch", Error);

    /// Two bindings of one template apply to the same workload and no
    /// override decides between them.
    ///
    /// What it does: two bindings of a template whose workloads share a
    /// process (the same cgroup, nested cgroups, no selector at all, or the
    /// same pod/container selectors) conflict unless both set
    /// `overrideAllowed: true` with different `overridePriority`. As
    /// CFP-4191 says, every binding involved is rolled back.
    /// Why: which values apply to a workload must not depend on the order
    /// bindings were applied in.
    /// Example: bindings `web-a` and `web-b` of template `block-exec`, both
    /// with `cgroups: [system.slice/web.service]` and no override.
    BindingConflict = ("TPC305", "binding-conflict", Error);

    /// A binding overrides another on a shared workload.
    ///
    /// What it does: when two overlapping bindings both allow an override,
    /// the one with the higher `overridePriority` applies to the shared
    /// workload; this note says which one.
    /// Why: an override is legal but easy to miss in a long list.
    /// Example: `web-default` (priority 0) on every process and `web-strict`
    /// (priority 10) on `system.slice`.
    BindingOverride = ("TPC306", "binding-override", Note);

    /// An override that tpc's kernel tables cannot express.
    ///
    /// What it does: refuses an override where the winning binding's
    /// cgroup lies inside the losing binding's cgroup (or the loser applies
    /// everywhere): tpc scopes a binding to a cgroup and all its
    /// descendants, with no exception for a nested cgroup.
    /// Why: the loser would still apply inside the winner's cgroup.
    /// Example: `default` (priority 0, no selector) and `strict` (priority
    /// 10, `cgroups: [system.slice/web.service]`).
    UnsupportedOverride = ("TPC307", "unsupported-override", Error);

    /// A RuntimeSecurityPolicy Block rule that selects no executable, or every one.
    ///
    /// What it does: reports a Block rule under an empty
    /// `executableSelector.matchPaths` (or a `matchPaths` entry without
    /// values), and an Execution rule with Block but no `matchPaths` at all.
    /// Why: an empty selector list reads as "nothing selected" to a person
    /// and as "everything" (or, in Tetragon, nothing at all, PR #4022) to a
    /// program; a Block must never silently turn into an audit or into
    /// blocking every program on the node.
    /// Example: `matchPaths: []` with `action: Block`.
    RspEmptyBlock = ("TPC310", "rsp-empty-block", Error);

    /// A RuntimeSecurityPolicy network address is not a CIDR.
    ///
    /// What it does: parses each `network.cidrs` value as an IPv4 or IPv6
    /// address with an optional prefix length.
    /// Why: a value that does not parse would match nothing.
    /// Example: `cidrs: ["10.0.0.0/33"]`.
    RspInvalidCidr = ("TPC311", "rsp-invalid-cidr", Error);

    /// A RuntimeSecurityPolicy port or port range does not parse.
    ///
    /// What it does: reads each `network.ports` value as a port (0-65535) or
    /// a range `LOW-HIGH` with LOW <= HIGH.
    /// Why: a value that does not parse would match nothing.
    /// Example: `ports: ["8100-8000"]`.
    RspInvalidPort = ("TPC312", "rsp-invalid-port", Error);

    /// A RuntimeSecurityPolicy rule lacks its settings or has another rule type's.
    ///
    /// What it does: requires `file:` (with `paths` or `prefixes`) on File
    /// rules and `network:` on Network rules, refuses settings of another
    /// type, and refuses more than one `matchPaths` entry on File and Network
    /// rules (they become one `matchBinaries`, which takes one entry).
    /// Why: a setting the rule type does not read would be ignored silently.
    /// Example: `type: File` with `network:`.
    RspRuleSettings = ("TPC313", "rsp-rule-settings", Error);

    /// A RuntimeSecurityPolicy setting the chosen hooks cannot see.
    ///
    /// What it does: reports settings that the hooks of the chosen block
    /// strategy do not receive, such as `protocol` on syscall hooks (a
    /// `connect(2)` or `bind(2)` call carries no protocol; the LSM hooks get
    /// the socket), or addresses and ports on `accept` there (accept(2)
    /// runs before the connection's addresses are known).
    /// Why: the rule would match more than it says.
    /// Example: `protocol: TCP` converted with `--rsp-strategy tracepoint`.
    RspNotExpressible = ("TPC314", "rsp-not-expressible", Error);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert!(seen.insert(c.name()), "duplicate name {}", c.name());
            let doc = c.documentation();
            assert!(
                doc.contains("What it does"),
                "{} lacks What it does",
                c.as_str()
            );
            assert!(doc.contains("Why"), "{} lacks Why", c.as_str());
            assert!(doc.contains("Example"), "{} lacks Example", c.as_str());
        }
    }

    #[test]
    fn parse_accepts_code_number_and_name() {
        assert_eq!(Code::parse("TPC003"), Some(Code::UnknownField));
        assert_eq!(Code::parse("tpc3"), Some(Code::UnknownField));
        assert_eq!(Code::parse("unknown-field"), Some(Code::UnknownField));
        assert_eq!(Code::parse("TPC999"), None);
    }
}
