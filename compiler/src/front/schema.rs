//! The policy schema: every object of the `TracingPolicy` and
//! `TracingPolicyNamespaced` CRDs (`cilium.io/v1alpha1`) as static data. The
//! validator in [`super::validate`] walks the spanned YAML tree against it;
//! a test compares it field by field with the CRD files in `../shared`.

/// The allowed names of an enumerated string field.
#[derive(Debug)]
pub struct EnumSpec {
    /// What the values are called in messages ("operator", "action").
    pub what: &'static str,
    /// The spellings the CRD schema allows.
    pub values: &'static [&'static str],
    /// The agent compares case-insensitively (the CRD does not).
    pub agent_ignores_case: bool,
    /// Spellings the agent accepts that the CRD enum lacks (older names).
    pub agent_extra: &'static [&'static str],
}

impl EnumSpec {
    /// Is `text` a valid CRD spelling?
    pub fn allows(&self, text: &str) -> bool {
        self.values.contains(&text)
    }

    /// The CRD spelling the agent would take `text` for, when the agent
    /// accepts it but the CRD does not.
    pub fn agent_spelling(&self, text: &str) -> Option<&'static str> {
        if self.agent_ignores_case {
            if let Some(v) = self.values.iter().find(|v| v.eq_ignore_ascii_case(text)) {
                return Some(v);
            }
        }
        self.agent_extra
            .iter()
            .find(|v| **v == text || (self.agent_ignores_case && v.eq_ignore_ascii_case(text)))
            .copied()
    }
}

/// What a value must look like.
#[derive(Debug)]
pub enum Shape {
    /// Any scalar, read as text (the agent converts plain numbers and
    /// booleans to text for string fields; the API server refuses them:
    /// see `agent_yaml`).
    Str,
    Enum(&'static EnumSpec),
    /// An integer (plain scalar). `bits` is 32 or 64.
    Int {
        min: Option<i64>,
        bits: u8,
    },
    Bool,
    List {
        item: &'static Shape,
        max_items: Option<usize>,
    },
    Object(&'static ObjectSchema),
    /// A map of text to text (labels, annotations).
    StringMap,
    /// Any single value, numbers included, without the unquoted-number
    /// finding (`RuntimeSecurityPolicy` ports: `443` and `"8000-8100"`).
    Scalar,
    /// A map from a user-chosen name to a value of the given shape.
    NamedMap(&'static Shape),
}

/// One field of an object.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    /// The CRD lists it as required.
    pub required: bool,
    /// The CRD's default, applied before required fields are checked (so a
    /// required field with a default may be left out).
    pub default: Option<&'static str>,
}

/// An object type of the schema.
#[derive(Debug)]
pub struct ObjectSchema {
    /// What such an object is called in messages ("kprobe", "selector").
    pub what: &'static str,
    /// Where it appears, for "belongs in" help ("spec.kprobes[]").
    pub place: &'static str,
    pub fields: &'static [Field],
}

impl ObjectSchema {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        // `fields` is 'static, so the returned reference is too.
        let fields: &'static [Field] = self.fields;
        fields.iter().find(|f| f.name == name)
    }
}

pub(crate) const fn f(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: false,
        default: None,
    }
}

pub(crate) const fn req(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: true,
        default: None,
    }
}

/// A required field with a CRD default.
pub(crate) const fn req_default(name: &'static str, shape: Shape, default: &'static str) -> Field {
    Field {
        name,
        shape,
        required: true,
        default: Some(default),
    }
}

const INT32: Shape = Shape::Int {
    min: None,
    bits: 32,
};
const UINT32: Shape = Shape::Int {
    min: Some(0),
    bits: 32,
};
const INT64: Shape = Shape::Int {
    min: None,
    bits: 64,
};

pub(crate) const fn list(item: &'static Shape) -> Shape {
    Shape::List {
        item,
        max_items: None,
    }
}

pub static API_VERSION: &str = "cilium.io/v1alpha1";
pub static KIND_CLUSTER: &str = "TracingPolicy";
pub static KIND_NAMESPACED: &str = "TracingPolicyNamespaced";

pub static ARG_TYPES: EnumSpec = EnumSpec {
    what: "argument type",
    values: &[
        "auto",
        "int",
        "sint8",
        "int8",
        "uint8",
        "sint16",
        "int16",
        "uint16",
        "uint32",
        "sint32",
        "int32",
        "ulong",
        "uint64",
        "size_t",
        "long",
        "sint64",
        "int64",
        "char_buf",
        "char_iovec",
        "skb",
        "sock",
        "sockaddr",
        "socket",
        "sockaddr_un",
        "string",
        "fd",
        "file",
        "filename",
        "path",
        "nop",
        "bpf_attr",
        "perf_event",
        "bpf_map",
        "user_namespace",
        "capability",
        "kiocb",
        "iov_iter",
        "cred",
        "const_buf",
        "load_info",
        "module",
        "syscall64",
        "kernel_cap_t",
        "cap_inheritable",
        "cap_permitted",
        "cap_effective",
        "linux_binprm",
        "data_loc",
        "net_device",
        "bpf_cmd",
        "dentry",
        "bpf_prog",
    ],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static ARG_OPERATORS: EnumSpec = EnumSpec {
    what: "operator",
    values: &[
        "Equal",
        "NotEqual",
        "Prefix",
        "NotPrefix",
        "Postfix",
        "NotPostfix",
        "GreaterThan",
        "LessThan",
        "GT",
        "LT",
        "Mask",
        "SPort",
        "NotSPort",
        "SPortPriv",
        "NotSportPriv",
        "DPort",
        "NotDPort",
        "DPortPriv",
        "NotDPortPriv",
        "SAddr",
        "NotSAddr",
        "DAddr",
        "NotDAddr",
        "Protocol",
        "Family",
        "State",
        "InMap",
        "NotInMap",
        "CapabilitiesGained",
        "InRange",
        "NotInRange",
        "SubString",
        "SubStringIgnCase",
        "CelExpr",
        "FileType",
        "NotFileType",
    ],
    agent_ignores_case: false,
    agent_extra: &[],
};

/// File-descriptor tracking actions: in the CRD's enum up to Tetragon 1.7,
/// removed on its main branch (`check::removed_fd_actions` decides by
/// `--tetragon`).
pub const FD_ACTIONS: [&str; 3] = ["FollowFD", "UnfollowFD", "CopyFD"];

pub static ACTIONS: EnumSpec = EnumSpec {
    what: "action",
    values: &[
        "Post",
        "Sigkill",
        "Override",
        "GetUrl",
        "DnsLookup",
        "NoPost",
        "Signal",
        "TrackSock",
        "UntrackSock",
        "NotifyEnforcer",
        "CleanupEnforcerNotification",
        "Set",
    ],
    agent_ignores_case: true,
    agent_extra: &FD_ACTIONS,
};

pub static BINARY_OPERATORS: EnumSpec = EnumSpec {
    what: "binary operator",
    values: &[
        "In",
        "NotIn",
        "Prefix",
        "NotPrefix",
        "Postfix",
        "NotPostfix",
    ],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static SET_OPERATORS: EnumSpec = EnumSpec {
    what: "operator",
    values: &["In", "NotIn"],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static NAMESPACES: EnumSpec = EnumSpec {
    what: "namespace",
    values: &[
        "Uts",
        "Ipc",
        "Mnt",
        "Pid",
        "PidForChildren",
        "Net",
        "Time",
        "TimeForChildren",
        "Cgroup",
        "User",
    ],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static CAPABILITY_TYPES: EnumSpec = EnumSpec {
    what: "capability type",
    values: &["Effective", "Inheritable", "Permitted"],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static LABEL_OPERATORS: EnumSpec = EnumSpec {
    what: "label selector operator",
    values: &["In", "NotIn", "Exists", "DoesNotExist"],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static LIST_TYPES: EnumSpec = EnumSpec {
    what: "list type",
    values: &["syscalls", "generated_syscalls", "generated_ftrace"],
    agent_ignores_case: true,
    agent_extra: &[],
};

pub static LABEL_REQUIREMENT: ObjectSchema = ObjectSchema {
    what: "label requirement",
    place: "matchExpressions[]",
    fields: &[
        req("key", Shape::Str),
        req("operator", Shape::Enum(&LABEL_OPERATORS)),
        f("values", list(&Shape::Str)),
    ],
};

pub static LABEL_SELECTOR: ObjectSchema = ObjectSchema {
    what: "label selector",
    place: "podSelector / containerSelector / hostSelector",
    fields: &[
        f("matchExpressions", list(&Shape::Object(&LABEL_REQUIREMENT))),
        f("matchLabels", Shape::StringMap),
    ],
};

pub static ARG: ObjectSchema = ObjectSchema {
    what: "argument",
    place: "args[] / data[] / returnArg",
    fields: &[
        f("btfType", Shape::Str),
        f("btfTypeModule", Shape::Str),
        req("index", UINT32),
        f("label", Shape::Str),
        f("maxData", Shape::Bool),
        f("resolve", Shape::Str),
        f("returnCopy", Shape::Bool),
        f("sizeArgIndex", UINT32),
        f("source", Shape::Str),
        req_default("type", Shape::Enum(&ARG_TYPES), "auto"),
    ],
};

pub static ARG_FILTER: ObjectSchema = ObjectSchema {
    what: "argument filter",
    place: "selectors[].matchArgs[] / matchData[] / matchReturnArgs[]",
    fields: &[
        f("args", list(&UINT32)),
        f("index", UINT32),
        req("operator", Shape::Enum(&ARG_OPERATORS)),
        f("values", list(&Shape::Str)),
    ],
};

pub static ACTION: ObjectSchema = ObjectSchema {
    what: "action",
    place: "selectors[].matchActions[] / matchReturnActions[]",
    fields: &[
        req("action", Shape::Enum(&ACTIONS)),
        f("argError", INT32),
        f("argFqdn", Shape::Str),
        f("argIndex", INT32),
        f("argNewAddr", INT64),
        f("argNewOffset", INT64),
        f("argNewSymbol", Shape::Str),
        f("argRegs", list(&Shape::Str)),
        f("argSig", INT32),
        f("argSock", INT32),
        f("argUrl", Shape::Str),
        f("argValue", INT32),
        f("imaHash", Shape::Bool),
        f("kernelStackTrace", Shape::Bool),
        f("rateLimit", Shape::Str),
        f("rateLimitScope", Shape::Str),
        f("userStackTrace", Shape::Bool),
    ],
};

pub static BINARY_FILTER: ObjectSchema = ObjectSchema {
    what: "binary filter",
    place: "selectors[].matchBinaries[] / matchParentBinaries[]",
    fields: &[
        f("followChildren", Shape::Bool),
        req("operator", Shape::Enum(&BINARY_OPERATORS)),
        req("values", list(&Shape::Str)),
    ],
};

pub static CAPABILITY_FILTER: ObjectSchema = ObjectSchema {
    what: "capability filter",
    place: "selectors[].matchCapabilities[] / matchCapabilityChanges[]",
    fields: &[
        f("isNamespaceCapability", Shape::Bool),
        req("operator", Shape::Enum(&SET_OPERATORS)),
        f("type", Shape::Enum(&CAPABILITY_TYPES)),
        req("values", list(&Shape::Str)),
    ],
};

pub static NAMESPACE_CHANGE_FILTER: ObjectSchema = ObjectSchema {
    what: "namespace change filter",
    place: "selectors[].matchNamespaceChanges[]",
    fields: &[
        req("operator", Shape::Enum(&SET_OPERATORS)),
        req("values", list(&Shape::Str)),
    ],
};

pub static NAMESPACE_FILTER: ObjectSchema = ObjectSchema {
    what: "namespace filter",
    place: "selectors[].matchNamespaces[]",
    fields: &[
        req("namespace", Shape::Enum(&NAMESPACES)),
        req("operator", Shape::Enum(&SET_OPERATORS)),
        req("values", list(&Shape::Str)),
    ],
};

pub static PID_FILTER: ObjectSchema = ObjectSchema {
    what: "PID filter",
    place: "selectors[].matchPIDs[]",
    fields: &[
        f("followForks", Shape::Bool),
        f("isNamespacePID", Shape::Bool),
        req("operator", Shape::Enum(&SET_OPERATORS)),
        req("values", list(&INT32)),
    ],
};

pub static WORKLOADS: ObjectSchema = ObjectSchema {
    what: "workload filter",
    place: "selectors[].matchWorkloads",
    fields: &[
        f("containerSelector", Shape::Object(&LABEL_SELECTOR)),
        f("hostSelector", Shape::Object(&LABEL_SELECTOR)),
        f("podSelector", Shape::Object(&LABEL_SELECTOR)),
    ],
};

pub static SELECTOR: ObjectSchema = ObjectSchema {
    what: "selector",
    place: "selectors[]",
    fields: &[
        f("label", Shape::Str),
        f("macros", list(&Shape::Str)),
        f("matchActions", list(&Shape::Object(&ACTION))),
        f("matchArgs", list(&Shape::Object(&ARG_FILTER))),
        f(
            "matchBinaries",
            Shape::List {
                item: &Shape::Object(&BINARY_FILTER),
                max_items: Some(1),
            },
        ),
        f(
            "matchCapabilities",
            list(&Shape::Object(&CAPABILITY_FILTER)),
        ),
        f(
            "matchCapabilityChanges",
            list(&Shape::Object(&CAPABILITY_FILTER)),
        ),
        f("matchData", list(&Shape::Object(&ARG_FILTER))),
        f(
            "matchNamespaceChanges",
            list(&Shape::Object(&NAMESPACE_CHANGE_FILTER)),
        ),
        f("matchNamespaces", list(&Shape::Object(&NAMESPACE_FILTER))),
        f("matchPIDs", list(&Shape::Object(&PID_FILTER))),
        f(
            "matchParentBinaries",
            Shape::List {
                item: &Shape::Object(&BINARY_FILTER),
                max_items: Some(1),
            },
        ),
        f("matchReturnActions", list(&Shape::Object(&ACTION))),
        f("matchReturnArgs", list(&Shape::Object(&ARG_FILTER))),
        f("matchWorkloads", Shape::Object(&WORKLOADS)),
    ],
};

const TAGS: Shape = Shape::List {
    item: &Shape::Str,
    max_items: Some(16),
};

pub static KPROBE_IGNORE: ObjectSchema = ObjectSchema {
    what: "ignore setting",
    place: "spec.kprobes[].ignore",
    fields: &[f("callNotFound", Shape::Bool)],
};

pub static UPROBE_IGNORE: ObjectSchema = ObjectSchema {
    what: "ignore setting",
    place: "spec.uprobes[].ignore",
    fields: &[f("digestVerificationFailure", Shape::Bool)],
};

pub static KPROBE: ObjectSchema = ObjectSchema {
    what: "kprobe",
    place: "spec.kprobes[]",
    fields: &[
        f("args", list(&Shape::Object(&ARG))),
        req("call", Shape::Str),
        f("data", list(&Shape::Object(&ARG))),
        f("ignore", Shape::Object(&KPROBE_IGNORE)),
        f("message", Shape::Str),
        f("return", Shape::Bool),
        f("returnArg", Shape::Object(&ARG)),
        f("returnArgAction", Shape::Str),
        f("selectors", list(&Shape::Object(&SELECTOR))),
        f("syscall", Shape::Bool),
        f("tags", TAGS),
    ],
};

pub static FENTRY: ObjectSchema = ObjectSchema {
    what: "fentry",
    place: "spec.fentries[]",
    fields: KPROBE.fields,
};

pub static TRACEPOINT: ObjectSchema = ObjectSchema {
    what: "tracepoint",
    place: "spec.tracepoints[]",
    fields: &[
        f("args", list(&Shape::Object(&ARG))),
        req("event", Shape::Str),
        f("message", Shape::Str),
        f("raw", Shape::Bool),
        f("selectors", list(&Shape::Object(&SELECTOR))),
        req("subsystem", Shape::Str),
        f("tags", TAGS),
    ],
};

pub static UPROBE: ObjectSchema = ObjectSchema {
    what: "uprobe",
    place: "spec.uprobes[]",
    fields: &[
        f("addrs", list(&INT64)),
        f("args", list(&Shape::Object(&ARG))),
        f("binaryDigests", list(&Shape::Str)),
        f("btfPath", Shape::Str),
        f("data", list(&Shape::Object(&ARG))),
        f("ignore", Shape::Object(&UPROBE_IGNORE)),
        f("message", Shape::Str),
        f("offsets", list(&INT64)),
        req("path", Shape::Str),
        f("refCtrOffsets", list(&INT64)),
        f("return", Shape::Bool),
        f("returnArg", Shape::Object(&ARG)),
        f("selectors", list(&Shape::Object(&SELECTOR))),
        f("symbols", list(&Shape::Str)),
        f("tags", TAGS),
    ],
};

pub static USDT: ObjectSchema = ObjectSchema {
    what: "usdt",
    place: "spec.usdts[]",
    fields: &[
        f("args", list(&Shape::Object(&ARG))),
        f("btfPath", Shape::Str),
        f("message", Shape::Str),
        req("name", Shape::Str),
        req("path", Shape::Str),
        req("provider", Shape::Str),
        f("selectors", list(&Shape::Object(&SELECTOR))),
        f("tags", TAGS),
    ],
};

pub static LSM_HOOK: ObjectSchema = ObjectSchema {
    what: "LSM hook",
    place: "spec.lsmhooks[]",
    fields: &[
        f("args", list(&Shape::Object(&ARG))),
        req("hook", Shape::Str),
        f("message", Shape::Str),
        f("selectors", list(&Shape::Object(&SELECTOR))),
        f("tags", TAGS),
    ],
};

pub static LIST: ObjectSchema = ObjectSchema {
    what: "list",
    place: "spec.lists[]",
    fields: &[
        req("name", Shape::Str),
        f("pattern", Shape::Str),
        f("type", Shape::Enum(&LIST_TYPES)),
        f("validated", Shape::Bool),
        f("values", list(&Shape::Str)),
    ],
};

pub static ENFORCER: ObjectSchema = ObjectSchema {
    what: "enforcer",
    place: "spec.enforcers[]",
    fields: &[req("calls", list(&Shape::Str))],
};

pub static OPTION: ObjectSchema = ObjectSchema {
    what: "option",
    place: "spec.options[]",
    fields: &[req("name", Shape::Str), f("value", Shape::Str)],
};

pub static SPEC: ObjectSchema = ObjectSchema {
    what: "policy spec",
    place: "spec",
    fields: &[
        f("containerSelector", Shape::Object(&LABEL_SELECTOR)),
        f("enforcers", list(&Shape::Object(&ENFORCER))),
        f("fentries", list(&Shape::Object(&FENTRY))),
        f("hostSelector", Shape::Object(&LABEL_SELECTOR)),
        f("kprobes", list(&Shape::Object(&KPROBE))),
        f("lists", list(&Shape::Object(&LIST))),
        f("loader", Shape::Bool),
        f("lsmhooks", list(&Shape::Object(&LSM_HOOK))),
        f("nodeSelector", Shape::Object(&LABEL_SELECTOR)),
        f("options", list(&Shape::Object(&OPTION))),
        f("podSelector", Shape::Object(&LABEL_SELECTOR)),
        f(
            "selectorsMacros",
            Shape::NamedMap(&Shape::Object(&SELECTOR)),
        ),
        f("tracepoints", list(&Shape::Object(&TRACEPOINT))),
        f("uprobes", list(&Shape::Object(&UPROBE))),
        f("usdts", list(&Shape::Object(&USDT))),
    ],
};

pub static OWNER_REFERENCE: ObjectSchema = ObjectSchema {
    what: "owner reference",
    place: "metadata.ownerReferences[]",
    fields: &[
        f("apiVersion", Shape::Str),
        f("blockOwnerDeletion", Shape::Bool),
        f("controller", Shape::Bool),
        f("kind", Shape::Str),
        f("name", Shape::Str),
        f("uid", Shape::Str),
    ],
};

/// Kubernetes `ObjectMeta`, as far as a policy manifest may set it.
pub static METADATA: ObjectSchema = ObjectSchema {
    what: "metadata",
    place: "metadata",
    fields: &[
        f("annotations", Shape::StringMap),
        f("creationTimestamp", Shape::Str),
        f("deletionGracePeriodSeconds", INT64),
        f("deletionTimestamp", Shape::Str),
        f("finalizers", list(&Shape::Str)),
        f("generateName", Shape::Str),
        f("generation", INT64),
        f("labels", Shape::StringMap),
        f("name", Shape::Str),
        f("namespace", Shape::Str),
        f("ownerReferences", list(&Shape::Object(&OWNER_REFERENCE))),
        f("resourceVersion", Shape::Str),
        f("selfLink", Shape::Str),
        f("uid", Shape::Str),
    ],
};

pub static DOCUMENT: ObjectSchema = ObjectSchema {
    what: "policy document",
    place: "the document root",
    fields: &[
        req("apiVersion", Shape::Str),
        req("kind", Shape::Str),
        req("metadata", Shape::Object(&METADATA)),
        req("spec", Shape::Object(&SPEC)),
    ],
};

pub static KIND_TEMPLATE: &str = "TracingPolicyTemplate";
pub static KIND_BINDING: &str = "TracingPolicyBinding";

// `TracingPolicyTemplate` and `TracingPolicyBinding` (CFP-4191 option 1,
// a draft without a CRD yet): the template is a policy spec plus
// `variables`; filters take `valuesFromVariable` instead of `values`
// (checked in `front::template`, which turns each binding into a policy).

pub static TEMPLATE_VARIABLE: ObjectSchema = ObjectSchema {
    what: "template variable",
    place: "spec.variables[]",
    fields: &[req("name", Shape::Str), f("type", Shape::Enum(&ARG_TYPES))],
};

pub static TEMPLATE_REF: ObjectSchema = ObjectSchema {
    what: "template reference",
    place: "spec.templateRef",
    fields: &[req("name", Shape::Str)],
};

pub static BINDING_VALUES: ObjectSchema = ObjectSchema {
    what: "variable binding",
    place: "spec.bindings[]",
    fields: &[req("name", Shape::Str), req("values", list(&Shape::Str))],
};

pub static BINDING_SPEC: ObjectSchema = ObjectSchema {
    what: "binding spec",
    place: "spec (TracingPolicyBinding)",
    fields: &[
        req("templateRef", Shape::Object(&TEMPLATE_REF)),
        f("bindings", list(&Shape::Object(&BINDING_VALUES))),
        f("podSelector", Shape::Object(&LABEL_SELECTOR)),
        f("containerSelector", Shape::Object(&LABEL_SELECTOR)),
        // tpc's own field: cgroup v2 paths on a host without Kubernetes,
        // as `tpc run --cgroup` takes them.
        f("cgroups", list(&Shape::Str)),
        f("overrideAllowed", Shape::Bool),
        f("overridePriority", INT64),
    ],
};

pub static BINDING_DOCUMENT: ObjectSchema = ObjectSchema {
    what: "binding document",
    place: "the document root",
    fields: &[
        req("apiVersion", Shape::Str),
        req("kind", Shape::Str),
        req("metadata", Shape::Object(&METADATA)),
        req("spec", Shape::Object(&BINDING_SPEC)),
    ],
};

/// Every object schema, for "this key belongs in ..." help.
pub static ALL_OBJECTS: &[&ObjectSchema] = &[
    &DOCUMENT,
    &METADATA,
    &SPEC,
    &KPROBE,
    &TRACEPOINT,
    &UPROBE,
    &USDT,
    &LSM_HOOK,
    &ARG,
    &SELECTOR,
    &ARG_FILTER,
    &ACTION,
    &BINARY_FILTER,
    &CAPABILITY_FILTER,
    &NAMESPACE_CHANGE_FILTER,
    &NAMESPACE_FILTER,
    &PID_FILTER,
    &WORKLOADS,
    &LABEL_SELECTOR,
    &LABEL_REQUIREMENT,
    &LIST,
    &ENFORCER,
    &OPTION,
    &KPROBE_IGNORE,
    &UPROBE_IGNORE,
];
