//! The `Simulator`: feeds events in input order, keeps the state Tetragon
//! keeps (process tree, rate-limit table, socket tracking, recorded
//! namespaces and capabilities) and returns a [`Verdict`] per policy hook an
//! event reaches, optionally with an [`Explanation`].

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tpc_events::{ArgValue, Event, EventBody, EventKind, EventSummary, KprobeAction};

use crate::ir::{ActionKind, ArgRef, Operator, Policy, RateLimitScope};

use super::filters::{self, ProcessContext};
use super::hooks::{HookIndex, HookRef};
use super::plan::{ArgSection, HookPlan, PolicyPlan, SelectorPlan};
use super::process::{self, ProcessTree};
use super::syscalls::{self, Abi, Arch};
use super::trace::{
    Explanation, FilterOutcome, FilterReport, HookReport, SelectorReport, SelectorResult, Why,
};
use super::verdict::{SelectorOutcome, Suppression, Verdict};

/// How the simulator reads events.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The node architecture assumed when an event does not tell (by an
    /// arch-prefixed function name or a `syscall_id.abi`).
    pub default_arch: Arch,
    /// Read paths without a leading `/` (exported by older Tetragon, as in
    /// `"file_arg": {"path": "etc/passwd"}`) as absolute.
    pub legacy_paths: bool,
    /// Build the exported event of posted verdicts.
    pub build_output: bool,
    /// Treat `Sigkill` (and `Signal` 9) as ending the process: later hook
    /// events of the same exec id are not posted (they would not have
    /// happened on an enforcing node). Off by default: recorded logs are
    /// usually taken without the policy.
    pub follow_kills: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            default_arch: Arch::X86_64,
            legacy_paths: true,
            build_output: true,
            follow_kills: false,
        }
    }
}

/// Counts per policy hook, for the summary table.
#[derive(Clone, Debug, Default)]
pub struct HookStats {
    /// Events that reached the hook.
    pub reached: u64,
    pub out_of_scope: u64,
    /// Wins per selector (index), plus one slot for "no selectors".
    pub selector_wins: Vec<u64>,
    pub no_match: u64,
    pub posted: u64,
    pub no_post: u64,
    pub rate_limited: u64,
    pub return_suppressed: u64,
    /// With `follow_kills`: events of processes an earlier event killed.
    pub after_kill: u64,
    /// Events recorded with this policy's name whose verdict differs.
    pub disagreements: u64,
}

/// Counts over the whole input.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub events: u64,
    pub malformed: u64,
    pub by_kind: Vec<(String, u64)>,
    /// Hook events that reached no hook of the policies.
    pub unmatched_hook_events: u64,
    pub posted: u64,
}

/// The immutable part of a [`Simulator`] that tells which events need a
/// full parse; cheap to clone and `Send`, for a reading thread.
#[derive(Clone, Debug)]
pub struct Sieve {
    index: Arc<HookIndex>,
    needs_tree: bool,
}

impl Sieve {
    /// Whether an event with this summary needs a full parse. `scratch` is
    /// a reusable buffer.
    pub fn interest(&self, summary: &EventSummary, scratch: &mut Vec<HookRef>) -> Interest {
        match summary.kind() {
            EventKind::ProcessExec | EventKind::ProcessExit if self.needs_tree => Interest::Parse,
            _ if self.index.reaches(summary, scratch) => Interest::Parse,
            _ => Interest::Skip,
        }
    }
}

/// Whether an event is worth a full parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// It reaches a hook, or updates state the policies need.
    Parse,
    /// Nothing the policies look at: count it and move on.
    Skip,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RateKey {
    policy: usize,
    hook: usize,
    scope: u64,
    arguments: u64,
}

/// Change-filter hits that update the recorded state when the event posts.
#[derive(Default, Clone, Copy)]
struct Marks {
    namespaces: bool,
    capabilities: bool,
}

/// What one hook decided, before actions.
struct Decision {
    outcome: SelectorOutcome,
    return_selector: Option<usize>,
    return_ok: bool,
    marks: Marks,
    out_of_scope: Option<String>,
}

/// Replays events against policies.
pub struct Simulator<'p> {
    plans: Vec<PolicyPlan<'p>>,
    index: Arc<HookIndex>,
    tree: ProcessTree,
    rate_limits: HashMap<RateKey, i64>,
    tracked_sockets: HashMap<u64, String>,
    /// With `follow_kills`: exec id → the policy and event position that
    /// killed the process.
    killed: HashMap<String, (Arc<str>, u64)>,
    options: SimOptions,
    position: u64,
    needs_tree: bool,
    scratch: Vec<HookRef>,
    stats: Vec<Vec<HookStats>>,
    totals: Totals,
    /// Processes placed in cgroups ([`Simulator::place_in_cgroup`]): pid →
    /// normalized cgroup path; their descendants are there too.
    cgroups: HashMap<u32, String>,
}

fn event_arch(event: &Event, default: Arch) -> Arch {
    if let Some(tpc_events::Hook::Kprobe { function }) = event.hook() {
        if let Some((abi, _)) = syscalls::split_symbol(function) {
            return abi.arch();
        }
    }
    for arg in event.args() {
        if let ArgValue::SyscallId(id) = &arg.value {
            if let Some(abi) = id.abi.as_deref().and_then(Abi::from_name) {
                return abi.arch();
            }
        }
    }
    default
}

/// Steps of one selector's filters, with or without reports.
struct Steps<'r> {
    reports: Option<&'r mut Vec<FilterReport>>,
    ok: bool,
}

impl Steps<'_> {
    fn run(
        &mut self,
        section: &'static str,
        entry: usize,
        describe: impl FnOnce() -> String,
        eval: impl FnOnce(Option<&mut Why>) -> bool,
    ) -> Option<bool> {
        let reached = self.ok;
        match self.reports.as_deref_mut() {
            None => {
                if !reached {
                    return None;
                }
                let passed = eval(None);
                self.ok = passed;
                Some(passed)
            }
            Some(reports) => {
                let mut why = Why::default();
                let passed = eval(Some(&mut why));
                reports.push(FilterReport {
                    section,
                    entry,
                    description: describe(),
                    outcome: if why.ignored {
                        FilterOutcome::Skipped
                    } else if passed {
                        FilterOutcome::Passed
                    } else {
                        FilterOutcome::Failed
                    },
                    reason: why.reason,
                    quirk: why.quirk,
                    reached,
                });
                self.ok &= passed;
                reached.then_some(passed)
            }
        }
    }

    fn skipped(
        &mut self,
        section: &'static str,
        entry: usize,
        describe: impl FnOnce() -> String,
        reason: &str,
    ) {
        if let Some(reports) = self.reports.as_deref_mut() {
            reports.push(FilterReport {
                section,
                entry,
                description: describe(),
                outcome: FilterOutcome::Skipped,
                reason: reason.to_string(),
                quirk: None,
                reached: self.ok,
            });
        }
    }
}

const ONLY_FIRST: &str = "Tetragon evaluates only the first entry of this filter kind; the others are misread (unpredictable), tpc ignores them";

impl<'p> Simulator<'p> {
    pub fn new(policies: &[&'p Policy], options: SimOptions) -> Self {
        let plans: Vec<PolicyPlan<'p>> = policies.iter().map(|p| PolicyPlan::new(p)).collect();
        // cgroup-scoped bindings find a process's cgroup through its ancestors
        let needs_tree = plans.iter().any(|p| p.hooks.iter().any(|h| h.needs_tree))
            || policies
                .iter()
                .any(|p| p.binding.as_ref().is_some_and(|b| !b.cgroups.is_empty()));
        let stats = plans
            .iter()
            .map(|p| {
                p.hooks
                    .iter()
                    .map(|h| HookStats {
                        selector_wins: vec![0; h.selectors.len() + 1],
                        ..HookStats::default()
                    })
                    .collect()
            })
            .collect();
        Simulator {
            index: Arc::new(HookIndex::new(policies)),
            plans,
            tree: ProcessTree::new(),
            rate_limits: HashMap::new(),
            tracked_sockets: HashMap::new(),
            killed: HashMap::new(),
            options,
            position: 0,
            needs_tree,
            scratch: Vec::new(),
            stats,
            totals: Totals::default(),
            cgroups: HashMap::new(),
        }
    }

    /// Says that process `pid` (and every process it starts) runs in cgroup
    /// `path` (cgroup v2, relative to its mount, as bindings name them):
    /// recorded events do not carry cgroups, and a binding's `cgroups`
    /// decide which processes its policy applies to.
    pub fn place_in_cgroup(&mut self, pid: u32, path: &str) {
        self.cgroups
            .insert(pid, tpc_bundle::binding::normalize_cgroup(path));
    }

    /// The cgroup of the event's process: its own placement or its nearest
    /// placed ancestor's.
    fn cgroup_of(&self, event: &Event) -> Option<&str> {
        let own = event.process().and_then(|p| p.pid());
        if let Some(path) = own.and_then(|pid| self.cgroups.get(&pid)) {
            return Some(path);
        }
        self.tree
            .lineage(event)
            .iter()
            .find_map(|a| a.pid.and_then(|pid| self.cgroups.get(&pid)))
            .map(String::as_str)
    }

    /// For a policy made from a binding: whether its workload holds the
    /// event's process, and no binding of the same template that overrides
    /// it holds the process too (CFP-4191's override, as `tpc run` applies
    /// it); why not otherwise.
    fn binding_scope(&self, policy: &Policy, event: &Event) -> Result<(), String> {
        use tpc_bundle::binding::{encloses, normalize_cgroup};
        let Some(binding) = &policy.binding else {
            return Ok(());
        };
        let cgroup = self.cgroup_of(event);
        let covers = |b: &crate::ir::BindingOf| {
            b.cgroups.is_empty()
                || cgroup.is_some_and(|c| {
                    b.cgroups
                        .iter()
                        .any(|p| encloses(&normalize_cgroup(&p.value), c))
                })
        };
        if !covers(binding) {
            return Err(match cgroup {
                Some(c) => format!(
                    "binding {}: cgroup {c} is not in its cgroups",
                    policy.name.value
                ),
                None => format!(
                    "binding {}: the process is in none of its cgroups (the simulator knows a process's cgroup only when told, e.g. `tpc replay --process-cgroup PID=PATH`)",
                    policy.name.value
                ),
            });
        }
        for other in self.plans.iter().map(|p| p.policy) {
            let Some(theirs) = &other.binding else {
                continue;
            };
            let wins = theirs.template.value == binding.template.value
                && !std::ptr::eq(other, policy)
                && theirs.override_allowed
                && binding.override_allowed
                && theirs.override_priority > binding.override_priority;
            if wins && covers(theirs) && filters::policy_scope(other, event).is_ok() {
                return Err(format!(
                    "binding {} overrides binding {} here (overridePriority {} over {})",
                    other.name.value,
                    policy.name.value,
                    theirs.override_priority,
                    binding.override_priority
                ));
            }
        }
        Ok(())
    }

    /// Problems found while indexing hooks (a `generated_ftrace` pattern tpc
    /// cannot read, ...).
    pub fn problems(&self) -> &[String] {
        &self.index.problems
    }

    /// The policies, in order.
    pub fn policies(&self) -> impl Iterator<Item = &'p Policy> + '_ {
        self.plans.iter().map(|p| p.policy)
    }

    /// Whether `process_exec`/`process_exit` events matter (some selector
    /// follows forks or children, or watches namespace/capability changes).
    pub fn needs_process_events(&self) -> bool {
        self.needs_tree
    }

    /// The process tree built so far.
    pub fn process_tree(&self) -> &ProcessTree {
        &self.tree
    }

    /// Sockets registered by `TrackSock` (cookie → owning `exec_id`).
    pub fn tracked_sockets(&self) -> &HashMap<u64, String> {
        &self.tracked_sockets
    }

    /// Counts per policy hook (`[policy][hook]`).
    pub fn stats(&self) -> &[Vec<HookStats>] {
        &self.stats
    }

    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// The position the next event will get.
    pub fn next_position(&self) -> u64 {
        self.position + 1
    }

    /// Whether an event with this summary needs a full parse.
    pub fn interest(&mut self, summary: &EventSummary) -> Interest {
        let sieve = Sieve {
            index: Arc::clone(&self.index),
            needs_tree: self.needs_tree,
        };
        sieve.interest(summary, &mut self.scratch)
    }

    /// The part of the simulator that decides [`Interest`], to share with a
    /// reading thread.
    pub fn sieve(&self) -> Sieve {
        Sieve {
            index: Arc::clone(&self.index),
            needs_tree: self.needs_tree,
        }
    }

    fn count_kind(&mut self, kind: &str) {
        self.totals.events += 1;
        match self.totals.by_kind.iter_mut().find(|(k, _)| k == kind) {
            Some((_, n)) => *n += 1,
            None => self.totals.by_kind.push((kind.to_string(), 1)),
        }
    }

    /// Counts an event that was not parsed (see [`Self::interest`]); returns
    /// its position.
    pub fn skip(&mut self, summary: &EventSummary) -> u64 {
        self.skip_kind(summary.kind_key(), summary.hook().is_some())
    }

    /// [`Self::skip`] from the kind key and whether the event came from a hook.
    pub fn skip_kind(&mut self, kind_key: &str, from_hook: bool) -> u64 {
        self.position += 1;
        self.count_kind(kind_key);
        if from_hook {
            self.totals.unmatched_hook_events += 1;
        }
        self.position
    }

    /// Counts a value of the input that is not an event; returns its position.
    pub fn malformed(&mut self) -> u64 {
        self.position += 1;
        self.totals.malformed += 1;
        self.position
    }

    /// Feeds the next event: updates the state and returns a verdict for
    /// each policy hook it reaches (none for exec, exit and other events).
    pub fn feed(&mut self, event: &Event) -> Vec<Verdict> {
        self.process(event, false).0
    }

    /// [`Self::feed`], explaining every decision.
    pub fn feed_explained(&mut self, event: &Event) -> (Vec<Verdict>, Explanation) {
        let (verdicts, explanation) = self.process(event, true);
        let explanation = explanation.unwrap_or_else(|| Explanation {
            input_position: self.position,
            headline: headline(event),
            hooks: Vec::new(),
            note: None,
        });
        (verdicts, explanation)
    }

    fn process(&mut self, event: &Event, explain: bool) -> (Vec<Verdict>, Option<Explanation>) {
        self.position += 1;
        self.count_kind(event.kind_key());
        let position = self.position;
        let Some(hook) = event.hook() else {
            if self.needs_tree
                && matches!(
                    event.kind(),
                    EventKind::ProcessExec | EventKind::ProcessExit
                )
            {
                self.tree.ingest(event);
            }
            let explanation = explain.then(|| Explanation {
                input_position: position,
                headline: headline(event),
                hooks: Vec::new(),
                note: Some(match event.kind() {
                    EventKind::ProcessExec | EventKind::ProcessExit => {
                        "not a hook event: it only updates the process tree".to_string()
                    }
                    EventKind::Other => format!(
                        "`{}` events come from no hook of a policy",
                        event.kind_key()
                    ),
                    _ => "not a hook event".to_string(),
                }),
            });
            return (Vec::new(), explanation);
        };
        let mut refs = std::mem::take(&mut self.scratch);
        refs.clear();
        self.index.lookup(&hook, &mut refs);
        if refs.is_empty() {
            self.totals.unmatched_hook_events += 1;
            self.scratch = refs;
            let explanation = explain.then(|| Explanation {
                input_position: position,
                headline: headline(event),
                hooks: Vec::new(),
                note: Some(format!(
                    "no hook of the loaded policies matches {}",
                    describe_hook(&hook)
                )),
            });
            return (Vec::new(), explanation);
        }
        if self.needs_tree {
            self.tree.ingest(event);
        }
        let arch = event_arch(event, self.options.default_arch);
        let mut verdicts = Vec::with_capacity(refs.len());
        let mut reports = Vec::new();
        for at in &refs {
            let mut report = explain.then(|| HookReport {
                hook: String::new(),
                out_of_scope: None,
                selectors: Vec::new(),
                return_selectors: Vec::new(),
                notes: Vec::new(),
                verdict: placeholder_verdict(),
            });
            let verdict = self.evaluate(*at, event, arch, position, report.as_mut());
            if let Some(mut r) = report {
                r.verdict = verdict.clone();
                reports.push(r);
            }
            verdicts.push(verdict);
        }
        self.scratch = refs;
        let explanation = explain.then(|| Explanation {
            input_position: position,
            headline: headline(event),
            hooks: reports,
            note: None,
        });
        (verdicts, explanation)
    }

    /// Whether one selector of a hook matches an event (process and argument
    /// filters), on the current state, without changing it.
    pub fn selector_matches(
        &self,
        policy: usize,
        hook: usize,
        selector: usize,
        event: &Event,
    ) -> bool {
        let Some(plan) = self.plans.get(policy).and_then(|p| p.hooks.get(hook)) else {
            return false;
        };
        let Some(sel) = plan.selectors.get(selector) else {
            return false;
        };
        let arch = event_arch(event, self.options.default_arch);
        let ctx = ProcessContext::new(event, &self.tree);
        let mut marks = Marks::default();
        self.process_filters(sel, &ctx, None, &mut marks)
            && self.arg_filters(plan, sel, false, event, arch, None)
    }

    fn process_filters(
        &self,
        sel: &SelectorPlan<'p>,
        ctx: &ProcessContext<'_>,
        reports: Option<&mut Vec<FilterReport>>,
        marks: &mut Marks,
    ) -> bool {
        let s = sel.selector;
        let mut steps = Steps { reports, ok: true };
        for (key, list, parent) in [
            ("matchBinaries", &s.match_binaries, false),
            ("matchParentBinaries", &s.match_parent_binaries, true),
        ] {
            for (i, f) in list.iter().enumerate() {
                let describe = || {
                    filters::list(f.operator.value.as_str(), f.values.iter().map(|v| &v.value))
                        + if f.follow_children {
                            " followChildren"
                        } else {
                            ""
                        }
                };
                if i > 0 {
                    steps.skipped(key, i, describe, ONLY_FIRST);
                    continue;
                }
                steps.run(key, i, describe, |why| {
                    filters::binaries(f, parent, ctx, why)
                });
            }
        }
        for (i, f) in s.match_pids.iter().enumerate() {
            let describe = || {
                let mut d =
                    filters::list(f.operator.value.as_str(), f.values.iter().map(|v| v.value));
                if f.follow_forks {
                    d.push_str(" followForks");
                }
                if f.is_namespace_pid {
                    d.push_str(" isNamespacePID");
                }
                d
            };
            if i > 0 {
                steps.skipped("matchPIDs", i, describe, ONLY_FIRST);
                continue;
            }
            steps.run("matchPIDs", i, describe, |why| filters::pids(f, ctx, why));
        }
        for (i, f) in s.match_namespaces.iter().enumerate() {
            let describe = || {
                filters::list(
                    &format!(
                        "{} {}",
                        f.namespace.value.as_str(),
                        f.operator.value.as_str()
                    ),
                    f.values.iter().map(|v| match v.value {
                        crate::ir::NamespaceValue::Host => "host_ns".to_string(),
                        crate::ir::NamespaceValue::Inum(n) => n.to_string(),
                    }),
                )
            };
            steps.run("matchNamespaces", i, describe, |why| {
                filters::namespaces(f, ctx, why)
            });
        }
        for (i, f) in s.match_capabilities.iter().enumerate() {
            let describe = || describe_caps(f);
            if i > 0 {
                steps.skipped("matchCapabilities", i, describe, ONLY_FIRST);
                continue;
            }
            steps.run("matchCapabilities", i, describe, |why| {
                filters::capabilities(f, ctx, why)
            });
        }
        for (i, f) in s.match_namespace_changes.iter().enumerate() {
            let describe = || {
                filters::list(
                    f.operator.value.as_str(),
                    f.values.iter().map(|v| v.value.as_str()),
                )
            };
            if i > 0 {
                steps.skipped("matchNamespaceChanges", i, describe, ONLY_FIRST);
                continue;
            }
            let mut mark = false;
            let reached = steps.run("matchNamespaceChanges", i, describe, |why| {
                let (passed, m) = filters::namespace_changes(f, ctx, why);
                mark = m;
                passed
            });
            if reached.is_some() && mark {
                marks.namespaces = true;
            }
        }
        for (i, f) in s.match_capability_changes.iter().enumerate() {
            let describe = || describe_caps(f);
            if i > 0 {
                steps.skipped("matchCapabilityChanges", i, describe, ONLY_FIRST);
                continue;
            }
            if steps.run("matchCapabilityChanges", i, describe, |why| {
                filters::capability_changes(f, ctx, why)
            }) == Some(true)
            {
                marks.capabilities = true;
            }
        }
        if let Some(w) = &s.match_workloads {
            steps.run(
                "matchWorkloads",
                0,
                || "podSelector/containerSelector/hostSelector".into(),
                |why| filters::workloads(w, ctx, why),
            );
        }
        steps.ok
    }

    fn arg_filters(
        &self,
        plan: &HookPlan<'p>,
        sel: &SelectorPlan<'p>,
        returns: bool,
        event: &Event,
        arch: Arch,
        mut reports: Option<&mut Vec<FilterReport>>,
    ) -> bool {
        let list = if returns {
            &sel.return_filters
        } else {
            &sel.arg_filters
        };
        let mut result = true;
        for (i, (section, entry, f)) in list.iter().enumerate() {
            let can_stop = returns || !sel.replaced_later.get(i).copied().unwrap_or(false);
            if !result && reports.is_none() && can_stop {
                break;
            }
            let reached = result || !can_stop;
            let passed = match reports.as_deref_mut() {
                None => f.evaluate(plan.hook, event, arch, self.options.legacy_paths, None),
                Some(reports) => {
                    let mut why = Why::default();
                    let passed = f.evaluate(
                        plan.hook,
                        event,
                        arch,
                        self.options.legacy_paths,
                        Some(&mut why),
                    );
                    reports.push(FilterReport {
                        section: section.as_str(),
                        entry: *entry,
                        description: f.describe(plan.hook),
                        outcome: if why.ignored {
                            FilterOutcome::Skipped
                        } else if passed {
                            FilterOutcome::Passed
                        } else {
                            FilterOutcome::Failed
                        },
                        reason: why.reason,
                        quirk: why.quirk,
                        reached,
                    });
                    passed
                }
            };
            if f.operator() == Operator::CapabilitiesGained
                && *section != ArgSection::MatchReturnArgs
            {
                result = passed;
            } else {
                result &= passed;
            }
        }
        result
    }

    /// Selector decision for one hook, with reports when explaining.
    fn decide(
        &self,
        plan: &HookPlan<'p>,
        policy: &Policy,
        event: &Event,
        arch: Arch,
        mut report: Option<&mut HookReport>,
    ) -> Decision {
        let mut decision = Decision {
            outcome: SelectorOutcome::NoneMatched,
            return_selector: None,
            return_ok: true,
            marks: Marks::default(),
            out_of_scope: None,
        };
        if let Err(why) =
            filters::policy_scope(policy, event).and_then(|()| self.binding_scope(policy, event))
        {
            decision.out_of_scope = Some(why);
            return decision;
        }
        if plan.selectors.is_empty() {
            decision.outcome = SelectorOutcome::NoSelectors;
        } else {
            let ctx = ProcessContext::new(event, &self.tree);
            let explain = report.is_some();
            // Tetragon runs the process filters of every selector first,
            // then the argument filters of the active ones in order.
            let mut active = Vec::with_capacity(plan.selectors.len());
            let mut process_reports: Vec<Vec<FilterReport>> = Vec::new();
            for sel in &plan.selectors {
                if !sel.has_process_filters {
                    active.push(true);
                    process_reports.push(Vec::new());
                    continue;
                }
                let mut reps = Vec::new();
                let ok = self.process_filters(
                    sel,
                    &ctx,
                    explain.then_some(&mut reps),
                    &mut decision.marks,
                );
                active.push(ok);
                process_reports.push(reps);
            }
            let mut winner = None;
            for (i, sel) in plan.selectors.iter().enumerate() {
                if !explain {
                    if active[i] && self.arg_filters(plan, sel, false, event, arch, None) {
                        winner = Some(i);
                        break;
                    }
                    continue;
                }
                let mut reps = std::mem::take(&mut process_reports[i]);
                let process_count = reps.len();
                let args_ok = self.arg_filters(plan, sel, false, event, arch, Some(&mut reps));
                if !active[i] {
                    // Tetragon only runs the argument filters of selectors
                    // whose process filters passed.
                    for r in &mut reps[process_count..] {
                        r.reached = false;
                    }
                }
                let matched = active[i] && args_ok;
                let result = match winner {
                    Some(w) => SelectorResult::NotReached { winner: w },
                    None if matched => SelectorResult::Matched,
                    None if !active[i] => SelectorResult::ProcessFiltersFailed,
                    None => SelectorResult::ArgFiltersFailed,
                };
                if winner.is_none() && matched {
                    winner = Some(i);
                }
                if let Some(r) = report.as_deref_mut() {
                    r.selectors.push(SelectorReport {
                        index: i,
                        label: sel.selector.label.as_ref().map(|l| l.value.clone()),
                        filters: reps,
                        result,
                        would_match: matched,
                    });
                }
            }
            decision.outcome =
                winner.map_or(SelectorOutcome::NoneMatched, SelectorOutcome::Matched);
        }
        if plan.returns && decision.outcome.matched() {
            if super::args::event_arg(plan.hook, event, ArgRef::Return).is_none() {
                if let Some(r) = report.as_deref_mut() {
                    r.notes.push("the hook collects a return value but the event has none (`return`, or for a uprobe the argument after the entry's): return selectors not evaluated".into());
                }
            } else if !plan.selectors.is_empty() {
                let explain = report.is_some();
                let mut winner = None;
                for (i, sel) in plan.selectors.iter().enumerate() {
                    let mut reps = Vec::new();
                    if winner.is_some() && !explain {
                        break;
                    }
                    let ok = self.arg_filters(
                        plan,
                        sel,
                        true,
                        event,
                        arch,
                        explain.then_some(&mut reps),
                    );
                    let result = match winner {
                        Some(w) => SelectorResult::NotReached { winner: w },
                        None if ok => SelectorResult::Matched,
                        None => SelectorResult::ArgFiltersFailed,
                    };
                    if winner.is_none() && ok {
                        winner = Some(i);
                    }
                    if let Some(r) = report.as_deref_mut() {
                        r.return_selectors.push(SelectorReport {
                            index: i,
                            label: sel.selector.label.as_ref().map(|l| l.value.clone()),
                            filters: reps,
                            result,
                            would_match: ok,
                        });
                    }
                }
                decision.return_selector = winner;
                decision.return_ok = winner.is_some_and(|w| !plan.selectors[w].return_no_post);
            }
        }
        decision
    }

    fn rate_key(&self, at: HookRef, scope: RateLimitScope, event: &Event) -> RateKey {
        let process = event.process();
        let scope_id = match scope {
            RateLimitScope::Global => 0,
            RateLimitScope::Process => u64::from(process.and_then(|p| p.pid()).unwrap_or(0)),
            RateLimitScope::Thread => {
                u64::from(process.and_then(|p| p.tid().or(p.pid())).unwrap_or(0))
            }
        };
        // Tetragon keys on the first 40 bytes of each captured argument, as
        // its BPF side encodes them; tpc's kernel programs and this
        // simulator use the same encoding (`rate_key_bytes`).
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for arg in event.args() {
            rate_key_bytes(arg).hash(&mut hasher);
        }
        RateKey {
            policy: at.policy,
            hook: at.hook,
            scope: scope_id,
            arguments: hasher.finish(),
        }
    }

    fn evaluate(
        &mut self,
        at: HookRef,
        event: &Event,
        arch: Arch,
        position: u64,
        mut report: Option<&mut HookReport>,
    ) -> Verdict {
        let policy_plan = &self.plans[at.policy];
        let plan = &policy_plan.hooks[at.hook];
        let call = plan.calls.get(at.call).cloned();
        if let Some(r) = report.as_deref_mut() {
            r.hook = match (&call, event.hook()) {
                (Some(c), Some(tpc_events::Hook::Kprobe { function }))
                    if c.as_ref() != function =>
                {
                    format!("{} ({} → {function})", plan.locator, c)
                }
                _ => format!("{} ({})", plan.locator, plan.hook.display_name()),
            };
        }
        let decision = self.decide(plan, policy_plan.policy, event, arch, report.as_deref_mut());
        let winner: Option<&SelectorPlan<'p>> =
            decision.outcome.index().and_then(|i| plan.selectors.get(i));
        let empty: Arc<[super::verdict::FiredAction]> = Arc::from(Vec::new());
        let rule = policy_plan.policy.rsp.as_ref().and_then(|rsp| {
            let hook = policy_plan
                .policy
                .hooks
                .iter()
                .position(|h| std::ptr::eq(h, plan.hook))?;
            let rule = rsp.rule_of(hook, decision.outcome.index()?)?;
            Some(super::verdict::RuleRef {
                index: rule.index,
                kind: Arc::from(rule.kind.as_str()),
                action: Arc::from(rule.action.as_str()),
            })
        });
        let mut verdict = Verdict {
            rule,
            input_position: position,
            policy: policy_plan.name.clone(),
            policy_index: at.policy,
            hook: plan.locator.clone(),
            call,
            selector: decision.outcome,
            actions: winner.map_or(empty, |w| w.actions.clone()),
            action: None,
            return_selector: decision.return_selector,
            return_actions: decision
                .return_selector
                .and_then(|i| plan.selectors.get(i))
                .map_or_else(|| Arc::from(Vec::new()), |w| w.return_actions.clone()),
            return_action: None,
            posted: false,
            suppressed: None,
            output: None,
            recorded_disagreement: None,
        };
        let mut rate_commit: Option<(RateKey, i64)> = None;
        // A kill by another policy at this same event does not undo it.
        let killed_before = if self.options.follow_kills {
            event
                .process()
                .and_then(|p| self.killed.get(p.exec_id()))
                .filter(|(_, killed_at)| *killed_at < position)
                .cloned()
        } else {
            None
        };
        if let Some((policy, killed_at)) = killed_before {
            if let Some(r) = report.as_deref_mut() {
                r.notes.push(format!(
                    "the process was killed at event #{killed_at} by policy {policy}: this event would not have happened"
                ));
            }
            verdict.suppressed = Some(Suppression::ProcessKilled {
                policy,
                position: killed_at,
            });
        } else if let Some(why) = decision.out_of_scope {
            if let Some(r) = report.as_deref_mut() {
                r.out_of_scope = Some(why.clone());
            }
            verdict.suppressed = Some(Suppression::OutOfScope(why));
        } else if !decision.outcome.matched() {
            verdict.suppressed = Some(Suppression::NoSelectorMatched);
        } else {
            verdict.action = Some(winner.map_or(KprobeAction::Post, |w| w.event_action.clone()));
            if plan.returns {
                verdict.return_action = Some(
                    decision
                        .return_selector
                        .and_then(|i| plan.selectors.get(i))
                        .map_or(KprobeAction::Post, |w| w.return_event_action.clone()),
                );
            }
            let mut rate_limited = false;
            if let Some(limit) = winner.and_then(|w| w.rate_limit) {
                match event.time_unix_nanos() {
                    Some(now) => {
                        let key = self.rate_key(at, limit.scope, event);
                        let interval = i64::try_from(limit.interval_ns).unwrap_or(i64::MAX);
                        match self.rate_limits.get(&key) {
                            Some(last) if now.saturating_sub(*last) < interval => {
                                rate_limited = true;
                                if let Some(r) = report.as_deref_mut() {
                                    r.notes.push(format!(
                                        "rate limit: the same event was posted {} ms earlier (interval {} ms)",
                                        now.saturating_sub(*last) / 1_000_000,
                                        interval / 1_000_000
                                    ));
                                }
                            }
                            _ => rate_commit = Some((key, now)),
                        }
                    }
                    None => {
                        if let Some(r) = report.as_deref_mut() {
                            r.notes
                                .push("rate limit not applied: the event has no time".into());
                        }
                    }
                }
            }
            if winner.is_some_and(|w| w.no_post) {
                verdict.suppressed = Some(Suppression::NoPost);
            } else if rate_limited {
                verdict.suppressed = Some(Suppression::RateLimited);
            } else if !decision.return_ok {
                verdict.suppressed = Some(Suppression::ReturnSuppressed);
            } else {
                verdict.posted = true;
            }
            if self.options.follow_kills && winner.is_some_and(|w| w.kills) {
                if let Some(process) = event.process() {
                    self.killed.insert(
                        process.exec_id().to_string(),
                        (policy_plan.name.clone(), position),
                    );
                }
            }
            if policy_plan.monitor && verdict.actions.iter().any(|a| a.skipped_by_monitor_mode) {
                if let Some(r) = report {
                    r.notes.push("monitor mode (policy-mode: monitor): enforcement actions are named in the event but do not run".into());
                }
            }
        }
        // The recorded event, when it names this policy.
        if event.policy_name() == Some(policy_plan.name.as_ref()) {
            let recorded = event.action();
            let ours = if verdict.posted {
                verdict.action.clone()
            } else {
                None
            };
            let differs = match (&recorded, &ours) {
                (Some(r), Some(o)) => r != o,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if differs {
                verdict.recorded_disagreement = Some(format!(
                    "recorded {}, simulated {}",
                    recorded.as_ref().and_then(|a| a.name()).unwrap_or("posted"),
                    match &ours {
                        Some(a) => a.name().unwrap_or("posted").to_string(),
                        None => format!(
                            "not posted ({})",
                            verdict
                                .suppressed
                                .as_ref()
                                .map_or("dropped", |s| s.as_str())
                        ),
                    }
                ));
            }
        }
        if verdict.posted && self.options.build_output {
            verdict.output = Some(Box::new(self.output_event(
                plan,
                &policy_plan.name,
                &verdict,
                event,
            )));
        }
        self.commit(
            at,
            &verdict,
            winner.map(|w| w.selector),
            decision.marks,
            rate_commit,
            event,
        );
        verdict
    }

    /// Turns `event` into the event Tetragon would export for a posted
    /// verdict (sets `policy_name`, `action`, `return_action`, `message`,
    /// `tags`), in place: the cheap way when the input event is not needed
    /// afterwards (see [`SimOptions::build_output`]).
    pub fn apply_output(&self, verdict: &Verdict, event: &mut Event) {
        let Some(policy_plan) = self.plans.get(verdict.policy_index) else {
            return;
        };
        let Some(plan) = policy_plan.hooks.iter().find(|h| h.locator == verdict.hook) else {
            return;
        };
        Self::fill_output(plan, &policy_plan.name, verdict, event);
    }

    /// The event as Tetragon would export it for this policy.
    fn output_event(
        &self,
        plan: &HookPlan<'p>,
        policy: &str,
        verdict: &Verdict,
        event: &Event,
    ) -> Event {
        let mut out = event.clone();
        Self::fill_output(plan, policy, verdict, &mut out);
        out
    }

    fn fill_output(plan: &HookPlan<'p>, policy: &str, verdict: &Verdict, out: &mut Event) {
        let hook = plan.hook;
        let message = hook.message.as_ref().map(|m| m.value.clone());
        let tags: Option<Vec<String>> =
            (!hook.tags.is_empty()).then(|| hook.tags.iter().map(|t| t.value.clone()).collect());
        match &mut out.body {
            EventBody::ProcessKprobe(k) => {
                k.policy_name = Some(policy.to_string());
                k.action = verdict.action.clone();
                // Without a return probe the agent still fills the field:
                // its zero action id is Post (seen in events exported by
                // Tetragon 1.7).
                k.return_action = if plan.returns {
                    verdict.return_action.clone()
                } else {
                    Some(KprobeAction::Post)
                };
                k.message = message;
                k.tags = tags;
            }
            EventBody::ProcessTracepoint(t) => {
                t.policy_name = Some(policy.to_string());
                t.action = verdict.action.clone();
                t.message = message;
                t.tags = tags;
            }
            EventBody::ProcessLsm(l) => {
                l.policy_name = Some(policy.to_string());
                l.action = verdict.action.clone();
                l.message = message;
                l.tags = tags;
            }
            EventBody::ProcessUprobe(u) => {
                u.policy_name = Some(policy.to_string());
                u.action = verdict.action.clone();
                u.message = message;
                u.tags = tags;
            }
            EventBody::ProcessUsdt(u) => {
                u.policy_name = Some(policy.to_string());
                u.action = verdict.action.clone();
                u.message = message;
                u.tags = tags;
            }
            _ => {}
        }
    }

    fn commit(
        &mut self,
        at: HookRef,
        verdict: &Verdict,
        winner: Option<&crate::ir::Selector>,
        marks: Marks,
        rate: Option<(RateKey, i64)>,
        event: &Event,
    ) {
        let stats = &mut self.stats[at.policy][at.hook];
        stats.reached += 1;
        match &verdict.suppressed {
            Some(Suppression::OutOfScope(_)) => stats.out_of_scope += 1,
            Some(Suppression::NoSelectorMatched) => stats.no_match += 1,
            Some(Suppression::NoPost) => stats.no_post += 1,
            Some(Suppression::RateLimited) => stats.rate_limited += 1,
            Some(Suppression::ReturnSuppressed) => stats.return_suppressed += 1,
            Some(Suppression::ProcessKilled { .. }) => stats.after_kill += 1,
            None => {}
        }
        match verdict.selector {
            SelectorOutcome::Matched(i) => stats.selector_wins[i] += 1,
            SelectorOutcome::NoSelectors => {
                if let Some(last) = stats.selector_wins.last_mut() {
                    *last += 1;
                }
            }
            SelectorOutcome::NoneMatched => {}
        }
        if verdict.posted {
            stats.posted += 1;
            self.totals.posted += 1;
        }
        if verdict.recorded_disagreement.is_some() {
            stats.disagreements += 1;
        }
        if let Some((key, now)) = rate {
            self.rate_limits.insert(key, now);
        }
        if verdict.posted && (marks.namespaces || marks.capabilities) {
            if let Some(process) = event.process() {
                self.tree.record_current(process);
            }
        }
        let actions_ran = verdict.selector.matched()
            && !matches!(verdict.suppressed, Some(Suppression::OutOfScope(_)));
        if let (Some(selector), true) = (winner, actions_ran) {
            let plan = &self.plans[at.policy].hooks[at.hook];
            for action in &selector.match_actions {
                let (track, sock_arg) = match &action.kind {
                    ActionKind::TrackSock { sock_arg } => (true, sock_arg),
                    ActionKind::UntrackSock { sock_arg } => (false, sock_arg),
                    _ => continue,
                };
                let position = sock_arg
                    .as_ref()
                    .map_or(0, |s| usize::try_from(s.value).unwrap_or(usize::MAX));
                let cookie =
                    super::args::event_arg(plan.hook, event, crate::ir::ArgRef::Arg(position))
                        .and_then(|a| match &a.value {
                            ArgValue::Sock(s) => s.cookie.map(|c| c.get()),
                            _ => None,
                        });
                if let Some(cookie) = cookie {
                    if track {
                        let owner = event
                            .process()
                            .and_then(process::process_key)
                            .unwrap_or_default();
                        self.tracked_sockets.insert(cookie, owner);
                    } else {
                        self.tracked_sockets.remove(&cookie);
                    }
                }
            }
        }
    }
}

/// Bytes of an argument in a rate-limit key: its first 40 bytes as tpc's
/// kernel programs encode them (`bpf-programs/hook_engine.h`,
/// `tpc_rate_arg`): integers as 4 (`int_arg`, `uint_arg`) or 8 (`long_arg`,
/// `size_arg`, `syscall_id`) little-endian bytes; strings and buffers as a
/// u32 length, then their bytes; socket addresses as family, port and
/// address. Other kinds (not produced by tracepoints) use their JSON form.
pub fn rate_key_bytes(arg: &tpc_events::KprobeArgument) -> [u8; 40] {
    let mut out = [0u8; 40];
    let mut put = |at: usize, bytes: &[u8]| {
        let end = (at + bytes.len()).min(40);
        if at < end {
            out[at..end].copy_from_slice(&bytes[..end - at]);
        }
    };
    let text_like = |bytes: &[u8], put: &mut dyn FnMut(usize, &[u8])| {
        put(
            0,
            &u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes(),
        );
        put(4, bytes);
    };
    match &arg.value {
        ArgValue::Int(v) => put(0, &v.get().to_le_bytes()),
        ArgValue::Uint(v) => put(0, &v.get().to_le_bytes()),
        ArgValue::Long(v) => put(0, &v.get().to_le_bytes()),
        ArgValue::Size(v) => put(0, &v.get().to_le_bytes()),
        ArgValue::SyscallId(id) => {
            let number = u64::from(id.id.map_or(0, |v| v.get()));
            let compat = id
                .abi
                .as_deref()
                .and_then(Abi::from_name)
                .is_some_and(Abi::is_compat);
            let raw = if compat {
                number | super::syscalls::COMPAT_BIT
            } else {
                number
            };
            put(0, &raw.to_le_bytes());
        }
        ArgValue::String(text) => text_like(text.as_bytes(), &mut put),
        ArgValue::Bytes(b) => text_like(&b.decode(), &mut put),
        ArgValue::TruncatedBytes(t) => {
            let bytes = t.bytes_arg.as_ref().map(|b| b.decode()).unwrap_or_default();
            text_like(&bytes, &mut put);
        }
        ArgValue::Sockaddr(a) => {
            let family = a
                .family
                .as_deref()
                .and_then(|f| {
                    crate::ir::names::lookup(crate::ir::names::FAMILIES, f)
                        .or_else(|| f.parse().ok())
                })
                .unwrap_or(0u16);
            put(0, &family.to_le_bytes());
            let port = a.port.map_or(0, |p| u16::try_from(p.get()).unwrap_or(0));
            put(2, &port.to_le_bytes());
            match a
                .addr
                .as_deref()
                .and_then(|s| s.parse::<std::net::IpAddr>().ok())
            {
                Some(std::net::IpAddr::V4(v4)) => put(4, &v4.octets()),
                Some(std::net::IpAddr::V6(v6)) => put(4, &v6.octets()),
                None => {}
            }
        }
        _ => {
            let text = serde_json::to_string(arg).unwrap_or_default();
            put(0, text.as_bytes());
        }
    }
    out
}

fn describe_caps(f: &crate::ir::CapabilityFilter) -> String {
    let mut d = filters::list(
        &format!("{} {}", f.set.as_str(), f.operator.value.as_str()),
        f.values
            .iter()
            .map(|v| crate::ir::names::capability_name(v.value).unwrap_or("?")),
    );
    if f.is_namespace_capability {
        d.push_str(" isNamespaceCapability");
    }
    d
}

fn describe_hook(hook: &tpc_events::Hook<'_>) -> String {
    match hook {
        tpc_events::Hook::Kprobe { function } => format!("kprobe {function}"),
        tpc_events::Hook::Tracepoint { subsys, event } => format!("tracepoint {subsys}/{event}"),
        tpc_events::Hook::Lsm { hook } => format!("LSM hook {hook}"),
        tpc_events::Hook::Uprobe { path, symbol, .. } => format!("uprobe {path}:{symbol}"),
        tpc_events::Hook::Usdt {
            path,
            provider,
            name,
        } => format!("USDT {path} {provider}:{name}"),
    }
}

/// `process_kprobe __x64_sys_write by /usr/bin/vi (pid 36318)`.
pub fn headline(event: &Event) -> String {
    let what = match event.hook() {
        Some(h) => describe_hook(&h),
        None => event.kind_key().to_string(),
    };
    match event.process() {
        Some(p) => format!(
            "{what} by {} (pid {})",
            if p.binary().is_empty() {
                "?"
            } else {
                p.binary()
            },
            p.pid().map_or_else(|| "?".into(), |n| n.to_string())
        ),
        None => what,
    }
}

fn placeholder_verdict() -> Verdict {
    Verdict {
        input_position: 0,
        policy: Arc::from(""),
        policy_index: 0,
        hook: Arc::from(""),
        call: None,
        selector: SelectorOutcome::NoneMatched,
        actions: Arc::from(Vec::new()),
        action: None,
        return_selector: None,
        return_actions: Arc::from(Vec::new()),
        return_action: None,
        posted: false,
        suppressed: None,
        output: None,
        recorded_disagreement: None,
        rule: None,
    }
}
