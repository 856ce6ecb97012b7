//! The frontend: policy YAML → spanned YAML tree (the AST: every key and
//! value keeps its span) → schema validation → resolution into the IR.

pub mod agent_yaml;
pub mod resolve;
pub mod rsp;
pub mod schema;
pub mod template;
pub mod validate;
pub mod yaml;

use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{Policy, PolicyKind};
use crate::span::{FileId, Span};
use yaml::Node;

/// The policies of one source file and what the frontend found wrong.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Empty after [`parse_policies_each`], which hands each policy over as
    /// its document ends.
    pub policies: Vec<Policy>,
    pub diagnostics: Vec<Diagnostic>,
    /// Documents that were not policies (skipped).
    pub skipped: usize,
    /// `TracingPolicyTemplate` documents: policies only once bound.
    pub templates: Vec<template::TemplateDoc>,
    /// `TracingPolicyBinding` documents, made into policies by
    /// [`template::instantiate`] with the templates of every input.
    pub bindings: Vec<template::BindingDoc>,
    /// The RuntimeSecurityPolicy documents, with the index of their policy
    /// in `policies` (in the order [`parse_policies_each`] gave them) and
    /// the TracingPolicy they became.
    pub converted: Vec<(usize, rsp::tree::Tree)>,
    /// The file is not readable YAML (the one diagnostic says why): the
    /// policies of its first documents do not count, and a caller of
    /// [`parse_policies_each`] drops what it was given.
    pub refused: bool,
}

/// What the frontend needs to know beyond the text.
#[derive(Clone, Debug)]
pub struct FrontOptions {
    /// The hooks RuntimeSecurityPolicy rules become.
    pub rsp_strategy: rsp::strategy::StrategyChoice,
}

impl Default for FrontOptions {
    fn default() -> Self {
        FrontOptions {
            rsp_strategy: rsp::strategy::StrategyChoice::default_without_kernel(),
        }
    }
}

/// Parses, validates and resolves every policy document of one file.
pub fn parse_policies(file: FileId, text: &str) -> Parsed {
    parse_policies_with(file, text, &FrontOptions::default())
}

/// Whether a text may hold a RuntimeSecurityPolicy (so callers choose a
/// block strategy only when one is needed).
pub fn mentions_rsp(text: &str) -> bool {
    // a `kind:` line naming it (comments, such as `tpc convert`'s header,
    // do not count); flow-style documents are looked at whole
    text.lines().any(|line| {
        let line = line.trim_start().trim_start_matches("- ");
        line.starts_with("kind:") && line.contains(rsp::schema::KIND)
    }) || (text.contains('{') && text.contains(rsp::schema::KIND))
}

/// [`parse_policies`] with options.
pub fn parse_policies_with(file: FileId, text: &str, options: &FrontOptions) -> Parsed {
    let mut policies = Vec::new();
    let mut out = parse_policies_each(file, text, options, |policy| policies.push(policy));
    if !out.refused {
        out.policies = policies;
    }
    out
}

/// [`parse_policies_with`] that gives each policy to `each` as its
/// document ends instead of collecting them, so a caller that checks a
/// policy and keeps only its findings never holds the IR of a whole file.
/// When the file turns out not to be readable YAML, [`Parsed::refused`]
/// says to drop what `each` was given.
pub fn parse_policies_each(
    file: FileId,
    text: &str,
    options: &FrontOptions,
    mut each: impl FnMut(Policy),
) -> Parsed {
    let mut out = Parsed::default();
    let mut any_document = false;
    let mut given = 0usize;
    // Documents are checked as they end, so one tree is alive at a time.
    let parsed = yaml::parse_each(file, text, |doc| {
        let Some(root) = &doc.root else { return };
        any_document = true;
        match classify(root, &mut out.diagnostics) {
            DocClass::Rsp { kind_span } => {
                if let Some(converted) = rsp::lower(
                    root,
                    kind_span,
                    doc.span,
                    &options.rsp_strategy,
                    &mut out.diagnostics,
                ) {
                    out.converted.push((given, converted.tree));
                    given += 1;
                    each(converted.policy);
                }
            }
            DocClass::Policy { kind, kind_span } => {
                let before = out.diagnostics.len();
                validate::validate_object(root, &schema::DOCUMENT, &mut out.diagnostics);
                for d in &mut out.diagnostics[before..] {
                    if d.code == Code::UnknownField && d.message.contains("`valuesFromVariable`") {
                        d.help = Some(format!(
                            "`valuesFromVariable` takes its values from a binding: make this a `kind: {}` with `spec.variables`, or list the values under `values`",
                            schema::KIND_TEMPLATE
                        ));
                    }
                }
                if let Some(p) =
                    resolve::lower_policy(root, kind, kind_span, doc.span, &mut out.diagnostics)
                {
                    given += 1;
                    each(p);
                }
            }
            DocClass::Template { kind_span } => {
                let t = template::read_template(root, kind_span, doc.span, &mut out.diagnostics);
                out.templates.push(t);
            }
            DocClass::Binding => {
                let b = template::read_binding(root, doc.span, &mut out.diagnostics);
                out.bindings.push(b);
            }
            DocClass::Skip => out.skipped += 1,
            DocClass::Invalid => {}
        }
    });
    if let Err(e) = parsed {
        // A file that is not readable YAML is reported as such alone: what
        // its first documents would say is not the author's problem yet.
        out = Parsed {
            refused: true,
            ..Parsed::default()
        };
        out.diagnostics.push(match e.kind {
            yaml::YamlErrorKind::Syntax => {
                Diagnostic::of(Code::YamlSyntax, format!("invalid YAML: {}", e.message))
                    .with_primary(e.span, "the YAML parser stopped here")
            }
            yaml::YamlErrorKind::Limit => Diagnostic::of(
                Code::YamlLimit,
                format!("YAML too large to read: {}", e.message),
            )
            .with_primary(e.span, "tpc stopped reading here")
            .with_note(format!(
                "tpc reads at most {} alias-copied nodes per file and {} levels of nesting; no policy needs more",
                yaml::MAX_ALIAS_NODES,
                yaml::MAX_DEPTH
            )),
        });
        return out;
    }
    if !any_document {
        let span = Span::new(file, 0, 0);
        out.diagnostics.push(
            Diagnostic::of(Code::NotAPolicy, "the file holds no YAML document")
                .with_primary(span, "empty file")
                .with_help("a policy starts with `apiVersion: cilium.io/v1alpha1` and `kind: TracingPolicy`"),
        );
    }
    out
}

enum DocClass {
    /// A RuntimeSecurityPolicy.
    Rsp {
        kind_span: Span,
    },
    Policy {
        kind: PolicyKind,
        kind_span: Span,
    },
    /// A `TracingPolicyTemplate`.
    Template {
        kind_span: Span,
    },
    /// A `TracingPolicyBinding`.
    Binding,
    /// Not a policy: skipped with a note.
    Skip,
    /// A broken policy header, already reported.
    Invalid,
}

const KINDS: [&str; 5] = [
    schema::KIND_CLUSTER,
    schema::KIND_NAMESPACED,
    schema::KIND_TEMPLATE,
    schema::KIND_BINDING,
    rsp::schema::KIND,
];

fn classify(root: &Node, diags: &mut Vec<Diagnostic>) -> DocClass {
    if root.as_map().is_none() {
        diags.push(
            Diagnostic::of(
                Code::WrongType,
                format!(
                    "a policy document must be a mapping, found {}",
                    root.describe()
                ),
            )
            .with_primary(
                root.span,
                "expected `apiVersion`, `kind`, `metadata` and `spec`",
            ),
        );
        return DocClass::Invalid;
    }
    let api = root
        .get("apiVersion")
        .and_then(|n| n.scalar_text().map(|t| (t, n.span)));
    let kind = root
        .get("kind")
        .and_then(|n| n.scalar_text().map(|t| (t, n.span)));
    let Some((kind_text, kind_span)) = kind else {
        diags.push(
            Diagnostic::of(Code::MissingField, "the document has no `kind`")
                .with_primary(
                    root.as_map()
                        .and_then(|m| m.first())
                        .map_or(root.span, |e| e.key.span),
                    "no `kind` in this document",
                )
                .with_help("add `kind: TracingPolicy` (or `TracingPolicyNamespaced`)"),
        );
        return DocClass::Invalid;
    };
    let group_ok = api.is_some_and(|(a, _)| a.split('/').next() == Some("cilium.io"));
    if api.is_some() && !group_ok {
        let (a, span) = api.unwrap_or(("", kind_span));
        diags.push(
            Diagnostic::of(Code::NotAPolicy, format!("skipping a `{kind_text}` ({a}): not a Tetragon policy"))
                .with_primary(span, "not cilium.io")
                .with_note("tpc checks `cilium.io/v1alpha1` TracingPolicy and TracingPolicyNamespaced documents"),
        );
        return DocClass::Skip;
    }
    let other_kind = if kind_text == schema::KIND_TEMPLATE {
        Some(DocClass::Template { kind_span })
    } else if kind_text == schema::KIND_BINDING {
        Some(DocClass::Binding)
    } else if kind_text == rsp::schema::KIND {
        Some(DocClass::Rsp { kind_span })
    } else {
        None
    };
    if let Some(class) = other_kind {
        return match api {
            Some((a, span)) if a != schema::API_VERSION => {
                diags.push(
                    Diagnostic::of(
                        Code::UnknownValue,
                        format!("unknown apiVersion `{a}` for {kind_text}"),
                    )
                    .with_primary(span, format!("expected `{}`", schema::API_VERSION)),
                );
                DocClass::Invalid
            }
            _ => class,
        };
    }
    let kind = match kind_text {
        k if k == schema::KIND_CLUSTER => PolicyKind::TracingPolicy,
        k if k == schema::KIND_NAMESPACED => PolicyKind::TracingPolicyNamespaced,
        other => {
            if let Some(s) = did_you_mean(other, KINDS) {
                diags.push(
                    Diagnostic::of(Code::UnknownValue, format!("unknown policy kind `{other}`"))
                        .with_primary(kind_span, format!("did you mean `{s}`?"))
                        .with_help(
                            "tpc reads TracingPolicy, TracingPolicyNamespaced and RuntimeSecurityPolicy",
                        ),
                );
                return DocClass::Invalid;
            }
            if api.is_none() {
                diags.push(
                    Diagnostic::of(
                        Code::NotAPolicy,
                        format!("skipping a `{other}`: not a Tetragon policy"),
                    )
                    .with_primary(kind_span, "not a policy kind"),
                );
                return DocClass::Skip;
            }
            diags.push(
                Diagnostic::of(
                    Code::NotAPolicy,
                    format!(
                        "skipping `{other}`: tpc reads TracingPolicy, TracingPolicyNamespaced and RuntimeSecurityPolicy"
                    ),
                )
                .with_primary(kind_span, "not a tracing policy"),
            );
            return DocClass::Skip;
        }
    };
    match api {
        Some((a, span)) if a != schema::API_VERSION => {
            diags.push(
                Diagnostic::of(
                    Code::UnknownValue,
                    format!("unknown apiVersion `{a}` for {kind_text}"),
                )
                .with_primary(span, format!("expected `{}`", schema::API_VERSION)),
            );
            DocClass::Invalid
        }
        // A missing apiVersion is reported by the schema validator.
        _ => DocClass::Policy { kind, kind_span },
    }
}
