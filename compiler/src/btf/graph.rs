//! The type-graph view shared by live BTF and the carried database, and the
//! algorithms written once over it: C rendering, shape resolution, prototype
//! extraction and member-path walking.

use super::types::{FunctionSig, Param, PathError, PathStep, ResolvedPath, TypeDesc, TypeShape};

pub(crate) type TypeId = u32;

/// How deep typedef/qualifier/pointer chains may go before we give up
/// (valid kernel BTF never comes close; this only stops malformed cycles).
const MAX_CHAIN: usize = 32;
/// How many pointer levels a [`TypeDesc`] describes.
const MAX_DESC_DEPTH: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompositeKind {
    Struct,
    Union,
}

impl CompositeKind {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Self::Struct => "struct",
            Self::Union => "union",
        }
    }
}

/// One type, decoded just enough to follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node<'a> {
    Void,
    Int {
        name: &'a str,
        size: u32,
        signed: bool,
        is_char: bool,
        is_bool: bool,
    },
    Float {
        name: &'a str,
        size: u32,
    },
    Pointer(TypeId),
    Array {
        element: TypeId,
        len: u32,
    },
    Const(TypeId),
    Volatile(TypeId),
    Restrict(TypeId),
    TypeTag(TypeId),
    Typedef {
        name: &'a str,
        target: TypeId,
    },
    /// A struct or union with its members (empty name when anonymous).
    Composite {
        kind: CompositeKind,
        name: &'a str,
    },
    /// A declaration only; resolve by name with [`TypeGraph::find_composite`].
    Fwd {
        kind: CompositeKind,
        name: &'a str,
    },
    Enum {
        name: &'a str,
        size: u32,
        signed: bool,
    },
    FuncProto {
        ret: TypeId,
        variadic: bool,
    },
    /// Kinds that never appear in C types we render (VAR, DATASEC, ...).
    Other,
}

/// Read access to a kernel's types.
pub(crate) trait TypeGraph {
    fn node(&self, id: TypeId) -> Node<'_>;
    /// Members of a composite, in order: `(name, type)`; empty name for an
    /// anonymous member.
    fn member_count(&self, id: TypeId) -> usize;
    fn member(&self, id: TypeId, index: usize) -> Option<(&str, TypeId)>;
    /// Parameters of a function prototype (the variadic marker excluded).
    fn param_count(&self, id: TypeId) -> usize;
    fn param(&self, id: TypeId, index: usize) -> Option<(&str, TypeId)>;
    /// The defined (non-forward) struct or union called `name`.
    fn find_composite(&self, kind: CompositeKind, name: &str) -> Option<TypeId>;
    /// A typedef called `name`.
    fn find_typedef(&self, name: &str) -> Option<TypeId>;
    /// A member's offset in bits, when the source records offsets.
    fn member_bit_offset(&self, _id: TypeId, _index: usize) -> Option<u32> {
        None
    }
}

/// Follows typedefs, qualifiers and type tags; resolves forward declarations
/// to their definition when the graph has one.
pub(crate) fn strip<G: TypeGraph + ?Sized>(graph: &G, mut id: TypeId) -> TypeId {
    for _ in 0..MAX_CHAIN {
        match graph.node(id) {
            Node::Typedef { target, .. }
            | Node::Const(target)
            | Node::Volatile(target)
            | Node::Restrict(target)
            | Node::TypeTag(target) => id = target,
            Node::Fwd { kind, name } => {
                return graph.find_composite(kind, name).unwrap_or(id);
            }
            _ => return id,
        }
    }
    id
}

/// Renders a type as C (`struct file *`, `const char *`, `int (*)(void *)`).
pub(crate) fn render<G: TypeGraph + ?Sized>(graph: &G, id: TypeId) -> String {
    let mut out = String::new();
    render_into(graph, id, &mut out, 0);
    out
}

fn is_pointer_like<G: TypeGraph + ?Sized>(graph: &G, id: TypeId) -> bool {
    matches!(graph.node(id), Node::Pointer(_))
}

fn render_into<G: TypeGraph + ?Sized>(graph: &G, id: TypeId, out: &mut String, depth: usize) {
    if depth > MAX_CHAIN {
        out.push_str("...");
        return;
    }
    match graph.node(id) {
        Node::Void => out.push_str("void"),
        Node::Int { name, .. } | Node::Float { name, .. } => out.push_str(name),
        Node::Typedef { name, .. } => out.push_str(name),
        Node::Composite { kind, name } | Node::Fwd { kind, name } => {
            out.push_str(kind.keyword());
            out.push(' ');
            out.push_str(if name.is_empty() { "{...}" } else { name });
        }
        Node::Enum { name, .. } => {
            out.push_str("enum ");
            out.push_str(if name.is_empty() { "{...}" } else { name });
        }
        Node::Const(target) | Node::Volatile(target) | Node::Restrict(target) => {
            let word = match graph.node(id) {
                Node::Const(_) => "const",
                Node::Volatile(_) => "volatile",
                _ => "restrict",
            };
            if is_pointer_like(graph, target) {
                render_into(graph, target, out, depth + 1);
                out.push(' ');
                out.push_str(word);
            } else {
                out.push_str(word);
                out.push(' ');
                render_into(graph, target, out, depth + 1);
            }
        }
        Node::TypeTag(target) => render_into(graph, target, out, depth + 1),
        Node::Pointer(target) => match graph.node(target) {
            Node::FuncProto { ret, variadic } => {
                render_into(graph, ret, out, depth + 1);
                out.push_str(" (*)");
                render_params(graph, target, variadic, out, depth);
            }
            Node::Array { element, len } => {
                render_into(graph, element, out, depth + 1);
                out.push_str(&format!(" (*)[{len}]"));
            }
            _ => {
                render_into(graph, target, out, depth + 1);
                if !out.ends_with('*') {
                    out.push(' ');
                }
                out.push('*');
            }
        },
        Node::Array { element, len } => {
            render_into(graph, element, out, depth + 1);
            out.push_str(&format!("[{len}]"));
        }
        Node::FuncProto { ret, variadic } => {
            render_into(graph, ret, out, depth + 1);
            out.push(' ');
            render_params(graph, id, variadic, out, depth);
        }
        Node::Other => out.push('?'),
    }
}

fn render_params<G: TypeGraph + ?Sized>(
    graph: &G,
    proto: TypeId,
    variadic: bool,
    out: &mut String,
    depth: usize,
) {
    out.push('(');
    let count = graph.param_count(proto);
    for index in 0..count {
        if index > 0 {
            out.push_str(", ");
        }
        if let Some((_, ty)) = graph.param(proto, index) {
            render_into(graph, ty, out, depth + 1);
        }
    }
    if variadic {
        out.push_str(if count == 0 { "..." } else { ", ..." });
    } else if count == 0 {
        out.push_str("void");
    }
    out.push(')');
}

/// The rendered type plus its resolved shape.
pub(crate) fn describe<G: TypeGraph + ?Sized>(graph: &G, id: TypeId) -> TypeDesc {
    describe_at(graph, id, 0)
}

fn describe_at<G: TypeGraph + ?Sized>(graph: &G, id: TypeId, depth: usize) -> TypeDesc {
    let c = render(graph, id);
    let mut typedefs = Vec::new();
    let mut current = id;
    let mut shape = TypeShape::Unknown;
    for _ in 0..MAX_CHAIN {
        match graph.node(current) {
            Node::Typedef { name, target } => {
                typedefs.push(name.to_string());
                current = target;
            }
            Node::Const(target)
            | Node::Volatile(target)
            | Node::Restrict(target)
            | Node::TypeTag(target) => current = target,
            node => {
                shape = shape_of(graph, node, depth);
                break;
            }
        }
    }
    TypeDesc { c, typedefs, shape }
}

fn shape_of<G: TypeGraph + ?Sized>(graph: &G, node: Node<'_>, depth: usize) -> TypeShape {
    match node {
        Node::Void => TypeShape::Void,
        Node::Int {
            size,
            signed,
            is_char,
            is_bool,
            ..
        } => TypeShape::Int {
            size,
            signed,
            is_char,
            is_bool,
        },
        Node::Float { size, .. } => TypeShape::Float { size },
        Node::Enum { size, signed, .. } => TypeShape::Enum { size, signed },
        Node::Pointer(target) if depth < MAX_DESC_DEPTH => TypeShape::Pointer {
            pointee: Box::new(describe_at(graph, target, depth + 1)),
        },
        Node::Array { element, len } if depth < MAX_DESC_DEPTH => TypeShape::Array {
            element: Box::new(describe_at(graph, element, depth + 1)),
            len,
        },
        Node::Composite { kind, name } => composite_shape(kind, name),
        Node::Fwd { kind, name } => match graph.find_composite(kind, name) {
            Some(_) => composite_shape(kind, name),
            None => TypeShape::Unknown,
        },
        Node::FuncProto { .. } => TypeShape::Function,
        _ => TypeShape::Unknown,
    }
}

fn composite_shape(kind: CompositeKind, name: &str) -> TypeShape {
    match kind {
        CompositeKind::Struct => TypeShape::Struct {
            name: name.to_string(),
        },
        CompositeKind::Union => TypeShape::Union {
            name: name.to_string(),
        },
    }
}

/// The prototype of a function whose FUNC_PROTO is `proto`.
pub(crate) fn signature<G: TypeGraph + ?Sized>(
    graph: &G,
    name: &str,
    proto: TypeId,
) -> FunctionSig {
    let (ret, variadic) = match graph.node(proto) {
        Node::FuncProto { ret, variadic } => (ret, variadic),
        _ => (0, false),
    };
    let params = (0..graph.param_count(proto))
        .filter_map(|index| graph.param(proto, index))
        .map(|(param_name, ty)| Param {
            name: param_name.to_string(),
            ty: describe(graph, ty),
        })
        .collect();
    FunctionSig {
        name: name.to_string(),
        params,
        ret: describe(graph, ret),
        variadic,
    }
}

/// The prototype behind typedef `btf_trace_<event>` (a pointer to a function
/// prototype whose first parameter is the raw tracepoint's context), with
/// that context parameter dropped.
pub(crate) fn raw_tracepoint_signature<G: TypeGraph + ?Sized>(
    graph: &G,
    event: &str,
) -> Option<FunctionSig> {
    let name = format!("btf_trace_{event}");
    let typedef = graph.find_typedef(&name)?;
    let Node::Pointer(target) = graph.node(strip(graph, typedef)) else {
        return None;
    };
    let proto = strip(graph, target);
    if !matches!(graph.node(proto), Node::FuncProto { .. }) {
        return None;
    }
    let mut sig = signature(graph, &name, proto);
    if !sig.params.is_empty() {
        sig.params.remove(0);
    }
    Some(sig)
}

/// Finds `name` among a composite's members, looking inside anonymous
/// struct/union members as C does. Returns the member type and whether it
/// was found inside an anonymous member.
pub(crate) fn find_member<G: TypeGraph + ?Sized>(
    graph: &G,
    composite: TypeId,
    name: &str,
) -> Option<(TypeId, bool)> {
    find_member_at(graph, composite, name, 0)
}

fn find_member_at<G: TypeGraph + ?Sized>(
    graph: &G,
    composite: TypeId,
    name: &str,
    depth: usize,
) -> Option<(TypeId, bool)> {
    if depth > MAX_CHAIN {
        return None;
    }
    let count = graph.member_count(composite);
    // Named members first: C forbids a clash, but BTF does not check.
    for index in 0..count {
        if let Some((member_name, ty)) = graph.member(composite, index)
            && member_name == name
        {
            return Some((ty, depth > 0));
        }
    }
    for index in 0..count {
        if let Some(("", ty)) = graph.member(composite, index) {
            let inner = strip(graph, ty);
            if matches!(graph.node(inner), Node::Composite { .. })
                && let Some(found) = find_member_at(graph, inner, name, depth + 1)
            {
                return Some((found.0, true));
            }
        }
    }
    None
}

/// Every member name reachable without a dot (anonymous members flattened).
pub(crate) fn member_names<G: TypeGraph + ?Sized>(graph: &G, composite: TypeId) -> Vec<String> {
    let mut names = Vec::new();
    collect_member_names(graph, composite, &mut names, 0);
    names
}

fn collect_member_names<G: TypeGraph + ?Sized>(
    graph: &G,
    composite: TypeId,
    names: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_CHAIN {
        return;
    }
    for index in 0..graph.member_count(composite) {
        match graph.member(composite, index) {
            Some(("", ty)) => {
                let inner = strip(graph, ty);
                if matches!(graph.node(inner), Node::Composite { .. }) {
                    collect_member_names(graph, inner, names, depth + 1);
                }
            }
            Some((name, _)) => names.push(name.to_string()),
            None => {}
        }
    }
}

/// Walks `path` (dot-separated members, each optionally `[index]`) from
/// `root`, dereferencing one pointer level before each member access, the
/// way Tetragon's `resolve` does.
pub(crate) fn walk_path<G: TypeGraph + ?Sized>(
    graph: &G,
    root: TypeId,
    path: &str,
) -> Result<ResolvedPath, PathError> {
    let mut resolved = ResolvedPath {
        root: describe(graph, root),
        steps: Vec::new(),
    };
    if path.trim().is_empty() {
        return Ok(resolved);
    }
    let mut current = root;
    let mut walked = String::new();
    for (step, segment) in path.split('.').enumerate() {
        let (member, index) = parse_segment(step, segment)?;
        // Tetragon dereferences every pointer level on the way to a member
        // (`pkg/btf` `ResolveBTFPath` recurses through pointers), so
        // `struct cred **` walks like `struct cred *`.
        let mut container = strip(graph, current);
        for _ in 0..MAX_CHAIN {
            let Node::Pointer(target) = graph.node(container) else {
                break;
            };
            container = strip(graph, target);
        }
        let walked_label = if walked.is_empty() {
            "(the argument)".to_string()
        } else {
            walked.clone()
        };
        match graph.node(container) {
            Node::Composite { .. } => {}
            Node::Fwd { .. } => {
                return Err(PathError::IncompleteType {
                    step,
                    walked: walked_label,
                    member: member.to_string(),
                    ty: render(graph, container),
                });
            }
            _ => {
                return Err(PathError::NotAComposite {
                    step,
                    walked: walked_label,
                    member: member.to_string(),
                    ty: render(graph, current),
                });
            }
        }
        let Some((member_ty, through_anonymous)) = find_member(graph, container, member) else {
            let names = member_names(graph, container);
            return Err(PathError::NoSuchMember {
                step,
                walked: walked_label,
                member: member.to_string(),
                container: render(graph, container),
                suggestions: suggest(member, &names),
            });
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(member);
        let mut ty = member_ty;
        if let Some(index) = index {
            let indexed = strip(graph, ty);
            match graph.node(indexed) {
                Node::Array { element, len } => {
                    if len > 0 && index >= u64::from(len) {
                        return Err(PathError::IndexOutOfRange {
                            step,
                            walked,
                            ty: render(graph, ty),
                            index,
                            len,
                        });
                    }
                    ty = element;
                }
                Node::Pointer(target) => ty = target,
                _ => {
                    return Err(PathError::NotIndexable {
                        step,
                        walked,
                        ty: render(graph, ty),
                    });
                }
            }
            walked.push_str(&format!("[{index}]"));
        }
        resolved.steps.push(PathStep {
            member: segment.trim().to_string(),
            ty: describe(graph, ty),
            through_anonymous,
        });
        current = ty;
        if step > MAX_CHAIN * 4 {
            return Err(PathError::TooDeep);
        }
    }
    Ok(resolved)
}

fn parse_segment(step: usize, segment: &str) -> Result<(&str, Option<u64>), PathError> {
    let segment = segment.trim();
    if segment.is_empty() {
        return Err(PathError::EmptySegment { step });
    }
    let bad = || PathError::BadSegment {
        step,
        segment: segment.to_string(),
    };
    let (name, index) = match segment.split_once('[') {
        None => (segment, None),
        Some((name, rest)) => {
            let digits = rest.strip_suffix(']').ok_or_else(bad)?;
            let index = digits.trim().parse::<u64>().map_err(|_| bad())?;
            (name.trim(), Some(index))
        }
    };
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(bad());
    }
    Ok((name, index))
}

/// Up to three member names close to `wanted` (edit distance ≤ 2, or a
/// prefix/suffix relation), best first.
pub(crate) fn suggest(wanted: &str, names: &[String]) -> Vec<String> {
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .filter_map(|name| {
            let distance = edit_distance(wanted, name);
            let related = name.starts_with(wanted) || wanted.starts_with(name.as_str());
            (distance <= 2 || (related && wanted.len() >= 3)).then_some((distance, name))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(3)
        .map(|(_, name)| name.clone())
        .collect()
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Looks up a named type as `btfType` spells it: `struct x`, `union x`,
/// `x` (struct, then union, then typedef).
pub(crate) fn find_named_type<G: TypeGraph + ?Sized>(graph: &G, name: &str) -> Option<TypeId> {
    let name = name.trim();
    if let Some(rest) = name.strip_prefix("struct ") {
        return graph.find_composite(CompositeKind::Struct, rest.trim());
    }
    if let Some(rest) = name.strip_prefix("union ") {
        return graph.find_composite(CompositeKind::Union, rest.trim());
    }
    graph
        .find_composite(CompositeKind::Struct, name)
        .or_else(|| graph.find_composite(CompositeKind::Union, name))
        .or_else(|| graph.find_typedef(name))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("name", "name"), 0);
        assert_eq!(edit_distance("nam", "name"), 1);
        assert_eq!(edit_distance("dentry", "d_entry"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn suggestions_prefer_close_names() {
        let names: Vec<String> = ["name", "hash", "len", "hash_len"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(suggest("nam", &names), vec!["name".to_string()]);
        assert!(suggest("zzzzzz", &names).is_empty());
    }

    #[test]
    fn segments_parse() {
        assert_eq!(parse_segment(0, "comm").unwrap(), ("comm", None));
        assert_eq!(parse_segment(0, "args[3]").unwrap(), ("args", Some(3)));
        assert!(parse_segment(0, "a[b]").is_err());
        assert!(parse_segment(0, "").is_err());
        assert!(parse_segment(0, "a-b").is_err());
    }
}
