//! `EventSummary`: the kind and hook identity of an event, read without
//! decoding the rest (which is only checked to be well-formed JSON), so a
//! replay can skip events no hook of a policy matches at a fraction of the
//! cost of a full parse. The serde-based reading here is the reference; the
//! scanner of `scan.rs` answers first when it can.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::enums::KprobeAction;
use crate::event::{EventKind, Hook, NotAnEvent, UNTYPED_KIND_KEYS};
use crate::scan::quick_summary;
use crate::value::{JsonInt, JsonStr};

/// What an event is, without its process, arguments and the rest: the kind,
/// the hook identity, `policy_name` and `action`.
///
/// A reader keeps one summary and refills it for every record, so that its
/// strings keep their buffers: reading summaries does not allocate.
#[derive(Debug, Clone, Default)]
pub struct EventSummary {
    pub(crate) kind: Option<EventKind>,
    /// The kind's key; meaningful when `kind` is set.
    pub(crate) kind_key: String,
    pub(crate) hook: HookFields,
}

/// An optional string whose buffer is kept when it is unset.
#[derive(Debug, Clone, Default)]
pub(crate) struct TextField {
    present: bool,
    text: String,
}

impl TextField {
    pub(crate) fn get(&self) -> Option<&str> {
        self.present.then_some(self.text.as_str())
    }

    pub(crate) fn set(&mut self, value: Option<&str>) {
        self.text.clear();
        self.present = value.is_some();
        if let Some(value) = value {
            self.text.push_str(value);
        }
    }

    fn or_empty(&self) -> &str {
        self.get().unwrap_or_default()
    }
}

impl PartialEq for TextField {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for TextField {}

/// The payload fields a summary keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HookFields {
    pub(crate) function_name: TextField,
    pub(crate) subsys: TextField,
    pub(crate) event: TextField,
    pub(crate) path: TextField,
    pub(crate) symbol: TextField,
    pub(crate) provider: TextField,
    pub(crate) name: TextField,
    pub(crate) offset: Option<JsonInt<u64>>,
    pub(crate) policy_name: TextField,
    pub(crate) action: Option<KprobeAction>,
}

impl HookFields {
    /// The text field a payload key fills, if any.
    pub(crate) fn text_slot(&mut self, key: &[u8]) -> Option<&mut TextField> {
        Some(match key {
            b"function_name" => &mut self.function_name,
            b"subsys" => &mut self.subsys,
            b"event" => &mut self.event,
            b"path" => &mut self.path,
            b"symbol" => &mut self.symbol,
            b"provider" => &mut self.provider,
            b"name" => &mut self.name,
            b"policy_name" => &mut self.policy_name,
            _ => return None,
        })
    }

    fn clear(&mut self) {
        for field in [
            &mut self.function_name,
            &mut self.subsys,
            &mut self.event,
            &mut self.path,
            &mut self.symbol,
            &mut self.provider,
            &mut self.name,
            &mut self.policy_name,
        ] {
            field.set(None);
        }
        self.offset = None;
        self.action = None;
    }
}

impl PartialEq for EventSummary {
    /// Compares what the summary says (the kind key only when there is a
    /// kind), not the buffers it keeps.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && (self.kind.is_none() || self.kind_key == other.kind_key)
            && self.hook == other.hook
    }
}

impl Eq for EventSummary {}

impl EventSummary {
    /// Forgets the last record, keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.kind = None;
        self.kind_key.clear();
        self.hook.clear();
    }

    /// The kind.
    pub fn kind(&self) -> EventKind {
        self.kind.unwrap_or(EventKind::Other)
    }

    /// The JSON key of the kind, as in [`crate::Event::kind_key`].
    pub fn kind_key(&self) -> &str {
        &self.kind_key
    }

    /// The hook, as in [`crate::Event::hook`].
    pub fn hook(&self) -> Option<Hook<'_>> {
        let fields = &self.hook;
        Some(match self.kind() {
            EventKind::ProcessKprobe => Hook::Kprobe {
                function: fields.function_name.or_empty(),
            },
            EventKind::ProcessTracepoint => Hook::Tracepoint {
                subsys: fields.subsys.or_empty(),
                event: fields.event.or_empty(),
            },
            EventKind::ProcessLsm => Hook::Lsm {
                hook: fields.function_name.or_empty(),
            },
            EventKind::ProcessUprobe => Hook::Uprobe {
                path: fields.path.or_empty(),
                symbol: fields.symbol.or_empty(),
                offset: fields.offset.map(JsonInt::get),
            },
            EventKind::ProcessUsdt => Hook::Usdt {
                path: fields.path.or_empty(),
                provider: fields.provider.or_empty(),
                name: fields.name.or_empty(),
            },
            _ => return None,
        })
    }

    /// `policy_name` of a hook event.
    pub fn policy_name(&self) -> Option<&str> {
        match self.kind() {
            EventKind::ProcessKprobe
            | EventKind::ProcessTracepoint
            | EventKind::ProcessUprobe
            | EventKind::ProcessLsm
            | EventKind::ProcessUsdt => self.hook.policy_name.get(),
            _ => None,
        }
    }

    /// `action` of a hook event, resolved as in [`crate::Event::action`].
    pub fn action(&self) -> Option<KprobeAction> {
        match self.kind() {
            EventKind::ProcessKprobe
            | EventKind::ProcessTracepoint
            | EventKind::ProcessLsm
            | EventKind::ProcessUprobe
            | EventKind::ProcessUsdt => self.hook.action.as_ref().map(KprobeAction::resolved),
            _ => None,
        }
    }
}

/// Any top-level JSON value summarised: an event summary, or why it is not
/// an event.
pub(crate) struct TopLevelSummary(pub(crate) Result<EventSummary, NotAnEvent>);

/// Summarises one top-level value into `summary` (whose buffers are
/// reused): with the scanner of `scan.rs` when it is sure of the answer,
/// otherwise with serde_json, which also words every error.
pub(crate) fn summarize_into(
    bytes: &[u8],
    summary: &mut EventSummary,
) -> Result<Result<(), NotAnEvent>, serde_json::Error> {
    if quick_summary(bytes, summary) {
        return Ok(Ok(()));
    }
    let TopLevelSummary(result) = summarize_top_level(bytes)?;
    Ok(result.map(|read| *summary = read))
}

/// Summarises one top-level value with serde_json (the reference the
/// scanner is tested against); checks UTF-8 once, as the full parse does.
pub(crate) fn summarize_top_level(bytes: &[u8]) -> Result<TopLevelSummary, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

impl<'de> Deserialize<'de> for TopLevelSummary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(SummaryVisitor)
            .map(TopLevelSummary)
    }
}

struct SummaryVisitor;

impl<'de> Visitor<'de> for SummaryVisitor {
    type Value = Result<EventSummary, NotAnEvent>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a Tetragon event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut summary = EventSummary::default();
        // Kind keys after the first, which make the object not an event.
        let mut more_kind_keys: Vec<String> = Vec::new();
        let mut object_keys: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<JsonStr<'de>>()? {
            let key_text = key.as_str();
            let typed_kind = EventKind::from_key(key_text);
            if typed_kind.is_some() || UNTYPED_KIND_KEYS.contains(&key_text) {
                if summary.kind.is_none() {
                    summary.kind = Some(typed_kind.unwrap_or(EventKind::Other));
                    if typed_kind.is_some() {
                        summary.hook = map.next_value()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                    summary.kind_key = key.into_string();
                } else {
                    map.next_value::<IgnoredAny>()?;
                    more_kind_keys.push(key.into_string());
                }
            } else if matches!(
                key_text,
                "node_name" | "time" | "aggregation_info" | "cluster_name" | "node_labels"
            ) {
                map.next_value::<IgnoredAny>()?;
            } else if map.next_value::<IsObject>()?.0 {
                object_keys.push(key.into_string());
            }
        }
        if !more_kind_keys.is_empty() {
            let mut kind_keys = vec![summary.kind_key];
            kind_keys.append(&mut more_kind_keys);
            return Ok(Err(NotAnEvent::SeveralKinds(kind_keys)));
        }
        if summary.kind.is_none() {
            // As in the full parse: a lone unknown key holding an object is
            // an untyped kind.
            match object_keys.len() {
                0 => return Ok(Err(NotAnEvent::NoKind)),
                1 => {
                    summary.kind = Some(EventKind::Other);
                    summary.kind_key = object_keys.swap_remove(0);
                }
                _ => return Ok(Err(NotAnEvent::SeveralKinds(object_keys))),
            }
        }
        Ok(Ok(summary))
    }

    visit_non_objects!(|found| Err(NotAnEvent::NotAnObject(found)));
}

/// Whether a value is an object; its content is skipped.
struct IsObject(bool);

impl<'de> Deserialize<'de> for IsObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IsObjectVisitor;

        impl<'de> Visitor<'de> for IsObjectVisitor {
            type Value = IsObject;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("any value")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IsObject, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(IsObject(true))
            }

            visit_non_objects!(|_| IsObject(false));
        }

        deserializer.deserialize_any(IsObjectVisitor)
    }
}

impl<'de> Deserialize<'de> for HookFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HookFieldsVisitor;

        impl<'de> Visitor<'de> for HookFieldsVisitor {
            type Value = HookFields;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an event payload object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HookFields, A::Error> {
                let mut fields = HookFields::default();
                while let Some(key) = map.next_key::<JsonStr<'de>>()? {
                    match key.as_str() {
                        "offset" => fields.offset = map.next_value()?,
                        "action" => fields.action = map.next_value()?,
                        other => match fields.text_slot(other.as_bytes()) {
                            Some(slot) => {
                                let value: Option<JsonStr<'de>> = map.next_value()?;
                                slot.set(value.as_ref().map(JsonStr::as_str));
                            }
                            None => {
                                map.next_value::<IgnoredAny>()?;
                            }
                        },
                    }
                }
                Ok(fields)
            }
        }

        deserializer.deserialize_map(HookFieldsVisitor)
    }
}
