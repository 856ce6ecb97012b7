//! Building the carried database from loaded kernels: types are hash-consed
//! across kernels (a type shared by six kernels is stored once), named
//! structs are referenced by name so that recursive types need no cycles,
//! strings are sorted and front-coded, and the whole is xz-compressed.

use std::collections::HashMap;
use std::io::Write;

use super::codec::Writer;
use super::{
    DB_MAGIC, DB_VERSION, T_ANON, T_ARRAY, T_CONST, T_ENUM, T_FLOAT, T_INT, T_PROTO, T_PTR, T_REF,
    T_RESTRICT, T_TYPEDEF, T_VOID, T_VOLATILE,
};
use crate::btf::btf_kernel::BtfKernel;
use crate::btf::error::BtfError;
use crate::btf::graph::{CompositeKind, Node, TypeGraph, TypeId};
use crate::btf::kernel::KernelIdentity;
use crate::btf::tracepoint::TracepointFormats;
use crate::btf::types::FieldLocation;

/// One kernel to put in the database.
pub struct DbInput {
    /// How the kernel will be named and selected (`debian-6.1`, aliases...).
    pub identity: KernelIdentity,
    pub kernel: BtfKernel,
    /// Its tracefs formats, when known.
    pub formats: Option<TracepointFormats>,
    /// Use this kernel's `syscalls/sys_enter_*` formats as the reference
    /// syscall prototypes for kernels without their own.
    pub reference: bool,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum TypeKey {
    Void,
    Int {
        flags: u8,
        name: u32,
        size: u32,
    },
    Float {
        name: u32,
        size: u32,
    },
    Ptr(u32),
    Array {
        element: u32,
        len: u32,
    },
    Const(u32),
    Volatile(u32),
    Restrict(u32),
    Typedef {
        name: u32,
        target: u32,
    },
    Ref {
        union: bool,
        name: u32,
    },
    Anon {
        union: bool,
        members: Vec<(u32, u32)>,
    },
    Enum {
        signed: bool,
        name: u32,
        size: u32,
    },
    Proto {
        variadic: bool,
        ret: u32,
        params: Vec<(u32, u32)>,
    },
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct DefKey {
    union: bool,
    name: u32,
    members: Vec<(u32, u32)>,
}

struct EventKey {
    subsystem: u32,
    event: u32,
    id: u32,
    fields: Vec<FieldKey>,
}

struct FieldKey {
    name: u32,
    c_type: u32,
    offset: u32,
    size: u32,
    signed: Option<bool>,
    location: FieldLocation,
    array_len: Option<u32>,
}

struct KernelTables {
    name: u32,
    aliases: Vec<u32>,
    release: u32,
    arch: u8,
    functions: Vec<(u32, u32)>,
    structs: Vec<(u32, u32)>,
    unions: Vec<(u32, u32)>,
    typedefs: Vec<(u32, u32)>,
    events: Vec<EventKey>,
}

#[derive(Default)]
struct Builder {
    strings: HashMap<String, u32>,
    string_list: Vec<String>,
    types: HashMap<TypeKey, u32>,
    type_list: Vec<TypeKey>,
    defs: HashMap<DefKey, u32>,
    def_list: Vec<DefKey>,
}

const IN_PROGRESS: u32 = u32::MAX - 1;
const UNSEEN: u32 = u32::MAX;

impl Builder {
    fn string(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.strings.get(text) {
            return id;
        }
        let id = self.string_list.len() as u32;
        self.string_list.push(text.to_string());
        self.strings.insert(text.to_string(), id);
        id
    }

    fn add_type(&mut self, key: TypeKey) -> u32 {
        if let Some(&id) = self.types.get(&key) {
            return id;
        }
        let id = self.type_list.len() as u32;
        self.type_list.push(key.clone());
        self.types.insert(key, id);
        id
    }

    fn links(
        &mut self,
        kernel: &BtfKernel,
        memo: &mut [u32],
        pairs: Vec<(&str, TypeId)>,
    ) -> Vec<(u32, u32)> {
        pairs
            .into_iter()
            .map(|(name, ty)| (self.string(name), self.intern(kernel, memo, ty)))
            .collect()
    }

    /// The database type id of BTF type `id` (children first, so every
    /// reference points at a smaller id, except through named structs).
    fn intern(&mut self, kernel: &BtfKernel, memo: &mut [u32], id: TypeId) -> u32 {
        let slot = id as usize;
        match memo.get(slot).copied() {
            Some(IN_PROGRESS) | None => return 0, // a cycle only malformed BTF has
            Some(UNSEEN) => {}
            Some(done) => return done,
        }
        memo[slot] = IN_PROGRESS;
        let key = match kernel.node(id) {
            Node::Void | Node::Other => TypeKey::Void,
            Node::Int {
                name,
                size,
                signed,
                is_char,
                is_bool,
            } => TypeKey::Int {
                flags: u8::from(signed) | (u8::from(is_char) << 1) | (u8::from(is_bool) << 2),
                name: self.string(name),
                size,
            },
            Node::Float { name, size } => TypeKey::Float {
                name: self.string(name),
                size,
            },
            Node::Pointer(target) => TypeKey::Ptr(self.intern(kernel, memo, target)),
            Node::Array { element, len } => TypeKey::Array {
                element: self.intern(kernel, memo, element),
                len,
            },
            Node::Const(target) => TypeKey::Const(self.intern(kernel, memo, target)),
            Node::Volatile(target) => TypeKey::Volatile(self.intern(kernel, memo, target)),
            Node::Restrict(target) => TypeKey::Restrict(self.intern(kernel, memo, target)),
            // Type tags are not rendered or resolved: store the tagged type.
            Node::TypeTag(target) => {
                let inner = self.intern(kernel, memo, target);
                memo[slot] = inner;
                return inner;
            }
            Node::Typedef { name, target } => TypeKey::Typedef {
                name: self.string(name),
                target: self.intern(kernel, memo, target),
            },
            Node::Composite { kind, name } if !name.is_empty() => TypeKey::Ref {
                union: kind == CompositeKind::Union,
                name: self.string(name),
            },
            Node::Fwd { kind, name } => TypeKey::Ref {
                union: kind == CompositeKind::Union,
                name: self.string(name),
            },
            Node::Composite { kind, .. } => {
                let pairs: Vec<(&str, TypeId)> = (0..kernel.member_count(id))
                    .filter_map(|index| kernel.member(id, index))
                    .collect();
                TypeKey::Anon {
                    union: kind == CompositeKind::Union,
                    members: self.links(kernel, memo, pairs),
                }
            }
            Node::Enum { name, size, signed } => TypeKey::Enum {
                signed,
                name: self.string(name),
                size,
            },
            Node::FuncProto { ret, variadic } => {
                let ret = self.intern(kernel, memo, ret);
                let pairs: Vec<(&str, TypeId)> = (0..kernel.param_count(id))
                    .filter_map(|index| kernel.param(id, index))
                    .collect();
                TypeKey::Proto {
                    variadic,
                    ret,
                    params: self.links(kernel, memo, pairs),
                }
            }
        };
        let interned = self.add_type(key);
        memo[slot] = interned;
        interned
    }

    fn def(
        &mut self,
        kernel: &BtfKernel,
        memo: &mut [u32],
        id: TypeId,
    ) -> Option<(bool, u32, u32)> {
        let Node::Composite { kind, name } = kernel.node(id) else {
            return None;
        };
        let name = self.string(name);
        let pairs: Vec<(&str, TypeId)> = (0..kernel.member_count(id))
            .filter_map(|index| kernel.member(id, index))
            .collect();
        let members = self.links(kernel, memo, pairs);
        let key = DefKey {
            union: kind == CompositeKind::Union,
            name,
            members,
        };
        let def = match self.defs.get(&key) {
            Some(&def) => def,
            None => {
                let def = self.def_list.len() as u32;
                self.def_list.push(key.clone());
                self.defs.insert(key, def);
                def
            }
        };
        Some((kind == CompositeKind::Union, name, def))
    }

    fn kernel(&mut self, input: &DbInput) -> KernelTables {
        let kernel = &input.kernel;
        let mut memo = vec![UNSEEN; kernel.type_count() as usize];
        let mut seen_functions = std::collections::HashSet::new();
        let mut functions = Vec::new();
        for (name, proto) in kernel.functions() {
            if seen_functions.insert(name) {
                let name_id = self.string(name);
                functions.push((name_id, self.intern(kernel, &mut memo, proto)));
            }
        }
        let mut structs = Vec::new();
        let mut unions = Vec::new();
        for id in kernel.named_composites() {
            if let Some((union, name, def)) = self.def(kernel, &mut memo, id) {
                if union {
                    unions.push((name, def));
                } else {
                    structs.push((name, def));
                }
            }
        }
        let mut typedefs = Vec::new();
        for id in kernel.named_typedefs() {
            if let Node::Typedef { name, .. } = kernel.node(id) {
                let name_id = self.string(name);
                typedefs.push((name_id, self.intern(kernel, &mut memo, id)));
            }
        }
        let mut events = Vec::new();
        if let Some(formats) = &input.formats {
            for ((subsystem, event), format) in formats.all() {
                let fields = format
                    .fields
                    .iter()
                    .map(|field| FieldKey {
                        name: self.string(&field.name),
                        c_type: self.string(&field.c_type),
                        offset: field.offset,
                        size: field.size,
                        signed: field.signed,
                        location: field.location,
                        array_len: field.array_len,
                    })
                    .collect();
                events.push(EventKey {
                    subsystem: self.string(&subsystem),
                    event: self.string(&event),
                    id: format.id,
                    fields,
                });
            }
        }
        let identity = &input.identity;
        KernelTables {
            name: self.string(&identity.name),
            aliases: identity
                .aliases
                .iter()
                .map(|alias| self.string(alias))
                .collect(),
            release: self.string(identity.release.as_deref().unwrap_or("")),
            arch: super::arch_code(identity.arch),
            functions,
            structs,
            unions,
            typedefs,
            events,
        }
    }
}

/// Statistics printed by `tpc kernels build-db`.
#[derive(Debug, Clone, Default)]
pub struct DbStats {
    pub strings: usize,
    pub types: usize,
    pub struct_defs: usize,
    pub uncompressed_bytes: usize,
    pub compressed_bytes: usize,
}

/// Builds, encodes and xz-compresses the database.
pub fn build_db(inputs: &[DbInput]) -> Result<(Vec<u8>, DbStats), BtfError> {
    let mut builder = Builder::default();
    builder.string("");
    builder.add_type(TypeKey::Void);
    let tables: Vec<KernelTables> = inputs.iter().map(|input| builder.kernel(input)).collect();
    let reference = inputs.iter().position(|input| input.reference);
    let encoded = encode(&builder, &tables, reference);
    let compressed = compress(&encoded)?;
    let stats = DbStats {
        strings: builder.string_list.len(),
        types: builder.type_list.len(),
        struct_defs: builder.def_list.len(),
        uncompressed_bytes: encoded.len(),
        compressed_bytes: compressed.len(),
    };
    Ok((compressed, stats))
}

fn compress(bytes: &[u8]) -> Result<Vec<u8>, BtfError> {
    let io_error = |source| BtfError::Decompress {
        what: "the carried database".to_string(),
        format: "xz",
        source,
    };
    let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 9 | 0x8000_0000);
    encoder.write_all(bytes).map_err(io_error)?;
    encoder.finish().map_err(io_error)
}

fn encode(builder: &Builder, tables: &[KernelTables], reference: Option<usize>) -> Vec<u8> {
    // Sorted strings make per-kernel name lists ascending (delta-coded) and
    // let readers binary-search names.
    let mut order: Vec<u32> = (0..builder.string_list.len() as u32).collect();
    order.sort_by(|&a, &b| builder.string_list[a as usize].cmp(&builder.string_list[b as usize]));
    let mut remap = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        remap[old as usize] = new as u32;
    }
    let s = |id: u32| remap[id as usize];

    let mut out = Writer::default();
    out.raw(DB_MAGIC);
    out.u32(DB_VERSION);

    out.usize(order.len());
    let mut previous = "";
    for &old in &order {
        let text = builder.string_list[old as usize].as_str();
        let shared = previous
            .bytes()
            .zip(text.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        // Never split a UTF-8 character.
        let shared = (0..=shared)
            .rev()
            .find(|&n| text.is_char_boundary(n))
            .unwrap_or(0);
        out.usize(shared);
        out.str(&text[shared..]);
        previous = text;
    }

    let links = |out: &mut Writer, pairs: &[(u32, u32)]| {
        out.usize(pairs.len());
        for &(name, ty) in pairs {
            out.u32(s(name));
            out.u32(ty);
        }
    };
    let mark_strings = out.bytes.len();
    out.usize(builder.type_list.len());
    for key in &builder.type_list {
        match key {
            TypeKey::Void => out.byte(T_VOID),
            TypeKey::Int { flags, name, size } => {
                out.byte(T_INT);
                out.byte(*flags);
                out.u32(s(*name));
                out.u32(*size);
            }
            TypeKey::Float { name, size } => {
                out.byte(T_FLOAT);
                out.u32(s(*name));
                out.u32(*size);
            }
            TypeKey::Ptr(target) => {
                out.byte(T_PTR);
                out.u32(*target);
            }
            TypeKey::Array { element, len } => {
                out.byte(T_ARRAY);
                out.u32(*element);
                out.u32(*len);
            }
            TypeKey::Const(target) => {
                out.byte(T_CONST);
                out.u32(*target);
            }
            TypeKey::Volatile(target) => {
                out.byte(T_VOLATILE);
                out.u32(*target);
            }
            TypeKey::Restrict(target) => {
                out.byte(T_RESTRICT);
                out.u32(*target);
            }
            TypeKey::Typedef { name, target } => {
                out.byte(T_TYPEDEF);
                out.u32(s(*name));
                out.u32(*target);
            }
            TypeKey::Ref { union, name } => {
                out.byte(T_REF);
                out.byte(u8::from(*union));
                out.u32(s(*name));
            }
            TypeKey::Anon { union, members } => {
                out.byte(T_ANON);
                out.byte(u8::from(*union));
                links(&mut out, members);
            }
            TypeKey::Enum { signed, name, size } => {
                out.byte(T_ENUM);
                out.byte(u8::from(*signed));
                out.u32(s(*name));
                out.u32(*size);
            }
            TypeKey::Proto {
                variadic,
                ret,
                params,
            } => {
                out.byte(T_PROTO);
                out.byte(u8::from(*variadic));
                out.u32(*ret);
                links(&mut out, params);
            }
        }
    }

    let mark_types = out.bytes.len();
    out.usize(builder.def_list.len());
    for def in &builder.def_list {
        out.byte(u8::from(def.union));
        out.u32(s(def.name));
        links(&mut out, &def.members);
    }

    let mark_defs = out.bytes.len();
    let mut mark_funcs = 0;
    out.usize(tables.len());
    for table in tables {
        out.u32(s(table.name));
        out.usize(table.aliases.len());
        for &alias in &table.aliases {
            out.u32(s(alias));
        }
        out.u32(s(table.release));
        out.byte(table.arch);
        let lists = [
            &table.functions,
            &table.structs,
            &table.unions,
            &table.typedefs,
        ];
        for (list_index, list) in lists.into_iter().enumerate() {
            let before = out.bytes.len();
            let mut sorted: Vec<(u32, u32)> =
                list.iter().map(|&(name, value)| (s(name), value)).collect();
            sorted.sort_unstable();
            sorted.dedup_by_key(|entry| entry.0);
            out.usize(sorted.len());
            let mut last = 0;
            for &(name, _) in &sorted {
                out.u32(name - last);
                last = name;
            }
            for &(_, value) in &sorted {
                out.u32(value);
            }
            if list_index == 0 {
                mark_funcs += out.bytes.len() - before;
            }
        }
        out.usize(table.events.len());
        for event in &table.events {
            out.u32(s(event.subsystem));
            out.u32(s(event.event));
            out.u32(event.id);
            out.usize(event.fields.len());
            for field in &event.fields {
                out.u32(s(field.name));
                out.u32(s(field.c_type));
                out.u32(field.offset);
                out.u32(field.size);
                out.byte(match field.signed {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                });
                out.byte(match field.location {
                    FieldLocation::Inline => 0,
                    FieldLocation::DataLoc => 1,
                    FieldLocation::RelLoc => 2,
                });
                out.u32(field.array_len.map_or(0, |len| len + 1));
            }
        }
    }
    // Section sizes, for tuning the format: `TPC_DB_SECTION_SIZES=1 tpc kernels build-db ...`.
    if std::env::var_os("TPC_DB_SECTION_SIZES").is_some() {
        let xz = |bytes: &[u8]| compress(bytes).map(|c| c.len()).unwrap_or(0);
        let b = &out.bytes;
        eprintln!("strings {} -> {}", mark_strings, xz(&b[..mark_strings]));
        eprintln!(
            "types {} -> {}",
            mark_types - mark_strings,
            xz(&b[mark_strings..mark_types])
        );
        eprintln!(
            "defs {} -> {}",
            mark_defs - mark_types,
            xz(&b[mark_types..mark_defs])
        );
        eprintln!(
            "kernels {} -> {} (function tables {} raw)",
            b.len() - mark_defs,
            xz(&b[mark_defs..]),
            mark_funcs
        );
    }
    out.usize(reference.map_or(0, |index| index + 1));
    out.bytes
}
