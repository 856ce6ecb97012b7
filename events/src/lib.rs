//! Tetragon event model (JSON export shape), shared by the simulator and the runtime.
//!
//! An [`Event`] is one object of Tetragon's JSON export (`tetra getevents -o
//! json`, the export file): exactly one event kind key (`process_exec`,
//! `process_exit`, `process_kprobe`, `process_tracepoint`, `process_uprobe`,
//! `process_lsm`, `process_usdt`, `process_loader`, `process_throttle`,
//! `rate_limit_info`) plus `node_name`, `time`, `cluster_name`,
//! `aggregation_info`, `node_labels`. Field names are protojson's with proto
//! names (`exec_id`, `function_name`), enums are their names
//! (`KPROBE_ACTION_POST`), `bytes` are base64, 64-bit integers are strings.
//!
//! # Reading
//!
//! [`EventReader`] takes JSON lines, a file holding one pretty-printed event,
//! or several concatenated values, and yields `(Position, Result<Event,
//! EventError>)` for every value, in order; the position is where the value
//! starts (1-based line). Nothing is skipped silently: malformed JSON, a
//! value that is not an object, an object with no (or two) kind keys all come
//! back as errors with their line, and the caller decides.
//!
//! ```
//! use tpc_events::{EventKind, EventReader, Hook};
//!
//! let input = concat!(
//!     r#"{"process_kprobe":{"process":{"pid":42,"binary":"/usr/bin/cat"},"function_name":"__x64_sys_openat","#,
//!     r#""args":[{"int_arg":-100},{"string_arg":"/etc/passwd","label":"path"}],"action":"KPROBE_ACTION_POST"},"#,
//!     r#""node_name":"node-1","time":"2024-05-01T10:00:00.000000001Z"}"#, "\n",
//!     "not json\n",
//! );
//! let mut events = EventReader::new(input.as_bytes());
//!
//! let (position, event) = events.next().unwrap();
//! let event = event.unwrap();
//! assert_eq!(position.line, 1);
//! assert_eq!(event.kind(), EventKind::ProcessKprobe);
//! assert_eq!(event.hook(), Some(Hook::Kprobe { function: "__x64_sys_openat" }));
//! assert_eq!(event.process().and_then(|process| process.pid()), Some(42));
//! assert_eq!(event.args()[1].value.as_str(), Some("/etc/passwd"));
//! assert_eq!(event.args()[1].label(), "path");
//! assert_eq!(event.time_unix_nanos(), Some(1_714_557_600_000_000_001));
//!
//! let (position, error) = events.next().unwrap();
//! assert_eq!(position.line, 2);
//! assert!(error.is_err());
//! assert!(events.next().is_none());
//! ```
//!
//! ## Skipping cheaply
//!
//! A replay that only cares about some hooks can read each record's kind and
//! hook first ([`EventReader::next_record`], [`EventSummary`]) and decode the
//! rest only for the records it keeps. The summary skips everything else of
//! the event while still checking that it is well-formed JSON, at several
//! times the speed of a full decode. [`EventRecord::parse_into`] decodes
//! into an event decoded before, reusing its strings and boxes, for a
//! reader that goes through many events.
//!
//! ```
//! use tpc_events::{EventReader, Hook};
//!
//! let input = concat!(
//!     r#"{"process_exec":{"process":{"pid":7,"binary":"/bin/sh"}}}"#, "\n",
//!     r#"{"process_tracepoint":{"process":{"pid":7},"subsys":"syscalls","event":"sys_enter_openat","#,
//!     r#""args":[{"string_arg":"/etc/shadow"}],"policy_name":"watch"}}"#, "\n",
//! );
//! let mut reader = EventReader::new(input.as_bytes());
//! let mut opened = Vec::new();
//! while let Some((position, record)) = reader.next_record() {
//!     let record = record.expect("well-formed input");
//!     if record.summary().hook() != Some(Hook::Tracepoint { subsys: "syscalls", event: "sys_enter_openat" }) {
//!         continue;
//!     }
//!     let event = record.parse().expect("a valid event");
//!     opened.push((position.line, event.args()[0].value.as_str().map(str::to_owned)));
//! }
//! assert_eq!(opened, [(2, Some("/etc/shadow".to_owned()))]);
//! ```
//!
//! # Building
//!
//! ```
//! use tpc_events::{Event, KprobeAction, KprobeArgument, Process, ProcessTracepoint, Timestamp};
//!
//! let process = Process::new("bm9kZToxMjM0NTY3ODk6NDI=", 42, "/usr/bin/cat");
//! let exec = Event::process_exec(process.clone(), None, Timestamp::from_unix_nanos(1_714_557_600_000_000_000));
//! assert_eq!(
//!     exec.to_json_line(),
//!     r#"{"process_exec":{"process":{"exec_id":"bm9kZToxMjM0NTY3ODk6NDI=","pid":42,"binary":"/usr/bin/cat"}},"time":"2024-05-01T10:00:00Z"}"#,
//! );
//!
//! let mut hook = Event::new(ProcessTracepoint {
//!     process: Some(process),
//!     subsys: Some("syscalls".into()),
//!     event: Some("sys_enter_openat".into()),
//!     args: Some(vec![KprobeArgument::string("/etc/passwd").with_label("path"), KprobeArgument::size(4096)]),
//!     ..ProcessTracepoint::default()
//! });
//! hook.set_policy_name("watch-passwd").unwrap();
//! hook.set_action(KprobeAction::Post).unwrap();
//! assert!(hook.to_json_line().contains(r#""args":[{"string_arg":"/etc/passwd","label":"path"},{"size_arg":"4096"}]"#));
//! ```
//!
//! # Decisions
//!
//! - **Every field is an `Option`**, so that presence round-trips: a parsed
//!   then written event equals its input (compared as JSON values). Unknown
//!   keys, anywhere, are kept in each object's `unknown_fields` and written
//!   back after the known keys of the same object. A known key given as
//!   `null` is kept there as `null`.
//! - **Integers** ([`JsonInt`]) accept a JSON number or a decimal string for
//!   every integer type (protojson writes 64-bit ones as strings) and
//!   remember which, so they are written back the same way. Values built
//!   with [`JsonInt::new`] use protojson's form.
//! - **Enums** (`action`, capabilities, ...) accept names and numbers; an
//!   unknown name is `Other(name)`, a number is `Numeric(n)`, both written
//!   back as read. [`Event::action`] resolves numbers to names.
//! - **Timestamps** ([`Timestamp`]) keep their RFC 3339 text and its
//!   nanoseconds since the epoch; **bytes** ([`Base64Bytes`]) keep their
//!   base64 text (checked on read) and decode on demand.
//! - **Kinds** this crate does not type (the `process_connect`,
//!   `process_close`, `process_listen` of older Tetragon, or any unknown
//!   key holding an object when no known kind is present) load as
//!   [`EventBody::Other`], kept verbatim; no hook matches them.
//! - The serde impls are written by hand (through two macros) instead of
//!   derived with `#[serde(flatten)]` for the unknown keys, which cannot keep
//!   an explicit `null` of a typed field (see `macros.rs`; speed was about
//!   the same). For speed: keys are borrowed from the input, UTF-8 is
//!   checked once per value, timestamps are stored inline, payloads are
//!   boxed, JSON lines are parsed in place in the reader's buffer, and
//!   [`EventReader::next_record`] lets a replay skip events after reading
//!   only their kind and hook. The summary is read by a hand-written
//!   scanner (`scan.rs`) that does not allocate; it answers only when it is
//!   sure the serde-based summary would say the same, and leaves the rest
//!   (errors included) to it; differential tests hold the two together.
//!   `benches/parse.rs` measures throughput and compares with `jq`.

#[macro_use]
mod macros;

mod args;
mod enums;
mod error;
mod event;
mod kinds;
mod process;
mod reader;
mod scan;
mod summary;
mod value;

pub use args::{
    ARG_KEYS, ArgValue, KernelModule, KprobeArgument, KprobeBpfAttr, KprobeBpfMap, KprobeBpfProg,
    KprobeCapability, KprobeCred, KprobeFile, KprobeInt32List, KprobeLinuxBinprm, KprobeNetDev,
    KprobePath, KprobePerfEvent, KprobeSkb, KprobeSock, KprobeSockaddr, KprobeTruncatedBytes,
    KprobeUserNamespace, SyscallId,
};
pub use enums::{
    BpfCmd, Capability, KprobeAction, PrivilegesChanged, SecureBits, TaintedBits, ThrottleType,
};
pub use error::EventError;
pub use event::{Event, EventBody, EventKind, Hook, UNTYPED_KIND_KEYS, uprobe_return_position};
pub use kinds::{
    AggregationInfo, ProcessExec, ProcessExit, ProcessKprobe, ProcessLoader, ProcessLsm,
    ProcessThrottle, ProcessTracepoint, ProcessUprobe, ProcessUsdt, RateLimitInfo,
};
pub use process::{
    BinaryProperties, Capabilities, Container, EnvVar, FileProperties, Image, InodeProperties,
    Namespace, Namespaces, Pod, Process, ProcessCredentials, SecurityContext, StackTraceEntry,
    UserNamespace, UserRecord,
};
pub use reader::{EventReader, EventRecord, Position};
pub use summary::EventSummary;
pub use value::{Base64Bytes, JsonInt, ProtoInteger, StringMap, Timestamp, UnknownFields};
