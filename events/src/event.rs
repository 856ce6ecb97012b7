//! `Event`: one exported Tetragon event (the top-level object with exactly one
//! event kind key plus `node_name`, `time`, ...), its accessors for the
//! simulator, its construction API for the runtime, and its (de)serialisation.

use std::fmt;
use std::io;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::KprobeArgument;
use crate::enums::KprobeAction;
use crate::error::EventError;
use crate::kinds::{
    AggregationInfo, ProcessExec, ProcessExit, ProcessKprobe, ProcessLoader, ProcessLsm,
    ProcessThrottle, ProcessTracepoint, ProcessUprobe, ProcessUsdt, RateLimitInfo,
};
use crate::process::Process;
use crate::value::{
    JsonInt, JsonStr, OptionInto, ReadIntoSeed, StringMap, Timestamp, UnknownFields,
};

/// One Tetragon event, as `tetra getevents -o json` or the JSON export file
/// writes it: `{"process_exec": {...}, "node_name": "...", "time": "..."}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event kind and its payload (the one kind key of the object).
    pub body: EventBody,
    /// `node_name`: the node where the event was observed.
    pub node_name: Option<String>,
    /// `time`: when the event was observed.
    pub time: Option<Timestamp>,
    /// `aggregation_info`, for aggregated events.
    pub aggregation_info: Option<AggregationInfo>,
    /// `cluster_name`.
    pub cluster_name: Option<String>,
    /// `node_labels`.
    pub node_labels: Option<StringMap>,
    /// Top-level keys this crate does not know, kept verbatim.
    pub unknown_fields: UnknownFields,
}

/// The kind of an event with its payload (boxed, so that events stay small
/// to move; `Event::new(payload)` boxes for you).
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    ProcessExec(Box<ProcessExec>),
    ProcessExit(Box<ProcessExit>),
    ProcessKprobe(Box<ProcessKprobe>),
    ProcessTracepoint(Box<ProcessTracepoint>),
    ProcessUprobe(Box<ProcessUprobe>),
    ProcessLsm(Box<ProcessLsm>),
    ProcessUsdt(Box<ProcessUsdt>),
    ProcessLoader(Box<ProcessLoader>),
    ProcessThrottle(Box<ProcessThrottle>),
    RateLimitInfo(Box<RateLimitInfo>),
    /// A kind this crate does not type: those older Tetragon versions
    /// exported (`process_connect`, `process_close`, `process_listen`, ...)
    /// and any unknown one. Kept verbatim; no hook matches it.
    Other {
        kind: String,
        payload: Value,
    },
}

/// The kind of an event, without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    ProcessExec,
    ProcessExit,
    ProcessKprobe,
    ProcessTracepoint,
    ProcessUprobe,
    ProcessLsm,
    ProcessUsdt,
    ProcessLoader,
    ProcessThrottle,
    RateLimitInfo,
    /// See [`EventBody::Other`].
    Other,
}

/// Kind keys of event kinds this crate keeps as [`EventBody::Other`] but
/// still recognises as kinds: older Tetragon's network and DNS events and
/// the gRPC `test` event.
pub const UNTYPED_KIND_KEYS: &[&str] = &[
    "process_connect",
    "process_close",
    "process_listen",
    "process_accept",
    "process_sock",
    "process_dns",
    "test",
];

impl EventKind {
    /// Every typed kind.
    pub const TYPED: &'static [EventKind] = &[
        EventKind::ProcessExec,
        EventKind::ProcessExit,
        EventKind::ProcessKprobe,
        EventKind::ProcessTracepoint,
        EventKind::ProcessUprobe,
        EventKind::ProcessLsm,
        EventKind::ProcessUsdt,
        EventKind::ProcessLoader,
        EventKind::ProcessThrottle,
        EventKind::RateLimitInfo,
    ];

    /// The JSON key (`None` for `Other`, whose key is in the event).
    pub fn key(self) -> Option<&'static str> {
        Some(match self {
            EventKind::ProcessExec => "process_exec",
            EventKind::ProcessExit => "process_exit",
            EventKind::ProcessKprobe => "process_kprobe",
            EventKind::ProcessTracepoint => "process_tracepoint",
            EventKind::ProcessUprobe => "process_uprobe",
            EventKind::ProcessLsm => "process_lsm",
            EventKind::ProcessUsdt => "process_usdt",
            EventKind::ProcessLoader => "process_loader",
            EventKind::ProcessThrottle => "process_throttle",
            EventKind::RateLimitInfo => "rate_limit_info",
            EventKind::Other => return None,
        })
    }

    /// The typed kind for a JSON key.
    pub fn from_key(key: &str) -> Option<EventKind> {
        Some(match key {
            "process_exec" => EventKind::ProcessExec,
            "process_exit" => EventKind::ProcessExit,
            "process_kprobe" => EventKind::ProcessKprobe,
            "process_tracepoint" => EventKind::ProcessTracepoint,
            "process_uprobe" => EventKind::ProcessUprobe,
            "process_lsm" => EventKind::ProcessLsm,
            "process_usdt" => EventKind::ProcessUsdt,
            "process_loader" => EventKind::ProcessLoader,
            "process_throttle" => EventKind::ProcessThrottle,
            "rate_limit_info" => EventKind::RateLimitInfo,
            _ => return None,
        })
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.key().unwrap_or("other"))
    }
}

/// What a hook event was produced by: the identity a policy's hook matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook<'a> {
    /// `process_kprobe`: the kernel function (`function_name`).
    Kprobe { function: &'a str },
    /// `process_tracepoint`: `subsys` and `event`.
    Tracepoint { subsys: &'a str, event: &'a str },
    /// `process_lsm`: the LSM hook name (`function_name`).
    Lsm { hook: &'a str },
    /// `process_uprobe`: binary `path` and `symbol` (or `offset`).
    Uprobe {
        path: &'a str,
        symbol: &'a str,
        offset: Option<u64>,
    },
    /// `process_usdt`: binary `path`, `provider` and probe `name`.
    Usdt {
        path: &'a str,
        provider: &'a str,
        name: &'a str,
    },
}

macro_rules! body_from_payload {
    ($($variant:ident),*) => {$(
        impl From<$variant> for EventBody {
            fn from(payload: $variant) -> Self {
                EventBody::$variant(Box::new(payload))
            }
        }
    )*};
}

body_from_payload!(
    ProcessExec,
    ProcessExit,
    ProcessKprobe,
    ProcessTracepoint,
    ProcessUprobe,
    ProcessLsm,
    ProcessUsdt,
    ProcessLoader,
    ProcessThrottle,
    RateLimitInfo
);

impl EventBody {
    /// The kind.
    pub fn kind(&self) -> EventKind {
        match self {
            EventBody::ProcessExec(_) => EventKind::ProcessExec,
            EventBody::ProcessExit(_) => EventKind::ProcessExit,
            EventBody::ProcessKprobe(_) => EventKind::ProcessKprobe,
            EventBody::ProcessTracepoint(_) => EventKind::ProcessTracepoint,
            EventBody::ProcessUprobe(_) => EventKind::ProcessUprobe,
            EventBody::ProcessLsm(_) => EventKind::ProcessLsm,
            EventBody::ProcessUsdt(_) => EventKind::ProcessUsdt,
            EventBody::ProcessLoader(_) => EventKind::ProcessLoader,
            EventBody::ProcessThrottle(_) => EventKind::ProcessThrottle,
            EventBody::RateLimitInfo(_) => EventKind::RateLimitInfo,
            EventBody::Other { .. } => EventKind::Other,
        }
    }

    /// The JSON key of the kind, such as `process_kprobe`.
    pub fn kind_key(&self) -> &str {
        match self {
            EventBody::Other { kind, .. } => kind,
            typed => typed.kind().key().unwrap_or_default(),
        }
    }
}

impl Event {
    /// An event with only a body; set the rest with the `with_` methods or
    /// the public fields.
    pub fn new(body: impl Into<EventBody>) -> Self {
        Self {
            body: body.into(),
            node_name: None,
            time: None,
            aggregation_info: None,
            cluster_name: None,
            node_labels: None,
            unknown_fields: UnknownFields::new(),
        }
    }

    /// A `process_exec` event.
    pub fn process_exec(process: Process, parent: Option<Process>, time: Timestamp) -> Self {
        let payload = ProcessExec {
            process: Some(process),
            parent,
            ..ProcessExec::default()
        };
        Self::new(payload).with_time(time)
    }

    /// A `process_exit` event. `signal` is the name of the signal that ended
    /// the process (`SIGKILL`), if one did.
    pub fn process_exit(
        process: Process,
        parent: Option<Process>,
        status: u32,
        signal: Option<String>,
        time: Timestamp,
    ) -> Self {
        let payload = ProcessExit {
            process: Some(process),
            parent,
            signal,
            status: Some(JsonInt::new(status)),
            ..ProcessExit::default()
        };
        Self::new(payload).with_time(time)
    }

    /// A `process_tracepoint` event (`subsys`/`event` such as
    /// `syscalls`/`sys_enter_openat`).
    pub fn process_tracepoint(
        process: Process,
        parent: Option<Process>,
        subsys: impl Into<String>,
        event: impl Into<String>,
        args: Vec<KprobeArgument>,
        time: Timestamp,
    ) -> Self {
        let payload = ProcessTracepoint {
            process: Some(process),
            parent,
            subsys: Some(subsys.into()),
            event: Some(event.into()),
            args: Some(args),
            ..ProcessTracepoint::default()
        };
        Self::new(payload).with_time(time)
    }

    /// A `process_kprobe` event for a kernel function.
    pub fn process_kprobe(
        process: Process,
        parent: Option<Process>,
        function_name: impl Into<String>,
        args: Vec<KprobeArgument>,
        time: Timestamp,
    ) -> Self {
        let payload = ProcessKprobe {
            process: Some(process),
            parent,
            function_name: Some(function_name.into()),
            args: Some(args),
            ..ProcessKprobe::default()
        };
        Self::new(payload).with_time(time)
    }

    /// A `process_uprobe` event for a symbol of a binary or library.
    pub fn process_uprobe(
        process: Process,
        parent: Option<Process>,
        path: impl Into<String>,
        symbol: impl Into<String>,
        args: Vec<KprobeArgument>,
        time: Timestamp,
    ) -> Self {
        let payload = ProcessUprobe {
            process: Some(process),
            parent,
            path: Some(path.into()),
            symbol: Some(symbol.into()),
            args: Some(args),
            ..ProcessUprobe::default()
        };
        Self::new(payload).with_time(time)
    }

    /// The same event with `time` set.
    pub fn with_time(mut self, time: Timestamp) -> Self {
        self.time = Some(time);
        self
    }

    /// The same event with `node_name` set.
    pub fn with_node_name(mut self, node_name: impl Into<String>) -> Self {
        self.node_name = Some(node_name.into());
        self
    }

    /// Parses one event from JSON text (pretty or compact). Errors carry the
    /// line and column in `text`.
    pub fn from_json(text: &str) -> Result<Self, EventError> {
        Self::from_json_slice(text.as_bytes())
    }

    /// Parses one event from JSON bytes (UTF-8).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, EventError> {
        match parse_top_level(bytes) {
            Ok(TopLevelValue(Ok(event))) => Ok(event),
            Ok(TopLevelValue(Err(not_an_event))) => {
                Err(not_an_event.into_error(first_line_of_value(bytes)))
            }
            Err(error) => Err(EventError::from_json(error)),
        }
    }

    /// Writes the event as compact JSON, without a line break, with keys in
    /// Tetragon's order (kind first; unknown keys after the known ones).
    pub fn to_json_line(&self) -> String {
        let mut line = Vec::with_capacity(2048);
        self.write_compact(&mut line);
        // serde_json writes valid UTF-8 only.
        String::from_utf8(line).unwrap_or_default()
    }

    /// Writes the event as one compact JSON line, ending with `\n`.
    pub fn write_json_line(&self, out: &mut impl io::Write) -> io::Result<()> {
        let mut line = Vec::with_capacity(2048);
        self.write_compact(&mut line);
        line.push(b'\n');
        out.write_all(&line)
    }

    /// Appends the event as one compact JSON line, ending with `\n`, to
    /// `line`: what [`Self::write_json_line`] writes, into a buffer the
    /// caller can reuse from one event to the next.
    pub fn append_json_line(&self, line: &mut Vec<u8>) {
        let start = line.len();
        if serde_json::to_writer(&mut *line, self).is_err() {
            line.truncate(start);
        }
        line.push(b'\n');
    }

    /// The event as a `serde_json::Value` (for tests and ad-hoc tools).
    pub fn to_json_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn write_compact(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail, and no Serialize impl of this crate
        // returns an error (all keys are strings, values are JSON already).
        if serde_json::to_writer(&mut *out, self).is_err() {
            out.clear();
        }
    }

    /// The kind.
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// The JSON key of the kind, such as `process_kprobe` or, for an
    /// untyped kind, its key as read (`process_connect`).
    pub fn kind_key(&self) -> &str {
        self.body.kind_key()
    }

    /// The hook that produced the event; `None` for exec, exit, loader,
    /// throttle, rate-limit and untyped events.
    pub fn hook(&self) -> Option<Hook<'_>> {
        Some(match &self.body {
            EventBody::ProcessKprobe(kprobe) => Hook::Kprobe {
                function: str_or_empty(&kprobe.function_name),
            },
            EventBody::ProcessTracepoint(tracepoint) => Hook::Tracepoint {
                subsys: str_or_empty(&tracepoint.subsys),
                event: str_or_empty(&tracepoint.event),
            },
            EventBody::ProcessLsm(lsm) => Hook::Lsm {
                hook: str_or_empty(&lsm.function_name),
            },
            EventBody::ProcessUprobe(uprobe) => Hook::Uprobe {
                path: str_or_empty(&uprobe.path),
                symbol: str_or_empty(&uprobe.symbol),
                offset: uprobe.offset.map(JsonInt::get),
            },
            EventBody::ProcessUsdt(usdt) => Hook::Usdt {
                path: str_or_empty(&usdt.path),
                provider: str_or_empty(&usdt.provider),
                name: str_or_empty(&usdt.name),
            },
            _ => return None,
        })
    }

    /// The process the event is about.
    pub fn process(&self) -> Option<&Process> {
        match &self.body {
            EventBody::ProcessExec(payload) => payload.process.as_ref(),
            EventBody::ProcessExit(payload) => payload.process.as_ref(),
            EventBody::ProcessKprobe(payload) => payload.process.as_ref(),
            EventBody::ProcessTracepoint(payload) => payload.process.as_ref(),
            EventBody::ProcessUprobe(payload) => payload.process.as_ref(),
            EventBody::ProcessLsm(payload) => payload.process.as_ref(),
            EventBody::ProcessUsdt(payload) => payload.process.as_ref(),
            EventBody::ProcessLoader(payload) => payload.process.as_ref(),
            _ => None,
        }
    }

    /// The process the event is about, to change it.
    pub fn process_mut(&mut self) -> Option<&mut Process> {
        match &mut self.body {
            EventBody::ProcessExec(payload) => payload.process.as_mut(),
            EventBody::ProcessExit(payload) => payload.process.as_mut(),
            EventBody::ProcessKprobe(payload) => payload.process.as_mut(),
            EventBody::ProcessTracepoint(payload) => payload.process.as_mut(),
            EventBody::ProcessUprobe(payload) => payload.process.as_mut(),
            EventBody::ProcessLsm(payload) => payload.process.as_mut(),
            EventBody::ProcessUsdt(payload) => payload.process.as_mut(),
            EventBody::ProcessLoader(payload) => payload.process.as_mut(),
            _ => None,
        }
    }

    /// The parent of the process.
    pub fn parent(&self) -> Option<&Process> {
        match &self.body {
            EventBody::ProcessExec(payload) => payload.parent.as_ref(),
            EventBody::ProcessExit(payload) => payload.parent.as_ref(),
            EventBody::ProcessKprobe(payload) => payload.parent.as_ref(),
            EventBody::ProcessTracepoint(payload) => payload.parent.as_ref(),
            EventBody::ProcessUprobe(payload) => payload.parent.as_ref(),
            EventBody::ProcessLsm(payload) => payload.parent.as_ref(),
            EventBody::ProcessUsdt(payload) => payload.parent.as_ref(),
            EventBody::ProcessLoader(payload) => payload.parent.as_ref(),
            _ => None,
        }
    }

    /// The ancestors beyond the parent (empty when not exported).
    pub fn ancestors(&self) -> &[Process] {
        let ancestors = match &self.body {
            EventBody::ProcessExec(payload) => &payload.ancestors,
            EventBody::ProcessExit(payload) => &payload.ancestors,
            EventBody::ProcessKprobe(payload) => &payload.ancestors,
            EventBody::ProcessTracepoint(payload) => &payload.ancestors,
            EventBody::ProcessUprobe(payload) => &payload.ancestors,
            EventBody::ProcessLsm(payload) => &payload.ancestors,
            EventBody::ProcessUsdt(payload) => &payload.ancestors,
            EventBody::ProcessLoader(payload) => &payload.ancestors,
            _ => return &[],
        };
        ancestors.as_deref().unwrap_or_default()
    }

    /// The hook's arguments (empty for events without `args`).
    pub fn args(&self) -> &[KprobeArgument] {
        let args = match &self.body {
            EventBody::ProcessKprobe(payload) => &payload.args,
            EventBody::ProcessTracepoint(payload) => &payload.args,
            EventBody::ProcessUprobe(payload) => &payload.args,
            EventBody::ProcessLsm(payload) => &payload.args,
            EventBody::ProcessUsdt(payload) => &payload.args,
            _ => return &[],
        };
        args.as_deref().unwrap_or_default()
    }

    /// The values of the hook's `data:` entries (kprobe and uprobe events;
    /// empty for the others).
    pub fn data(&self) -> &[KprobeArgument] {
        let data = match &self.body {
            EventBody::ProcessKprobe(payload) => &payload.data,
            EventBody::ProcessUprobe(payload) => &payload.data,
            _ => return &[],
        };
        data.as_deref().unwrap_or_default()
    }

    /// The return value of a kprobe with a return probe (`return`).
    /// A `process_uprobe` has no such field: see [`uprobe_return_position`].
    pub fn return_arg(&self) -> Option<&KprobeArgument> {
        match &self.body {
            EventBody::ProcessKprobe(payload) => payload.return_arg.as_ref(),
            _ => None,
        }
    }

    /// The return value of a uprobe with a return probe, whose entry
    /// collected `entry_args` arguments (see [`uprobe_return_position`]).
    pub fn uprobe_return_arg(&self, entry_args: usize) -> Option<&KprobeArgument> {
        match &self.body {
            EventBody::ProcessUprobe(_) => self.args().get(uprobe_return_position(entry_args)),
            _ => None,
        }
    }

    /// `time` (top level) as nanoseconds since the Unix epoch.
    pub fn time_unix_nanos(&self) -> Option<i64> {
        self.time.as_ref().map(Timestamp::unix_nanos)
    }

    /// `policy_name` of a hook event.
    pub fn policy_name(&self) -> Option<&str> {
        match &self.body {
            EventBody::ProcessKprobe(payload) => payload.policy_name.as_deref(),
            EventBody::ProcessTracepoint(payload) => payload.policy_name.as_deref(),
            EventBody::ProcessUprobe(payload) => payload.policy_name.as_deref(),
            EventBody::ProcessLsm(payload) => payload.policy_name.as_deref(),
            EventBody::ProcessUsdt(payload) => payload.policy_name.as_deref(),
            _ => None,
        }
    }

    /// `action` of a hook event (kprobe, tracepoint, LSM, uprobe, USDT),
    /// with a numeric value resolved to its name.
    pub fn action(&self) -> Option<KprobeAction> {
        let action = match &self.body {
            EventBody::ProcessKprobe(payload) => payload.action.as_ref(),
            EventBody::ProcessTracepoint(payload) => payload.action.as_ref(),
            EventBody::ProcessLsm(payload) => payload.action.as_ref(),
            EventBody::ProcessUprobe(payload) => payload.action.as_ref(),
            EventBody::ProcessUsdt(payload) => payload.action.as_ref(),
            _ => None,
        };
        action.map(KprobeAction::resolved)
    }

    /// `return_action` of a kprobe event, resolved like [`Self::action`].
    pub fn return_action(&self) -> Option<KprobeAction> {
        match &self.body {
            EventBody::ProcessKprobe(payload) => {
                payload.return_action.as_ref().map(KprobeAction::resolved)
            }
            _ => None,
        }
    }

    /// `message` of a hook event.
    pub fn message(&self) -> Option<&str> {
        match &self.body {
            EventBody::ProcessKprobe(payload) => payload.message.as_deref(),
            EventBody::ProcessTracepoint(payload) => payload.message.as_deref(),
            EventBody::ProcessUprobe(payload) => payload.message.as_deref(),
            EventBody::ProcessLsm(payload) => payload.message.as_deref(),
            EventBody::ProcessUsdt(payload) => payload.message.as_deref(),
            _ => None,
        }
    }

    /// `tags` of a hook event.
    pub fn tags(&self) -> &[String] {
        let tags = match &self.body {
            EventBody::ProcessKprobe(payload) => &payload.tags,
            EventBody::ProcessTracepoint(payload) => &payload.tags,
            EventBody::ProcessUprobe(payload) => &payload.tags,
            EventBody::ProcessLsm(payload) => &payload.tags,
            EventBody::ProcessUsdt(payload) => &payload.tags,
            _ => return &[],
        };
        tags.as_deref().unwrap_or_default()
    }

    /// Sets `policy_name` on a hook event (kprobe, tracepoint, uprobe, LSM,
    /// USDT); other kinds have no such field.
    pub fn set_policy_name(&mut self, policy_name: impl Into<String>) -> Result<(), EventError> {
        let slot = match &mut self.body {
            EventBody::ProcessKprobe(payload) => &mut payload.policy_name,
            EventBody::ProcessTracepoint(payload) => &mut payload.policy_name,
            EventBody::ProcessUprobe(payload) => &mut payload.policy_name,
            EventBody::ProcessLsm(payload) => &mut payload.policy_name,
            EventBody::ProcessUsdt(payload) => &mut payload.policy_name,
            other => return Err(no_such_field(other, "policy_name")),
        };
        *slot = Some(policy_name.into());
        Ok(())
    }

    /// Sets `action` on a hook event (kprobe, tracepoint, LSM, uprobe,
    /// USDT); other kinds have no such field.
    pub fn set_action(&mut self, action: KprobeAction) -> Result<(), EventError> {
        let slot = match &mut self.body {
            EventBody::ProcessKprobe(payload) => &mut payload.action,
            EventBody::ProcessTracepoint(payload) => &mut payload.action,
            EventBody::ProcessLsm(payload) => &mut payload.action,
            EventBody::ProcessUprobe(payload) => &mut payload.action,
            EventBody::ProcessUsdt(payload) => &mut payload.action,
            other => return Err(no_such_field(other, "action")),
        };
        *slot = Some(action);
        Ok(())
    }
}

/// The text of an optional string field, or `""`.
pub(crate) fn str_or_empty(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or_default()
}

fn no_such_field(body: &EventBody, field: &'static str) -> EventError {
    EventError::NoSuchField {
        kind: body.kind_key().to_owned(),
        field,
    }
}

/// The 1-based line of the first non-blank byte (where a value starts).
fn first_line_of_value(bytes: &[u8]) -> u64 {
    let leading = bytes
        .iter()
        .take_while(|byte| byte.is_ascii_whitespace())
        .filter(|byte| **byte == b'\n');
    1 + leading.count() as u64
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match &self.body {
            EventBody::ProcessExec(payload) => map.serialize_entry("process_exec", payload)?,
            EventBody::ProcessExit(payload) => map.serialize_entry("process_exit", payload)?,
            EventBody::ProcessKprobe(payload) => map.serialize_entry("process_kprobe", payload)?,
            EventBody::ProcessTracepoint(payload) => {
                map.serialize_entry("process_tracepoint", payload)?
            }
            EventBody::ProcessUprobe(payload) => map.serialize_entry("process_uprobe", payload)?,
            EventBody::ProcessLsm(payload) => map.serialize_entry("process_lsm", payload)?,
            EventBody::ProcessUsdt(payload) => map.serialize_entry("process_usdt", payload)?,
            EventBody::ProcessLoader(payload) => map.serialize_entry("process_loader", payload)?,
            EventBody::ProcessThrottle(payload) => {
                map.serialize_entry("process_throttle", payload)?
            }
            EventBody::RateLimitInfo(payload) => map.serialize_entry("rate_limit_info", payload)?,
            EventBody::Other { kind, payload } => map.serialize_entry(kind, payload)?,
        }
        if let Some(node_name) = &self.node_name {
            map.serialize_entry("node_name", node_name)?;
        }
        if let Some(time) = &self.time {
            map.serialize_entry("time", time)?;
        }
        if let Some(aggregation_info) = &self.aggregation_info {
            map.serialize_entry("aggregation_info", aggregation_info)?;
        }
        if let Some(cluster_name) = &self.cluster_name {
            map.serialize_entry("cluster_name", cluster_name)?;
        }
        if let Some(node_labels) = &self.node_labels {
            map.serialize_entry("node_labels", node_labels)?;
        }
        self.unknown_fields
            .serialize_entries(&mut map, |key| match key {
                "node_name" => self.node_name.is_some(),
                "time" => self.time.is_some(),
                "aggregation_info" => self.aggregation_info.is_some(),
                "cluster_name" => self.cluster_name.is_some(),
                "node_labels" => self.node_labels.is_some(),
                _ => false,
            })?;
        map.end()
    }
}

/// Why a JSON value is not an event.
#[derive(Debug)]
pub(crate) enum NotAnEvent {
    NotAnObject(&'static str),
    NoKind,
    SeveralKinds(Vec<String>),
}

impl NotAnEvent {
    pub(crate) fn into_error(self, line: u64) -> EventError {
        match self {
            NotAnEvent::NotAnObject(found) => EventError::NotAnObject { line, found },
            NotAnEvent::NoKind => EventError::NoEventKind { line },
            NotAnEvent::SeveralKinds(kinds) => EventError::SeveralEventKinds { line, kinds },
        }
    }
}

impl fmt::Display for NotAnEvent {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAnEvent::NotAnObject(found) => {
                write!(formatter, "expected an event object, found {found}")
            }
            NotAnEvent::NoKind => formatter.write_str("object has no event kind key"),
            NotAnEvent::SeveralKinds(kinds) => {
                write!(
                    formatter,
                    "object has several event kind keys: {}",
                    kinds.join(", ")
                )
            }
        }
    }
}

/// Parses any top-level JSON value. Checks UTF-8 once for the whole value
/// and then parses it as `str`, which spares serde_json a check per string.
pub(crate) fn parse_top_level(bytes: &[u8]) -> Result<TopLevelValue, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        // serde_json finds the bad byte and reports where it is.
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// Any top-level JSON value: an event, or the reason it is not one.
pub(crate) struct TopLevelValue(pub(crate) Result<Event, NotAnEvent>);

impl<'de> Deserialize<'de> for TopLevelValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(TopLevelVisitor)
            .map(TopLevelValue)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(TopLevelVisitor)?
            .map_err(de::Error::custom)
    }
}

struct TopLevelVisitor;

/// For an event with no kind this crate knows: the one unknown key holding
/// an object is taken as the kind (its value becomes the body).
fn take_untyped_kind(event: &mut Event) -> Result<(), NotAnEvent> {
    let candidates: Vec<String> = event
        .unknown_fields
        .iter()
        .filter(|(_, value)| value.is_object())
        .map(|(key, _)| key.clone())
        .collect();
    match candidates.as_slice() {
        [] => Err(NotAnEvent::NoKind),
        [kind] => {
            let payload = event.unknown_fields.remove(kind).unwrap_or(Value::Null);
            event.body = EventBody::Other {
                kind: kind.clone(),
                payload,
            };
            Ok(())
        }
        _ => Err(NotAnEvent::SeveralKinds(candidates)),
    }
}

/// Stores a top-level metadata field, or its explicit `null` among the
/// unknown fields so that it is written back.
fn set_metadata<T, E: de::Error>(
    slot: &mut Option<T>,
    value: Option<T>,
    key: &'static str,
    unknown_fields: &mut UnknownFields,
) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(key));
    }
    match value {
        Some(value) => *slot = Some(value),
        None => unknown_fields.insert_unique::<E>(key.to_owned(), Value::Null)?,
    }
    Ok(())
}

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = Result<Event, NotAnEvent>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a Tetragon event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut body: Option<EventBody> = None;
        let mut kind_keys: Vec<String> = Vec::new();
        let mut event = Event::new(EventBody::Other {
            kind: String::new(),
            payload: Value::Null,
        });
        while let Some(key) = map.next_key::<JsonStr<'de>>()? {
            match key.as_str() {
                "node_name" => {
                    set_metadata(
                        &mut event.node_name,
                        map.next_value()?,
                        "node_name",
                        &mut event.unknown_fields,
                    )?;
                }
                "time" => set_metadata(
                    &mut event.time,
                    map.next_value()?,
                    "time",
                    &mut event.unknown_fields,
                )?,
                "aggregation_info" => set_metadata(
                    &mut event.aggregation_info,
                    map.next_value()?,
                    "aggregation_info",
                    &mut event.unknown_fields,
                )?,
                "cluster_name" => set_metadata(
                    &mut event.cluster_name,
                    map.next_value()?,
                    "cluster_name",
                    &mut event.unknown_fields,
                )?,
                "node_labels" => set_metadata(
                    &mut event.node_labels,
                    map.next_value()?,
                    "node_labels",
                    &mut event.unknown_fields,
                )?,
                key_text => {
                    let typed_kind = EventKind::from_key(key_text);
                    let untyped_kind =
                        typed_kind.is_none() && UNTYPED_KIND_KEYS.contains(&key_text);
                    if typed_kind.is_none() && !untyped_kind {
                        let value: Value = map.next_value()?;
                        event
                            .unknown_fields
                            .insert_unique::<A::Error>(key.into_string(), value)?;
                    } else if body.is_some() {
                        map.next_value::<IgnoredAny>()?;
                        kind_keys.push(key.into_string());
                    } else {
                        body = Some(match typed_kind {
                            Some(kind) => next_typed_body(kind, &mut map)?,
                            None => EventBody::Other {
                                kind: key_text.to_owned(),
                                payload: map.next_value()?,
                            },
                        });
                        kind_keys.push(key.into_string());
                    }
                }
            }
        }
        if kind_keys.len() > 1 {
            return Ok(Err(NotAnEvent::SeveralKinds(kind_keys)));
        }
        match body {
            Some(body) => event.body = body,
            None => {
                if let Err(not_an_event) = take_untyped_kind(&mut event) {
                    return Ok(Err(not_an_event));
                }
            }
        }
        Ok(Ok(event))
    }

    visit_non_objects!(|found| Err(NotAnEvent::NotAnObject(found)));
}

fn next_typed_body<'de, A: MapAccess<'de>>(
    kind: EventKind,
    map: &mut A,
) -> Result<EventBody, A::Error> {
    Ok(match kind {
        EventKind::ProcessExec => EventBody::ProcessExec(Box::new(map.next_value()?)),
        EventKind::ProcessExit => EventBody::ProcessExit(Box::new(map.next_value()?)),
        EventKind::ProcessKprobe => EventBody::ProcessKprobe(Box::new(map.next_value()?)),
        EventKind::ProcessTracepoint => EventBody::ProcessTracepoint(Box::new(map.next_value()?)),
        EventKind::ProcessUprobe => EventBody::ProcessUprobe(Box::new(map.next_value()?)),
        EventKind::ProcessLsm => EventBody::ProcessLsm(Box::new(map.next_value()?)),
        EventKind::ProcessUsdt => EventBody::ProcessUsdt(Box::new(map.next_value()?)),
        EventKind::ProcessLoader => EventBody::ProcessLoader(Box::new(map.next_value()?)),
        EventKind::ProcessThrottle => EventBody::ProcessThrottle(Box::new(map.next_value()?)),
        EventKind::RateLimitInfo => EventBody::RateLimitInfo(Box::new(map.next_value()?)),
        EventKind::Other => EventBody::Other {
            kind: String::new(),
            payload: map.next_value()?,
        },
    })
}

/// Parses any top-level JSON value into `event`, reusing its allocations:
/// the same result, or the same error, as [`parse_top_level`]. On an error
/// (or a value that is not an event) `event` holds some valid but
/// meaningless event.
pub(crate) fn parse_top_level_into(
    bytes: &[u8],
    event: &mut Event,
) -> Result<Result<(), NotAnEvent>, serde_json::Error> {
    use serde::de::DeserializeSeed as _;
    let seed = TopLevelSeed(event);
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let result = seed.deserialize(&mut deserializer)?;
            deserializer.end()?;
            Ok(result)
        }
        Err(_) => {
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let result = seed.deserialize(&mut deserializer)?;
            deserializer.end()?;
            Ok(result)
        }
    }
}

/// Reads a top-level value into an event, as `TopLevelValue` reads one.
struct TopLevelSeed<'a>(&'a mut Event);

impl<'de> de::DeserializeSeed<'de> for TopLevelSeed<'_> {
    type Value = Result<(), NotAnEvent>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(TopLevelIntoVisitor(self.0))
    }
}

/// `TopLevelVisitor`, reading into an event read before: the same checks
/// in the same order; the body's box is kept when the kind is the same.
struct TopLevelIntoVisitor<'a>(&'a mut Event);

/// Reads a top-level metadata field into its old value; as `set_metadata`,
/// the value is read before a repeated key is refused.
fn metadata_into<'de, T: crate::value::ReadInto<'de>, A: MapAccess<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    set: &mut bool,
    key: &'static str,
    unknown_fields: &mut UnknownFields,
) -> Result<(), A::Error> {
    let present = map.next_value_seed(OptionInto(slot))?;
    if *set {
        return Err(de::Error::duplicate_field(key));
    }
    if present {
        *set = true;
    } else {
        *slot = None;
        unknown_fields.insert_unique::<A::Error>(key.to_owned(), Value::Null)?;
    }
    Ok(())
}

impl<'de> Visitor<'de> for TopLevelIntoVisitor<'_> {
    type Value = Result<(), NotAnEvent>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a Tetragon event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        /// The metadata fields given a value in this read.
        #[derive(Default)]
        struct Set {
            node_name: bool,
            time: bool,
            aggregation_info: bool,
            cluster_name: bool,
            node_labels: bool,
        }
        let event = self.0;
        let mut old_body = Some(std::mem::replace(
            &mut event.body,
            EventBody::Other {
                kind: String::new(),
                payload: Value::Null,
            },
        ));
        let mut set = Set::default();
        let mut body: Option<EventBody> = None;
        let mut kind_keys: Vec<String> = Vec::new();
        event.unknown_fields = UnknownFields::new();
        while let Some(key) = map.next_key::<JsonStr<'de>>()? {
            match key.as_str() {
                "node_name" => metadata_into(
                    &mut map,
                    &mut event.node_name,
                    &mut set.node_name,
                    "node_name",
                    &mut event.unknown_fields,
                )?,
                "time" => metadata_into(
                    &mut map,
                    &mut event.time,
                    &mut set.time,
                    "time",
                    &mut event.unknown_fields,
                )?,
                "aggregation_info" => metadata_into(
                    &mut map,
                    &mut event.aggregation_info,
                    &mut set.aggregation_info,
                    "aggregation_info",
                    &mut event.unknown_fields,
                )?,
                "cluster_name" => metadata_into(
                    &mut map,
                    &mut event.cluster_name,
                    &mut set.cluster_name,
                    "cluster_name",
                    &mut event.unknown_fields,
                )?,
                "node_labels" => metadata_into(
                    &mut map,
                    &mut event.node_labels,
                    &mut set.node_labels,
                    "node_labels",
                    &mut event.unknown_fields,
                )?,
                key_text => {
                    let typed_kind = EventKind::from_key(key_text);
                    let untyped_kind =
                        typed_kind.is_none() && UNTYPED_KIND_KEYS.contains(&key_text);
                    if typed_kind.is_none() && !untyped_kind {
                        let value: Value = map.next_value()?;
                        event
                            .unknown_fields
                            .insert_unique::<A::Error>(key.into_string(), value)?;
                    } else if body.is_some() {
                        map.next_value::<IgnoredAny>()?;
                        kind_keys.push(key.into_string());
                    } else {
                        body = Some(match typed_kind {
                            Some(kind) => next_typed_body_into(kind, &mut map, &mut old_body)?,
                            None => EventBody::Other {
                                kind: key_text.to_owned(),
                                payload: map.next_value()?,
                            },
                        });
                        kind_keys.push(key.into_string());
                    }
                }
            }
        }
        if !set.node_name {
            event.node_name = None;
        }
        if !set.time {
            event.time = None;
        }
        if !set.aggregation_info {
            event.aggregation_info = None;
        }
        if !set.cluster_name {
            event.cluster_name = None;
        }
        if !set.node_labels {
            event.node_labels = None;
        }
        if kind_keys.len() > 1 {
            return Ok(Err(NotAnEvent::SeveralKinds(kind_keys)));
        }
        match body {
            Some(body) => event.body = body,
            None => {
                if let Err(not_an_event) = take_untyped_kind(event) {
                    return Ok(Err(not_an_event));
                }
            }
        }
        Ok(Ok(()))
    }

    visit_non_objects!(|found| Err(NotAnEvent::NotAnObject(found)));
}

/// `next_typed_body`, reading into the old body's box when it is of the
/// same kind.
fn next_typed_body_into<'de, A: MapAccess<'de>>(
    kind: EventKind,
    map: &mut A,
    old_body: &mut Option<EventBody>,
) -> Result<EventBody, A::Error> {
    macro_rules! reuse {
        ($variant:ident) => {
            match old_body.take() {
                Some(EventBody::$variant(mut payload)) => {
                    map.next_value_seed(ReadIntoSeed(&mut *payload))?;
                    EventBody::$variant(payload)
                }
                _ => EventBody::$variant(Box::new(map.next_value()?)),
            }
        };
    }
    Ok(match kind {
        EventKind::ProcessExec => reuse!(ProcessExec),
        EventKind::ProcessExit => reuse!(ProcessExit),
        EventKind::ProcessKprobe => reuse!(ProcessKprobe),
        EventKind::ProcessTracepoint => reuse!(ProcessTracepoint),
        EventKind::ProcessUprobe => reuse!(ProcessUprobe),
        EventKind::ProcessLsm => reuse!(ProcessLsm),
        EventKind::ProcessUsdt => reuse!(ProcessUsdt),
        EventKind::ProcessLoader => reuse!(ProcessLoader),
        EventKind::ProcessThrottle => reuse!(ProcessThrottle),
        EventKind::RateLimitInfo => reuse!(RateLimitInfo),
        EventKind::Other => EventBody::Other {
            kind: String::new(),
            payload: map.next_value()?,
        },
    })
}

/// Where a `process_uprobe` event keeps the return value of a uretprobe
/// whose entry collected `entry_args` arguments. The event has no `return`
/// field: Tetragon merges the return record's arguments into the entry's
/// (`pkg/sensors/tracing/retprobe.go`), the return value with index 5
/// (`ReturnArgIndex`, the last of its 6 argument slots), so it replaces a
/// sixth argument and is appended after fewer.
pub fn uprobe_return_position(entry_args: usize) -> usize {
    const RETURN_ARG_INDEX: usize = 5;
    entry_args.min(RETURN_ARG_INDEX)
}

#[cfg(test)]
mod tests {
    use super::uprobe_return_position;

    #[test]
    fn a_uprobe_return_value_follows_the_entry_args_or_takes_the_sixth() {
        assert_eq!(uprobe_return_position(0), 0);
        assert_eq!(uprobe_return_position(2), 2);
        assert_eq!(uprobe_return_position(5), 5);
        assert_eq!(uprobe_return_position(6), 5);
    }
}
