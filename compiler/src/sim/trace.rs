//! Explanations: for one event, why each selector of each hook did or did
//! not match, filter by filter, as structured data and as text
//! ("selector 2: matchBinaries NotIn [/usr/bin/runc] failed: binary is
//! /usr/sbin/runc").

use std::fmt::Write as _;

use super::verdict::{SelectorOutcome, Verdict};

/// The reason an evaluator gives, filled only when explaining.
#[derive(Clone, Debug, Default)]
pub struct Why {
    pub reason: String,
    /// A Tetragon quirk (or bug) that decided the outcome.
    pub quirk: Option<String>,
    /// Tetragon skips this filter entirely (it always passes).
    pub ignored: bool,
}

/// How one filter came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterOutcome {
    Passed,
    Failed,
    /// Tetragon does not evaluate this filter (no runtime filter for the
    /// type, a `matchPIDs` entry after the first, ...): it passes.
    Skipped,
}

impl FilterOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterOutcome::Passed => "passed",
            FilterOutcome::Failed => "failed",
            FilterOutcome::Skipped => "skipped",
        }
    }
}

/// One filter of a selector.
#[derive(Clone, Debug)]
pub struct FilterReport {
    /// `matchArgs`, `matchBinaries`, `matchPIDs`, ...
    pub section: &'static str,
    /// Position in its section.
    pub entry: usize,
    /// `args[0] (file) Prefix [/etc/]`, `NotIn [/usr/bin/runc]`.
    pub description: String,
    pub outcome: FilterOutcome,
    /// What the event held: `binary is /usr/sbin/runc`.
    pub reason: String,
    pub quirk: Option<String>,
    /// False when Tetragon would not have evaluated it (an earlier filter of
    /// the selector already failed); shown for information.
    pub reached: bool,
}

/// How a selector came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorResult {
    Matched,
    /// A process filter (binaries, PIDs, namespaces, capabilities) failed.
    ProcessFiltersFailed,
    /// The process filters passed but an argument filter failed.
    ArgFiltersFailed,
    /// An earlier selector already won; Tetragon stops there.
    NotReached {
        winner: usize,
    },
}

/// One selector.
#[derive(Clone, Debug)]
pub struct SelectorReport {
    pub index: usize,
    pub label: Option<String>,
    pub filters: Vec<FilterReport>,
    pub result: SelectorResult,
    /// Would the filters match had an earlier selector not won.
    pub would_match: bool,
}

/// One policy hook the event reached.
#[derive(Clone, Debug)]
pub struct HookReport {
    /// `kprobes[0] (sys_write → __x64_sys_write)`.
    pub hook: String,
    /// Why the policy does not apply to the process, if it does not.
    pub out_of_scope: Option<String>,
    pub selectors: Vec<SelectorReport>,
    /// Return selectors (`matchReturnArgs`), for hooks with `return: true`.
    pub return_selectors: Vec<SelectorReport>,
    /// Notes on actions (rate limits, monitor mode).
    pub notes: Vec<String>,
    pub verdict: Verdict,
}

/// Everything the simulator can say about one event.
#[derive(Clone, Debug)]
pub struct Explanation {
    pub input_position: u64,
    /// `process_kprobe __x64_sys_write by /usr/bin/vi (pid 36318)`.
    pub headline: String,
    pub hooks: Vec<HookReport>,
    /// Said when no hook matched.
    pub note: Option<String>,
}

impl Explanation {
    /// The explanation as indented text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "event #{}: {}", self.input_position, self.headline);
        if let Some(note) = &self.note {
            let _ = writeln!(out, "  {note}");
        }
        for hook in &self.hooks {
            let v = &hook.verdict;
            let _ = writeln!(out, "  policy {}, {}", v.policy, hook.hook);
            if let Some(scope) = &hook.out_of_scope {
                let _ = writeln!(out, "    the policy does not apply: {scope}");
            }
            if hook.selectors.is_empty() && hook.out_of_scope.is_none() {
                let _ = writeln!(out, "    no selectors: every event of the hook is posted");
            }
            for s in &hook.selectors {
                render_selector(&mut out, s, "selector");
            }
            for s in &hook.return_selectors {
                render_selector(&mut out, s, "return selector");
            }
            for note in &hook.notes {
                let _ = writeln!(out, "    note: {note}");
            }
            let decided = match v.selector {
                SelectorOutcome::Matched(i) => format!("selector {i} wins"),
                SelectorOutcome::NoSelectors => "no selectors".to_string(),
                SelectorOutcome::NoneMatched => "no selector matched".to_string(),
            };
            let actions = if v.actions.is_empty() {
                String::new()
            } else {
                format!("; actions: {}", v.action_names().join(", "))
            };
            let action = v
                .action
                .as_ref()
                .and_then(|a| a.name())
                .map_or_else(String::new, |a| format!("; action {a}"));
            let posted = if v.posted {
                "posted".to_string()
            } else {
                format!(
                    "not posted ({})",
                    v.suppressed.as_ref().map_or("dropped", |s| s.as_str())
                )
            };
            let _ = writeln!(out, "    => {decided}{actions}{action}; {posted}");
            if let Some(d) = &v.recorded_disagreement {
                let _ = writeln!(out, "    note: the recorded event disagrees: {d}");
            }
        }
        out
    }
}

fn render_selector(out: &mut String, s: &SelectorReport, what: &str) {
    let label = s
        .label
        .as_ref()
        .map_or_else(String::new, |l| format!(" \"{l}\""));
    let result = match s.result {
        SelectorResult::Matched => "matched".to_string(),
        SelectorResult::ProcessFiltersFailed => "no match (process filters)".to_string(),
        SelectorResult::ArgFiltersFailed => "no match (argument filters)".to_string(),
        SelectorResult::NotReached { winner } => format!(
            "not evaluated: selector {winner} already won (it {} match)",
            if s.would_match { "would" } else { "would not" }
        ),
    };
    let _ = writeln!(out, "    {what} {}{label}: {result}", s.index);
    if s.filters.is_empty() {
        let _ = writeln!(out, "      no filters: matches every event");
    }
    for f in &s.filters {
        let entry = if f.section == "matchArgs"
            || f.section == "matchData"
            || f.section == "matchReturnArgs"
        {
            format!("{}[{}]", f.section, f.entry)
        } else {
            f.section.to_string()
        };
        let reached = if f.reached { "" } else { " (not reached)" };
        let _ = writeln!(
            out,
            "      {entry} {} {}{reached}: {}",
            f.description,
            f.outcome.as_str(),
            f.reason
        );
        if let Some(q) = &f.quirk {
            let _ = writeln!(out, "        quirk: {q}");
        }
    }
}
