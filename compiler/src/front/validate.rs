//! Schema validation of the spanned YAML tree: unknown and misplaced keys,
//! duplicate keys, value types, enumerated values, required keys and list
//! sizes, each reported on the exact key or value.

use super::agent_yaml;
use super::schema;
use super::schema::{ALL_OBJECTS, EnumSpec, ObjectSchema, Shape};
use super::yaml::{Node, NodeKind, ScalarValue, Style};
use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// Validates `node` as an object of `schema`, appending findings to `diags`.
pub fn validate_object(node: &Node, schema: &'static ObjectSchema, diags: &mut Vec<Diagnostic>) {
    Validator { diags }.object(node, schema);
}

struct Validator<'d> {
    diags: &'d mut Vec<Diagnostic>,
}

/// Field name → the object schemas that define it.
fn field_homes() -> &'static HashMap<&'static str, Vec<&'static ObjectSchema>> {
    static HOMES: OnceLock<HashMap<&'static str, Vec<&'static ObjectSchema>>> = OnceLock::new();
    HOMES.get_or_init(|| {
        let mut m: HashMap<&'static str, Vec<&'static ObjectSchema>> = HashMap::new();
        for obj in ALL_OBJECTS {
            for field in obj.fields {
                let homes = m.entry(field.name).or_default();
                if !homes.iter().any(|h| std::ptr::eq(*h, *obj)) {
                    homes.push(obj);
                }
            }
        }
        m
    })
}

fn article(what: &str) -> &'static str {
    match what.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u' | 'L') => "an",
        _ => "a",
    }
}

impl Validator<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn object(&mut self, node: &Node, schema: &'static ObjectSchema) {
        let Some(entries) = node.as_map() else {
            if node.is_null() {
                return;
            }
            self.push(
                Diagnostic::of(
                    Code::WrongType,
                    format!(
                        "expected {} {} (a mapping), found {}",
                        article(schema.what),
                        schema.what,
                        node.describe()
                    ),
                )
                .with_primary(
                    node.span,
                    format!("this should be a mapping of {} fields", schema.what),
                ),
            );
            return;
        };
        let mut seen: HashMap<&str, &Node> = HashMap::new();
        for entry in entries {
            let Some(key) = entry.key.scalar_text() else {
                self.push(
                    Diagnostic::of(Code::WrongType, "mapping keys must be plain names")
                        .with_primary(entry.key.span, "this key is not a name"),
                );
                continue;
            };
            if let Some(first) = seen.get(key) {
                self.push(
                    Diagnostic::of(Code::DuplicateKey, format!("duplicate key `{key}`"))
                        .with_primary(entry.key.span, "repeated here")
                        .with_secondary(first.span, "first defined here")
                        .with_help("YAML keeps only one of the two; merge them into one entry"),
                );
                continue;
            }
            seen.insert(key, &entry.key);
            match schema.field(key) {
                Some(field) => self.value(&entry.value, &field.shape, key),
                None => self.unknown_key(&entry.key, key, schema),
            }
        }
        for field in schema
            .fields
            .iter()
            .filter(|f| f.required && f.default.is_none())
        {
            let present =
                seen.contains_key(field.name) && node.get(field.name).is_some_and(|v| !v.is_null());
            if !present {
                let at = entries.first().map_or(node.span, |e| e.key.span);
                let mut d = Diagnostic::of(
                    Code::MissingField,
                    format!(
                        "{} {} needs `{}`",
                        article(schema.what),
                        schema.what,
                        field.name
                    ),
                )
                .with_primary(at, format!("this {} has no `{}`", schema.what, field.name));
                if let Some(hint) = required_hint(schema, field.name) {
                    d = d.with_help(hint);
                }
                self.push(d);
            }
        }
    }

    fn unknown_key(&mut self, key_node: &Node, key: &str, schema: &'static ObjectSchema) {
        let homes = field_homes().get(key);
        let local = did_you_mean(key, schema.fields.iter().map(|f| f.name));
        if let (Some(homes), None) = (homes, local) {
            let places: Vec<String> = homes
                .iter()
                .map(|h| format!("{} (`{}`)", h.what, h.place))
                .collect();
            self.push(
                Diagnostic::of(
                    Code::MisplacedField,
                    format!(
                        "`{key}` does not belong in {} {}",
                        article(schema.what),
                        schema.what
                    ),
                )
                .with_primary(
                    key_node.span,
                    format!(
                        "`{key}` is not a field of {} {}",
                        article(schema.what),
                        schema.what
                    ),
                )
                .with_help(format!(
                    "`{key}` belongs in {}; check the indentation",
                    join_or(&places)
                )),
            );
            return;
        }
        let mut d = Diagnostic::of(
            Code::UnknownField,
            format!(
                "unknown field `{key}` in {} {}",
                article(schema.what),
                schema.what
            ),
        );
        match local {
            Some(s) => {
                d = d
                    .with_primary(key_node.span, format!("did you mean `{s}`?"))
                    .with_help(format!("replace `{key}` with `{s}`"));
            }
            None => {
                let all = field_homes().keys().copied();
                let elsewhere = did_you_mean(key, all);
                d = d.with_primary(key_node.span, "not a known field");
                let known: Vec<&str> = schema.fields.iter().map(|f| f.name).collect();
                d = match elsewhere.and_then(|e| field_homes().get(e).map(|h| (e, h))) {
                    Some((e, h)) => d.with_help(format!(
                        "did you mean `{e}`? It belongs in {} (`{}`)",
                        h[0].what, h[0].place
                    )),
                    None => d.with_help(format!("known fields here: {}", known.join(", "))),
                };
            }
        }
        d = d.with_note(
            "Kubernetes drops unknown fields silently, so this setting would have no effect",
        );
        self.push(d);
    }

    fn value(&mut self, node: &Node, shape: &'static Shape, key: &str) {
        match shape {
            Shape::Str => self.text(node, key),
            Shape::Scalar => {
                if !matches!(node.kind, NodeKind::Scalar { .. }) {
                    self.push(
                        Diagnostic::of(
                            Code::WrongType,
                            format!("`{key}` must be a single value, found {}", node.describe()),
                        )
                        .with_primary(node.span, "expected a single value"),
                    );
                }
            }
            Shape::Enum(spec) => self.enumerated(node, spec, key),
            Shape::Int { min, bits } => self.int(node, *min, *bits, key),
            Shape::Bool => self.boolean(node, key),
            Shape::List { item, max_items } => {
                if node.is_null() {
                    return;
                }
                let Some(items) = node.as_seq() else {
                    let mut d = Diagnostic::of(
                        Code::WrongType,
                        format!("`{key}` must be a list, found {}", node.describe()),
                    )
                    .with_primary(node.span, "expected a list");
                    if node.as_map().is_some() {
                        d = d.with_help("start each entry with `- `");
                    }
                    self.push(d);
                    return;
                };
                for item_node in items {
                    self.value(item_node, item, key);
                }
                if let Some(max) = max_items {
                    if items.len() > *max {
                        let code = if key == "tags" {
                            Code::TagLimit
                        } else {
                            Code::TooManyFilters
                        };
                        self.push(
                            Diagnostic::error(
                                code,
                                format!("`{key}` takes at most {max} entr{}, found {}", if *max == 1 { "y" } else { "ies" }, items.len()),
                            )
                            .with_primary(items[*max].span, format!("entry {} is one too many", max + 1))
                            .with_help(if *max == 1 {
                                "put the values into the one entry's `values`, or use another selector".to_string()
                            } else {
                                format!("the CRD schema allows at most {max}")
                            }),
                        );
                    }
                }
            }
            Shape::Object(obj) => self.object(node, obj),
            Shape::StringMap => self.string_map(node, key),
            Shape::NamedMap(inner) => {
                if node.is_null() {
                    return;
                }
                let Some(entries) = node.as_map() else {
                    self.push(
                        Diagnostic::of(
                            Code::WrongType,
                            format!(
                                "`{key}` must be a mapping from names to entries, found {}",
                                node.describe()
                            ),
                        )
                        .with_primary(node.span, "expected a mapping"),
                    );
                    return;
                };
                let mut seen: HashMap<&str, &Node> = HashMap::new();
                for e in entries {
                    if let Some(name) = e.key.scalar_text() {
                        if let Some(first) = seen.insert(name, &e.key) {
                            self.push(
                                Diagnostic::of(
                                    Code::DuplicateKey,
                                    format!("`{name}` is defined twice"),
                                )
                                .with_primary(e.key.span, "defined again here")
                                .with_secondary(first.span, "first defined here"),
                            );
                        }
                    }
                    self.value(&e.value, inner, key);
                }
            }
        }
    }

    fn text(&mut self, node: &Node, key: &str) {
        if matches!(node.kind, NodeKind::Scalar { .. }) {
            self.unquoted_non_text(node, key);
            return;
        }
        self.push(
            Diagnostic::of(
                Code::WrongType,
                format!("`{key}` must be text, found {}", node.describe()),
            )
            .with_primary(node.span, "expected a single value"),
        );
    }

    fn enumerated(&mut self, node: &Node, spec: &'static EnumSpec, key: &str) {
        let Some(text) = node.scalar_text() else {
            self.push(
                Diagnostic::of(
                    Code::WrongType,
                    format!(
                        "`{key}` must be one {}, found {}",
                        spec.what,
                        node.describe()
                    ),
                )
                .with_primary(node.span, "expected a single name"),
            );
            return;
        };
        if node.is_null() || spec.allows(text) {
            return;
        }
        if std::ptr::eq(spec, &schema::ACTIONS) && schema::FD_ACTIONS.contains(&text) {
            // In the CRD's enum up to 1.7, gone on main: the verdict depends
            // on the release (`check::removed_fd_actions`).
            return;
        }
        if let Some(canonical) = spec.agent_spelling(text) {
            // Tetragon's Go parsers take this spelling, but the agent checks
            // every policy against the CRD schema first (`FromYAML` →
            // `ValidateCRD`, enums included) and refuses it there, as the
            // API server does; only releases before that check loaded it.
            let crd_ok = spec.values.contains(&canonical);
            let d = Diagnostic::of(
                Code::UnknownValue,
                format!("{} `{text}` is not in the CRD's enum", spec.what),
            );
            let d = if crd_ok {
                d.with_primary(node.span, format!("the CRD spells it `{canonical}`"))
                    .with_help(format!("write `{canonical}`"))
            } else {
                d.with_primary(node.span, "no longer in the CRD")
                    .with_help(format!("`{text}` is an older name that recent Tetragon releases and the CRD do not list; valid {}s: {}", spec.what, spec.values.join(", ")))
            };
            self.push(d.with_note(format!(
                "Tetragon checks the policy against the CRD when it loads it and refuses the value (validation failed: … Unsupported value: \"{text}\"); older agents, without that check, took this spelling"
            )));
            return;
        }
        let mut d = Diagnostic::of(
            Code::UnknownValue,
            format!("unknown {} `{text}`", spec.what),
        );
        match did_you_mean(text, spec.values.iter().copied()) {
            Some(s) => {
                d = d
                    .with_primary(node.span, format!("did you mean `{s}`?"))
                    .with_help(format!("valid {}s: {}", spec.what, spec.values.join(", ")));
            }
            None => {
                d = d
                    .with_primary(node.span, format!("not a valid {}", spec.what))
                    .with_help(format!("valid {}s: {}", spec.what, spec.values.join(", ")));
            }
        }
        self.push(d);
    }

    fn int(&mut self, node: &Node, min: Option<i64>, bits: u8, key: &str) {
        match node.scalar() {
            Some(ScalarValue::Int(v)) => {
                let (lo, hi) = if bits == 32 {
                    (i128::from(i32::MIN), i128::from(i32::MAX))
                } else {
                    (i128::from(i64::MIN), i128::from(i64::MAX))
                };
                let lo = min.map_or(lo, i128::from).max(lo);
                if v < lo || v > hi {
                    self.push(
                        Diagnostic::of(Code::InvalidValue, format!("`{key}` is out of range: {v}"))
                            .with_primary(node.span, format!("must be between {lo} and {hi}")),
                    );
                }
            }
            Some(ScalarValue::Null) => {}
            Some(ScalarValue::Str(s)) => {
                let quoted_number =
                    matches!(
                        &node.kind,
                        NodeKind::Scalar {
                            style: Style::Quoted,
                            ..
                        }
                    ) && matches!(super::yaml::resolve_plain(s.trim()), ScalarValue::Int(_));
                let mut d = Diagnostic::of(
                    Code::WrongType,
                    format!("`{key}` must be an integer, found text `{s}`"),
                )
                .with_primary(node.span, "expected an integer");
                if quoted_number {
                    d = d.with_help(format!("remove the quotes: `{key}: {}`", s.trim()));
                }
                self.push(d);
            }
            _ => {
                self.push(
                    Diagnostic::of(
                        Code::WrongType,
                        format!("`{key}` must be an integer, found {}", node.describe()),
                    )
                    .with_primary(node.span, "expected an integer"),
                );
            }
        }
    }

    fn boolean(&mut self, node: &Node, key: &str) {
        match node.scalar() {
            Some(ScalarValue::Bool(_) | ScalarValue::Null) => {}
            Some(ScalarValue::Str(s)) => {
                let lower = s.to_ascii_lowercase();
                let mut d = Diagnostic::of(
                    Code::WrongType,
                    format!("`{key}` must be true or false, found text `{s}`"),
                )
                .with_primary(node.span, "expected true or false");
                if matches!(lower.as_str(), "true" | "false") {
                    d = d.with_help(format!("remove the quotes: `{key}: {lower}`"));
                } else if matches!(lower.as_str(), "yes" | "on" | "y") {
                    d = d.with_help(format!("write `{key}: true`"));
                } else if matches!(lower.as_str(), "no" | "off" | "n") {
                    d = d.with_help(format!("write `{key}: false`"));
                }
                self.push(d);
            }
            _ => self.push(
                Diagnostic::of(
                    Code::WrongType,
                    format!("`{key}` must be true or false, found {}", node.describe()),
                )
                .with_primary(node.span, "expected true or false"),
            ),
        }
    }

    /// Reports a plain number or boolean where the CRD expects text (see
    /// `agent_yaml`); true when it did.
    fn unquoted_non_text(&mut self, node: &Node, key: &str) -> bool {
        let Some(reading) = agent_yaml::non_text_scalar(node) else {
            return false;
        };
        let written = node.scalar_text().unwrap_or_default();
        let mut note = format!(
            "the Tetragon agent, reading the file, accepts it as the text `{}`",
            reading.text
        );
        if reading.text != written {
            let _ = write!(note, ", not `{written}`");
        }
        self.push(
            Diagnostic::of(
                Code::AgentOnlySpelling,
                format!(
                    "`{key}` is text in the CRD, but `{written}` is {}: `kubectl apply` refuses it",
                    reading.what
                ),
            )
            .with_primary(
                node.span,
                format!("unquoted {}", reading.what.trim_start_matches("a ")),
            )
            .with_help(format!("quote it: `\"{written}\"`"))
            .with_note(note),
        );
        true
    }

    fn string_map(&mut self, node: &Node, key: &str) {
        if node.is_null() {
            return;
        }
        let Some(entries) = node.as_map() else {
            self.push(
                Diagnostic::of(
                    Code::WrongType,
                    format!(
                        "`{key}` must be a mapping of names to values, found {}",
                        node.describe()
                    ),
                )
                .with_primary(node.span, "expected `name: value` pairs"),
            );
            return;
        };
        for e in entries {
            if !matches!(e.value.kind, NodeKind::Scalar { .. }) {
                self.push(
                    Diagnostic::of(
                        Code::WrongType,
                        format!(
                            "values in `{key}` must be text, found {}",
                            e.value.describe()
                        ),
                    )
                    .with_primary(e.value.span, "expected a single value"),
                );
            } else if self.unquoted_non_text(
                &e.value,
                &format!("{key}.{}", e.key.scalar_text().unwrap_or_default()),
            ) {
                // Reported; the label value check would repeat it.
            } else if key == "matchLabels" {
                let v = e.value.scalar_text().unwrap_or("");
                if !is_label_value(v) {
                    self.push(
                        Diagnostic::of(Code::InvalidValue, format!("`{v}` is not a valid label value"))
                            .with_primary(e.value.span, "invalid label value")
                            .with_help("label values are at most 63 characters of letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"),
                    );
                }
            }
        }
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Kubernetes label value: empty, or ≤ 63 chars of `[A-Za-z0-9._-]`
/// starting and ending alphanumeric.
pub fn is_label_value(v: &str) -> bool {
    if v.is_empty() {
        return true;
    }
    v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && v.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

fn required_hint(schema: &ObjectSchema, field: &str) -> Option<&'static str> {
    Some(match (schema.what, field) {
        ("kprobe", "call") => {
            "name the kernel function to hook, e.g. `call: \"security_file_open\"`"
        }
        ("tracepoint", "subsystem") | ("tracepoint", "event") => {
            "a tracepoint is named by `subsystem` and `event`, e.g. `subsystem: syscalls`, `event: sys_enter_openat`"
        }
        ("argument", "type") => "give the argument's type, e.g. `type: int` or `type: file`",
        ("argument", "index") => "give the parameter's position, starting at 0",
        ("argument filter", "operator") => "add an operator such as `operator: Equal`",
        ("binary filter", "values") | ("namespace filter", "values") | ("PID filter", "values") => {
            "an empty or missing `values` list matches nothing"
        }
        ("action", "action") => "name the action, e.g. `action: Post`",
        ("policy document", "metadata") => "add `metadata: {name: my-policy}`",
        ("policy document", "spec") => "the policy's hooks go under `spec`",
        _ => return None,
    })
}
