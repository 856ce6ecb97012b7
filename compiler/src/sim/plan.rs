//! Policies prepared for evaluation: filter values converted once, the
//! actions each selector would fire and the `action` its events carry.

use std::sync::Arc;

use tpc_events::KprobeAction;

use crate::ir::{
    Action, ActionKind, Hook, HookTarget, Operator, Policy, RateLimit, RateLimitScope, Selector,
};

use super::operators::ArgFilterPlan;
use super::verdict::FiredAction;

/// A policy ready for evaluation.
#[derive(Debug)]
pub struct PolicyPlan<'p> {
    pub policy: &'p Policy,
    pub name: Arc<str>,
    /// `options: [{name: policy-mode, value: monitor}]`.
    pub monitor: bool,
    pub hooks: Vec<HookPlan<'p>>,
}

/// A hook ready for evaluation.
#[derive(Debug)]
pub struct HookPlan<'p> {
    pub hook: &'p Hook,
    /// `kprobes[0]`.
    pub locator: Arc<str>,
    /// The calls of a kprobe, as written (one per `list:` member).
    pub calls: Vec<Arc<str>>,
    pub selectors: Vec<SelectorPlan<'p>>,
    /// Whether the hook evaluates return selectors (`return: true`).
    pub returns: bool,
    /// Whether any selector uses process filters that need the tree.
    pub needs_tree: bool,
}

/// Where an argument filter comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(clippy::enum_variant_names, reason = "named after the policy's keys")]
pub enum ArgSection {
    MatchArgs,
    MatchData,
    MatchReturnArgs,
}

impl ArgSection {
    pub fn as_str(self) -> &'static str {
        match self {
            ArgSection::MatchArgs => "matchArgs",
            ArgSection::MatchData => "matchData",
            ArgSection::MatchReturnArgs => "matchReturnArgs",
        }
    }
}

/// A selector ready for evaluation.
#[derive(Debug)]
pub struct SelectorPlan<'p> {
    pub selector: &'p Selector,
    /// `matchArgs` then `matchData`, in order, with their section and
    /// position.
    pub arg_filters: Vec<(ArgSection, usize, ArgFilterPlan<'p>)>,
    /// For each argument filter: is it, or a filter after it, `CapabilitiesGained`
    /// (whose result replaces the ones before, so evaluation cannot stop early).
    pub replaced_later: Vec<bool>,
    pub return_filters: Vec<(ArgSection, usize, ArgFilterPlan<'p>)>,
    pub actions: Arc<[FiredAction]>,
    pub return_actions: Arc<[FiredAction]>,
    /// The event `action`: the last action (`Post` without actions).
    pub event_action: KprobeAction,
    pub return_event_action: KprobeAction,
    pub no_post: bool,
    pub return_no_post: bool,
    /// The actions end the process (`Sigkill`, or `Signal` with SIGKILL),
    /// outside monitor mode.
    pub kills: bool,
    pub rate_limit: Option<&'p RateLimit>,
    /// Any process filter at all (else the process context is not needed).
    pub has_process_filters: bool,
}

/// The `action` value of an action.
pub fn event_action(kind: &ActionKind) -> KprobeAction {
    match kind {
        ActionKind::Post { .. } => KprobeAction::Post,
        ActionKind::NoPost => KprobeAction::NoPost,
        ActionKind::Sigkill => KprobeAction::Sigkill,
        ActionKind::Signal { .. } => KprobeAction::Signal,
        ActionKind::Override { .. } => KprobeAction::Override,
        ActionKind::GetUrl { .. } => KprobeAction::GetUrl,
        ActionKind::DnsLookup { .. } => KprobeAction::DnsLookup,
        ActionKind::TrackSock { .. } => KprobeAction::TrackSock,
        ActionKind::UntrackSock { .. } => KprobeAction::UntrackSock,
        ActionKind::NotifyEnforcer { .. } => KprobeAction::NotifyEnforcer,
        ActionKind::CleanupEnforcerNotification => KprobeAction::CleanupEnforcerNotification,
        ActionKind::Set { .. } => KprobeAction::Set,
        ActionKind::Legacy { name } => match name.to_ascii_lowercase().as_str() {
            "followfd" => KprobeAction::FollowFd,
            "unfollowfd" => KprobeAction::UnfollowFd,
            "copyfd" => KprobeAction::CopyFd,
            other => KprobeAction::Other(format!("KPROBE_ACTION_{}", other.to_ascii_uppercase())),
        },
    }
}

fn is_enforcement(kind: &ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Sigkill
            | ActionKind::Signal { .. }
            | ActionKind::Override { .. }
            | ActionKind::NotifyEnforcer { .. }
    )
}

fn signal_text(signal: i32) -> String {
    match crate::ir::names::SIGNALS.iter().find(|(_, n)| *n == signal) {
        Some((name, _)) => format!("signal={signal} ({name})"),
        None => format!("signal={signal}"),
    }
}

fn seconds(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    if s.is_multiple_of(3600) && s > 0 {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// An action as it would fire.
pub fn fired(action: &Action, monitor: bool) -> FiredAction {
    let kind = &action.kind;
    let detail = match kind {
        ActionKind::Post {
            rate_limit,
            kernel_stack_trace,
            user_stack_trace,
            ima_hash,
        } => {
            let mut parts = Vec::new();
            if let Some(r) = rate_limit {
                let scope = match r.scope {
                    RateLimitScope::Thread => "thread",
                    RateLimitScope::Process => "process",
                    RateLimitScope::Global => "global",
                };
                parts.push(format!(
                    "rateLimit={} scope={scope}",
                    seconds(r.interval_ns)
                ));
            }
            if *kernel_stack_trace {
                parts.push("kernelStackTrace".into());
            }
            if *user_stack_trace {
                parts.push("userStackTrace".into());
            }
            if *ima_hash {
                parts.push("imaHash".into());
            }
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        ActionKind::Signal { signal } => Some(signal_text(signal.as_ref().map_or(0, |s| s.value))),
        ActionKind::Override {
            error,
            regs,
            new_symbol,
            new_addr,
            new_offset,
        } => {
            let mut parts = Vec::new();
            if let Some(e) = error {
                parts.push(format!("error={}", e.value));
            }
            if !regs.is_empty() {
                parts.push(format!(
                    "regs=[{}]",
                    regs.iter()
                        .map(|r| r.value.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if let Some(s) = new_symbol {
                parts.push(format!("newSymbol={}", s.value));
            }
            if let Some(a) = new_addr {
                parts.push(format!("newAddr={:#x}", a.value));
            }
            if let Some(o) = new_offset {
                parts.push(format!("newOffset={:#x}", o.value));
            }
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        ActionKind::GetUrl { url } => url.as_ref().map(|u| format!("url={}", u.value)),
        ActionKind::DnsLookup { fqdn } => fqdn.as_ref().map(|f| format!("fqdn={}", f.value)),
        ActionKind::TrackSock { sock_arg } | ActionKind::UntrackSock { sock_arg } => {
            sock_arg.as_ref().map(|s| format!("argSock={}", s.value))
        }
        ActionKind::NotifyEnforcer { error, signal } => {
            let mut parts = Vec::new();
            if let Some(e) = error {
                parts.push(format!("error={}", e.value));
            }
            if let Some(s) = signal {
                parts.push(signal_text(s.value));
            }
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        ActionKind::Set { arg_index, value } => Some(format!(
            "argIndex={} argValue={}",
            arg_index.as_ref().map_or(0, |a| a.value),
            value.as_ref().map_or(0, |v| v.value)
        )),
        ActionKind::NoPost
        | ActionKind::Sigkill
        | ActionKind::CleanupEnforcerNotification
        | ActionKind::Legacy { .. } => None,
    };
    FiredAction {
        name: kind.name().to_string(),
        detail,
        skipped_by_monitor_mode: monitor && is_enforcement(kind),
    }
}

fn arg_plans<'p>(
    hook: &'p Hook,
    sections: &[(ArgSection, &'p [crate::ir::ArgFilter])],
) -> Vec<(ArgSection, usize, ArgFilterPlan<'p>)> {
    let mut out = Vec::new();
    for (section, filters) in sections {
        for (i, f) in filters.iter().enumerate() {
            out.push((*section, i, ArgFilterPlan::new(hook, f)));
        }
    }
    out
}

impl<'p> SelectorPlan<'p> {
    fn new(hook: &'p Hook, selector: &'p Selector, monitor: bool) -> Self {
        let arg_filters = arg_plans(
            hook,
            &[
                (ArgSection::MatchArgs, &selector.match_args),
                (ArgSection::MatchData, &selector.match_data),
            ],
        );
        let replaced_later = (0..arg_filters.len())
            .map(|i| {
                arg_filters[i..]
                    .iter()
                    .any(|(_, _, f)| f.operator() == Operator::CapabilitiesGained)
            })
            .collect();
        let return_filters = arg_plans(
            hook,
            &[(ArgSection::MatchReturnArgs, &selector.match_return_args)],
        );
        let last = |actions: &[Action]| {
            actions
                .last()
                .map_or(KprobeAction::Post, |a| event_action(&a.kind))
        };
        let rate_limit = selector.match_actions.iter().find_map(|a| match &a.kind {
            ActionKind::Post { rate_limit, .. } => rate_limit.as_ref(),
            _ => None,
        });
        SelectorPlan {
            selector,
            arg_filters,
            replaced_later,
            return_filters,
            actions: selector
                .match_actions
                .iter()
                .map(|a| fired(a, monitor))
                .collect(),
            return_actions: selector
                .match_return_actions
                .iter()
                .map(|a| fired(a, monitor))
                .collect(),
            event_action: last(&selector.match_actions),
            return_event_action: last(&selector.match_return_actions),
            no_post: selector
                .match_actions
                .iter()
                .any(|a| a.kind == ActionKind::NoPost),
            return_no_post: selector
                .match_return_actions
                .iter()
                .any(|a| a.kind == ActionKind::NoPost),
            kills: !monitor
                && selector.match_actions.iter().any(|a| match &a.kind {
                    ActionKind::Sigkill => true,
                    ActionKind::Signal { signal } => signal.as_ref().is_some_and(|s| s.value == 9),
                    _ => false,
                }),
            rate_limit,
            has_process_filters: !(selector.match_binaries.is_empty()
                && selector.match_parent_binaries.is_empty()
                && selector.match_pids.is_empty()
                && selector.match_namespaces.is_empty()
                && selector.match_capabilities.is_empty()
                && selector.match_namespace_changes.is_empty()
                && selector.match_capability_changes.is_empty()
                && selector.match_workloads.is_none()),
        }
    }

    /// Whether the process tree must be kept for this selector.
    fn needs_tree(&self) -> bool {
        let s = self.selector;
        s.match_pids.first().is_some_and(|p| p.follow_forks)
            || s.match_binaries.iter().any(|b| b.follow_children)
            || s.match_parent_binaries.iter().any(|b| b.follow_children)
            || !s.match_namespace_changes.is_empty()
            || !s.match_capability_changes.is_empty()
    }
}

impl<'p> PolicyPlan<'p> {
    pub fn new(policy: &'p Policy) -> Self {
        let monitor = policy.options.iter().any(|o| {
            o.name.value == "policy-mode"
                && o.value
                    .as_ref()
                    .is_some_and(|v| v.value.eq_ignore_ascii_case("monitor"))
        });
        let hooks = policy
            .hooks
            .iter()
            .map(|hook| {
                let selectors: Vec<SelectorPlan<'p>> = hook
                    .selectors
                    .iter()
                    .map(|s| SelectorPlan::new(hook, s, monitor))
                    .collect();
                let calls = match &hook.target {
                    HookTarget::Kprobe { calls, .. } => {
                        calls.iter().map(|c| Arc::from(c.name.as_str())).collect()
                    }
                    _ => Vec::new(),
                };
                HookPlan {
                    hook,
                    locator: Arc::from(hook.locator().as_str()),
                    calls,
                    needs_tree: selectors.iter().any(SelectorPlan::needs_tree),
                    selectors,
                    returns: hook.collects_return(),
                }
            })
            .collect();
        PolicyPlan {
            policy,
            name: Arc::from(policy.name.value.as_str()),
            monitor,
            hooks,
        }
    }
}
