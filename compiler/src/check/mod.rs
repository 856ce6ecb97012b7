//! Kernel-independent checks on the IR. One check per file, each named after
//! what it flags, with the codes it emits and a doc comment (What it does /
//! Why / Example) that doubles as documentation. Checks only read the IR and
//! append diagnostics; they never change it. This module holds the registry
//! and the few helpers several checks share.

use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{
    ArgDecl, ArgFilter, ArgRef, Call, Hook, HookTarget, ListDef, Policy, PolicyOption, Selector,
};
use crate::tetragon::TetragonVersion;

mod action_arguments;
mod action_field_usage;
mod action_support;
pub mod binding_conflicts;
mod conflicting_actions;
mod costly_hook;
mod duplicate_arg;
mod duplicate_hook;
pub mod duplicate_policy_name;
mod hook_target;
mod ineffective_filter;
mod invalid_arg_declaration;
mod invalid_enforcer;
mod invalid_option;
pub mod kernel;
mod kprobe_btf_type;
mod label_selectors;
mod list_definitions;
mod list_usage;
mod message_too_long;
mod mixed_hook_sections;
mod namespaced_restriction;
mod operator_type_mismatch;
mod override_target;
mod probe_network_actions;
mod relative_binary_path;
mod removed_fd_actions;
mod return_mismatch;
mod string_too_long;
mod surprising_semantics;
mod tag_limit;
mod too_many_actions;
mod too_many_args;
mod too_many_filters;
mod too_many_selectors;
mod too_many_values;
mod unreachable_selector;
mod unsupported_arg_type;
mod unsupported_return_arg_action;
mod unsupported_sockaddr_un;
mod unused_definition;
mod values_count;

/// A registered check.
pub struct Check {
    /// The file's name, e.g. `too_many_selectors`.
    pub name: &'static str,
    /// The codes it may emit.
    pub codes: &'static [Code],
    pub run: fn(&Policy, &mut Vec<Diagnostic>),
}

/// Every check, in the order they run: policy-level sections first, then
/// hooks, arguments, filters, actions, and selector-level reasoning last.
pub static CHECKS: &[Check] = &[
    mixed_hook_sections::CHECK,
    invalid_option::CHECK,
    namespaced_restriction::CHECK,
    label_selectors::CHECK,
    list_definitions::CHECK,
    list_usage::CHECK,
    unused_definition::CHECK,
    invalid_enforcer::CHECK,
    hook_target::CHECK,
    duplicate_hook::CHECK,
    tag_limit::CHECK,
    message_too_long::CHECK,
    unsupported_arg_type::CHECK,
    invalid_arg_declaration::CHECK,
    duplicate_arg::CHECK,
    too_many_args::CHECK,
    return_mismatch::CHECK,
    too_many_selectors::CHECK,
    too_many_filters::CHECK,
    operator_type_mismatch::CHECK,
    ineffective_filter::CHECK,
    values_count::CHECK,
    too_many_values::CHECK,
    string_too_long::CHECK,
    relative_binary_path::CHECK,
    too_many_actions::CHECK,
    action_support::CHECK,
    action_arguments::CHECK,
    action_field_usage::CHECK,
    override_target::CHECK,
    conflicting_actions::CHECK,
    unreachable_selector::CHECK,
    surprising_semantics::CHECK,
    costly_hook::CHECK,
];

/// A check whose verdict depends on the Tetragon release the policy is
/// meant for (`tpc check --tetragon VERSION`).
pub struct VersionedCheck {
    pub name: &'static str,
    pub codes: &'static [Code],
    pub run: fn(&Policy, TetragonVersion, &mut Vec<Diagnostic>),
}

/// Every versioned check; they run after [`CHECKS`].
pub static VERSIONED_CHECKS: &[VersionedCheck] = &[
    unsupported_return_arg_action::CHECK,
    probe_network_actions::CHECK,
    unsupported_sockaddr_un::CHECK,
    kprobe_btf_type::CHECK,
    removed_fd_actions::CHECK,
];

/// Runs every check on one policy, with the rules of the latest Tetragon
/// release.
pub fn run_all(policy: &Policy) -> Vec<Diagnostic> {
    run_all_for(policy, TetragonVersion::default())
}

/// Runs every check on one policy with the rules of `version`.
pub fn run_all_for(policy: &Policy, version: TetragonVersion) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for check in CHECKS {
        (check.run)(policy, &mut out);
    }
    for check in VERSIONED_CHECKS {
        (check.run)(policy, version, &mut out);
    }
    out
}

/// Which selector list an argument filter comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterList {
    Args,
    Data,
    ReturnArgs,
}

impl FilterList {
    pub(crate) fn key(self) -> &'static str {
        match self {
            FilterList::Args => "matchArgs",
            FilterList::Data => "matchData",
            FilterList::ReturnArgs => "matchReturnArgs",
        }
    }
}

/// Every argument filter of a selector with the list it is in.
pub(crate) fn arg_filters(sel: &Selector) -> impl Iterator<Item = (FilterList, &ArgFilter)> {
    let args = sel.match_args.iter().map(|f| (FilterList::Args, f));
    let data = sel.match_data.iter().map(|f| (FilterList::Data, f));
    let ret = sel
        .match_return_args
        .iter()
        .map(|f| (FilterList::ReturnArgs, f));
    args.chain(data).chain(ret)
}

/// The declaration an argument reference points at.
pub(crate) fn decl_of(hook: &Hook, target: ArgRef) -> Option<&ArgDecl> {
    crate::front::resolve::decl_of(hook, target)
}

/// The declaration a filter reads (its first target).
pub(crate) fn filter_decl<'h>(hook: &'h Hook, filter: &ArgFilter) -> Option<&'h ArgDecl> {
    filter.targets.first().and_then(|t| decl_of(hook, *t))
}

/// How to name what a filter reads, in the policy's own terms.
pub(crate) fn describe_target(hook: &Hook, target: ArgRef) -> String {
    match (target, decl_of(hook, target)) {
        (ArgRef::Arg(_), Some(d)) => format!("the argument with `index: {}`", d.index.value),
        (ArgRef::Arg(p), None) => format!("`args[{p}]`"),
        (ArgRef::Data(p), _) => format!("`data[{p}]`"),
        (ArgRef::Return, _) => "the return value".to_string(),
    }
}

/// Whether Tetragon treats `call` as a syscall. A call that came from a list
/// follows the list's type (a `syscalls` list forces it, any other list
/// clears it), whatever the hook's `syscall:` says; otherwise the hook's
/// `syscall:` decides (the CRD default is true).
pub(crate) fn call_is_syscall(policy: &Policy, hook: &Hook, call: &Call) -> bool {
    let HookTarget::Kprobe { syscall, .. } = &hook.target else {
        return false;
    };
    match &call.from_list {
        Some(name) => list_named(policy, name).map_or(*syscall, |l| l.kind.is_syscalls()),
        None => *syscall,
    }
}

pub(crate) fn list_named<'p>(policy: &'p Policy, name: &str) -> Option<&'p ListDef> {
    policy.lists.iter().find(|l| l.name.value == name)
}

/// The last `spec.options` entry with this name (later entries win).
pub(crate) fn option_named<'p>(policy: &'p Policy, name: &str) -> Option<&'p PolicyOption> {
    policy.options.iter().rev().find(|o| o.name.value == name)
}

/// Go's `strconv.ParseBool`, which Tetragon uses for boolean options.
pub(crate) fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Is the boolean option `name` set to true?
pub(crate) fn option_is_true(policy: &Policy, name: &str) -> bool {
    option_named(policy, name)
        .and_then(|o| o.value.as_ref())
        .and_then(|v| parse_go_bool(v.value.trim()))
        .unwrap_or(false)
}

/// "1 entry", "2 entries".
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Test support: parses `yaml`, runs the frontend and every check, and
/// returns all diagnostics (frontend's first).
#[cfg(test)]
pub(crate) fn diagnostics_for(yaml: &str) -> Vec<Diagnostic> {
    diagnostics_for_version(yaml, TetragonVersion::default())
}

/// Test support: [`diagnostics_for`] with the rules of `version`.
#[cfg(test)]
pub(crate) fn diagnostics_for_version(yaml: &str, version: TetragonVersion) -> Vec<Diagnostic> {
    let parsed = crate::front::parse_policies(crate::span::FileId(0), yaml);
    if !parsed.templates.is_empty() || !parsed.bindings.is_empty() {
        // bindings become policies in the driver, with every template
        return crate::driver::check_sources(vec![("case.yaml".into(), yaml.into())]).diagnostics;
    }
    let mut diags = parsed.diagnostics;
    for p in &parsed.policies {
        diags.extend(run_all_for(p, version));
    }
    let names: Vec<duplicate_policy_name::PolicyName> = parsed
        .policies
        .iter()
        .map(duplicate_policy_name::PolicyName::of)
        .collect();
    duplicate_policy_name::run(&names, &|_| "this file".to_string(), &mut diags);
    diags
}

/// Test support: the codes of [`diagnostics_for`], in order.
#[cfg(test)]
pub(crate) fn codes_for(yaml: &str) -> Vec<Code> {
    diagnostics_for(yaml).iter().map(|d| d.code).collect()
}

/// Test support: a `TracingPolicy` named `test` around `spec`, which is
/// written at the indentation of `spec:`'s children (two spaces).
#[cfg(test)]
pub(crate) fn policy(spec: &str) -> String {
    format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: test\nspec:\n{}",
        spec.trim_start_matches('\n')
    )
}

/// Test support: the diagnostics with `code` for `yaml`.
#[cfg(test)]
pub(crate) fn with_code(yaml: &str, code: Code) -> Vec<Diagnostic> {
    diagnostics_for(yaml)
        .into_iter()
        .filter(|d| d.code == code)
        .collect()
}

/// Test support: the text under a diagnostic's primary label.
#[cfg(test)]
pub(crate) fn primary_text<'a>(yaml: &'a str, d: &Diagnostic) -> &'a str {
    d.primary_span().map_or("", |s| &yaml[s.range()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Severity;
    use std::path::{Path, PathBuf};

    /// `../shared` relative to the repository, or `$TPC_SHARED`.
    fn shared_dir() -> PathBuf {
        std::env::var_os("TPC_SHARED").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
            PathBuf::from,
        )
    }

    fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                yaml_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }

    fn short(path: &Path, text: &str, diags: &[Diagnostic]) -> String {
        let mut map = crate::span::SourceMap::new();
        map.add(path.display().to_string(), text.to_string());
        crate::diagnostics::render::human::render_short(&map, diags)
    }

    fn corpus_files() -> Vec<PathBuf> {
        let root = shared_dir().join("corpus/tetragon");
        let mut files = Vec::new();
        yaml_files(&root, &mut files);
        files.sort();
        assert!(
            files.len() > 40,
            "expected Tetragon's example policies under {}",
            root.display()
        );
        files
    }

    /// Every example policy Tetragon ships loads, so neither the frontend
    /// nor the checks may report an error on them. `specs/` holds policies
    /// that are wrong on purpose; `list-syscalls-tracepoint.yaml` filters a
    /// `uint64` argument with a syscall list, which Tetragon refuses.
    #[test]
    fn tetragon_examples_have_no_errors() {
        let mut errors = String::new();
        let mut checked = 0;
        for f in corpus_files() {
            let rel = f.to_string_lossy().replace('\\', "/");
            if rel.contains("/specs/") || rel.ends_with("/list-syscalls-tracepoint.yaml") {
                continue;
            }
            let text =
                std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let bad: Vec<Diagnostic> = diagnostics_for(&text)
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect();
            if !bad.is_empty() {
                errors.push_str(&short(&f, &text, &bad));
            }
            checked += 1;
        }
        assert!(checked > 40);
        assert!(
            errors.is_empty(),
            "errors on Tetragon's examples:\n{errors}"
        );
    }

    #[test]
    fn list_syscalls_tracepoint_needs_syscall64() {
        let f = shared_dir().join("corpus/tetragon/list-syscalls-tracepoint.yaml");
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let d = diagnostics_for(&text);
        let errors: Vec<&Diagnostic> = d.iter().filter(|d| d.severity == Severity::Error).collect();
        assert_eq!(errors.len(), 1, "{}", short(&f, &text, &d));
        let e = errors[0];
        assert_eq!(e.code, Code::ListTypeMismatch);
        assert!(
            e.message.contains("InMap")
                && e.message.contains("syscall64")
                && e.message.contains("uint64"),
            "{}",
            e.message
        );
        assert_eq!(primary_text(&text, e), "\"list:dups\"");
    }

    fn fixture_dir(kind: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/policies")
            .join(kind)
    }

    /// The codes a fixture's header comments promise: `# expect: TPC020 — ...`
    /// on the first line, optionally `# also: TPC034 ...` on the second for a
    /// consequence of the same mistake.
    fn promised_codes(path: &Path, text: &str) -> (Code, Vec<Code>) {
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("");
        let code_in = |line: &str, tag: &str| -> Option<Code> {
            let rest = line.strip_prefix(tag)?.trim_start();
            Code::parse(rest.split_whitespace().next()?)
        };
        let expected = code_in(first, "# expect:").unwrap_or_else(|| {
            panic!(
                "{}: first line must be `# expect: TPCnnn — ...`",
                path.display()
            )
        });
        let also = lines
            .next()
            .and_then(|l| code_in(l, "# also:"))
            .into_iter()
            .collect();
        (expected, also)
    }

    /// The release a fixture's `# tetragon: VERSION` header comment names
    /// (the latest release without one).
    fn fixture_version(text: &str) -> TetragonVersion {
        text.lines()
            .take_while(|l| l.starts_with('#'))
            .find_map(|l| l.strip_prefix("# tetragon:"))
            .and_then(|v| TetragonVersion::parse(v).ok())
            .unwrap_or_default()
    }

    /// Each `err` fixture holds one mistake: its promised code is reported,
    /// and nothing else above a note (unless promised on an `# also:` line).
    #[test]
    fn err_fixtures_report_their_promised_code() {
        let mut files = Vec::new();
        yaml_files(&fixture_dir("err"), &mut files);
        files.sort();
        assert!(
            files.len() >= 45,
            "expected at least 45 err fixtures, found {}",
            files.len()
        );
        let mut failures = String::new();
        for f in &files {
            let text =
                std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let (expected, also) = promised_codes(f, &text);
            let d = diagnostics_for_version(&text, fixture_version(&text));
            let found = d.iter().any(|d| d.code == expected);
            let stray: Vec<Diagnostic> = d
                .iter()
                .filter(|d| {
                    d.severity > Severity::Note && d.code != expected && !also.contains(&d.code)
                })
                .cloned()
                .collect();
            if !found || !stray.is_empty() {
                failures.push_str(&format!(
                    "{} (expects {}):\n{}",
                    f.display(),
                    expected.as_str(),
                    short(f, &text, &d)
                ));
            }
        }
        assert!(failures.is_empty(), "{failures}");
    }

    /// The `ok` fixtures are realistic policies that must check clean (notes
    /// allowed).
    #[test]
    fn ok_fixtures_check_clean() {
        let mut files = Vec::new();
        yaml_files(&fixture_dir("ok"), &mut files);
        files.sort();
        assert!(
            files.len() >= 5,
            "expected at least 5 ok fixtures, found {}",
            files.len()
        );
        let mut failures = String::new();
        for f in &files {
            let text =
                std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let d: Vec<Diagnostic> = diagnostics_for(&text)
                .into_iter()
                .filter(|d| d.severity > Severity::Note)
                .collect();
            if !d.is_empty() {
                failures.push_str(&short(f, &text, &d));
            }
        }
        assert!(failures.is_empty(), "{failures}");
    }

    /// Each check emits only the codes it registers, so `tpc explain` and the
    /// registry stay truthful.
    #[test]
    fn checks_emit_only_their_registered_codes() {
        let mut files = Vec::new();
        yaml_files(&fixture_dir("err"), &mut files);
        yaml_files(&fixture_dir("ok"), &mut files);
        yaml_files(&shared_dir().join("corpus/tetragon"), &mut files);
        let mut emitted = std::collections::HashSet::new();
        for f in &files {
            let text =
                std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            for policy in crate::front::parse_policies(crate::span::FileId(0), &text).policies {
                for check in CHECKS {
                    let mut out = Vec::new();
                    (check.run)(&policy, &mut out);
                    for d in out {
                        assert!(
                            check.codes.contains(&d.code),
                            "{} emitted {} on {}",
                            check.name,
                            d.code.as_str(),
                            f.display()
                        );
                        emitted.insert(check.name);
                    }
                }
                for check in VERSIONED_CHECKS {
                    for version in TetragonVersion::ALL {
                        let mut out = Vec::new();
                        (check.run)(&policy, version, &mut out);
                        for d in out {
                            assert!(
                                check.codes.contains(&d.code),
                                "{} emitted {} on {} for {version}",
                                check.name,
                                d.code.as_str(),
                                f.display()
                            );
                            emitted.insert(check.name);
                        }
                    }
                }
            }
        }
        let silent: Vec<&str> = CHECKS
            .iter()
            .map(|c| c.name)
            .chain(VERSIONED_CHECKS.iter().map(|c| c.name))
            .filter(|n| !emitted.contains(n))
            .collect();
        assert!(silent.is_empty(), "checks no fixture exercises: {silent:?}");
    }

    const SIX_SELECTORS: &str = r#"
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: six
spec:
  kprobes:
  - call: sys_write
    selectors:
    - matchPIDs: [{operator: In, values: [1]}]
    - matchPIDs: [{operator: In, values: [2]}]
    - matchPIDs: [{operator: In, values: [3]}]
    - matchPIDs: [{operator: In, values: [4]}]
    - matchPIDs: [{operator: In, values: [5]}]
    - matchPIDs: [{operator: In, values: [6]}]
"#;

    #[test]
    fn six_selectors_is_one_too_many() {
        let d = diagnostics_for(SIX_SELECTORS);
        let hits: Vec<_> = d
            .iter()
            .filter(|d| d.code == Code::TooManySelectors)
            .collect();
        assert_eq!(hits.len(), 1, "{d:#?}");
        let span = hits[0].primary_span().expect("labelled");
        assert!(SIX_SELECTORS[span.range()].contains("[6]"));
        assert!(
            !codes_for(
                &SIX_SELECTORS.replace("    - matchPIDs: [{operator: In, values: [6]}]\n", "")
            )
            .contains(&Code::TooManySelectors)
        );
    }

    #[test]
    fn mixed_sections() {
        let y = r#"
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: mixed}
spec:
  kprobes: [{call: sys_write}]
  tracepoints: [{subsystem: syscalls, event: sys_enter_write}]
"#;
        assert!(codes_for(y).contains(&Code::MixedHookSections));
    }
}
