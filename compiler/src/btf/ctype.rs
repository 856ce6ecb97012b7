//! Resolving C type text (as tracefs `format` files write it: `const char *`,
//! `umode_t`, `unsigned long[6]`, `char[]`) to a [`TypeDesc`], using the
//! kernel's typedefs and structs when it has them and C's LP64 rules for the
//! builtin integer types.

use super::graph::{self, CompositeKind, TypeGraph};
use super::types::{TypeDesc, TypeShape};

/// Resolves `text` against `graph` (or against C's builtins alone when `graph`
/// is `None`). Unknown names give [`TypeShape::Unknown`], never an error.
pub(crate) fn resolve_c_type<G: TypeGraph + ?Sized>(graph: Option<&G>, text: &str) -> TypeDesc {
    let text = text.trim();
    // Arrays: `unsigned long[6]`, `char[]`, `u8 [16]`.
    if let Some(open) = text.rfind('[')
        && text.ends_with(']')
    {
        let inner = &text[open + 1..text.len() - 1];
        let len = inner.trim().parse::<u32>().unwrap_or(0);
        let element = resolve_c_type(graph, &text[..open]);
        return TypeDesc {
            c: text.to_string(),
            typedefs: Vec::new(),
            shape: TypeShape::Array {
                element: Box::new(element),
                len,
            },
        };
    }
    // Pointers: peel the last `*` (and any qualifier after it).
    let unqualified = strip_trailing_qualifiers(text);
    if let Some(base) = unqualified.strip_suffix('*') {
        let pointee = resolve_c_type(graph, base);
        return TypeDesc {
            c: text.to_string(),
            typedefs: Vec::new(),
            shape: TypeShape::Pointer {
                pointee: Box::new(pointee),
            },
        };
    }
    let words: Vec<&str> = unqualified
        .split_whitespace()
        .filter(|word| !matches!(*word, "const" | "volatile" | "__user" | "__restrict"))
        .collect();
    let desc = |shape| TypeDesc {
        c: text.to_string(),
        typedefs: Vec::new(),
        shape,
    };
    match words.as_slice() {
        [] => return TypeDesc::unknown(text),
        ["void"] => return desc(TypeShape::Void),
        ["struct", name] | ["union", name] => {
            let kind = if words[0] == "struct" {
                CompositeKind::Struct
            } else {
                CompositeKind::Union
            };
            let name = (*name).to_string();
            return desc(match kind {
                CompositeKind::Struct => TypeShape::Struct { name },
                CompositeKind::Union => TypeShape::Union { name },
            });
        }
        ["enum", _] => {
            return desc(TypeShape::Enum {
                size: 4,
                signed: false,
            });
        }
        _ => {}
    }
    if let Some(shape) = builtin_integer(&words) {
        return desc(shape);
    }
    if let [name] = words.as_slice() {
        if let Some(graph) = graph
            && let Some(id) = graph.find_typedef(name)
        {
            let mut found = graph::describe(graph, id);
            found.c = text.to_string();
            return found;
        }
        if let Some(shape) = common_typedef(name) {
            let mut found = desc(shape);
            found.typedefs.push((*name).to_string());
            return found;
        }
    }
    TypeDesc::unknown(text)
}

fn strip_trailing_qualifiers(text: &str) -> &str {
    let mut text = text.trim_end();
    loop {
        let before = text;
        for qualifier in ["const", "volatile", "__restrict", "restrict"] {
            if let Some(rest) = text.strip_suffix(qualifier)
                && rest.ends_with(|c: char| c == '*' || c.is_whitespace())
            {
                text = rest.trim_end();
            }
        }
        if text == before {
            return text;
        }
    }
}

fn int(size: u32, signed: bool) -> TypeShape {
    TypeShape::Int {
        size,
        signed,
        is_char: false,
        is_bool: false,
    }
}

/// C's integer keywords under LP64 (both supported arches).
fn builtin_integer(words: &[&str]) -> Option<TypeShape> {
    let mut signed = None;
    let mut longs = 0;
    let mut base = None;
    for &word in words {
        match word {
            "signed" => signed = Some(true),
            "unsigned" => signed = Some(false),
            "long" => longs += 1,
            "short" | "int" | "char" | "_Bool" | "bool" => {
                if base.is_some() && word != "int" {
                    return None;
                }
                if base.is_none() || base == Some("int") {
                    base = Some(word);
                }
            }
            _ => return None,
        }
    }
    let shape = match (base, longs) {
        (Some("char"), 0) => TypeShape::Int {
            size: 1,
            signed: signed.unwrap_or(true),
            is_char: true,
            is_bool: false,
        },
        (Some("_Bool" | "bool"), 0) => TypeShape::Int {
            size: 1,
            signed: false,
            is_char: false,
            is_bool: true,
        },
        (Some("short"), 0) => int(2, signed.unwrap_or(true)),
        (Some("int") | None, 0) if signed.is_some() || base.is_some() => {
            int(4, signed.unwrap_or(true))
        }
        (Some("int") | None, 1 | 2) => int(8, signed.unwrap_or(true)),
        _ => return None,
    };
    Some(shape)
}

/// Kernel typedefs that tracepoint formats use, for kernels whose BTF is not
/// at hand (sizes are the same on x86_64 and arm64).
fn common_typedef(name: &str) -> Option<TypeShape> {
    let shape = match name {
        "u8" | "__u8" | "uint8_t" => int(1, false),
        "s8" | "__s8" | "int8_t" => int(1, true),
        "u16" | "__u16" | "uint16_t" | "__be16" | "__le16" | "umode_t" => int(2, false),
        "s16" | "__s16" | "int16_t" => int(2, true),
        "u32" | "__u32" | "uint32_t" | "__be32" | "__le32" | "uid_t" | "gid_t" | "qid_t"
        | "dev_t" | "fmode_t" | "gfp_t" | "slab_flags_t" | "__poll_t" | "blk_opf_t" => {
            int(4, false)
        }
        "s32" | "__s32" | "int32_t" | "pid_t" | "key_t" | "mqd_t" | "clockid_t" | "timer_t"
        | "key_serial_t" | "rwf_t" | "__kernel_pid_t" => int(4, true),
        "u64" | "__u64" | "uint64_t" | "__be64" | "__le64" | "size_t" | "sector_t" | "blkcnt_t"
        | "aio_context_t" | "cap_user_header_t" | "cap_user_data_t" | "__kernel_size_t"
        | "ino_t" | "dma_addr_t" | "phys_addr_t" | "resource_size_t" => int(8, false),
        "s64" | "__s64" | "int64_t" | "ssize_t" | "loff_t" | "off_t" | "time64_t" | "ktime_t"
        | "__kernel_ssize_t" | "clock_t" | "time_t" => int(8, true),
        "bool" => TypeShape::Int {
            size: 1,
            signed: false,
            is_char: false,
            is_bool: true,
        },
        _ => return None,
    };
    Some(shape)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;
    use crate::btf::graph::{Node, TypeId};

    /// A graph with nothing in it: only builtin knowledge applies.
    struct EmptyGraph;
    impl TypeGraph for EmptyGraph {
        fn node(&self, _id: TypeId) -> Node<'_> {
            Node::Void
        }
        fn member_count(&self, _id: TypeId) -> usize {
            0
        }
        fn member(&self, _id: TypeId, _index: usize) -> Option<(&str, TypeId)> {
            None
        }
        fn param_count(&self, _id: TypeId) -> usize {
            0
        }
        fn param(&self, _id: TypeId, _index: usize) -> Option<(&str, TypeId)> {
            None
        }
        fn find_composite(&self, _kind: CompositeKind, _name: &str) -> Option<TypeId> {
            None
        }
        fn find_typedef(&self, _name: &str) -> Option<TypeId> {
            None
        }
    }

    fn shape(text: &str) -> TypeShape {
        resolve_c_type(Some(&EmptyGraph), text).shape
    }

    #[test]
    fn builtin_integers() {
        assert_eq!(shape("int"), int(4, true));
        assert_eq!(shape("unsigned int"), int(4, false));
        assert_eq!(shape("unsigned"), int(4, false));
        assert_eq!(shape("long"), int(8, true));
        assert_eq!(shape("unsigned long long"), int(8, false));
        assert_eq!(shape("long unsigned int"), int(8, false));
        assert_eq!(shape("short int"), int(2, true));
        assert!(matches!(
            shape("char"),
            TypeShape::Int {
                size: 1,
                is_char: true,
                ..
            }
        ));
    }

    #[test]
    fn pointers_and_arrays() {
        let desc = resolve_c_type(Some(&EmptyGraph), "const char *");
        let pointee = desc.pointee().unwrap();
        assert!(matches!(
            pointee.shape,
            TypeShape::Int { is_char: true, .. }
        ));
        assert!(matches!(
            shape("unsigned long[6]"),
            TypeShape::Array { len: 6, .. }
        ));
        assert!(matches!(shape("char[]"), TypeShape::Array { len: 0, .. }));
        assert!(matches!(shape("struct file *"), TypeShape::Pointer { .. }));
        assert!(matches!(shape("char * const"), TypeShape::Pointer { .. }));
    }

    #[test]
    fn typedef_fallbacks() {
        assert_eq!(shape("umode_t"), int(2, false));
        assert_eq!(shape("pid_t"), int(4, true));
        assert_eq!(shape("no_such_type_t"), TypeShape::Unknown);
    }
}
