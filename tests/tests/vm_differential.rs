//! The differential test on kprobes, fentry and BPF LSM hooks, in the
//! Debian 6.1 and 6.12 VMs: the policies below and their observe-all twins
//! run in one `tpc run` in the guest, scoped to one cgroup where a scripted
//! workload runs; the events come back to the host, where the observer's
//! events are replayed through the simulator and compared, event for
//! event, with what the kernel posted for each policy (the comparison of
//! `tests/src/differential.rs`). A disagreement fails the test and prints
//! the event and both verdicts. Uprobes run in `kernel_differential` on
//! this machine's kernel.
//!
//! Two policies read `sock` and `socket` arguments (ports, addresses,
//! protocol, family and TCP state on both sides of a TCP connect).
//!
//! Two policies have return probes (kretprobes): `matchReturnArgs` on the
//! return value with `matchReturnActions`, and a `returnCopy` buffer.
//!
//! The fentry policy hooks another function than the kprobes: a kprobe and
//! an fentry hook on one function post separate events that a recording
//! cannot tell apart (both are `process_kprobe` with the same
//! `function_name`), so the simulator evaluates both policies on each.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::{io::Read as _, time::Duration};

use tpc::driver::{Input, KernelRequest};
use tpc_events::{Base64Bytes, Event};
use tpc_tests::{
    differential::{compare_events, observer_of},
    vm::{self, Guest, KernelSeries, Scenario},
};

/// The tested policies, one document each.
const POLICIES: &[(&str, &str)] = &[
    (
        "dk-file-prefix-binary",
        r#"
  kprobes:
  - call: "security_file_open"
    syscall: false
    args:
    - index: 0
      type: "file"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/tmp/d/busybox-tpcdt-cat"
      matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "/tmp/d/etc/"
"#,
    ),
    (
        "dk-file-postfix-kill",
        r#"
  kprobes:
  - call: "security_file_open"
    syscall: false
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values:
        - ".key"
      matchActions:
      - action: Sigkill
    - matchArgs:
      - index: 0
        operator: "NotPrefix"
        values:
        - "/tmp/d/"
        - "/data/"
      matchActions:
      - action: NoPost
"#,
    ),
    (
        "dk-openat-flags",
        r#"
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 2
        operator: "Mask"
        values:
        - "64"
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/d/"
"#,
    ),
    (
        "dk-write-fd-size",
        r#"
  kprobes:
  - call: "sys_write"
    syscall: true
    args:
    - index: 0
      type: "fd"
    - index: 2
      type: "size_t"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values:
        - "out.txt"
      - index: 2
        operator: "GT"
        values:
        - "3"
"#,
    ),
    (
        "dk-fentry-equal",
        r#"
  fentries:
  - call: "security_file_permission"
    syscall: false
    args:
    - index: 0
      type: "file"
    - index: 1
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "/tmp/d/etc/public.pem"
        - "/tmp/d/out.txt"
"#,
    ),
    (
        "dk-lsm-open",
        r#"
  lsmhooks:
  - hook: "file_open"
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "/tmp/d/secret/"
      matchActions:
      - action: Override
        argError: -1
    - matchParentBinaries:
      - operator: "In"
        values:
        - "/tmp/d/busybox-tpcdt-sh"
"#,
    ),
    (
        "dk-lsm-exec",
        r#"
  lsmhooks:
  - hook: "bprm_check_security"
    args:
    - index: 0
      type: "linux_binprm"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values:
        - "tpcdt-true"
      matchActions:
      - action: Override
        argError: -13
    - matchBinaries:
      - operator: "NotIn"
        values:
        - "/tmp/d/busybox-tpcdt-sh"
"#,
    ),
    (
        "dk-lsm-connect",
        r#"
  lsmhooks:
  - hook: "socket_connect"
    args:
    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 1
        operator: "SPort"
        values:
        - "4242"
      - index: 1
        operator: "SAddr"
        values:
        - "127.0.0.1/32"
      matchActions:
      - action: Override
        argError: -13
    - matchArgs:
      - index: 1
        operator: "Family"
        values:
        - "AF_INET"
      matchActions:
      - action: NoPost
"#,
    ),
    (
        "dk-kret-openat-failed",
        r#"
  kprobes:
  - call: "sys_openat"
    syscall: true
    return: true
    args:
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/d/"
      matchReturnArgs:
      - index: 0
        operator: "LT"
        values:
        - "0"
    - matchArgs:
      - index: 1
        operator: "Postfix"
        values:
        - ".pem"
      matchReturnActions:
      - action: NoPost
"#,
    ),
    (
        "dk-kret-read-copy",
        r#"
  kprobes:
  - call: "sys_read"
    syscall: true
    return: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "char_buf"
      returnCopy: true
    - index: 2
      type: "size_t"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/tmp/d/busybox-tpcdt-cat"
      matchReturnArgs:
      - index: 0
        operator: "GT"
        values:
        - "0"
"#,
    ),
    (
        "dk-sock-connect",
        r#"
  kprobes:
  - call: "tcp_connect"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchArgs:
      - index: 0
        operator: "DPort"
        values:
        - "4242"
      - index: 0
        operator: "DAddr"
        values:
        - "127.0.0.0/8"
      - index: 0
        operator: "Protocol"
        values:
        - "IPPROTO_TCP"
    - matchArgs:
      - index: 0
        operator: "NotDPort"
        values:
        - "4242"
      - index: 0
        operator: "State"
        values:
        - "TCP_SYN_SENT"
      - index: 0
        operator: "SAddr"
        values:
        - "127.0.0.1"
      - index: 0
        operator: "NotDPortPriv"
"#,
    ),
    (
        "dk-socket-connect",
        r#"
  kprobes:
  - call: "security_socket_connect"
    syscall: false
    args:
    - index: 0
      type: "socket"
    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Family"
        values:
        - "AF_INET"
      - index: 0
        operator: "State"
        values:
        - "TCP_CLOSE"
      - index: 1
        operator: "SPort"
        values:
        - "4243"
"#,
    ),
];

/// Runs in cgroup tpcdt, in /tmp/d (see vm/scenarios/differential.sh).
const WORKLOAD: &str = r#"
set +e
/tmp/d/busybox-tpcdt-cat cat /tmp/d/etc/public.pem
/tmp/d/busybox-tpcdt-cat cat /tmp/d/etc/secret.key
cat /tmp/d/etc/public.pem /tmp/d/etc/secret.key
cat /tmp/d/secret/f
cat /tmp/d/missing-file
/tmp/d/busybox-tpcdt-cat head -n 1 /tmp/d/etc/public.pem
/tmp/d/busybox-tpcdt-cat wc -c /tmp/d/etc/secret.key
/tmp/d/busybox-tpcdt-cat cat /tmp/d/etc/missing.pem
/tmp/d/busybox-tpcdt-sh sh -c 'cat /tmp/d/etc/public.pem; cat /tmp/d/secret/f'
echo hello > /tmp/d/out.txt
echo hi >> /tmp/d/out.txt
echo created > /tmp/d/new-file
cat /tmp/d/out.txt
/tmp/d/busybox-tpcdt-true true
/tmp/d/busybox-tpcdt-sh sh -c '/tmp/d/busybox-tpcdt-true true; true'
nc 127.0.0.1 4242 < /dev/null
nc 127.0.0.1 4243 < /dev/null
ls /tmp/d/etc
cat /etc/passwd
true
"#;

fn policy_file() -> String {
    POLICIES
        .iter()
        .map(|(name, spec)| {
            format!(
                "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: {name}\nspec:{spec}"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

fn differential(series: &KernelSeries) {
    let test = format!("vm_differential on Debian {}", series.label);
    let Some(kernel) = vm::or_skip(&test, series.fetch()) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("tpc-vm-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policies.yaml");
    std::fs::write(&file, policy_file()).unwrap();
    let outcome = tpc::lower::build::build(&[Input::Path(file)], &KernelRequest::Running).unwrap();
    let Some(tested) = outcome.bundle else {
        panic!(
            "the policies do not build:\n{}",
            tpc::diagnostics::render::human::render_short(
                &outcome.report.sources,
                &outcome.report.diagnostics
            )
        );
    };
    let observer = observer_of(&tested);
    let cgroup_args: Vec<String> = tested
        .policies
        .iter()
        .chain(&observer.policies)
        .map(|p| format!("--cgroup {}=tpcdt", p.name))
        .collect();
    let tpc = tpc_binary();
    let guest = Guest::new()
        .binary(&tpc, "/usr/local/bin/tpc")
        .bytes(
            tpc_bundle::file::encode(&tested, None).unwrap(),
            "/data/tested.tpcb",
            0o644,
        )
        .bytes(
            tpc_bundle::file::encode(&observer, None).unwrap(),
            "/data/observer.tpcb",
            0o644,
        )
        .bytes(
            cgroup_args.join(" ").into_bytes(),
            "/data/cgroup-args",
            0o644,
        )
        .bytes(WORKLOAD.as_bytes().to_vec(), "/data/workload.sh", 0o755)
        .scenario(
            Scenario::new(
                "differential",
                include_str!("../../vm/scenarios/differential.sh"),
            )
            .time_limit(Duration::from_secs(300)),
        );
    let Some(report) = vm::or_skip(&test, guest.boot(&kernel)) else {
        return;
    };
    eprintln!("{test}: {}", report.summary());
    let result = report.assert_passed("differential");
    let output = &result.output;
    let encoded: String = output
        .split("=== events\n")
        .nth(1)
        .and_then(|rest| rest.split("=== end").next())
        .unwrap_or_else(|| {
            panic!(
                "no events in the output:\n{}",
                report.describe_failure(result)
            )
        })
        .split_whitespace()
        .collect();
    let gzipped = Base64Bytes::from_text(encoded)
        .unwrap_or_else(|e| panic!("events not base64: {e}"))
        .decode();
    let mut text = String::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    let events: Vec<Event> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Event::from_json(l).unwrap_or_else(|e| panic!("bad event {l}: {e}")))
        .collect();
    let outcome = compare_events(&tested, &events);
    eprintln!(
        "{test}: {} events, {} hook events observed, {} posted by the kernel",
        events.len(),
        outcome.observed,
        outcome.kernel_posted
    );
    assert!(
        outcome.disagreements.is_empty(),
        "{test}: the kernel and the simulator disagree:\n{}\n\nguest output before the events:\n{}",
        outcome.disagreements.join("\n"),
        output.split("=== events").next().unwrap_or_default()
    );
    assert!(
        outcome.observed > 20,
        "{test}: too few hook events observed ({})",
        outcome.observed
    );
    // return probes: one merged event per call, with the return value
    for event in events
        .iter()
        .filter(|e| e.policy_name().is_some_and(|n| n.starts_with("dk-kret")))
    {
        assert!(
            event.return_arg().is_some() && event.return_action().is_some(),
            "{test}: a return probe's event without `return` or `return_action`: {}",
            event.to_json_line()
        );
    }
    for (name, _) in POLICIES {
        let posted = events
            .iter()
            .filter(|e| e.policy_name() == Some(name))
            .count();
        assert!(
            posted > 0,
            "{test}: policy {name} posted nothing: the workload does not exercise it"
        );
    }
}

#[expect(dead_code, reason = "only tpc_binary() of the kernel-test helpers")]
mod runtime_support;
use runtime_support::tpc_binary;

#[test]
fn differential_debian_6_1() {
    differential(&vm::DEBIAN_6_1);
}

#[test]
fn differential_debian_6_12() {
    differential(&vm::DEBIAN_6_12);
}
