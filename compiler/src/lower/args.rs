//! A hook's `args` lowered to what the programs read: which tracepoint field
//! (or raw tracepoint argument), how (integer width and sign, user or kernel
//! string, buffer sized by another field, socket address), and the kind of
//! argument events export. `type: auto` is decided from the tracepoint's
//! format the way Tetragon's agent decides it.

use tpc_bundle::model::{ArgExport, ArgRead, ArgSource, ArgSpec, FieldRequirement};

use crate::btf::{TracepointField, TracepointInfo, TypeShape};
use crate::ir::{ArgDecl, ArgType, Hook};
use crate::span::Span;

use super::LowerError;

/// The lowered arguments of one hook.
#[derive(Debug, Default)]
pub struct LoweredArgs {
    /// Exported arguments in event order, then hidden size arguments.
    pub specs: Vec<ArgSpec>,
    /// For each `args` entry of the policy, its index in `specs` (`None`
    /// for `nop`).
    pub of_decl: Vec<Option<usize>>,
    /// The effective type of each `args` entry (`auto` decided).
    pub types: Vec<ArgType>,
    /// Fields the lowering read from the format.
    pub fields: Vec<FieldRequirement>,
    /// Return probes: how the `returnArg` is read, and its type.
    pub return_spec: Option<ArgSpec>,
    pub return_type: Option<ArgType>,
}

/// offsetof(struct pt_regs, ax) on x86-64: where a return probe finds the
/// return value.
const RETURN_REGISTER: u16 = 80;

/// How a type reads a fixed-size integer: (width in bytes, sign-extended,
/// export kind).
pub fn integer_read(ty: ArgType) -> Option<(u8, bool, ArgExport)> {
    use ArgType::*;
    Some(match ty {
        Int | Int32 | Sint32 | BpfCmd => (4, true, ArgExport::Int),
        Uint32 => (4, false, ArgExport::Uint),
        Int16 | Sint16 => (2, true, ArgExport::Int),
        Uint16 => (2, false, ArgExport::Uint),
        Int8 | Sint8 => (1, true, ArgExport::Int),
        Uint8 => (1, false, ArgExport::Uint),
        Long | Int64 | Sint64 => (8, true, ArgExport::Long),
        Uint64 | Ulong | SizeT => (8, false, ArgExport::Size),
        _ => return None,
    })
}

/// What `type: auto` means for a field (Tetragon's `getGenericTypeId`):
/// 4- and 8-byte integers by sign, `size_t`; anything else needs a type.
fn auto_type(field: &TracepointField) -> Option<ArgType> {
    if field.ty.typedefs.iter().any(|t| t == "size_t") || field.c_type.trim() == "size_t" {
        return Some(ArgType::SizeT);
    }
    let (size, signed) = match &field.ty.shape {
        TypeShape::Int { size, signed, .. } | TypeShape::Enum { size, signed } => (*size, *signed),
        TypeShape::Unknown if !field.c_type.contains('*') && field.array_len.is_none() => {
            (field.size?, field.signed?)
        }
        _ => return None,
    };
    // The format's own size and sign win: syscall records widen every
    // argument to 8 bytes (`int flags; size:8; signed:0`).
    let size = field.size.unwrap_or(size);
    let signed = field.signed.unwrap_or(signed);
    Some(match (size, signed) {
        (4, true) => ArgType::Int32,
        (4, false) => ArgType::Uint32,
        (8, true) => ArgType::Int64,
        (8, false) => ArgType::Uint64,
        _ => return None,
    })
}

fn is_pointer(field: &TracepointField) -> bool {
    matches!(field.ty.shape, TypeShape::Pointer { .. }) || field.c_type.contains('*')
}

fn is_data_loc(field: &TracepointField) -> bool {
    field.c_type.contains("__data_loc")
}

fn unsupported(span: Span, what: String, help: &str) -> LowerError {
    LowerError::Unsupported {
        span,
        what,
        help: help.to_owned(),
    }
}

/// Lowers the `args` of a tracepoint hook against its format.
pub fn tracepoint_args(hook: &Hook, info: &TracepointInfo) -> Result<LoweredArgs, LowerError> {
    let mut out = LoweredArgs::default();
    let mut hidden: Vec<(u32, ArgSpec)> = Vec::new();
    let field_at = |decl: &ArgDecl, index: u32| -> Result<&TracepointField, LowerError> {
        info.fields
            .get(index as usize)
            .ok_or_else(|| LowerError::Layout {
                span: decl.index.span,
                what: format!(
                    "{}/{} has {} fields here, so field {index} does not exist",
                    info.subsystem,
                    info.event,
                    info.fields.len()
                ),
            })
    };
    let record = |out: &mut LoweredArgs, index: u32, field: &TracepointField| {
        if !out.fields.iter().any(|f| f.index == index) {
            out.fields.push(FieldRequirement {
                index,
                name: field.name.clone(),
                size: field.size,
            });
        }
    };
    for decl in &hook.args {
        let index = decl.index.value;
        if decl.ty.value == ArgType::Nop {
            out.of_decl.push(None);
            out.types.push(ArgType::Nop);
            continue;
        }
        let field = field_at(decl, index)?;
        record(&mut out, index, field);
        let ty = match decl.ty.value {
            ArgType::Auto => auto_type(field).ok_or_else(|| {
                unsupported(
                    decl.span,
                    format!(
                        "field `{}` ({}) has no automatic type",
                        field.name, field.c_type
                    ),
                    "give it a `type`, e.g. `type: string` for a `const char *`",
                )
            })?,
            other => other,
        };
        let source = ArgSource::Field {
            index,
            name: field.name.clone(),
        };
        let (read, export) = if let Some((width, signed, export)) = integer_read(ty) {
            if is_data_loc(field) || field.array_len.is_some() {
                return Err(unsupported(
                    decl.ty.span,
                    format!("`type: {ty}` on field `{}` ({})", field.name, field.c_type),
                    "integer types read integer or pointer fields",
                ));
            }
            (ArgRead::Int { width, signed }, export)
        } else {
            match ty {
                ArgType::Syscall64 => (ArgRead::Syscall64, ArgExport::SyscallId),
                ArgType::String | ArgType::DataLoc if is_data_loc(field) => {
                    (ArgRead::DataLocString, ArgExport::String)
                }
                ArgType::String if is_pointer(field) => (ArgRead::UserString, ArgExport::String),
                ArgType::CharBuf if is_pointer(field) => {
                    let Some(size_index) = &decl.size_arg_index else {
                        return Err(unsupported(
                            decl.ty.span,
                            format!("`char_buf` field `{}` without `sizeArgIndex`", field.name),
                            "name the field that holds the buffer's size: `sizeArgIndex` is that field's position in the format, counted from 1",
                        ));
                    };
                    // For tracepoints sizeArgIndex is the 1-based position of
                    // the size field in the format.
                    let size_field_index =
                        size_index
                            .value
                            .checked_sub(1)
                            .ok_or_else(|| LowerError::Layout {
                                span: size_index.span,
                                what: "sizeArgIndex counts from 1".into(),
                            })?;
                    let size_field =
                        info.fields.get(size_field_index as usize).ok_or_else(|| {
                            LowerError::Layout {
                                span: size_index.span,
                                what: format!(
                                    "{}/{} has no field {}",
                                    info.subsystem, info.event, size_index.value
                                ),
                            }
                        })?;
                    record(&mut out, size_field_index, size_field);
                    let size_ty = auto_type(size_field).ok_or_else(|| LowerError::Layout {
                        span: size_index.span,
                        what: format!(
                            "the size field `{}` ({}) is not an integer",
                            size_field.name, size_field.c_type
                        ),
                    })?;
                    let (width, signed, _) =
                        integer_read(size_ty).unwrap_or((8, false, ArgExport::Size));
                    hidden.push((
                        size_field_index,
                        ArgSpec {
                            source: ArgSource::Field {
                                index: size_field_index,
                                name: size_field.name.clone(),
                            },
                            read: ArgRead::Int { width, signed },
                            export: ArgExport::Size,
                            label: None,
                            hidden: true,
                            return_copy: false,
                        },
                    ));
                    // the size argument's place is fixed up below
                    (
                        ArgRead::CharBuf {
                            size_arg: u32::MAX - size_field_index,
                        },
                        ArgExport::Bytes,
                    )
                }
                ArgType::Sockaddr if is_pointer(field) => {
                    (ArgRead::UserSockaddr, ArgExport::Sockaddr)
                }
                other => {
                    return Err(unsupported(
                        decl.ty.span,
                        format!(
                            "`type: {other}` on tracepoint field `{}` ({})",
                            field.name, field.c_type
                        ),
                        "tracepoint arguments run in the kernel as integers, syscall64, string (pointer or __data_loc fields), char_buf with sizeArgIndex, and sockaddr; other types come with the kprobe back end",
                    ));
                }
            }
        };
        out.of_decl.push(Some(out.specs.len()));
        out.types.push(ty);
        out.specs.push(ArgSpec {
            source,
            read,
            export,
            label: decl.label.as_ref().map(|l| l.value.clone()),
            hidden: false,
            return_copy: false,
        });
    }
    // Hidden size arguments go last; a buffer names its size argument by
    // position in `specs`.
    for (field_index, spec) in hidden {
        let at = match out
            .specs
            .iter()
            .position(|s| s.source == spec.source && s.read == spec.read)
        {
            Some(at) => at,
            None => {
                out.specs.push(spec);
                out.specs.len() - 1
            }
        };
        for s in &mut out.specs {
            if let ArgRead::CharBuf { size_arg } = &mut s.read {
                if *size_arg == u32::MAX - field_index {
                    *size_arg = u32::try_from(at).unwrap_or(u32::MAX);
                }
            }
        }
    }
    Ok(out)
}

/// Lowers the `args` of a raw tracepoint: `index` is the position in the
/// raw tracepoint's arguments (each a 64-bit register value).
pub fn raw_tracepoint_args(hook: &Hook) -> Result<LoweredArgs, LowerError> {
    let mut out = LoweredArgs::default();
    for decl in &hook.args {
        let index = decl.index.value;
        if decl.ty.value == ArgType::Nop {
            out.of_decl.push(None);
            out.types.push(ArgType::Nop);
            continue;
        }
        if index > 5 {
            return Err(LowerError::Layout {
                span: decl.index.span,
                what: format!(
                    "a raw tracepoint has at most 6 arguments (0 to 5), not index {index}"
                ),
            });
        }
        let ty = decl.ty.value;
        let (read, export) = match (integer_read(ty), ty) {
            (Some((width, signed, export)), _) => (ArgRead::Int { width, signed }, export),
            (None, ArgType::Syscall64) => (ArgRead::Syscall64, ArgExport::SyscallId),
            (None, ArgType::Auto) => (
                ArgRead::Int {
                    width: 8,
                    signed: false,
                },
                ArgExport::Size,
            ),
            (None, other) => {
                return Err(unsupported(
                    decl.ty.span,
                    format!("`type: {other}` on a raw tracepoint argument"),
                    "raw tracepoint arguments run in the kernel as integers and syscall64; other types come with the kprobe back end",
                ));
            }
        };
        out.of_decl.push(Some(out.specs.len()));
        out.types.push(if ty == ArgType::Auto {
            ArgType::Uint64
        } else {
            ty
        });
        out.specs.push(ArgSpec {
            source: ArgSource::RawArg { index },
            read,
            export,
            label: decl.label.as_ref().map(|l| l.value.clone()),
            hidden: false,
            return_copy: false,
        });
    }
    Ok(out)
}

/// Where a kernel function's (or a uprobe's) arguments are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgPlace {
    /// In the hook's registers (kprobes, uprobes): the function-call ABI.
    CallRegisters,
    /// In the user's registers that a syscall wrapper's first argument
    /// points at: the syscall ABI.
    SyscallRegisters,
    /// In the u64 argument array of fentry and LSM programs.
    ArgArray,
    /// A USDT probe's arguments, where its note says (the runtime reads
    /// the note).
    Usdt,
}

/// x86-64 `struct pt_regs` offsets of the function-call argument registers.
const CALL_REGISTERS: [(&str, u16); 6] = [
    ("di", 112),
    ("si", 104),
    ("dx", 96),
    ("cx", 88),
    ("r8", 72),
    ("r9", 64),
];
/// The syscall ABI passes the fourth argument in r10, not cx.
const SYSCALL_REGISTERS: [(&str, u16); 6] = [
    ("di", 112),
    ("si", 104),
    ("dx", 96),
    ("r10", 56),
    ("r8", 72),
    ("r9", 64),
];

fn function_source(place: ArgPlace, index: u32) -> Option<ArgSource> {
    let at = usize::try_from(index).ok()?;
    match place {
        ArgPlace::CallRegisters => CALL_REGISTERS.get(at).map(|(n, o)| ArgSource::Register {
            name: (*n).to_owned(),
            offset: *o,
        }),
        ArgPlace::SyscallRegisters => SYSCALL_REGISTERS.get(at).map(|(n, o)| ArgSource::Register {
            name: (*n).to_owned(),
            offset: *o,
        }),
        ArgPlace::ArgArray => (at < 12).then_some(ArgSource::RawArg { index }),
        ArgPlace::Usdt => (at < 12).then_some(ArgSource::Usdt { index }),
    }
}

/// How a type is read from a function argument (a register or u64 slot):
/// the read and the event kind. `None`: not lowered.
fn function_read(ty: ArgType) -> Option<(ArgRead, ArgExport)> {
    if let Some((width, signed, export)) = integer_read(ty) {
        return Some((ArgRead::Int { width, signed }, export));
    }
    Some(match ty {
        ArgType::Auto => (
            ArgRead::Int {
                width: 8,
                signed: false,
            },
            ArgExport::Size,
        ),
        ArgType::String => (ArgRead::UserString, ArgExport::String),
        ArgType::Sockaddr => (ArgRead::UserSockaddr, ArgExport::Sockaddr),
        ArgType::Sock => (ArgRead::Sock, ArgExport::Sock),
        ArgType::Socket => (ArgRead::Socket, ArgExport::Sock),
        ArgType::Skb => (ArgRead::Skb, ArgExport::Skb),
        ArgType::Cred => (ArgRead::Cred, ArgExport::Cred),
        ArgType::UserNamespace => (ArgRead::UserNamespace, ArgExport::UserNamespace),
        ArgType::Kiocb => (ArgRead::Kiocb, ArgExport::File),
        ArgType::Filename => (ArgRead::Filename, ArgExport::String),
        ArgType::NetDevice => (ArgRead::NetDevice, ArgExport::NetDevice),
        ArgType::Module => (ArgRead::Module, ArgExport::Module),
        ArgType::LoadInfo => (ArgRead::LoadInfo, ArgExport::Module),
        ArgType::BpfAttr => (ArgRead::BpfAttr, ArgExport::BpfAttr),
        ArgType::BpfProg => (ArgRead::BpfProg, ArgExport::BpfProg),
        ArgType::BpfMap => (ArgRead::BpfMap, ArgExport::BpfMap),
        ArgType::PerfEvent => (ArgRead::PerfEvent, ArgExport::PerfEvent),
        ArgType::Capability => (
            ArgRead::Int {
                width: 4,
                signed: true,
            },
            ArgExport::Capability,
        ),
        ArgType::File => (ArgRead::FilePath, ArgExport::File),
        ArgType::Path => (ArgRead::PathPath, ArgExport::Path),
        ArgType::Fd => (
            ArgRead::FdPath {
                width: 4,
                signed: true,
            },
            ArgExport::File,
        ),
        ArgType::LinuxBinprm => (ArgRead::BprmPath, ArgExport::LinuxBinprm),
        ArgType::Dentry => (ArgRead::DentryPath, ArgExport::Path),
        _ => return None,
    })
}

fn hook_returns(hook: &Hook) -> bool {
    hook.returns.as_ref().is_some_and(|r| r.value)
}

/// Lowers the `args` of a kprobe, fentry, LSM or uprobe hook: `index` is
/// the function's parameter, found where `place` says.
pub fn function_args(hook: &Hook, place: ArgPlace) -> Result<LoweredArgs, LowerError> {
    let mut out = LoweredArgs::default();
    let mut hidden: Vec<(u32, ArgSpec)> = Vec::new();
    let max_index = match place {
        ArgPlace::ArgArray | ArgPlace::Usdt => 11,
        _ => 5,
    };
    let source_of = |decl_span: Span, index: u32| {
        function_source(place, index).ok_or_else(|| LowerError::Layout {
            span: decl_span,
            what: format!(
                "argument {index} is not passed in a register tpc reads (0 to {max_index})"
            ),
        })
    };
    for decl in &hook.args {
        let index = decl.index.value;
        if decl.ty.value == ArgType::Nop {
            out.of_decl.push(None);
            out.types.push(ArgType::Nop);
            continue;
        }
        for (what, set) in [
            ("resolve", decl.resolve.as_ref().map(|r| r.span)),
            ("maxData", decl.max_data.then_some(decl.span)),
        ] {
            if let Some(span) = set {
                return Err(unsupported(
                    span,
                    format!("`{what}` on an argument"),
                    "tpc's kernel programs read the argument itself; resolve paths and maxData come with later back-end work",
                ));
            }
        }
        let source = source_of(decl.index.span, index)?;
        let ty = decl.ty.value;
        let return_copy = decl.return_copy;
        if return_copy {
            if !hook_returns(hook) {
                return Err(unsupported(
                    decl.span,
                    "`returnCopy` on a hook without `return: true`".into(),
                    "returnCopy reads the buffer when the call returns: the hook needs a return probe",
                ));
            }
            if ty != ArgType::CharBuf {
                return Err(unsupported(
                    decl.ty.span,
                    format!("`returnCopy` on a `{ty}` argument"),
                    "tpc copies `char_buf` arguments at return, as many bytes as the call returned",
                ));
            }
        }
        let (read, export) = if ty == ArgType::CharBuf && return_copy {
            // its size is the return value, read by the return probe
            (ArgRead::CharBuf { size_arg: 0 }, ArgExport::Bytes)
        } else if matches!(ty, ArgType::CharBuf | ArgType::CharIovec) {
            let Some(size_index) = &decl.size_arg_index else {
                return Err(unsupported(
                    decl.ty.span,
                    format!("`{ty}` without `sizeArgIndex`"),
                    if ty == ArgType::CharBuf {
                        "name the argument that holds the buffer's size: `sizeArgIndex` counts the function's arguments from 1"
                    } else {
                        "name the argument that holds the number of iovec entries: `sizeArgIndex` counts the function's arguments from 1"
                    },
                ));
            };
            let size_at = size_index
                .value
                .checked_sub(1)
                .ok_or_else(|| LowerError::Layout {
                    span: size_index.span,
                    what: "sizeArgIndex counts from 1".into(),
                })?;
            let size_source = source_of(size_index.span, size_at)?;
            hidden.push((
                size_at,
                ArgSpec {
                    source: size_source,
                    read: ArgRead::Int {
                        width: 8,
                        signed: true,
                    },
                    export: ArgExport::Size,
                    label: None,
                    hidden: true,
                    return_copy: false,
                },
            ));
            let size_arg = u32::MAX - size_at;
            (
                if ty == ArgType::CharBuf {
                    ArgRead::CharBuf { size_arg }
                } else {
                    ArgRead::CharIovec { size_arg }
                },
                ArgExport::Bytes,
            )
        } else {
            function_read(ty).ok_or_else(|| {
                unsupported(
                    decl.ty.span,
                    format!("`type: {ty}` on a {} argument", hook.kind().as_str()),
                    "tpc's kernel programs read integers, string, char_buf (sizeArgIndex), sockaddr, sock, socket, file, path, fd, dentry, linux_binprm, kiocb, filename, cred, capability, user_namespace, net_device, module, load_info, bpf_attr, bpf_prog, bpf_map, perf_event, skb and char_iovec (sizeArgIndex) arguments here; iov_iter is not read yet",
                )
            })?
        };
        out.of_decl.push(Some(out.specs.len()));
        out.types.push(if ty == ArgType::Auto {
            ArgType::Uint64
        } else {
            ty
        });
        out.specs.push(ArgSpec {
            source,
            read,
            export,
            label: decl.label.as_ref().map(|l| l.value.clone()),
            hidden: false,
            return_copy,
        });
    }
    if let Some(decl) = hook.return_arg.as_ref().filter(|_| hook_returns(hook)) {
        let ty = decl.ty.value;
        let (read, export) = function_read(ty).ok_or_else(|| {
            unsupported(
                decl.ty.span,
                format!("`type: {ty}` on a `returnArg`"),
                "tpc's return probes read integers, string, sockaddr, sock, socket, file, path, fd, dentry and linux_binprm return values",
            )
        })?;
        out.return_spec = Some(ArgSpec {
            source: ArgSource::Return {
                offset: RETURN_REGISTER,
            },
            read,
            export,
            label: decl.label.as_ref().map(|l| l.value.clone()),
            hidden: false,
            return_copy: false,
        });
        out.return_type = Some(if ty == ArgType::Auto {
            ArgType::Uint64
        } else {
            ty
        });
    }
    for (size_at, spec) in hidden {
        let at = match out
            .specs
            .iter()
            .position(|s| s.source == spec.source && s.read == spec.read)
        {
            Some(at) => at,
            None => {
                out.specs.push(spec);
                out.specs.len() - 1
            }
        };
        for s in &mut out.specs {
            if let ArgRead::CharBuf { size_arg } | ArgRead::CharIovec { size_arg } = &mut s.read {
                if *size_arg == u32::MAX - size_at {
                    *size_arg = u32::try_from(at).unwrap_or(u32::MAX);
                }
            }
        }
    }
    Ok(out)
}
