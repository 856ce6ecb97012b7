//! The protojson enums of Tetragon's events (`action`, capability names,
//! secure bits, privilege changes, kernel taint bits, bpf commands, throttle
//! types), each open to names and numbers this crate does not know.

proto_enum! {
    /// What a policy did when a hook matched (`action`, `return_action`).
    pub enum KprobeAction {
        Unknown = ("KPROBE_ACTION_UNKNOWN", 0),
        Post = ("KPROBE_ACTION_POST", 1),
        FollowFd = ("KPROBE_ACTION_FOLLOWFD", 2),
        Sigkill = ("KPROBE_ACTION_SIGKILL", 3),
        UnfollowFd = ("KPROBE_ACTION_UNFOLLOWFD", 4),
        Override = ("KPROBE_ACTION_OVERRIDE", 5),
        CopyFd = ("KPROBE_ACTION_COPYFD", 6),
        GetUrl = ("KPROBE_ACTION_GETURL", 7),
        DnsLookup = ("KPROBE_ACTION_DNSLOOKUP", 8),
        NoPost = ("KPROBE_ACTION_NOPOST", 9),
        Signal = ("KPROBE_ACTION_SIGNAL", 10),
        TrackSock = ("KPROBE_ACTION_TRACKSOCK", 11),
        UntrackSock = ("KPROBE_ACTION_UNTRACKSOCK", 12),
        NotifyEnforcer = ("KPROBE_ACTION_NOTIFYENFORCER", 13),
        CleanupEnforcerNotification = ("KPROBE_ACTION_CLEANUPENFORCERNOTIFICATION", 14),
        Set = ("KPROBE_ACTION_SET", 15),
    }
}

proto_enum! {
    /// A Linux capability; the number is its bit in a capability set.
    /// (Tetragon names bit 1 `DAC_OVERRIDE`, without the `CAP_` prefix.)
    pub enum Capability {
        Chown = ("CAP_CHOWN", 0),
        DacOverride = ("DAC_OVERRIDE", 1),
        DacReadSearch = ("CAP_DAC_READ_SEARCH", 2),
        Fowner = ("CAP_FOWNER", 3),
        Fsetid = ("CAP_FSETID", 4),
        Kill = ("CAP_KILL", 5),
        Setgid = ("CAP_SETGID", 6),
        Setuid = ("CAP_SETUID", 7),
        Setpcap = ("CAP_SETPCAP", 8),
        LinuxImmutable = ("CAP_LINUX_IMMUTABLE", 9),
        NetBindService = ("CAP_NET_BIND_SERVICE", 10),
        NetBroadcast = ("CAP_NET_BROADCAST", 11),
        NetAdmin = ("CAP_NET_ADMIN", 12),
        NetRaw = ("CAP_NET_RAW", 13),
        IpcLock = ("CAP_IPC_LOCK", 14),
        IpcOwner = ("CAP_IPC_OWNER", 15),
        SysModule = ("CAP_SYS_MODULE", 16),
        SysRawio = ("CAP_SYS_RAWIO", 17),
        SysChroot = ("CAP_SYS_CHROOT", 18),
        SysPtrace = ("CAP_SYS_PTRACE", 19),
        SysPacct = ("CAP_SYS_PACCT", 20),
        SysAdmin = ("CAP_SYS_ADMIN", 21),
        SysBoot = ("CAP_SYS_BOOT", 22),
        SysNice = ("CAP_SYS_NICE", 23),
        SysResource = ("CAP_SYS_RESOURCE", 24),
        SysTime = ("CAP_SYS_TIME", 25),
        SysTtyConfig = ("CAP_SYS_TTY_CONFIG", 26),
        Mknod = ("CAP_MKNOD", 27),
        Lease = ("CAP_LEASE", 28),
        AuditWrite = ("CAP_AUDIT_WRITE", 29),
        AuditControl = ("CAP_AUDIT_CONTROL", 30),
        Setfcap = ("CAP_SETFCAP", 31),
        MacOverride = ("CAP_MAC_OVERRIDE", 32),
        MacAdmin = ("CAP_MAC_ADMIN", 33),
        Syslog = ("CAP_SYSLOG", 34),
        WakeAlarm = ("CAP_WAKE_ALARM", 35),
        BlockSuspend = ("CAP_BLOCK_SUSPEND", 36),
        AuditRead = ("CAP_AUDIT_READ", 37),
        Perfmon = ("CAP_PERFMON", 38),
        Bpf = ("CAP_BPF", 39),
        CheckpointRestore = ("CAP_CHECKPOINT_RESTORE", 40),
    }
}

proto_enum! {
    /// A secure-bits flag of a process (`process_credentials.securebits`).
    pub enum SecureBits {
        NotSet = ("SecBitNotSet", 0),
        NoRoot = ("SecBitNoRoot", 1),
        NoRootLocked = ("SecBitNoRootLocked", 2),
        NoSetUidFixup = ("SecBitNoSetUidFixup", 4),
        NoSetUidFixupLocked = ("SecBitNoSetUidFixupLocked", 8),
        KeepCaps = ("SecBitKeepCaps", 16),
        KeepCapsLocked = ("SecBitKeepCapsLocked", 32),
        NoCapAmbientRaise = ("SecBitNoCapAmbientRaise", 64),
        NoCapAmbientRaiseLocked = ("SecBitNoCapAmbientRaiseLocked", 128),
    }
}

proto_enum! {
    /// Why an exec changed the privileges of a process
    /// (`binary_properties.privileges_changed`).
    pub enum PrivilegesChanged {
        Unset = ("PRIVILEGES_CHANGED_UNSET", 0),
        RaisedExecFileCap = ("PRIVILEGES_RAISED_EXEC_FILE_CAP", 1),
        RaisedExecFileSetuid = ("PRIVILEGES_RAISED_EXEC_FILE_SETUID", 2),
        RaisedExecFileSetgid = ("PRIVILEGES_RAISED_EXEC_FILE_SETGID", 3),
    }
}

proto_enum! {
    /// A kernel taint flag set by loading a module (`module_arg.tainted`).
    pub enum TaintedBits {
        Unset = ("TAINT_UNSET", 0),
        ProprietaryModule = ("TAINT_PROPRIETARY_MODULE", 1),
        ForcedModule = ("TAINT_FORCED_MODULE", 2),
        ForcedUnloadModule = ("TAINT_FORCED_UNLOAD_MODULE", 4),
        StagedModule = ("TAINT_STAGED_MODULE", 1024),
        OutOfTreeModule = ("TAINT_OUT_OF_TREE_MODULE", 4096),
        UnsignedModule = ("TAINT_UNSIGNED_MODULE", 8192),
        KernelLivePatchModule = ("TAINT_KERNEL_LIVE_PATCH_MODULE", 32768),
        TestModule = ("TAINT_TEST_MODULE", 262144),
    }
}

proto_enum! {
    /// A `bpf(2)` command (`bpf_cmd_arg`).
    pub enum BpfCmd {
        MapCreate = ("BPF_MAP_CREATE", 0),
        MapLookupElem = ("BPF_MAP_LOOKUP_ELEM", 1),
        MapUpdateElem = ("BPF_MAP_UPDATE_ELEM", 2),
        MapDeleteElem = ("BPF_MAP_DELETE_ELEM", 3),
        MapGetNextKey = ("BPF_MAP_GET_NEXT_KEY", 4),
        ProgLoad = ("BPF_PROG_LOAD", 5),
        ObjPin = ("BPF_OBJ_PIN", 6),
        ObjGet = ("BPF_OBJ_GET", 7),
        ProgAttach = ("BPF_PROG_ATTACH", 8),
        ProgDetach = ("BPF_PROG_DETACH", 9),
        ProgTestRun = ("BPF_PROG_TEST_RUN", 10),
        ProgGetNextId = ("BPF_PROG_GET_NEXT_ID", 11),
        MapGetNextId = ("BPF_MAP_GET_NEXT_ID", 12),
        ProgGetFdById = ("BPF_PROG_GET_FD_BY_ID", 13),
        MapGetFdById = ("BPF_MAP_GET_FD_BY_ID", 14),
        ObjGetInfoByFd = ("BPF_OBJ_GET_INFO_BY_FD", 15),
        ProgQuery = ("BPF_PROG_QUERY", 16),
        RawTracepointOpen = ("BPF_RAW_TRACEPOINT_OPEN", 17),
        BtfLoad = ("BPF_BTF_LOAD", 18),
        BtfGetFdById = ("BPF_BTF_GET_FD_BY_ID", 19),
        TaskFdQuery = ("BPF_TASK_FD_QUERY", 20),
        MapLookupAndDeleteElem = ("BPF_MAP_LOOKUP_AND_DELETE_ELEM", 21),
        MapFreeze = ("BPF_MAP_FREEZE", 22),
        BtfGetNextId = ("BPF_BTF_GET_NEXT_ID", 23),
        MapLookupBatch = ("BPF_MAP_LOOKUP_BATCH", 24),
        MapLookupAndDeleteBatch = ("BPF_MAP_LOOKUP_AND_DELETE_BATCH", 25),
        MapUpdateBatch = ("BPF_MAP_UPDATE_BATCH", 26),
        MapDeleteBatch = ("BPF_MAP_DELETE_BATCH", 27),
        LinkCreate = ("BPF_LINK_CREATE", 28),
        LinkUpdate = ("BPF_LINK_UPDATE", 29),
        LinkGetFdById = ("BPF_LINK_GET_FD_BY_ID", 30),
        LinkGetNextId = ("BPF_LINK_GET_NEXT_ID", 31),
        EnableStats = ("BPF_ENABLE_STATS", 32),
        IterCreate = ("BPF_ITER_CREATE", 33),
        LinkDetach = ("BPF_LINK_DETACH", 34),
        ProgBindMap = ("BPF_PROG_BIND_MAP", 35),
        TokenCreate = ("BPF_TOKEN_CREATE", 36),
    }
}

proto_enum! {
    /// Whether a `process_throttle` event starts or stops throttling.
    pub enum ThrottleType {
        Unknown = ("THROTTLE_UNKNOWN", 0),
        Start = ("THROTTLE_START", 1),
        Stop = ("THROTTLE_STOP", 2),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        assert_eq!(
            KprobeAction::from_name("KPROBE_ACTION_SIGKILL"),
            KprobeAction::Sigkill
        );
        assert_eq!(KprobeAction::Sigkill.number(), Some(3));
        assert_eq!(
            KprobeAction::from_name("KPROBE_ACTION_SET"),
            KprobeAction::Set
        );
        assert_eq!(KprobeAction::Set.number(), Some(15));
        assert_eq!(Capability::from_name("DAC_OVERRIDE").number(), Some(1));
        assert_eq!(Capability::SysAdmin.name(), Some("CAP_SYS_ADMIN"));
        assert_eq!(Capability::ALL.len(), 41);
        assert_eq!(BpfCmd::ALL.len(), 37);
        for (index, capability) in Capability::ALL.iter().enumerate() {
            assert_eq!(capability.number(), i32::try_from(index).ok());
        }
        for (index, command) in BpfCmd::ALL.iter().enumerate() {
            assert_eq!(command.number(), i32::try_from(index).ok());
        }
    }

    #[test]
    fn unknown_and_numeric_values_are_kept() {
        let other: KprobeAction = serde_json::from_str("\"KPROBE_ACTION_FUTURE\"").unwrap();
        assert_eq!(other, KprobeAction::Other("KPROBE_ACTION_FUTURE".into()));
        assert_eq!(
            serde_json::to_string(&other).unwrap(),
            "\"KPROBE_ACTION_FUTURE\""
        );
        let numeric: KprobeAction = serde_json::from_str("1").unwrap();
        assert_eq!(numeric, KprobeAction::Numeric(1));
        assert_eq!(numeric.resolved(), KprobeAction::Post);
        assert_eq!(numeric.name(), Some("KPROBE_ACTION_POST"));
        assert_eq!(serde_json::to_string(&numeric).unwrap(), "1");
        assert_eq!(
            KprobeAction::Numeric(99).resolved(),
            KprobeAction::Numeric(99)
        );
    }
}
