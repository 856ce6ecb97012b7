//! Hook arguments (`args`, `return`, `data`): the `KprobeArgument` oneof as
//! the typed [`ArgValue`] enum, with its `label`, and the payload structs of
//! the argument kinds that are objects.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::enums::{BpfCmd, Capability, TaintedBits};
use crate::process::{Namespace, ProcessCredentials, UserNamespace};
use crate::value::{Base64Bytes, JsonInt, JsonStr, UnknownFields};

/// One argument of a hook event: its value (one kind of the protojson oneof)
/// and its optional `label` (the policy's `args[].label`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KprobeArgument {
    pub value: ArgValue,
    pub label: Option<String>,
    /// Keys this crate does not know, kept verbatim.
    pub unknown_fields: UnknownFields,
}

/// The value of an argument: which oneof key was set, with its payload.
/// Object payloads are boxed to keep arguments small.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ArgValue {
    /// No oneof key (`{}` or only a label).
    #[default]
    Unset,
    /// `string_arg`.
    String(String),
    /// `int_arg` (int32).
    Int(JsonInt<i32>),
    /// `skb_arg`.
    Skb(Box<KprobeSkb>),
    /// `size_arg` (uint64).
    Size(JsonInt<u64>),
    /// `bytes_arg` (base64).
    Bytes(Base64Bytes),
    /// `path_arg`.
    Path(Box<KprobePath>),
    /// `file_arg`.
    File(Box<KprobeFile>),
    /// `truncated_bytes_arg`.
    TruncatedBytes(Box<KprobeTruncatedBytes>),
    /// `sock_arg`.
    Sock(Box<KprobeSock>),
    /// `cred_arg`.
    Cred(Box<KprobeCred>),
    /// `long_arg` (int64).
    Long(JsonInt<i64>),
    /// `bpf_attr_arg`.
    BpfAttr(Box<KprobeBpfAttr>),
    /// `perf_event_arg`.
    PerfEvent(Box<KprobePerfEvent>),
    /// `bpf_map_arg`.
    BpfMap(Box<KprobeBpfMap>),
    /// `uint_arg` (uint32).
    Uint(JsonInt<u32>),
    /// `user_namespace_arg` (deprecated by Tetragon in favour of `user_ns_arg`).
    UserNamespace(Box<KprobeUserNamespace>),
    /// `capability_arg`.
    Capability(Box<KprobeCapability>),
    /// `process_credentials_arg`.
    ProcessCredentials(Box<ProcessCredentials>),
    /// `user_ns_arg`.
    UserNs(Box<UserNamespace>),
    /// `module_arg`.
    Module(Box<KernelModule>),
    /// `kernel_cap_t_arg` (hexadecimal capability mask).
    KernelCapT(String),
    /// `cap_inheritable_arg` (hexadecimal capability mask).
    CapInheritable(String),
    /// `cap_permitted_arg` (hexadecimal capability mask).
    CapPermitted(String),
    /// `cap_effective_arg` (hexadecimal capability mask).
    CapEffective(String),
    /// `linux_binprm_arg`.
    LinuxBinprm(Box<KprobeLinuxBinprm>),
    /// `net_dev_arg`.
    NetDev(Box<KprobeNetDev>),
    /// `bpf_cmd_arg`.
    BpfCmd(BpfCmd),
    /// `syscall_id`.
    SyscallId(Box<SyscallId>),
    /// `sockaddr_arg`.
    Sockaddr(Box<KprobeSockaddr>),
    /// `bpf_prog_arg`: a loaded BPF program (`type: bpf_prog`).
    BpfProg(Box<KprobeBpfProg>),
    /// `int32_list_arg`: an array of int32 (`type: int32_arr`, newest
    /// Tetragon).
    Int32List(Box<KprobeInt32List>),
    /// An argument kind this crate does not know: its key and value, verbatim.
    Other { key: String, value: Value },
}

/// Every oneof key this crate types, in proto order.
pub const ARG_KEYS: &[&str] = &[
    "string_arg",
    "int_arg",
    "skb_arg",
    "size_arg",
    "bytes_arg",
    "path_arg",
    "file_arg",
    "truncated_bytes_arg",
    "sock_arg",
    "cred_arg",
    "long_arg",
    "bpf_attr_arg",
    "perf_event_arg",
    "bpf_map_arg",
    "uint_arg",
    "user_namespace_arg",
    "capability_arg",
    "process_credentials_arg",
    "user_ns_arg",
    "module_arg",
    "kernel_cap_t_arg",
    "cap_inheritable_arg",
    "cap_permitted_arg",
    "cap_effective_arg",
    "linux_binprm_arg",
    "net_dev_arg",
    "bpf_cmd_arg",
    "syscall_id",
    "sockaddr_arg",
    "bpf_prog_arg",
    "int32_list_arg",
];

impl ArgValue {
    /// The JSON key of this kind (`None` when unset).
    pub fn key(&self) -> Option<&str> {
        Some(match self {
            ArgValue::Unset => return None,
            ArgValue::String(_) => "string_arg",
            ArgValue::Int(_) => "int_arg",
            ArgValue::Skb(_) => "skb_arg",
            ArgValue::Size(_) => "size_arg",
            ArgValue::Bytes(_) => "bytes_arg",
            ArgValue::Path(_) => "path_arg",
            ArgValue::File(_) => "file_arg",
            ArgValue::TruncatedBytes(_) => "truncated_bytes_arg",
            ArgValue::Sock(_) => "sock_arg",
            ArgValue::Cred(_) => "cred_arg",
            ArgValue::Long(_) => "long_arg",
            ArgValue::BpfAttr(_) => "bpf_attr_arg",
            ArgValue::PerfEvent(_) => "perf_event_arg",
            ArgValue::BpfMap(_) => "bpf_map_arg",
            ArgValue::Uint(_) => "uint_arg",
            ArgValue::UserNamespace(_) => "user_namespace_arg",
            ArgValue::Capability(_) => "capability_arg",
            ArgValue::ProcessCredentials(_) => "process_credentials_arg",
            ArgValue::UserNs(_) => "user_ns_arg",
            ArgValue::Module(_) => "module_arg",
            ArgValue::KernelCapT(_) => "kernel_cap_t_arg",
            ArgValue::CapInheritable(_) => "cap_inheritable_arg",
            ArgValue::CapPermitted(_) => "cap_permitted_arg",
            ArgValue::CapEffective(_) => "cap_effective_arg",
            ArgValue::LinuxBinprm(_) => "linux_binprm_arg",
            ArgValue::NetDev(_) => "net_dev_arg",
            ArgValue::BpfCmd(_) => "bpf_cmd_arg",
            ArgValue::SyscallId(_) => "syscall_id",
            ArgValue::Sockaddr(_) => "sockaddr_arg",
            ArgValue::BpfProg(_) => "bpf_prog_arg",
            ArgValue::Int32List(_) => "int32_list_arg",
            ArgValue::Other { key, .. } => key,
        })
    }

    /// The value as a signed integer, for the integer kinds
    /// (`int_arg`, `uint_arg`, `long_arg`, `size_arg` when it fits).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ArgValue::Int(value) => Some(i64::from(value.get())),
            ArgValue::Uint(value) => Some(i64::from(value.get())),
            ArgValue::Long(value) => Some(value.get()),
            ArgValue::Size(value) => i64::try_from(value.get()).ok(),
            _ => None,
        }
    }

    /// The value as an unsigned integer, for the integer kinds when it is
    /// not negative.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            ArgValue::Size(value) => Some(value.get()),
            other => other.as_i64().and_then(|value| u64::try_from(value).ok()),
        }
    }

    /// The text of `string_arg`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ArgValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// The path of `file_arg`, `path_arg` and `linux_binprm_arg`.
    pub fn path(&self) -> Option<&str> {
        match self {
            ArgValue::File(file) => file.path.as_deref(),
            ArgValue::Path(path) => path.path.as_deref(),
            ArgValue::LinuxBinprm(binprm) => binprm.path.as_deref(),
            _ => None,
        }
    }
}

impl KprobeArgument {
    /// An argument without label.
    pub fn new(value: ArgValue) -> Self {
        Self {
            value,
            label: None,
            unknown_fields: UnknownFields::new(),
        }
    }

    /// The same argument with a label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// `string_arg`.
    pub fn string(text: impl Into<String>) -> Self {
        Self::new(ArgValue::String(text.into()))
    }

    /// `int_arg`.
    pub fn int(value: i32) -> Self {
        Self::new(ArgValue::Int(JsonInt::new(value)))
    }

    /// `uint_arg`.
    pub fn uint(value: u32) -> Self {
        Self::new(ArgValue::Uint(JsonInt::new(value)))
    }

    /// `long_arg`.
    pub fn long(value: i64) -> Self {
        Self::new(ArgValue::Long(JsonInt::new(value)))
    }

    /// `size_arg`.
    pub fn size(value: u64) -> Self {
        Self::new(ArgValue::Size(JsonInt::new(value)))
    }

    /// `bytes_arg`.
    pub fn bytes(bytes: &[u8]) -> Self {
        Self::new(ArgValue::Bytes(Base64Bytes::encode(bytes)))
    }

    /// `file_arg` with only a path.
    pub fn file(path: impl Into<String>) -> Self {
        Self::new(ArgValue::File(Box::new(KprobeFile {
            path: Some(path.into()),
            ..KprobeFile::default()
        })))
    }

    /// The label, or `""`.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or_default()
    }
}

impl From<ArgValue> for KprobeArgument {
    fn from(value: ArgValue) -> Self {
        Self::new(value)
    }
}

impl Serialize for KprobeArgument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match &self.value {
            ArgValue::Unset => {}
            ArgValue::String(value)
            | ArgValue::KernelCapT(value)
            | ArgValue::CapInheritable(value)
            | ArgValue::CapPermitted(value)
            | ArgValue::CapEffective(value) => map.serialize_entry(self.value_key(), value)?,
            ArgValue::Int(value) => map.serialize_entry("int_arg", value)?,
            ArgValue::Skb(value) => map.serialize_entry("skb_arg", value)?,
            ArgValue::Size(value) => map.serialize_entry("size_arg", value)?,
            ArgValue::Bytes(value) => map.serialize_entry("bytes_arg", value)?,
            ArgValue::Path(value) => map.serialize_entry("path_arg", value)?,
            ArgValue::File(value) => map.serialize_entry("file_arg", value)?,
            ArgValue::TruncatedBytes(value) => map.serialize_entry("truncated_bytes_arg", value)?,
            ArgValue::Sock(value) => map.serialize_entry("sock_arg", value)?,
            ArgValue::Cred(value) => map.serialize_entry("cred_arg", value)?,
            ArgValue::Long(value) => map.serialize_entry("long_arg", value)?,
            ArgValue::BpfAttr(value) => map.serialize_entry("bpf_attr_arg", value)?,
            ArgValue::PerfEvent(value) => map.serialize_entry("perf_event_arg", value)?,
            ArgValue::BpfMap(value) => map.serialize_entry("bpf_map_arg", value)?,
            ArgValue::Uint(value) => map.serialize_entry("uint_arg", value)?,
            ArgValue::UserNamespace(value) => map.serialize_entry("user_namespace_arg", value)?,
            ArgValue::Capability(value) => map.serialize_entry("capability_arg", value)?,
            ArgValue::ProcessCredentials(value) => {
                map.serialize_entry("process_credentials_arg", value)?
            }
            ArgValue::UserNs(value) => map.serialize_entry("user_ns_arg", value)?,
            ArgValue::Module(value) => map.serialize_entry("module_arg", value)?,
            ArgValue::LinuxBinprm(value) => map.serialize_entry("linux_binprm_arg", value)?,
            ArgValue::NetDev(value) => map.serialize_entry("net_dev_arg", value)?,
            ArgValue::BpfCmd(value) => map.serialize_entry("bpf_cmd_arg", value)?,
            ArgValue::SyscallId(value) => map.serialize_entry("syscall_id", value)?,
            ArgValue::Sockaddr(value) => map.serialize_entry("sockaddr_arg", value)?,
            ArgValue::BpfProg(value) => map.serialize_entry("bpf_prog_arg", value)?,
            ArgValue::Int32List(value) => map.serialize_entry("int32_list_arg", value)?,
            ArgValue::Other { key, value } => map.serialize_entry(key, value)?,
        }
        if let Some(label) = &self.label {
            map.serialize_entry("label", label)?;
        }
        let label_set = self.label.is_some();
        self.unknown_fields
            .serialize_entries(&mut map, |key| key == "label" && label_set)?;
        map.end()
    }
}

impl KprobeArgument {
    fn value_key(&self) -> &str {
        self.value.key().unwrap_or_default()
    }
}

impl crate::value::ReadInto<'_> for KprobeArgument {}

impl<'de> Deserialize<'de> for KprobeArgument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ArgumentVisitor)
    }
}

struct ArgumentVisitor;

impl<'de> Visitor<'de> for ArgumentVisitor {
    type Value = KprobeArgument;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an argument object such as {\"int_arg\": 3}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KprobeArgument, A::Error> {
        let mut argument = KprobeArgument::default();
        while let Some(key) = map.next_key::<JsonStr<'de>>()? {
            let key_text = key.as_str();
            if key_text == "label" {
                match map.next_value::<Option<String>>()? {
                    Some(label) if argument.label.is_none() => argument.label = Some(label),
                    Some(_) => return Err(de::Error::duplicate_field("label")),
                    None => argument
                        .unknown_fields
                        .insert_unique::<A::Error>(key.into_string(), Value::Null)?,
                }
                continue;
            }
            let value = match key_text {
                "string_arg" => map.next_value::<Option<String>>()?.map(ArgValue::String),
                "int_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Int),
                "skb_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Skb),
                "size_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Size),
                "bytes_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Bytes),
                "path_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Path),
                "file_arg" => map.next_value::<Option<_>>()?.map(ArgValue::File),
                "truncated_bytes_arg" => {
                    map.next_value::<Option<_>>()?.map(ArgValue::TruncatedBytes)
                }
                "sock_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Sock),
                "cred_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Cred),
                "long_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Long),
                "bpf_attr_arg" => map.next_value::<Option<_>>()?.map(ArgValue::BpfAttr),
                "perf_event_arg" => map.next_value::<Option<_>>()?.map(ArgValue::PerfEvent),
                "bpf_map_arg" => map.next_value::<Option<_>>()?.map(ArgValue::BpfMap),
                "uint_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Uint),
                "user_namespace_arg" => map.next_value::<Option<_>>()?.map(ArgValue::UserNamespace),
                "capability_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Capability),
                "process_credentials_arg" => map
                    .next_value::<Option<_>>()?
                    .map(ArgValue::ProcessCredentials),
                "user_ns_arg" => map.next_value::<Option<_>>()?.map(ArgValue::UserNs),
                "module_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Module),
                "kernel_cap_t_arg" => map.next_value::<Option<_>>()?.map(ArgValue::KernelCapT),
                "cap_inheritable_arg" => {
                    map.next_value::<Option<_>>()?.map(ArgValue::CapInheritable)
                }
                "cap_permitted_arg" => map.next_value::<Option<_>>()?.map(ArgValue::CapPermitted),
                "cap_effective_arg" => map.next_value::<Option<_>>()?.map(ArgValue::CapEffective),
                "linux_binprm_arg" => map.next_value::<Option<_>>()?.map(ArgValue::LinuxBinprm),
                "net_dev_arg" => map.next_value::<Option<_>>()?.map(ArgValue::NetDev),
                "bpf_cmd_arg" => map.next_value::<Option<_>>()?.map(ArgValue::BpfCmd),
                "syscall_id" => map.next_value::<Option<_>>()?.map(ArgValue::SyscallId),
                "sockaddr_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Sockaddr),
                "bpf_prog_arg" => map.next_value::<Option<_>>()?.map(ArgValue::BpfProg),
                "int32_list_arg" => map.next_value::<Option<_>>()?.map(ArgValue::Int32List),
                _ => {
                    let value: Value = map.next_value()?;
                    argument
                        .unknown_fields
                        .insert_unique::<A::Error>(key.into_string(), value)?;
                    continue;
                }
            };
            match value {
                Some(value) if argument.value == ArgValue::Unset => argument.value = value,
                Some(_) => {
                    return Err(de::Error::custom(format_args!(
                        "argument has two values: `{}` and `{}`",
                        argument.value_key(),
                        key.as_str()
                    )));
                }
                None => argument
                    .unknown_fields
                    .insert_unique::<A::Error>(key.into_string(), Value::Null)?,
            }
        }
        // A lone unknown key is an argument kind newer than this crate.
        if argument.value == ArgValue::Unset && argument.unknown_fields.len() == 1 {
            let only = argument
                .unknown_fields
                .take_map()
                .and_then(|map| map.into_iter().next());
            if let Some((key, value)) = only {
                if value.is_null() {
                    argument.unknown_fields.insert(key, value);
                } else {
                    argument.value = ArgValue::Other { key, value };
                }
            }
        }
        Ok(argument)
    }
}

proto_message! {
    /// `skb_arg`: a socket buffer.
    pub struct KprobeSkb {
        hash: JsonInt<u32> = "hash",
        len: JsonInt<u32> = "len",
        priority: JsonInt<u32> = "priority",
        mark: JsonInt<u32> = "mark",
        saddr: String = "saddr",
        daddr: String = "daddr",
        sport: JsonInt<u32> = "sport",
        dport: JsonInt<u32> = "dport",
        proto: JsonInt<u32> = "proto",
        sec_path_len: JsonInt<u32> = "sec_path_len",
        sec_path_olen: JsonInt<u32> = "sec_path_olen",
        protocol: String = "protocol",
        family: String = "family",
    }
}

proto_message! {
    /// `sock_arg`: a socket.
    pub struct KprobeSock {
        family: String = "family",
        sock_type: String = "type",
        protocol: String = "protocol",
        mark: JsonInt<u32> = "mark",
        priority: JsonInt<u32> = "priority",
        saddr: String = "saddr",
        daddr: String = "daddr",
        sport: JsonInt<u32> = "sport",
        dport: JsonInt<u32> = "dport",
        cookie: JsonInt<u64> = "cookie",
        state: String = "state",
    }
}

proto_message! {
    /// `path_arg`: a `struct path`.
    pub struct KprobePath {
        mount: String = "mount",
        path: String = "path",
        flags: String = "flags",
        permission: String = "permission",
    }
}

proto_message! {
    /// `file_arg`: a `struct file`.
    pub struct KprobeFile {
        mount: String = "mount",
        path: String = "path",
        flags: String = "flags",
        permission: String = "permission",
    }
}

proto_message! {
    /// `truncated_bytes_arg`: a buffer cut at the read limit.
    pub struct KprobeTruncatedBytes {
        bytes_arg: Base64Bytes = "bytes_arg",
        /// The size before truncation.
        orig_size: JsonInt<u64> = "orig_size",
    }
}

proto_message! {
    /// `cred_arg`: the capability sets of a `struct cred`.
    pub struct KprobeCred {
        permitted: Vec<Capability> = "permitted",
        effective: Vec<Capability> = "effective",
        inheritable: Vec<Capability> = "inheritable",
    }
}

proto_message! {
    /// `bpf_attr_arg`: a program load.
    pub struct KprobeBpfAttr {
        prog_type: String = "ProgType",
        insn_cnt: JsonInt<u32> = "InsnCnt",
        prog_name: String = "ProgName",
    }
}

proto_message! {
    /// `perf_event_arg`: a perf event.
    pub struct KprobePerfEvent {
        kprobe_func: String = "KprobeFunc",
        event_type: String = "Type",
        config: JsonInt<u64> = "Config",
        probe_offset: JsonInt<u64> = "ProbeOffset",
    }
}

proto_message! {
    /// `bpf_map_arg`: a map creation.
    pub struct KprobeBpfMap {
        map_type: String = "MapType",
        key_size: JsonInt<u32> = "KeySize",
        value_size: JsonInt<u32> = "ValueSize",
        max_entries: JsonInt<u32> = "MaxEntries",
        map_name: String = "MapName",
    }
}

proto_message! {
    /// `user_namespace_arg` (deprecated form of `user_ns_arg`).
    pub struct KprobeUserNamespace {
        level: JsonInt<i32> = "level",
        owner: JsonInt<u32> = "owner",
        group: JsonInt<u32> = "group",
        ns: Namespace = "ns",
    }
}

proto_message! {
    /// `capability_arg`: one capability.
    pub struct KprobeCapability {
        value: JsonInt<i32> = "value",
        name: String = "name",
    }
}

impl KprobeCapability {
    /// The capability, from `name` or else from `value`.
    pub fn capability(&self) -> Option<Capability> {
        if let Some(name) = &self.name {
            return Some(Capability::from_name(name));
        }
        self.value
            .and_then(|value| Capability::from_number(value.get()))
    }
}

proto_message! {
    /// `module_arg`: a kernel module.
    pub struct KernelModule {
        name: String = "name",
        signature_ok: bool = "signature_ok",
        tainted: Vec<TaintedBits> = "tainted",
    }
}

proto_message! {
    /// `linux_binprm_arg`: the binary of an exec.
    pub struct KprobeLinuxBinprm {
        path: String = "path",
        flags: String = "flags",
        permission: String = "permission",
    }
}

proto_message! {
    /// `net_dev_arg`: a network device.
    pub struct KprobeNetDev {
        name: String = "name",
    }
}

proto_message! {
    /// `syscall_id`: a system call number and ABI.
    pub struct SyscallId {
        id: JsonInt<u32> = "id",
        abi: String = "abi",
    }
}

proto_message! {
    /// `sockaddr_arg`: a socket address.
    pub struct KprobeSockaddr {
        family: String = "family",
        addr: String = "addr",
        port: JsonInt<u32> = "port",
    }
}

proto_message! {
    /// `bpf_prog_arg`: a BPF program being loaded (same fields as
    /// `bpf_attr_arg`, read from the `struct bpf_prog`).
    pub struct KprobeBpfProg {
        prog_type: String = "ProgType",
        insn_cnt: JsonInt<u32> = "InsnCnt",
        prog_name: String = "ProgName",
    }
}

proto_message! {
    /// `int32_list_arg`: the values of an `int32_arr` argument.
    pub struct KprobeInt32List {
        values: Vec<JsonInt<i32>> = "values",
    }
}
