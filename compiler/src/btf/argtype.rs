//! Whether a Tetragon argument `type` (the CRD enum: `int`, `char_buf`,
//! `file`, ...) fits the kernel's type for that argument.
//!
//! # Rules
//!
//! Tetragon's own loader compares type *names* against short lists (e.g.
//! `file` only with `struct file *`, `int` with `int`, `unsigned int`,
//! `long`, `unsigned long`, `uid_t`, `gid_t`, `u32`, `s32`). `tpc` compares
//! the resolved *shape* instead (typedefs looked through), so `umode_t`,
//! `pid_t` or `loff_t` are judged by size and signedness, not by spelling.
//!
//! | Tetragon type | compatible kernel type | notes |
//! |---|---|---|
//! | `auto`, `nop` | anything | `auto` takes the type from BTF; `nop` reads nothing |
//! | `int` | integer, enum or `bool` of ≤ 4 bytes | 8-byte integers: compatible, noted (only the low 32 bits are read) |
//! | `int8`/`sint8`, `uint8` | 1-byte integer | other integer widths: noted |
//! | `int16`/`sint16`, `uint16` | 2-byte integer | other integer widths: noted |
//! | `int32`/`sint32`, `uint32` | 4-byte integer or enum | other widths: noted; sign mismatch: noted |
//! | `int64`/`sint64`/`long`, `uint64`/`ulong` | 8-byte integer, or a pointer | 4-byte integers: noted (upper half of the register is not defined) |
//! | `size_t` | 8-byte integer | |
//! | `capability`, `bpf_cmd` | integer or enum | |
//! | `fd` | 4- or 8-byte integer | |
//! | `syscall64` | 8-byte integer | 4-byte: noted |
//! | `char_buf` | pointer to a 1-byte integer (`char *`, `u8 *`), or `void *` | |
//! | `string` | pointer to `char`, or a `char` array (a `resolve` ending at `comm`) | `void *`: noted; `struct filename *`: incompatible, use `filename` |
//! | `const_buf` | any pointer or array | |
//! | `char_iovec` | pointer to `struct iovec` | |
//! | `file`, `path`, `filename`, `skb` (`sk_buff`), `sock`, `socket`, `sockaddr`, `sockaddr_un`, `cred`, `bpf_attr` (a union), `perf_event`, `bpf_map`, `bpf_prog`, `user_namespace`, `linux_binprm`, `load_info`, `module`, `net_device`, `dentry`, `kiocb`, `iov_iter` | pointer to that struct | `void *`: unknown (cannot be checked); `sockaddr` also accepts `sockaddr_in`, `sockaddr_in6`, `sockaddr_storage` with a note; `sockaddr_un` also accepts `sockaddr` and `sockaddr_storage` (Tetragon casts them) |
//! | `kernel_cap_t`, `cap_inheritable`, `cap_permitted`, `cap_effective` | `kernel_cap_t` (or `struct kernel_cap_struct`), a pointer to it, or a 64-bit integer | |
//! | `data_loc` | a tracepoint `__data_loc` field | |
//!
//! A kernel type that cannot be resolved (e.g. a typedef missing from the
//! carried data) gives [`ArgCompat::Unknown`], never a false error.

use super::types::{FieldLocation, TracepointField, TypeDesc, TypeShape};

/// The verdict for one argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgCompat {
    Compatible,
    /// Tetragon will read it, but the read differs from the kernel type in a
    /// way worth telling (width, signedness).
    CompatibleWithNote {
        note: String,
    },
    /// The kernel type is not what the Tetragon type reads.
    Incompatible {
        reason: String,
    },
    /// Cannot be decided (unknown kernel type, `void *`, or an unknown
    /// Tetragon type name).
    Unknown {
        reason: String,
    },
}

impl ArgCompat {
    pub fn is_incompatible(&self) -> bool {
        matches!(self, Self::Incompatible { .. })
    }
}

/// Struct-pointer types: Tetragon type name → kernel struct name.
const STRUCT_POINTER_TYPES: &[(&str, &str)] = &[
    ("file", "file"),
    ("path", "path"),
    ("filename", "filename"),
    ("skb", "sk_buff"),
    ("sock", "sock"),
    ("socket", "socket"),
    ("sockaddr", "sockaddr"),
    ("sockaddr_un", "sockaddr_un"),
    ("cred", "cred"),
    ("bpf_attr", "bpf_attr"),
    ("perf_event", "perf_event"),
    ("bpf_map", "bpf_map"),
    ("bpf_prog", "bpf_prog"),
    ("user_namespace", "user_namespace"),
    ("linux_binprm", "linux_binprm"),
    ("load_info", "load_info"),
    ("module", "module"),
    ("net_device", "net_device"),
    ("dentry", "dentry"),
    ("kiocb", "kiocb"),
    ("iov_iter", "iov_iter"),
    ("char_iovec", "iovec"),
];

/// Judges Tetragon type `tetragon_type` against kernel type `ty`.
pub fn arg_type_compat(tetragon_type: &str, ty: &TypeDesc) -> ArgCompat {
    let kernel = &ty.c;
    if matches!(ty.shape, TypeShape::Unknown) {
        return ArgCompat::Unknown {
            reason: format!("the kernel type `{kernel}` could not be resolved"),
        };
    }
    let incompatible = |expects: &str| ArgCompat::Incompatible {
        reason: format!("`{tetragon_type}` reads {expects}, but the kernel type is `{kernel}`"),
    };
    match tetragon_type {
        "auto" | "nop" => ArgCompat::Compatible,
        "int" => match integer(ty) {
            Some((size, _)) if size <= 4 => ArgCompat::Compatible,
            Some((size, _)) => note(format!(
                "`int` reads 32 bits of the {}-bit `{kernel}`",
                size * 8
            )),
            None => incompatible("a 32-bit integer"),
        },
        "int8" | "sint8" => sized_int(tetragon_type, ty, 1, Some(true)),
        "uint8" => sized_int(tetragon_type, ty, 1, Some(false)),
        "int16" | "sint16" => sized_int(tetragon_type, ty, 2, Some(true)),
        "uint16" => sized_int(tetragon_type, ty, 2, Some(false)),
        "int32" | "sint32" => sized_int(tetragon_type, ty, 4, Some(true)),
        "uint32" => sized_int(tetragon_type, ty, 4, Some(false)),
        "int64" | "sint64" | "long" | "uint64" | "ulong" => {
            if ty.is_pointer() {
                return ArgCompat::Compatible;
            }
            let signed = matches!(tetragon_type, "int64" | "sint64" | "long");
            sized_int(tetragon_type, ty, 8, Some(signed))
        }
        "size_t" => sized_int(tetragon_type, ty, 8, None),
        "syscall64" => sized_int(tetragon_type, ty, 8, None),
        "capability" | "bpf_cmd" => match integer(ty) {
            Some(_) => ArgCompat::Compatible,
            None => incompatible("an integer"),
        },
        "fd" => match integer(ty) {
            Some((4 | 8, _)) => ArgCompat::Compatible,
            _ => incompatible("a file descriptor number (an int)"),
        },
        "char_buf" => match ty.pointee().map(|pointee| &pointee.shape) {
            Some(TypeShape::Int { size: 1, .. } | TypeShape::Void) => ArgCompat::Compatible,
            Some(_) => incompatible("bytes behind a `char *`"),
            None => incompatible("bytes behind a pointer"),
        },
        "string" => string_compat(ty, &incompatible),
        "const_buf" => match ty.shape {
            TypeShape::Pointer { .. } | TypeShape::Array { .. } => ArgCompat::Compatible,
            _ => incompatible("a buffer behind a pointer"),
        },
        "kernel_cap_t" | "cap_inheritable" | "cap_permitted" | "cap_effective" => {
            let is_cap = |desc: &TypeDesc| {
                desc.has_typedef("kernel_cap_t")
                    || matches!(&desc.shape, TypeShape::Struct { name } if name == "kernel_cap_struct")
            };
            if is_cap(ty)
                || ty.pointee().is_some_and(is_cap)
                || integer(ty).is_some_and(|(size, _)| size == 8)
            {
                ArgCompat::Compatible
            } else {
                incompatible("a `kernel_cap_t`")
            }
        }
        "data_loc" => ArgCompat::Unknown {
            reason: "`data_loc` is for tracepoint `__data_loc` fields".to_string(),
        },
        other => match STRUCT_POINTER_TYPES.iter().find(|(name, _)| *name == other) {
            Some((_, wanted)) => struct_pointer_compat(tetragon_type, wanted, ty),
            None => ArgCompat::Unknown {
                reason: format!("`{other}` is not a Tetragon argument type tpc knows"),
            },
        },
    }
}

/// The Tetragon type that reads kernel type `ty` as what it is, for "use
/// `type: file`" hints: a pointer to a struct Tetragon knows gives that
/// type, `char *` gives `string`, integers give `int` (4 bytes or less),
/// `size_t`, `int64` or `uint64`. `None` when no type fits plainly.
pub fn suggested_type(ty: &TypeDesc) -> Option<&'static str> {
    if ty.has_typedef("size_t") {
        return Some("size_t");
    }
    match &ty.shape {
        TypeShape::Int { size, signed, .. } | TypeShape::Enum { size, signed } => match size {
            1..=4 => Some("int"),
            8 if *signed => Some("int64"),
            8 => Some("uint64"),
            _ => None,
        },
        TypeShape::Array { element, .. }
            if matches!(element.shape, TypeShape::Int { size: 1, .. }) =>
        {
            Some("string")
        }
        TypeShape::Pointer { pointee } => match &pointee.shape {
            TypeShape::Int { size: 1, .. } => Some("string"),
            TypeShape::Struct { name } | TypeShape::Union { name } => STRUCT_POINTER_TYPES
                .iter()
                .find(|(_, kernel)| kernel == name)
                .map(|(tetragon, _)| *tetragon),
            _ => None,
        },
        _ => None,
    }
}

/// Judges a Tetragon type against a tracepoint field (handles `__data_loc`).
pub fn tracepoint_field_compat(tetragon_type: &str, field: &TracepointField) -> ArgCompat {
    match field.location {
        FieldLocation::DataLoc | FieldLocation::RelLoc => {
            // Format files give the element type (`char[]`); the BTF
            // fallback knows only that the field is `__data_loc`.
            let shown = if field.c_type.starts_with("__data_loc")
                || field.c_type.starts_with("__rel_loc")
            {
                field.c_type.clone()
            } else {
                format!("__data_loc {}", field.c_type)
            };
            match tetragon_type {
                "data_loc" | "nop" | "auto" => ArgCompat::Compatible,
                "string" | "char_buf" => ArgCompat::Unknown {
                    reason: format!(
                        "field `{}` is `{shown}`: dynamic data Tetragon reads with `data_loc`",
                        field.name
                    ),
                },
                _ => ArgCompat::Incompatible {
                    reason: format!(
                        "field `{}` is `{shown}` (a 32-bit offset/length pair), not `{tetragon_type}`",
                        field.name
                    ),
                },
            }
        }
        FieldLocation::Inline => {
            if tetragon_type == "data_loc" {
                return ArgCompat::Incompatible {
                    reason: format!(
                        "field `{}` is `{}`, not a `__data_loc` field",
                        field.name, field.c_type
                    ),
                };
            }
            arg_type_compat(tetragon_type, &field.ty)
        }
    }
}

fn note(note: String) -> ArgCompat {
    ArgCompat::CompatibleWithNote { note }
}

/// `(size, signed)` for integers, enums and bools.
fn integer(ty: &TypeDesc) -> Option<(u32, bool)> {
    match ty.shape {
        TypeShape::Int { size, signed, .. } | TypeShape::Enum { size, signed } => {
            Some((size, signed))
        }
        _ => None,
    }
}

fn sized_int(tetragon_type: &str, ty: &TypeDesc, size: u32, signed: Option<bool>) -> ArgCompat {
    let kernel = &ty.c;
    let Some((actual, actual_signed)) = integer(ty) else {
        return ArgCompat::Incompatible {
            reason: format!(
                "`{tetragon_type}` reads a {}-bit integer, but the kernel type is `{kernel}`",
                size * 8
            ),
        };
    };
    if actual != size {
        let extra = if actual < size && size == 8 {
            " (the upper half of the register is not defined)"
        } else {
            ""
        };
        return note(format!(
            "`{tetragon_type}` reads {} bits; `{kernel}` has {}{extra}",
            size * 8,
            actual * 8
        ));
    }
    match signed {
        Some(wanted) if wanted != actual_signed && !kernel_is_bool_or_char(ty) => note(format!(
            "`{tetragon_type}` is {}, `{kernel}` is {}",
            signedness(wanted),
            signedness(actual_signed)
        )),
        _ => ArgCompat::Compatible,
    }
}

fn kernel_is_bool_or_char(ty: &TypeDesc) -> bool {
    matches!(
        ty.shape,
        TypeShape::Int { is_bool: true, .. } | TypeShape::Int { is_char: true, .. }
    )
}

fn signedness(signed: bool) -> &'static str {
    if signed { "signed" } else { "unsigned" }
}

fn string_compat(ty: &TypeDesc, incompatible: &dyn Fn(&str) -> ArgCompat) -> ArgCompat {
    let is_char = |desc: &TypeDesc| matches!(desc.shape, TypeShape::Int { size: 1, .. });
    match &ty.shape {
        TypeShape::Array { element, .. } if is_char(element) => ArgCompat::Compatible,
        TypeShape::Pointer { pointee } => match &pointee.shape {
            _ if is_char(pointee) => ArgCompat::Compatible,
            TypeShape::Void => note(format!(
                "`string` reads a NUL-terminated string behind the untyped `{}`",
                ty.c
            )),
            TypeShape::Struct { name } if name == "filename" => ArgCompat::Incompatible {
                reason: format!("the kernel type is `{}`; use `filename` to read it", ty.c),
            },
            _ => incompatible("a `char *` string"),
        },
        _ => incompatible("a `char *` string"),
    }
}

fn struct_pointer_compat(tetragon_type: &str, wanted: &str, ty: &TypeDesc) -> ArgCompat {
    let kernel = &ty.c;
    let keyword = if wanted == "bpf_attr" {
        "union"
    } else {
        "struct"
    };
    let Some(pointee) = ty.pointee() else {
        return ArgCompat::Incompatible {
            reason: format!(
                "`{tetragon_type}` reads a `{keyword} {wanted} *`, but the kernel type is `{kernel}`"
            ),
        };
    };
    let actual = match &pointee.shape {
        TypeShape::Struct { name } | TypeShape::Union { name } => name.as_str(),
        TypeShape::Void => {
            return ArgCompat::Unknown {
                reason: format!(
                    "the kernel type is `{kernel}`, so `{keyword} {wanted} *` cannot be checked"
                ),
            };
        }
        TypeShape::Unknown => {
            return ArgCompat::Unknown {
                reason: format!("the pointee of `{kernel}` could not be resolved"),
            };
        }
        _ => "",
    };
    if actual == wanted {
        return ArgCompat::Compatible;
    }
    let sockaddr_family = [
        "sockaddr_in",
        "sockaddr_in6",
        "sockaddr_storage",
        "sockaddr_un",
    ];
    if tetragon_type == "sockaddr" && sockaddr_family.contains(&actual) {
        return note(format!(
            "`sockaddr` reads `{kernel}` through its `sa_family` header"
        ));
    }
    // Tetragon reads a `sockaddr_un` through the generic address the socket
    // calls pass (`unix_stream_connect(sock, struct sockaddr *, ...)`),
    // casting it: a `struct sockaddr *` parameter is what it expects.
    if tetragon_type == "sockaddr_un" && matches!(actual, "sockaddr" | "sockaddr_storage") {
        return ArgCompat::Compatible;
    }
    ArgCompat::Incompatible {
        reason: format!(
            "`{tetragon_type}` reads a `{keyword} {wanted} *`, but the kernel type is `{kernel}`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(c: &str, size: u32, signed: bool) -> TypeDesc {
        TypeDesc {
            c: c.into(),
            typedefs: vec![],
            shape: TypeShape::Int {
                size,
                signed,
                is_char: c == "char",
                is_bool: false,
            },
        }
    }

    fn ptr(c: &str, pointee: TypeDesc) -> TypeDesc {
        TypeDesc {
            c: c.into(),
            typedefs: vec![],
            shape: TypeShape::Pointer {
                pointee: Box::new(pointee),
            },
        }
    }

    fn strukt(name: &str) -> TypeDesc {
        TypeDesc {
            c: format!("struct {name}"),
            typedefs: vec![],
            shape: TypeShape::Struct { name: name.into() },
        }
    }

    #[test]
    fn file_needs_struct_file_pointer() {
        assert_eq!(
            arg_type_compat("file", &ptr("struct file *", strukt("file"))),
            ArgCompat::Compatible
        );
        let wrong = arg_type_compat("file", &ptr("struct path *", strukt("path")));
        assert!(wrong.is_incompatible());
        assert!(format!("{wrong:?}").contains("struct path *"));
        assert!(arg_type_compat("file", &int("int", 4, true)).is_incompatible());
    }

    #[test]
    fn integers() {
        assert_eq!(
            arg_type_compat("int", &int("int", 4, true)),
            ArgCompat::Compatible
        );
        assert!(matches!(
            arg_type_compat("int", &int("long int", 8, true)),
            ArgCompat::CompatibleWithNote { .. }
        ));
        assert!(arg_type_compat("int", &ptr("char *", int("char", 1, true))).is_incompatible());
        assert_eq!(
            arg_type_compat(
                "uint64",
                &ptr(
                    "void *",
                    TypeDesc {
                        c: "void".into(),
                        typedefs: vec![],
                        shape: TypeShape::Void
                    }
                )
            ),
            ArgCompat::Compatible
        );
        assert!(matches!(
            arg_type_compat("uint32", &int("int", 4, true)),
            ArgCompat::CompatibleWithNote { .. }
        ));
    }

    #[test]
    fn strings_and_buffers() {
        let char_ptr = ptr("const char *", int("char", 1, true));
        assert_eq!(arg_type_compat("string", &char_ptr), ArgCompat::Compatible);
        assert_eq!(
            arg_type_compat("char_buf", &char_ptr),
            ArgCompat::Compatible
        );
        assert!(arg_type_compat("string", &int("unsigned int", 4, false)).is_incompatible());
        let comm = TypeDesc {
            c: "char[16]".into(),
            typedefs: vec![],
            shape: TypeShape::Array {
                element: Box::new(int("char", 1, true)),
                len: 16,
            },
        };
        assert_eq!(arg_type_compat("string", &comm), ArgCompat::Compatible);
        assert!(
            arg_type_compat("string", &ptr("struct filename *", strukt("filename")))
                .is_incompatible()
        );
    }

    #[test]
    fn suggestions_name_the_reading_type() {
        assert_eq!(
            suggested_type(&ptr("struct file *", strukt("file"))),
            Some("file")
        );
        assert_eq!(
            suggested_type(&ptr("struct iovec *", strukt("iovec"))),
            Some("char_iovec")
        );
        assert_eq!(
            suggested_type(&ptr("const char *", int("char", 1, true))),
            Some("string")
        );
        assert_eq!(suggested_type(&int("unsigned int", 4, false)), Some("int"));
        assert_eq!(suggested_type(&int("long int", 8, true)), Some("int64"));
        assert_eq!(suggested_type(&ptr("struct qstr *", strukt("qstr"))), None);
    }

    #[test]
    fn unknown_kernel_types_are_never_errors() {
        assert!(matches!(
            arg_type_compat("file", &TypeDesc::unknown("mystery_t")),
            ArgCompat::Unknown { .. }
        ));
        assert!(matches!(
            arg_type_compat("no_such_type", &int("int", 4, true)),
            ArgCompat::Unknown { .. }
        ));
    }

    #[test]
    fn every_known_type_has_a_rule() {
        let value = int("int", 4, true);
        for name in crate::front::schema::ARG_TYPES.values {
            let verdict = arg_type_compat(name, &value);
            if let ArgCompat::Unknown { reason } = &verdict {
                assert!(!reason.contains("not a Tetragon argument type"), "{name}");
            }
        }
    }
}
