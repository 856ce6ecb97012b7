//! Resolution: the schema-validated YAML tree (our AST) → the IR. Merges
//! selector macros, expands `list:` references, points argument filters at
//! the declarations they read, and parses every filter value for its operator
//! and argument type. Problems found here are reported and the offending
//! piece is left out of the IR.

use super::yaml::{Node, ScalarValue};
use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::value::{self, FilterValue, ValueError};
use crate::ir::*;
use crate::span::{Span, Spanned};
use std::collections::HashMap;

/// Reads fields of a mapping node leniently: wrong shapes were reported by
/// the schema validator, so they read as absent here.
#[derive(Clone, Copy)]
struct Obj<'a>(&'a Node);

impl<'a> Obj<'a> {
    fn get(self, key: &str) -> Option<&'a Node> {
        self.0.get(key).filter(|n| !n.is_null())
    }

    fn str(self, key: &str) -> Option<Spanned<String>> {
        self.get(key).and_then(agent_text)
    }

    fn bool(self, key: &str) -> Option<Spanned<bool>> {
        let n = self.get(key)?;
        match n.scalar() {
            Some(ScalarValue::Bool(b)) => Some(Spanned::new(b, n.span)),
            _ => None,
        }
    }

    fn flag(self, key: &str) -> bool {
        self.bool(key).is_some_and(|b| b.value)
    }

    fn int(self, key: &str) -> Option<Spanned<i128>> {
        let n = self.get(key)?;
        match n.scalar() {
            Some(ScalarValue::Int(v)) => Some(Spanned::new(v, n.span)),
            _ => None,
        }
    }

    fn i32(self, key: &str) -> Option<Spanned<i32>> {
        let v = self.int(key)?;
        i32::try_from(v.value).ok().map(|x| Spanned::new(x, v.span))
    }

    fn u32(self, key: &str) -> Option<Spanned<u32>> {
        let v = self.int(key)?;
        u32::try_from(v.value).ok().map(|x| Spanned::new(x, v.span))
    }

    fn i64(self, key: &str) -> Option<Spanned<i64>> {
        let v = self.int(key)?;
        i64::try_from(v.value).ok().map(|x| Spanned::new(x, v.span))
    }

    fn list(self, key: &str) -> &'a [Node] {
        self.get(key).and_then(Node::as_seq).unwrap_or(&[])
    }

    fn maps(self, key: &str) -> impl Iterator<Item = Obj<'a>> {
        self.list(key)
            .iter()
            .filter(|n| n.as_map().is_some())
            .map(Obj)
    }

    fn strings(self, key: &str) -> Vec<Spanned<String>> {
        self.list(key).iter().filter_map(agent_text).collect()
    }

    fn ints(self, key: &str) -> Vec<Spanned<i64>> {
        self.list(key)
            .iter()
            .filter_map(|n| match n.scalar() {
                Some(ScalarValue::Int(v)) => i64::try_from(v).ok().map(|x| Spanned::new(x, n.span)),
                _ => None,
            })
            .collect()
    }
}

/// A scalar's text as the agent reads it into a string field: as written,
/// except that a plain number or YAML 1.1 boolean becomes the agent's text
/// for it (`0x40` → `64`, `yes` → `true`; reported as TPC010 by the schema
/// validator).
fn agent_text(n: &Node) -> Option<Spanned<String>> {
    let text = match super::agent_yaml::non_text_scalar(n) {
        Some(reading) => reading.text,
        None => n.scalar_text()?.to_string(),
    };
    Some(Spanned::new(text, n.span))
}

/// Lowers one validated policy document.
pub fn lower_policy(
    root: &Node,
    kind: PolicyKind,
    kind_span: Span,
    doc_span: Span,
    diags: &mut Vec<Diagnostic>,
) -> Option<Policy> {
    let doc = Obj(root);
    let meta = doc.get("metadata").map(Obj);
    let name = meta.and_then(|m| m.str("name"));
    let name = match name {
        Some(n) => {
            if !is_dns_subdomain(&n.value) {
                diags.push(
                    Diagnostic::of(Code::InvalidName, format!("`{}` is not a valid policy name", n.value))
                        .with_primary(n.span, "not a lowercase DNS subdomain name")
                        .with_help(format!(
                            "names are at most 253 characters of lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, e.g. `{}`",
                            suggest_dns_name(&n.value)
                        )),
                );
            }
            n
        }
        None => {
            let at = meta.map_or(doc_span, |m| m.0.span);
            diags.push(
                Diagnostic::of(Code::InvalidName, "the policy has no `metadata.name`")
                    .with_primary(at, "no name here")
                    .with_help("add `name: my-policy` under `metadata`"),
            );
            Spanned::new(String::new(), at)
        }
    };
    let namespace = meta.and_then(|m| m.str("namespace"));
    let spec = Obj(doc.get("spec")?);
    let mut cx = Resolver::new(spec, diags);

    let mut hooks = Vec::new();
    for (key, hk) in [
        ("kprobes", HookKind::Kprobe),
        ("fentries", HookKind::Fentry),
        ("tracepoints", HookKind::Tracepoint),
        ("uprobes", HookKind::Uprobe),
        ("usdts", HookKind::Usdt),
        ("lsmhooks", HookKind::Lsm),
    ] {
        for (i, h) in spec.list(key).iter().enumerate() {
            if h.as_map().is_none() {
                continue;
            }
            if let Some(hook) = cx.hook(Obj(h), hk, i) {
                hooks.push(hook);
            }
        }
    }
    let enforcers = spec
        .maps("enforcers")
        .map(|e| {
            let mut calls = Vec::new();
            for c in e.strings("calls") {
                calls.extend(cx.expand_calls(&c));
            }
            Enforcer {
                span: e.0.span,
                calls,
            }
        })
        .collect();
    let options = spec
        .maps("options")
        .filter_map(|o| {
            Some(PolicyOption {
                span: o.0.span,
                name: o.str("name")?,
                value: o.str("value"),
            })
        })
        .collect();
    let selector_of = |key: &str| spec.get(key).map(label_selector);
    let policy = Policy {
        name,
        kind,
        namespace,
        span: doc_span,
        kind_span,
        hooks,
        enforcers,
        options,
        loader: spec.bool("loader"),
        pod_selector: selector_of("podSelector"),
        container_selector: selector_of("containerSelector"),
        host_selector: selector_of("hostSelector"),
        node_selector: selector_of("nodeSelector"),
        lists: Vec::new(),
        macros: Vec::new(),
        binding: None,
        rsp: None,
    };
    let (lists, macros) = cx.finish();
    let mut policy = Policy {
        lists,
        macros,
        ..policy
    };
    compact(&mut policy);
    Some(policy)
}

/// Gives back the spare capacity of the policy's big lists: a `Vec` of
/// hooks or selectors grows to four slots on its first push (about 3 KB),
/// which made a file of many one-hook policies take 60 times its size.
fn compact(policy: &mut Policy) {
    policy.hooks.shrink_to_fit();
    for hook in &mut policy.hooks {
        hook.args.shrink_to_fit();
        hook.data.shrink_to_fit();
        hook.selectors.shrink_to_fit();
        for selector in &mut hook.selectors {
            selector.match_args.shrink_to_fit();
            selector.match_data.shrink_to_fit();
            selector.match_return_args.shrink_to_fit();
            selector.match_binaries.shrink_to_fit();
            selector.match_parent_binaries.shrink_to_fit();
            selector.match_actions.shrink_to_fit();
            selector.match_return_actions.shrink_to_fit();
            let filters = selector
                .match_args
                .iter_mut()
                .chain(&mut selector.match_data)
                .chain(&mut selector.match_return_args);
            for filter in filters {
                filter.targets.shrink_to_fit();
                filter.values.shrink_to_fit();
                filter.raw_values.shrink_to_fit();
            }
        }
    }
}

fn label_selector(node: &Node) -> LabelSelector {
    let o = Obj(node);
    let match_labels = o
        .get("matchLabels")
        .and_then(Node::as_map)
        .unwrap_or(&[])
        .iter()
        .filter_map(|e| {
            Some((
                Spanned::new(e.key.scalar_text()?.to_string(), e.key.span),
                agent_text(&e.value).unwrap_or_else(|| Spanned::new(String::new(), e.value.span)),
            ))
        })
        .collect();
    let match_expressions = o
        .maps("matchExpressions")
        .filter_map(|r| {
            let op = r.str("operator")?;
            Some(LabelRequirement {
                span: r.0.span,
                key: r.str("key")?,
                operator: Spanned::new(LabelOp::from_name(&op.value)?, op.span),
                values: r.strings("values"),
            })
        })
        .collect();
    LabelSelector {
        span: node.span,
        match_labels,
        match_expressions,
    }
}

/// Kubernetes object names: RFC 1123 subdomain.
pub fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn suggest_dns_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' | '-' | '.' => c,
            _ => '-',
        })
        .collect();
    while out.starts_with(['-', '.']) {
        out.remove(0);
    }
    while out.ends_with(['-', '.']) {
        out.pop();
    }
    if out.is_empty() {
        "my-policy".into()
    } else {
        out
    }
}

struct ListEntry {
    def: ListDef,
}

struct Resolver<'a, 'd> {
    diags: &'d mut Vec<Diagnostic>,
    lists: Vec<ListEntry>,
    macros: Vec<(Spanned<String>, &'a Node, bool)>,
}

impl<'a, 'd> Resolver<'a, 'd> {
    fn new(spec: Obj<'a>, diags: &'d mut Vec<Diagnostic>) -> Self {
        let mut lists: Vec<ListEntry> = Vec::new();
        for l in spec.maps("lists") {
            let Some(name) = l.str("name") else { continue };
            let kind_node = l.str("type");
            let kind = match kind_node.as_ref().map(|k| k.value.to_ascii_lowercase()) {
                None => ListKind::Functions,
                Some(k) if k == "syscalls" => ListKind::Syscalls,
                Some(k) if k == "generated_syscalls" => ListKind::GeneratedSyscalls,
                Some(k) if k == "generated_ftrace" => ListKind::GeneratedFtrace,
                Some(_) => ListKind::Functions,
            };
            if let Some(prev) = lists.iter().find(|e| e.def.name.value == name.value) {
                diags.push(
                    Diagnostic::of(
                        Code::InvalidList,
                        format!("list `{}` is defined twice", name.value),
                    )
                    .with_primary(name.span, "defined again here")
                    .with_secondary(prev.def.name.span, "first defined here"),
                );
                continue;
            }
            lists.push(ListEntry {
                def: ListDef {
                    span: l.0.span,
                    name,
                    kind,
                    kind_span: kind_node.map(|k| k.span),
                    values: l.strings("values"),
                    pattern: l.str("pattern"),
                    validated: l.flag("validated"),
                    used: false,
                },
            });
        }
        let mut macros = Vec::new();
        if let Some(entries) = spec.get("selectorsMacros").and_then(Node::as_map) {
            for e in entries {
                if let Some(name) = e.key.scalar_text() {
                    if !macros
                        .iter()
                        .any(|(n, _, _): &(Spanned<String>, &Node, bool)| n.value == name)
                    {
                        macros.push((Spanned::new(name.to_string(), e.key.span), &e.value, false));
                    }
                }
            }
        }
        Resolver {
            diags,
            lists,
            macros,
        }
    }

    fn finish(self) -> (Vec<ListDef>, Vec<MacroDef>) {
        (
            self.lists.into_iter().map(|e| e.def).collect(),
            self.macros
                .into_iter()
                .map(|(name, _, used)| MacroDef { name, used })
                .collect(),
        )
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Finds list `name` (from a `list:NAME` reference at `span`), marking it used.
    fn list(&mut self, name: &str, span: Span) -> Option<&ListDef> {
        if let Some(i) = self.lists.iter().position(|e| e.def.name.value == name) {
            self.lists[i].def.used = true;
            return Some(&self.lists[i].def);
        }
        let names: Vec<String> = self
            .lists
            .iter()
            .map(|e| e.def.name.value.clone())
            .collect();
        let mut d = Diagnostic::of(
            Code::UnknownList,
            format!("no list named `{name}` in `spec.lists`"),
        )
        .with_primary(span, "unknown list");
        d = match did_you_mean(name, names.iter().map(String::as_str)) {
            Some(s) => d.with_help(format!("did you mean `list:{s}`?")),
            None if names.is_empty() => {
                d.with_help("define it under `spec.lists` with a `name`, a `type` and `values`")
            }
            None => d.with_help(format!("defined lists: {}", names.join(", "))),
        };
        self.push(d);
        None
    }

    /// Expands a `call`-like value: a function name, or `list:NAME` to the
    /// list's members.
    fn expand_calls(&mut self, call: &Spanned<String>) -> Vec<Call> {
        let Some(list_name) = call.value.strip_prefix("list:") else {
            return vec![Call {
                name: call.value.clone(),
                span: call.span,
                from_list: None,
            }];
        };
        let Some(list) = self.list(list_name, call.span) else {
            return Vec::new();
        };
        match list.kind {
            ListKind::GeneratedSyscalls | ListKind::GeneratedFtrace => vec![Call {
                name: call.value.clone(),
                span: call.span,
                from_list: Some(list_name.to_string()),
            }],
            _ => list
                .values
                .iter()
                .map(|v| Call {
                    name: v.value.clone(),
                    span: v.span,
                    from_list: Some(list_name.to_string()),
                })
                .collect(),
        }
    }

    fn hook(&mut self, h: Obj<'a>, kind: HookKind, index: usize) -> Option<Hook> {
        let target = match kind {
            HookKind::Kprobe | HookKind::Fentry => {
                let call = h.str("call")?;
                let calls = self.expand_calls(&call);
                let explicit = h.bool("syscall");
                let from_syscall_list = calls
                    .first()
                    .and_then(|c| c.from_list.as_deref())
                    .and_then(|l| {
                        self.lists
                            .iter()
                            .find(|e| e.def.name.value == l)
                            .map(|e| e.def.kind)
                    });
                let syscall = match (from_syscall_list, &explicit) {
                    (Some(k), _) => k.is_syscalls(),
                    (None, Some(b)) => b.value,
                    (None, None) => true,
                };
                HookTarget::Kprobe {
                    calls,
                    syscall,
                    syscall_written: explicit,
                    call_span: call.span,
                    ignore_call_not_found: h
                        .get("ignore")
                        .map(Obj)
                        .is_some_and(|i| i.flag("callNotFound")),
                    fentry: kind == HookKind::Fentry,
                }
            }
            HookKind::Tracepoint => HookTarget::Tracepoint {
                subsystem: h.str("subsystem")?,
                event: h.str("event")?,
                raw: h.flag("raw"),
            },
            HookKind::Uprobe => HookTarget::Uprobe {
                path: h.str("path")?,
                symbols: h.strings("symbols"),
                offsets: h.ints("offsets"),
                addrs: h.ints("addrs"),
                ref_ctr_offsets: h.ints("refCtrOffsets"),
                btf_path: h.str("btfPath"),
                binary_digests: h.strings("binaryDigests"),
                ignore_digest_failure: h
                    .get("ignore")
                    .map(Obj)
                    .is_some_and(|i| i.flag("digestVerificationFailure")),
            },
            HookKind::Usdt => HookTarget::Usdt {
                path: h.str("path")?,
                provider: h.str("provider")?,
                name: h.str("name")?,
                btf_path: h.str("btfPath"),
            },
            HookKind::Lsm => HookTarget::Lsm {
                hook: h.str("hook")?,
            },
        };
        let args: Vec<ArgDecl> = h.maps("args").filter_map(arg_decl).collect();
        // A `data` entry without `index` (reported by the validator) keeps
        // its place, so that `matchData` filters on it are not reported
        // again as pointing at nothing.
        let data: Vec<ArgDecl> = h
            .maps("data")
            .enumerate()
            .filter_map(|(i, d)| arg_decl_with_default_index(d, u32::try_from(i).ok()))
            .collect();
        // A `returnArg` without `index` is already reported (TPC006); it is
        // still a declared return value, so lower it as index 0 rather than
        // letting the return checks say that none was declared.
        let return_arg = h
            .get("returnArg")
            .filter(|n| n.as_map().is_some())
            .and_then(|n| arg_decl_with_default_index(Obj(n), Some(0)));
        let mut hook = Hook {
            span: h.0.span,
            index,
            target,
            args,
            data,
            return_arg,
            returns: h.bool("return"),
            return_arg_action: h.str("returnArgAction"),
            selectors: Vec::new(),
            tags: h.strings("tags"),
            message: h.str("message"),
        };
        for (i, s) in h.list("selectors").iter().enumerate() {
            if s.as_map().is_none() && !s.is_null() {
                continue;
            }
            let sel = self.selector(&hook, s, i);
            hook.selectors.push(sel);
        }
        Some(hook)
    }

    fn selector(&mut self, hook: &Hook, node: &'a Node, index: usize) -> Selector {
        let mut sel = Selector {
            span: node.span,
            index,
            ..Selector::default()
        };
        if node.as_map().is_none() {
            return sel;
        }
        let o = Obj(node);
        sel.label = o.str("label");
        self.selector_filters(hook, o, &mut sel);
        let mut merged: Vec<&'static str> = Vec::new();
        for m in o.strings("macros") {
            sel.macros.push(m.clone());
            match self.macros.iter().position(|(n, _, _)| n.value == m.value) {
                Some(i) => {
                    self.macros[i].2 = true;
                    let body = self.macros[i].1;
                    if body.as_map().is_some() {
                        if Obj(body).get("macros").is_some() {
                            self.push(
                                Diagnostic::of(
                                    Code::NestedMacro,
                                    format!(
                                        "macro `{}` uses other macros, which Tetragon refuses",
                                        m.value
                                    ),
                                )
                                .with_primary(m.span, "this macro's definition has `macros`")
                                .with_help(
                                    "copy the inner macro's filters into this macro's definition",
                                )
                                .with_secondary(self.macros[i].0.span, "defined here"),
                            );
                        }
                        let mine = filled_kinds(o);
                        let theirs = filled_kinds(Obj(body));
                        for kind in &theirs {
                            if mine.contains(kind) || merged.contains(kind) {
                                self.push(
                                    Diagnostic::of(Code::MacroConflict, format!("`{kind}` is set both by macro `{}` and by the selector or an earlier macro", m.value))
                                        .with_primary(m.span, format!("this macro also sets `{kind}`"))
                                        .with_secondary(self.macros[i].0.span, "macro defined here")
                                        .with_help("Tetragon refuses a filter kind that several macros, or a macro and its selector, both set; move the filters into one place"),
                                );
                            }
                        }
                        merged.extend(theirs);
                        self.selector_filters(hook, Obj(body), &mut sel);
                    }
                }
                None => {
                    let names: Vec<String> = self
                        .macros
                        .iter()
                        .map(|(n, _, _)| n.value.clone())
                        .collect();
                    let mut d = Diagnostic::of(
                        Code::UnknownMacro,
                        format!("no selector macro named `{}`", m.value),
                    )
                    .with_primary(m.span, "unknown macro");
                    d = match did_you_mean(&m.value, names.iter().map(String::as_str)) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => d.with_help("define it under `spec.selectorsMacros`"),
                    };
                    self.push(d);
                }
            }
        }
        sel
    }

    /// Appends the filters and actions written in `o` (a selector or a macro
    /// body) to `sel`.
    fn selector_filters(&mut self, hook: &Hook, o: Obj<'a>, sel: &mut Selector) {
        for f in o.maps("matchArgs") {
            if let Some(af) = self.arg_filter(hook, f, FilterSource::Args) {
                sel.match_args.push(af);
            }
        }
        for f in o.maps("matchData") {
            if let Some(af) = self.arg_filter(hook, f, FilterSource::Data) {
                sel.match_data.push(af);
            }
        }
        for f in o.maps("matchReturnArgs") {
            if let Some(af) = self.arg_filter(hook, f, FilterSource::Return) {
                sel.match_return_args.push(af);
            }
        }
        for f in o.maps("matchPIDs") {
            let Some(op) = set_op(f) else { continue };
            let mut values = Vec::new();
            let written = f.list("values").len();
            for v in f.list("values") {
                if let Some(ScalarValue::Int(n)) = v.scalar() {
                    match u32::try_from(n) {
                        Ok(p) => values.push(Spanned::new(p, v.span)),
                        Err(_) => self.push(
                            Diagnostic::of(Code::InvalidValue, format!("`{n}` is not a valid PID"))
                                .with_primary(v.span, "PIDs are between 0 and 4294967295"),
                        ),
                    }
                }
            }
            sel.match_pids.push(PidFilter {
                span: f.0.span,
                operator: op,
                values,
                written,
                follow_forks: f.flag("followForks"),
                is_namespace_pid: f.flag("isNamespacePID"),
            });
        }
        for (key, out) in [("matchBinaries", 0), ("matchParentBinaries", 1)] {
            for f in o.maps(key) {
                let Some(op) = f.str("operator") else {
                    continue;
                };
                let Some(bop) = BinaryOp::from_name(&op.value) else {
                    continue;
                };
                let filter = BinaryFilter {
                    span: f.0.span,
                    operator: Spanned::new(bop, op.span),
                    values: f.strings("values"),
                    follow_children: f.flag("followChildren"),
                };
                if out == 0 {
                    sel.match_binaries.push(filter);
                } else {
                    sel.match_parent_binaries.push(filter);
                }
            }
        }
        for f in o.maps("matchNamespaces") {
            let (Some(op), Some(ns)) = (set_op(f), f.str("namespace")) else {
                continue;
            };
            let Some(kind) = NamespaceKind::from_name(&ns.value) else {
                continue;
            };
            let mut values = Vec::new();
            for v in f.list("values") {
                let Some(Spanned { value: text, .. }) = agent_text(v) else {
                    continue;
                };
                let text = text.as_str();
                if text == "host_ns" {
                    values.push(Spanned::new(NamespaceValue::Host, v.span));
                    continue;
                }
                match value::parse_int(text)
                    .ok()
                    .and_then(|n| u32::try_from(n).ok())
                {
                    Some(inum) => values.push(Spanned::new(NamespaceValue::Inum(inum), v.span)),
                    None => {
                        let mut d = Diagnostic::of(
                            Code::InvalidValue,
                            format!("`{text}` is not a namespace inode number or `host_ns`"),
                        )
                        .with_primary(v.span, "expected a number or `host_ns`");
                        if text.eq_ignore_ascii_case("host_ns") || text.eq_ignore_ascii_case("host")
                        {
                            d = d.with_help("write `host_ns` (lowercase) for the host's namespace");
                        } else {
                            d = d.with_help("namespace values are inode numbers as shown by `ls -l /proc/<pid>/ns`, or `host_ns`");
                        }
                        self.push(d);
                    }
                }
            }
            sel.match_namespaces.push(NamespaceFilter {
                span: f.0.span,
                namespace: Spanned::new(kind, ns.span),
                operator: op,
                values,
                written: f.list("values").len(),
            });
        }
        for f in o.maps("matchNamespaceChanges") {
            let Some(op) = set_op(f) else { continue };
            let mut values = Vec::new();
            for v in f.strings("values") {
                match NamespaceKind::from_name(&v.value) {
                    Some(k) => values.push(Spanned::new(k, v.span)),
                    None => {
                        let names: Vec<&str> =
                            NamespaceKind::ALL.iter().map(|k| k.as_str()).collect();
                        let mut d = Diagnostic::of(
                            Code::UnknownValue,
                            format!("unknown namespace `{}`", v.value),
                        )
                        .with_primary(v.span, "not a namespace name");
                        d = match did_you_mean(&v.value, names.iter().copied()) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")),
                            None => d.with_help(format!("namespaces: {}", names.join(", "))),
                        };
                        self.push(d);
                    }
                }
            }
            sel.match_namespace_changes.push(NamespaceChangeFilter {
                span: f.0.span,
                operator: op,
                values,
                written: f.list("values").len(),
            });
        }
        for (key, changes) in [
            ("matchCapabilities", false),
            ("matchCapabilityChanges", true),
        ] {
            for f in o.maps(key) {
                let Some(op) = set_op(f) else { continue };
                let set = f
                    .str("type")
                    .and_then(|t| CapabilitySet::from_name(&t.value))
                    .unwrap_or(CapabilitySet::Effective);
                let mut values = Vec::new();
                for v in f.strings("values") {
                    match value::parse_capability(&v.value) {
                        Ok(c) => values.push(Spanned::new(c, v.span)),
                        Err(e) => self.value_error(&e, v.span, "capability"),
                    }
                }
                let filter = CapabilityFilter {
                    span: f.0.span,
                    operator: op,
                    set,
                    is_namespace_capability: f.flag("isNamespaceCapability"),
                    values,
                    written: f.list("values").len(),
                };
                if changes {
                    sel.match_capability_changes.push(filter);
                } else {
                    sel.match_capabilities.push(filter);
                }
            }
        }
        if let Some(w) = o.get("matchWorkloads") {
            if w.as_map().is_some() {
                let wo = Obj(w);
                sel.match_workloads = Some(WorkloadFilter {
                    span: w.span,
                    pod_selector: wo.get("podSelector").map(label_selector),
                    container_selector: wo.get("containerSelector").map(label_selector),
                    host_selector: wo.get("hostSelector").map(label_selector),
                });
            }
        }
        for a in o.maps("matchActions") {
            if let Some(act) = self.action(a) {
                sel.match_actions.push(act);
            }
        }
        for a in o.maps("matchReturnActions") {
            if let Some(act) = self.action(a) {
                sel.match_return_actions.push(act);
            }
        }
    }

    fn value_error(&mut self, e: &ValueError, span: Span, what: &str) {
        let mut d = Diagnostic::of(Code::InvalidValue, format!("invalid {what} value: {e}"))
            .with_primary(span, e.to_string());
        if let Some(h) = e.help() {
            d = d.with_help(h);
        }
        self.push(d);
    }

    fn arg_filter(&mut self, hook: &Hook, f: Obj<'a>, source: FilterSource) -> Option<ArgFilter> {
        let op_node = f.str("operator")?;
        let op = Operator::from_name(&op_node.value)?;
        let index = f.u32("index");
        let positions: Vec<Spanned<u32>> = f
            .list("args")
            .iter()
            .filter_map(|n| match n.scalar() {
                Some(ScalarValue::Int(v)) => u32::try_from(v).ok().map(|x| Spanned::new(x, n.span)),
                _ => None,
            })
            .collect();
        let target_span = f
            .get("args")
            .map(|n| n.span)
            .or(index.as_ref().map(|i| i.span))
            .unwrap_or(f.0.span);
        let mut targets = Vec::new();
        match source {
            FilterSource::Return => match &hook.return_arg {
                None => {
                    self.push(
                            Diagnostic::of(Code::UndeclaredArg, "`matchReturnArgs` filters a return value the hook does not collect")
                                .with_primary(target_span, "no `returnArg` on this hook")
                                .with_secondary(hook.span, "this hook")
                                .with_help("declare `returnArg: {index: 0, type: int}` and `return: true` on the hook"),
                        );
                    return None;
                }
                Some(ret) => {
                    let want = ret.index.value;
                    if let Some(i) = &index {
                        if i.value != want {
                            self.push(
                                    Diagnostic::of(Code::UndeclaredArg, format!("`matchReturnArgs` index {} does not match `returnArg.index` ({want})", i.value))
                                        .with_primary(i.span, format!("use index {want}"))
                                        .with_secondary(ret.index.span, "the return value's index")
                                        .with_help("Tetragon looks the filter up by `returnArg.index`; write `index: 0` on both"),
                                );
                            return None;
                        }
                    }
                    targets.push(ArgRef::Return);
                }
            },
            FilterSource::Args | FilterSource::Data => {
                let (decls, list_name) = match source {
                    FilterSource::Data => (&hook.data, "data"),
                    _ => (&hook.args, "args"),
                };
                if let Some(p) = positions.first() {
                    // Tetragon reads only the first `args` entry: a position.
                    if positions.len() > 1 && !matches!(op, Operator::CapabilitiesGained) {
                        self.push(
                            Diagnostic::warning(
                                Code::SurprisingSemantics,
                                "only the first entry of `args` is used by this operator",
                            )
                            .with_primary(positions[1].span, "ignored by Tetragon")
                            .with_help("write one filter per argument"),
                        );
                    }
                    let wanted: &[Spanned<u32>] = if matches!(op, Operator::CapabilitiesGained) {
                        &positions
                    } else {
                        std::slice::from_ref(p)
                    };
                    for p in wanted {
                        if (p.value as usize) < decls.len() {
                            targets.push(wrap(source, p.value as usize));
                        } else {
                            self.push(
                                Diagnostic::of(
                                    Code::UndeclaredArg,
                                    format!("`args: [{}]` refers to position {} of the hook's `{list_name}`, which has {} entr{}", p.value, p.value, decls.len(), if decls.len() == 1 { "y" } else { "ies" }),
                                )
                                .with_primary(p.span, "no such position")
                                .with_secondary(hook.span, "in this hook")
                                .with_help(format!("`args` lists positions in `{list_name}`, counted from 0")),
                            );
                        }
                    }
                } else {
                    // `index` is optional in the CRD and Tetragon's Go
                    // type reads a missing one as 0 (`ArgSelector.Index`).
                    let i = index.unwrap_or_else(|| Spanned::new(0, f.0.span));
                    // How `index` is read depends on the hook: a position in
                    // `data`; for tracepoints a format field index rewritten to
                    // the arg declaring it, else a position; elsewhere the
                    // `index` of a declared arg.
                    let found = match (source, hook.kind()) {
                        (FilterSource::Data, _) => {
                            ((i.value as usize) < decls.len()).then_some(i.value as usize)
                        }
                        (_, HookKind::Tracepoint) => decls
                            .iter()
                            .position(|a| a.index.value == i.value)
                            .or_else(|| {
                                ((i.value as usize) < decls.len()).then_some(i.value as usize)
                            }),
                        _ => decls.iter().position(|a| a.index.value == i.value),
                    };
                    let by_position = source == FilterSource::Data;
                    match found {
                        Some(p) => targets.push(wrap(source, p)),
                        None => {
                            let mut d = Diagnostic::of(
                                Code::UndeclaredArg,
                                if by_position {
                                    format!("`matchData` index {} is a position in `data`, which has {} entr{}", i.value, decls.len(), if decls.len() == 1 { "y" } else { "ies" })
                                } else if hook.kind() == HookKind::Tracepoint {
                                    format!("this filter reads argument {} but the tracepoint's `args` has {} entr{} and none declares index {}", i.value, decls.len(), if decls.len() == 1 { "y" } else { "ies" }, i.value)
                                } else {
                                    format!("this filter reads argument {} but the hook's `{list_name}` do not declare index {}", i.value, i.value)
                                },
                            )
                            .with_primary(i.span, "not declared");
                            for decl in decls.iter().take(5) {
                                d = d.with_secondary(
                                    decl.index.span,
                                    format!("declared: index {}", decl.index.value),
                                );
                            }
                            let declared: Vec<String> =
                                decls.iter().map(|a| a.index.value.to_string()).collect();
                            d = if by_position {
                                d.with_help("declare a `data` entry, or use a smaller position")
                            } else if hook.kind() == HookKind::Tracepoint {
                                d.with_help(format!(
                                    "on tracepoints `matchArgs.index` is best written as the position in the policy's `args` list (0 to {})",
                                    decls.len().saturating_sub(1)
                                ))
                            } else if declared.is_empty() {
                                d.with_help(format!(
                                    "declare it: `{list_name}: [{{index: {}, type: ...}}]`",
                                    i.value
                                ))
                            } else {
                                d.with_help(format!("declared indexes: {}; add an `{list_name}` entry with `index: {}`", declared.join(", "), i.value))
                            };
                            self.push(d);
                            return None;
                        }
                    }
                }
            }
        }
        if targets.is_empty() {
            return None;
        }
        let ty = targets
            .first()
            .and_then(|t| decl_of(hook, *t))
            .map(|d| d.ty.value);
        let mut values = Vec::new();
        let raw_values: Vec<Spanned<String>> = f.strings("values");
        for v in f.list("values") {
            let Some(text) = agent_text(v) else {
                continue;
            };
            match self.filter_value(op, ty, &text.value, v.span) {
                Ok(mut vs) => values.append(&mut vs),
                Err(e) => {
                    let what = value_kind(op, ty);
                    self.value_error(&e, v.span, what);
                }
            }
        }
        Some(ArgFilter {
            span: f.0.span,
            targets,
            target_span,
            operator: Spanned::new(op, op_node.span),
            values,
            raw_values,
        })
    }

    fn filter_value(
        &mut self,
        op: Operator,
        ty: Option<ArgType>,
        text: &str,
        span: Span,
    ) -> Result<Vec<Spanned<FilterValue>>, ValueError> {
        use Operator::*;
        let one = |v: FilterValue| Ok(vec![Spanned::new(v, span)]);
        let class = ty.map(ArgType::class);
        let numeric = matches!(
            class,
            Some(ArgClass::Integer { .. } | ArgClass::SyscallId | ArgClass::CapabilitySet)
        );
        match op {
            Equal | NotEqual if numeric => one(FilterValue::Int(parse_typed_int(text, ty)?)),
            Equal | NotEqual | Prefix | NotPrefix | Postfix | NotPostfix | SubString
            | SubStringIgnCase => one(FilterValue::Text(text.to_string())),
            Gt | Lt | Mask => one(FilterValue::Int(parse_typed_int(text, ty)?)),
            InRange | NotInRange => {
                let (lo, hi) = value::parse_range(text)?;
                if lo > hi {
                    return Err(ValueError::EmptyRange {
                        text: text.to_string(),
                    });
                }
                if matches!(class, Some(ArgClass::Integer { bits, .. }) if bits <= 32)
                    && (hi > 4_294_967_295 || lo > 4_294_967_295)
                {
                    return Err(ValueError::OutOfRange {
                        text: text.to_string(),
                        bits: 32,
                        what: "unsigned",
                    });
                }
                one(FilterValue::Range { lo, hi })
            }
            SPort | NotSPort | DPort | NotDPort => {
                if text.contains(':') {
                    let (lo, hi) = value::parse_decimal_range(text)?;
                    if u16::try_from(lo).is_err() || u16::try_from(hi).is_err() {
                        return Err(ValueError::NotAPort {
                            text: text.to_string(),
                        });
                    }
                    one(FilterValue::Range { lo, hi })
                } else {
                    let v = value::parse_decimal(text).map_err(|_| ValueError::NotAPort {
                        text: text.to_string(),
                    })?;
                    let p = u16::try_from(v).map_err(|_| ValueError::NotAPort {
                        text: text.to_string(),
                    })?;
                    one(FilterValue::Port(p))
                }
            }
            SPortPriv | NotSPortPriv | DPortPriv | NotDPortPriv => Ok(Vec::new()),
            SAddr | NotSAddr | DAddr | NotDAddr => {
                let (addr, prefix) = value::parse_cidr(text)?;
                one(FilterValue::Cidr { addr, prefix })
            }
            Protocol => one(FilterValue::Protocol(value::parse_named(
                text,
                crate::ir::names::PROTOCOLS,
                "protocol",
            )?)),
            Family => one(FilterValue::Family(value::parse_named(
                text,
                crate::ir::names::FAMILIES,
                "address family",
            )?)),
            State => one(FilterValue::SockState(value::parse_named(
                text,
                crate::ir::names::SOCK_STATES,
                "socket state",
            )?)),
            FileType | NotFileType => one(FilterValue::FileType(value::parse_named(
                text,
                crate::ir::names::FILE_TYPES,
                "file type",
            )?)),
            CapabilitiesGained => one(FilterValue::Capability(value::parse_capability(text)?)),
            CelExpr => one(FilterValue::Expr(text.to_string())),
            InMap | NotInMap => {
                if let Some(name) = text.strip_prefix("list:") {
                    let Some(list) = self.list(name, span) else {
                        return Ok(Vec::new());
                    };
                    let list_name = list.name.value.clone();
                    let kind = list.kind;
                    let members: Vec<Spanned<String>> = list.values.clone();
                    if kind.is_syscalls() {
                        return Ok(members
                            .into_iter()
                            .map(|m| {
                                Spanned::new(
                                    FilterValue::Syscall {
                                        name: m.value,
                                        list: Some(list_name.clone()),
                                    },
                                    span,
                                )
                            })
                            .collect());
                    }
                    return Ok(members
                        .into_iter()
                        .map(|m| Spanned::new(FilterValue::Text(m.value), span))
                        .collect());
                }
                if !numeric && class.is_some() {
                    return one(FilterValue::Text(text.to_string()));
                }
                if text.contains(':') {
                    let (lo, hi) = value::parse_decimal_range(text)?;
                    return one(FilterValue::Range { lo, hi });
                }
                one(FilterValue::Int(value::parse_decimal(text)?))
            }
        }
    }

    fn action(&mut self, a: Obj<'a>) -> Option<Action> {
        let name = a.str("action")?;
        let spec = &super::schema::ACTIONS;
        let canonical = if spec.allows(&name.value) {
            name.value.clone()
        } else {
            spec.agent_spelling(&name.value)?.to_string()
        };
        let kind = match canonical.as_str() {
            "Post" => {
                let rate_limit = self.rate_limit(a);
                ActionKind::Post {
                    rate_limit,
                    kernel_stack_trace: a.flag("kernelStackTrace"),
                    user_stack_trace: a.flag("userStackTrace"),
                    ima_hash: a.flag("imaHash"),
                }
            }
            "NoPost" => ActionKind::NoPost,
            "Sigkill" => ActionKind::Sigkill,
            "Signal" => ActionKind::Signal {
                signal: a.i32("argSig"),
            },
            "Override" => ActionKind::Override {
                error: a.i32("argError"),
                regs: a.strings("argRegs"),
                new_symbol: a.str("argNewSymbol"),
                new_addr: a.i64("argNewAddr"),
                new_offset: a.i64("argNewOffset"),
            },
            "GetUrl" => ActionKind::GetUrl {
                url: a.str("argUrl"),
            },
            "DnsLookup" => ActionKind::DnsLookup {
                fqdn: a.str("argFqdn"),
            },
            "TrackSock" => ActionKind::TrackSock {
                sock_arg: a.i32("argSock"),
            },
            "UntrackSock" => ActionKind::UntrackSock {
                sock_arg: a.i32("argSock"),
            },
            "NotifyEnforcer" => ActionKind::NotifyEnforcer {
                error: a.i32("argError"),
                signal: a.i32("argSig"),
            },
            "CleanupEnforcerNotification" => ActionKind::CleanupEnforcerNotification,
            "Set" => ActionKind::Set {
                arg_index: a.i32("argIndex"),
                value: a.i32("argValue"),
            },
            other => ActionKind::Legacy {
                name: other.to_string(),
            },
        };
        let fields =
            a.0.as_map()
                .unwrap_or(&[])
                .iter()
                .filter_map(|e| {
                    e.key
                        .scalar_text()
                        .map(|k| Spanned::new(k.to_string(), e.key.span))
                })
                .collect();
        Some(Action {
            span: a.0.span,
            name_span: name.span,
            kind,
            fields,
        })
    }

    fn rate_limit(&mut self, a: Obj<'a>) -> Option<RateLimit> {
        let scope_node = a.str("rateLimitScope");
        let scope = match &scope_node {
            None => RateLimitScope::Thread,
            Some(s) => match RateLimitScope::from_name(&s.value) {
                Some(sc) => sc,
                None => {
                    let mut d = Diagnostic::of(
                        Code::InvalidRateLimit,
                        format!("unknown rate limit scope `{}`", s.value),
                    )
                    .with_primary(s.span, "expected thread, process or global");
                    if let Some(sug) = did_you_mean(&s.value, ["thread", "process", "global"]) {
                        d = d.with_help(format!("did you mean `{sug}`?"));
                    }
                    self.push(d);
                    RateLimitScope::Thread
                }
            },
        };
        let Some(rl) = a.str("rateLimit") else {
            if let Some(s) = scope_node {
                self.push(
                    Diagnostic::of(
                        Code::ActionArgumentIgnored,
                        "`rateLimitScope` has no effect without `rateLimit`",
                    )
                    .with_primary(s.span, "ignored")
                    .with_help("add `rateLimit: \"1m\"` (or another interval)"),
                );
            }
            return None;
        };
        match parse_rate_limit(&rl.value) {
            Some(ns) => Some(RateLimit {
                span: rl.span,
                interval_ns: ns,
                scope,
            }),
            None => {
                self.push(
                    Diagnostic::of(
                        Code::InvalidRateLimit,
                        format!("`{}` is not a rate limit interval", rl.value),
                    )
                    .with_primary(
                        rl.span,
                        "expected a number with an optional s, m or h suffix",
                    )
                    .with_help("examples: `30` or `30s` (seconds), `5m` (minutes), `1h` (hours)"),
                );
                None
            }
        }
    }
}

/// The selector list fields that are set (non-empty) in a selector or macro
/// body.
fn filled_kinds(o: Obj<'_>) -> Vec<&'static str> {
    const KINDS: [&str; 14] = [
        "matchPIDs",
        "matchArgs",
        "matchData",
        "matchActions",
        "matchReturnArgs",
        "matchReturnActions",
        "matchBinaries",
        "matchParentBinaries",
        "matchNamespaces",
        "matchNamespaceChanges",
        "matchCapabilities",
        "matchCapabilityChanges",
        "matchWorkloads",
        "label",
    ];
    KINDS
        .into_iter()
        .filter(|k| *k != "label" && *k != "matchWorkloads")
        .filter(|k| !o.list(k).is_empty())
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FilterSource {
    Args,
    Data,
    Return,
}

fn wrap(source: FilterSource, p: usize) -> ArgRef {
    match source {
        FilterSource::Data => ArgRef::Data(p),
        _ => ArgRef::Arg(p),
    }
}

/// Parses a number for `Equal`/`NotEqual`/`GT`/`LT`/`Mask` the way the agent
/// does for the argument's type: 32-bit signed (`int`, `int32`, `size_t`,
/// `int16`, `int8`), 32-bit unsigned (`uint32`, `uint16`, `uint8`), 64-bit
/// signed (`int64`, `syscall64`) or unsigned (`uint64`); capability sets also
/// take comma-separated capability names.
fn parse_typed_int(text: &str, ty: Option<ArgType>) -> Result<i128, ValueError> {
    use ArgType::*;
    if ty.is_some_and(|t| t.class() == ArgClass::CapabilitySet) && value::parse_int(text).is_err() {
        let mut mask: i128 = 0;
        for name in text.split(',') {
            mask |= 1i128 << value::parse_capability(name)?;
        }
        return Ok(mask);
    }
    let v = value::parse_int(text)?;
    let (lo, hi, bits, what): (i128, i128, u8, &'static str) = match ty {
        Some(
            Int | Int32 | Sint32 | SizeT | Int16 | Sint16 | Int8 | Sint8 | Capability | BpfCmd,
        ) => (i128::from(i32::MIN), i128::from(i32::MAX), 32, "signed"),
        Some(Uint32 | Uint16 | Uint8) => (0, i128::from(u32::MAX), 32, "unsigned"),
        Some(Uint64 | Ulong | KernelCapT | CapInheritable | CapPermitted | CapEffective) => {
            (0, i128::from(u64::MAX), 64, "unsigned")
        }
        _ => (i128::from(i64::MIN), i128::from(i64::MAX), 64, "signed"),
    };
    if v < lo || v > hi {
        return Err(ValueError::OutOfRange {
            text: text.to_string(),
            bits,
            what,
        });
    }
    Ok(v)
}

/// The declaration an [`ArgRef`] points at.
pub fn decl_of(hook: &Hook, r: ArgRef) -> Option<&ArgDecl> {
    match r {
        ArgRef::Arg(i) => hook.args.get(i),
        ArgRef::Data(i) => hook.data.get(i),
        ArgRef::Return => hook.return_arg.as_ref(),
    }
}

fn value_kind(op: Operator, ty: Option<ArgType>) -> &'static str {
    use Operator::*;
    match op {
        SPort | NotSPort | DPort | NotDPort => "port",
        SAddr | NotSAddr | DAddr | NotDAddr => "address",
        Protocol => "protocol",
        Family => "family",
        State => "socket state",
        FileType | NotFileType => "file type",
        CapabilitiesGained => "capability",
        InRange | NotInRange => "range",
        _ if ty.is_some_and(ArgType::is_integer) => "integer",
        Gt | Lt | Mask => "integer",
        _ => "filter",
    }
}

fn set_op(f: Obj<'_>) -> Option<Spanned<SetOp>> {
    let op = f.str("operator")?;
    SetOp::from_name(&op.value).map(|o| Spanned::new(o, op.span))
}

/// Lowers an `args`/`data`/`returnArg` entry. Leniently: a quoted index or
/// an unknown type (already reported by the validator) still yields a
/// declaration, so that filters referring to it are not reported again.
fn arg_decl(a: Obj<'_>) -> Option<ArgDecl> {
    arg_decl_with_default_index(a, None)
}

/// As [`arg_decl`]; an entry without `index` (already reported by the
/// validator) gets `default_index`, spanned on the whole entry, when given.
fn arg_decl_with_default_index(a: Obj<'_>, default_index: Option<u32>) -> Option<ArgDecl> {
    let index = a
        .u32("index")
        .or_else(|| {
            let n = a.get("index")?;
            let v = value::parse_int(n.scalar_text()?).ok()?;
            u32::try_from(v).ok().map(|x| Spanned::new(x, n.span))
        })
        .or_else(|| {
            if a.get("index").is_some() {
                return None;
            }
            default_index.map(|i| Spanned::new(i, a.0.span))
        })?;
    let ty_node = a.str("type");
    let ty = match &ty_node {
        Some(t) => Spanned::new(
            ArgType::from_name(&t.value).unwrap_or(ArgType::Auto),
            t.span,
        ),
        None => Spanned::new(ArgType::Auto, a.0.span),
    };
    Some(ArgDecl {
        span: a.0.span,
        index,
        ty,
        type_text: ty_node,
        label: a.str("label"),
        max_data: a.flag("maxData"),
        return_copy: a.flag("returnCopy"),
        size_arg_index: a.u32("sizeArgIndex"),
        btf_type: a.str("btfType"),
        btf_type_module: a.str("btfTypeModule"),
        resolve: a.str("resolve").filter(|r| !r.value.is_empty()),
        source: a.str("source"),
    })
}

/// Parses a rate limit interval: a number of seconds, or a number with an
/// `s`, `m` or `h` suffix. Returns nanoseconds.
pub fn parse_rate_limit(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, mult) = match t.chars().last()? {
        's' => (&t[..t.len() - 1], 1u64),
        'm' => (&t[..t.len() - 1], 60),
        'h' => (&t[..t.len() - 1], 3600),
        _ => (t, 1),
    };
    let n: u64 = num.parse().ok()?;
    n.checked_mul(mult)?.checked_mul(1_000_000_000)
}

/// Maps names to definitions for quick lookups in checks.
pub fn lists_by_name(policy: &Policy) -> HashMap<&str, &ListDef> {
    policy
        .lists
        .iter()
        .map(|l| (l.name.value.as_str(), l))
        .collect()
}
