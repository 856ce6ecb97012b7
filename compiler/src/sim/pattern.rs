//! A small regular-expression matcher for `generated_ftrace` list patterns
//! (Tetragon matches them with Go's `regexp`, unanchored). Supports what
//! such patterns use: literals, `.`, classes (`[a-z_]`, `[^0-9]`, `\d`,
//! `\w`, `\s`), anchors, groups (`(...)`, `(?:...)`), alternation and the
//! repetitions `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` (lazy forms match the
//! same set of strings, so `?` after them is accepted). Backtracking; the
//! inputs are kernel symbol names, so that is fast enough.

/// Why a pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("unbalanced parenthesis at byte {at}")]
    UnbalancedParenthesis { at: usize },
    #[error("unterminated character class at byte {at}")]
    UnterminatedClass { at: usize },
    #[error("nothing to repeat at byte {at}")]
    NothingToRepeat { at: usize },
    #[error("invalid repetition at byte {at}")]
    InvalidRepetition { at: usize },
    #[error("unsupported syntax `{text}` at byte {at}")]
    Unsupported { text: String, at: usize },
}

#[derive(Clone, Debug)]
enum ClassItem {
    Byte(u8),
    Range(u8, u8),
    Digit,
    Word,
    Space,
}

#[derive(Clone, Debug)]
enum Node {
    Byte(u8),
    Any,
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
    Start,
    End,
    Alt(Vec<Vec<Node>>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    source: String,
    nodes: Vec<Node>,
}

impl Pattern {
    pub fn new(source: &str) -> Result<Pattern, PatternError> {
        let mut parser = Parser {
            bytes: source.as_bytes(),
            at: 0,
        };
        let alt = parser.alternation()?;
        if parser.at < parser.bytes.len() {
            return Err(PatternError::UnbalancedParenthesis { at: parser.at });
        }
        Ok(Pattern {
            source: source.to_string(),
            nodes: vec![alt],
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        (0..=bytes.len())
            .any(|start| Matcher { text: bytes }.sequence(&self.nodes, 0, start, &mut |_| true))
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn alternation(&mut self) -> Result<Node, PatternError> {
        let mut branches = vec![self.concatenation()?];
        while self.peek() == Some(b'|') {
            self.at += 1;
            branches.push(self.concatenation()?);
        }
        Ok(Node::Alt(branches))
    }

    fn concatenation(&mut self) -> Result<Vec<Node>, PatternError> {
        let mut nodes = Vec::new();
        while let Some(b) = self.peek() {
            if b == b'|' || b == b')' {
                break;
            }
            let atom = self.atom()?;
            let atom = self.repetition(atom)?;
            nodes.push(atom);
        }
        Ok(nodes)
    }

    fn atom(&mut self) -> Result<Node, PatternError> {
        let start = self.at;
        let Some(b) = self.peek() else {
            return Err(PatternError::NothingToRepeat { at: start });
        };
        self.at += 1;
        Ok(match b {
            b'.' => Node::Any,
            b'^' => Node::Start,
            b'$' => Node::End,
            b'(' => {
                if self.bytes[self.at..].starts_with(b"?:") {
                    self.at += 2;
                } else if self.peek() == Some(b'?') {
                    return Err(PatternError::Unsupported {
                        text: "(?".into(),
                        at: start,
                    });
                }
                let inner = self.alternation()?;
                if self.peek() != Some(b')') {
                    return Err(PatternError::UnbalancedParenthesis { at: start });
                }
                self.at += 1;
                inner
            }
            b')' => return Err(PatternError::UnbalancedParenthesis { at: start }),
            b'[' => self.class(start)?,
            b'*' | b'+' | b'?' | b'{' => return Err(PatternError::NothingToRepeat { at: start }),
            b'\\' => self.escape(start)?,
            other => Node::Byte(other),
        })
    }

    fn escape(&mut self, start: usize) -> Result<Node, PatternError> {
        let Some(e) = self.peek() else {
            return Err(PatternError::Unsupported {
                text: "\\".into(),
                at: start,
            });
        };
        self.at += 1;
        Ok(match e {
            b'd' => Node::Class {
                negated: false,
                items: vec![ClassItem::Digit],
            },
            b'D' => Node::Class {
                negated: true,
                items: vec![ClassItem::Digit],
            },
            b'w' => Node::Class {
                negated: false,
                items: vec![ClassItem::Word],
            },
            b'W' => Node::Class {
                negated: true,
                items: vec![ClassItem::Word],
            },
            b's' => Node::Class {
                negated: false,
                items: vec![ClassItem::Space],
            },
            b'S' => Node::Class {
                negated: true,
                items: vec![ClassItem::Space],
            },
            b'n' => Node::Byte(b'\n'),
            b't' => Node::Byte(b'\t'),
            c if c.is_ascii_alphanumeric() => {
                return Err(PatternError::Unsupported {
                    text: format!("\\{}", c as char),
                    at: start,
                });
            }
            c => Node::Byte(c),
        })
    }

    fn class(&mut self, start: usize) -> Result<Node, PatternError> {
        let negated = self.peek() == Some(b'^');
        if negated {
            self.at += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let Some(b) = self.peek() else {
                return Err(PatternError::UnterminatedClass { at: start });
            };
            self.at += 1;
            if b == b']' && !first {
                break;
            }
            first = false;
            let low = if b == b'\\' {
                let Some(e) = self.peek() else {
                    return Err(PatternError::UnterminatedClass { at: start });
                };
                self.at += 1;
                match e {
                    b'd' => {
                        items.push(ClassItem::Digit);
                        continue;
                    }
                    b'w' => {
                        items.push(ClassItem::Word);
                        continue;
                    }
                    b's' => {
                        items.push(ClassItem::Space);
                        continue;
                    }
                    other => other,
                }
            } else {
                b
            };
            if self.peek() == Some(b'-') && self.bytes.get(self.at + 1).is_some_and(|n| *n != b']')
            {
                let high = self.bytes[self.at + 1];
                self.at += 2;
                items.push(ClassItem::Range(low, high));
            } else {
                items.push(ClassItem::Byte(low));
            }
        }
        Ok(Node::Class { negated, items })
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.at])
            .ok()?
            .parse()
            .ok()
    }

    fn repetition(&mut self, atom: Node) -> Result<Node, PatternError> {
        let start = self.at;
        let (min, max) = match self.peek() {
            Some(b'*') => (0, None),
            Some(b'+') => (1, None),
            Some(b'?') => (0, Some(1)),
            Some(b'{') => {
                self.at += 1;
                let min = self
                    .number()
                    .ok_or(PatternError::InvalidRepetition { at: start })?;
                let max = if self.peek() == Some(b',') {
                    self.at += 1;
                    if self.peek() == Some(b'}') {
                        None
                    } else {
                        Some(
                            self.number()
                                .ok_or(PatternError::InvalidRepetition { at: start })?,
                        )
                    }
                } else {
                    Some(min)
                };
                if self.peek() != Some(b'}') || max.is_some_and(|m| m < min) {
                    return Err(PatternError::InvalidRepetition { at: start });
                }
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.at += 1;
        if self.peek() == Some(b'?') {
            self.at += 1;
        }
        if matches!(atom, Node::Start | Node::End) {
            return Err(PatternError::NothingToRepeat { at: start });
        }
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }
}

struct Matcher<'t> {
    text: &'t [u8],
}

impl Matcher<'_> {
    fn class_item(item: &ClassItem, b: u8) -> bool {
        match item {
            ClassItem::Byte(x) => *x == b,
            ClassItem::Range(lo, hi) => *lo <= b && b <= *hi,
            ClassItem::Digit => b.is_ascii_digit(),
            ClassItem::Word => b.is_ascii_alphanumeric() || b == b'_',
            ClassItem::Space => b.is_ascii_whitespace(),
        }
    }

    fn sequence(
        &self,
        nodes: &[Node],
        i: usize,
        pos: usize,
        next: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        let Some(node) = nodes.get(i) else {
            return next(pos);
        };
        match node {
            Node::Byte(b) => {
                self.text.get(pos) == Some(b) && self.sequence(nodes, i + 1, pos + 1, next)
            }
            Node::Any => {
                pos < self.text.len()
                    && self.text[pos] != b'\n'
                    && self.sequence(nodes, i + 1, pos + 1, next)
            }
            Node::Class { negated, items } => {
                let Some(b) = self.text.get(pos) else {
                    return false;
                };
                let inside = items.iter().any(|item| Self::class_item(item, *b));
                inside != *negated && self.sequence(nodes, i + 1, pos + 1, next)
            }
            Node::Start => pos == 0 && self.sequence(nodes, i + 1, pos, next),
            Node::End => pos == self.text.len() && self.sequence(nodes, i + 1, pos, next),
            Node::Alt(branches) => branches.iter().any(|branch| {
                self.sequence(branch, 0, pos, &mut |p| {
                    self.sequence(nodes, i + 1, p, next)
                })
            }),
            Node::Repeat { node, min, max } => self.repeat(node, *min, *max, 0, pos, &mut |p| {
                self.sequence(nodes, i + 1, p, next)
            }),
        }
    }

    fn repeat(
        &self,
        node: &Node,
        min: u32,
        max: Option<u32>,
        count: u32,
        pos: usize,
        next: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        if max.is_none_or(|m| count < m) {
            let more = self.sequence(std::slice::from_ref(node), 0, pos, &mut |p| {
                // An empty iteration cannot make progress: stop there.
                (p != pos || count < min) && self.repeat(node, min, max, count + 1, p, next)
            });
            if more {
                return true;
            }
        }
        count >= min && next(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern)
            .map(|p| p.is_match(text))
            .unwrap_or(false)
    }

    #[test]
    fn patterns() {
        assert!(m("^security_", "security_file_open"));
        assert!(!m("^security_", "bpf_security_x"));
        assert!(m("file_open", "security_file_open"));
        assert!(m("^(security|bpf)_.*open$", "bpf_file_open"));
        assert!(!m("^(security|bpf)_.*open$", "bpf_file_opened"));
        assert!(m("^sys_[a-z]+at$", "sys_openat"));
        assert!(!m("^sys_[a-z]+at$", "sys_open2at"));
        assert!(m("x{2,3}y", "axxy"));
        assert!(!m("^x{2,3}y", "xy"));
        assert!(m("a(b)?c", "ac"));
        assert!(m("[^0-9]", "a"));
        assert!(!m("^[^0-9]$", "5"));
        assert!(m("\\d+", "v12"));
        assert!(m("(a*)*b", "aaab"));
        assert!(Pattern::new("(abc").is_err());
        assert!(Pattern::new("*a").is_err());
        assert!(Pattern::new("[abc").is_err());
    }
}
