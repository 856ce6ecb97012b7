//! The payload of each event kind Tetragon exports today (`process_exec`,
//! `process_exit`, `process_kprobe`, `process_tracepoint`, `process_uprobe`,
//! `process_lsm`, `process_usdt`, `process_loader`, `process_throttle`,
//! `rate_limit_info`), fields in Tetragon's order.

use crate::args::KprobeArgument;
use crate::enums::{KprobeAction, ThrottleType};
use crate::process::{Process, StackTraceEntry};
use crate::value::{Base64Bytes, JsonInt, Timestamp};

proto_message! {
    /// `process_exec`: a process executed a binary.
    pub struct ProcessExec {
        process: Process = "process",
        parent: Process = "parent",
        /// Ancestors beyond the parent, nearest first.
        ancestors: Vec<Process> = "ancestors",
    }
}

proto_message! {
    /// `process_exit`: a process exited.
    pub struct ProcessExit {
        process: Process = "process",
        parent: Process = "parent",
        /// The signal that ended the process, such as `SIGKILL`.
        signal: String = "signal",
        /// The exit status.
        status: JsonInt<u32> = "status",
        time: Timestamp = "time",
        ancestors: Vec<Process> = "ancestors",
    }
}

proto_message! {
    /// `process_kprobe`: a kprobe (or fentry) hook of a policy fired.
    pub struct ProcessKprobe {
        process: Process = "process",
        parent: Process = "parent",
        /// The kernel function, as resolved (`__x64_sys_write`).
        function_name: String = "function_name",
        args: Vec<KprobeArgument> = "args",
        return_arg: KprobeArgument = "return",
        action: KprobeAction = "action",
        kernel_stack_trace: Vec<StackTraceEntry> = "kernel_stack_trace",
        policy_name: String = "policy_name",
        return_action: KprobeAction = "return_action",
        message: String = "message",
        tags: Vec<String> = "tags",
        user_stack_trace: Vec<StackTraceEntry> = "user_stack_trace",
        ancestors: Vec<Process> = "ancestors",
        data: Vec<KprobeArgument> = "data",
    }
}

proto_message! {
    /// `process_tracepoint`: a tracepoint (or raw tracepoint) hook fired.
    pub struct ProcessTracepoint {
        process: Process = "process",
        parent: Process = "parent",
        /// Tracepoint subsystem, such as `syscalls`.
        subsys: String = "subsys",
        /// Tracepoint event, such as `sys_enter_openat`.
        event: String = "event",
        args: Vec<KprobeArgument> = "args",
        policy_name: String = "policy_name",
        action: KprobeAction = "action",
        message: String = "message",
        tags: Vec<String> = "tags",
        ancestors: Vec<Process> = "ancestors",
    }
}

proto_message! {
    /// `process_uprobe`: a uprobe hook fired.
    pub struct ProcessUprobe {
        process: Process = "process",
        parent: Process = "parent",
        /// The binary or library probed.
        path: String = "path",
        /// The probed symbol.
        symbol: String = "symbol",
        policy_name: String = "policy_name",
        message: String = "message",
        args: Vec<KprobeArgument> = "args",
        tags: Vec<String> = "tags",
        ancestors: Vec<Process> = "ancestors",
        /// Probe offset (when not attached by symbol).
        offset: JsonInt<u64> = "offset",
        ref_ctr_offset: JsonInt<u64> = "ref_ctr_offset",
        /// What the policy did (newer Tetragon; older exports omit it).
        action: KprobeAction = "action",
        /// The values of the hook's `data:` entries (newer Tetragon).
        data: Vec<KprobeArgument> = "data",
    }
}

proto_message! {
    /// `process_lsm`: an LSM (BPF-LSM) hook fired.
    pub struct ProcessLsm {
        process: Process = "process",
        parent: Process = "parent",
        /// The LSM hook, such as `file_open`.
        function_name: String = "function_name",
        policy_name: String = "policy_name",
        message: String = "message",
        args: Vec<KprobeArgument> = "args",
        action: KprobeAction = "action",
        tags: Vec<String> = "tags",
        ancestors: Vec<Process> = "ancestors",
        /// IMA hash, `algorithm:value`.
        ima_hash: String = "ima_hash",
    }
}

proto_message! {
    /// `process_usdt`: a USDT probe fired.
    pub struct ProcessUsdt {
        process: Process = "process",
        parent: Process = "parent",
        path: String = "path",
        provider: String = "provider",
        name: String = "name",
        policy_name: String = "policy_name",
        message: String = "message",
        args: Vec<KprobeArgument> = "args",
        tags: Vec<String> = "tags",
        ancestors: Vec<Process> = "ancestors",
        /// What the policy did (newer Tetragon; older exports omit it).
        action: KprobeAction = "action",
        /// Tetragon's debug flags.
        flags: String = "flags",
    }
}

proto_message! {
    /// `process_loader`: a binary or library was mapped.
    pub struct ProcessLoader {
        process: Process = "process",
        path: String = "path",
        buildid: Base64Bytes = "buildid",
        parent: Process = "parent",
        ancestors: Vec<Process> = "ancestors",
    }
}

proto_message! {
    /// `process_throttle`: Tetragon started or stopped throttling a cgroup.
    pub struct ProcessThrottle {
        throttle_type: ThrottleType = "type",
        cgroup: String = "cgroup",
    }
}

proto_message! {
    /// `rate_limit_info`: events were dropped by rate limiting.
    pub struct RateLimitInfo {
        number_of_dropped_process_events: JsonInt<u64> = "number_of_dropped_process_events",
    }
}

proto_message! {
    /// `aggregation_info` of an aggregated event.
    pub struct AggregationInfo {
        count: JsonInt<u64> = "count",
    }
}
