//! The check pipeline over files: reads sources (files, folders, stdin),
//! loads the selected kernels (in parallel), then runs the frontend, every
//! kernel-independent check and the kernel checks on each kernel on each
//! policy as it is parsed, groups identical kernel findings across kernels
//! into one diagnostic with a [`KernelScope`], and collects everything with
//! the sources it points into. The CLI renders the result.

use crate::btf::{self, BtfError, KernelIdentity, KernelInfo, KernelOrigin, KernelSelection};
use crate::check::duplicate_policy_name::PolicyName;
use crate::diagnostics::{self, Code, Diagnostic, KernelScope, Severity, Tally};
use crate::front::rsp::strategy::{self, StrategyChoice};
use crate::front::rsp::tree::Tree;
use crate::ir::Policy;
use crate::span::{FileId, SourceMap, Span};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One input as named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file or a folder (searched recursively for `*.yaml` and `*.yml`).
    Path(PathBuf),
    /// Text read from standard input, shown under the given name.
    Text { name: String, text: String },
}

/// Why inputs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not UTF-8 text")]
    NotUtf8 { path: String },
    #[error("no policy files (*.yaml, *.yml) under `{path}`")]
    EmptyFolder { path: String },
}

/// A policy with the file it came from.
#[derive(Debug)]
pub struct LoadedPolicy {
    pub file: FileId,
    pub policy: Policy,
}

/// What a run keeps of every policy it checked, its IR kept or not: where
/// it is and its name (for the duplicate-name check and the kernel matrix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedPolicy {
    /// The whole policy (its file is `span.file`).
    pub span: Span,
    pub name: PolicyName,
}

impl CheckedPolicy {
    pub fn of(policy: &Policy) -> Self {
        CheckedPolicy {
            span: policy.span,
            name: PolicyName::of(policy),
        }
    }
}

/// The outcome of checking a set of inputs.
#[derive(Debug, Default)]
pub struct Report {
    pub sources: SourceMap,
    /// The policies with their IR; with [`CheckOptions::findings_only`]
    /// only those template bindings made.
    pub policies: Vec<LoadedPolicy>,
    /// Every policy checked, in run order (the files', then the bound
    /// templates'), whether or not `policies` holds its IR.
    pub checked: Vec<CheckedPolicy>,
    pub diagnostics: Vec<Diagnostic>,
    /// Number of files read.
    pub files: usize,
    /// The kernels the kernel checks ran against, in order (empty when they
    /// did not run).
    pub kernels: Vec<CheckedKernel>,
    /// The block strategy RuntimeSecurityPolicy documents were lowered
    /// with (`None` when the inputs held none).
    pub rsp_choice: Option<StrategyChoice>,
    /// The TracingPolicy each RuntimeSecurityPolicy became, by index in
    /// `policies`.
    pub converted: Vec<(usize, Tree)>,
}

/// Which kernels the kernel checks run against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum KernelRequest {
    /// No kernel checks (what [`check_sources`] does).
    #[default]
    Skip,
    /// The running kernel's `/sys/kernel/btf/vmlinux` (with its tracefs
    /// formats when readable); when it does not exist, a note says kernel
    /// checks were skipped.
    Running,
    /// These kernels, in this order.
    Selected(Vec<KernelSelection>),
}

/// What [`check_sources_with`] runs besides the kernel-independent checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckOptions {
    pub kernels: KernelRequest,
    /// Look at this machine's files too (uprobe binaries and their symbols).
    pub host_checks: bool,
    /// The hooks RuntimeSecurityPolicy rules become (`--rsp-strategy`);
    /// `None`: chosen by what the target kernels can do.
    pub rsp_strategy: Option<crate::front::rsp::strategy::Strategy>,
    /// Whose loading rules apply where Tetragon releases differ.
    pub tetragon: crate::tetragon::TetragonVersion,
    /// The caller wants the findings only (`tpc check`): each policy's IR
    /// is dropped as soon as it is checked (on every kernel too), so
    /// [`Report::policies`] and [`Report::converted`] hold only what
    /// template bindings made ([`Report::checked`] still lists every
    /// policy). A file of many small policies then costs its text and its
    /// findings, not its IR.
    pub findings_only: bool,
}

/// A kernel that the kernel checks ran against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedKernel {
    /// The unique short label findings and the matrix use (`5.10`, `6.1`,
    /// `6.1-arm64`, `6.12-deb12`, `6.12`, `6.18`).
    pub label: String,
    pub identity: KernelIdentity,
}

impl CheckedKernel {
    /// `debian-6.1, 6.1.0-56-cloud-amd64, x86_64`.
    pub fn description(&self) -> String {
        let identity = &self.identity;
        let mut parts = vec![match &identity.origin {
            KernelOrigin::File(path) => path.display().to_string(),
            KernelOrigin::Running => format!("running kernel, {}", btf::SYSFS_VMLINUX),
            KernelOrigin::Carried => identity.name.clone(),
        }];
        if let Some(release) = &identity.release {
            parts.push(release.clone());
        }
        parts.push(identity.arch.name().to_string());
        parts.join(", ")
    }
}

/// One policy's findings per kernel: the rows of the policy × kernel matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelMatrix {
    /// Column headers: the kernels' labels.
    pub kernels: Vec<String>,
    pub rows: Vec<MatrixRow>,
}

/// One policy of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixRow {
    pub policy: String,
    pub file: String,
    /// Per kernel, the policy's findings that hold on it (kernel-independent
    /// findings count on every kernel).
    pub cells: Vec<Tally>,
}

impl Report {
    pub fn tally(&self) -> Tally {
        Tally::of(&self.diagnostics)
    }

    /// Whether the run fails: errors, or warnings with `deny_warnings`.
    pub fn failed(&self, deny_warnings: bool) -> bool {
        let t = self.tally();
        t.errors > 0 || (deny_warnings && t.warnings > 0)
    }

    /// Diagnostics of one file.
    pub fn diagnostics_of(&self, file: FileId) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(move |d| d.primary_span().is_some_and(|s| s.file == file))
    }

    /// The policy × kernel matrix, when kernel checks ran.
    pub fn kernel_matrix(&self) -> Option<KernelMatrix> {
        if self.kernels.is_empty() {
            return None;
        }
        let labels: Vec<String> = self.kernels.iter().map(|k| k.label.clone()).collect();
        let rows = self
            .checked
            .iter()
            .map(|checked| {
                let span = checked.span;
                let mut cells = vec![Tally::default(); labels.len()];
                let in_policy = self
                    .diagnostics
                    .iter()
                    .filter(|d| d.primary_span().is_some_and(|s| span.contains(s)));
                for diagnostic in in_policy {
                    for (column, label) in labels.iter().enumerate() {
                        let holds = diagnostic
                            .kernels
                            .as_ref()
                            .is_none_or(|scope| scope.affected.contains(label));
                        if holds {
                            let cell = &mut cells[column];
                            match diagnostic.severity {
                                Severity::Error => cell.errors += 1,
                                Severity::Warning => cell.warnings += 1,
                                Severity::Note => cell.notes += 1,
                            }
                        }
                    }
                }
                MatrixRow {
                    policy: checked.name.name.value.clone(),
                    file: self
                        .sources
                        .get(span.file)
                        .map(|file| file.name.to_string())
                        .unwrap_or_default(),
                    cells,
                }
            })
            .collect();
        Some(KernelMatrix {
            kernels: labels,
            rows,
        })
    }
}

/// Expands folders into the policy files below them, sorted, and reads every
/// file. Fails on the first unreadable input (see [`read_inputs_lenient`]
/// for reading the rest).
pub fn read_inputs(inputs: &[Input]) -> Result<Vec<(String, String)>, InputError> {
    let read = read_inputs_lenient(inputs)?;
    match read.unreadable.into_iter().next() {
        Some(Unreadable {
            path,
            problem: FileProblem::NotUtf8 { .. },
            ..
        }) => Err(InputError::NotUtf8 { path }),
        Some(Unreadable {
            path,
            problem: FileProblem::Read(message),
            ..
        }) => Err(InputError::Read {
            path,
            source: std::io::Error::other(message),
        }),
        None => Ok(read.sources),
    }
}

/// What was read from the inputs: the texts, and the files that were found
/// but could not be read as text (reported as findings on those files, so
/// that one bad file in a folder does not hide the others' findings).
#[derive(Debug, Default)]
pub struct ReadInputs {
    pub sources: Vec<(String, String)>,
    pub unreadable: Vec<Unreadable>,
}

/// A file that was found but cannot be checked.
#[derive(Debug)]
pub struct Unreadable {
    pub path: String,
    /// The text up to the first byte that is not UTF-8 (so the finding
    /// points at its line and column); empty when nothing was read.
    pub text: String,
    pub problem: FileProblem,
}

#[derive(Debug)]
pub enum FileProblem {
    /// Not UTF-8 from byte `at`.
    NotUtf8 { at: usize },
    /// A read error on a file found in a folder (a dangling link, no
    /// permission).
    Read(String),
}

/// Like [`read_inputs`], but files that are not UTF-8, and files found in
/// folders that cannot be read, are returned as [`Unreadable`] instead of
/// ending the run. A path named on the command line that cannot be read is
/// still an error. Each real file is read once, however many links or
/// arguments lead to it.
pub fn read_inputs_lenient(inputs: &[Input]) -> Result<ReadInputs, InputError> {
    let mut out = ReadInputs::default();
    let mut seen = HashSet::new();
    for input in inputs {
        match input {
            Input::Text { name, text } => out.sources.push((name.clone(), text.clone())),
            Input::Path(p) => {
                let meta = std::fs::metadata(p).map_err(|source| InputError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                if meta.is_dir() {
                    let mut files = Vec::new();
                    collect_policy_files(p, &mut files).map_err(|source| InputError::Read {
                        path: p.display().to_string(),
                        source,
                    })?;
                    if files.is_empty() {
                        return Err(InputError::EmptyFolder {
                            path: p.display().to_string(),
                        });
                    }
                    for f in files {
                        if !seen.insert(real_path(&f)) {
                            continue;
                        }
                        match std::fs::read(&f) {
                            Ok(bytes) => push_text(&mut out, &f, bytes),
                            Err(e) => out.unreadable.push(Unreadable {
                                path: f.display().to_string(),
                                text: String::new(),
                                problem: FileProblem::Read(e.to_string()),
                            }),
                        }
                    }
                } else {
                    if !seen.insert(real_path(p)) {
                        continue;
                    }
                    let bytes = std::fs::read(p).map_err(|source| InputError::Read {
                        path: p.display().to_string(),
                        source,
                    })?;
                    push_text(&mut out, p, bytes);
                }
            }
        }
    }
    Ok(out)
}

fn push_text(out: &mut ReadInputs, path: &Path, bytes: Vec<u8>) {
    let name = path.display().to_string();
    match String::from_utf8(bytes) {
        Ok(text) => out.sources.push((name, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(at);
            out.unreadable.push(Unreadable {
                path: name,
                text: String::from_utf8(bytes).unwrap_or_default(),
                problem: FileProblem::NotUtf8 { at },
            });
        }
    }
}

/// The file a path leads to, links resolved (the path itself when that
/// fails).
fn real_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Every `*.yaml`/`*.yml` file below `dir`, sorted by path. Each real folder
/// is entered once, so a link back up the tree (a loop) adds nothing, and
/// each real file is listed once.
pub fn collect_policy_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut dirs = HashSet::new();
    let mut files = HashSet::new();
    collect_below(dir, out, &mut dirs, &mut files)
}

fn collect_below(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    dirs: &mut HashSet<PathBuf>,
    files: &mut HashSet<PathBuf>,
) -> std::io::Result<()> {
    if !dirs.insert(real_path(dir)) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_below(&path, out, dirs, files)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml")
            && files.insert(real_path(&path))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs the frontend and the kernel-independent checks on already-read
/// sources (no kernel or host checks).
pub fn check_sources(sources: Vec<(String, String)>) -> Report {
    check_sources_with(sources, &CheckOptions::default())
}

/// Runs the frontend, the kernel-independent checks and the host and
/// kernel checks that `options` asks for. The kernels are loaded first, so
/// that each policy is checked on all of them as its document ends; with
/// [`CheckOptions::findings_only`] its IR is then dropped and only what
/// [`CheckedPolicy`] holds stays.
pub fn check_sources_with(sources: Vec<(String, String)>, options: &CheckOptions) -> Report {
    let mut report = Report::default();
    let mut templates = Vec::new();
    let mut bindings = Vec::new();
    let mut front = crate::front::FrontOptions::default();
    if sources
        .iter()
        .any(|(_, text)| crate::front::mentions_rsp(text))
    {
        let choice = rsp_strategy(options);
        front.rsp_strategy = choice.clone();
        report.rsp_choice = Some(choice);
    } else if let Some(named) = options.rsp_strategy {
        front.rsp_strategy = StrategyChoice::explicit(named);
    }
    let kernels = KernelSet::load(&options.kernels);
    // Kernel findings are grouped across kernels and merged with the
    // kernel-independent ones file by file: a kernel finding points into
    // its policy, so neither a group nor a restated finding spans two
    // files. They are added once every kernel-independent finding is in,
    // in the order checking every policy at once would give.
    let mut kernel_findings = Vec::new();
    let mut any_converted = false;
    for (name, text) in sources {
        // The source map keeps the one copy of the text (the read `String`
        // is freed here, not after the file is checked).
        let file = report.sources.add(name, text);
        let text = report
            .sources
            .get(file)
            .map(|source| std::sync::Arc::clone(&source.text))
            .unwrap_or_default();
        report.files += 1;
        let first = report.policies.len();
        let first_checked = report.checked.len();
        let mut found = Vec::new();
        let mut on_kernels = kernels.findings();
        // Each policy is checked as its document ends and goes straight
        // into the report (or, with `findings_only`, only its
        // `CheckedPolicy` does): no list of a whole file's policies is ever
        // built.
        let mut parsed = crate::front::parse_policies_each(file, &text, &front, |policy| {
            found.extend(crate::check::run_all_for(&policy, options.tetragon));
            if options.host_checks {
                found.extend(crate::check::kernel::run_host_checks(&policy));
            }
            kernels.check(&policy, options.tetragon, &mut on_kernels);
            report.checked.push(CheckedPolicy::of(&policy));
            if !options.findings_only {
                report.policies.push(LoadedPolicy { file, policy });
            }
        });
        if parsed.refused {
            // not readable YAML: its first documents do not count
            report.policies.truncate(first);
            report.checked.truncate(first_checked);
            found.clear();
            on_kernels.clear();
        }
        templates.extend(std::mem::take(&mut parsed.templates));
        bindings.extend(std::mem::take(&mut parsed.bindings));
        let converted = std::mem::take(&mut parsed.converted);
        any_converted |= !converted.is_empty();
        if !options.findings_only {
            report
                .converted
                .extend(converted.into_iter().map(|(i, tree)| (first + i, tree)));
        }
        let mut diags = std::mem::take(&mut parsed.diagnostics);
        diags.append(&mut found);
        kernel_findings.extend(on_kernels.merge_with(&mut diags));
        diagnostics::sort_and_dedup(&mut diags);
        report.diagnostics.extend(diags);
    }
    let first_bound = report.policies.len();
    if !templates.is_empty() || !bindings.is_empty() {
        bind_templates(&mut report, &templates, &bindings, options);
    }
    if report.rsp_choice.is_none() && any_converted {
        // a document `mentions_rsp` did not see (an unusual spelling of
        // `kind`): it was lowered with the default
        report.rsp_choice = Some(front.rsp_strategy);
    }
    let mut duplicates = Vec::new();
    let locate = |span: Span| match report.sources.get(span.file) {
        Some(source) => format!("{}:{}", source.name, source.line_col(span.start).0),
        None => "another file".to_string(),
    };
    crate::check::duplicate_policy_name::run(
        report.checked.iter().map(|checked| &checked.name),
        &locate,
        &mut duplicates,
    );
    report.diagnostics.extend(duplicates);
    diagnostics::sort_and_dedup(&mut report.diagnostics);
    // The bound templates' policies are checked together: the bindings of
    // one template share its spans, so their findings group across them.
    let mut on_kernels = kernels.findings();
    for loaded in &report.policies[first_bound..] {
        kernels.check(&loaded.policy, options.tetragon, &mut on_kernels);
    }
    kernel_findings.extend(on_kernels.merge_with(&mut report.diagnostics));
    report.diagnostics.extend(kernel_findings);
    kernels.finish(&mut report);
    report
}

/// Checks the templates alone, makes every binding into its policy (with
/// the templates of all inputs), checks those policies, then applies the
/// conflict rules among bindings of one template: conflicting bindings are
/// rolled back (reported and left out of the policies).
fn bind_templates(
    report: &mut Report,
    templates: &[crate::front::template::TemplateDoc],
    bindings: &[crate::front::template::BindingDoc],
    options: &CheckOptions,
) {
    use crate::front::template;
    let mut diags = Vec::new();
    let alone: Vec<Vec<Diagnostic>> = templates
        .iter()
        .map(|t| {
            let mut found = Vec::new();
            template::check_template(t, &mut found);
            found
        })
        .collect();
    for found in &alone {
        diags.extend(found.iter().cloned());
    }
    let instances = template::instantiate(templates, &alone, bindings, &mut diags);
    let alone_of = |name: &str| -> &[Diagnostic] {
        templates
            .iter()
            .position(|t| t.name.value == name)
            .and_then(|i| alone.get(i))
            .map_or(&[][..], Vec::as_slice)
    };
    let mut bound = Vec::new();
    for mut instance in instances {
        let template_name = instance
            .policy
            .binding
            .as_ref()
            .map(|b| b.template.value.clone())
            .unwrap_or_default();
        let mut found = crate::check::run_all_for(&instance.policy, options.tetragon);
        if options.host_checks {
            found.extend(crate::check::kernel::run_host_checks(&instance.policy));
        }
        let alone = alone_of(&template_name);
        diags.append(&mut instance.frontend);
        diags.extend(
            found
                .into_iter()
                .filter_map(|d| template::binding_finding(d, &instance, alone)),
        );
        bound.push(instance);
    }
    let policies: Vec<&Policy> = bound.iter().map(|i| &i.policy).collect();
    let rolled_back = crate::check::binding_conflicts::run(&policies, &mut diags);
    for (i, instance) in bound.into_iter().enumerate() {
        if rolled_back.contains(&i) {
            continue;
        }
        let file = instance.policy.span.file;
        report.checked.push(CheckedPolicy::of(&instance.policy));
        report.policies.push(LoadedPolicy {
            file,
            policy: instance.policy,
        });
    }
    diagnostics::sort_and_dedup(&mut diags);
    report.diagnostics.extend(diags);
}

/// The RuntimeSecurityPolicy block strategy for `options`: the one named,
/// else the first one every target kernel can run.
pub fn rsp_strategy(options: &CheckOptions) -> StrategyChoice {
    if let Some(named) = options.rsp_strategy {
        return StrategyChoice::explicit(named);
    }
    let selections = match &options.kernels {
        KernelRequest::Skip => return StrategyChoice::default_without_kernel(),
        KernelRequest::Running => {
            if !Path::new(btf::SYSFS_VMLINUX).exists() {
                return StrategyChoice::default_without_kernel();
            }
            vec![KernelSelection::Running]
        }
        KernelRequest::Selected(selections) => selections.clone(),
    };
    let kernels = match btf::load_kernels(&selections) {
        Ok(kernels) => kernels,
        Err(error) => {
            let mut choice = StrategyChoice::default_without_kernel();
            choice.reason = format!(
                "the target kernels could not be read ({error}), so BPF LSM, the strategy that denies without killing"
            );
            return choice;
        }
    };
    let identities: Vec<&KernelIdentity> = kernels.iter().map(|k| k.identity()).collect();
    let labels = kernel_labels(&identities);
    let named: Vec<(&str, &dyn KernelInfo)> = labels
        .iter()
        .map(String::as_str)
        .zip(kernels.iter().map(|k| k.as_ref()))
        .collect();
    let lsm_list = strategy::running_lsm_list();
    strategy::choose(&named, lsm_list.as_deref())
}

/// Reads and checks `inputs` (no kernel or host checks).
pub fn check_inputs(inputs: &[Input]) -> Result<Report, InputError> {
    check_inputs_with(inputs, &CheckOptions::default())
}

/// Reads and checks `inputs` with `options`. Files that cannot be read as
/// text are findings (TPC090) on those files; the others are checked.
pub fn check_inputs_with(inputs: &[Input], options: &CheckOptions) -> Result<Report, InputError> {
    let read = read_inputs_lenient(inputs)?;
    let mut report = check_sources_with(read.sources, options);
    for unreadable in read.unreadable {
        report.files += 1;
        let at = unreadable.text.len();
        let file = report
            .sources
            .add(unreadable.path.as_str(), unreadable.text.as_str());
        let span = Span::new(file, at, at);
        let diagnostic = match unreadable.problem {
            FileProblem::NotUtf8 { at } => Diagnostic::error(
                Code::Io,
                format!(
                    "`{}` is not UTF-8 text (from byte {at}): not checked",
                    unreadable.path
                ),
            )
            .with_primary(span, "the first byte that is not UTF-8")
            .with_help("save the file as UTF-8; Kubernetes and Tetragon read policies as UTF-8"),
            FileProblem::Read(message) => Diagnostic::error(
                Code::Io,
                format!("cannot read `{}`: {message}", unreadable.path),
            )
            .with_primary(span, "not read"),
        };
        report.diagnostics.push(diagnostic);
    }
    diagnostics::sort_and_dedup(&mut report.diagnostics);
    Ok(report)
}

/// Why `--kernel`/`--btf` arguments cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KernelArgError {
    #[error("no carried kernel is called `{name}`{}; tpc carries: {known}", did_you_mean(suggestion.as_deref()))]
    UnknownKernel {
        name: String,
        suggestion: Option<String>,
        known: String,
    },
    #[error("cannot read the carried kernel database")]
    Database {
        #[source]
        source: BtfError,
    },
    #[error("cannot read `{path}`: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |name| format!(" (did you mean `{name}`?)"))
}

/// Turns `--btf FILE` and `--kernel NAME` values into selections, BTF files
/// first; `--btf /sys/kernel/btf/vmlinux` is the running kernel. A BTF file `DIR/STEM.btf[.xz|.gz]` with a sibling
/// `DIR/STEM.tracepoint-formats.tar[.xz|.gz]` is paired with those formats.
/// An unknown kernel name is an error with the closest name and the list;
/// so is a BTF file that cannot be opened (an I/O error, not a finding).
pub fn kernel_selections(
    btf_files: &[PathBuf],
    kernel_names: &[String],
) -> Result<Vec<KernelSelection>, KernelArgError> {
    for path in btf_files {
        if let Err(source) = std::fs::File::open(path) {
            return Err(KernelArgError::Unreadable {
                path: path.display().to_string(),
                source,
            });
        }
    }
    let mut selections: Vec<KernelSelection> = btf_files
        .iter()
        .map(|path| {
            // The running kernel's own BTF: also its release and tracefs.
            if path == Path::new(btf::SYSFS_VMLINUX) {
                return KernelSelection::Running;
            }
            match sibling_formats(path) {
                Some(formats) => KernelSelection::BtfFileWithFormats {
                    btf: path.clone(),
                    formats,
                },
                None => KernelSelection::BtfFile(path.clone()),
            }
        })
        .collect();
    if kernel_names.is_empty() {
        return Ok(selections);
    }
    let db = btf::carried_db().map_err(|source| KernelArgError::Database { source })?;
    let carried = db.kernels();
    for name in kernel_names {
        let selection = KernelSelection::from_kernel_arg(name);
        if let KernelSelection::Carried(wanted) = &selection
            && db.kernel(wanted).is_none()
        {
            let mut names: Vec<&str> = Vec::new();
            for kernel in &carried {
                let identity = kernel.identity();
                names.push(&identity.name);
                names.extend(identity.aliases.iter().map(String::as_str));
            }
            return Err(KernelArgError::UnknownKernel {
                name: wanted.clone(),
                suggestion: diagnostics::suggest::did_you_mean(wanted, names.iter().copied())
                    .map(str::to_string),
                known: carried
                    .iter()
                    .map(|kernel| kernel.identity().name.clone())
                    .chain(std::iter::once("all".to_string()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if !selections.contains(&selection) {
            selections.push(selection);
        }
    }
    Ok(selections)
}

/// `x86_64-running.btf.xz` → `x86_64-running.tracepoint-formats.tar.xz`
/// beside it, when that exists.
fn sibling_formats(btf_file: &Path) -> Option<PathBuf> {
    let name = btf_file.file_name()?.to_str()?;
    let stem = [".btf.xz", ".btf.gz", ".btf"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))?;
    let dir = btf_file.parent().unwrap_or_else(|| Path::new(""));
    ["tar.xz", "tar.gz", "tar"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.tracepoint-formats.{ext}")))
        .find(|candidate| candidate.is_file())
}

/// The kernels the kernel checks run against, loaded before any policy is
/// read so that each policy is checked on all of them as its document ends
/// (and its IR can go): labelled, in version order, with what could not be
/// loaded.
pub struct KernelSet {
    kernels: Vec<(CheckedKernel, Box<dyn KernelInfo>)>,
    /// A finding per selection that could not be loaded.
    failures: Vec<Diagnostic>,
    /// The running kernel was asked for and has no BTF.
    no_running_btf: bool,
}

impl KernelSet {
    /// Loads the kernels of `request`, one thread per selection so that
    /// decompression runs in parallel. A selection that cannot be loaded
    /// becomes a finding; the others are checked.
    pub fn load(request: &KernelRequest) -> KernelSet {
        let mut set = KernelSet {
            kernels: Vec::new(),
            failures: Vec::new(),
            no_running_btf: false,
        };
        let selections = match request {
            KernelRequest::Skip => return set,
            KernelRequest::Running => {
                if !Path::new(btf::SYSFS_VMLINUX).exists() {
                    set.no_running_btf = true;
                    return set;
                }
                vec![KernelSelection::Running]
            }
            KernelRequest::Selected(selections) => selections.clone(),
        };
        let runs: Vec<Result<Vec<Box<dyn KernelInfo>>, BtfError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = selections
                .iter()
                .map(|selection| {
                    scope.spawn(move || btf::load_kernels(std::slice::from_ref(selection)))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle.join().unwrap_or_else(|_| {
                        Err(BtfError::NoKernel {
                            reason: "the kernel loading thread panicked".to_string(),
                        })
                    })
                })
                .collect()
        });
        let mut loaded: Vec<(KernelIdentity, Box<dyn KernelInfo>)> = Vec::new();
        for (run, selection) in runs.into_iter().zip(&selections) {
            match run {
                Ok(kernels) => {
                    for kernel in kernels {
                        let mut identity = kernel.identity().clone();
                        if identity.release.is_none()
                            && let KernelOrigin::File(path) = &identity.origin
                        {
                            identity.release = release_from_sibling_config(path);
                        }
                        // `--kernel all --kernel 6.1` names 6.1 twice.
                        let duplicate = loaded.iter().any(|(seen, _)| {
                            seen.origin == KernelOrigin::Carried
                                && identity.origin == KernelOrigin::Carried
                                && seen.name == identity.name
                        });
                        if !duplicate {
                            loaded.push((identity, kernel));
                        }
                    }
                }
                Err(error) => {
                    let failure = btf_unavailable(&selection_name(selection), &error);
                    // The default run must not fail CI on a machine whose
                    // BTF cannot be read: there it is a note, as when there
                    // is none.
                    set.failures.push(if *request == KernelRequest::Running {
                        Diagnostic {
                            severity: Severity::Note,
                            notes: vec!["kernel checks skipped".to_string()],
                            help: no_kernel_note().help,
                            ..failure
                        }
                    } else {
                        failure
                    });
                }
            }
        }
        // Say where the kernel checks did run, now that it is known.
        let note = if loaded.is_empty() {
            "no kernel checks ran: no kernel's BTF could be loaded"
        } else {
            "the kernel checks ran on the other kernels only"
        };
        for failure in &mut set.failures {
            if failure.severity == Severity::Error {
                failure.notes.push(note.to_string());
            }
        }
        let identities: Vec<&KernelIdentity> =
            loaded.iter().map(|(identity, _)| identity).collect();
        let labels = kernel_labels(&identities);
        // Columns and scope lists in version order, whatever order the
        // kernels were named in.
        let mut order: Vec<usize> = (0..loaded.len()).collect();
        order.sort_by(|&a, &b| {
            version_key(&labels[a])
                .cmp(&version_key(&labels[b]))
                .then_with(|| labels[a].cmp(&labels[b]))
        });
        let mut slots: Vec<Option<(KernelIdentity, Box<dyn KernelInfo>)>> =
            loaded.into_iter().map(Some).collect();
        set.kernels = order
            .iter()
            .filter_map(|&at| {
                let (identity, kernel) = slots[at].take()?;
                let label = labels[at].clone();
                Some((CheckedKernel { label, identity }, kernel))
            })
            .collect();
        set
    }

    /// The kernels loaded, in version order.
    pub fn kernels(&self) -> impl Iterator<Item = &CheckedKernel> {
        self.kernels.iter().map(|(checked, _)| checked)
    }

    /// An empty list of findings per kernel, for [`KernelSet::check`].
    pub fn findings(&self) -> KernelFindings {
        KernelFindings {
            per_kernel: self
                .kernels
                .iter()
                .map(|(checked, _)| (checked.label.clone(), Vec::new()))
                .collect(),
        }
    }

    /// Runs the kernel checks on `policy` on every kernel, adding to
    /// `found` (from [`KernelSet::findings`] on this set).
    pub fn check(
        &self,
        policy: &Policy,
        tetragon: crate::tetragon::TetragonVersion,
        found: &mut KernelFindings,
    ) {
        for ((_, kernel), (_, on_kernel)) in self.kernels.iter().zip(&mut found.per_kernel) {
            on_kernel.extend(crate::check::kernel::run_all_for(
                kernel.as_ref(),
                policy,
                tetragon,
            ));
        }
    }

    /// Ends a run whose kernel findings are in: names the kernels checked
    /// and adds the findings on kernels that could not be loaded.
    pub fn finish(self, report: &mut Report) {
        report.kernels = self
            .kernels
            .into_iter()
            .map(|(checked, _)| checked)
            .collect();
        report.diagnostics.extend(self.failures);
        if self.no_running_btf {
            // first, as it is about the whole run (it has no span, and the
            // sort keeps it first)
            report.diagnostics.insert(0, no_kernel_note());
        }
        diagnostics::sort_and_dedup(&mut report.diagnostics);
    }
}

/// Kernel findings of some policies, one list per kernel of a
/// [`KernelSet`], until [`KernelFindings::merge_with`] groups them.
#[derive(Debug)]
pub struct KernelFindings {
    /// Each kernel's label and findings, in the set's order.
    per_kernel: Vec<(String, Vec<Diagnostic>)>,
}

impl KernelFindings {
    /// Forgets the findings (of a file that turned out not to be YAML).
    pub fn clear(&mut self) {
        for (_, found) in &mut self.per_kernel {
            found.clear();
        }
    }

    /// Groups the findings across kernels ([`group_by_kernel`]) and merges
    /// them with `independent`, the kernel-independent findings on the same
    /// policies, which lose those that a kernel finding restates. Returns
    /// the grouped kernel findings. Findings on different policies group
    /// together only where they share spans (the bindings of one
    /// template), so each file's policies can be merged on their own.
    pub fn merge_with(self, independent: &mut Vec<Diagnostic>) -> Vec<Diagnostic> {
        if self.per_kernel.is_empty() {
            return Vec::new();
        }
        merge_restated(independent, group_by_kernel(&self.per_kernel))
    }
}

/// Merges kernel findings with kernel-independent ones that say the same
/// thing about the same place (they share a labelled span): a kernel finding
/// with the same code replaces the kernel-independent one (it is more
/// precise and names its kernels); a missing-call or missing-hook finding on
/// a call the kernel-independent checks already reported as misnamed is
/// dropped (looking a wrong name up in each kernel only restates it).
fn merge_restated(independent: &mut Vec<Diagnostic>, kernel: Vec<Diagnostic>) -> Vec<Diagnostic> {
    use crate::diagnostics::Code;
    let spans = |d: &Diagnostic| d.labels.iter().map(|l| l.span).collect::<Vec<_>>();
    let overlap = |a: &Diagnostic, b: &Diagnostic| {
        let sb = spans(b);
        spans(a).iter().any(|s| sb.contains(s))
    };
    let kernel: Vec<Diagnostic> = kernel
        .into_iter()
        .filter(|k| {
            !independent.iter().any(|d| {
                overlap(d, k)
                    && matches!(d.code, Code::SyscallMismatch | Code::InvalidHookTarget)
                    && matches!(k.code, Code::CallNotFound | Code::LsmHookNotFound)
            })
        })
        .collect();
    independent.retain(|d| !kernel.iter().any(|k| k.code == d.code && overlap(d, k)));
    kernel
}

/// The numbers in a label (`6.1-arm64` → `[6, 1, 64]`), for version order.
fn version_key(label: &str) -> Vec<u64> {
    label
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<u64>().unwrap_or(u64::MAX))
        .collect()
}

/// The kernel version from the `# Linux/x86 6.18.44 Kernel Configuration`
/// header of a `STEM.config[.xz|.gz]` beside `STEM.btf[.xz|.gz]`, for BTF
/// files whose name does not carry the release (`x86_64-running.btf.xz`).
fn release_from_sibling_config(btf_file: &Path) -> Option<String> {
    use std::io::Read;
    let name = btf_file.file_name()?.to_str()?;
    let stem = [".btf.xz", ".btf.gz", ".btf"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))?;
    let dir = btf_file.parent().unwrap_or_else(|| Path::new(""));
    let mut head = Vec::new();
    for ext in ["config.xz", "config.gz", "config"] {
        let Ok(file) = std::fs::File::open(dir.join(format!("{stem}.{ext}"))) else {
            continue;
        };
        let reader: Box<dyn Read> = match ext {
            "config.xz" => Box::new(liblzma::read::XzDecoder::new(file)),
            "config.gz" => Box::new(flate2::read::GzDecoder::new(file)),
            _ => Box::new(file),
        };
        reader.take(4096).read_to_end(&mut head).ok()?;
        break;
    }
    let text = String::from_utf8_lossy(&head);
    text.lines().take(10).find_map(|line| {
        let rest = line.strip_prefix("# Linux/")?;
        let (_, rest) = rest.split_once(' ')?;
        let version = rest.strip_suffix(" Kernel Configuration")?;
        version
            .starts_with(|c: char| c.is_ascii_digit())
            .then(|| version.trim().to_string())
    })
}

fn selection_name(selection: &KernelSelection) -> String {
    match selection {
        KernelSelection::Running => btf::SYSFS_VMLINUX.to_string(),
        KernelSelection::BtfFile(path) | KernelSelection::BtfFileWithFormats { btf: path, .. } => {
            path.display().to_string()
        }
        KernelSelection::Carried(name) => name.clone(),
        KernelSelection::AllCarried => "the carried kernels".to_string(),
    }
}

fn no_kernel_note() -> Diagnostic {
    Diagnostic::note(
        Code::BtfUnavailable,
        format!(
            "no kernel BTF at {}: kernel checks skipped",
            btf::SYSFS_VMLINUX
        ),
    )
    .with_help(
        "check against kernels tpc carries with `--kernel debian-6.1` (or `--kernel all`, see          `tpc kernels`), or pass `--btf FILE`; `--no-kernel` skips kernel checks without this note",
    )
}

fn btf_unavailable(what: &str, error: &BtfError) -> Diagnostic {
    let mut message = format!("cannot load kernel BTF from {what}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Diagnostic::error(Code::BtfUnavailable, message)
}

/// Unique short labels for `kernels`, in order: each kernel's
/// [`KernelIdentity::short_label`] (`5.10`, `6.1-arm64`). When several share
/// one, the newest release keeps it (by major.minor.patch; on a tie, one
/// that answers to the label as an alias, then the first); the others get a
/// suffix: `-debNN` from a
/// `+debNN` release, else their name (`6.12-deb12`, `6.18-running`). The
/// rule does not depend on where a kernel came from, so `--kernel all` and
/// `--btf` of the same kernels give the same labels.
pub fn kernel_labels(kernels: &[&KernelIdentity]) -> Vec<String> {
    let short: Vec<String> = kernels.iter().map(|kernel| kernel.short_label()).collect();
    let rank = |index: usize| {
        let kernel = kernels[index];
        (
            // major.minor.patch only: `-fc-v669` or `-56-cloud` are not versions.
            kernel
                .release
                .as_deref()
                .map(|release| version_key(release).into_iter().take(3).collect::<Vec<_>>())
                .unwrap_or_default(),
            kernel.answers_to(&short[index]),
            std::cmp::Reverse(index),
        )
    };
    let mut labels: Vec<String> = Vec::with_capacity(kernels.len());
    for (index, kernel) in kernels.iter().enumerate() {
        let label = &short[index];
        let owner = (0..kernels.len())
            .filter(|&other| short[other] == *label)
            .max_by_key(|&other| rank(other));
        let mut chosen = if owner == Some(index) {
            label.clone()
        } else {
            let tag = kernel
                .release
                .as_deref()
                .and_then(|release| release.split_once("+deb"))
                .map(|(_, rest)| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    format!("deb{digits}")
                })
                .filter(|tag| tag.len() > 3)
                .unwrap_or_else(|| kernel.name.clone());
            format!("{label}-{tag}")
        };
        let base = chosen.clone();
        let mut counter = 2;
        while labels.contains(&chosen) {
            chosen = format!("{base}#{counter}");
            counter += 1;
        }
        labels.push(chosen);
    }
    labels
}

/// Groups per-kernel findings: findings with the same code, severity,
/// primary span and message become one diagnostic whose
/// [`KernelScope::affected`] lists the kernels that produced it and whose
/// `fine` lists the other kernels checked. Labels come from the first
/// kernel's finding; help and notes shared by every affected kernel are
/// kept as they are, others become notes prefixed with the kernels they
/// hold on (`on 6.1-arm64: …`). Groups keep the order of first appearance.
pub fn group_by_kernel(per_kernel: &[(String, Vec<Diagnostic>)]) -> Vec<Diagnostic> {
    type Key = (Code, Severity, Option<Span>, String);
    let mut order: Vec<Key> = Vec::new();
    let mut groups: HashMap<Key, Vec<(usize, &Diagnostic)>> = HashMap::new();
    for (kernel, (_, found)) in per_kernel.iter().enumerate() {
        for diagnostic in found {
            let key = (
                diagnostic.code,
                diagnostic.severity,
                diagnostic.primary_span(),
                diagnostic.message.clone(),
            );
            let members = groups.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                Vec::new()
            });
            // The same finding twice on one kernel (a list's calls sharing
            // an argument) counts once.
            if !members
                .iter()
                .any(|(seen, seen_diag)| *seen == kernel && *seen_diag == diagnostic)
            {
                members.push((kernel, diagnostic));
            }
        }
    }
    let labels: Vec<&str> = per_kernel.iter().map(|(label, _)| label.as_str()).collect();
    order
        .into_iter()
        .filter_map(|key| {
            let members = groups.remove(&key)?;
            Some(merge_group(&labels, &members))
        })
        .collect()
}

fn merge_group(labels: &[&str], members: &[(usize, &Diagnostic)]) -> Diagnostic {
    let mut affected_kernels: Vec<usize> = members.iter().map(|(kernel, _)| *kernel).collect();
    affected_kernels.dedup();
    let affected: Vec<String> = affected_kernels
        .iter()
        .map(|&kernel| labels[kernel].to_string())
        .collect();
    let fine: Vec<String> = (0..labels.len())
        .filter(|kernel| !affected_kernels.contains(kernel))
        .map(|kernel| labels[kernel].to_string())
        .collect();
    let first = members[0].1;
    let mut merged = Diagnostic {
        help: None,
        notes: Vec::new(),
        ..first.clone()
    };
    // Each distinct text, with the kernels it appears on, in first-seen order.
    let mut texts: Vec<(String, Vec<usize>, bool)> = Vec::new();
    let mut add = |text: &str, kernel: usize, is_help: bool| match texts
        .iter_mut()
        .find(|(seen, _, seen_help)| seen == text && *seen_help == is_help)
    {
        Some((_, kernels, _)) => {
            if !kernels.contains(&kernel) {
                kernels.push(kernel);
            }
        }
        None => texts.push((text.to_string(), vec![kernel], is_help)),
    };
    for (kernel, diagnostic) in members {
        if let Some(help) = &diagnostic.help {
            add(help, *kernel, true);
        }
        for note in &diagnostic.notes {
            add(note, *kernel, false);
        }
    }
    let everywhere = |kernels: &Vec<usize>| affected_kernels.iter().all(|k| kernels.contains(k));
    // Shared texts first, then the per-kernel ones.
    let mut per_kernel = Vec::new();
    for (text, kernels, is_help) in &texts {
        if everywhere(kernels) {
            if *is_help && merged.help.is_none() {
                merged.help = Some(text.clone());
            } else {
                merged.notes.push(text.clone());
            }
        } else {
            let on: Vec<&str> = kernels.iter().map(|&kernel| labels[kernel]).collect();
            per_kernel.push(format!("on {}: {text}", on.join(", ")));
        }
    }
    merged.notes.extend(per_kernel);
    merged.kernels = Some(KernelScope { affected, fine });
    merged
}

/// Promotes warnings to errors (for `--deny-warnings` renderings that want
/// the severity to show).
pub fn deny_warnings(diags: &mut [Diagnostic]) {
    for d in diags {
        if d.severity == Severity::Warning {
            d.severity = Severity::Error;
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod kernel_tests {
    use super::*;
    use crate::btf::Arch;

    fn identity(name: &str, aliases: &[&str], release: Option<&str>, arch: Arch) -> KernelIdentity {
        KernelIdentity {
            name: name.to_string(),
            aliases: aliases.iter().map(|a| (*a).to_string()).collect(),
            release: release.map(str::to_string),
            arch,
            origin: KernelOrigin::Carried,
        }
    }

    #[test]
    fn labels_are_short_and_unique() {
        let kernels = [
            identity(
                "debian-12-6.12",
                &["bookworm-backports"],
                Some("6.12.95+deb12-cloud-amd64"),
                Arch::X86_64,
            ),
            identity(
                "debian-13-6.12",
                &["6.12"],
                Some("6.12.107+deb13-cloud-amd64"),
                Arch::X86_64,
            ),
            identity(
                "debian-6.1-arm64",
                &[],
                Some("6.1.0-56-cloud-arm64"),
                Arch::Arm64,
            ),
            identity(
                "debian-6.1",
                &["6.1"],
                Some("6.1.0-56-cloud-amd64"),
                Arch::X86_64,
            ),
            identity("running", &[], Some("6.18.44-fc-v669"), Arch::X86_64),
            identity("running-6.18", &["6.18"], Some("6.18.44"), Arch::X86_64),
        ];
        let refs: Vec<&KernelIdentity> = kernels.iter().collect();
        assert_eq!(
            kernel_labels(&refs),
            [
                "6.12-deb12",
                "6.12",
                "6.1-arm64",
                "6.1",
                "6.18-running",
                "6.18"
            ]
        );
        // Alone, every kernel keeps its short label.
        assert_eq!(kernel_labels(&[&kernels[0]]), ["6.12"]);
        // Without aliases (BTF files), the newer release keeps the label.
        let mut files = kernels.clone();
        for kernel in &mut files {
            kernel.aliases.clear();
        }
        assert_eq!(
            kernel_labels(&[&files[1], &files[0]]),
            ["6.12", "6.12-deb12"]
        );
        // Identical identities still get distinct labels.
        assert_eq!(
            kernel_labels(&[&files[3], &files[3]]),
            ["6.1", "6.1-debian-6.1"]
        );
    }

    fn finding(message: &str, help: Option<&str>, notes: &[&str]) -> Diagnostic {
        let mut diagnostic = Diagnostic::error(Code::CallNotFound, message)
            .with_primary(Span::new(FileId(0), 10, 20), "here");
        diagnostic.help = help.map(str::to_string);
        diagnostic.notes = notes.iter().map(|n| (*n).to_string()).collect();
        diagnostic
    }

    #[test]
    fn grouping_merges_kernels_and_prefixes_what_differs() {
        let per_kernel = vec![
            (
                "5.10".to_string(),
                vec![finding(
                    "missing `a`",
                    Some("did you mean `b`?"),
                    &["shared", "x86"],
                )],
            ),
            ("6.1".to_string(), vec![]),
            (
                "6.1-arm64".to_string(),
                vec![
                    finding("missing `a`", None, &["shared", "arm"]),
                    finding("other", None, &[]),
                ],
            ),
        ];
        let grouped = group_by_kernel(&per_kernel);
        assert_eq!(grouped.len(), 2);
        let first = &grouped[0];
        assert_eq!(first.message, "missing `a`");
        let scope = first.kernels.as_ref().unwrap();
        assert_eq!(scope.affected, ["5.10", "6.1-arm64"]);
        assert_eq!(scope.fine, ["6.1"]);
        assert_eq!(first.help, None);
        assert_eq!(
            first.notes,
            [
                "shared",
                "on 5.10: did you mean `b`?",
                "on 5.10: x86",
                "on 6.1-arm64: arm"
            ]
        );
        let second = grouped[1].kernels.as_ref().unwrap();
        assert_eq!(second.affected, ["6.1-arm64"]);
        assert_eq!(second.fine, ["5.10", "6.1"]);
    }

    #[test]
    fn identical_findings_keep_their_help() {
        let same = finding("missing `a`", Some("did you mean `b`?"), &["n"]);
        let per_kernel = vec![
            ("5.10".to_string(), vec![same.clone(), same.clone()]),
            ("6.1".to_string(), vec![same]),
        ];
        let grouped = group_by_kernel(&per_kernel);
        assert_eq!(grouped.len(), 1);
        assert_eq!(grouped[0].help.as_deref(), Some("did you mean `b`?"));
        assert_eq!(grouped[0].notes, ["n"]);
        assert!(grouped[0].kernels.as_ref().unwrap().fine.is_empty());
    }

    #[test]
    fn sibling_files_are_found() {
        let dir = std::env::temp_dir().join(format!("tpc-driver-sibling-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let btf = dir.join("x86_64-dev.btf.xz");
        assert_eq!(sibling_formats(&btf), None);
        assert_eq!(release_from_sibling_config(&btf), None);
        std::fs::write(dir.join("x86_64-dev.tracepoint-formats.tar.xz"), b"").unwrap();
        std::fs::write(
            dir.join("x86_64-dev.config"),
            "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.18.44 Kernel Configuration\n#\n",
        )
        .unwrap();
        assert_eq!(
            sibling_formats(&btf),
            Some(dir.join("x86_64-dev.tracepoint-formats.tar.xz"))
        );
        assert_eq!(
            release_from_sibling_config(&btf).as_deref(),
            Some("6.18.44")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unknown_kernel_names_suggest_and_list() {
        let error = kernel_selections(&[], &["debian-5.11".to_string()]).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("did you mean `debian-5.10`?"), "{text}");
        assert!(
            text.contains("running-6.18, all") || text.contains(", all"),
            "{text}"
        );
        let ok = kernel_selections(
            &[],
            &["all".to_string(), "all".to_string(), "6.1".to_string()],
        )
        .unwrap();
        assert_eq!(
            ok,
            [
                KernelSelection::AllCarried,
                KernelSelection::Carried("6.1".to_string())
            ]
        );
    }
}
