//! The `process` object of every event (and `parent`, `ancestors`) with its
//! pod, capabilities, namespaces and credentials; also stack trace entries.

use crate::enums::{Capability, PrivilegesChanged, SecureBits};
use crate::value::{Base64Bytes, JsonInt, StringMap, Timestamp};

proto_message! {
    /// A process as Tetragon describes it (`process`, `parent`, `ancestors`).
    pub struct Process {
        /// Identifies the process over time, across the nodes of a cluster.
        exec_id: String = "exec_id",
        /// PID in the host PID namespace.
        pid: JsonInt<u32> = "pid",
        /// Effective UID.
        uid: JsonInt<u32> = "uid",
        /// Current working directory.
        cwd: String = "cwd",
        /// Absolute path of the executed binary.
        binary: String = "binary",
        /// Arguments, space separated, without the binary.
        arguments: String = "arguments",
        /// Tetragon's debug flags, such as `execve clone`.
        flags: String = "flags",
        /// When the process was executed.
        start_time: Timestamp = "start_time",
        /// Audit user ID.
        auid: JsonInt<u32> = "auid",
        /// Kubernetes pod of the process.
        pod: Box<Pod> = "pod",
        /// The first digits of the container ID.
        docker: String = "docker",
        /// `exec_id` of the parent.
        parent_exec_id: String = "parent_exec_id",
        /// Reference count in Tetragon's process cache.
        refcnt: JsonInt<u32> = "refcnt",
        /// Capability sets.
        cap: Box<Capabilities> = "cap",
        /// Linux namespaces.
        ns: Box<Namespaces> = "ns",
        /// Thread ID.
        tid: JsonInt<u32> = "tid",
        /// All user and group IDs, capabilities and user namespace.
        process_credentials: Box<ProcessCredentials> = "process_credentials",
        /// Properties of the executed binary (setuid, file capabilities).
        binary_properties: Box<BinaryProperties> = "binary_properties",
        /// User name record.
        user: Box<UserRecord> = "user",
        /// Whether a containerized process descends from the container's PID 1.
        in_init_tree: bool = "in_init_tree",
        /// Environment variables of the exec (newer Tetragon, when enabled).
        environment_variables: Vec<EnvVar> = "environment_variables",
    }
}

impl Process {
    /// A process with the fields every producer knows.
    pub fn new(exec_id: impl Into<String>, pid: u32, binary: impl Into<String>) -> Self {
        Self {
            exec_id: Some(exec_id.into()),
            pid: Some(JsonInt::new(pid)),
            binary: Some(binary.into()),
            ..Self::default()
        }
    }

    /// An `exec_id` built the way Tetragon builds them: base64 of
    /// `<node name>:<process start, kernel ktime in ns>:<pid>`.
    pub fn tetragon_exec_id(node_name: &str, start_ktime_nanos: u64, pid: u32) -> String {
        let text = format!("{node_name}:{start_ktime_nanos}:{pid}");
        Base64Bytes::encode(text.as_bytes()).as_str().to_owned()
    }

    /// `exec_id`, or `""`.
    pub fn exec_id(&self) -> &str {
        self.exec_id.as_deref().unwrap_or_default()
    }

    /// `pid`.
    pub fn pid(&self) -> Option<u32> {
        self.pid.map(JsonInt::get)
    }

    /// `uid`.
    pub fn uid(&self) -> Option<u32> {
        self.uid.map(JsonInt::get)
    }

    /// `tid`.
    pub fn tid(&self) -> Option<u32> {
        self.tid.map(JsonInt::get)
    }

    /// `binary`, or `""`.
    pub fn binary(&self) -> &str {
        self.binary.as_deref().unwrap_or_default()
    }

    /// `arguments`, or `""`.
    pub fn arguments(&self) -> &str {
        self.arguments.as_deref().unwrap_or_default()
    }

    /// `cwd`, or `""`.
    pub fn cwd(&self) -> &str {
        self.cwd.as_deref().unwrap_or_default()
    }

    /// `parent_exec_id`, or `""`.
    pub fn parent_exec_id(&self) -> &str {
        self.parent_exec_id.as_deref().unwrap_or_default()
    }

    /// The PID inside the container's PID namespace, when in a pod.
    pub fn container_pid(&self) -> Option<u32> {
        self.pod.as_ref()?.container.as_ref()?.pid.map(JsonInt::get)
    }
}

proto_message! {
    /// A Kubernetes pod.
    pub struct Pod {
        namespace: String = "namespace",
        name: String = "name",
        /// Cilium identity labels (older Tetragon).
        labels: Vec<String> = "labels",
        uid: String = "uid",
        container: Container = "container",
        pod_labels: StringMap = "pod_labels",
        workload: String = "workload",
        workload_kind: String = "workload_kind",
        pod_annotations: StringMap = "pod_annotations",
    }
}

proto_message! {
    /// The container a process runs in.
    pub struct Container {
        id: String = "id",
        name: String = "name",
        image: Image = "image",
        start_time: Timestamp = "start_time",
        /// PID in the container's PID namespace.
        pid: JsonInt<u32> = "pid",
        maybe_exec_probe: bool = "maybe_exec_probe",
        security_context: SecurityContext = "security_context",
    }
}

proto_message! {
    /// A container image.
    pub struct Image {
        id: String = "id",
        name: String = "name",
    }
}

proto_message! {
    /// A container's security context.
    pub struct SecurityContext {
        privileged: bool = "privileged",
    }
}

proto_message! {
    /// The three capability sets of a process.
    pub struct Capabilities {
        permitted: Vec<Capability> = "permitted",
        effective: Vec<Capability> = "effective",
        inheritable: Vec<Capability> = "inheritable",
    }
}

proto_message! {
    /// One Linux namespace of a process.
    pub struct Namespace {
        /// Inode number.
        inum: JsonInt<u32> = "inum",
        /// Whether it is the host's namespace.
        is_host: bool = "is_host",
    }
}

proto_message! {
    /// The Linux namespaces of a process.
    pub struct Namespaces {
        uts: Namespace = "uts",
        ipc: Namespace = "ipc",
        mnt: Namespace = "mnt",
        pid: Namespace = "pid",
        pid_for_children: Namespace = "pid_for_children",
        net: Namespace = "net",
        time: Namespace = "time",
        time_for_children: Namespace = "time_for_children",
        cgroup: Namespace = "cgroup",
        user: Namespace = "user",
    }
}

proto_message! {
    /// User and group IDs, capabilities and user namespace of a process.
    pub struct ProcessCredentials {
        uid: JsonInt<u32> = "uid",
        gid: JsonInt<u32> = "gid",
        euid: JsonInt<u32> = "euid",
        egid: JsonInt<u32> = "egid",
        suid: JsonInt<u32> = "suid",
        sgid: JsonInt<u32> = "sgid",
        fsuid: JsonInt<u32> = "fsuid",
        fsgid: JsonInt<u32> = "fsgid",
        securebits: Vec<SecureBits> = "securebits",
        caps: Capabilities = "caps",
        user_ns: UserNamespace = "user_ns",
    }
}

proto_message! {
    /// A user namespace (`user_ns`, `user_ns_arg`).
    pub struct UserNamespace {
        /// Nesting level; the host's is 0.
        level: JsonInt<i32> = "level",
        /// Owner UID.
        uid: JsonInt<u32> = "uid",
        /// Owner GID.
        gid: JsonInt<u32> = "gid",
        ns: Namespace = "ns",
    }
}

proto_message! {
    /// Properties of an executed binary.
    pub struct BinaryProperties {
        setuid: JsonInt<u32> = "setuid",
        setgid: JsonInt<u32> = "setgid",
        privileges_changed: Vec<PrivilegesChanged> = "privileges_changed",
        file: FileProperties = "file",
    }
}

proto_message! {
    /// A file executed from memory or deleted.
    pub struct FileProperties {
        inode: InodeProperties = "inode",
        path: String = "path",
    }
}

proto_message! {
    /// An inode.
    pub struct InodeProperties {
        number: JsonInt<u64> = "number",
        links: JsonInt<u32> = "links",
    }
}

proto_message! {
    /// One environment variable (`environment_variables`; Tetragon names
    /// the keys `Key` and `Value`).
    pub struct EnvVar {
        key: String = "Key",
        value: String = "Value",
    }
}

proto_message! {
    /// A user name.
    pub struct UserRecord {
        name: String = "name",
    }
}

proto_message! {
    /// One frame of a kernel or user stack trace.
    pub struct StackTraceEntry {
        address: JsonInt<u64> = "address",
        offset: JsonInt<u64> = "offset",
        symbol: String = "symbol",
        module: String = "module",
    }
}
