//! The check pipeline over files: reads sources (files, folders, stdin),
//! runs the frontend and every kernel-independent check, and collects the
//! diagnostics with the sources they point into. The CLI renders the result.

use crate::diagnostics::{self, Diagnostic, Severity, Tally};
use crate::ir::Policy;
use crate::span::{FileId, SourceMap};
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

/// The outcome of checking a set of inputs.
#[derive(Debug, Default)]
pub struct Report {
    pub sources: SourceMap,
    pub policies: Vec<LoadedPolicy>,
    pub diagnostics: Vec<Diagnostic>,
    /// Number of files read.
    pub files: usize,
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
}

/// Expands folders into the policy files below them, sorted, and reads every
/// file. Fails on the first unreadable input.
pub fn read_inputs(inputs: &[Input]) -> Result<Vec<(String, String)>, InputError> {
    let mut out = Vec::new();
    for input in inputs {
        match input {
            Input::Text { name, text } => out.push((name.clone(), text.clone())),
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
                        out.push(read_one(&f)?);
                    }
                } else {
                    out.push(read_one(p)?);
                }
            }
        }
    }
    Ok(out)
}

fn read_one(path: &Path) -> Result<(String, String), InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| InputError::NotUtf8 {
        path: path.display().to_string(),
    })?;
    Ok((path.display().to_string(), text))
}

/// Every `*.yaml`/`*.yml` file below `dir`, sorted by path.
pub fn collect_policy_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_policy_files(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs the frontend and the checks on already-read sources.
pub fn check_sources(sources: Vec<(String, String)>) -> Report {
    let mut report = Report::default();
    for (name, text) in sources {
        let file = report.sources.add(name, text.as_str());
        report.files += 1;
        let parsed = crate::front::parse_policies(file, &text);
        let mut diags = parsed.diagnostics;
        for policy in parsed.policies {
            diags.extend(crate::check::run_all(&policy));
            report.policies.push(LoadedPolicy { file, policy });
        }
        diagnostics::sort_and_dedup(&mut diags);
        report.diagnostics.extend(diags);
    }
    report
}

/// Reads and checks `inputs`.
pub fn check_inputs(inputs: &[Input]) -> Result<Report, InputError> {
    Ok(check_sources(read_inputs(inputs)?))
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
