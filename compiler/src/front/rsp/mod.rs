//! The `RuntimeSecurityPolicy` frontend: the friendly policy format
//! (`apiVersion: cilium.io/v1alpha1`, `kind: RuntimeSecurityPolicy`, short
//! name `rsp`, cluster-scoped), lowered into the same IR as a
//! TracingPolicy.
//!
//! ```yaml
//! spec:
//!   selectors:
//!     podSelector: {matchLabels: {app: web}}        # a Kubernetes label selector
//!     executableSelector:
//!       matchPaths:                                # all entries hold (AND)
//!       - {pattern: Prefix, operator: In, values: [/usr/bin/]}
//!   rules:
//!   - {type: Execution, action: Block}              # the executed binary is matched
//!   - type: File                                    # the process is matched (matchBinaries)
//!     action: Audit
//!     file: {operations: [write, delete], prefixes: [/etc/]}
//!   - type: Network
//!     action: Block
//!     network: {operations: [connect], cidrs: [10.0.0.0/8], ports: ["8000-8100"]}
//! ```
//!
//! How: the document is validated against its own schema
//! ([`schema`]), each rule becomes hooks and selectors of a TracingPolicy
//! built as a [`tree::Tree`] whose every node carries the span of the RSP
//! text it came from ([`hooks`] says which hooks and why, per
//! [`strategy::Strategy`]), and that tree goes through the TracingPolicy
//! validator and resolver. So checks, kernel checks, the simulator and the
//! lowering see an ordinary policy whose findings point at RSP lines, and
//! `tpc convert` prints the very tree the IR came from.

mod empty_block;
pub mod hooks;
mod rule_settings;
pub mod schema;
pub mod strategy;
pub mod tree;
pub mod values;

use crate::diagnostics::{Code, Diagnostic};
use crate::front::yaml::{Node, NodeKind, Style};
use crate::ir::{Policy, PolicyKind, RspOrigin, RspRule, RspSelector};
use crate::span::{Span, Spanned};
use hooks::HookSpec;
use strategy::{Strategy, StrategyChoice};
use tree::Tree;

/// One converted RuntimeSecurityPolicy document.
#[derive(Clone, Debug)]
pub struct Converted {
    pub policy: Policy,
    /// The TracingPolicy it stands for (`tpc convert` prints it).
    pub tree: Tree,
}

/// The TracingPolicy text `tpc convert` prints for one converted document:
/// a header saying where it came from and which block strategy was chosen
/// for which kernel and why, then the policy.
pub fn convert_text(
    policy_name: &str,
    source: &str,
    tree: &Tree,
    choice: &StrategyChoice,
) -> String {
    let kernels = if choice.kernels.is_empty() {
        String::new()
    } else {
        format!(" for {}", choice.kernels.join(", "))
    };
    let mut out = format!(
        "# Converted by `tpc convert` from RuntimeSecurityPolicy `{policy_name}` ({source}).\n# Block strategy{kernels}: {} ({}).\n",
        choice.strategy.name(),
        choice.strategy.describe(),
    );
    out.push_str(&format!("# Why: {}.\n", choice.reason));
    out.push_str(&tree.to_yaml());
    out
}

/// The rule types, as the schema spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RuleKind {
    Execution,
    File,
    Network,
}

impl RuleKind {
    fn name(self) -> &'static str {
        match self {
            RuleKind::Execution => "Execution",
            RuleKind::File => "File",
            RuleKind::Network => "Network",
        }
    }

    /// The settings key of the type (`file:`, `network:`).
    fn settings_key(self) -> Option<&'static str> {
        match self {
            RuleKind::Execution => None,
            RuleKind::File => Some("file"),
            RuleKind::Network => Some("network"),
        }
    }
}

/// One `matchPaths` entry.
#[derive(Clone, Debug)]
struct MatchPath {
    span: Span,
    pattern: Spanned<String>,
    operator: Spanned<String>,
    values: Vec<Spanned<String>>,
}

impl MatchPath {
    /// The matchArgs operator (Execution rules).
    fn arg_operator(&self) -> &'static str {
        let negated = self.operator.value == "NotIn";
        match (self.pattern.value.as_str(), negated) {
            ("Prefix", false) => "Prefix",
            ("Prefix", true) => "NotPrefix",
            ("Postfix", false) => "Postfix",
            ("Postfix", true) => "NotPostfix",
            (_, false) => "Equal",
            (_, true) => "NotEqual",
        }
    }

    /// The matchBinaries operator (File and Network rules).
    fn binary_operator(&self) -> &'static str {
        let negated = self.operator.value == "NotIn";
        match (self.pattern.value.as_str(), negated) {
            ("Prefix", false) => "Prefix",
            ("Prefix", true) => "NotPrefix",
            ("Postfix", false) => "Postfix",
            ("Postfix", true) => "NotPostfix",
            (_, false) => "In",
            (_, true) => "NotIn",
        }
    }
}

/// One argument filter of a planned selector, on an `args` index.
#[derive(Clone, Debug)]
struct FilterPlan {
    arg: u32,
    operator: &'static str,
    operator_span: Span,
    values: Vec<Spanned<String>>,
    span: Span,
}

/// One selector a rule puts on a hook.
#[derive(Clone, Debug)]
struct SelectorPlan {
    rule: usize,
    span: Span,
    filters: Vec<FilterPlan>,
    binaries: Option<MatchPath>,
    block: bool,
    action_span: Span,
}

/// A hook of the generated policy and its selectors, in rule order.
struct HookPlan {
    spec: &'static HookSpec,
    span: Span,
    /// Extra `args` some rule needs (the socket for `protocol`), at the
    /// span of the setting that needs it.
    extra_args: Vec<(u32, &'static str, Span)>,
    selectors: Vec<SelectorPlan>,
    /// One comment line per rule that uses the hook.
    comments: Vec<String>,
}

/// What the rules of a document turn into, before it is a tree.
struct Plan<'a> {
    strategy: Strategy,
    hooks: Vec<HookPlan>,
    diags: &'a mut Vec<Diagnostic>,
}

impl Plan<'_> {
    fn hook(&mut self, spec: &'static HookSpec, span: Span) -> &mut HookPlan {
        let at = match self.hooks.iter().position(|h| std::ptr::eq(h.spec, spec)) {
            Some(at) => at,
            None => {
                self.hooks.push(HookPlan {
                    spec,
                    span,
                    extra_args: Vec::new(),
                    selectors: Vec::new(),
                    comments: Vec::new(),
                });
                self.hooks.len() - 1
            }
        };
        &mut self.hooks[at]
    }

    fn add(
        &mut self,
        spec: &'static HookSpec,
        span: Span,
        comment: String,
        selector: SelectorPlan,
    ) {
        let hook = self.hook(spec, span);
        if !hook.comments.contains(&comment) {
            hook.comments.push(comment);
        }
        hook.selectors.push(selector);
    }
}

fn text(node: &Node) -> Option<Spanned<String>> {
    if node.is_null() {
        return None;
    }
    node.scalar_text()
        .map(|t| Spanned::new(t.to_string(), node.span))
}

fn texts(node: Option<&Node>) -> Vec<Spanned<String>> {
    node.and_then(Node::as_seq)
        .map(|items| items.iter().filter_map(text).collect())
        .unwrap_or_default()
}

/// A copy of an RSP subtree (the podSelector) as generated YAML.
fn copy(node: &Node) -> Tree {
    match &node.kind {
        NodeKind::Scalar { text, style } => Tree::Scalar {
            text: text.clone(),
            quoted: *style != Style::Plain,
            span: node.span,
        },
        NodeKind::Seq(items) => Tree::seq(items.iter().map(copy).collect(), node.span),
        NodeKind::Map(entries) => {
            let mut map = Tree::map(node.span);
            if let Tree::Map { entries: out, .. } = &mut map {
                for e in entries {
                    out.push(tree::TreeEntry {
                        key: e.key.scalar_text().unwrap_or_default().to_string(),
                        key_span: e.key.span,
                        value: copy(&e.value),
                        comment: None,
                    });
                }
            }
            map
        }
    }
}

/// Lowers one RuntimeSecurityPolicy document, validated or not: schema
/// findings, RSP findings and the findings of the generated policy's
/// resolution all go to `diags`, on RSP spans.
pub fn lower(
    root: &Node,
    kind_span: Span,
    doc_span: Span,
    choice: &StrategyChoice,
    diags: &mut Vec<Diagnostic>,
) -> Option<Converted> {
    crate::front::validate::validate_object(root, &schema::DOCUMENT, diags);
    let spec = root.get("spec")?;
    let selectors = spec.get("selectors");
    let pod_selector = selectors.and_then(|s| s.get("podSelector"));
    let match_paths_node = selectors
        .and_then(|s| s.get("executableSelector"))
        .and_then(|e| e.get("matchPaths"));
    let match_paths: Vec<MatchPath> = match_paths_node
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter(|m| m.as_map().is_some())
        .map(|m| MatchPath {
            span: m.span,
            pattern: m
                .get("pattern")
                .and_then(text)
                .unwrap_or_else(|| Spanned::new("Full".to_string(), m.span)),
            operator: m
                .get("operator")
                .and_then(text)
                .unwrap_or_else(|| Spanned::new("In".to_string(), m.span)),
            values: texts(m.get("values")),
        })
        .collect();

    let mut rules = Vec::new();
    let mut plan = Plan {
        strategy: choice.strategy,
        hooks: Vec::new(),
        diags,
    };
    let rule_nodes = spec.get("rules").and_then(Node::as_seq).unwrap_or_default();
    if rule_nodes.is_empty() {
        if let Some(r) = spec.get("rules") {
            plan.diags.push(
                Diagnostic::of(
                    Code::MissingField,
                    "a RuntimeSecurityPolicy needs at least one rule",
                )
                .with_primary(r.span, "no rules")
                .with_help("add a rule: `- {type: Execution, action: Block}`"),
            );
        }
    }
    for (index, node) in rule_nodes.iter().enumerate() {
        if node.as_map().is_none() {
            continue;
        }
        let kind = match node.get("type").and_then(|t| t.scalar_text()) {
            Some("Execution") => RuleKind::Execution,
            Some("File") => RuleKind::File,
            Some("Network") => RuleKind::Network,
            // unknown or missing: reported by the schema
            _ => continue,
        };
        let Some(action) = node.get("action").and_then(text) else {
            continue;
        };
        if action.value != "Audit" && action.value != "Block" {
            continue;
        }
        rules.push(RspRule {
            index,
            kind: kind.name().to_string(),
            action: action.value.clone(),
            span: node.span,
        });
        let rule = Rule {
            index,
            node,
            kind,
            block: action.value == "Block",
            action_span: action.span,
        };
        if rule.block {
            empty_block::check(&rule, match_paths_node, &match_paths, plan.diags);
        }
        if !rule_settings::check(&rule, &match_paths, plan.diags) {
            continue;
        }
        match kind {
            RuleKind::Execution => execution(&rule, &match_paths, &mut plan),
            RuleKind::File => file(&rule, &match_paths, &mut plan),
            RuleKind::Network => network(&rule, &match_paths, &mut plan),
        }
    }

    let tree = policy_tree(root, doc_span, pod_selector, &plan, choice);
    let node = tree.to_node();
    let diags = plan.diags;
    // The generated policy is checked like a written one: a finding here
    // is on RSP spans (and would be a tpc bug if it were a schema error).
    crate::front::validate::validate_object(&node, &crate::front::schema::DOCUMENT, diags);
    let mut policy = crate::front::resolve::lower_policy(
        &node,
        PolicyKind::TracingPolicy,
        kind_span,
        doc_span,
        diags,
    )?;
    let mut selectors = Vec::new();
    for (position, hook_plan) in plan.hooks.iter().enumerate() {
        let section_index = plan.hooks[..position]
            .iter()
            .filter(|h| h.spec.section == hook_plan.spec.section)
            .count();
        let Some(hook) = policy.hooks.iter().position(|h| {
            h.kind().spec_key() == hook_plan.spec.section && h.index == section_index
        }) else {
            continue;
        };
        for (selector, s) in hook_plan.selectors.iter().enumerate() {
            if let Some(rule) = rules.iter().position(|r| r.index == s.rule) {
                selectors.push(RspSelector {
                    hook,
                    selector,
                    rule,
                });
            }
        }
    }
    policy.rsp = Some(RspOrigin {
        rules,
        selectors,
        strategy: choice.strategy.name().to_string(),
        strategy_reason: choice.reason.clone(),
    });
    Some(Converted { policy, tree })
}

/// One rule being lowered.
struct Rule<'n> {
    index: usize,
    node: &'n Node,
    kind: RuleKind,
    block: bool,
    action_span: Span,
}

impl Rule<'_> {
    fn comment(&self, what: &str) -> String {
        format!(
            "rules[{}]: {} {}{what}",
            self.index,
            self.kind.name(),
            if self.block { "Block" } else { "Audit" }
        )
    }

    fn selector(&self, filters: Vec<FilterPlan>, binaries: Option<MatchPath>) -> SelectorPlan {
        SelectorPlan {
            rule: self.index,
            span: self.node.span,
            filters,
            binaries,
            block: self.block,
            action_span: self.action_span,
        }
    }
}

/// The matchBinaries filter of File and Network rules.
fn process_filter(rule: &Rule<'_>, match_paths: &[MatchPath]) -> Option<MatchPath> {
    (rule.kind != RuleKind::Execution)
        .then(|| match_paths.first().cloned())
        .flatten()
}

fn execution(rule: &Rule<'_>, match_paths: &[MatchPath], plan: &mut Plan<'_>) {
    for spec in hooks::execution(plan.strategy) {
        let subject = spec.subjects[0];
        let filters = match_paths
            .iter()
            .filter(|m| !m.values.is_empty())
            .map(|m| FilterPlan {
                arg: subject,
                operator: m.arg_operator(),
                operator_span: m.pattern.span,
                values: m.values.clone(),
                span: m.span,
            })
            .collect();
        plan.add(
            spec,
            rule.node.span,
            rule.comment(": the executed file against matchPaths"),
            rule.selector(filters, None),
        );
    }
}

fn file(rule: &Rule<'_>, match_paths: &[MatchPath], plan: &mut Plan<'_>) {
    let Some(settings) = rule.node.get("file") else {
        return;
    };
    let paths = texts(settings.get("paths"));
    let prefixes = texts(settings.get("prefixes"));
    if paths.is_empty() && prefixes.is_empty() {
        plan.diags.push(
            Diagnostic::of(Code::RspRuleSettings, "a File rule names no path")
                .with_primary(settings.span, "no `paths` or `prefixes`")
                .with_help("add `paths: [/etc/shadow]` (whole paths) or `prefixes: [/etc/]`"),
        );
        return;
    }
    let operations = texts(settings.get("operations"));
    // Per hook: the flag bits of the operations on it (`None`: all calls).
    let mut on_hooks: Vec<(&'static HookSpec, Option<u32>, Vec<&str>)> = Vec::new();
    for op in &operations {
        for (spec, bits) in hooks::file(plan.strategy, &op.value) {
            match on_hooks.iter_mut().find(|(s, _, _)| std::ptr::eq(*s, spec)) {
                Some((_, have, names)) => {
                    *have = match (*have, bits) {
                        (Some(a), Some(b)) => Some(a | b),
                        _ => None,
                    };
                    names.push(&op.value);
                }
                None => on_hooks.push((spec, bits, vec![&op.value])),
            }
        }
    }
    let binaries = process_filter(rule, match_paths);
    let ops_span = settings.get("operations").map_or(settings.span, |o| o.span);
    for (spec, bits, names) in on_hooks {
        for &subject in spec.subjects {
            // A dentry's path is the path within its mount, and Tetragon
            // refuses Equal on it: whole paths are matched as suffixes.
            let whole = if spec.args.contains(&(subject, "dentry")) {
                "Postfix"
            } else {
                "Equal"
            };
            for (operator, values, at) in [
                (whole, &paths, settings.get("paths")),
                ("Prefix", &prefixes, settings.get("prefixes")),
            ] {
                if values.is_empty() {
                    continue;
                }
                let at = at.map_or(settings.span, |n| n.span);
                let mut filters = vec![FilterPlan {
                    arg: subject,
                    operator,
                    operator_span: at,
                    values: values.clone(),
                    span: at,
                }];
                if let (Some(flags), Some(bits)) = (spec.flags, bits) {
                    filters.push(FilterPlan {
                        arg: flags,
                        operator: "Mask",
                        operator_span: ops_span,
                        values: vec![Spanned::new(format!("{bits:#x}"), ops_span)],
                        span: ops_span,
                    });
                }
                plan.add(
                    spec,
                    rule.node.span,
                    rule.comment(&format!(": {}", names.join(", "))),
                    rule.selector(filters, binaries.clone()),
                );
            }
        }
    }
}

fn network(rule: &Rule<'_>, match_paths: &[MatchPath], plan: &mut Plan<'_>) {
    let Some(settings) = rule.node.get("network") else {
        return;
    };
    let mut cidrs = Vec::new();
    for c in texts(settings.get("cidrs")) {
        match values::parse_cidr(&c.value) {
            Ok(v) => cidrs.push(Spanned::new(v, c.span)),
            Err(e) => plan.diags.push(
                Diagnostic::of(Code::RspInvalidCidr, format!("`{}` is not a CIDR: {e}", c.value))
                    .with_primary(c.span, "not an address or address/prefix-length")
                    .with_help("write an IPv4 or IPv6 address with an optional prefix length: `10.0.0.0/8`, `192.168.1.7`, `fd00::/8`"),
            ),
        }
    }
    let mut ports = Vec::new();
    for p in texts(settings.get("ports")) {
        match values::parse_port_range(&p.value) {
            Ok(v) => ports.push(Spanned::new(v, p.span)),
            Err(e) => plan.diags.push(
                Diagnostic::of(
                    Code::RspInvalidPort,
                    format!("`{}` is not a port or port range: {e}", p.value),
                )
                .with_primary(p.span, "not a port or LOW-HIGH range")
                .with_help(
                    "write a port from 0 to 65535 (`443`) or an inclusive range (`8000-8100`)",
                ),
            ),
        }
    }
    let protocol = settings.get("protocol").and_then(text);
    if let Some(p) = &protocol {
        if plan.strategy != Strategy::Lsm {
            plan.diags.push(
                Diagnostic::of(
                    Code::RspNotExpressible,
                    format!("`protocol` cannot be matched with the {} strategy", plan.strategy.name()),
                )
                .with_primary(p.span, "the syscall's arguments carry no protocol")
                .with_help("remove `protocol` (the rule then matches every protocol), or target a kernel with BPF LSM (`--kernel`, or `--rsp-strategy lsm`), whose socket hooks see the socket"),
            );
        }
    }
    let binaries = process_filter(rule, match_paths);
    for op in texts(settings.get("operations")) {
        for spec in hooks::network(plan.strategy, &op.value) {
            network_hook(
                rule,
                settings,
                spec,
                &op,
                &cidrs,
                &ports,
                protocol.as_ref(),
                binaries.clone(),
                plan,
            );
        }
    }
}

/// One Network rule operation on one hook.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one rule, read once by the caller"
)]
fn network_hook(
    rule: &Rule<'_>,
    settings: &Node,
    spec: &'static HookSpec,
    op: &Spanned<String>,
    cidrs: &[Spanned<String>],
    ports: &[Spanned<String>],
    protocol: Option<&Spanned<String>>,
    binaries: Option<MatchPath>,
    plan: &mut Plan<'_>,
) {
    let Some(&subject) = spec.subjects.first() else {
        if !cidrs.is_empty() || !ports.is_empty() {
            let at = settings
                .get("cidrs")
                .or_else(|| settings.get("ports"))
                .map_or(op.span, |n| n.span);
            plan.diags.push(
                Diagnostic::of(
                    Code::RspNotExpressible,
                    format!("`{}` cannot be matched by address or port with the {} strategy", op.value, plan.strategy.name()),
                )
                .with_primary(at, "accept(2) runs before the connection's addresses are known")
                .with_secondary(op.span, "this operation")
                .with_help("match `accept` by executable only, match the port with `listen`, or target a kernel with BPF LSM (`--kernel`, or `--rsp-strategy lsm`), whose socket_accept hook sees the listening socket"),
            );
            return;
        }
        plan.add(
            spec,
            rule.node.span,
            rule.comment(&format!(": {}", op.value)),
            rule.selector(Vec::new(), binaries),
        );
        return;
    };
    let mut filters = Vec::new();
    if !cidrs.is_empty() {
        let at = settings.get("cidrs").map_or(settings.span, |n| n.span);
        filters.push(FilterPlan {
            arg: subject,
            operator: "SAddr",
            operator_span: at,
            values: cidrs.to_vec(),
            span: at,
        });
    }
    if !ports.is_empty() {
        let at = settings.get("ports").map_or(settings.span, |n| n.span);
        filters.push(FilterPlan {
            arg: subject,
            operator: "SPort",
            operator_span: at,
            values: ports.to_vec(),
            span: at,
        });
    }
    let use_socket = protocol.is_some() && plan.strategy == Strategy::Lsm;
    if let (Some(p), true) = (protocol, use_socket) {
        filters.push(FilterPlan {
            arg: hooks::SOCKET_ARG.0,
            operator: "Protocol",
            operator_span: p.span,
            values: vec![Spanned::new(format!("IPPROTO_{}", p.value), p.span)],
            span: p.span,
        });
    }
    plan.add(
        spec,
        rule.node.span,
        rule.comment(&format!(": {}", op.value)),
        rule.selector(filters, binaries),
    );
    if let (Some(p), true) = (protocol, use_socket) {
        let hook = plan.hook(spec, rule.node.span);
        let (index, ty) = hooks::SOCKET_ARG;
        if !hook
            .extra_args
            .iter()
            .any(|(i, t, _)| (*i, *t) == (index, ty))
        {
            hook.extra_args.push((index, ty, p.span));
        }
    }
}

/// The generated TracingPolicy document.
fn policy_tree(
    root: &Node,
    doc_span: Span,
    pod_selector: Option<&Node>,
    plan: &Plan<'_>,
    choice: &StrategyChoice,
) -> Tree {
    let kind_span = root.get("kind").map_or(doc_span, |k| k.span);
    let api_span = root.get("apiVersion").map_or(doc_span, |k| k.span);
    let mut metadata = Tree::map(root.get("metadata").map_or(doc_span, |m| m.span));
    if let Some(name) = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(text)
    {
        metadata.push("name", Tree::text(name.value, name.span));
    }
    let spec_node = root.get("spec");
    let mut spec = Tree::map(spec_node.map_or(doc_span, |s| s.span));
    if let Some(p) = pod_selector {
        spec.push("podSelector", copy(p));
    }
    for section in ["kprobes", "tracepoints", "lsmhooks"] {
        let hooks: Vec<Tree> = plan
            .hooks
            .iter()
            .filter(|h| h.spec.section == section)
            .map(|h| hook_tree(h, choice))
            .collect();
        if !hooks.is_empty() {
            let span = plan
                .hooks
                .iter()
                .find(|h| h.spec.section == section)
                .map_or(doc_span, |h| h.span);
            spec.push(section, Tree::seq(hooks, span));
        }
    }
    Tree::map(doc_span)
        .with(
            "apiVersion",
            Tree::text(crate::front::schema::API_VERSION, api_span),
        )
        .with(
            "kind",
            Tree::text(crate::front::schema::KIND_CLUSTER, kind_span),
        )
        .with("metadata", metadata)
        .with("spec", spec)
}

fn hook_tree(hook: &HookPlan, choice: &StrategyChoice) -> Tree {
    let span = hook.span;
    let mut out = Tree::map(span);
    let comment = Some(hook.comments.join("\n"));
    for (i, (key, value)) in hook.spec.target.iter().enumerate() {
        let v = if matches!(*value, "true" | "false") {
            Tree::plain(*value, span)
        } else {
            Tree::text(*value, span)
        };
        out.push_commented(key, v, if i == 0 { comment.clone() } else { None });
    }
    let mut spanned: Vec<(u32, &str, Span)> =
        hook.spec.args.iter().map(|(i, t)| (*i, *t, span)).collect();
    for extra in &hook.extra_args {
        if !spanned
            .iter()
            .any(|(i, t, _)| (*i, *t) == (extra.0, extra.1))
        {
            spanned.push(*extra);
        }
    }
    spanned.sort_by_key(|(index, _, _)| *index);
    let args: Vec<(u32, &str)> = spanned.iter().map(|(i, t, _)| (*i, *t)).collect();
    let arg_trees = spanned
        .iter()
        .map(|(index, ty, at)| {
            Tree::map(*at)
                .with("index", Tree::plain(index.to_string(), *at))
                .with("type", Tree::text(*ty, *at))
        })
        .collect();
    out.push("args", Tree::seq(arg_trees, span));
    let selectors = hook
        .selectors
        .iter()
        .map(|s| selector_tree(hook, &args, s, choice.strategy))
        .collect();
    out.push("selectors", Tree::seq(selectors, span));
    out
}

fn selector_tree(
    hook: &HookPlan,
    args: &[(u32, &str)],
    s: &SelectorPlan,
    strategy: Strategy,
) -> Tree {
    let mut out = Tree::map(s.span);
    if !s.filters.is_empty() {
        let filters = s
            .filters
            .iter()
            .map(|f| {
                // matchArgs.index: a kprobe's or LSM hook's parameter
                // position; a tracepoint's position in its own `args`.
                let index = if hook.spec.is_tracepoint() {
                    args.iter().position(|(i, _)| *i == f.arg).unwrap_or(0) as u32
                } else {
                    f.arg
                };
                Tree::map(f.span)
                    .with("index", Tree::plain(index.to_string(), f.span))
                    .with("operator", Tree::text(f.operator, f.operator_span))
                    .with(
                        "values",
                        Tree::seq(
                            f.values
                                .iter()
                                .map(|v| Tree::text(v.value.clone(), v.span))
                                .collect(),
                            f.span,
                        ),
                    )
            })
            .collect();
        out.push("matchArgs", Tree::seq(filters, s.span));
    }
    if let Some(m) = &s.binaries {
        let filter = Tree::map(m.span)
            .with("operator", Tree::text(m.binary_operator(), m.operator.span))
            .with(
                "values",
                Tree::seq(
                    m.values
                        .iter()
                        .map(|v| Tree::text(v.value.clone(), v.span))
                        .collect(),
                    m.span,
                ),
            );
        out.push("matchBinaries", Tree::seq(vec![filter], m.span));
    }
    let at = s.action_span;
    let action = match (s.block, strategy) {
        (false, _) => Tree::map(at).with("action", Tree::text("Post", at)),
        (true, Strategy::TracepointSigkill) => {
            Tree::map(at).with("action", Tree::text("Sigkill", at))
        }
        (true, _) => Tree::map(at)
            .with("action", Tree::text("Override", at))
            .with("argError", Tree::plain("-1", at)),
    };
    out.push("matchActions", Tree::seq(vec![action], at));
    out
}

#[cfg(test)]
mod tests;
