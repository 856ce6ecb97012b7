//! The TracingPolicy that a `RuntimeSecurityPolicy` stands for, as a small
//! YAML tree built by the RSP frontend: every node carries the span of the
//! RSP text that caused it. The tree becomes a spanned [`Node`] tree for the
//! TracingPolicy resolver (so findings point at the RSP lines), and YAML
//! text for `tpc convert`, written the way a person writes a policy.

use crate::front::yaml::{Entry, Node, NodeKind, ScalarValue, Style, resolve_plain};
use crate::span::Span;

/// A node of the generated TracingPolicy.
#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    /// A single value; `quoted` values are text whatever they look like.
    Scalar {
        text: String,
        quoted: bool,
        span: Span,
    },
    Seq {
        items: Vec<Tree>,
        span: Span,
    },
    Map {
        entries: Vec<TreeEntry>,
        span: Span,
    },
}

/// One `key: value` of a generated mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeEntry {
    pub key: String,
    pub key_span: Span,
    pub value: Tree,
    /// A comment line written above the entry by `tpc convert`.
    pub comment: Option<String>,
}

impl Tree {
    /// Text, written plain when that reads back as the same text, quoted
    /// otherwise (`"443"`, `"true"`, `"*"`).
    pub fn text(text: impl Into<String>, span: Span) -> Tree {
        let text = text.into();
        let quoted = !plain_is_text(&text);
        Tree::Scalar { text, quoted, span }
    }

    /// A number or boolean, written plain.
    pub fn plain(text: impl Into<String>, span: Span) -> Tree {
        Tree::Scalar {
            text: text.into(),
            quoted: false,
            span,
        }
    }

    pub fn map(span: Span) -> Tree {
        Tree::Map {
            entries: Vec::new(),
            span,
        }
    }

    pub fn seq(items: Vec<Tree>, span: Span) -> Tree {
        Tree::Seq { items, span }
    }

    /// Adds `key: value` to a mapping (no effect on other nodes).
    pub fn with(mut self, key: &str, value: Tree) -> Tree {
        self.push(key, value);
        self
    }

    /// Adds `key: value` to a mapping, keyed at the value's span.
    pub fn push(&mut self, key: &str, value: Tree) {
        self.push_commented(key, value, None);
    }

    /// Adds `key: value` with a comment line above it.
    pub fn push_commented(&mut self, key: &str, value: Tree, comment: Option<String>) {
        if let Tree::Map { entries, .. } = self {
            entries.push(TreeEntry {
                key: key.to_string(),
                key_span: value.span(),
                value,
                comment,
            });
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Tree::Scalar { span, .. } | Tree::Seq { span, .. } | Tree::Map { span, .. } => *span,
        }
    }

    /// The spanned YAML node the TracingPolicy resolver reads.
    pub fn to_node(&self) -> Node {
        let kind = match self {
            Tree::Scalar { text, quoted, .. } => NodeKind::Scalar {
                text: text.clone(),
                style: if *quoted { Style::Quoted } else { Style::Plain },
            },
            Tree::Seq { items, .. } => NodeKind::Seq(items.iter().map(Tree::to_node).collect()),
            Tree::Map { entries, .. } => NodeKind::Map(
                entries
                    .iter()
                    .map(|e| Entry {
                        key: Node {
                            span: e.key_span,
                            kind: NodeKind::Scalar {
                                text: e.key.clone(),
                                style: Style::Plain,
                            },
                            tag: None,
                        },
                        value: e.value.to_node(),
                    })
                    .collect(),
            ),
        };
        Node {
            span: self.span(),
            kind,
            tag: None,
        }
    }

    /// The tree as a YAML document: block mappings indented by two spaces,
    /// list items at their key's indentation, short lists of values inline.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        match self {
            Tree::Map { entries, .. } => write_entries(entries, 0, false, &mut out),
            other => {
                out.push_str(&scalar_or_flow(other).unwrap_or_default());
                out.push('\n');
            }
        }
        out
    }
}

/// Whether `text` written plain reads back as this text (not a number,
/// boolean or null, and free of YAML indicators).
fn plain_is_text(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == '/' || first == '_' || first == '.') {
        return false;
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_.-+@".contains(c))
    {
        return false;
    }
    matches!(resolve_plain(text), ScalarValue::Str(_))
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A scalar, or a list of scalars in flow style; `None` for anything else.
fn scalar_or_flow(tree: &Tree) -> Option<String> {
    match tree {
        Tree::Scalar { text, quoted, .. } => Some(if *quoted { quote(text) } else { text.clone() }),
        Tree::Seq { items, .. } => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|i| match i {
                    Tree::Scalar { .. } => scalar_or_flow(i),
                    _ => None,
                })
                .collect();
            Some(format!("[{}]", parts?.join(", ")))
        }
        Tree::Map { entries, .. } if entries.is_empty() => Some("{}".to_string()),
        Tree::Map { .. } => None,
    }
}

/// Flow lists longer than this are written one item per line.
const FLOW_WIDTH: usize = 72;

/// Writes mapping entries at `indent`; with `dash`, the first entry starts a
/// list item (`- key: value`) two columns to the left.
fn write_entries(entries: &[TreeEntry], indent: usize, dash: bool, out: &mut String) {
    let pad = " ".repeat(indent);
    for (i, entry) in entries.iter().enumerate() {
        let lead = if dash && i == 0 {
            format!("{}- ", " ".repeat(indent.saturating_sub(2)))
        } else {
            pad.clone()
        };
        if let Some(comment) = &entry.comment {
            let at = if dash && i == 0 {
                " ".repeat(indent.saturating_sub(2))
            } else {
                pad.clone()
            };
            for line in comment.lines() {
                out.push_str(&format!("{at}# {line}\n"));
            }
        }
        out.push_str(&lead);
        out.push_str(&entry.key);
        out.push(':');
        write_value(&entry.value, indent, out);
    }
}

fn write_value(value: &Tree, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Tree::Seq { items, .. }
            if items.iter().all(|i| matches!(i, Tree::Map { .. })) && !items.is_empty() =>
        {
            out.push('\n');
            for item in items {
                if let Tree::Map { entries, .. } = item {
                    if entries.is_empty() {
                        out.push_str(&format!("{pad}- {{}}\n"));
                    } else {
                        write_entries(entries, indent + 2, true, out);
                    }
                }
            }
        }
        Tree::Map { entries, .. } if !entries.is_empty() => {
            out.push('\n');
            write_entries(entries, indent + 2, false, out);
        }
        other => match scalar_or_flow(other) {
            Some(text)
                if text.len() + indent <= FLOW_WIDTH || !matches!(other, Tree::Seq { .. }) =>
            {
                out.push(' ');
                out.push_str(&text);
                out.push('\n');
            }
            _ => {
                out.push('\n');
                if let Tree::Seq { items, .. } = other {
                    for item in items {
                        let text = scalar_or_flow(item).unwrap_or_default();
                        out.push_str(&format!("{pad}- {text}\n"));
                    }
                }
            }
        },
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;
    use crate::span::FileId;

    #[test]
    fn printed_yaml_reads_back_as_the_same_tree() {
        let s = Span::new(FileId(0), 0, 0);
        let tree = Tree::map(s)
            .with("kind", Tree::text("TracingPolicy", s))
            .with(
                "spec",
                Tree::map(s).with(
                    "kprobes",
                    Tree::seq(
                        vec![
                            Tree::map(s)
                                .with("call", Tree::text("sys_connect", s))
                                .with("syscall", Tree::plain("true", s))
                                .with(
                                    "values",
                                    Tree::seq(
                                        vec![Tree::text("443", s), Tree::text("/usr/bin/curl", s)],
                                        s,
                                    ),
                                ),
                        ],
                        s,
                    ),
                ),
            );
        let text = tree.to_yaml();
        assert_eq!(
            text,
            "kind: TracingPolicy\nspec:\n  kprobes:\n  - call: sys_connect\n    syscall: true\n    values: [\"443\", /usr/bin/curl]\n"
        );
        let docs = crate::front::yaml::parse(FileId(0), &text).unwrap();
        let root = docs[0].root.as_ref().unwrap();
        let values = root
            .get("spec")
            .and_then(|s| s.get("kprobes"))
            .and_then(|k| k.as_seq())
            .and_then(|k| k[0].get("values"))
            .and_then(|v| v.as_seq())
            .unwrap();
        assert_eq!(values[0].scalar_text(), Some("443"));
        assert!(matches!(
            values[0].kind,
            NodeKind::Scalar {
                style: Style::Quoted,
                ..
            }
        ));
    }
}
