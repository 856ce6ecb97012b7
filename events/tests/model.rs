//! The event model: unknown fields, integer forms, legacy and unknown kinds,
//! every argument kind, accessors and the construction API.
#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

use serde_json::{Value, json};
use tpc_events::{
    ARG_KEYS, ArgValue, Base64Bytes, BpfCmd, Capability, Event, EventBody, EventError, EventKind,
    Hook, JsonInt, KernelModule, KprobeAction, KprobeArgument, KprobeBpfAttr, KprobeBpfMap,
    KprobeBpfProg, KprobeCapability, KprobeCred, KprobeFile, KprobeInt32List, KprobeLinuxBinprm,
    KprobeNetDev, KprobePath, KprobePerfEvent, KprobeSkb, KprobeSock, KprobeSockaddr,
    KprobeTruncatedBytes, KprobeUserNamespace, Namespace, Pod, Process, ProcessCredentials,
    ProcessKprobe, ProcessLoader, ProcessLsm, ProcessTracepoint, ProcessUprobe, ProcessUsdt,
    SecureBits, SyscallId, TaintedBits, Timestamp, UserNamespace,
};

fn round_trip(input: &Value) -> Event {
    let event = Event::from_json(&input.to_string()).unwrap();
    assert_eq!(&event.to_json_value(), input, "value round trip");
    let reparsed: Value = serde_json::from_str(&event.to_json_line()).unwrap();
    assert_eq!(&reparsed, input, "line round trip");
    event
}

#[test]
fn unknown_fields_at_every_level_are_kept_in_place() {
    let input = json!({
        "process_kprobe": {
            "process": {
                "pid": 7,
                "future_process_field": {"nested": [1, 2]},
                "pod": {
                    "name": "p",
                    "future_pod_field": true,
                    "container": {"id": "c", "future_container_field": "x", "image": {"id": "i", "digest": "d"}},
                    "pod_labels": {"app": "web", "tier": "front"}
                },
                "ns": {"net": {"inum": 4026531840u64, "is_host": true, "future_ns_field": 1}},
                "process_credentials": {"uid": 0, "securebits": ["SecBitNoRoot", "SecBitFuture"], "extra": null}
            },
            "function_name": "security_file_open",
            "args": [
                {"file_arg": {"path": "/etc/shadow", "future_file_field": 3}, "label": "file", "future_arg_field": "y"},
                {"future_arg_kind": {"a": 1}}
            ],
            "future_kprobe_field": [true],
            "action": "KPROBE_ACTION_SOMETHING_NEW"
        },
        "node_name": "n1",
        "future_top_level_field": 12.5,
        "time": "2024-01-01T00:00:00.123456Z"
    });
    let event = round_trip(&input);
    let process = event.process().unwrap();
    assert_eq!(
        process.unknown_fields.get("future_process_field"),
        Some(&json!({"nested": [1, 2]}))
    );
    let pod = process.pod.as_ref().unwrap();
    assert_eq!(pod.pod_labels.as_ref().unwrap().get("tier"), Some("front"));
    assert_eq!(
        pod.container
            .as_ref()
            .unwrap()
            .unknown_fields
            .get("future_container_field"),
        Some(&json!("x"))
    );
    let credentials = process.process_credentials.as_ref().unwrap();
    assert_eq!(
        credentials.securebits.as_deref(),
        Some(&[SecureBits::NoRoot, SecureBits::Other("SecBitFuture".into())][..])
    );
    assert_eq!(credentials.unknown_fields.get("extra"), Some(&Value::Null));
    assert_eq!(
        process
            .ns
            .as_ref()
            .unwrap()
            .net
            .as_ref()
            .unwrap()
            .inum
            .unwrap()
            .get(),
        4_026_531_840
    );
    assert_eq!(
        event.args()[0].unknown_fields.get("future_arg_field"),
        Some(&json!("y"))
    );
    assert_eq!(
        event.args()[1].value,
        ArgValue::Other {
            key: "future_arg_kind".into(),
            value: json!({"a": 1})
        }
    );
    assert_eq!(
        event.action(),
        Some(KprobeAction::Other("KPROBE_ACTION_SOMETHING_NEW".into()))
    );
    assert_eq!(
        event.unknown_fields.get("future_top_level_field"),
        Some(&json!(12.5))
    );
    assert_eq!(event.time_unix_nanos(), Some(1_704_067_200_123_456_000));
}

#[test]
fn integers_load_from_numbers_and_strings_and_keep_their_form() {
    let as_strings = json!({
        "process_kprobe": {
            "process": {"pid": "42", "uid": "0", "auid": 4294967295u64},
            "args": [
                {"size_arg": "18446744073709551615"},
                {"long_arg": "-9223372036854775808"},
                {"int_arg": "-3"},
                {"uint_arg": "4294967295"},
                {"sock_arg": {"cookie": "123", "sport": "80"}}
            ]
        }
    });
    let as_numbers = json!({
        "process_kprobe": {
            "process": {"pid": 42, "uid": 0, "auid": 4294967295u64},
            "args": [
                {"size_arg": 18446744073709551615u64},
                {"long_arg": -9223372036854775808i64},
                {"int_arg": -3},
                {"uint_arg": 4294967295u64},
                {"sock_arg": {"cookie": 123, "sport": 80}}
            ]
        }
    });
    let from_strings = round_trip(&as_strings);
    let from_numbers = round_trip(&as_numbers);
    for event in [&from_strings, &from_numbers] {
        assert_eq!(event.process().unwrap().pid(), Some(42));
        assert_eq!(event.process().unwrap().uid(), Some(0));
        let values: Vec<Option<i64>> = event.args().iter().map(|arg| arg.value.as_i64()).collect();
        assert_eq!(
            values,
            [None, Some(i64::MIN), Some(-3), Some(4_294_967_295), None]
        );
        assert_eq!(event.args()[0].value.as_u64(), Some(u64::MAX));
        let ArgValue::Sock(sock) = &event.args()[4].value else {
            panic!("expected sock_arg")
        };
        assert_eq!(
            (sock.cookie.unwrap().get(), sock.sport.unwrap().get()),
            (123, 80)
        );
    }
    // Same values, different forms: not equal as events, equal as numbers.
    assert_ne!(from_strings, from_numbers);

    for (bad, expected) in [
        (
            json!({"process_exec": {"process": {"pid": -1}}}),
            "invalid value: integer `-1`",
        ),
        (
            json!({"process_exec": {"process": {"pid": "4294967296"}}}),
            "invalid value: string \"4294967296\"",
        ),
        (
            json!({"process_kprobe": {"args": [{"int_arg": 2147483648u64}]}}),
            "invalid value: integer `2147483648`",
        ),
    ] {
        let error = Event::from_json(&bad.to_string()).unwrap_err();
        assert!(
            matches!(error, EventError::InvalidField { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(expected), "{error}");
    }
}

#[test]
fn legacy_and_unknown_kinds_load_as_untyped_and_round_trip() {
    for kind in [
        "process_connect",
        "process_close",
        "process_listen",
        "process_accept",
        "process_dns",
    ] {
        let input = json!({kind: {"process": {"pid": 1}, "destination_port": 443}, "time": "2022-01-19T16:29:02.021Z"});
        let event = round_trip(&input);
        assert_eq!((event.kind(), event.kind_key()), (EventKind::Other, kind));
        assert!(event.hook().is_none() && event.args().is_empty() && event.policy_name().is_none());
    }
    let future =
        json!({"process_teleport": {"process": {"pid": 1}}, "node_name": "n", "future_number": 3});
    let event = round_trip(&future);
    assert_eq!(event.kind_key(), "process_teleport");
    assert_eq!(event.unknown_fields.get("future_number"), Some(&json!(3)));

    // With a known kind present, another unknown object is just an unknown field.
    let mixed = json!({"process_exec": {}, "future_object": {"x": 1}});
    let event = round_trip(&mixed);
    assert_eq!(event.kind(), EventKind::ProcessExec);
    assert_eq!(
        event.unknown_fields.get("future_object"),
        Some(&json!({"x": 1}))
    );
}

#[test]
fn explicit_nulls_round_trip_and_typed_values_win_over_them() {
    let input = json!({"process_kprobe": {"process": {"pid": null, "binary": "/b"}, "return": null, "args": [{"label": null, "int_arg": null}]}, "time": null});
    let mut event = round_trip(&input);
    assert_eq!(event.process().unwrap().pid(), None);
    assert!(event.return_arg().is_none());
    assert_eq!(event.args()[0].value, ArgValue::Unset);
    event.process_mut().unwrap().pid = Some(JsonInt::new(5));
    event.time = Some(Timestamp::from_unix_nanos(0));
    let written: Value = serde_json::from_str(&event.to_json_line()).unwrap();
    assert_eq!(written["process_kprobe"]["process"]["pid"], json!(5));
    assert_eq!(written["time"], json!("1970-01-01T00:00:00Z"));
}

#[test]
fn duplicate_keys_and_two_argument_values_are_errors() {
    for (input, expected) in [
        (
            r#"{"process_exec":{"process":{"pid":1,"pid":2}}}"#,
            "duplicate field `pid`",
        ),
        (
            r#"{"process_exec":{"process":{"x":1,"x":2}}}"#,
            "duplicate field `x`",
        ),
        (
            r#"{"process_kprobe":{"args":[{"int_arg":1,"string_arg":"a"}]}}"#,
            "argument has two values: `int_arg` and `string_arg`",
        ),
        (
            r#"{"process_exec":{},"time":"2024-01-01T00:00:00Z","time":"2024-01-01T00:00:00Z"}"#,
            "duplicate field `time`",
        ),
    ] {
        let error = Event::from_json(input).unwrap_err();
        assert!(error.to_string().contains(expected), "{input}: {error}");
    }
}

/// One argument of every kind, with its payload filled in.
fn every_argument_kind() -> Vec<KprobeArgument> {
    let namespace = Namespace {
        inum: Some(JsonInt::new(4_026_531_837)),
        is_host: Some(true),
        ..Namespace::default()
    };
    let user_namespace = UserNamespace {
        level: Some(JsonInt::new(0)),
        uid: Some(JsonInt::new(0)),
        gid: Some(JsonInt::new(0)),
        ns: Some(namespace.clone()),
        ..UserNamespace::default()
    };
    let capabilities = || {
        Some(vec![
            Capability::Chown,
            Capability::DacOverride,
            Capability::SysAdmin,
        ])
    };
    let values = vec![
        ArgValue::String("/etc/passwd".into()),
        ArgValue::Int(JsonInt::new(-100)),
        ArgValue::Skb(Box::new(KprobeSkb {
            hash: Some(JsonInt::new(1)),
            len: Some(JsonInt::new(60)),
            priority: Some(JsonInt::new(0)),
            mark: Some(JsonInt::new(0)),
            saddr: Some("10.0.0.1".into()),
            daddr: Some("10.0.0.2".into()),
            sport: Some(JsonInt::new(1234)),
            dport: Some(JsonInt::new(53)),
            proto: Some(JsonInt::new(17)),
            sec_path_len: Some(JsonInt::new(0)),
            sec_path_olen: Some(JsonInt::new(0)),
            protocol: Some("IPPROTO_UDP".into()),
            family: Some("AF_INET".into()),
            ..KprobeSkb::default()
        })),
        ArgValue::Size(JsonInt::new(4096)),
        ArgValue::Bytes(Base64Bytes::encode(b"\x00\x01hello")),
        ArgValue::Path(Box::new(KprobePath {
            mount: Some("/".into()),
            path: Some("etc/passwd".into()),
            flags: Some("".into()),
            permission: Some("-rw-r--r--".into()),
            ..KprobePath::default()
        })),
        ArgValue::File(Box::new(KprobeFile {
            mount: Some("/".into()),
            path: Some("/etc/shadow".into()),
            flags: Some("O_RDONLY".into()),
            permission: Some("-rw-r-----".into()),
            ..KprobeFile::default()
        })),
        ArgValue::TruncatedBytes(Box::new(KprobeTruncatedBytes {
            bytes_arg: Some(Base64Bytes::encode(b"abc")),
            orig_size: Some(JsonInt::new(65536)),
            ..KprobeTruncatedBytes::default()
        })),
        ArgValue::Sock(Box::new(KprobeSock {
            family: Some("AF_INET".into()),
            sock_type: Some("SOCK_STREAM".into()),
            protocol: Some("IPPROTO_TCP".into()),
            mark: Some(JsonInt::new(0)),
            priority: Some(JsonInt::new(0)),
            saddr: Some("127.0.0.1".into()),
            daddr: Some("127.0.0.1".into()),
            sport: Some(JsonInt::new(40000)),
            dport: Some(JsonInt::new(8080)),
            cookie: Some(JsonInt::new(18_446_744_073_709_551_000)),
            state: Some("TCP_SYN_SENT".into()),
            ..KprobeSock::default()
        })),
        ArgValue::Cred(Box::new(KprobeCred {
            permitted: capabilities(),
            effective: capabilities(),
            inheritable: Some(vec![]),
            ..KprobeCred::default()
        })),
        ArgValue::Long(JsonInt::new(-1)),
        ArgValue::BpfAttr(Box::new(KprobeBpfAttr {
            prog_type: Some("BPF_PROG_TYPE_KPROBE".into()),
            insn_cnt: Some(JsonInt::new(2)),
            prog_name: Some("probe".into()),
            ..KprobeBpfAttr::default()
        })),
        ArgValue::PerfEvent(Box::new(KprobePerfEvent {
            kprobe_func: Some("do_sys_open".into()),
            event_type: Some("PERF_TYPE_TRACEPOINT".into()),
            config: Some(JsonInt::new(0)),
            probe_offset: Some(JsonInt::new(0)),
            ..KprobePerfEvent::default()
        })),
        ArgValue::BpfMap(Box::new(KprobeBpfMap {
            map_type: Some("BPF_MAP_TYPE_HASH".into()),
            key_size: Some(JsonInt::new(4)),
            value_size: Some(JsonInt::new(8)),
            max_entries: Some(JsonInt::new(1024)),
            map_name: Some("counts".into()),
            ..KprobeBpfMap::default()
        })),
        ArgValue::Uint(JsonInt::new(u32::MAX)),
        ArgValue::UserNamespace(Box::new(KprobeUserNamespace {
            level: Some(JsonInt::new(1)),
            owner: Some(JsonInt::new(1000)),
            group: Some(JsonInt::new(1000)),
            ns: Some(namespace.clone()),
            ..KprobeUserNamespace::default()
        })),
        ArgValue::Capability(Box::new(KprobeCapability {
            value: Some(JsonInt::new(21)),
            name: Some("CAP_SYS_ADMIN".into()),
            ..KprobeCapability::default()
        })),
        ArgValue::ProcessCredentials(Box::new(ProcessCredentials {
            uid: Some(JsonInt::new(1000)),
            gid: Some(JsonInt::new(1000)),
            euid: Some(JsonInt::new(0)),
            egid: Some(JsonInt::new(0)),
            suid: Some(JsonInt::new(0)),
            sgid: Some(JsonInt::new(0)),
            fsuid: Some(JsonInt::new(0)),
            fsgid: Some(JsonInt::new(0)),
            securebits: Some(vec![SecureBits::KeepCaps]),
            caps: Some(tpc_events::Capabilities {
                effective: capabilities(),
                ..Default::default()
            }),
            user_ns: Some(user_namespace.clone()),
            ..ProcessCredentials::default()
        })),
        ArgValue::UserNs(Box::new(user_namespace)),
        ArgValue::Module(Box::new(KernelModule {
            name: Some("nf_tables".into()),
            signature_ok: Some(false),
            tainted: Some(vec![
                TaintedBits::OutOfTreeModule,
                TaintedBits::UnsignedModule,
            ]),
            ..KernelModule::default()
        })),
        ArgValue::KernelCapT("000001ffffffffff".into()),
        ArgValue::CapInheritable("0000000000000000".into()),
        ArgValue::CapPermitted("000001ffffffffff".into()),
        ArgValue::CapEffective("000001ffffffffff".into()),
        ArgValue::LinuxBinprm(Box::new(KprobeLinuxBinprm {
            path: Some("/usr/bin/sudo".into()),
            flags: Some("".into()),
            permission: Some("-rwsr-xr-x".into()),
            ..KprobeLinuxBinprm::default()
        })),
        ArgValue::NetDev(Box::new(KprobeNetDev {
            name: Some("eth0".into()),
            ..KprobeNetDev::default()
        })),
        ArgValue::BpfCmd(BpfCmd::ProgLoad),
        ArgValue::SyscallId(Box::new(SyscallId {
            id: Some(JsonInt::new(257)),
            abi: Some("x64".into()),
            ..SyscallId::default()
        })),
        ArgValue::Sockaddr(Box::new(KprobeSockaddr {
            family: Some("AF_INET6".into()),
            addr: Some("::1".into()),
            port: Some(JsonInt::new(443)),
            ..KprobeSockaddr::default()
        })),
        ArgValue::BpfProg(Box::new(KprobeBpfProg {
            prog_type: Some("BPF_PROG_TYPE_LSM".into()),
            insn_cnt: Some(JsonInt::new(12)),
            prog_name: Some("restrict_fs".into()),
            ..KprobeBpfProg::default()
        })),
        ArgValue::Int32List(Box::new(KprobeInt32List {
            values: Some(vec![JsonInt::new(-1), JsonInt::new(0), JsonInt::new(7)]),
            ..KprobeInt32List::default()
        })),
    ];
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| KprobeArgument::new(value).with_label(format!("arg{index}")))
        .collect()
}

#[test]
fn every_argument_kind_round_trips() {
    let args = every_argument_kind();
    let keys: Vec<&str> = args.iter().map(|arg| arg.value.key().unwrap()).collect();
    assert_eq!(keys, ARG_KEYS, "one argument per oneof key, in proto order");

    let event = Event::new(ProcessKprobe {
        process: Some(Process::new("ZXhlYw==", 9, "/bin/x")),
        function_name: Some("fn".into()),
        args: Some(args.clone()),
        return_arg: Some(KprobeArgument::int(0)),
        ..ProcessKprobe::default()
    });
    let line = event.to_json_line();
    let parsed = Event::from_json(&line).unwrap();
    assert_eq!(parsed, event);
    assert_eq!(parsed.args(), &args[..]);
    assert_eq!(parsed.to_json_line(), line);

    let written: Value = serde_json::from_str(&line).unwrap();
    let written_args = written["process_kprobe"]["args"].as_array().unwrap();
    for (written_arg, key) in written_args.iter().zip(ARG_KEYS) {
        let object = written_arg.as_object().unwrap();
        let written_keys: Vec<&String> = object.keys().collect();
        assert_eq!(
            written_keys,
            [*key, "label"],
            "the value's key comes first, then the label"
        );
    }
    // protojson forms: 64-bit integers as strings, bytes as base64, enums by name.
    assert_eq!(written_args[3]["size_arg"], json!("4096"));
    assert_eq!(written_args[10]["long_arg"], json!("-1"));
    assert_eq!(written_args[14]["uint_arg"], json!(4_294_967_295u64));
    assert_eq!(written_args[4]["bytes_arg"], json!("AAFoZWxsbw=="));
    assert_eq!(
        written_args[8]["sock_arg"]["cookie"],
        json!("18446744073709551000")
    );
    assert_eq!(written_args[8]["sock_arg"]["type"], json!("SOCK_STREAM"));
    assert_eq!(
        written_args[9]["cred_arg"]["permitted"],
        json!(["CAP_CHOWN", "DAC_OVERRIDE", "CAP_SYS_ADMIN"])
    );
    assert_eq!(
        written_args[11]["bpf_attr_arg"]["ProgType"],
        json!("BPF_PROG_TYPE_KPROBE")
    );
    assert_eq!(written_args[26]["bpf_cmd_arg"], json!("BPF_PROG_LOAD"));
    assert_eq!(
        written_args[19]["module_arg"]["tainted"],
        json!(["TAINT_OUT_OF_TREE_MODULE", "TAINT_UNSIGNED_MODULE"])
    );
    assert_eq!(
        written_args[29]["bpf_prog_arg"],
        json!({"ProgType": "BPF_PROG_TYPE_LSM", "InsnCnt": 12, "ProgName": "restrict_fs"})
    );
    assert_eq!(
        written_args[30]["int32_list_arg"],
        json!({"values": [-1, 0, 7]})
    );
    assert_eq!(written["process_kprobe"]["return"], json!({"int_arg": 0}));
}

#[test]
fn handwritten_arguments_parse_to_their_kinds() {
    let input = json!({"process_kprobe": {"args": [
        {"sockaddr_arg": {"family": "AF_INET", "addr": "1.2.3.4", "port": 80}},
        {"capability_arg": {"value": 21}},
        {"linux_binprm_arg": {"path": "/bin/su"}},
        {"bytes_arg": "aGk"},
        {"bpf_cmd_arg": 5},
        {"label": "only a label"},
        {},
        {"bpf_prog_arg": {"ProgType": "BPF_PROG_TYPE_KPROBE", "InsnCnt": "9", "ProgName": "p"}},
        {"int32_list_arg": {"values": [3, "-4"]}, "label": "fds"}
    ]}});
    let event = round_trip(&input);
    let args = event.args();
    let ArgValue::Sockaddr(sockaddr) = &args[0].value else {
        panic!("expected sockaddr_arg")
    };
    assert_eq!(
        (sockaddr.addr.as_deref(), sockaddr.port.unwrap().get()),
        (Some("1.2.3.4"), 80)
    );
    let ArgValue::Capability(capability) = &args[1].value else {
        panic!("expected capability_arg")
    };
    assert_eq!(capability.capability(), Some(Capability::SysAdmin));
    assert_eq!(args[2].value.path(), Some("/bin/su"));
    let ArgValue::Bytes(bytes) = &args[3].value else {
        panic!("expected bytes_arg")
    };
    assert_eq!(bytes.decode(), b"hi");
    assert_eq!(args[4].value, ArgValue::BpfCmd(BpfCmd::Numeric(5)));
    assert_eq!(
        (args[5].label(), &args[5].value),
        ("only a label", &ArgValue::Unset)
    );
    assert_eq!(args[6], KprobeArgument::default());
    let ArgValue::BpfProg(program) = &args[7].value else {
        panic!("expected bpf_prog_arg")
    };
    assert_eq!(
        (
            program.prog_name.as_deref(),
            program.insn_cnt.unwrap().get()
        ),
        (Some("p"), 9)
    );
    let ArgValue::Int32List(list) = &args[8].value else {
        panic!("expected int32_list_arg")
    };
    let values: Vec<i32> = list.values.iter().flatten().map(|v| v.get()).collect();
    assert_eq!((values, args[8].label()), (vec![3, -4], "fds"));
    assert!(args.iter().all(|arg| arg.unknown_fields.is_empty()));

    let bad = json!({"process_kprobe": {"args": [{"bytes_arg": "not base64!"}]}});
    let error = Event::from_json(&bad.to_string()).unwrap_err();
    assert!(error.to_string().contains("invalid base64"), "{error}");
}

#[test]
fn hooks_identify_each_hook_kind() {
    let kprobe = Event::new(ProcessKprobe {
        function_name: Some("__x64_sys_openat".into()),
        ..Default::default()
    });
    assert_eq!(
        kprobe.hook(),
        Some(Hook::Kprobe {
            function: "__x64_sys_openat"
        })
    );
    let tracepoint = Event::new(ProcessTracepoint {
        subsys: Some("syscalls".into()),
        event: Some("sys_enter_openat".into()),
        ..Default::default()
    });
    assert_eq!(
        tracepoint.hook(),
        Some(Hook::Tracepoint {
            subsys: "syscalls",
            event: "sys_enter_openat"
        })
    );
    let lsm = Event::new(ProcessLsm {
        function_name: Some("file_open".into()),
        ..Default::default()
    });
    assert_eq!(lsm.hook(), Some(Hook::Lsm { hook: "file_open" }));
    let uprobe = Event::new(ProcessUprobe {
        path: Some("/usr/bin/bash".into()),
        symbol: Some("readline".into()),
        ..Default::default()
    });
    assert_eq!(
        uprobe.hook(),
        Some(Hook::Uprobe {
            path: "/usr/bin/bash",
            symbol: "readline",
            offset: None
        })
    );
    let usdt = Event::new(ProcessUsdt {
        path: Some("/usr/lib/libc.so.6".into()),
        provider: Some("libc".into()),
        name: Some("setjmp".into()),
        ..Default::default()
    });
    assert_eq!(
        usdt.hook(),
        Some(Hook::Usdt {
            path: "/usr/lib/libc.so.6",
            provider: "libc",
            name: "setjmp"
        })
    );
    let exec = Event::process_exec(
        Process::new("e", 1, "/bin/sh"),
        None,
        Timestamp::from_unix_nanos(0),
    );
    assert_eq!(exec.hook(), None);
}

#[test]
fn construction_writes_tetragon_shaped_lines() {
    let mut parent = Process::new("cGFyZW50", 1, "/usr/bin/bash");
    parent.pod = Some(Box::new(Pod {
        namespace: Some("default".into()),
        name: Some("web".into()),
        ..Pod::default()
    }));
    let mut process = Process::new("Y2hpbGQ=", 2, "/usr/bin/cat");
    process.arguments = Some("/etc/passwd".into());
    process.parent_exec_id = parent.exec_id.clone();
    let time = Timestamp::from_unix_nanos(1_700_000_000_123_000_000);

    let exec =
        Event::process_exec(process.clone(), Some(parent.clone()), time).with_node_name("node-a");
    assert_eq!(
        exec.to_json_line(),
        concat!(
            r#"{"process_exec":{"process":{"exec_id":"Y2hpbGQ=","pid":2,"binary":"/usr/bin/cat","arguments":"/etc/passwd","parent_exec_id":"cGFyZW50"},"#,
            r#""parent":{"exec_id":"cGFyZW50","pid":1,"binary":"/usr/bin/bash","pod":{"namespace":"default","name":"web"}}},"#,
            r#""node_name":"node-a","time":"2023-11-14T22:13:20.123Z"}"#
        )
    );
    let exit = Event::process_exit(
        process.clone(),
        Some(parent),
        0,
        Some("SIGKILL".into()),
        time,
    );
    let exit_json: Value = serde_json::from_str(&exit.to_json_line()).unwrap();
    assert_eq!(exit_json["process_exit"]["signal"], json!("SIGKILL"));
    assert_eq!(exit_json["process_exit"]["status"], json!(0));
    assert_eq!(exit_json["time"], json!("2023-11-14T22:13:20.123Z"));

    let mut buffer = Vec::new();
    exec.write_json_line(&mut buffer).unwrap();
    exit.write_json_line(&mut buffer).unwrap();
    let read_back: Vec<Event> = tpc_events::EventReader::new(&buffer[..])
        .map(|(_, result)| result.unwrap())
        .collect();
    assert_eq!(read_back, [exec, exit]);
}

/// `environment_variables` of a process (newer Tetragon) is typed.
#[test]
fn process_environment_variables_are_typed() {
    let event = round_trip(&json!({
        "process_exec": {
            "process": {
                "pid": 5,
                "binary": "/usr/bin/env",
                "in_init_tree": false,
                "environment_variables": [
                    {"Key": "PATH", "Value": "/usr/bin:/bin"},
                    {"Key": "EMPTY", "Value": ""},
                    {"Key": "K", "Value": "v", "future": 1}
                ]
            }
        }
    }));
    let process = event.process().unwrap();
    assert!(process.unknown_fields.is_empty());
    let variables = process.environment_variables.as_deref().unwrap();
    let pairs: Vec<(&str, &str)> = variables
        .iter()
        .map(|v| (v.key.as_deref().unwrap(), v.value.as_deref().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [("PATH", "/usr/bin:/bin"), ("EMPTY", ""), ("K", "v")]
    );
    assert_eq!(variables[2].unknown_fields.get("future"), Some(&json!(1)));
}

/// Fields newer Tetragon added to uprobe (`action`, `data`), USDT
/// (`action`, `flags`) and loader (`parent`, `ancestors`) events are typed,
/// not left among the unknown keys.
#[test]
fn newer_uprobe_usdt_and_loader_fields_are_typed() {
    let uprobe = round_trip(&json!({
        "process_uprobe": {
            "process": {"pid": 4, "binary": "/usr/bin/curl"},
            "parent": {"pid": 3, "binary": "/bin/sh"},
            "path": "/usr/lib/libssl.so.3",
            "symbol": "SSL_write",
            "policy_name": "ssl",
            "args": [{"size_arg": "12"}],
            "ancestors": [{"pid": 1}],
            "action": "KPROBE_ACTION_SIGKILL",
            "data": [{"string_arg": "from pt_regs", "label": "d"}]
        }
    }));
    assert_eq!(uprobe.action(), Some(KprobeAction::Sigkill));
    assert_eq!(uprobe.data().len(), 1);
    assert_eq!(uprobe.data()[0].value.as_str(), Some("from pt_regs"));
    let EventBody::ProcessUprobe(payload) = &uprobe.body else {
        panic!("expected a uprobe")
    };
    assert!(payload.unknown_fields.is_empty());

    let usdt = round_trip(&json!({
        "process_usdt": {
            "path": "/usr/bin/python3",
            "provider": "python",
            "name": "function__entry",
            "action": 15,
            "flags": "truncArgs"
        }
    }));
    assert_eq!(usdt.action(), Some(KprobeAction::Set));
    let EventBody::ProcessUsdt(payload) = &usdt.body else {
        panic!("expected a USDT event")
    };
    assert_eq!(payload.flags.as_deref(), Some("truncArgs"));
    assert!(payload.unknown_fields.is_empty());

    let loader = round_trip(&json!({
        "process_loader": {
            "process": {"pid": 9, "binary": "/usr/bin/python3"},
            "path": "/usr/lib/libc.so.6",
            "buildid": "AQID",
            "parent": {"pid": 8, "binary": "/bin/bash"},
            "ancestors": [{"pid": 1, "binary": "/sbin/init"}]
        }
    }));
    assert_eq!(loader.parent().and_then(Process::pid), Some(8));
    assert_eq!(loader.ancestors().len(), 1);
    assert_eq!(loader.action(), None);
    assert!(loader.data().is_empty());
    let EventBody::ProcessLoader(payload) = &loader.body else {
        panic!("expected a loader event")
    };
    assert!(payload.unknown_fields.is_empty());

    // Older exports without these fields read as before.
    let old = Event::from_json(r#"{"process_uprobe":{"path":"/x","symbol":"s"}}"#).unwrap();
    assert_eq!(old.action(), None);
    assert!(old.data().is_empty());
}

#[test]
fn policy_name_and_action_are_set_where_tetragon_has_them() {
    let mut tracepoint = Event::new(ProcessTracepoint::default());
    tracepoint.set_policy_name("block-openat").unwrap();
    tracepoint.set_action(KprobeAction::Sigkill).unwrap();
    assert_eq!(tracepoint.policy_name(), Some("block-openat"));
    assert_eq!(tracepoint.action(), Some(KprobeAction::Sigkill));
    let written: Value = serde_json::from_str(&tracepoint.to_json_line()).unwrap();
    assert_eq!(
        written,
        json!({"process_tracepoint": {"policy_name": "block-openat", "action": "KPROBE_ACTION_SIGKILL"}})
    );

    let mut uprobe = Event::new(ProcessUprobe::default());
    uprobe.set_policy_name("p").unwrap();
    uprobe.set_action(KprobeAction::Post).unwrap();
    let mut usdt = Event::new(ProcessUsdt::default());
    usdt.set_action(KprobeAction::Set).unwrap();
    assert_eq!(
        usdt.to_json_line(),
        r#"{"process_usdt":{"action":"KPROBE_ACTION_SET"}}"#
    );
    let mut loader = Event::new(ProcessLoader::default());
    let error = loader.set_action(KprobeAction::Post).unwrap_err();
    assert_eq!(
        error.to_string(),
        "`process_loader` events have no `action` field"
    );

    let mut exec = Event::process_exec(Process::default(), None, Timestamp::from_unix_nanos(0));
    let error = exec.set_policy_name("p").unwrap_err();
    assert!(
        matches!(&error, EventError::NoSuchField { kind, field: "policy_name" } if kind == "process_exec")
    );

    let numeric = Event::from_json(r#"{"process_kprobe":{"action":3,"return_action":1}}"#).unwrap();
    assert_eq!(numeric.action(), Some(KprobeAction::Sigkill));
    assert_eq!(numeric.return_action(), Some(KprobeAction::Post));
    assert_eq!(
        numeric.to_json_line(),
        r#"{"process_kprobe":{"action":3,"return_action":1}}"#
    );
}

#[test]
fn events_deserialize_through_serde_too() {
    let value =
        json!({"process_lsm": {"function_name": "bprm_check_security", "ima_hash": "sha256:ab"}});
    let event: Event = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(event.kind(), EventKind::ProcessLsm);
    assert_eq!(event.to_json_value(), value);
    let error =
        serde_json::from_value::<Event>(json!({"time": "2024-01-01T00:00:00Z"})).unwrap_err();
    assert!(error.to_string().contains("no event kind key"), "{error}");
    assert!(matches!(event.body, EventBody::ProcessLsm(_)));
}
