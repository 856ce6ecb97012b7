//! [`BtfKernel`]: a kernel known from its BTF blob (a file or
//! `/sys/kernel/btf/vmlinux`), optionally with its tracefs `format` files.

use std::path::Path;

use super::error::BtfError;
use super::graph::{self, CompositeKind, Node, TypeGraph, TypeId};
use super::kernel::{Arch, KernelIdentity, KernelInfo, KernelOrigin};
use super::load;
use super::raw::{self, NameIndex, RawBtf};
use super::syscall::{self, ReferenceSyscalls, SyscallHost};
use super::tracepoint::{self, TracepointFormats};
use super::types::{
    FunctionSig, Param, PathError, PathRoot, ResolvedPath, SyscallResolution, TracepointLookup,
    TracepointSource,
};

/// The path of the running kernel's BTF.
pub const SYSFS_VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// A kernel loaded from BTF.
pub struct BtfKernel {
    identity: KernelIdentity,
    raw: RawBtf,
    functions: NameIndex,
    composites: NameIndex,
    typedefs: NameIndex,
    formats: Option<TracepointFormats>,
    reference: Option<&'static (dyn ReferenceSyscalls + Sync)>,
}

impl BtfKernel {
    /// Loads a BTF file: raw, ELF with `.BTF`, or either xz/gzip-compressed.
    /// The name and release are guessed from the file name
    /// (`x86_64-6.1.0-56-cloud-amd64.btf.xz` → release `6.1.0-56-cloud-amd64`).
    pub fn from_path(path: &Path) -> Result<Self, BtfError> {
        let raw = load::raw_btf_from_path(path)?;
        let (name, release) = names_from_file(path);
        Self::from_raw_bytes(
            raw,
            KernelIdentity {
                name,
                aliases: Vec::new(),
                release,
                arch: Arch::Unknown,
                origin: KernelOrigin::File(path.to_path_buf()),
            },
        )
    }

    /// Loads `/sys/kernel/btf/vmlinux` with the running kernel's release and,
    /// when tracefs is readable, its tracepoint formats.
    pub fn running() -> Result<Self, BtfError> {
        let path = Path::new(SYSFS_VMLINUX);
        let raw = load::raw_btf_from_path(path)?;
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|text| text.trim().to_string());
        let mut kernel = Self::from_raw_bytes(
            raw,
            KernelIdentity {
                name: "running".to_string(),
                aliases: Vec::new(),
                release,
                arch: Arch::Unknown,
                origin: KernelOrigin::Running,
            },
        )?;
        kernel.formats = TracepointFormats::running();
        Ok(kernel)
    }

    /// Builds a kernel from raw BTF bytes; `identity.arch` is replaced by the
    /// arch detected from syscall wrapper names when it is `Unknown`.
    pub fn from_raw_bytes(bytes: Vec<u8>, mut identity: KernelIdentity) -> Result<Self, BtfError> {
        let raw = RawBtf::parse(bytes)?;
        let (functions, composites, typedefs) = build_indexes(&raw);
        let mut kernel = Self {
            identity: identity.clone(),
            raw,
            functions,
            composites,
            typedefs,
            formats: None,
            reference: Some(super::db::reference_syscalls()),
        };
        if identity.arch == Arch::Unknown {
            identity.arch = syscall::detect_arch(|name| kernel.func_id(name).is_some());
        }
        kernel.identity = identity;
        Ok(kernel)
    }

    /// Attaches tracefs `format` files (used before the BTF fallback).
    pub fn with_tracepoint_formats(mut self, formats: TracepointFormats) -> Self {
        self.formats = Some(formats);
        self
    }

    /// Renames the kernel (e.g. to the carried name it corresponds to).
    pub fn with_identity(mut self, identity: KernelIdentity) -> Self {
        self.identity = identity;
        self
    }

    /// Stops syscall resolution from using the carried reference formats.
    pub fn without_reference_syscalls(mut self) -> Self {
        self.reference = None;
        self
    }

    pub fn tracepoint_formats(&self) -> Option<&TracepointFormats> {
        self.formats.as_ref()
    }

    /// Size of the raw BTF in bytes.
    pub fn btf_size(&self) -> usize {
        self.raw.byte_len()
    }

    /// Number of BTF types (including `void`).
    pub fn type_count(&self) -> u32 {
        self.raw.type_count()
    }

    /// The FUNC type id of `name`.
    pub(crate) fn func_id(&self, name: &str) -> Option<TypeId> {
        self.functions
            .candidates(name)
            .find(|&id| self.raw.string_bytes(self.raw.name_off_of(id)) == name.as_bytes())
    }

    /// The FUNC_PROTO of function `name`.
    pub(crate) fn func_proto(&self, name: &str) -> Option<TypeId> {
        let id = self.func_id(name)?;
        self.raw.header(id).map(|header| header.size_or_type)
    }

    /// Every FUNC's name and prototype id, in id order.
    pub(crate) fn functions(&self) -> impl Iterator<Item = (&str, TypeId)> + '_ {
        (1..self.raw.type_count()).filter_map(move |id| {
            let header = self.raw.header(id)?;
            (header.kind == raw::KIND_FUNC)
                .then(|| (self.raw.string(header.name_off), header.size_or_type))
        })
    }

    /// Every defined, named struct/union (the one `find_composite` returns for
    /// its name), in id order.
    pub(crate) fn named_composites(&self) -> impl Iterator<Item = TypeId> + '_ {
        (1..self.raw.type_count()).filter(move |&id| match self.node(id) {
            Node::Composite { kind, name } if !name.is_empty() => {
                self.find_composite(kind, name) == Some(id)
            }
            _ => false,
        })
    }

    /// Every named typedef (the one `find_typedef` returns for its name).
    pub(crate) fn named_typedefs(&self) -> impl Iterator<Item = TypeId> + '_ {
        (1..self.raw.type_count()).filter(move |&id| match self.node(id) {
            Node::Typedef { name, .. } => self.find_typedef(name) == Some(id),
            _ => false,
        })
    }

    fn names_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .functions()
            .filter_map(|(name, _)| name.strip_prefix(prefix).map(str::to_string))
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

fn build_indexes(raw: &RawBtf) -> (NameIndex, NameIndex, NameIndex) {
    let mut functions = Vec::new();
    let mut composites = Vec::new();
    let mut typedefs = Vec::new();
    for id in 1..raw.type_count() {
        let kind = raw.kind_of(id);
        let list = match kind {
            raw::KIND_FUNC => &mut functions,
            raw::KIND_STRUCT | raw::KIND_UNION => &mut composites,
            raw::KIND_TYPEDEF => &mut typedefs,
            _ => continue,
        };
        let name = raw.string_bytes(raw.name_off_of(id));
        if !name.is_empty() {
            list.push((raw::name_hash(name), id));
        }
    }
    (
        NameIndex::build(functions),
        NameIndex::build(composites),
        NameIndex::build(typedefs),
    )
}

/// `dir/x86_64-6.1.0-56-cloud-amd64.btf.xz` → (`x86_64-6.1.0-56-cloud-amd64`, `6.1.0-56-cloud-amd64`).
fn names_from_file(path: &Path) -> (String, Option<String>) {
    let file = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut stem = file.as_str();
    for suffix in [".xz", ".gz", ".btf", ".raw", ".elf"] {
        stem = stem.strip_suffix(suffix).unwrap_or(stem);
    }
    let release = stem
        .split_once('-')
        .map(|(_, rest)| rest)
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
        .or_else(|| {
            let trimmed = stem.strip_prefix("vmlinux-").unwrap_or(stem);
            trimmed
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| trimmed.to_string())
        });
    (stem.to_string(), release)
}

impl TypeGraph for BtfKernel {
    fn node(&self, id: TypeId) -> Node<'_> {
        let Some(header) = self.raw.header(id) else {
            return Node::Void;
        };
        let name = || self.raw.string(header.name_off);
        let composite_kind = |kind| {
            if kind == raw::KIND_UNION || (kind == raw::KIND_FWD && header.kind_flag) {
                CompositeKind::Union
            } else {
                CompositeKind::Struct
            }
        };
        match header.kind {
            raw::KIND_INT => {
                let encoding = (self.raw.u32_at(header.extra) >> 24) & 0xf;
                Node::Int {
                    name: name(),
                    size: header.size_or_type,
                    signed: encoding & 1 != 0,
                    is_char: encoding & 2 != 0,
                    is_bool: encoding & 4 != 0,
                }
            }
            raw::KIND_FLOAT => Node::Float {
                name: name(),
                size: header.size_or_type,
            },
            raw::KIND_PTR => Node::Pointer(header.size_or_type),
            raw::KIND_ARRAY => Node::Array {
                element: self.raw.u32_at(header.extra),
                len: self.raw.u32_at(header.extra + 8),
            },
            raw::KIND_CONST => Node::Const(header.size_or_type),
            raw::KIND_VOLATILE => Node::Volatile(header.size_or_type),
            raw::KIND_RESTRICT => Node::Restrict(header.size_or_type),
            raw::KIND_TYPE_TAG => Node::TypeTag(header.size_or_type),
            raw::KIND_TYPEDEF => Node::Typedef {
                name: name(),
                target: header.size_or_type,
            },
            raw::KIND_STRUCT | raw::KIND_UNION => Node::Composite {
                kind: composite_kind(header.kind),
                name: name(),
            },
            raw::KIND_FWD => Node::Fwd {
                kind: composite_kind(header.kind),
                name: name(),
            },
            raw::KIND_ENUM | raw::KIND_ENUM64 => Node::Enum {
                name: name(),
                size: header.size_or_type,
                signed: header.kind_flag,
            },
            raw::KIND_FUNC_PROTO => {
                let variadic = header.vlen > 0 && {
                    let last = header.extra + 8 * (header.vlen as usize - 1);
                    self.raw.u32_at(last) == 0 && self.raw.u32_at(last + 4) == 0
                };
                Node::FuncProto {
                    ret: header.size_or_type,
                    variadic,
                }
            }
            _ => Node::Other,
        }
    }

    fn member_count(&self, id: TypeId) -> usize {
        match self.raw.header(id) {
            Some(header) if matches!(header.kind, raw::KIND_STRUCT | raw::KIND_UNION) => {
                header.vlen as usize
            }
            _ => 0,
        }
    }

    fn member(&self, id: TypeId, index: usize) -> Option<(&str, TypeId)> {
        let header = self.raw.header(id)?;
        if !matches!(header.kind, raw::KIND_STRUCT | raw::KIND_UNION)
            || index >= header.vlen as usize
        {
            return None;
        }
        let at = header.extra + 12 * index;
        Some((
            self.raw.string(self.raw.u32_at(at)),
            self.raw.u32_at(at + 4),
        ))
    }

    fn member_bit_offset(&self, id: TypeId, index: usize) -> Option<u32> {
        let header = self.raw.header(id)?;
        if !matches!(header.kind, raw::KIND_STRUCT | raw::KIND_UNION)
            || index >= header.vlen as usize
        {
            return None;
        }
        let offset = self.raw.u32_at(header.extra + 12 * index + 8);
        // With kind_flag set, the top 8 bits are the bitfield size.
        Some(if header.kind_flag {
            offset & 0x00ff_ffff
        } else {
            offset
        })
    }

    fn param_count(&self, id: TypeId) -> usize {
        match self.raw.header(id) {
            Some(header) if header.kind == raw::KIND_FUNC_PROTO => {
                let variadic = matches!(self.node(id), Node::FuncProto { variadic: true, .. });
                header.vlen as usize - usize::from(variadic)
            }
            _ => 0,
        }
    }

    fn param(&self, id: TypeId, index: usize) -> Option<(&str, TypeId)> {
        if index >= self.param_count(id) {
            return None;
        }
        let header = self.raw.header(id)?;
        let at = header.extra + 8 * index;
        Some((
            self.raw.string(self.raw.u32_at(at)),
            self.raw.u32_at(at + 4),
        ))
    }

    fn find_composite(&self, kind: CompositeKind, name: &str) -> Option<TypeId> {
        let wanted = match kind {
            CompositeKind::Struct => raw::KIND_STRUCT,
            CompositeKind::Union => raw::KIND_UNION,
        };
        // The lowest id wins; candidates come sorted by (hash, id).
        self.composites.candidates(name).find(|&id| {
            self.raw.kind_of(id) == wanted
                && self.raw.string_bytes(self.raw.name_off_of(id)) == name.as_bytes()
        })
    }

    fn find_typedef(&self, name: &str) -> Option<TypeId> {
        self.typedefs
            .candidates(name)
            .find(|&id| self.raw.string_bytes(self.raw.name_off_of(id)) == name.as_bytes())
    }
}

impl SyscallHost for BtfKernel {
    fn host_arch(&self) -> Arch {
        self.identity.arch
    }

    fn host_has_function(&self, name: &str) -> bool {
        self.func_id(name).is_some()
    }

    fn host_function(&self, name: &str) -> Option<FunctionSig> {
        KernelInfo::function(self, name)
    }

    fn own_syscall_format(&self, base: &str) -> Option<Vec<Param>> {
        let format = self
            .formats
            .as_ref()?
            .get("syscalls", &format!("sys_enter_{base}"))
            .ok()??;
        Some(tracepoint::syscall_params_from_format(Some(self), &format))
    }
}

impl KernelInfo for BtfKernel {
    fn identity(&self) -> &KernelIdentity {
        &self.identity
    }

    fn has_function(&self, name: &str) -> bool {
        self.func_id(name).is_some()
    }

    fn function(&self, name: &str) -> Option<FunctionSig> {
        let proto = self.func_proto(name)?;
        Some(graph::signature(self, name, proto))
    }

    fn function_count(&self) -> usize {
        self.functions.len()
    }

    fn lsm_hooks(&self) -> Vec<String> {
        self.names_with_prefix("bpf_lsm_")
    }

    fn syscall(&self, name: &str) -> SyscallResolution {
        syscall::resolve(
            self,
            self.reference
                .map(|reference| reference as &dyn ReferenceSyscalls),
            name,
        )
    }

    fn syscall_names(&self) -> Vec<String> {
        match self.identity.arch.syscall_prefix() {
            Some(prefix) => self.names_with_prefix(&format!("{prefix}sys_")),
            None => self.names_with_prefix("sys_"),
        }
    }

    fn resolve_path(&self, root: PathRoot<'_>, path: &str) -> Result<ResolvedPath, PathError> {
        resolve_path_in(self, |name| self.func_proto(name), root, path)
    }

    fn tracepoint(&self, subsystem: &str, event: &str) -> TracepointLookup {
        tracepoint_in(self, self.formats.as_ref(), subsystem, event, |base| {
            self.syscall(base)
        })
    }

    fn tracepoint_events(&self) -> Vec<(String, String)> {
        self.formats
            .as_ref()
            .map(TracepointFormats::events)
            .unwrap_or_default()
    }

    fn for_each_function_name(&self, visit: &mut dyn FnMut(&str)) {
        for (name, _) in self.functions() {
            visit(name);
        }
    }

    fn raw_tracepoint(&self, event: &str) -> Option<FunctionSig> {
        graph::raw_tracepoint_signature(self, event)
    }
}

/// `resolve_path` for any graph, given how to find a function's prototype.
pub(crate) fn resolve_path_in<G: TypeGraph + ?Sized>(
    graph: &G,
    func_proto: impl Fn(&str) -> Option<TypeId>,
    root: PathRoot<'_>,
    path: &str,
) -> Result<ResolvedPath, PathError> {
    let start = match root {
        PathRoot::Param { function, index } => {
            let proto = func_proto(function).ok_or_else(|| PathError::NoSuchFunction {
                function: function.to_string(),
            })?;
            let count = graph.param_count(proto);
            graph
                .param(proto, index)
                .map(|(_, ty)| ty)
                .ok_or(PathError::NoSuchParam {
                    function: function.to_string(),
                    index,
                    count,
                })?
        }
        PathRoot::Return { function } => {
            let proto = func_proto(function).ok_or_else(|| PathError::NoSuchFunction {
                function: function.to_string(),
            })?;
            match graph.node(proto) {
                Node::FuncProto { ret, .. } => ret,
                _ => 0,
            }
        }
        PathRoot::Type { name } => {
            graph::find_named_type(graph, name).ok_or_else(|| PathError::NoSuchType {
                name: name.to_string(),
            })?
        }
    };
    graph::walk_path(graph, start, path)
}

/// `tracepoint` for any graph: format files first, then the BTF fallback.
pub(crate) fn tracepoint_in<G: TypeGraph + ?Sized>(
    graph: &G,
    formats: Option<&TracepointFormats>,
    subsystem: &str,
    event: &str,
    syscall: impl Fn(&str) -> SyscallResolution,
) -> TracepointLookup {
    if let Some(formats) = formats {
        return match formats.get(subsystem, event) {
            Ok(Some(format)) => TracepointLookup::Found(tracepoint::info_from_format(
                Some(graph),
                subsystem,
                event,
                &format,
            )),
            Ok(None) => TracepointLookup::Missing {
                reason: format!("the kernel's tracefs has no {subsystem}/{event}"),
            },
            Err(error) => TracepointLookup::Unknown {
                reason: error.to_string(),
            },
        };
    }
    if subsystem == "ftrace" {
        return TracepointLookup::Unknown {
            reason: "ftrace's own events (function, print, ...) are not described by BTF"
                .to_string(),
        };
    }
    if subsystem == "syscalls" {
        let (enter, base) = if let Some(base) = event.strip_prefix("sys_enter_") {
            (true, base)
        } else if let Some(base) = event.strip_prefix("sys_exit_") {
            (false, base)
        } else {
            return TracepointLookup::Missing {
                reason: format!(
                    "syscalls events are sys_enter_<name> or sys_exit_<name>, not {event}"
                ),
            };
        };
        if !tracepoint::has_syscall_events(graph) {
            return TracepointLookup::Missing {
                reason: "this kernel has no syscall tracepoints (no struct syscall_trace_enter: \
                         CONFIG_FTRACE_SYSCALLS is off)"
                    .to_string(),
            };
        }
        let resolution = syscall(base);
        if resolution.wrapper.is_none() {
            return TracepointLookup::Missing {
                reason: format!("this kernel has no syscall {base}"),
            };
        }
        if !enter {
            return TracepointLookup::Found(tracepoint::syscall_event_info(
                graph,
                event,
                &[],
                TracepointSource::SyscallExitLayout,
            ));
        }
        return match resolution.prototype {
            Some(prototype) => TracepointLookup::Found(tracepoint::syscall_event_info(
                graph,
                event,
                &prototype.params,
                TracepointSource::SyscallPrototype {
                    from: prototype.source,
                },
            )),
            None => TracepointLookup::FieldsUnknown {
                reason: format!("syscall {base} exists, but no prototype for it was found"),
            },
        };
    }
    tracepoint::lookup_in_btf(graph, subsystem, event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_release() {
        let (name, release) = names_from_file(Path::new("a/x86_64-6.1.0-56-cloud-amd64.btf.xz"));
        assert_eq!(name, "x86_64-6.1.0-56-cloud-amd64");
        assert_eq!(release.as_deref(), Some("6.1.0-56-cloud-amd64"));
        let (name, release) = names_from_file(Path::new("x86_64-running.btf.xz"));
        assert_eq!(name, "x86_64-running");
        assert_eq!(release, None);
        let (_, release) = names_from_file(Path::new("vmlinux-5.10.0"));
        assert_eq!(release.as_deref(), Some("5.10.0"));
    }
}
