//! `TracingPolicyTemplate` and `TracingPolicyBinding` (CFP-4191 option 1):
//! a template is a policy whose filters take `valuesFromVariable: NAME`
//! instead of `values`, with its variables declared in `spec.variables`; a
//! binding names a template (`templateRef`), gives each variable its values
//! (`bindings`) and selects its workload (`podSelector`,
//! `containerSelector`, or on a plain host tpc's `cgroups`).
//!
//! Each binding becomes the policy it stands for: the template's tree with
//! every `valuesFromVariable` replaced by the binding's own value nodes
//! (spans and all), named after the binding and scoped to its workload.
//! That policy then goes through the same validation, resolution and
//! checks as any other, so a value of the wrong type is reported on the
//! binding's line by the rules that read values, and the lowering and the
//! simulator see an ordinary policy. The policies of one template's
//! bindings hook the same points, so `tpc run` evaluates them from one
//! program per hook, each from its own map entries.
//!
//! A template on its own is checked with every variable empty; findings
//! that only an empty variable causes are left out.

use std::collections::HashMap;

use super::schema;
use super::validate::validate_object;
use super::yaml::{Entry, Node, NodeKind, ScalarValue, Style};
use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{BindingOf, Policy, PolicyKind};
use crate::span::{Span, Spanned};

/// Filter lists whose entries may take `valuesFromVariable`.
const VARIABLE_FILTERS: [&str; 5] = [
    "matchArgs",
    "matchData",
    "matchReturnArgs",
    "matchBinaries",
    "matchParentBinaries",
];

/// One `spec.variables` entry.
#[derive(Clone, Debug)]
pub struct Variable {
    pub name: Spanned<String>,
    /// `type`, when given (an argument type name).
    pub ty: Option<Spanned<String>>,
}

/// A `TracingPolicyTemplate` document.
#[derive(Clone, Debug)]
pub struct TemplateDoc {
    pub name: Spanned<String>,
    pub variables: Vec<Variable>,
    root: Node,
    kind_span: Span,
    doc_span: Span,
}

/// A `TracingPolicyBinding` document.
#[derive(Clone, Debug)]
pub struct BindingDoc {
    pub name: Spanned<String>,
    pub template: Option<Spanned<String>>,
    /// `bindings[]`: variable name, its `values` node.
    pub values: Vec<(Spanned<String>, Option<Node>)>,
    pub override_allowed: bool,
    pub override_priority: i64,
    pub cgroups: Vec<Spanned<String>>,
    pod_selector: Option<Node>,
    container_selector: Option<Node>,
    /// The `bindings` key (or the spec when absent), for missing values.
    bindings_span: Span,
    /// The `kind:` value: where policy-wide findings on the binding point.
    kind_span: Span,
    doc_span: Span,
}

/// A binding made into its policy.
#[derive(Debug)]
pub struct Instance {
    pub policy: Policy,
    /// Where each variable's values went: (span of the binding's values,
    /// variable, span of the `valuesFromVariable` that takes them).
    pub fed: Vec<(Span, String, Span)>,
    /// The template document.
    pub template_span: Span,
    /// What validation and resolution found on the binding's policy.
    pub frontend: Vec<Diagnostic>,
    /// The filters that take a variable's values.
    variable_filters: Vec<Span>,
}

/// What a filter with `valuesFromVariable` is.
#[derive(Clone, Debug)]
struct VariableUse {
    variable: Spanned<String>,
    /// The filter's mapping.
    filter_span: Span,
    /// `matchBinaries`-like (paths) or an argument filter.
    binaries: bool,
}

fn text(node: &Node) -> Option<Spanned<String>> {
    node.scalar_text()
        .map(|t| Spanned::new(t.to_owned(), node.span))
}

fn name_of(
    root: &Node,
    doc_span: Span,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Spanned<String> {
    match root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(text)
    {
        Some(n) => {
            if !super::resolve::is_dns_subdomain(&n.value) {
                diags.push(
                    Diagnostic::of(
                        Code::InvalidName,
                        format!("`{}` is not a valid {what} name", n.value),
                    )
                    .with_primary(n.span, "not a lowercase DNS subdomain name"),
                );
            }
            n
        }
        None => {
            let at = root.get("metadata").map_or(doc_span, |m| m.span);
            diags.push(
                Diagnostic::of(
                    Code::InvalidName,
                    format!("the {what} has no `metadata.name`"),
                )
                .with_primary(at, "no name here"),
            );
            Spanned::new(String::new(), at)
        }
    }
}

/// Reads a template document (its header already classified).
pub fn read_template(
    root: &Node,
    kind_span: Span,
    doc_span: Span,
    diags: &mut Vec<Diagnostic>,
) -> TemplateDoc {
    let name = name_of(root, doc_span, "template", diags);
    let mut variables: Vec<Variable> = Vec::new();
    if let Some(list) = root.get("spec").and_then(|s| s.get("variables")) {
        match list.as_seq() {
            Some(items) => {
                for item in items {
                    validate_object(item, &schema::TEMPLATE_VARIABLE, diags);
                    let Some(name) = item.get("name").and_then(text) else {
                        continue;
                    };
                    if let Some(first) = variables.iter().find(|v| v.name.value == name.value) {
                        diags.push(
                            Diagnostic::of(
                                Code::DuplicateKey,
                                format!("variable `{}` is declared twice", name.value),
                            )
                            .with_primary(name.span, "declared again here")
                            .with_secondary(first.name.span, "first declared here"),
                        );
                        continue;
                    }
                    variables.push(Variable {
                        name,
                        ty: item.get("type").and_then(text),
                    });
                }
            }
            None => diags.push(
                Diagnostic::of(
                    Code::WrongType,
                    format!("`variables` must be a list, found {}", list.describe()),
                )
                .with_primary(list.span, "expected a list of {name, type}"),
            ),
        }
    }
    TemplateDoc {
        name,
        variables,
        root: root.clone(),
        kind_span,
        doc_span,
    }
}

/// Reads a binding document (its header already classified).
pub fn read_binding(root: &Node, doc_span: Span, diags: &mut Vec<Diagnostic>) -> BindingDoc {
    validate_object(root, &schema::BINDING_DOCUMENT, diags);
    let name = name_of(root, doc_span, "binding", diags);
    let spec = root.get("spec");
    let get = |key: &str| spec.and_then(|s| s.get(key));
    let template = get("templateRef")
        .and_then(|r| r.get("name"))
        .and_then(text);
    let values = get("bindings")
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|b| Some((b.get("name").and_then(text)?, b.get("values").cloned())))
        .collect();
    let bool_of = |key: &str| {
        get(key)
            .and_then(|n| match n.scalar() {
                Some(ScalarValue::Bool(b)) => Some(b),
                _ => None,
            })
            .unwrap_or(false)
    };
    let override_priority = get("overridePriority")
        .and_then(|n| match n.scalar() {
            Some(ScalarValue::Int(i)) => i64::try_from(i).ok(),
            _ => None,
        })
        .unwrap_or(0);
    let cgroups = get("cgroups")
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(text)
        .collect();
    let bindings_span = spec
        .and_then(|s| s.as_map())
        .and_then(|m| m.iter().find(|e| e.key.scalar_text() == Some("bindings")))
        .map_or_else(|| spec.map_or(doc_span, |s| s.span), |e| e.key.span);
    BindingDoc {
        name,
        template,
        values,
        override_allowed: bool_of("overrideAllowed"),
        override_priority,
        cgroups,
        pod_selector: get("podSelector").cloned(),
        container_selector: get("containerSelector").cloned(),
        bindings_span,
        kind_span: root.get("kind").map_or(doc_span, |k| k.span),
        doc_span,
    }
}

fn scalar(text: &str, span: Span) -> Node {
    Node {
        span,
        kind: NodeKind::Scalar {
            text: text.to_owned(),
            style: Style::Plain,
        },
        tag: None,
    }
}

/// The template's tree with each `valuesFromVariable` replaced by what
/// `value_of` gives for it (`None`: an empty list at the variable's span),
/// the uses found, and findings on the template itself.
fn substitute(
    node: &Node,
    parent_key: Option<&str>,
    value_of: &dyn Fn(&str) -> Option<Node>,
    uses: &mut Vec<VariableUse>,
    diags: &mut Vec<Diagnostic>,
) -> Node {
    match &node.kind {
        NodeKind::Scalar { .. } => node.clone(),
        NodeKind::Seq(items) => Node {
            kind: NodeKind::Seq(
                items
                    .iter()
                    .map(|i| substitute(i, parent_key, value_of, uses, diags))
                    .collect(),
            ),
            ..node.clone()
        },
        NodeKind::Map(entries) => {
            let is_filter = parent_key.is_some_and(|k| VARIABLE_FILTERS.contains(&k));
            let mut out = Vec::with_capacity(entries.len());
            let has_values = entries
                .iter()
                .any(|e| e.key.scalar_text() == Some("values"));
            for entry in entries {
                let key = entry.key.scalar_text();
                if is_filter && key == Some("valuesFromVariable") {
                    let Some(variable) = text(&entry.value) else {
                        diags.push(
                            Diagnostic::of(
                                Code::WrongType,
                                "`valuesFromVariable` takes a variable name",
                            )
                            .with_primary(
                                entry.value.span,
                                format!("found {}", entry.value.describe()),
                            ),
                        );
                        continue;
                    };
                    if has_values {
                        diags.push(
                            Diagnostic::of(
                                Code::VariableTypeMismatch,
                                "a filter takes either `values` or `valuesFromVariable`, not both",
                            )
                            .with_primary(entry.key.span, "the values come from a binding")
                            .with_help("remove `values`, or the variable"),
                        );
                        continue;
                    }
                    uses.push(VariableUse {
                        variable: variable.clone(),
                        filter_span: node.span,
                        binaries: parent_key.is_some_and(|k| k.ends_with("Binaries")),
                    });
                    let value = value_of(&variable.value).unwrap_or_else(|| Node {
                        span: entry.value.span,
                        kind: NodeKind::Seq(Vec::new()),
                        tag: None,
                    });
                    out.push(Entry {
                        key: scalar("values", entry.key.span),
                        value,
                    });
                    continue;
                }
                // `spec.variables` is the template's own
                if parent_key == Some("spec") && key == Some("variables") {
                    continue;
                }
                out.push(Entry {
                    key: entry.key.clone(),
                    value: substitute(&entry.value, key, value_of, uses, diags),
                });
            }
            Node {
                kind: NodeKind::Map(out),
                ..node.clone()
            }
        }
    }
}

/// The policy document a template stands for with `value_of`'s values:
/// `kind: TracingPolicy`, `metadata` replaced by `name`, and the
/// binding's selectors.
fn policy_root(
    template: &TemplateDoc,
    name: &Spanned<String>,
    selectors: &[(&str, &Option<Node>)],
    value_of: &dyn Fn(&str) -> Option<Node>,
    uses: &mut Vec<VariableUse>,
    diags: &mut Vec<Diagnostic>,
) -> Node {
    let mut entries = Vec::new();
    for entry in template.root.as_map().unwrap_or(&[]) {
        match entry.key.scalar_text() {
            Some("kind") => entries.push(Entry {
                key: entry.key.clone(),
                value: scalar(schema::KIND_CLUSTER, entry.value.span),
            }),
            Some("metadata") => entries.push(Entry {
                key: entry.key.clone(),
                value: Node {
                    span: entry.value.span,
                    kind: NodeKind::Map(vec![Entry {
                        key: scalar("name", name.span),
                        value: scalar(&name.value, name.span),
                    }]),
                    tag: None,
                },
            }),
            Some("spec") => {
                let mut spec = substitute(&entry.value, Some("spec"), value_of, uses, diags);
                if let NodeKind::Map(spec_entries) = &mut spec.kind {
                    for (key, node) in selectors {
                        if let Some(node) = node {
                            spec_entries.retain(|e| e.key.scalar_text() != Some(key));
                            spec_entries.push(Entry {
                                key: scalar(key, node.span),
                                value: node.clone(),
                            });
                        }
                    }
                }
                entries.push(Entry {
                    key: entry.key.clone(),
                    value: spec,
                });
            }
            _ => entries.push(entry.clone()),
        }
    }
    Node {
        kind: NodeKind::Map(entries),
        ..template.root.clone()
    }
}

/// Checks a template on its own (variables empty), and that its filters
/// name declared variables whose types fit.
pub fn check_template(template: &TemplateDoc, diags: &mut Vec<Diagnostic>) {
    let mut uses = Vec::new();
    let mut found = Vec::new();
    let root = policy_root(
        template,
        &template.name,
        &[],
        &|_| None,
        &mut uses,
        &mut found,
    );
    let placeholders: Vec<Span> = uses.iter().map(|u| u.variable.span).collect();
    validate_object(&root, &schema::DOCUMENT, &mut found);
    let policy = super::resolve::lower_policy(
        &root,
        PolicyKind::TracingPolicy,
        template.kind_span,
        template.doc_span,
        &mut found,
    );
    if let Some(policy) = &policy {
        found.extend(crate::check::run_all(policy));
    }
    // findings about the empty variables are the bindings' business
    let filters: Vec<Span> = uses.iter().map(|u| u.filter_span).collect();
    found.retain(|d| {
        d.primary_span().is_none_or(|s| {
            let at_placeholder = placeholders.iter().any(|p| p.contains(s) || s.contains(*p));
            let no_values = d.code == Code::ValuesCount && filters.iter().any(|f| f.contains(s));
            !at_placeholder && !no_values
        })
    });
    for u in &uses {
        let Some(variable) = template
            .variables
            .iter()
            .find(|v| v.name.value == u.variable.value)
        else {
            let names = template.variables.iter().map(|v| v.name.value.as_str());
            let mut d = Diagnostic::of(
                Code::UnknownVariable,
                format!(
                    "template {} declares no variable `{}`",
                    template.name.value, u.variable.value
                ),
            )
            .with_primary(u.variable.span, "not in `spec.variables`");
            if let Some(s) = did_you_mean(&u.variable.value, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            } else {
                d = d.with_help(format!(
                    "declare it: `variables: [{{name: {}, type: ...}}]`",
                    u.variable.value
                ));
            }
            found.push(d);
            continue;
        };
        let Some(ty) = &variable.ty else { continue };
        let expected = if u.binaries {
            Some("string".to_owned())
        } else {
            policy.as_ref().and_then(|p| filter_type(p, u.filter_span))
        };
        if let Some(expected) = expected {
            if expected != ty.value && expected != "auto" {
                found.push(
                    Diagnostic::of(
                        Code::VariableTypeMismatch,
                        format!(
                            "variable `{}` is declared `{}` but feeds a filter on {}",
                            variable.name.value,
                            ty.value,
                            if u.binaries {
                                "binary paths (`string`)".to_owned()
                            } else {
                                format!("an argument of type `{expected}`")
                            }
                        ),
                    )
                    .with_primary(ty.span, format!("expected `{expected}`"))
                    .with_secondary(u.variable.span, "the filter it feeds"),
                );
            }
        }
    }
    for v in &template.variables {
        if !uses.iter().any(|u| u.variable.value == v.name.value) {
            found.push(
                Diagnostic::warning(
                    Code::UnusedDefinition,
                    format!("variable `{}` feeds no filter", v.name.value),
                )
                .with_primary(
                    v.name.span,
                    "declared here, used by no `valuesFromVariable`",
                ),
            );
        }
    }
    diags.extend(found);
}

/// The declared type of the argument an argument filter (by its mapping
/// span) reads.
fn filter_type(policy: &Policy, filter_span: Span) -> Option<String> {
    for hook in &policy.hooks {
        for selector in &hook.selectors {
            let filters = selector
                .match_args
                .iter()
                .chain(&selector.match_data)
                .chain(&selector.match_return_args);
            for filter in filters {
                if filter.span != filter_span {
                    continue;
                }
                let decl = filter
                    .targets
                    .first()
                    .and_then(|t| super::resolve::decl_of(hook, *t))?;
                return Some(decl.ty.value.as_str().to_owned());
            }
        }
    }
    None
}

/// Makes each binding into its policy; reports bindings without a
/// template, unknown and missing variables. Findings inside the template
/// that the binding does not cause are left to [`check_template`].
///
/// `alone[i]` is what [`check_template`] found on `templates[i]`.
pub fn instantiate(
    templates: &[TemplateDoc],
    alone: &[Vec<Diagnostic>],
    bindings: &[BindingDoc],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Instance> {
    let mut by_name: HashMap<&str, (&TemplateDoc, &[Diagnostic])> = HashMap::new();
    for (i, t) in templates.iter().enumerate() {
        let found = alone.get(i).map_or(&[][..], Vec::as_slice);
        if let Some((first, _)) = by_name.get(t.name.value.as_str()) {
            diags.push(
                Diagnostic::of(
                    Code::UnknownTemplate,
                    format!("two templates are named {}", t.name.value),
                )
                .with_primary(t.name.span, "defined again here")
                .with_secondary(first.name.span, "first defined here; bindings use this one"),
            );
            continue;
        }
        by_name.insert(&t.name.value, (t, found));
    }
    let mut out = Vec::new();
    for binding in bindings {
        let Some(template_ref) = &binding.template else {
            continue; // the schema reported the missing templateRef
        };
        let Some((template, alone)) = by_name.get(template_ref.value.as_str()).copied() else {
            let mut d = Diagnostic::of(
                Code::UnknownTemplate,
                format!(
                    "binding {} names template {}, which no input defines",
                    binding.name.value, template_ref.value
                ),
            )
            .with_primary(template_ref.span, "no such TracingPolicyTemplate");
            d = match did_you_mean(&template_ref.value, by_name.keys().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help("give the template's file to the same `tpc` command"),
            };
            diags.push(d);
            continue;
        };
        if let Some(instance) = instantiate_one(template, alone, binding, diags) {
            out.push(instance);
        }
    }
    out
}

fn instantiate_one(
    template: &TemplateDoc,
    alone: &[Diagnostic],
    binding: &BindingDoc,
    diags: &mut Vec<Diagnostic>,
) -> Option<Instance> {
    let mut ok = true;
    for (name, values) in &binding.values {
        let Some(variable) = template
            .variables
            .iter()
            .find(|v| v.name.value == name.value)
        else {
            let names = template.variables.iter().map(|v| v.name.value.as_str());
            let mut d = Diagnostic::of(
                Code::UnknownVariable,
                format!(
                    "template {} has no variable `{}`",
                    template.name.value, name.value
                ),
            )
            .with_primary(name.span, "not a variable of the template")
            .with_secondary(template.name.span, "the template");
            if let Some(s) = did_you_mean(&name.value, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
            ok = false;
            continue;
        };
        let empty = values
            .as_ref()
            .and_then(Node::as_seq)
            .is_some_and(<[Node]>::is_empty);
        if empty {
            diags.push(
                Diagnostic::of(
                    Code::MissingVariableValue,
                    format!("variable `{}` is given no value", name.value),
                )
                .with_primary(values.as_ref().map_or(name.span, |v| v.span), "empty")
                .with_secondary(variable.name.span, "the variable"),
            );
            ok = false;
        }
    }
    // a misspelt name is reported once, as unknown with its suggestion
    let misspelt: Vec<&str> = binding
        .values
        .iter()
        .filter(|(n, _)| !template.variables.iter().any(|v| v.name.value == n.value))
        .filter_map(|(n, _)| {
            did_you_mean(
                &n.value,
                template.variables.iter().map(|v| v.name.value.as_str()),
            )
        })
        .collect();
    for variable in &template.variables {
        if !binding
            .values
            .iter()
            .any(|(n, _)| n.value == variable.name.value)
            && !misspelt.contains(&variable.name.value.as_str())
        {
            diags.push(
                Diagnostic::of(
                    Code::MissingVariableValue,
                    format!(
                        "binding {} gives no values for variable `{}` of template {}",
                        binding.name.value, variable.name.value, template.name.value
                    ),
                )
                .with_primary(
                    binding.bindings_span,
                    format!("no `{}` here", variable.name.value),
                )
                .with_secondary(variable.name.span, "declared here")
                .with_help(format!(
                    "add `- name: {}` with its `values` under `bindings`",
                    variable.name.value
                )),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let value_of = |name: &str| -> Option<Node> {
        binding
            .values
            .iter()
            .find(|(n, _)| n.value == name)
            .and_then(|(_, v)| v.clone())
    };
    let mut uses = Vec::new();
    let mut found = Vec::new();
    let selectors = [
        ("podSelector", &binding.pod_selector),
        ("containerSelector", &binding.container_selector),
    ];
    let root = policy_root(
        template,
        &binding.name,
        &selectors,
        &value_of,
        &mut uses,
        &mut found,
    );
    let mut fed = Vec::new();
    for u in &uses {
        if let Some((_, Some(values))) = binding
            .values
            .iter()
            .find(|(n, _)| n.value == u.variable.value)
        {
            fed.push((values.span, u.variable.value.clone(), u.variable.span));
        }
    }
    validate_object(&root, &schema::DOCUMENT, &mut found);
    let policy = super::resolve::lower_policy(
        &root,
        PolicyKind::TracingPolicy,
        binding.kind_span,
        binding.doc_span,
        &mut found,
    );
    let mut policy = policy?;
    policy.binding = Some(BindingOf {
        template: Spanned::new(
            template.name.value.clone(),
            binding
                .template
                .as_ref()
                .map_or(binding.doc_span, |t| t.span),
        ),
        override_allowed: binding.override_allowed,
        override_priority: binding.override_priority,
        cgroups: binding.cgroups.clone(),
        span: binding.doc_span,
    });
    let instance = Instance {
        policy,
        fed,
        template_span: template.doc_span,
        frontend: Vec::new(),
        variable_filters: uses.iter().map(|u| u.filter_span).collect(),
    };
    let frontend = found
        .into_iter()
        .filter_map(|d| binding_finding(d, &instance, alone))
        .collect();
    Some(Instance {
        frontend,
        ..instance
    })
}

/// Keeps or drops one finding on a binding's policy: those inside the
/// binding stay (errors on its values become [`Code::BindingValueType`],
/// pointing at the filter the value feeds); those inside the template only
/// when the template alone does not have them (`alone`: what
/// [`check_template`] found), that is when the binding's values cause them.
pub fn binding_finding(
    mut d: Diagnostic,
    instance: &Instance,
    alone: &[Diagnostic],
) -> Option<Diagnostic> {
    let name = &instance.policy.name.value;
    let span = d.primary_span()?;
    let inside_binding = instance
        .policy
        .binding
        .as_ref()
        .is_some_and(|b| b.span.contains(span));
    if inside_binding {
        if d.severity == Severity::Error {
            if let Some((_, variable, at)) = instance.fed.iter().find(|(v, _, _)| v.contains(span))
            {
                d.code = Code::BindingValueType;
                d.message = format!("binding {name}: {} (variable `{variable}`)", d.message);
                d = d.with_secondary(*at, "the filter this value feeds");
            }
        }
        return Some(d);
    }
    if !instance.template_span.contains(span) {
        return Some(d);
    }
    // a filter left without values: its variable is unknown (reported on
    // the template) or unset (reported on the binding)
    let no_values =
        d.code == Code::ValuesCount && instance.variable_filters.iter().any(|f| f.contains(span));
    if no_values || alone.iter().any(|a| a == &d) {
        return None;
    }
    Some(d.with_note(format!("with the values of binding {name}")))
}
