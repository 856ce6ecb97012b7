//! What the simulator decides for one event and one policy hook: the
//! winning selector, the actions that fire, whether the event is posted and
//! the event Tetragon would export.

use std::sync::Arc;
use tpc_events::{Event, KprobeAction};

/// One action of the winning selector, as it would run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiredAction {
    /// The CRD name (`Post`, `Sigkill`, `Override`, ...).
    pub name: String,
    /// Its arguments, when it has any: `error=-1`, `signal=9 (SIGKILL)`,
    /// `rateLimit=60s scope=thread`.
    pub detail: Option<String>,
    /// Monitor mode skips enforcement actions (`Sigkill`, `Signal`,
    /// `Override`, `NotifyEnforcer`): they are named in the event but do not run.
    pub skipped_by_monitor_mode: bool,
}

impl FiredAction {
    /// `Override(error=-1)`, `Post`, `Sigkill[monitor]`.
    pub fn display(&self) -> String {
        let mut s = self.name.clone();
        if let Some(d) = &self.detail {
            s.push('(');
            s.push_str(d);
            s.push(')');
        }
        if self.skipped_by_monitor_mode {
            s.push_str("[monitor]");
        }
        s
    }
}

/// Which selector decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOutcome {
    /// The hook has no selectors: every event is posted.
    NoSelectors,
    /// This selector (index in the hook's `selectors`) matched first.
    Matched(usize),
    /// No selector matched: the event is dropped.
    NoneMatched,
}

impl SelectorOutcome {
    pub fn index(self) -> Option<usize> {
        match self {
            SelectorOutcome::Matched(i) => Some(i),
            _ => None,
        }
    }

    /// Whether the selectors let the event through to the actions.
    pub fn matched(self) -> bool {
        !matches!(self, SelectorOutcome::NoneMatched)
    }
}

/// Why an event that reached a hook was not posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Suppression {
    /// The policy does not apply to the process (namespaced policy, pod,
    /// container or host selector): the hook never runs for it.
    OutOfScope(String),
    /// No selector matched.
    NoSelectorMatched,
    /// The winning selector's actions include `NoPost`.
    NoPost,
    /// `Post` with `rateLimit` posted the same event less than the interval ago.
    RateLimited,
    /// No return selector matched, or its actions include `NoPost`.
    ReturnSuppressed,
    /// With `follow_kills`: an earlier event's `Sigkill` (or `Signal` 9)
    /// ended the process, so this event would not have happened.
    ProcessKilled { policy: Arc<str>, position: u64 },
}

impl Suppression {
    pub fn as_str(&self) -> &str {
        match self {
            Suppression::OutOfScope(_) => "out of scope",
            Suppression::NoSelectorMatched => "no selector matched",
            Suppression::NoPost => "NoPost",
            Suppression::RateLimited => "rate limited",
            Suppression::ReturnSuppressed => "return probe suppressed",
            Suppression::ProcessKilled { .. } => "process killed earlier",
        }
    }
}

/// The decision for one event on one policy hook.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// 1-based position of the event among the values of the input.
    pub input_position: u64,
    /// The policy's `metadata.name`.
    pub policy: Arc<str>,
    /// Position of the policy in the simulator's list.
    pub policy_index: usize,
    /// `kprobes[0]`, `tracepoints[1]`, ...
    pub hook: Arc<str>,
    /// The call of a kprobe that matched, as the policy writes it (lists
    /// expand to several calls).
    pub call: Option<Arc<str>>,
    pub selector: SelectorOutcome,
    /// The winning selector's actions, in order.
    pub actions: Arc<[FiredAction]>,
    /// The event's `action` field: the last action of the winning selector,
    /// `KPROBE_ACTION_POST` without actions.
    pub action: Option<KprobeAction>,
    /// The return selector that matched (hooks with `return: true`).
    pub return_selector: Option<usize>,
    /// The winning return selector's `matchReturnActions`.
    pub return_actions: Arc<[FiredAction]>,
    /// The event's `return_action`.
    pub return_action: Option<KprobeAction>,
    pub posted: bool,
    pub suppressed: Option<Suppression>,
    /// The event Tetragon would export (when posted).
    pub output: Option<Box<Event>>,
    /// What the event itself recorded, when it names this policy and
    /// disagrees: `(recorded action, our action)`.
    pub recorded_disagreement: Option<String>,
    /// For a RuntimeSecurityPolicy: the rule whose selector decided.
    pub rule: Option<RuleRef>,
}

/// The RuntimeSecurityPolicy rule behind a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    /// Position in `spec.rules`.
    pub index: usize,
    /// `Execution`, `File` or `Network`.
    pub kind: Arc<str>,
    /// `Audit` or `Block`.
    pub action: Arc<str>,
}

impl RuleRef {
    /// `rules[1] File Block`.
    pub fn display(&self) -> String {
        format!("rules[{}] {} {}", self.index, self.kind, self.action)
    }
}

impl Verdict {
    /// The action names, for tests and compact output.
    pub fn action_names(&self) -> Vec<String> {
        self.actions.iter().map(FiredAction::display).collect()
    }

    /// The verdict as a JSON object (without the event position fields).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("policy".into(), self.policy.as_ref().into());
        map.insert("hook".into(), self.hook.as_ref().into());
        if let Some(call) = &self.call {
            map.insert("call".into(), call.as_ref().into());
        }
        map.insert(
            "selector".into(),
            self.selector
                .index()
                .map_or(serde_json::Value::Null, |i| i.into()),
        );
        map.insert("matched".into(), self.selector.matched().into());
        if let Some(rule) = &self.rule {
            map.insert(
                "rule".into(),
                serde_json::json!({"index": rule.index, "type": rule.kind.as_ref(), "action": rule.action.as_ref()}),
            );
        }
        map.insert(
            "actions".into(),
            self.actions
                .iter()
                .map(|a| serde_json::Value::from(a.display()))
                .collect(),
        );
        if let Some(action) = self.action.as_ref().and_then(KprobeAction::name) {
            map.insert("action".into(), action.into());
        }
        if let Some(r) = self.return_selector {
            map.insert("return_selector".into(), r.into());
        }
        if !self.return_actions.is_empty() {
            map.insert(
                "return_actions".into(),
                self.return_actions
                    .iter()
                    .map(|a| serde_json::Value::from(a.display()))
                    .collect(),
            );
        }
        if let Some(action) = self.return_action.as_ref().and_then(KprobeAction::name) {
            map.insert("return_action".into(), action.into());
        }
        map.insert("posted".into(), self.posted.into());
        if let Some(s) = &self.suppressed {
            map.insert("suppressed".into(), s.as_str().into());
            if let Suppression::ProcessKilled { policy, position } = s {
                map.insert(
                    "killed_by".into(),
                    serde_json::json!({"policy": policy.as_ref(), "position": position}),
                );
            }
            if let Suppression::OutOfScope(why) = s {
                map.insert("scope".into(), why.as_str().into());
            }
        }
        if let Some(d) = &self.recorded_disagreement {
            map.insert("recorded".into(), d.as_str().into());
        }
        serde_json::Value::Object(map)
    }
}
