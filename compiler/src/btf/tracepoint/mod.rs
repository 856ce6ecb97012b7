//! Tracepoint layouts: tracefs `format` files (a directory or a tarball of
//! them) and the BTF fallback for kernels that come without format files.
//!
//! What the BTF fallback can and cannot know:
//! * `btf_trace_<event>` typedefs exist for every built-in event (with
//!   `CONFIG_BPF_EVENTS`): they prove the event exists, but carry the raw
//!   tracepoint's C arguments, not the record layout, and no subsystem.
//! * `struct trace_event_raw_<class>` is the record layout of an event
//!   *class*. For `TRACE_EVENT(x)` the class is `x` itself and the layout is
//!   exact; for `DEFINE_EVENT(class, x)` BTF does not say which class `x`
//!   belongs to, so the fields stay unknown.
//! * `__data_loc` fields appear in BTF as `u32 __data_loc_<name>`; the element
//!   type (usually `char[]`) is not recorded.
//! * `syscalls/sys_enter_*`/`sys_exit_*` events have no BTF structs at all;
//!   their layout is built from the syscall's prototype, the way the kernel
//!   builds it, when the kernel has `struct syscall_trace_enter` (that is,
//!   `CONFIG_FTRACE_SYSCALLS`).
//! * Events from modules are not in vmlinux BTF.

pub mod format;
pub(crate) mod tar;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ctype::resolve_c_type;
use super::error::BtfError;
use super::graph::{self, CompositeKind, TypeGraph};
use super::load;
use super::types::{
    FieldLocation, Param, TracepointField, TracepointInfo, TracepointLookup, TracepointSource,
    TypeDesc,
};
pub use format::{EventFormat, FormatField, FormatParseError, parse_format};

/// A set of tracefs `format` files.
#[derive(Debug, Clone)]
pub struct TracepointFormats {
    source: FormatsSource,
}

#[derive(Debug, Clone)]
enum FormatsSource {
    /// A live `events/` directory, read file by file on lookup.
    Dir(PathBuf),
    /// Parsed ahead of time (from a tarball or the carried database).
    Loaded(BTreeMap<(String, String), EventFormat>),
}

impl TracepointFormats {
    /// The running kernel's tracefs, if mounted and readable.
    pub fn running() -> Option<Self> {
        [
            "/sys/kernel/tracing/events",
            "/sys/kernel/debug/tracing/events",
        ]
        .iter()
        .map(Path::new)
        .find(|dir| dir.join("syscalls").is_dir() || dir.join("sched").is_dir())
        .map(|dir| Self::from_events_dir(dir.to_path_buf()))
    }

    /// An `events/` directory laid out like tracefs (read lazily).
    pub fn from_events_dir(dir: PathBuf) -> Self {
        Self {
            source: FormatsSource::Dir(dir),
        }
    }

    /// Already-parsed formats keyed by `(subsystem, event)`.
    pub fn from_parsed(formats: BTreeMap<(String, String), EventFormat>) -> Self {
        Self {
            source: FormatsSource::Loaded(formats),
        }
    }

    /// A tar archive (optionally xz/gzip-compressed) of `events/<subsystem>/<event>/format`
    /// files, or a directory holding `events/` or being it.
    pub fn from_path(path: &Path) -> Result<Self, BtfError> {
        if path.is_dir() {
            let events = if path.join("events").is_dir() {
                path.join("events")
            } else {
                path.to_path_buf()
            };
            return Ok(Self::from_events_dir(events));
        }
        let bytes = load::read_file(path)?;
        Self::from_tar_bytes(bytes, &path.display().to_string())
    }

    /// Parses every `format` file of a (compressed) tar archive. Files that
    /// fail to parse are an error naming the file.
    pub fn from_tar_bytes(bytes: Vec<u8>, what: &str) -> Result<Self, BtfError> {
        let archive = load::decompress(bytes, what)?;
        let mut formats = BTreeMap::new();
        for entry in tar::entries(&archive, what)? {
            let Some((subsystem, event)) = split_format_path(&entry.path) else {
                continue;
            };
            let text = String::from_utf8_lossy(entry.data);
            let parsed = parse_format(&text).map_err(|error| BtfError::Tar {
                what: what.to_string(),
                reason: format!("{}: {error}", entry.path),
            })?;
            formats.insert((subsystem.to_string(), event.to_string()), parsed);
        }
        Ok(Self::from_parsed(formats))
    }

    /// The format of one event: `Ok(None)` when there is no such event.
    pub fn get(&self, subsystem: &str, event: &str) -> Result<Option<EventFormat>, BtfError> {
        match &self.source {
            FormatsSource::Loaded(formats) => Ok(formats
                .get(&(subsystem.to_string(), event.to_string()))
                .cloned()),
            FormatsSource::Dir(dir) => {
                if !is_plain_name(subsystem) || !is_plain_name(event) {
                    return Ok(None);
                }
                let path = dir.join(subsystem).join(event).join("format");
                match std::fs::read_to_string(&path) {
                    Ok(text) => parse_format(&text)
                        .map(Some)
                        .map_err(|error| BtfError::Tar {
                            what: path.display().to_string(),
                            reason: error.to_string(),
                        }),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(BtfError::Read { path, source }),
                }
            }
        }
    }

    /// Every `(subsystem, event)` pair, for loaded sets (a live directory is
    /// listed from disk).
    pub fn events(&self) -> Vec<(String, String)> {
        match &self.source {
            FormatsSource::Loaded(formats) => formats.keys().cloned().collect(),
            FormatsSource::Dir(dir) => list_events_dir(dir),
        }
    }

    /// Every parsed format (reads a live directory whole).
    pub fn all(&self) -> Vec<((String, String), EventFormat)> {
        match &self.source {
            FormatsSource::Loaded(formats) => formats
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            FormatsSource::Dir(_) => self
                .events()
                .into_iter()
                .filter_map(|(subsystem, event)| {
                    let format = self.get(&subsystem, &event).ok().flatten()?;
                    Some(((subsystem, event), format))
                })
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        match &self.source {
            FormatsSource::Loaded(formats) => formats.len(),
            FormatsSource::Dir(dir) => list_events_dir(dir).len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `(path, text)` of every `format` file in a (compressed) tar archive,
/// unparsed.
pub fn format_files_in_archive(
    bytes: Vec<u8>,
    what: &str,
) -> Result<Vec<(String, String)>, BtfError> {
    let archive = load::decompress(bytes, what)?;
    Ok(tar::entries(&archive, what)?
        .into_iter()
        .filter(|entry| split_format_path(&entry.path).is_some())
        .map(|entry| (entry.path, String::from_utf8_lossy(entry.data).into_owned()))
        .collect())
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && name != "." && name != ".."
}

fn list_events_dir(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(subsystems) = std::fs::read_dir(dir) else {
        return out;
    };
    for subsystem in subsystems.flatten() {
        let Ok(events) = std::fs::read_dir(subsystem.path()) else {
            continue;
        };
        for event in events.flatten() {
            if event.path().join("format").is_file() {
                out.push((
                    subsystem.file_name().to_string_lossy().into_owned(),
                    event.file_name().to_string_lossy().into_owned(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// `events/sched/sched_process_exec/format` → `("sched", "sched_process_exec")`.
fn split_format_path(path: &str) -> Option<(&str, &str)> {
    let path = path.strip_prefix("./").unwrap_or(path);
    let rest = path.strip_suffix("/format")?;
    let (before, event) = rest.rsplit_once('/')?;
    let subsystem = before.rsplit('/').next()?;
    Some((subsystem, event))
}

/// Turns a parsed format into the answer type, resolving field types against
/// the kernel's BTF when given.
pub(crate) fn info_from_format<G: TypeGraph + ?Sized>(
    graph: Option<&G>,
    subsystem: &str,
    event: &str,
    format: &EventFormat,
) -> TracepointInfo {
    let fields = format
        .fields
        .iter()
        .map(|field| TracepointField {
            name: field.name.clone(),
            c_type: field.c_type.clone(),
            offset: Some(field.offset),
            size: Some(field.size),
            signed: field.signed,
            location: field.location,
            array_len: field.array_len,
            common: field.is_common(),
            ty: resolve_c_type(graph, &field.c_type),
        })
        .collect();
    TracepointInfo {
        subsystem: subsystem.to_string(),
        event: event.to_string(),
        fields,
        source: TracepointSource::FormatFile,
    }
}

/// The real syscall parameters in a `syscalls/sys_enter_*` format.
pub(crate) fn syscall_params_from_format<G: TypeGraph + ?Sized>(
    graph: Option<&G>,
    format: &EventFormat,
) -> Vec<Param> {
    format
        .fields
        .iter()
        .filter(|field| !field.is_common() && field.name != "__syscall_nr")
        .map(|field| Param {
            name: field.name.clone(),
            ty: resolve_c_type(graph, &field.c_type),
        })
        .collect()
}

/// The four `common_*` fields, from `struct trace_entry` when the graph has it.
fn common_fields<G: TypeGraph + ?Sized>(graph: &G) -> Vec<TracepointField> {
    if let Some(entry) = graph.find_composite(CompositeKind::Struct, "trace_entry") {
        let fields = struct_fields(graph, entry, "common_");
        if !fields.is_empty() {
            return fields;
        }
    }
    [
        ("common_type", "unsigned short", 0, 2, false),
        ("common_flags", "unsigned char", 2, 1, false),
        ("common_preempt_count", "unsigned char", 3, 1, false),
        ("common_pid", "int", 4, 4, true),
    ]
    .into_iter()
    .map(|(name, c_type, offset, size, signed)| TracepointField {
        name: name.to_string(),
        c_type: c_type.to_string(),
        offset: Some(offset),
        size: Some(size),
        signed: Some(signed),
        location: FieldLocation::Inline,
        array_len: None,
        common: true,
        ty: resolve_c_type(Some(graph), c_type),
    })
    .collect()
}

fn struct_fields<G: TypeGraph + ?Sized>(graph: &G, id: u32, prefix: &str) -> Vec<TracepointField> {
    let mut out = Vec::new();
    for index in 0..graph.member_count(id) {
        let Some((name, ty)) = graph.member(id, index) else {
            continue;
        };
        let desc = graph::describe(graph, ty);
        let (name, location, c_type) = if let Some(rest) = name.strip_prefix("__data_loc_") {
            (rest, FieldLocation::DataLoc, "__data_loc".to_string())
        } else if let Some(rest) = name.strip_prefix("__rel_loc_") {
            (rest, FieldLocation::RelLoc, "__rel_loc".to_string())
        } else {
            (name, FieldLocation::Inline, desc.c.clone())
        };
        let signed = match desc.shape {
            super::types::TypeShape::Int { signed, .. }
            | super::types::TypeShape::Enum { signed, .. } => Some(signed),
            _ => None,
        };
        let array_len = match &desc.shape {
            super::types::TypeShape::Array { len, .. } => Some(*len),
            _ => None,
        };
        out.push(TracepointField {
            name: format!("{prefix}{name}"),
            c_type,
            offset: graph.member_bit_offset(id, index).map(|bits| bits / 8),
            size: if location == FieldLocation::Inline {
                desc.byte_size()
            } else {
                Some(4)
            },
            signed,
            location,
            array_len,
            common: !prefix.is_empty(),
            ty: if location == FieldLocation::Inline {
                desc
            } else {
                TypeDesc::unknown("__data_loc")
            },
        });
    }
    out
}

/// BTF fallback for a non-syscall event (see the module docs).
pub(crate) fn lookup_in_btf<G: TypeGraph + ?Sized>(
    graph: &G,
    subsystem: &str,
    event: &str,
) -> TracepointLookup {
    let typedef = format!("btf_trace_{event}");
    let has_typedef = graph.find_typedef(&typedef).is_some();
    let raw_name = format!("trace_event_raw_{event}");
    if let Some(raw) = graph.find_composite(CompositeKind::Struct, &raw_name) {
        let mut fields = common_fields(graph);
        let mut own = struct_fields(graph, raw, "");
        // The first member is `struct trace_entry ent`; the last is the
        // flexible `char __data[]` that holds dynamic data.
        if own.first().is_some_and(|field| field.name == "ent") {
            own.remove(0);
        }
        if own.last().is_some_and(|field| field.name == "__data") {
            own.pop();
        }
        fields.extend(own);
        return TracepointLookup::Found(TracepointInfo {
            subsystem: subsystem.to_string(),
            event: event.to_string(),
            fields,
            source: TracepointSource::BtfRawStruct {
                class: event.to_string(),
            },
        });
    }
    if has_typedef {
        return TracepointLookup::FieldsUnknown {
            reason: format!(
                "BTF has {typedef}, so the event exists, but its record layout belongs to an \
                 event class that BTF does not name (no struct {raw_name}); the subsystem is \
                 not checked either"
            ),
        };
    }
    TracepointLookup::Missing {
        reason: format!(
            "neither {typedef} nor struct {raw_name} is in this kernel's BTF (an event from a \
             module would not be there either)"
        ),
    }
}

/// True when the kernel was built with syscall tracepoints.
pub(crate) fn has_syscall_events<G: TypeGraph + ?Sized>(graph: &G) -> bool {
    graph
        .find_composite(CompositeKind::Struct, "syscall_trace_enter")
        .is_some()
}

/// The layout the kernel gives `sys_enter_<x>` (`enter == true`) or
/// `sys_exit_<x>` records: common fields, `int __syscall_nr`, then one 8-byte
/// slot per argument (or `long ret`).
pub(crate) fn syscall_event_info<G: TypeGraph + ?Sized>(
    graph: &G,
    event: &str,
    params: &[Param],
    source: TracepointSource,
) -> TracepointInfo {
    let enter = !matches!(source, TracepointSource::SyscallExitLayout);
    let mut fields = common_fields(graph);
    let slot = |name: &str, c_type: &str, offset: u32, size: u32, ty: TypeDesc| TracepointField {
        name: name.to_string(),
        c_type: c_type.to_string(),
        offset: Some(offset),
        size: Some(size),
        signed: None,
        location: FieldLocation::Inline,
        array_len: None,
        common: false,
        ty,
    };
    fields.push(slot(
        "__syscall_nr",
        "int",
        8,
        4,
        resolve_c_type(Some(graph), "int"),
    ));
    if enter {
        for (index, param) in params.iter().enumerate() {
            fields.push(slot(
                &param.name,
                &param.ty.c,
                16 + 8 * index as u32,
                8,
                param.ty.clone(),
            ));
        }
    } else {
        fields.push(slot(
            "ret",
            "long",
            16,
            8,
            resolve_c_type(Some(graph), "long"),
        ));
    }
    TracepointInfo {
        subsystem: "syscalls".to_string(),
        event: event.to_string(),
        fields,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_paths_split() {
        assert_eq!(
            split_format_path("events/sched/sched_process_exec/format"),
            Some(("sched", "sched_process_exec"))
        );
        assert_eq!(
            split_format_path("./events/syscalls/sys_enter_openat/format"),
            Some(("syscalls", "sys_enter_openat"))
        );
        assert_eq!(split_format_path("events/sched/enable"), None);
    }
}
