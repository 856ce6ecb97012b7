//! A spanned YAML tree built from `saphyr-parser` events. Unlike a typed
//! deserializer it keeps every key and value with its byte span, keeps
//! duplicate keys (so they can be reported), and remembers scalar styles (a
//! quoted `"1"` is text, a plain `1` is a number).
//!
//! The tree is bounded, since `tpc check` reads YAML written by anyone:
//! aliases may copy at most [`MAX_ALIAS_NODES`] nodes per stream (a "billion
//! laughs" file of a few hundred bytes would otherwise expand to billions),
//! and collections nest at most [`MAX_DEPTH`] levels (so no later pass can
//! run out of stack). Both are counted, not timed: the work done is bounded
//! by the input size plus these constants.

use crate::span::{FileId, Span};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use std::collections::HashMap;

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

/// A YAML node with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
    /// An explicit tag such as `!!str`, as written.
    pub tag: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Scalar { text: String, style: Style },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping, in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

/// What a scalar means under the YAML 1.2 core schema (which is also what
/// Kubernetes' YAML-to-JSON conversion produces for the cases policies use).
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarValue<'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(&'a str),
}

impl Node {
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Map(e) => Some(e),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value of key `name` in a mapping (the first one if duplicated).
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|e| e.key.scalar_text() == Some(name))
            .map(|e| &e.value)
    }

    /// Interprets a scalar under the core schema. Quoted and block scalars and
    /// `!!str`-tagged ones are always strings.
    pub fn scalar(&self) -> Option<ScalarValue<'_>> {
        let NodeKind::Scalar { text, style } = &self.kind else {
            return None;
        };
        if *style != Style::Plain || self.tag.as_deref().is_some_and(|t| t.ends_with("str")) {
            return Some(ScalarValue::Str(text));
        }
        Some(resolve_plain(text))
    }

    pub fn is_null(&self) -> bool {
        matches!(self.scalar(), Some(ScalarValue::Null))
    }

    /// A short description of the node's type for messages ("a list", "text").
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Map(_) => "a mapping",
            NodeKind::Seq(_) => "a list",
            NodeKind::Scalar { .. } => match self.scalar() {
                Some(ScalarValue::Null) => "null",
                Some(ScalarValue::Bool(_)) => "a boolean",
                Some(ScalarValue::Int(_)) => "an integer",
                Some(ScalarValue::Float(_)) => "a number",
                _ => "text",
            },
        }
    }
}

/// Resolves a plain scalar under the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> ScalarValue<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarValue::Null,
        "true" | "True" | "TRUE" => return ScalarValue::Bool(true),
        "false" | "False" | "FALSE" => return ScalarValue::Bool(false),
        _ => {}
    }
    if let Some(i) = parse_core_int(text) {
        return ScalarValue::Int(i);
    }
    let t = text.strip_prefix('+').unwrap_or(text);
    let looks_float = t
        .trim_start_matches('-')
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
    if looks_float {
        if let Ok(f) = t.parse::<f64>() {
            return ScalarValue::Float(f);
        }
    }
    match t.to_ascii_lowercase().as_str() {
        ".inf" => {
            return ScalarValue::Float(if text.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "-.inf" => return ScalarValue::Float(f64::NEG_INFINITY),
        ".nan" => return ScalarValue::Float(f64::NAN),
        _ => {}
    }
    ScalarValue::Str(text)
}

fn parse_core_int(text: &str) -> Option<i128> {
    let (neg, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest.is_empty() {
        return None;
    }
    let v = if let Some(h) = rest.strip_prefix("0x") {
        if h.is_empty() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(o) = rest.strip_prefix("0o") {
        if o.is_empty() || !o.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return None;
        }
        i128::from_str_radix(o, 8).ok()?
    } else {
        if !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// One YAML document of a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The document's root node; `None` for an empty document.
    pub root: Option<Node>,
    /// From the first to the last byte of the document's content.
    pub span: Span,
}

/// How many nodes aliases may copy into one stream's trees, in total. Real
/// policies use aliases for a few selectors or value lists (hundreds of
/// nodes); mature YAML loaders cap expansion the same way.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// How deep collections may nest. A policy is at most about 12 levels deep.
pub const MAX_DEPTH: usize = 256;

/// Why the YAML could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// Not valid YAML.
    Syntax,
    /// Valid YAML that goes beyond what tpc reads (alias expansion, nesting).
    Limit,
}

/// A YAML error with the span where reading stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub message: String,
    pub span: Span,
}

/// A node with the number of nodes in it (itself included), so that an
/// alias knows what copying it costs without walking it.
struct Counted {
    node: Node,
    nodes: usize,
}

/// Converts the parser's character offsets into byte offsets.
struct OffsetMap<'a> {
    text: &'a str,
    ascii: bool,
    /// Byte offset of every character, plus one past the end (only when the
    /// text is not ASCII).
    char_to_byte: Vec<u32>,
}

impl<'a> OffsetMap<'a> {
    fn new(text: &'a str) -> Self {
        let ascii = text.is_ascii();
        let char_to_byte = if ascii {
            Vec::new()
        } else {
            let mut v: Vec<u32> = text
                .char_indices()
                .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            v.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
            v
        };
        OffsetMap {
            text,
            ascii,
            char_to_byte,
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.ascii {
            char_index.min(self.text.len())
        } else {
            self.char_to_byte
                .get(char_index)
                .copied()
                .map_or(self.text.len(), |b| b as usize)
        }
    }
}

enum Frame {
    Seq {
        start: usize,
        tag: Option<String>,
        anchor: usize,
        items: Vec<Node>,
        nodes: usize,
    },
    Map {
        start: usize,
        tag: Option<String>,
        anchor: usize,
        entries: Vec<Entry>,
        pending_key: Option<Node>,
        nodes: usize,
    },
}

/// Parses a YAML stream into documents. Stops at the first syntax error.
pub fn parse(file: FileId, text: &str) -> Result<Vec<Document>, YamlError> {
    let mut docs = Vec::new();
    parse_each(file, text, |doc| docs.push(doc))?;
    Ok(docs)
}

/// Parses a YAML stream and hands each document to `each` as soon as it
/// ends, so that only one document's tree is alive at a time (a file of
/// 100,000 policies needs the memory of one). Stops at the first error;
/// the documents before it have been handed over.
pub fn parse_each(
    file: FileId,
    text: &str,
    mut each: impl FnMut(Document),
) -> Result<(), YamlError> {
    let offsets = OffsetMap::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Counted> = HashMap::new();
    let mut alias_nodes = 0usize;
    let mut root: Option<Node> = None;
    let mut doc_start: Option<usize> = None;
    let mut last_end = 0usize;

    let span_of = |s: usize, e: usize| Span::new(file, s, e.max(s));

    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e: ScanError| {
            let at = offsets.byte(e.marker().index());
            // Label the character the parser stopped at (whole, not a byte of it).
            let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            YamlError {
                kind: YamlErrorKind::Syntax,
                message: e.info().to_string(),
                span: span_of(at, end),
            }
        })?;
        let start = offsets.byte(span.start.index());
        let end = offsets.byte(span.end.index());
        let finished: Option<Counted> = match event {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                doc_start = Some(start);
                root = None;
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                let s = doc_start.take().unwrap_or(start);
                let span = match &root {
                    Some(n) => n.span,
                    None => span_of(s, s),
                };
                // An empty document arrives as an empty plain scalar.
                let root = root.take().filter(|n| {
                    !matches!(&n.kind, NodeKind::Scalar { text, style: Style::Plain } if text.is_empty())
                });
                each(Document { root, span });
                None
            }
            Event::Alias(id) => Some(match anchors.get(&id) {
                Some(anchored) => {
                    alias_nodes = alias_nodes.saturating_add(anchored.nodes);
                    if alias_nodes > MAX_ALIAS_NODES {
                        return Err(YamlError {
                            kind: YamlErrorKind::Limit,
                            message: format!(
                                "aliases expand to more than {MAX_ALIAS_NODES} nodes; this one copies {} (an alias bomb?)",
                                anchored.nodes
                            ),
                            span: span_of(start, end),
                        });
                    }
                    Counted {
                        node: anchored.node.clone(),
                        nodes: anchored.nodes,
                    }
                }
                None => {
                    return Err(YamlError {
                        kind: YamlErrorKind::Syntax,
                        message: "alias refers to an unknown anchor".into(),
                        span: span_of(start, end),
                    });
                }
            }),
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    _ => Style::Block,
                };
                let node = Node {
                    span: span_of(start, end),
                    kind: NodeKind::Scalar {
                        text: value.into_owned(),
                        style,
                    },
                    tag: tag.map(|t| t.to_string()),
                };
                Some(anchored(&mut anchors, anchor, node, 1))
            }
            Event::SequenceStart(anchor, tag) => {
                too_deep(&stack, span_of(start, end))?;
                stack.push(Frame::Seq {
                    start,
                    tag: tag.map(|t| t.to_string()),
                    anchor,
                    items: Vec::new(),
                    nodes: 1,
                });
                None
            }
            Event::MappingStart(anchor, tag) => {
                too_deep(&stack, span_of(start, end))?;
                stack.push(Frame::Map {
                    start,
                    tag: tag.map(|t| t.to_string()),
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                    nodes: 1,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    start: s,
                    tag,
                    anchor,
                    items,
                    nodes,
                }) => {
                    // Flow collections end at their closing bracket; block
                    // ones at their last item (the end event of a block
                    // collection sits at the next token).
                    let e = if text.as_bytes().get(s) == Some(&b'[') {
                        end.max(s)
                    } else {
                        items.last().map_or(end.max(s), |n| n.span.end as usize)
                    };
                    let node = Node {
                        span: span_of(s, e),
                        kind: NodeKind::Seq(items),
                        tag,
                    };
                    Some(anchored(&mut anchors, anchor, node, nodes))
                }
                _ => {
                    return Err(YamlError {
                        kind: YamlErrorKind::Syntax,
                        message: "unbalanced sequence end".into(),
                        span: span_of(start, end),
                    });
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    start: s,
                    tag,
                    anchor,
                    entries,
                    nodes,
                    ..
                }) => {
                    let e = if text.as_bytes().get(s) == Some(&b'{') {
                        end.max(s)
                    } else {
                        entries.last().map_or(end.max(s), |en| {
                            en.value.span.end.max(en.key.span.end) as usize
                        })
                    };
                    let node = Node {
                        span: span_of(s, e),
                        kind: NodeKind::Map(entries),
                        tag,
                    };
                    Some(anchored(&mut anchors, anchor, node, nodes))
                }
                _ => {
                    return Err(YamlError {
                        kind: YamlErrorKind::Syntax,
                        message: "unbalanced mapping end".into(),
                        span: span_of(start, end),
                    });
                }
            },
        };
        if let Some(Counted { node, nodes: count }) = finished {
            last_end = last_end.max(node.span.end as usize);
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq { items, nodes, .. }) => {
                    *nodes = nodes.saturating_add(count);
                    items.push(node);
                }
                Some(Frame::Map {
                    entries,
                    pending_key,
                    nodes,
                    ..
                }) => match pending_key.take() {
                    None => {
                        *nodes = nodes.saturating_add(count);
                        *pending_key = Some(node);
                    }
                    Some(key) => {
                        *nodes = nodes.saturating_add(count);
                        entries.push(Entry { key, value: node });
                    }
                },
            }
        }
    }
    Ok(())
}

/// Remembers `node` under its anchor (when it has one) and passes it on.
fn anchored(
    anchors: &mut HashMap<usize, Counted>,
    anchor: usize,
    node: Node,
    nodes: usize,
) -> Counted {
    if anchor > 0 {
        anchors.insert(
            anchor,
            Counted {
                node: node.clone(),
                nodes,
            },
        );
    }
    Counted { node, nodes }
}

/// Refuses a collection that would nest deeper than [`MAX_DEPTH`].
fn too_deep(stack: &[Frame], span: Span) -> Result<(), YamlError> {
    if stack.len() < MAX_DEPTH {
        return Ok(());
    }
    Err(YamlError {
        kind: YamlErrorKind::Limit,
        message: format!("collections nest deeper than {MAX_DEPTH} levels"),
        span,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests unwrap what they just built")]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let docs = parse(FileId(0), text).unwrap();
        docs.into_iter().next().unwrap().root.unwrap()
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "a: 1\nb:\n  - \"x\"\n  - y\n";
        let root = one(text);
        let m = root.as_map().unwrap();
        assert_eq!(&text[m[0].key.span.range()], "a");
        assert_eq!(&text[m[0].value.span.range()], "1");
        let seq = m[1].value.as_seq().unwrap();
        assert_eq!(&text[seq[0].span.range()], "\"x\"");
        assert_eq!(seq[0].scalar(), Some(ScalarValue::Str("x")));
        assert_eq!(&text[seq[1].span.range()], "y");
    }

    #[test]
    fn byte_offsets_with_multibyte_text() {
        let text = "k: \"\u{e9}\u{e9}\"\nz: 2\n";
        let root = one(text);
        let m = root.as_map().unwrap();
        assert_eq!(&text[m[1].key.span.range()], "z");
        assert_eq!(&text[m[1].value.span.range()], "2");
    }

    #[test]
    fn flow_collections_span_their_brackets() {
        let text = "a: [1, {b: 2}]\nc: 3\n";
        let root = one(text);
        let v = root.get("a").unwrap();
        assert_eq!(&text[v.span.range()], "[1, {b: 2}]");
        assert_eq!(&text[v.as_seq().unwrap()[1].span.range()], "{b: 2}");
        let block = one("x:\n  - 1\n  - 2\n\ny: 1\n");
        assert_eq!(block.get("x").unwrap().span.end, 14);
    }

    #[test]
    fn duplicate_keys_are_kept() {
        let root = one("a: 1\na: 2\n");
        assert_eq!(root.as_map().unwrap().len(), 2);
    }

    #[test]
    fn multiple_documents() {
        let docs = parse(FileId(0), "a: 1\n---\nb: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert!(docs[2].root.is_none());
    }

    #[test]
    fn core_schema_scalars() {
        assert_eq!(resolve_plain("0x1f"), ScalarValue::Int(31));
        assert_eq!(resolve_plain("-12"), ScalarValue::Int(-12));
        assert_eq!(resolve_plain("1.5"), ScalarValue::Float(1.5));
        assert_eq!(resolve_plain("true"), ScalarValue::Bool(true));
        assert_eq!(resolve_plain("yes"), ScalarValue::Str("yes"));
        assert_eq!(resolve_plain("~"), ScalarValue::Null);
        assert_eq!(resolve_plain("1m"), ScalarValue::Str("1m"));
    }

    #[test]
    fn syntax_error_has_span() {
        let err = parse(FileId(0), "a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.span.start > 0);
    }

    /// A "billion laughs" stream: 9 levels of 9 aliases each (9^9 nodes).
    pub(crate) fn alias_bomb() -> String {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..9 {
            let prev = format!("*a{}", level - 1);
            let items = [prev.as_str(); 9].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        text
    }

    #[test]
    fn alias_bomb_stops_at_the_expansion_bound() {
        let text = alias_bomb();
        assert!(text.len() < 600, "{} bytes", text.len());
        let err = parse(FileId(0), &text).unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::Limit);
        assert!(text[err.span.range()].starts_with("*a"), "{:?}", err.span);
    }

    #[test]
    fn aliases_within_the_bound_expand() {
        let text = "a: &a [1, 2, 3]\nb: [*a, *a]\n";
        let root = one(text);
        assert_eq!(root.get("b").unwrap().as_seq().unwrap().len(), 2);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let depth = 100_000;
        let block = format!("{}x\n", "- ".repeat(depth));
        let err = parse(FileId(0), &block).unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::Limit);
        assert_eq!(err.span.start as usize, 2 * MAX_DEPTH);
        let fine = format!("{}x\n", "- ".repeat(MAX_DEPTH));
        assert!(parse(FileId(0), &fine).is_ok());
        // The parser itself refuses flow collections nested beyond 255.
        let flow = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse(FileId(0), &flow).is_err());
    }

    #[test]
    fn anchors_and_aliases() {
        let root = one("a: &x {k: v}\nb: *x\n");
        assert_eq!(
            root.get("b").unwrap().get("k").unwrap().scalar_text(),
            Some("v")
        );
    }
}
