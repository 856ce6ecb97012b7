//! `tpc test` files: a policy, events, and the verdicts expected on them.
//! Loading, running, and a readable diff when the simulator disagrees.
//!
//! # Format
//!
//! A test file is YAML (`*.test.yaml` when found in a folder):
//!
//! ```yaml
//! name: vi writing /etc/passwd is posted, other writes are not
//! # The policies: files (or `tpc build` bundles, `*.tpcb`) relative to this
//! # file, and/or one inline policy.
//! policies: [policies/write-etc.yaml]
//! policy: |
//!   apiVersion: cilium.io/v1alpha1
//!   kind: TracingPolicy
//!   ...
//! # The events, in order; their positions (1, 2, ...) run over all sources.
//! events:
//!   - shared: corpus/tetragon-events/00_four_golden_signals__process_kprobe.json
//!   - shared-dir: corpus/tetragon-events  # every file, sorted by name
//!   - file: events/writes.jsonl          # relative to this file
//!   - inline: |                          # JSON lines
//!       {"process_kprobe": {...}}
//!   - event:                             # one event written as YAML
//!       process_kprobe: {function_name: __x64_sys_write, ...}
//! # One entry per verdict (an event reaching a policy hook). Only the
//! # fields written are compared; `policy` and `hook` may be left out when
//! # there is a single one.
//! expect:
//!   - event: 1
//!     policy: write-etc
//!     hook: kprobes[0]
//!     selector: 0            # a number, `none` (no selector matched) or `no-selectors`
//!     actions: [Post]        # as `tpc replay --verdicts` shows them
//!     action: KPROBE_ACTION_POST
//!     posted: true
//!     suppressed: NoPost     # NoPost | rate limited | no selector matched | out of scope | return probe suppressed
//!     rule: rules[1] File Block  # a RuntimeSecurityPolicy's deciding rule, or `none`
//! # Optional:
//! complete: true             # every verdict must be listed (default true)
//! malformed: 0               # values of the inputs that are not events (default 0)
//! options: {arch: x86_64, legacy-paths: true, rsp-strategy: tracepoint}
//! ```
//!
//! `shared:` paths are read from `$TPC_SHARED`, else from the first
//! `shared/` folder beside an ancestor of the test file (the repository's
//! `../shared`); they are never copied into the repository.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tpc_events::{Event, EventReader};

use crate::driver;
use crate::front::yaml::{self, Node, NodeKind, ScalarValue};
use crate::ir::Policy;
use crate::span::{FileId, SourceFile, Span};

use super::engine::{SimOptions, Simulator};
use super::report::{self, Origin};
use super::syscalls::Arch;
use super::verdict::{SelectorOutcome, Verdict};

/// Why a test file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TestFileError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

/// Where events come from.
#[derive(Clone, Debug)]
pub enum EventSource {
    /// A file relative to the test file.
    File(PathBuf),
    /// A file of the shared corpus (`$TPC_SHARED/...`).
    Shared(PathBuf),
    /// Every file of a shared folder, sorted by name.
    SharedDir(PathBuf),
    /// JSON lines written in the test file.
    Inline(String),
}

/// One expected verdict; `None` fields are not compared.
#[derive(Clone, Debug, Default)]
pub struct Expectation {
    pub line: usize,
    pub event: u64,
    pub policy: Option<String>,
    pub hook: Option<String>,
    pub selector: Option<SelectorOutcome>,
    pub actions: Option<Vec<String>>,
    pub action: Option<String>,
    pub return_action: Option<String>,
    pub posted: Option<bool>,
    pub suppressed: Option<String>,
    /// The RuntimeSecurityPolicy rule, as `rules[1] File Block` (`none`:
    /// no rule decided).
    pub rule: Option<String>,
}

/// A loaded test file.
#[derive(Clone, Debug)]
pub struct TestFile {
    pub path: PathBuf,
    pub name: String,
    pub policy_files: Vec<PathBuf>,
    pub inline_policy: Option<String>,
    pub events: Vec<EventSource>,
    pub expect: Vec<Expectation>,
    pub complete: bool,
    pub malformed: usize,
    pub options: SimOptions,
    /// `process-cgroups: {PID: PATH}`: the cgroup each process (and its
    /// descendants) ran in, for bindings scoped to cgroups.
    pub process_cgroups: Vec<(u32, String)>,
    /// `options: {rsp-strategy: tracepoint}`: the hooks RuntimeSecurityPolicy
    /// rules become (default: lsm).
    pub rsp_strategy: Option<crate::front::rsp::strategy::Strategy>,
}

/// The result of running a test file.
#[derive(Clone, Debug)]
pub struct TestOutcome {
    pub name: String,
    pub path: PathBuf,
    /// Problems, each a readable block (a diff of verdicts, a policy error).
    pub failures: Vec<String>,
    /// Why the test did not run at all: the shared data its events come
    /// from is not here (`needs ../shared/corpus/...; not found`). Then
    /// `failures` is empty: without its events there is nothing to compare.
    pub not_run: Option<String>,
    /// The verdict stream (`tpc replay --verdicts` lines).
    pub verdict_lines: Vec<String>,
    pub events: u64,
    pub verdicts: usize,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.not_run.is_none()
    }
}

/// The shared data folder: `$TPC_SHARED`, else `shared/` beside an ancestor
/// of `near`.
pub fn shared_dir(near: &Path) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TPC_SHARED") {
        return Some(PathBuf::from(dir));
    }
    let start = near.canonicalize().unwrap_or_else(|_| near.to_path_buf());
    start
        .ancestors()
        .map(|a| a.join("shared"))
        .find(|c| c.join("corpus").is_dir())
}

/// Test files under the given paths: folders are searched for
/// `*.test.yaml`/`*.test.yml`; files are taken as they are.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, TestFileError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files = Vec::new();
            driver::collect_policy_files(path, &mut files).map_err(|source| {
                TestFileError::Read {
                    path: path.display().to_string(),
                    source,
                }
            })?;
            out.extend(files.into_iter().filter(|f| {
                f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".test.yaml") || n.ends_with(".test.yml"))
            }));
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

struct Reader<'a> {
    path: &'a Path,
    source: SourceFile,
}

impl Reader<'_> {
    fn error(&self, span: Span, message: impl Into<String>) -> TestFileError {
        TestFileError::Invalid {
            path: self.path.display().to_string(),
            line: self.source.line_col(span.start).0,
            message: message.into(),
        }
    }

    fn text(&self, node: &Node, what: &str) -> Result<String, TestFileError> {
        match &node.kind {
            NodeKind::Scalar { text, .. } => Ok(text.clone()),
            _ => Err(self.error(
                node.span,
                format!("`{what}` must be text, found {}", node.describe()),
            )),
        }
    }

    fn int(&self, node: &Node, what: &str) -> Result<u64, TestFileError> {
        match node.scalar() {
            Some(ScalarValue::Int(n)) if n >= 0 => u64::try_from(n)
                .map_err(|_| self.error(node.span, format!("`{what}` is too large"))),
            _ => Err(self.error(
                node.span,
                format!(
                    "`{what}` must be a non-negative number, found {}",
                    node.describe()
                ),
            )),
        }
    }

    fn bool(&self, node: &Node, what: &str) -> Result<bool, TestFileError> {
        match node.scalar() {
            Some(ScalarValue::Bool(b)) => Ok(b),
            _ => Err(self.error(
                node.span,
                format!("`{what}` must be true or false, found {}", node.describe()),
            )),
        }
    }

    fn texts(&self, node: &Node, what: &str) -> Result<Vec<String>, TestFileError> {
        match node.as_seq() {
            Some(items) => items.iter().map(|n| self.text(n, what)).collect(),
            None => Ok(vec![self.text(node, what)?]),
        }
    }
}

/// Converts a YAML node to JSON (core schema: plain numbers stay numbers).
fn to_json(node: &Node) -> serde_json::Value {
    match &node.kind {
        NodeKind::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|e| {
                    (
                        e.key.scalar_text().unwrap_or_default().to_string(),
                        to_json(&e.value),
                    )
                })
                .collect(),
        ),
        NodeKind::Seq(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        NodeKind::Scalar { .. } => match node.scalar() {
            Some(ScalarValue::Null) | None => serde_json::Value::Null,
            Some(ScalarValue::Bool(b)) => b.into(),
            Some(ScalarValue::Int(n)) => i64::try_from(n)
                .map_or_else(|_| serde_json::Value::String(n.to_string()), Into::into),
            Some(ScalarValue::Float(f)) => serde_json::Number::from_f64(f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Some(ScalarValue::Str(s)) => s.into(),
        },
    }
}

fn parse_selector(r: &Reader<'_>, node: &Node) -> Result<SelectorOutcome, TestFileError> {
    match node.scalar() {
        Some(ScalarValue::Int(n)) => {
            usize::try_from(n)
                .map(SelectorOutcome::Matched)
                .map_err(|_| {
                    r.error(
                        node.span,
                        "`selector` must be a selector index, `none` or `no-selectors`",
                    )
                })
        }
        Some(ScalarValue::Str("none")) | Some(ScalarValue::Null) => {
            Ok(SelectorOutcome::NoneMatched)
        }
        Some(ScalarValue::Str("no-selectors")) => Ok(SelectorOutcome::NoSelectors),
        _ => Err(r.error(
            node.span,
            "`selector` must be a selector index, `none` or `no-selectors`",
        )),
    }
}

fn action_name(text: &str) -> String {
    if text.starts_with("KPROBE_ACTION_") {
        text.to_string()
    } else {
        format!("KPROBE_ACTION_{}", text.to_ascii_uppercase())
    }
}

/// Reads a test file.
pub fn load(path: &Path) -> Result<TestFile, TestFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| TestFileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let r = Reader {
        path,
        source: SourceFile::new(path.display().to_string(), text.as_str()),
    };
    let docs = yaml::parse(FileId(0), &text)
        .map_err(|e| r.error(e.span, format!("invalid YAML: {}", e.message)))?;
    let Some(root) = docs.first().and_then(|d| d.root.as_ref()) else {
        return Err(r.error(Span::default(), "the file holds no YAML document"));
    };
    let Some(entries) = root.as_map() else {
        return Err(r.error(
            root.span,
            "a test file is a mapping with `policies`/`policy`, `events` and `expect`",
        ));
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut test = TestFile {
        path: path.to_path_buf(),
        name: path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string(),
        policy_files: Vec::new(),
        inline_policy: None,
        events: Vec::new(),
        expect: Vec::new(),
        complete: true,
        malformed: 0,
        options: SimOptions::default(),
        process_cgroups: Vec::new(),
        rsp_strategy: None,
    };
    for entry in entries {
        let key = entry.key.scalar_text().unwrap_or_default();
        let value = &entry.value;
        match key {
            "name" => test.name = r.text(value, "name")?,
            "policies" => {
                test.policy_files = r
                    .texts(value, "policies")?
                    .into_iter()
                    .map(|p| dir.join(p))
                    .collect()
            }
            "policy" => test.inline_policy = Some(r.text(value, "policy")?),
            "events" => {
                let items: Vec<&Node> = match value.as_seq() {
                    Some(items) => items.iter().collect(),
                    None => vec![value],
                };
                for item in items {
                    let Some([source]) = item.as_map() else {
                        return Err(r.error(item.span, "each `events` entry has one key: `shared`, `shared-dir`, `file`, `inline` or `event`"));
                    };
                    let kind = source.key.scalar_text().unwrap_or_default();
                    test.events.push(match kind {
                        "shared" => EventSource::Shared(PathBuf::from(r.text(&source.value, "shared")?)),
                        "shared-dir" => EventSource::SharedDir(PathBuf::from(r.text(&source.value, "shared-dir")?)),
                        "file" => EventSource::File(dir.join(r.text(&source.value, "file")?)),
                        "inline" => EventSource::Inline(r.text(&source.value, "inline")?),
                        "event" => EventSource::Inline(to_json(&source.value).to_string()),
                        other => {
                            return Err(r.error(source.key.span, format!("unknown event source `{other}` (shared, shared-dir, file, inline, event)")));
                        }
                    });
                }
            }
            "expect" => {
                let Some(items) = value.as_seq() else {
                    return Err(r.error(value.span, "`expect` is a list of verdicts"));
                };
                for item in items {
                    let Some(fields) = item.as_map() else {
                        return Err(r.error(
                            item.span,
                            "each expectation is a mapping with at least `event`",
                        ));
                    };
                    let mut e = Expectation {
                        line: r.source.line_col(item.span.start).0,
                        ..Expectation::default()
                    };
                    let mut has_event = false;
                    for f in fields {
                        let v = &f.value;
                        match f.key.scalar_text().unwrap_or_default() {
                            "event" => {
                                e.event = r.int(v, "event")?;
                                has_event = true;
                            }
                            "policy" => e.policy = Some(r.text(v, "policy")?),
                            "hook" => e.hook = Some(r.text(v, "hook")?),
                            "selector" => e.selector = Some(parse_selector(&r, v)?),
                            "actions" => e.actions = Some(r.texts(v, "actions")?),
                            "action" => e.action = Some(action_name(&r.text(v, "action")?)),
                            "return_action" => {
                                e.return_action = Some(action_name(&r.text(v, "return_action")?))
                            }
                            "posted" => e.posted = Some(r.bool(v, "posted")?),
                            "suppressed" => e.suppressed = Some(r.text(v, "suppressed")?),
                            "rule" => e.rule = Some(r.text(v, "rule")?),
                            other => {
                                return Err(r.error(
                                    f.key.span,
                                    format!("unknown expectation field `{other}`"),
                                ));
                            }
                        }
                    }
                    if !has_event {
                        return Err(r.error(
                            item.span,
                            "an expectation needs `event` (the event's position, from 1)",
                        ));
                    }
                    test.expect.push(e);
                }
            }
            "complete" => test.complete = r.bool(value, "complete")?,
            "malformed" => {
                test.malformed = usize::try_from(r.int(value, "malformed")?).unwrap_or(usize::MAX)
            }
            "options" => {
                for f in value.as_map().unwrap_or_default() {
                    match f.key.scalar_text().unwrap_or_default() {
                        "arch" => {
                            let a = r.text(&f.value, "arch")?;
                            test.options.default_arch = Arch::from_name(&a).ok_or_else(|| {
                                r.error(f.value.span, format!("unknown arch `{a}` (x86_64, arm64)"))
                            })?;
                        }
                        "legacy-paths" => {
                            test.options.legacy_paths = r.bool(&f.value, "legacy-paths")?
                        }
                        "rsp-strategy" => {
                            let name = r.text(&f.value, "rsp-strategy")?;
                            test.rsp_strategy = Some(
                                crate::front::rsp::strategy::Strategy::from_name(&name)
                                    .ok_or_else(|| {
                                        r.error(
                                            f.value.span,
                                            format!("unknown rsp-strategy `{name}` (lsm, kprobe, tracepoint)"),
                                        )
                                    })?,
                            );
                        }
                        other => {
                            return Err(r.error(
                                f.key.span,
                                format!(
                                    "unknown option `{other}` (arch, legacy-paths, rsp-strategy)"
                                ),
                            ));
                        }
                    }
                }
            }
            "process-cgroups" => {
                for f in value.as_map().unwrap_or_default() {
                    let pid = u32::try_from(r.int(&f.key, "a pid")?)
                        .map_err(|_| r.error(f.key.span, "a pid is a 32-bit number"))?;
                    test.process_cgroups
                        .push((pid, r.text(&f.value, "a cgroup path")?));
                }
            }
            other => {
                return Err(r.error(entry.key.span, format!("unknown key `{other}` (name, policies, policy, events, expect, complete, malformed, options, process-cgroups)")));
            }
        }
    }
    if test.policy_files.is_empty() && test.inline_policy.is_none() {
        return Err(r.error(
            root.span,
            "the test names no policy (`policies: [...]` or `policy: |`)",
        ));
    }
    if test.events.is_empty() {
        return Err(r.error(root.span, "the test has no `events`"));
    }
    Ok(test)
}

/// The shared data a test's events need and this machine lacks, as one
/// message (`None` when everything is here).
fn missing_shared_data(test: &TestFile) -> Option<String> {
    let wanted: Vec<&Path> = test
        .events
        .iter()
        .filter_map(|source| match source {
            EventSource::Shared(rel) | EventSource::SharedDir(rel) => Some(rel.as_path()),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let dir = shared_dir(&test.path);
    let missing: Vec<String> = wanted
        .iter()
        .filter(|rel| dir.as_ref().is_none_or(|dir| !dir.join(rel).exists()))
        .map(|rel| match (&dir, std::env::var_os("TPC_SHARED")) {
            (Some(dir), _) => dir.join(rel).display().to_string(),
            (None, Some(_)) => format!("$TPC_SHARED/{}", rel.display()),
            (None, None) => format!("../shared/{}", rel.display()),
        })
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "needs {}; not found: the events come from the shared data folder (`shared/` beside the checkout, or $TPC_SHARED), so the test did not run",
        missing.join(", ")
    ))
}

/// The inputs of one event source: `(name, text)` each.
fn read_source(test: &TestFile, source: &EventSource) -> Result<Vec<(String, String)>, String> {
    let shared = |rel: &Path| -> Result<PathBuf, String> {
        shared_dir(&test.path)
            .map(|dir| dir.join(rel))
            .ok_or_else(|| format!("needs ../shared/{}; not found", rel.display()))
    };
    let read = |path: &Path, name: String| -> Result<(String, String), String> {
        std::fs::read_to_string(path)
            .map(|t| (name, t))
            .map_err(|e| format!("cannot read events `{}`: {e}", path.display()))
    };
    match source {
        EventSource::Inline(text) => Ok(vec![("inline".to_string(), text.clone())]),
        EventSource::File(p) => Ok(vec![read(p, p.display().to_string())?]),
        EventSource::Shared(rel) => Ok(vec![read(
            &shared(rel)?,
            format!("shared/{}", rel.display()),
        )?]),
        EventSource::SharedDir(rel) => {
            let dir = shared(rel)?;
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(format!("`{}` holds no files", dir.display()));
            }
            files
                .iter()
                .map(|f| {
                    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                    read(f, format!("shared/{}/{name}", rel.display()))
                })
                .collect()
        }
    }
}

fn selector_word(s: SelectorOutcome) -> String {
    match s {
        SelectorOutcome::Matched(i) => i.to_string(),
        SelectorOutcome::NoneMatched => "none".into(),
        SelectorOutcome::NoSelectors => "no-selectors".into(),
    }
}

/// Renders the fields of `e` from an actual verdict, for the `+` lines.
fn actual_fields(e: &Expectation, v: &Verdict) -> String {
    let mut s = format!("policy={} hook={}", v.policy, v.hook);
    if e.selector.is_some() {
        let _ = write!(s, " selector={}", selector_word(v.selector));
    }
    if e.actions.is_some() {
        let _ = write!(s, " actions=[{}]", v.action_names().join(", "));
    }
    if e.action.is_some() {
        let _ = write!(
            s,
            " action={}",
            v.action.as_ref().and_then(|a| a.name()).unwrap_or("none")
        );
    }
    if e.return_action.is_some() {
        let _ = write!(
            s,
            " return_action={}",
            v.return_action
                .as_ref()
                .and_then(|a| a.name())
                .unwrap_or("none")
        );
    }
    if e.posted.is_some() {
        let _ = write!(s, " posted={}", v.posted);
    }
    if e.rule.is_some() {
        let _ = write!(s, " rule={}", rule_word(v));
    }
    if e.suppressed.is_some() || (!v.posted && e.posted == Some(true)) {
        let _ = write!(
            s,
            " suppressed={}",
            v.suppressed.as_ref().map_or("none", |x| x.as_str())
        );
    }
    s
}

fn expected_fields(e: &Expectation, policy: &str, hook: &str) -> String {
    let mut s = format!("policy={policy} hook={hook}");
    if let Some(sel) = e.selector {
        let _ = write!(s, " selector={}", selector_word(sel));
    }
    if let Some(a) = &e.actions {
        let _ = write!(s, " actions=[{}]", a.join(", "));
    }
    if let Some(a) = &e.action {
        let _ = write!(s, " action={a}");
    }
    if let Some(a) = &e.return_action {
        let _ = write!(s, " return_action={a}");
    }
    if let Some(p) = e.posted {
        let _ = write!(s, " posted={p}");
    }
    if let Some(x) = &e.suppressed {
        let _ = write!(s, " suppressed={x}");
    }
    if let Some(x) = &e.rule {
        let _ = write!(s, " rule={x}");
    }
    s
}

fn agrees(e: &Expectation, v: &Verdict) -> bool {
    e.selector.is_none_or(|s| s == v.selector)
        && e.actions.as_ref().is_none_or(|a| *a == v.action_names())
        && e.action
            .as_ref()
            .is_none_or(|a| v.action.as_ref().and_then(|x| x.name()) == Some(a.as_str()))
        && e.return_action
            .as_ref()
            .is_none_or(|a| v.return_action.as_ref().and_then(|x| x.name()) == Some(a.as_str()))
        && e.posted.is_none_or(|p| p == v.posted)
        && e.suppressed.as_ref().is_none_or(|s| {
            v.suppressed
                .as_ref()
                .is_some_and(|x| x.as_str().eq_ignore_ascii_case(s))
        })
        && e.rule.as_ref().is_none_or(|r| *r == rule_word(v))
}

fn rule_word(v: &Verdict) -> String {
    v.rule
        .as_ref()
        .map_or_else(|| "none".to_string(), super::verdict::RuleRef::display)
}

/// Runs a test file.
pub fn run(test: &TestFile) -> TestOutcome {
    let mut outcome = TestOutcome {
        name: test.name.clone(),
        path: test.path.clone(),
        failures: Vec::new(),
        not_run: None,
        verdict_lines: Vec::new(),
        events: 0,
        verdicts: 0,
    };
    // Without its events the test cannot run: the policies' findings and a
    // verdict diff would only hide the one real problem.
    outcome.not_run = missing_shared_data(test);
    if outcome.not_run.is_some() {
        return outcome;
    }
    // Policies.
    let mut sources = Vec::new();
    let mut from_bundles = Vec::new();
    for p in &test.policy_files {
        if crate::lower::build::is_bundle_path(p) {
            match crate::lower::build::policies_of_bundle(p) {
                Ok(policies) => from_bundles.extend(policies),
                Err(e) => outcome.failures.push(e),
            }
            continue;
        }
        match std::fs::read_to_string(p) {
            Ok(text) => sources.push((p.display().to_string(), text)),
            Err(e) => outcome
                .failures
                .push(format!("cannot read policy `{}`: {e}", p.display())),
        }
    }
    if let Some(text) = &test.inline_policy {
        sources.push((
            format!("{} (inline policy)", test.path.display()),
            text.clone(),
        ));
    }
    let report = driver::check_sources_with(
        sources,
        &driver::CheckOptions {
            rsp_strategy: test.rsp_strategy,
            ..driver::CheckOptions::default()
        },
    );
    if report.tally().errors > 0 {
        let text =
            crate::diagnostics::render::human::render_short(&report.sources, &report.diagnostics);
        outcome
            .failures
            .push(format!("the policies have errors:\n{text}"));
    }
    if report.policies.is_empty() && from_bundles.is_empty() {
        outcome.failures.push("no policy loaded".into());
        return outcome;
    }
    if !outcome.failures.is_empty() {
        return outcome;
    }
    let policies: Vec<&Policy> = report
        .policies
        .iter()
        .map(|p| &p.policy)
        .chain(&from_bundles)
        .collect();
    let mut sim = Simulator::new(&policies, test.options.clone());
    for (pid, path) in &test.process_cgroups {
        sim.place_in_cgroup(*pid, path);
    }
    for problem in sim.problems() {
        outcome.failures.push(format!("policy problem: {problem}"));
    }
    // Events, all sources in order.
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut headlines: Vec<(u64, String)> = Vec::new();
    let mut malformed = Vec::new();
    let mut inputs = Vec::new();
    for source in &test.events {
        match read_source(test, source) {
            Ok(x) => inputs.extend(x),
            Err(e) => outcome.failures.push(e),
        }
    }
    if !outcome.failures.is_empty() {
        // Without all its events the test cannot run: comparing the
        // verdicts of the events that were read would only add a
        // misleading diff to the one real problem.
        return outcome;
    }
    let several = inputs.len() > 1;
    for (name, text) in &inputs {
        for (start, result) in EventReader::new(text.as_bytes()) {
            let shown = several.then_some(name.as_str());
            match result {
                Ok(event) => {
                    let vs = sim.feed(&event);
                    let origin = Origin {
                        position: sim.next_position() - 1,
                        line: start.line,
                        source: shown,
                    };
                    outcome
                        .verdict_lines
                        .push(report::verdict_line(origin, event.kind_key(), &vs));
                    headlines.push((origin.position, describe(&event)));
                    verdicts.extend(vs);
                }
                Err(e) => {
                    let position = sim.malformed();
                    let origin = Origin {
                        position,
                        line: start.line,
                        source: shown,
                    };
                    outcome
                        .verdict_lines
                        .push(report::error_line(origin, &e.to_string()));
                    malformed.push(format!("{name}:{}: {e}", start.line));
                }
            }
        }
    }
    outcome.events = sim.totals().events;
    outcome.verdicts = verdicts.len();
    if malformed.len() != test.malformed {
        outcome.failures.push(format!(
            "expected {} malformed value(s), found {}{}",
            test.malformed,
            malformed.len(),
            if malformed.is_empty() {
                String::new()
            } else {
                format!(":\n  {}", malformed.join("\n  "))
            }
        ));
    }
    // Compare.
    let single_policy = policies.len() == 1;
    let single_hook = single_policy && policies[0].hooks.len() == 1;
    let mut used = vec![false; verdicts.len()];
    let mut diff = String::new();
    let headline = |pos: u64| {
        headlines
            .iter()
            .find(|(p, _)| *p == pos)
            .map_or("(no such event)", |(_, h)| h.as_str())
    };
    for e in &test.expect {
        let candidates: Vec<usize> = verdicts
            .iter()
            .enumerate()
            .filter(|(i, v)| {
                !used[*i]
                    && v.input_position == e.event
                    && e.policy
                        .as_ref()
                        .is_none_or(|p| p.as_str() == v.policy.as_ref())
                    && e.hook
                        .as_ref()
                        .is_none_or(|h| h.as_str() == v.hook.as_ref())
            })
            .map(|(i, _)| i)
            .collect();
        let policy = e.policy.clone().unwrap_or_else(|| {
            if single_policy {
                policies[0].name.value.clone()
            } else {
                "?".into()
            }
        });
        let hook = e.hook.clone().unwrap_or_else(|| {
            if single_hook {
                policies[0].hooks[0].locator()
            } else {
                "?".into()
            }
        });
        match candidates.as_slice() {
            [] => {
                let _ = writeln!(
                    diff,
                    "  event #{} {} (expectation at line {})",
                    e.event,
                    headline(e.event),
                    e.line
                );
                let _ = writeln!(diff, "-   {}", expected_fields(e, &policy, &hook));
                let _ = writeln!(diff, "+   (no verdict: the event reaches no such hook)");
            }
            [one] => {
                used[*one] = true;
                let v = &verdicts[*one];
                if !agrees(e, v) {
                    let _ = writeln!(
                        diff,
                        "  event #{} {} (expectation at line {})",
                        e.event,
                        headline(e.event),
                        e.line
                    );
                    let _ = writeln!(diff, "-   {}", expected_fields(e, &v.policy, &v.hook));
                    let _ = writeln!(diff, "+   {}", actual_fields(e, v));
                }
            }
            several => {
                for i in several {
                    used[*i] = true;
                }
                let _ = writeln!(
                    diff,
                    "  event #{} (expectation at line {}): it reaches {} hooks; name `policy` and `hook`",
                    e.event,
                    e.line,
                    several.len()
                );
            }
        }
    }
    if test.complete {
        for (i, v) in verdicts.iter().enumerate() {
            if used[i] {
                continue;
            }
            let shown = Expectation {
                selector: Some(v.selector),
                actions: Some(Vec::new()),
                posted: Some(v.posted),
                ..Expectation::default()
            };
            let _ = writeln!(
                diff,
                "  event #{} {} (no expectation)",
                v.input_position,
                headline(v.input_position)
            );
            let _ = writeln!(diff, "+   {}", actual_fields(&shown, v));
        }
    }
    if !diff.is_empty() {
        outcome.failures.push(format!(
            "verdicts differ (- expected, + simulated):\n{}",
            diff.trim_end()
        ));
    }
    outcome
}

fn describe(event: &Event) -> String {
    super::engine::headline(event)
}
