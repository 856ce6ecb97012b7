//! `EventSummary`: the kind and hook identity of an event, read without
//! decoding the rest (which is only checked to be well-formed JSON), so a
//! replay can skip events no hook of a policy matches at a fraction of the
//! cost of a full parse.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::enums::KprobeAction;
use crate::event::{EventKind, Hook, NotAnEvent, UNTYPED_KIND_KEYS, str_or_empty};
use crate::value::{JsonInt, JsonStr};

/// What an event is, without its process, arguments and the rest: the kind,
/// the hook identity, `policy_name` and `action`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSummary {
    kind: Option<EventKind>,
    kind_key: String,
    hook: HookFields,
}

/// The payload fields a summary keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct HookFields {
    function_name: Option<String>,
    subsys: Option<String>,
    event: Option<String>,
    path: Option<String>,
    symbol: Option<String>,
    provider: Option<String>,
    name: Option<String>,
    offset: Option<JsonInt<u64>>,
    policy_name: Option<String>,
    action: Option<KprobeAction>,
}

impl EventSummary {
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
                function: str_or_empty(&fields.function_name),
            },
            EventKind::ProcessTracepoint => Hook::Tracepoint {
                subsys: str_or_empty(&fields.subsys),
                event: str_or_empty(&fields.event),
            },
            EventKind::ProcessLsm => Hook::Lsm {
                hook: str_or_empty(&fields.function_name),
            },
            EventKind::ProcessUprobe => Hook::Uprobe {
                path: str_or_empty(&fields.path),
                symbol: str_or_empty(&fields.symbol),
                offset: fields.offset.map(JsonInt::get),
            },
            EventKind::ProcessUsdt => Hook::Usdt {
                path: str_or_empty(&fields.path),
                provider: str_or_empty(&fields.provider),
                name: str_or_empty(&fields.name),
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
            | EventKind::ProcessUsdt => self.hook.policy_name.as_deref(),
            _ => None,
        }
    }

    /// `action` of a kprobe, tracepoint or LSM event, resolved as in
    /// [`crate::Event::action`].
    pub fn action(&self) -> Option<KprobeAction> {
        match self.kind() {
            EventKind::ProcessKprobe | EventKind::ProcessTracepoint | EventKind::ProcessLsm => {
                self.hook.action.as_ref().map(KprobeAction::resolved)
            }
            _ => None,
        }
    }
}

/// Any top-level JSON value summarised: an event summary, or why it is not
/// an event.
pub(crate) struct TopLevelSummary(pub(crate) Result<EventSummary, NotAnEvent>);

/// Summarises one top-level value; checks UTF-8 once, as the full parse does.
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

fn not_an_object<E>(found: &'static str) -> Result<Result<EventSummary, NotAnEvent>, E> {
    Ok(Err(NotAnEvent::NotAnObject(found)))
}

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

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        not_an_object("an array")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        not_an_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        not_an_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        not_an_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        not_an_object("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        not_an_object("a string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        not_an_object("null")
    }
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

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IsObject, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(IsObject(false))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }

            fn visit_unit<E: de::Error>(self) -> Result<IsObject, E> {
                Ok(IsObject(false))
            }
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
                    let slot = match key.as_str() {
                        "function_name" => &mut fields.function_name,
                        "subsys" => &mut fields.subsys,
                        "event" => &mut fields.event,
                        "path" => &mut fields.path,
                        "symbol" => &mut fields.symbol,
                        "provider" => &mut fields.provider,
                        "name" => &mut fields.name,
                        "policy_name" => &mut fields.policy_name,
                        "offset" => {
                            fields.offset = map.next_value()?;
                            continue;
                        }
                        "action" => {
                            fields.action = map.next_value()?;
                            continue;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = map.next_value()?;
                }
                Ok(fields)
            }
        }

        deserializer.deserialize_map(HookFieldsVisitor)
    }
}
