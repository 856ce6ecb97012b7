//! The simulator's semantics, case by case: every operator on every filter
//! family with matching and non-matching values (Tetragon's quirks
//! included), every process filter, policy scope, actions, rate limits,
//! return probes and the state kept across events.

use serde_json::{Value, json};
use tpc::ir::Policy;
use tpc::sim::{SelectorOutcome, SimOptions, Simulator, Suppression, Verdict};
use tpc_events::Event;

/// Parses policies, asserting the frontend and checks found no error (a
/// filter value that failed to parse would make a case pass vacuously).
fn load(yaml: &str) -> tpc::driver::Report {
    let report = tpc::driver::check_sources(vec![("case.yaml".into(), yaml.into())]);
    let errors: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == tpc::diagnostics::Severity::Error)
        .map(|d| format!("{}: {}", d.code.as_str(), d.message))
        .collect();
    assert!(errors.is_empty(), "policy has errors: {errors:?}\n{yaml}");
    assert!(!report.policies.is_empty(), "no policy in\n{yaml}");
    report
}

/// Loads policies without asserting they are clean (for operators Tetragon
/// rejects at load, whose runtime behaviour is still defined).
fn load_unchecked(yaml: &str) -> tpc::driver::Report {
    tpc::driver::check_sources(vec![("case.yaml".into(), yaml.into())])
}

fn event(value: Value) -> Event {
    Event::from_json(&value.to_string()).unwrap_or_else(|e| panic!("bad test event {value}: {e}"))
}

/// Feeds events in order; returns the verdicts of each.
fn run_report(
    report: &tpc::driver::Report,
    events: &[Value],
    options: SimOptions,
) -> Vec<Vec<Verdict>> {
    let policies: Vec<&Policy> = report.policies.iter().map(|p| &p.policy).collect();
    let mut sim = Simulator::new(&policies, options);
    events.iter().map(|e| sim.feed(&event(e.clone()))).collect()
}

fn run(yaml: &str, events: &[Value]) -> Vec<Vec<Verdict>> {
    run_report(&load(yaml), events, SimOptions::default())
}

fn only(verdicts: &[Verdict]) -> &Verdict {
    assert_eq!(verdicts.len(), 1, "expected one verdict, got {verdicts:?}");
    &verdicts[0]
}

fn process(pid: u32, binary: &str) -> Value {
    json!({"exec_id": format!("id-{pid}"), "pid": pid, "binary": binary, "parent_exec_id": format!("id-{}", pid - 1)})
}

fn kprobe_event(args: Value) -> Value {
    json!({
        "process_kprobe": {
            "process": process(1000, "/usr/bin/test"),
            "parent": process(999, "/bin/bash"),
            "function_name": "test_function",
            "args": args,
        },
        "node_name": "node",
        "time": "2024-05-01T10:00:00Z",
    })
}

fn one_arg_policy(ty: &str, op: &str, values: &[&str]) -> String {
    let values: Vec<String> = values.iter().map(|v| format!("{:?}", v)).collect();
    format!(
        "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: case
spec:
  kprobes:
  - call: test_function
    syscall: false
    args:
    - index: 0
      type: {ty}
    selectors:
    - matchArgs:
      - index: 0
        operator: {op}
        values: [{}]
",
        values.join(", ")
    )
}

/// Whether a one-filter selector on a one-argument kprobe matches `arg`.
fn matches(ty: &str, op: &str, values: &[&str], arg: Value) -> bool {
    let verdicts = run(
        &one_arg_policy(ty, op, values),
        &[kprobe_event(json!([arg]))],
    );
    only(&verdicts[0]).selector == SelectorOutcome::Matched(0)
}

fn matches_unchecked(ty: &str, op: &str, values: &[&str], arg: Value) -> bool {
    let report = load_unchecked(&one_arg_policy(ty, op, values));
    let verdicts = run_report(
        &report,
        &[kprobe_event(json!([arg]))],
        SimOptions::default(),
    );
    only(&verdicts[0]).selector == SelectorOutcome::Matched(0)
}

// ---------------------------------------------------------------- integers

#[test]
fn equal_and_not_equal_on_integers() {
    assert!(matches("int", "Equal", &["1", "2"], json!({"int_arg": 2})));
    assert!(!matches("int", "Equal", &["1", "2"], json!({"int_arg": 3})));
    assert!(matches("int", "Equal", &["-1"], json!({"int_arg": -1})));
    assert!(matches("int", "Equal", &["0x10"], json!({"int_arg": 16})));
    assert!(!matches("int", "NotEqual", &["5"], json!({"int_arg": 5})));
    assert!(matches("int", "NotEqual", &["5"], json!({"int_arg": 6})));
    // Tetragon bug: NotEqual with several values ORs the ≠ tests.
    assert!(matches(
        "int",
        "NotEqual",
        &["5", "6"],
        json!({"int_arg": 5})
    ));
    assert!(matches(
        "int",
        "NotEqual",
        &["5", "6"],
        json!({"int_arg": 6})
    ));
    // The same value twice is still a single distinct value.
    assert!(!matches(
        "int",
        "NotEqual",
        &["5", "5"],
        json!({"int_arg": 5})
    ));
    assert!(matches(
        "uint64",
        "Equal",
        &["18446744073709551615"],
        json!({"size_arg": "18446744073709551615"})
    ));
    assert!(matches(
        "int64",
        "Equal",
        &["-2"],
        json!({"long_arg": "-2"})
    ));
}

#[test]
fn greater_and_less_than_signed_and_unsigned() {
    assert!(matches("int", "GT", &["10"], json!({"int_arg": 11})));
    assert!(!matches("int", "GT", &["10"], json!({"int_arg": 10})));
    assert!(!matches("int", "GT", &["10"], json!({"int_arg": -5})));
    assert!(matches("int", "LT", &["0"], json!({"int_arg": -1})));
    assert!(matches("int64", "GT", &["-10"], json!({"long_arg": "-5"})));
    assert!(matches("int64", "LT", &["-10"], json!({"long_arg": "-11"})));
    // 32-bit unsigned is a true greater-than.
    assert!(matches("uint32", "GT", &["10"], json!({"uint_arg": 11})));
    assert!(!matches("uint32", "GT", &["10"], json!({"uint_arg": 5})));
    // Tetragon bug: GT on unsigned 64-, 16- and 8-bit compares with <.
    assert!(!matches("uint64", "GT", &["10"], json!({"size_arg": "11"})));
    assert!(matches("uint64", "GT", &["10"], json!({"size_arg": "5"})));
    assert!(!matches("int16", "GT", &["10"], json!({"int_arg": 11})));
    assert!(matches("int16", "GT", &["10"], json!({"int_arg": 5})));
    assert!(matches("uint8", "GT", &["10"], json!({"uint_arg": 5})));
    assert!(matches("uint8", "LT", &["10"], json!({"uint_arg": 5})));
    assert!(!matches("uint64", "LT", &["10"], json!({"size_arg": "10"})));
    // Values are ORed.
    assert!(matches("int", "LT", &["0", "100"], json!({"int_arg": 50})));
}

#[test]
fn size_t_compares_32_bits() {
    assert!(matches(
        "size_t",
        "Equal",
        &["1"],
        json!({"size_arg": "4294967297"})
    ));
    assert!(!matches(
        "size_t",
        "GT",
        &["100"],
        json!({"size_arg": "4294967296"})
    ));
    assert!(matches(
        "size_t",
        "GT",
        &["100"],
        json!({"size_arg": "4096"})
    ));
    assert!(matches(
        "uint64",
        "Equal",
        &["4294967297"],
        json!({"size_arg": "4294967297"})
    ));
    assert!(!matches(
        "uint64",
        "Equal",
        &["1"],
        json!({"size_arg": "4294967297"})
    ));
}

#[test]
fn mask_maps_and_ranges() {
    assert!(matches("int", "Mask", &["0x4"], json!({"int_arg": 6})));
    assert!(!matches("int", "Mask", &["0x4"], json!({"int_arg": 3})));
    assert!(matches(
        "int",
        "InMap",
        &["1", "5:10"],
        json!({"int_arg": 7})
    ));
    assert!(matches(
        "int",
        "InMap",
        &["1", "5:10"],
        json!({"int_arg": 1})
    ));
    assert!(!matches(
        "int",
        "InMap",
        &["1", "5:10"],
        json!({"int_arg": 4})
    ));
    assert!(matches(
        "int",
        "NotInMap",
        &["1", "5:10"],
        json!({"int_arg": 4})
    ));
    assert!(!matches(
        "int",
        "NotInMap",
        &["1", "5:10"],
        json!({"int_arg": 5})
    ));
    assert!(matches(
        "uint64",
        "InMap",
        &["18446744073709551615"],
        json!({"size_arg": "18446744073709551615"})
    ));
    assert!(matches("int", "InRange", &["-5:5"], json!({"int_arg": -3})));
    assert!(!matches("int", "InRange", &["-5:5"], json!({"int_arg": 6})));
    assert!(matches(
        "int",
        "NotInRange",
        &["-5:5"],
        json!({"int_arg": 6})
    ));
    assert!(!matches(
        "int",
        "NotInRange",
        &["-5:5", "6:7"],
        json!({"int_arg": 6})
    ));
    assert!(matches(
        "uint64",
        "InRange",
        &["0:100"],
        json!({"size_arg": "100"})
    ));
    // 16-bit ranges compare unsigned: a negative bound makes the range unmatchable.
    assert!(!matches(
        "int16",
        "InRange",
        &["-5:5"],
        json!({"int_arg": -3})
    ));
    assert!(!matches(
        "int16",
        "InRange",
        &["-5:5"],
        json!({"int_arg": 3})
    ));
    assert!(matches("int16", "InRange", &["0:5"], json!({"int_arg": 3})));
}

#[test]
fn string_operators_never_match_numbers() {
    assert!(!matches_unchecked(
        "int",
        "Prefix",
        &["1"],
        json!({"int_arg": 1})
    ));
    assert!(!matches_unchecked(
        "int",
        "NotPrefix",
        &["1"],
        json!({"int_arg": 2})
    ));
    assert!(!matches_unchecked(
        "int",
        "Postfix",
        &["1"],
        json!({"int_arg": 1})
    ));
}

// ---------------------------------------------------------------- strings

#[test]
fn string_equality_prefix_postfix_substring() {
    assert!(matches(
        "string",
        "Equal",
        &["/etc/passwd"],
        json!({"string_arg": "/etc/passwd"})
    ));
    assert!(!matches(
        "string",
        "Equal",
        &["/etc/passwd"],
        json!({"string_arg": "/etc/passwd2"})
    ));
    assert!(!matches(
        "string",
        "Equal",
        &["/etc/passwd"],
        json!({"string_arg": ""})
    ));
    // NotEqual on strings is a proper "none of".
    assert!(matches(
        "string",
        "NotEqual",
        &["a", "b"],
        json!({"string_arg": "c"})
    ));
    assert!(!matches(
        "string",
        "NotEqual",
        &["a", "b"],
        json!({"string_arg": "a"})
    ));
    assert!(matches(
        "string",
        "Prefix",
        &["/etc/"],
        json!({"string_arg": "/etc/hosts"})
    ));
    assert!(!matches(
        "string",
        "Prefix",
        &["/etc/"],
        json!({"string_arg": "/tmp/x"})
    ));
    assert!(matches(
        "string",
        "NotPrefix",
        &["/etc/"],
        json!({"string_arg": "/tmp/x"})
    ));
    assert!(!matches(
        "string",
        "NotPrefix",
        &["/etc/"],
        json!({"string_arg": "/etc/x"})
    ));
    assert!(matches(
        "string",
        "Postfix",
        &[".so"],
        json!({"string_arg": "/lib/libc.so"})
    ));
    assert!(!matches(
        "string",
        "Postfix",
        &[".so"],
        json!({"string_arg": "/lib/libc.so.6"})
    ));
    assert!(matches(
        "string",
        "NotPostfix",
        &[".so"],
        json!({"string_arg": "/lib/libc.so.6"})
    ));
    assert!(!matches(
        "string",
        "NotPostfix",
        &[".so"],
        json!({"string_arg": "/lib/libc.so"})
    ));
    assert!(matches(
        "string",
        "SubString",
        &["pass"],
        json!({"string_arg": "/etc/passwd"})
    ));
    assert!(!matches(
        "string",
        "SubString",
        &["PASS"],
        json!({"string_arg": "/etc/passwd"})
    ));
    assert!(matches(
        "string",
        "SubStringIgnCase",
        &["PASS"],
        json!({"string_arg": "/etc/passwd"})
    ));
    assert!(!matches(
        "string",
        "SubStringIgnCase",
        &["shadow"],
        json!({"string_arg": "/etc/passwd"})
    ));
}

#[test]
fn prefix_and_postfix_windows() {
    // Postfix compares the last 127 bytes: a suffix of a long string still matches.
    let long = format!("/{}/tail.log", "d".repeat(300));
    assert!(matches(
        "string",
        "Postfix",
        &["tail.log"],
        json!({"string_arg": long})
    ));
    // Prefix compares the first 255 bytes only.
    let value = "p".repeat(256);
    assert!(!matches_unchecked(
        "string",
        "Prefix",
        &[value.as_str()],
        json!({"string_arg": "p".repeat(400)})
    ));
    assert!(matches(
        "string",
        "Prefix",
        &["ppp"],
        json!({"string_arg": "p".repeat(400)})
    ));
}

#[test]
fn buffers_compare_their_bytes() {
    // "hello world" in base64.
    assert!(matches(
        "char_buf",
        "Equal",
        &["hello world"],
        json!({"bytes_arg": "aGVsbG8gd29ybGQ="})
    ));
    assert!(matches(
        "char_buf",
        "Prefix",
        &["hello"],
        json!({"bytes_arg": "aGVsbG8gd29ybGQ="})
    ));
    assert!(!matches(
        "char_buf",
        "Prefix",
        &["world"],
        json!({"bytes_arg": "aGVsbG8gd29ybGQ="})
    ));
    // A truncated buffer without its bytes cannot match.
    assert!(!matches(
        "char_buf",
        "Prefix",
        &["hello"],
        json!({"truncated_bytes_arg": {"orig_size": "65536"}})
    ));
}

// ---------------------------------------------------------------- paths

#[test]
fn paths_and_empty_paths() {
    let file = |p: &str| json!({"file_arg": {"path": p}});
    assert!(matches(
        "file",
        "Equal",
        &["/etc/passwd"],
        file("/etc/passwd")
    ));
    assert!(!matches(
        "file",
        "Equal",
        &["/etc/passwd"],
        file("/etc/passwd.bak")
    ));
    // Prefix vs Equal on paths: a directory prefix matches what Equal does not.
    assert!(matches("file", "Prefix", &["/etc"], file("/etc/passwd")));
    assert!(!matches("file", "Equal", &["/etc"], file("/etc/passwd")));
    assert!(matches("file", "NotPrefix", &["/tmp"], file("/etc/passwd")));
    assert!(matches(
        "path",
        "Postfix",
        &[".conf"],
        json!({"path_arg": {"path": "/etc/nginx/nginx.conf"}})
    ));
    assert!(matches(
        "linux_binprm",
        "Equal",
        &["/usr/bin/cat"],
        json!({"linux_binprm_arg": {"path": "/usr/bin/cat"}})
    ));
    assert!(matches(
        "fd",
        "Prefix",
        &["/var/log/"],
        file("/var/log/syslog")
    ));
    assert!(matches(
        "dentry",
        "Postfix",
        &["passwd"],
        json!({"path_arg": {"path": "/etc/passwd"}})
    ));
    // Paths Tetragon could not build show as "/": nothing matches, not even Not*.
    assert!(!matches("file", "Equal", &["/"], file("/")));
    assert!(!matches("file", "NotEqual", &["/etc/passwd"], file("/")));
    assert!(!matches("file", "NotPrefix", &["/tmp"], file("/")));
    assert!(!matches(
        "file",
        "NotPostfix",
        &[".so"],
        json!({"file_arg": {}})
    ));
    // Older exports without the leading slash are read as absolute paths.
    assert!(matches(
        "file",
        "Equal",
        &["/etc/passwd"],
        file("etc/passwd")
    ));
}

#[test]
fn legacy_paths_can_be_read_verbatim() {
    let report = load(&one_arg_policy("file", "Equal", &["/etc/passwd"]));
    let options = SimOptions {
        legacy_paths: false,
        ..SimOptions::default()
    };
    let verdicts = run_report(
        &report,
        &[kprobe_event(json!([{"file_arg": {"path": "etc/passwd"}}]))],
        options,
    );
    assert_eq!(only(&verdicts[0]).selector, SelectorOutcome::NoneMatched);
}

#[test]
fn file_types() {
    let file = |perm: &str| json!({"file_arg": {"path": "/etc/passwd", "permission": perm}});
    assert!(matches("file", "FileType", &["reg"], file("-rw-r--r--")));
    assert!(!matches("file", "FileType", &["dir"], file("-rw-r--r--")));
    assert!(matches("file", "NotFileType", &["dir"], file("-rw-r--r--")));
    assert!(matches(
        "file",
        "FileType",
        &["dir", "lnk"],
        file("drwxr-xr-x")
    ));
    assert!(!matches(
        "file",
        "FileType",
        &["reg"],
        json!({"file_arg": {"path": "/etc/passwd"}})
    ));
}

#[test]
fn types_without_runtime_filters_skip_the_filter() {
    // Tetragon has no BPF filter for `filename` or `cred`: the filter always passes.
    assert!(matches_unchecked(
        "filename",
        "Prefix",
        &["/nowhere"],
        json!({"string_arg": "/etc/passwd"})
    ));
    assert!(matches_unchecked(
        "cred",
        "Prefix",
        &["x"],
        json!({"process_credentials_arg": {"uid": 0}})
    ));
}

// ---------------------------------------------------------------- sockets

fn sock(fields: Value) -> Value {
    json!({ "sock_arg": fields })
}

#[test]
fn socket_addresses() {
    let v4 = |daddr: &str| {
        sock(
            json!({"family": "AF_INET", "saddr": "10.0.0.5", "daddr": daddr, "sport": 40000, "dport": 443, "protocol": "IPPROTO_TCP", "state": "TCP_ESTABLISHED"}),
        )
    };
    assert!(matches("sock", "DAddr", &["10.0.0.0/8"], v4("10.1.2.3")));
    assert!(!matches(
        "sock",
        "DAddr",
        &["10.0.0.0/8"],
        v4("192.168.0.1")
    ));
    assert!(matches(
        "sock",
        "DAddr",
        &["192.168.0.1"],
        v4("192.168.0.1")
    ));
    assert!(matches(
        "sock",
        "NotDAddr",
        &["10.0.0.0/8"],
        v4("192.168.0.1")
    ));
    assert!(!matches(
        "sock",
        "NotDAddr",
        &["10.0.0.0/8"],
        v4("10.9.9.9")
    ));
    assert!(matches("sock", "SAddr", &["10.0.0.0/24"], v4("1.1.1.1")));
    assert!(!matches(
        "sock",
        "NotSAddr",
        &["10.0.0.0/24"],
        v4("1.1.1.1")
    ));
    let v6 = sock(
        json!({"family": "AF_INET6", "saddr": "fd00::1", "daddr": "::1", "sport": 1, "dport": 2}),
    );
    assert!(matches("sock", "SAddr", &["fd00::/8"], v6.clone()));
    // No IPv6 value: the negated filter matches an IPv6 address.
    assert!(matches("sock", "NotDAddr", &["10.0.0.0/8"], v6.clone()));
    // IPv4-mapped IPv6 addresses are not matched by IPv4 values.
    let mapped = sock(json!({"family": "AF_INET6", "daddr": "::ffff:10.1.2.3"}));
    assert!(!matches("sock", "DAddr", &["10.0.0.0/8"], mapped));
    // Other families match no address filter, not even a negated one.
    let unix = sock(json!({"family": "AF_UNIX"}));
    assert!(!matches("sock", "NotDAddr", &["10.0.0.0/8"], unix.clone()));
    assert!(!matches("sock", "DAddr", &["10.0.0.0/8"], unix));
}

#[test]
fn socket_ports_protocols_families_states() {
    let s = |dport: u32, sport: u32| {
        sock(
            json!({"family": "AF_INET", "saddr": "10.0.0.5", "daddr": "10.0.0.6", "sport": sport, "dport": dport, "protocol": "IPPROTO_TCP", "state": "TCP_ESTABLISHED"}),
        )
    };
    assert!(matches("sock", "DPort", &["443", "8000:8080"], s(8080, 1)));
    assert!(matches("sock", "DPort", &["443", "8000:8080"], s(443, 1)));
    assert!(!matches("sock", "DPort", &["443", "8000:8080"], s(22, 1)));
    assert!(matches("sock", "NotDPort", &["443"], s(22, 1)));
    assert!(!matches("sock", "NotDPort", &["443"], s(443, 1)));
    assert!(matches("sock", "SPort", &["1"], s(22, 1)));
    assert!(matches("sock", "NotSPort", &["2"], s(22, 1)));
    assert!(matches("sock", "SPortPriv", &[], s(22, 80)));
    assert!(!matches("sock", "SPortPriv", &[], s(22, 8080)));
    assert!(matches("sock", "NotSportPriv", &[], s(22, 8080)));
    assert!(!matches("sock", "NotSportPriv", &[], s(22, 80)));
    assert!(matches("sock", "DPortPriv", &[], s(1023, 1)));
    assert!(!matches("sock", "DPortPriv", &[], s(1024, 1)));
    assert!(matches("sock", "NotDPortPriv", &[], s(1024, 1)));
    assert!(matches("sock", "Protocol", &["IPPROTO_TCP"], s(1, 1)));
    assert!(!matches("sock", "Protocol", &["IPPROTO_UDP"], s(1, 1)));
    assert!(matches("sock", "Family", &["AF_INET"], s(1, 1)));
    assert!(!matches("sock", "Family", &["AF_INET6"], s(1, 1)));
    assert!(matches("sock", "State", &["TCP_ESTABLISHED"], s(1, 1)));
    assert!(!matches("sock", "State", &["TCP_LISTEN"], s(1, 1)));
    assert!(matches("socket", "State", &["TCP_ESTABLISHED"], s(1, 1)));
}

#[test]
fn packets_and_socket_addresses() {
    let skb = json!({"skb_arg": {"family": "AF_INET", "saddr": "10.0.0.1", "daddr": "8.8.8.8", "sport": 5353, "dport": 53, "proto": 17, "protocol": "IPPROTO_UDP"}});
    assert!(matches("skb", "DAddr", &["8.8.8.0/24"], skb.clone()));
    assert!(matches("skb", "DPort", &["53"], skb.clone()));
    assert!(matches("skb", "Protocol", &["IPPROTO_UDP"], skb.clone()));
    // skb arguments carry no TCP state.
    assert!(!matches("skb", "State", &["TCP_ESTABLISHED"], skb));
    let addr = json!({"sockaddr_arg": {"family": "AF_INET", "addr": "127.0.0.1", "port": 80}});
    assert!(matches("sockaddr", "SAddr", &["127.0.0.0/8"], addr.clone()));
    assert!(!matches(
        "sockaddr",
        "NotSAddr",
        &["127.0.0.0/8"],
        addr.clone()
    ));
    assert!(matches("sockaddr", "SPort", &["80"], addr.clone()));
    assert!(matches("sockaddr", "SPortPriv", &[], addr.clone()));
    assert!(matches("sockaddr", "Family", &["AF_INET"], addr));
}

#[test]
fn operators_sockets_do_not_support_never_match() {
    let s = sock(json!({"family": "AF_INET", "daddr": "1.2.3.4"}));
    assert!(!matches_unchecked("sock", "Prefix", &["1"], s.clone()));
    assert!(!matches_unchecked("sock", "NotPrefix", &["1"], s.clone()));
    assert!(!matches_unchecked("sock", "Equal", &["1"], s));
}

// ---------------------------------------------------------------- syscalls and capabilities

fn sys_enter_policy(op: &str, values: &str) -> String {
    format!(
        "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: syscalls
spec:
  lists:
  - name: watched
    type: syscalls
    values: [sys_dup, sys_execve, i386/sys_dup]
  tracepoints:
  - subsystem: raw_syscalls
    event: sys_enter
    args:
    - index: 4
      type: syscall64
    selectors:
    - matchArgs:
      - index: 0
        operator: {op}
        values: [{values}]
"
    )
}

fn sys_enter(id: u32, abi: &str) -> Value {
    json!({"process_tracepoint": {
        "process": process(10, "/bin/sh"),
        "subsys": "raw_syscalls", "event": "sys_enter",
        "args": [{"syscall_id": {"id": id, "abi": abi}}]
    }, "time": "2024-05-01T10:00:00Z"})
}

fn sys_enter_matches(op: &str, values: &str, id: u32, abi: &str) -> bool {
    let verdicts = run(&sys_enter_policy(op, values), &[sys_enter(id, abi)]);
    only(&verdicts[0]).selector == SelectorOutcome::Matched(0)
}

#[test]
fn syscall_lists_per_abi() {
    // x86_64: execve is 59, dup 32; i386: dup 41 (with the compat bit).
    assert!(sys_enter_matches("InMap", "\"list:watched\"", 59, "x64"));
    assert!(sys_enter_matches("InMap", "\"list:watched\"", 32, "x64"));
    assert!(!sys_enter_matches("InMap", "\"list:watched\"", 1, "x64"));
    assert!(sys_enter_matches("InMap", "\"list:watched\"", 41, "i386"));
    assert!(!sys_enter_matches("InMap", "\"list:watched\"", 59, "i386"));
    // arm64 nodes use the generic table: dup is 23, execve 221.
    assert!(sys_enter_matches("InMap", "\"list:watched\"", 23, "arm64"));
    assert!(sys_enter_matches("InMap", "\"list:watched\"", 221, "arm64"));
    assert!(!sys_enter_matches("InMap", "\"list:watched\"", 32, "arm64"));
    assert!(sys_enter_matches("NotInMap", "\"list:watched\"", 1, "x64"));
    assert!(!sys_enter_matches(
        "NotInMap",
        "\"list:watched\"",
        59,
        "x64"
    ));
    assert!(sys_enter_matches("Equal", "\"59\"", 59, "x64"));
    assert!(sys_enter_matches("InMap", "\"0:10\"", 3, "x64"));
}

#[test]
fn capability_masks_and_capabilities_gained() {
    assert!(matches(
        "kernel_cap_t",
        "Mask",
        &["CAP_SYS_ADMIN"],
        json!({"kernel_cap_t_arg": "0x200000"})
    ));
    assert!(!matches(
        "kernel_cap_t",
        "Mask",
        &["CAP_SYS_ADMIN"],
        json!({"kernel_cap_t_arg": "0x1"})
    ));
    assert!(matches(
        "cap_effective",
        "Equal",
        &["0x3"],
        json!({"cap_effective_arg": "0000000000000003"})
    ));
    let gained = |old: &str, new: &str, first_filter_passes: bool| -> bool {
        let yaml = format!(
            "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: caps
spec:
  kprobes:
  - call: commit_creds
    syscall: false
    args:
    - index: 0
      type: int
    - index: 1
      type: cap_permitted
    - index: 2
      type: cap_permitted
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: [\"{}\"]
      - args: [1, 2]
        operator: CapabilitiesGained
",
            if first_filter_passes { 7 } else { 8 }
        );
        let e = json!({"process_kprobe": {"process": process(5, "/usr/bin/su"), "function_name": "commit_creds",
            "args": [{"int_arg": 7}, {"cap_permitted_arg": old}, {"cap_permitted_arg": new}]}});
        let verdicts = run(&yaml, &[e]);
        only(&verdicts[0]).selector == SelectorOutcome::Matched(0)
    };
    assert!(gained("0x0", "0x200000", true));
    assert!(!gained("0x200000", "0x200000", true));
    assert!(!gained("0x200000", "0x0", true));
    // Tetragon bug: CapabilitiesGained replaces the earlier filters' result.
    assert!(gained("0x0", "0x200000", false));
}

#[test]
fn cel_expressions_are_not_evaluated() {
    assert!(!matches_unchecked(
        "int",
        "CelExpr",
        &["args[0] == 1"],
        json!({"int_arg": 1})
    ));
}

// ---------------------------------------------------------------- process filters

fn hook_policy(selector: &str) -> String {
    format!(
        "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: proc
spec:
  kprobes:
  - call: test_function
    syscall: false
    selectors:
    - {}
",
        selector.trim().replace('\n', "\n      ")
    )
}

fn exec(pid: u32, binary: &str, parent: u32) -> Value {
    json!({"process_exec": {
        "process": {"exec_id": format!("id-{pid}"), "pid": pid, "binary": binary, "parent_exec_id": format!("id-{parent}")},
    }, "time": "2024-05-01T10:00:00Z"})
}

/// A hook event of `pid` without `parent`, so ancestors come from the tree.
fn bare_hook(pid: u32, binary: &str, parent: u32) -> Value {
    json!({"process_kprobe": {
        "process": {"exec_id": format!("id-{pid}"), "pid": pid, "binary": binary, "parent_exec_id": format!("id-{parent}")},
        "function_name": "test_function",
    }, "time": "2024-05-01T10:00:00Z"})
}

fn selector_matched(selector: &str, events: &[Value]) -> Vec<bool> {
    run(&hook_policy(selector), events)
        .iter()
        .filter(|v| !v.is_empty())
        .map(|v| only(v).selector == SelectorOutcome::Matched(0))
        .collect()
}

#[test]
fn match_binaries_operators() {
    let e = |b: &str| kprobe_event_with_binary(b);
    let sel =
        |op: &str, values: &str| format!("matchBinaries:\n- operator: {op}\n  values: [{values}]");
    assert_eq!(
        selector_matched(
            &sel("In", "/usr/bin/runc"),
            &[e("/usr/bin/runc"), e("/usr/sbin/runc")]
        ),
        [true, false]
    );
    assert_eq!(
        selector_matched(
            &sel("NotIn", "/usr/bin/runc"),
            &[e("/usr/bin/runc"), e("/usr/sbin/runc")]
        ),
        [false, true]
    );
    assert_eq!(
        selector_matched(&sel("Prefix", "/usr/"), &[e("/usr/bin/x"), e("/bin/x")]),
        [true, false]
    );
    assert_eq!(
        selector_matched(&sel("NotPrefix", "/usr/"), &[e("/usr/bin/x"), e("/bin/x")]),
        [false, true]
    );
    assert_eq!(
        selector_matched(&sel("Postfix", "/sh"), &[e("/bin/sh"), e("/bin/bash")]),
        [true, false]
    );
    assert_eq!(
        selector_matched(&sel("NotPostfix", "/sh"), &[e("/bin/sh"), e("/bin/bash")]),
        [false, true]
    );
}

fn kprobe_event_with_binary(binary: &str) -> Value {
    json!({"process_kprobe": {
        "process": {"exec_id": "x", "pid": 77, "binary": binary},
        "parent": {"exec_id": "p", "pid": 76, "binary": "/usr/bin/containerd-shim"},
        "function_name": "test_function",
    }})
}

#[test]
fn match_parent_binaries_and_follow_children() {
    let sel = "matchParentBinaries:\n- operator: In\n  values: [/usr/bin/containerd-shim]";
    assert_eq!(
        selector_matched(sel, &[kprobe_event_with_binary("/bin/sh")]),
        [true]
    );
    // Without a parent in the event nor in the tree, the parent is unknown.
    assert_eq!(
        selector_matched(sel, &[bare_hook(50, "/bin/sh", 49)]),
        [false]
    );
    // followChildren: an ancestor that exec'd a listed binary marks its descendants.
    let follow =
        "matchBinaries:\n- operator: In\n  values: [/usr/bin/sshd]\n  followChildren: true";
    let chain = [
        exec(100, "/usr/bin/sshd", 1),
        exec(101, "/bin/bash", 100),
        exec(102, "/usr/bin/python3", 101),
        bare_hook(102, "/usr/bin/python3", 101),
        bare_hook(300, "/usr/bin/python3", 299),
    ];
    assert_eq!(selector_matched(follow, &chain), [true, false]);
    let not_in =
        "matchBinaries:\n- operator: NotIn\n  values: [/usr/bin/sshd]\n  followChildren: true";
    assert_eq!(selector_matched(not_in, &chain), [false, true]);
    // Without followChildren only the process's own binary counts.
    let plain = "matchBinaries:\n- operator: In\n  values: [/usr/bin/sshd]";
    assert_eq!(selector_matched(plain, &chain), [false, false]);
    let parents =
        "matchParentBinaries:\n- operator: In\n  values: [/usr/bin/sshd]\n  followChildren: true";
    assert_eq!(selector_matched(parents, &chain), [true, false]);
    // An empty matchBinaries is ignored.
    assert_eq!(
        selector_matched("matchBinaries:\n- operator: In\n  values: []", &chain[3..4]),
        [true]
    );
}

#[test]
fn follow_forks_across_a_fork_chain() {
    // 200 → 201 → ... → 212: followForks reaches 9 ancestors' PIDs.
    let mut events: Vec<Value> = (201..=212)
        .map(|pid| exec(pid, "/bin/sh", pid - 1))
        .collect();
    events.insert(0, exec(200, "/usr/bin/init-script", 1));
    let hooks = [
        bare_hook(209, "/bin/sh", 208),
        bare_hook(210, "/bin/sh", 209),
        bare_hook(212, "/bin/sh", 211),
    ];
    events.extend(hooks.iter().cloned());
    let follow = "matchPIDs:\n- operator: In\n  values: [200]\n  followForks: true";
    // 209 is 9 generations below 200: reached; 210 and 212 are too deep.
    assert_eq!(selector_matched(follow, &events), [true, false, false]);
    let plain = "matchPIDs:\n- operator: In\n  values: [209, 210]";
    assert_eq!(selector_matched(plain, &events), [true, true, false]);
    let not_in = "matchPIDs:\n- operator: NotIn\n  values: [202]\n  followForks: true";
    assert_eq!(selector_matched(not_in, &events), [false, false, true]);
    // Only the first 4 values are read.
    let five = "matchPIDs:\n- operator: In\n  values: [1, 2, 3, 4, 212]";
    assert_eq!(selector_matched(five, &events), [false, false, false]);
}

#[test]
fn namespace_pids() {
    let container = |pid: u32, nspid: u32| {
        json!({"process_kprobe": {
            "process": {"exec_id": format!("c{pid}"), "pid": pid, "binary": "/bin/sh",
                        "pod": {"namespace": "ns", "name": "pod", "container": {"id": "c", "pid": nspid}}},
            "function_name": "test_function"}})
    };
    let sel = "matchPIDs:\n- operator: In\n  values: [1]\n  isNamespacePID: true";
    assert_eq!(
        selector_matched(sel, &[container(4000, 1), container(4001, 7)]),
        [true, false]
    );
    let not_in = "matchPIDs:\n- operator: NotIn\n  values: [1]\n  isNamespacePID: true";
    assert_eq!(
        selector_matched(not_in, &[container(4000, 1), container(4001, 7)]),
        [false, true]
    );
    // followForks with isNamespacePID rejects host processes for In and NotIn.
    let host = kprobe_event_with_binary("/bin/sh");
    let follow_in =
        "matchPIDs:\n- operator: In\n  values: [77]\n  isNamespacePID: true\n  followForks: true";
    let follow_not_in =
        "matchPIDs:\n- operator: NotIn\n  values: [1]\n  isNamespacePID: true\n  followForks: true";
    assert_eq!(
        selector_matched(follow_in, std::slice::from_ref(&host)),
        [false]
    );
    assert_eq!(selector_matched(follow_not_in, &[host]), [false]);
}

fn with_ns_caps(ns: Value, cap: Value) -> Value {
    json!({"process_kprobe": {
        "process": {"exec_id": "n1", "pid": 90, "binary": "/bin/sh", "ns": ns, "cap": cap},
        "function_name": "test_function"}})
}

#[test]
fn namespaces_and_capabilities() {
    let host_net = with_ns_caps(
        json!({"net": {"inum": 4026531840u32, "is_host": true}, "user": {"inum": 4026531837u32, "is_host": true}}),
        json!({"effective": ["CAP_SYS_ADMIN", "CAP_NET_RAW"]}),
    );
    let pod_net = with_ns_caps(
        json!({"net": {"inum": 4026532500u32}, "user": {"inum": 4026532600u32}}),
        json!({"effective": ["CAP_CHOWN"]}),
    );
    let events = [host_net, pod_net];
    assert_eq!(
        selector_matched(
            "matchNamespaces:\n- namespace: Net\n  operator: In\n  values: [host_ns]",
            &events
        ),
        [true, false]
    );
    assert_eq!(
        selector_matched(
            "matchNamespaces:\n- namespace: Net\n  operator: NotIn\n  values: [host_ns]",
            &events
        ),
        [false, true]
    );
    assert_eq!(
        selector_matched(
            "matchNamespaces:\n- namespace: Net\n  operator: In\n  values: [\"4026532500\"]",
            &events
        ),
        [false, true]
    );
    // No such namespace in the event: cannot tell, no match.
    assert_eq!(
        selector_matched(
            "matchNamespaces:\n- namespace: Mnt\n  operator: NotIn\n  values: [\"1\"]",
            &events
        ),
        [false, false]
    );
    assert_eq!(
        selector_matched(
            "matchCapabilities:\n- type: Effective\n  operator: In\n  values: [CAP_SYS_ADMIN]",
            &events
        ),
        [true, false]
    );
    assert_eq!(
        selector_matched(
            "matchCapabilities:\n- type: Effective\n  operator: NotIn\n  values: [CAP_SYS_ADMIN]",
            &events
        ),
        [false, true]
    );
    assert_eq!(
        selector_matched(
            "matchCapabilities:\n- type: Permitted\n  operator: In\n  values: [CAP_SYS_ADMIN]",
            &events
        ),
        [false, false]
    );
    // isNamespaceCapability rejects processes in the host user namespace.
    assert_eq!(
        selector_matched(
            "matchCapabilities:\n- operator: In\n  isNamespaceCapability: true\n  values: [CAP_CHOWN, CAP_SYS_ADMIN]",
            &events
        ),
        [false, true]
    );
}

#[test]
fn namespace_and_capability_changes_are_stateful() {
    let exec_event = json!({"process_exec": {"process": {"exec_id": "z", "pid": 5, "binary": "/usr/bin/unshare",
        "ns": {"mnt": {"inum": 10}, "net": {"inum": 20}}, "cap": {"effective": ["CAP_CHOWN"]}}}});
    let hook = |mnt: u32, caps: Value| {
        json!({"process_kprobe": {"process": {"exec_id": "z", "pid": 5, "binary": "/usr/bin/unshare",
            "ns": {"mnt": {"inum": mnt}, "net": {"inum": 20}}, "cap": {"effective": caps}}, "function_name": "test_function"}})
    };
    let events = [
        exec_event.clone(),
        hook(10, json!(["CAP_CHOWN"])),
        hook(11, json!(["CAP_CHOWN"])),
        hook(11, json!(["CAP_CHOWN"])),
    ];
    // The change matches once; the posted event records the new namespace.
    assert_eq!(
        selector_matched(
            "matchNamespaceChanges:\n- operator: In\n  values: [Mnt]",
            &events
        ),
        [false, true, false]
    );
    assert_eq!(
        selector_matched(
            "matchNamespaceChanges:\n- operator: In\n  values: [Net]",
            &events
        ),
        [false, false, false]
    );
    assert_eq!(
        selector_matched(
            "matchNamespaceChanges:\n- operator: NotIn\n  values: [Net]",
            &events
        ),
        [false, true, false]
    );
    let cap_events = [
        exec_event,
        hook(10, json!(["CAP_CHOWN"])),
        hook(10, json!(["CAP_CHOWN", "CAP_SYS_ADMIN"])),
        hook(10, json!(["CAP_CHOWN", "CAP_SYS_ADMIN"])),
    ];
    assert_eq!(
        selector_matched(
            "matchCapabilityChanges:\n- operator: In\n  values: [CAP_SYS_ADMIN]",
            &cap_events
        ),
        [false, true, false]
    );
    assert_eq!(
        selector_matched(
            "matchCapabilityChanges:\n- operator: NotIn\n  values: [CAP_SYS_ADMIN]",
            &cap_events
        ),
        [false, false, false]
    );
    assert_eq!(
        selector_matched(
            "matchCapabilityChanges:\n- operator: NotIn\n  values: [CAP_NET_RAW]",
            &cap_events
        ),
        [false, true, false]
    );
}

#[test]
fn workloads_and_policy_scope() {
    let in_pod = |ns: &str, app: &str| {
        json!({"process_kprobe": {"process": {"exec_id": format!("{ns}{app}"), "pid": 1, "binary": "/bin/sh",
            "pod": {"namespace": ns, "name": "p", "pod_labels": {"app": app}, "container": {"id": "c", "name": "main", "image": {"name": "nginx:1.25"}}}},
            "function_name": "test_function"}})
    };
    let host = kprobe_event_with_binary("/bin/sh");
    let events = [in_pod("web", "frontend"), in_pod("web", "backend"), host];
    let sel = "matchWorkloads:\n  podSelector:\n    matchLabels:\n      app: frontend";
    assert_eq!(selector_matched(sel, &events), [true, false, false]);
    let scoped = |header: &str| -> Vec<Option<bool>> {
        let yaml = format!(
            "apiVersion: cilium.io/v1alpha1\n{header}\n  kprobes:\n  - call: test_function\n    syscall: false\n"
        );
        run(&yaml, &events)
            .iter()
            .map(|v| only(v).posted.then_some(true).or(Some(false)))
            .collect()
    };
    let namespaced =
        scoped("kind: TracingPolicyNamespaced\nmetadata:\n  name: n\n  namespace: web\nspec:");
    assert_eq!(namespaced, [Some(true), Some(true), Some(false)]);
    let pods = scoped(
        "kind: TracingPolicy\nmetadata:\n  name: n\nspec:\n  podSelector:\n    matchExpressions:\n    - key: app\n      operator: NotIn\n      values: [backend]",
    );
    assert_eq!(pods, [Some(true), Some(false), Some(false)]);
    let with_host = scoped(
        "kind: TracingPolicy\nmetadata:\n  name: n\nspec:\n  podSelector:\n    matchLabels:\n      app: backend\n  hostSelector: {}",
    );
    assert_eq!(with_host, [Some(false), Some(true), Some(true)]);
    let containers = scoped(
        "kind: TracingPolicy\nmetadata:\n  name: n\nspec:\n  containerSelector:\n    matchExpressions:\n    - key: repo\n      operator: In\n      values: [nginx]",
    );
    assert_eq!(containers, [Some(true), Some(true), Some(false)]);
    let out = run(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicyNamespaced\nmetadata:\n  name: n\n  namespace: other\nspec:\n  kprobes:\n  - call: test_function\n    syscall: false\n",
        &events[..1],
    );
    assert!(matches!(
        only(&out[0]).suppressed,
        Some(Suppression::OutOfScope(_))
    ));
}

// ---------------------------------------------------------------- selectors and actions

#[test]
fn first_matching_selector_wins_and_its_last_action_is_the_event_action() {
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: order
spec:
  kprobes:
  - call: security_file_open
    syscall: false
    args:
    - index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: [\"1\"]
      matchActions:
      - action: Sigkill
      - action: Post
    - matchArgs:
      - index: 0
        operator: LT
        values: [\"10\"]
      matchActions:
      - action: Post
      - action: Override
        argError: -1
    - matchActions:
      - action: NoPost
";
    let on_open = |arg: i32| {
        let mut e = kprobe_event(json!([{"int_arg": arg}]));
        e["process_kprobe"]["function_name"] = json!("security_file_open");
        e
    };
    let v = run(yaml, &[on_open(1), on_open(5), on_open(50)]);
    let first = only(&v[0]);
    assert_eq!(first.selector, SelectorOutcome::Matched(0));
    assert_eq!(
        first.action.as_ref().and_then(|a| a.name()),
        Some("KPROBE_ACTION_POST")
    );
    assert_eq!(first.action_names(), ["Sigkill", "Post"]);
    assert!(first.posted);
    let second = only(&v[1]);
    assert_eq!(second.selector, SelectorOutcome::Matched(1));
    assert_eq!(
        second.action.as_ref().and_then(|a| a.name()),
        Some("KPROBE_ACTION_OVERRIDE")
    );
    assert_eq!(second.action_names(), ["Post", "Override(error=-1)"]);
    let output = second.output.as_ref().expect("posted events have output");
    assert_eq!(output.policy_name(), Some("order"));
    assert_eq!(
        output
            .action()
            .and_then(|a| a.name().map(str::to_string))
            .as_deref(),
        Some("KPROBE_ACTION_OVERRIDE")
    );
    let third = only(&v[2]);
    assert_eq!(third.selector, SelectorOutcome::Matched(2));
    assert!(!third.posted);
    assert_eq!(third.suppressed, Some(Suppression::NoPost));
}

#[test]
fn no_selectors_post_everything_and_unmatched_events_drop() {
    let yaml = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: all\nspec:\n  kprobes:\n  - call: test_function\n    syscall: false\n    message: \"seen\"\n    tags: [\"t1\"]\n";
    let v = run(yaml, &[kprobe_event(json!([]))]);
    let verdict = only(&v[0]);
    assert_eq!(verdict.selector, SelectorOutcome::NoSelectors);
    assert!(verdict.posted);
    let out = verdict.output.as_ref().expect("output");
    assert_eq!(out.message(), Some("seen"));
    assert_eq!(out.tags(), ["t1"]);
    let v = run(
        &one_arg_policy("int", "Equal", &["1"]),
        &[kprobe_event(json!([{"int_arg": 2}]))],
    );
    assert_eq!(only(&v[0]).suppressed, Some(Suppression::NoSelectorMatched));
    assert!(only(&v[0]).output.is_none());
}

#[test]
fn rate_limits_count_on_event_time_per_scope() {
    let yaml = |scope: &str| {
        format!(
            "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: limited
spec:
  kprobes:
  - call: test_function
    syscall: false
    args:
    - index: 0
      type: int
    selectors:
    - matchActions:
      - action: Post
        rateLimit: 1m
        rateLimitScope: {scope}
"
        )
    };
    let at = |seconds: u32, tid: u32, arg: i32| {
        json!({"process_kprobe": {"process": {"exec_id": "r", "pid": 1, "tid": tid, "binary": "/bin/sh"},
            "function_name": "test_function", "args": [{"int_arg": arg}]},
            "time": format!("2024-05-01T10:{:02}:{:02}Z", seconds / 60, seconds % 60)})
    };
    let events = [
        at(0, 1, 1),
        at(30, 1, 1),
        at(30, 2, 1),
        at(31, 1, 2),
        at(61, 1, 1),
        at(62, 1, 1),
    ];
    let posted = |scope: &str| -> Vec<bool> {
        run(&yaml(scope), &events)
            .iter()
            .map(|v| only(v).posted)
            .collect()
    };
    // thread: a new thread or other arguments are new keys; suppressed
    // events do not refresh the timer.
    assert_eq!(posted("thread"), [true, false, true, true, true, false]);
    assert_eq!(posted("process"), [true, false, false, true, true, false]);
    assert_eq!(posted("global"), [true, false, false, true, true, false]);
    let limited = run(&yaml("thread"), &events);
    assert_eq!(only(&limited[1]).suppressed, Some(Suppression::RateLimited));
}

#[test]
fn monitor_mode_names_enforcement_without_running_it() {
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: monitor
spec:
  options:
  - name: policy-mode
    value: monitor
  kprobes:
  - call: test_function
    syscall: false
    selectors:
    - matchActions:
      - action: Sigkill
";
    let v = run(yaml, &[kprobe_event(json!([]))]);
    let verdict = only(&v[0]);
    assert_eq!(verdict.action_names(), ["Sigkill[monitor]"]);
    assert_eq!(
        verdict.action.as_ref().and_then(|a| a.name()),
        Some("KPROBE_ACTION_SIGKILL")
    );
    assert!(verdict.posted);
}

#[test]
fn return_selectors_set_the_return_action() {
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: ret
spec:
  kprobes:
  - call: test_function
    syscall: false
    return: true
    args:
    - index: 0
      type: int
    returnArg:
      index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: [\"1\"]
      matchReturnArgs:
      - index: 0
        operator: LT
        values: [\"0\"]
      matchReturnActions:
      - action: Post
    - matchReturnArgs:
      - index: 0
        operator: Equal
        values: [\"0\"]
      matchReturnActions:
      - action: NoPost
";
    let e = |arg: i32, ret: i32| {
        json!({"process_kprobe": {"process": process(3, "/bin/x"), "function_name": "test_function",
            "args": [{"int_arg": arg}], "return": {"int_arg": ret}}})
    };
    let v = run(yaml, &[e(1, -2), e(1, 0), e(1, 5), e(2, -2)]);
    let failed = only(&v[0]);
    assert_eq!(failed.return_selector, Some(0));
    assert_eq!(
        failed.return_action.as_ref().and_then(|a| a.name()),
        Some("KPROBE_ACTION_POST")
    );
    assert!(failed.posted);
    let zero = only(&v[1]);
    assert_eq!(zero.return_selector, Some(1));
    assert!(!zero.posted);
    assert_eq!(zero.suppressed, Some(Suppression::ReturnSuppressed));
    let positive = only(&v[2]);
    assert_eq!(positive.return_selector, None);
    assert_eq!(positive.suppressed, Some(Suppression::ReturnSuppressed));
    // Entry selectors decide first: arg 2 matches selector 1 (no matchArgs).
    assert_eq!(only(&v[3]).selector, SelectorOutcome::Matched(1));
}

#[test]
fn track_sock_registers_the_socket() {
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: socks
spec:
  kprobes:
  - call: tcp_connect
    syscall: false
    args:
    - index: 0
      type: sock
    selectors:
    - matchActions:
      - action: TrackSock
        argSock: 0
  - call: tcp_close
    syscall: false
    args:
    - index: 0
      type: sock
    selectors:
    - matchActions:
      - action: UntrackSock
        argSock: 0
";
    let report = load(yaml);
    let policies: Vec<&Policy> = report.policies.iter().map(|p| &p.policy).collect();
    let mut sim = Simulator::new(&policies, SimOptions::default());
    let e = |f: &str| {
        event(
            json!({"process_kprobe": {"process": process(8, "/usr/bin/curl"), "function_name": f,
        "args": [{"sock_arg": {"family": "AF_INET", "cookie": "77"}}]}}),
        )
    };
    let v = sim.feed(&e("tcp_connect"));
    assert_eq!(
        only(&v).action.as_ref().and_then(|a| a.name()),
        Some("KPROBE_ACTION_TRACKSOCK")
    );
    assert_eq!(
        sim.tracked_sockets().get(&77).map(String::as_str),
        Some("id-8")
    );
    sim.feed(&e("tcp_close"));
    assert!(sim.tracked_sockets().is_empty());
}

#[test]
fn hooks_of_every_kind_are_matched() {
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: kinds
spec:
  lsmhooks:
  - hook: file_open
    args:
    - index: 0
      type: file
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: [/etc/]
      matchActions:
      - action: Override
        argError: -13
";
    let lsm = |path: &str| json!({"process_lsm": {"process": process(4, "/bin/cat"), "function_name": "file_open", "args": [{"file_arg": {"path": path}}]}});
    let v = run(yaml, &[lsm("/etc/shadow"), lsm("/tmp/x")]);
    assert_eq!(
        only(&v[0]).action.as_ref().and_then(|a| a.name()),
        Some("KPROBE_ACTION_OVERRIDE")
    );
    assert!(!only(&v[1]).posted);
    let uprobe = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: up
spec:
  uprobes:
  - path: /usr/lib/libssl.so.3
    symbols: [SSL_write]
";
    let e = json!({"process_uprobe": {"process": process(4, "/usr/bin/curl"), "path": "/usr/lib/libssl.so.3", "symbol": "SSL_write"}});
    let other = json!({"process_uprobe": {"process": process(4, "/usr/bin/curl"), "path": "/usr/lib/libssl.so.3", "symbol": "SSL_read"}});
    let v = run(uprobe, &[e, other]);
    assert!(only(&v[0]).posted);
    assert_eq!(
        only(&v[0])
            .output
            .as_ref()
            .and_then(|o| o.policy_name().map(str::to_string))
            .as_deref(),
        Some("up")
    );
    // Newer Tetragon names the action on uprobe events too.
    assert_eq!(
        only(&v[0]).output.as_ref().and_then(|o| o.action()),
        Some(tpc_events::KprobeAction::Post)
    );
    assert!(v[1].is_empty());
}

#[test]
fn kprobe_calls_resolve_like_tetragon() {
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: calls
spec:
  lists:
  - name: all
    type: generated_syscalls
  - name: security
    type: generated_ftrace
    pattern: \"^security_file_(open|permission)$\"
  kprobes:
  - call: \"list:all\"
  - call: \"list:security\"
    syscall: false
";
    let k =
        |f: &str| json!({"process_kprobe": {"process": process(4, "/bin/x"), "function_name": f}});
    let v = run(
        yaml,
        &[
            k("__x64_sys_openat"),
            k("__arm64_sys_read"),
            k("security_file_open"),
            k("security_file_mmap"),
            k("__ia32_sys_read"),
        ],
    );
    let hooks: Vec<Vec<String>> = v
        .iter()
        .map(|vs| vs.iter().map(|x| x.hook.to_string()).collect())
        .collect();
    assert_eq!(
        hooks,
        [
            vec!["kprobes[0]"],
            vec!["kprobes[0]"],
            vec!["kprobes[1]"],
            vec![],
            vec![]
        ]
    );
}

#[test]
fn old_event_kinds_reach_no_hook() {
    let yaml = one_arg_policy("int", "Equal", &["1"]);
    let connect = json!({"process_connect": {"process": process(4, "/usr/bin/curl"), "destination_ip": "1.1.1.1"}});
    let v = run(&yaml, &[connect]);
    assert!(v[0].is_empty());
}

#[test]
fn match_data_reads_the_data_values() {
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: data
spec:
  kprobes:
  - call: security_file_open
    syscall: false
    args:
    - index: 0
      type: file
    data:
    - index: 0
      type: string
      source: current_task
      resolve: comm
    selectors:
    - matchData:
      - index: 0
        operator: Equal
        values: [bash]
      matchArgs:
      - index: 0
        operator: Prefix
        values: [/etc/]
";
    let e = |comm: &str, path: &str| {
        json!({"process_kprobe": {"process": process(6, "/bin/bash"), "function_name": "security_file_open",
            "args": [{"file_arg": {"path": path}}], "data": [{"string_arg": comm}]}})
    };
    let v = run(
        yaml,
        &[
            e("bash", "/etc/passwd"),
            e("zsh", "/etc/passwd"),
            e("bash", "/tmp/x"),
        ],
    );
    let matched: Vec<bool> = v
        .iter()
        .map(|x| only(x).selector == SelectorOutcome::Matched(0))
        .collect();
    assert_eq!(matched, [true, false, false]);
}

#[test]
fn match_data_reads_uprobe_data_and_the_recorded_uprobe_action() {
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: updata
spec:
  uprobes:
  - path: /usr/bin/bash
    symbols: [readline]
    data:
    - index: 0
      type: uint64
      source: pt_regs
      resolve: ax
    selectors:
    - matchData:
      - index: 0
        operator: Equal
        values: [\"7\"]
";
    let e = |value: &str, recorded: Option<&str>| {
        let mut payload = json!({"process": process(8, "/usr/bin/bash"), "path": "/usr/bin/bash",
            "symbol": "readline", "data": [{"size_arg": value}]});
        if let Some(action) = recorded {
            payload["policy_name"] = json!("updata");
            payload["action"] = json!(action);
        }
        json!({ "process_uprobe": payload })
    };
    let v = run(
        yaml,
        &[
            e("7", None),
            e("8", None),
            e("7", Some("KPROBE_ACTION_SIGKILL")),
        ],
    );
    let matched: Vec<bool> = v
        .iter()
        .map(|x| only(x).selector == SelectorOutcome::Matched(0))
        .collect();
    assert_eq!(matched, [true, false, true]);
    assert!(only(&v[0]).recorded_disagreement.is_none());
    assert_eq!(
        only(&v[2]).recorded_disagreement.as_deref(),
        Some("recorded KPROBE_ACTION_SIGKILL, simulated KPROBE_ACTION_POST")
    );
}

#[test]
fn nop_arguments_are_not_in_events() {
    // The event's args skip `nop` declarations: args[2] (string) is the
    // event's second argument.
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: nop
spec:
  kprobes:
  - call: test_function
    syscall: false
    args:
    - index: 0
      type: int
    - index: 1
      type: nop
    - index: 2
      type: string
    selectors:
    - matchArgs:
      - index: 2
        operator: Equal
        values: [\"yes\"]
";
    let v = run(
        yaml,
        &[kprobe_event(json!([{"int_arg": 1}, {"string_arg": "yes"}]))],
    );
    assert_eq!(only(&v[0]).selector, SelectorOutcome::Matched(0));
}

// ------------------------------------------------- unquoted values (YAML 1.1)

/// A plain `yes` or `0x40` in `values` reaches the agent as the text
/// `true` or `64` (its YAML 1.1 reading), so the filter compares that text.
#[test]
fn unquoted_values_compare_as_the_agent_reads_them() {
    let unquoted = |ty: &str, op: &str, value: &str, arg: Value| {
        let yaml = one_arg_policy(ty, op, &[value]).replace(&format!("{value:?}"), value);
        let verdicts = run(&yaml, &[kprobe_event(json!([arg]))]);
        only(&verdicts[0]).selector == SelectorOutcome::Matched(0)
    };
    assert!(unquoted(
        "string",
        "Equal",
        "yes",
        json!({"string_arg": "true"})
    ));
    assert!(!unquoted(
        "string",
        "Equal",
        "yes",
        json!({"string_arg": "yes"})
    ));
    assert!(unquoted("int", "Equal", "0x40", json!({"int_arg": 64})));
    assert!(unquoted(
        "string",
        "Equal",
        "0x40",
        json!({"string_arg": "64"})
    ));
    assert!(!unquoted(
        "string",
        "Equal",
        "0x40",
        json!({"string_arg": "0x40"})
    ));
}

// ------------------------------------------------------------- follow kills

fn event_of(pid: u32, path: &str) -> Value {
    let mut e = kprobe_event(json!([{"string_arg": path}]));
    e["process_kprobe"]["process"] = process(pid, "/usr/bin/test");
    e
}

/// With `follow_kills`, a `Sigkill` ends the process: its later events are
/// not posted; other processes and the default mode are unaffected; monitor
/// mode kills nothing.
#[test]
fn follow_kills_ends_the_killed_process() {
    let policy = |mode: &str| {
        format!(
            "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: kill-shadow
spec:
  options:
  - name: policy-mode
    value: {mode}
  kprobes:
  - call: test_function
    syscall: false
    args:
    - index: 0
      type: string
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: [\"/etc/shadow\"]
      matchActions:
      - action: Sigkill
    - matchActions:
      - action: Post
"
        )
    };
    let events = [
        event_of(1000, "/etc/hosts"),
        event_of(1000, "/etc/shadow"),
        event_of(1000, "/etc/hosts"),
        event_of(2000, "/etc/hosts"),
    ];
    let follow = SimOptions {
        follow_kills: true,
        ..SimOptions::default()
    };
    let enforce = load(&policy("enforce"));
    let v = run_report(&enforce, &events, follow.clone());
    assert!(v.iter().take(2).all(|e| only(e).posted));
    let after = only(&v[2]);
    assert!(!after.posted);
    match &after.suppressed {
        Some(Suppression::ProcessKilled { policy, position }) => {
            assert_eq!((policy.as_ref(), *position), ("kill-shadow", 2));
        }
        other => panic!("expected ProcessKilled, got {other:?}"),
    }
    assert_eq!(after.to_json()["killed_by"]["position"], 2);
    assert!(only(&v[3]).posted, "another process is not affected");

    // A second policy on the same hook still sees the killing event itself.
    let both = load(&format!(
        "{}---\n{}",
        policy("enforce"),
        policy("enforce").replace("kill-shadow", "audit-shadow")
    ));
    let v = run_report(&both, &events[..3], follow.clone());
    assert_eq!(v[1].len(), 2);
    assert!(v[1].iter().all(|verdict| verdict.posted), "{:?}", v[1]);
    assert!(v[2].iter().all(|verdict| !verdict.posted));

    // Off by default: every recorded event on its own.
    let v = run_report(&enforce, &events, SimOptions::default());
    assert!(v.iter().all(|e| only(e).posted));

    // Monitor mode names Sigkill but does not run it.
    let monitor = load(&policy("monitor"));
    let v = run_report(&monitor, &events, follow);
    assert!(v.iter().all(|e| only(e).posted));
}
