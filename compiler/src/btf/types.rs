//! Owned answers that kernel lookups return: rendered C types with their
//! resolved shape, function signatures, member paths, syscall resolutions and
//! tracepoint layouts. They carry no ids, so a check can hold answers from many
//! kernels at once and compare them.

use std::fmt;

/// A C type as the kernel declares it, plus what it resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDesc {
    /// The type written as C, e.g. `struct file *`, `const char *`,
    /// `long unsigned int` (integer names are the kernel's own BTF names).
    pub c: String,
    /// Typedef names crossed while resolving, outermost first
    /// (`umode_t` → `["umode_t"]`; `size_t` → `["size_t", "__kernel_size_t"]`).
    pub typedefs: Vec<String>,
    /// What the type is once typedefs, `const`, `volatile` and type tags are
    /// looked through.
    pub shape: TypeShape,
}

/// A type's resolved structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeShape {
    Void,
    Int {
        size: u32,
        signed: bool,
        is_char: bool,
        is_bool: bool,
    },
    Float {
        size: u32,
    },
    Enum {
        size: u32,
        signed: bool,
    },
    Pointer {
        pointee: Box<TypeDesc>,
    },
    /// `name` is empty for an anonymous struct.
    Struct {
        name: String,
    },
    Union {
        name: String,
    },
    Array {
        element: Box<TypeDesc>,
        len: u32,
    },
    /// A function type (only seen behind a pointer).
    Function,
    /// Could not be resolved (a declaration-only struct, an unknown typedef
    /// in tracepoint text, or a chain too deep).
    Unknown,
}

impl TypeDesc {
    pub(crate) fn unknown(c: impl Into<String>) -> Self {
        Self {
            c: c.into(),
            typedefs: Vec::new(),
            shape: TypeShape::Unknown,
        }
    }

    /// The size in bytes when it is known (pointers are 8 bytes: both
    /// supported architectures are 64-bit).
    pub fn byte_size(&self) -> Option<u32> {
        match &self.shape {
            TypeShape::Int { size, .. }
            | TypeShape::Float { size }
            | TypeShape::Enum { size, .. } => Some(*size),
            TypeShape::Pointer { .. } => Some(8),
            TypeShape::Array { element, len } => element.byte_size().map(|size| size * len),
            _ => None,
        }
    }

    /// True for pointers (arrays are not pointers here, even though C lets
    /// them decay in parameter lists).
    pub fn is_pointer(&self) -> bool {
        matches!(self.shape, TypeShape::Pointer { .. })
    }

    /// The pointee, for pointers.
    pub fn pointee(&self) -> Option<&TypeDesc> {
        match &self.shape {
            TypeShape::Pointer { pointee } => Some(pointee),
            _ => None,
        }
    }

    /// True if `name` is one of the typedefs crossed (e.g. `size_t`).
    pub fn has_typedef(&self, name: &str) -> bool {
        self.typedefs.iter().any(|typedef| typedef == name)
    }
}

impl fmt::Display for TypeDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.c)
    }
}

/// One parameter of a kernel function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The parameter's name in the kernel source (may be empty).
    pub name: String,
    pub ty: TypeDesc,
}

/// A kernel function's prototype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSig {
    pub name: String,
    pub params: Vec<Param>,
    pub ret: TypeDesc,
    pub variadic: bool,
}

impl FunctionSig {
    /// The prototype as one line of C: `void fd_install(unsigned int fd, struct file *file)`.
    pub fn to_c(&self) -> String {
        let mut out = format!("{} {}(", self.ret.c, self.name);
        for (index, param) in self.params.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            out.push_str(&param.ty.c);
            if !param.name.is_empty() {
                if !param.ty.c.ends_with('*') {
                    out.push(' ');
                }
                out.push_str(&param.name);
            }
        }
        if self.variadic {
            out.push_str(if self.params.is_empty() {
                "..."
            } else {
                ", ..."
            });
        } else if self.params.is_empty() {
            out.push_str("void");
        }
        out.push(')');
        out
    }
}

/// Where a member path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRoot<'a> {
    /// Parameter `index` (0-based) of kernel function `function`.
    Param { function: &'a str, index: usize },
    /// The return value of `function`.
    Return { function: &'a str },
    /// A named type, as `btfType` gives it: `linux_binprm`, `struct file`,
    /// `union bpf_attr` or a typedef name.
    Type { name: &'a str },
}

/// One member crossed by a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStep {
    pub member: String,
    /// The member's declared type.
    pub ty: TypeDesc,
    /// True when the member sits inside an unnamed struct/union member.
    pub through_anonymous: bool,
}

/// A member path that resolved, e.g. `f_path.dentry.d_name.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPath {
    /// The type the walk started from.
    pub root: TypeDesc,
    pub steps: Vec<PathStep>,
}

impl ResolvedPath {
    /// The type at the end of the path (the root for an empty path).
    pub fn final_type(&self) -> &TypeDesc {
        self.steps.last().map_or(&self.root, |step| &step.ty)
    }
}

/// Why a member path does not resolve. `walked` is the part of the path that
/// did resolve, so messages can say exactly where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("no kernel function {function:?}")]
    NoSuchFunction { function: String },
    #[error("{function} has {count} parameter(s), so there is no parameter {index}")]
    NoSuchParam {
        function: String,
        index: usize,
        count: usize,
    },
    #[error("no struct, union or typedef named {name:?}")]
    NoSuchType { name: String },
    #[error("path segment {step} is empty")]
    EmptySegment { step: usize },
    #[error(
        "{container} has no member `{member}`{}",
        suggestion_suffix(suggestions)
    )]
    NoSuchMember {
        step: usize,
        walked: String,
        member: String,
        container: String,
        suggestions: Vec<String>,
    },
    #[error("`{walked}` is `{ty}`, which has no members (looking for `{member}`)")]
    NotAComposite {
        step: usize,
        walked: String,
        member: String,
        ty: String,
    },
    #[error("`{walked}` is `{ty}`, declared but not defined in this kernel's BTF")]
    IncompleteType {
        step: usize,
        walked: String,
        member: String,
        ty: String,
    },
    #[error("`{walked}` is `{ty}`, which cannot be indexed")]
    NotIndexable {
        step: usize,
        walked: String,
        ty: String,
    },
    #[error("index {index} is past the end of `{walked}` ({ty}, {len} elements)")]
    IndexOutOfRange {
        step: usize,
        walked: String,
        ty: String,
        index: u64,
        len: u32,
    },
    #[error("path segment `{segment}` is not `name` or `name[index]`")]
    BadSegment { step: usize, segment: String },
    #[error("the path is nested too deeply")]
    TooDeep,
}

fn suggestion_suffix(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean `{one}`?)"),
        many => format!(" (did you mean one of: {}?)", many.join(", ")),
    }
}

/// How a syscall name was written in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallSpelling {
    /// `openat`: Tetragon prefixes only the arch (`__x64_openat`), which never
    /// exists, so it fails to attach; `tpc` still resolves it to help.
    Bare,
    /// `sys_openat`: the usual spelling; Tetragon adds the arch prefix.
    SysPrefixed,
    /// `__x64_sys_openat` / `__arm64_sys_openat`: used as written.
    ArchPrefixed,
}

/// How the resolved wrapper receives its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapperStyle {
    /// `__x64_sys_X(const struct pt_regs *)` / `__arm64_sys_X`: kernels ≥ 4.17
    /// with `CONFIG_ARCH_HAS_SYSCALL_WRAPPER`; the real arguments are inside
    /// the saved registers, which Tetragon reads for `syscall: true`.
    PtRegs,
    /// `sys_X(real args...)`: older kernels, or arches without the wrapper.
    Direct,
}

/// Where a syscall's real prototype came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyscallProtoSource {
    /// The kernel's `__do_sys_<name>` function (exact types; present in BTF
    /// only when the compiler did not inline it).
    DoSys,
    /// The kernel's `__se_sys_<name>` (every argument widened to `long`).
    SeSys,
    /// The old-style direct `sys_<name>` function (its own parameters).
    DirectSys,
    /// This kernel's tracefs `syscalls/sys_enter_<name>/format`.
    TracepointFormat,
    /// The `syscalls/sys_enter_<name>` format of another kernel, named here;
    /// syscall argument types are user ABI and stable across versions, so this
    /// is used when the kernel itself says nothing.
    ReferenceKernel { kernel: String },
}

impl fmt::Display for SyscallProtoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DoSys => f.write_str("__do_sys_ function in BTF"),
            Self::SeSys => f.write_str("__se_sys_ function in BTF"),
            Self::DirectSys => f.write_str("sys_ function in BTF"),
            Self::TracepointFormat => f.write_str("syscalls tracepoint format"),
            Self::ReferenceKernel { kernel } => {
                write!(f, "syscalls tracepoint format of {kernel}")
            }
        }
    }
}

/// A syscall's real parameters and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallPrototype {
    pub params: Vec<Param>,
    pub source: SyscallProtoSource,
}

/// The answer to "what does `syscall: true` with this name attach to here".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallResolution {
    /// The name as the policy wrote it.
    pub requested: String,
    /// The syscall's own name (`openat`).
    pub base: String,
    pub spelling: SyscallSpelling,
    /// The symbol Tetragon's rule builds from the spelling for this kernel's
    /// arch (`__x64_sys_openat`; `__x64_openat` for a bare name).
    pub tetragon_symbol: String,
    /// The wrapper that exists in this kernel for `base`, if any.
    pub wrapper: Option<String>,
    pub wrapper_style: Option<WrapperStyle>,
    /// False when the wrapper is only an alias symbol that BTF does not list:
    /// on x86_64, `SYSCALL_DEFINE0` syscalls (`getpid`, `sync`, `fork`...)
    /// make `__x64_sys_<name>` an alias of `__do_sys_<name>`, so kallsyms has
    /// it (attaching works) but a BTF lookup of the wrapper, as Tetragon's
    /// spec validation does, does not find it.
    pub wrapper_in_btf: bool,
    /// The wrapper written with an arch prefix that does not match this
    /// kernel's arch (e.g. `__arm64_sys_openat` checked against x86_64).
    pub arch_mismatch: bool,
    pub prototype: Option<SyscallPrototype>,
}

impl SyscallResolution {
    /// True when Tetragon would find the symbol it builds from this spelling.
    pub fn tetragon_attaches(&self) -> bool {
        self.wrapper.as_deref() == Some(self.tetragon_symbol.as_str())
    }
}

/// How a tracepoint field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldLocation {
    /// The value is in the record.
    Inline,
    /// `__data_loc`: a 32-bit (offset, length) pair pointing at dynamic data.
    DataLoc,
    /// `__rel_loc`: like `__data_loc`, relative to the field's end.
    RelLoc,
}

/// One field of a tracepoint record, as its `format` file (or BTF) lays it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracepointField {
    pub name: String,
    /// The declared type without the name (`const char *`, `char[]`,
    /// `unsigned long[6]` for an array field).
    pub c_type: String,
    /// Byte offset in the record (`None` when the source does not record it,
    /// as in the carried database's BTF fallback).
    pub offset: Option<u32>,
    pub size: Option<u32>,
    /// `None` when the source does not say (old format files, BTF).
    pub signed: Option<bool>,
    pub location: FieldLocation,
    /// Element count for fixed arrays (`Some(0)` for `char[]` behind `__data_loc`).
    pub array_len: Option<u32>,
    /// True for the `common_*` fields every event starts with.
    pub common: bool,
    /// The field's type resolved against the kernel's BTF where possible.
    pub ty: TypeDesc,
}

/// Where a tracepoint layout came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TracepointSource {
    /// The tracefs `format` file: exact.
    FormatFile,
    /// BTF `struct trace_event_raw_<class>`: exact field list when the event
    /// is its own class (TRACE_EVENT); the subsystem is not checked, because
    /// BTF does not record it.
    BtfRawStruct { class: String },
    /// Built from the syscall's prototype, the way the kernel lays out
    /// `syscalls/sys_enter_*` records (`__syscall_nr`, then one 8-byte slot
    /// per argument).
    SyscallPrototype { from: SyscallProtoSource },
    /// The fixed `sys_exit_*` layout (`__syscall_nr`, `long ret`), which does
    /// not depend on the syscall's arguments.
    SyscallExitLayout,
}

/// A tracepoint whose layout is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracepointInfo {
    pub subsystem: String,
    pub event: String,
    /// Every field in `format` order, common fields first, so a policy's
    /// `args[].index` indexes this list directly.
    pub fields: Vec<TracepointField>,
    pub source: TracepointSource,
}

/// The answer to "does this tracepoint exist here, and what are its fields".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TracepointLookup {
    Found(TracepointInfo),
    /// The event exists (e.g. BTF has `btf_trace_<event>`) but its record
    /// layout cannot be known from what this kernel source provides.
    FieldsUnknown {
        reason: String,
    },
    /// The kernel data says the event does not exist.
    Missing {
        reason: String,
    },
    /// Nothing can be said (no format files and no usable BTF evidence).
    Unknown {
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(c: &str) -> TypeDesc {
        TypeDesc {
            c: c.to_string(),
            typedefs: Vec::new(),
            shape: TypeShape::Int {
                size: 4,
                signed: false,
                is_char: false,
                is_bool: false,
            },
        }
    }

    #[test]
    fn signature_renders_as_c() {
        let sig = FunctionSig {
            name: "fd_install".into(),
            params: vec![
                Param {
                    name: "fd".into(),
                    ty: int("unsigned int"),
                },
                Param {
                    name: "file".into(),
                    ty: TypeDesc::unknown("struct file *"),
                },
            ],
            ret: TypeDesc::unknown("void"),
            variadic: false,
        };
        assert_eq!(
            sig.to_c(),
            "void fd_install(unsigned int fd, struct file *file)"
        );
    }

    #[test]
    fn path_error_messages_name_the_member() {
        let error = PathError::NoSuchMember {
            step: 3,
            walked: "f_path.dentry.d_name".into(),
            member: "nam".into(),
            container: "struct qstr".into(),
            suggestions: vec!["name".into()],
        };
        assert_eq!(
            error.to_string(),
            "struct qstr has no member `nam` (did you mean `name`?)"
        );
    }
}
