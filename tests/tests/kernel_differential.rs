//! Kernel test: the differential test. Each policy runs in the kernel
//! beside an observe-all twin; a scripted workload runs in a cgroup both
//! are scoped to; replaying the twin's events through the simulator must
//! give exactly the events and actions the kernel posted, event for event.
//! The cases are hand-written (every operator of the lowered hooks, several
//! selectors, NoPost, rate limits, enforcement) and generated (random
//! selector combinations from a fixed seed).

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

#[expect(
    dead_code,
    reason = "each kernel test file uses a subset of the helpers"
)]
mod runtime_support;

use std::fmt::Write as _;

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use runtime_support::kernel_test_can_run;
use tpc_tests::differential::{Bench, Case};

/// The workload most cases share: opens, reads, writes, connects and execs
/// by copied binaries, under paths that only this bench uses.
const WORKLOAD: &str = r#"
mkdir -p @DIR@/etc @DIR@/var/log
@touch@ @DIR@/etc/secret.key @DIR@/etc/public.pem @DIR@/var/log/app.log
@cat@ @DIR@/etc/secret.key > /dev/null
@cat@ @DIR@/etc/public.pem > /dev/null
@head@ -c 16 /etc/passwd > /dev/null
@head@ -c 16 @DIR@/var/log/app.log > /dev/null
@dd@ if=/dev/zero of=@DIR@/var/log/app.log bs=7 count=3 2> /dev/null
echo hello-tpc | @dd@ of=@DIR@/out.txt 2> /dev/null
@ls@ @DIR@/etc > /dev/null
@true@
@bash@ -c 'echo hi > /dev/tcp/127.0.0.1/9' 2> /dev/null
@bash@ -c 'echo hi > /dev/tcp/127.0.0.1/2323' 2> /dev/null
@bash@ -c '@cat@ @DIR@/etc/secret.key; @true@' > /dev/null
@sleep@ 0
@unshare@ -u @true@
@unshare@ -m -u @cat@ @DIR@/etc/public.pem > /dev/null
@setpriv@ --reuid=65534 --regid=65534 --clear-groups @true@
@setpriv@ --inh-caps=-all --bounding-set=-sys_admin @cat@ @DIR@/etc/public.pem > /dev/null
@capsh@ --caps=cap_chown,cap_dac_override+eip -- -c '@true@'
@capsh@ --caps=cap_net_raw+ep -- -c '@cat@ @DIR@/etc/public.pem' > /dev/null
@cat@ /etc/hostname > /dev/null
true
"#;

fn header(name: &str) -> String {
    format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: {name}\nspec:\n  tracepoints:\n"
    )
}

/// A policy on `syscalls/sys_enter_openat` reading the path (field 6) and
/// the flags (field 7), with the selectors given (YAML list items indented
/// for `selectors:`).
fn openat(name: &str, selectors: &str) -> String {
    let mut text = header(name);
    text.push_str(
        "  - subsystem: syscalls\n    event: sys_enter_openat\n    args:\n    - index: 6\n      type: string\n    - index: 7\n      type: int\n",
    );
    if !selectors.trim().is_empty() {
        text.push_str("    selectors:\n");
        text.push_str(selectors);
    }
    text
}

fn write_tp(name: &str, selectors: &str) -> String {
    let mut text = header(name);
    text.push_str(
        "  - subsystem: syscalls\n    event: sys_enter_write\n    args:\n    - index: 5\n      type: int\n    - index: 6\n      type: char_buf\n      sizeArgIndex: 8\n    - index: 7\n      type: size_t\n    selectors:\n",
    );
    text.push_str(selectors);
    text
}

fn read_tp(name: &str, selectors: &str) -> String {
    let mut text = header(name);
    text.push_str(
        "  - subsystem: syscalls\n    event: sys_enter_read\n    args:\n    - index: 5\n      type: uint32\n    - index: 7\n      type: size_t\n    selectors:\n",
    );
    text.push_str(selectors);
    text
}

fn connect_tp(name: &str, selectors: &str) -> String {
    let mut text = header(name);
    text.push_str(
        "  - subsystem: syscalls\n    event: sys_enter_connect\n    args:\n    - index: 5\n      type: int\n    - index: 6\n      type: sockaddr\n    selectors:\n",
    );
    text.push_str(selectors);
    text
}

fn execve_tp(name: &str, selectors: &str) -> String {
    let mut text = header(name);
    text.push_str(
        "  - subsystem: syscalls\n    event: sys_enter_execve\n    args:\n    - index: 5\n      type: string\n    selectors:\n",
    );
    text.push_str(selectors);
    text
}

fn raw_sys_enter(name: &str, selectors: &str) -> String {
    let mut text = header(name);
    text.push_str(
        "  - subsystem: raw_syscalls\n    event: sys_enter\n    raw: true\n    args:\n    - index: 1\n      type: int64\n    selectors:\n",
    );
    text.push_str(selectors);
    text
}

fn case(name: &str, policy: String) -> Case {
    Case {
        name: name.to_owned(),
        policy,
        workload: WORKLOAD.to_owned(),
    }
}

/// The hand-written cases.
fn cases() -> Vec<Case> {
    let mut cases = vec![
        case(
            "string-equal",
            openat(
                "dt-string-equal",
                "    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"@DIR@/etc/secret.key\", \"/etc/hostname\"]\n",
            ),
        ),
        case(
            "string-not-equal",
            openat(
                "dt-string-not-equal",
                "    - matchArgs:\n      - index: 0\n        operator: NotEqual\n        values: [\"@DIR@/etc/secret.key\"]\n      matchBinaries:\n      - operator: Prefix\n        values: [\"@DIR@/\"]\n",
            ),
        ),
        case(
            "string-prefix",
            openat(
                "dt-string-prefix",
                "    - matchArgs:\n      - index: 0\n        operator: Prefix\n        values: [\"@DIR@/etc/\", \"/etc/pass\", \"/nonexistent/a\", \"/nonexistent/b\", \"/nonexistent/c\", \"/nonexistent/d\", \"/nonexistent/e\", \"/nonexistent/f\", \"/nonexistent/g\", \"/nonexistent/h\"]\n",
            ),
        ),
        case(
            "string-not-prefix",
            openat(
                "dt-string-not-prefix",
                "    - matchArgs:\n      - index: 0\n        operator: NotPrefix\n        values: [\"/usr/\", \"/lib\", \"/etc/ld.so\", \"/proc/\"]\n",
            ),
        ),
        case(
            "string-postfix",
            openat(
                "dt-string-postfix",
                "    - matchArgs:\n      - index: 0\n        operator: Postfix\n        values: [\".key\", \"app.log\", \"hostname\"]\n",
            ),
        ),
        case(
            "string-not-postfix",
            openat(
                "dt-string-not-postfix",
                "    - matchArgs:\n      - index: 0\n        operator: NotPostfix\n        values: [\".so.6\", \".so\", \".cache\"]\n      matchBinaries:\n      - operator: Postfix\n        values: [\"tpcdt-cat\", \"tpcdt-head\"]\n",
            ),
        ),
        case(
            "int-equal",
            openat(
                "dt-int-equal",
                "    - matchArgs:\n      - index: 1\n        operator: Equal\n        values: [\"0\", \"524288\"]\n",
            ),
        ),
        case(
            "int-not-equal",
            openat(
                "dt-int-not-equal",
                "    - matchArgs:\n      - index: 1\n        operator: NotEqual\n        values: [\"524288\"]\n",
            ),
        ),
        case(
            "int-gt-lt",
            openat(
                "dt-int-gt-lt",
                "    - matchArgs:\n      - index: 1\n        operator: GT\n        values: [\"1\"]\n      - index: 1\n        operator: LT\n        values: [\"600000\"]\n",
            ),
        ),
        case(
            "int-mask",
            openat(
                "dt-int-mask",
                "    - matchArgs:\n      - index: 1\n        operator: Mask\n        values: [\"0x41\"]\n",
            ),
        ),
        case(
            "int-ranges",
            openat(
                "dt-int-ranges",
                "    - matchArgs:\n      - index: 1\n        operator: InRange\n        values: [\"0:1\", \"0x241:0x242\"]\n",
            ),
        ),
        case(
            "int-not-in-range-and-substring",
            openat(
                "dt-not-in-range",
                "    - matchArgs:\n      - index: 1\n        operator: NotInRange\n        values: [\"0:0x80000\"]\n    - matchArgs:\n      - index: 0\n        operator: SubString\n        values: [\"secret\", \"/log/\"]\n    - matchArgs:\n      - index: 0\n        operator: SubStringIgnCase\n        values: [\"PUBLIC\"]\n",
            ),
        ),
        case(
            "int-in-map",
            openat(
                "dt-int-in-map",
                "    - matchArgs:\n      - index: 1\n        operator: InMap\n        values: [\"0\", \"577\", \"1:3\"]\n",
            ),
        ),
        case(
            "int-not-in-map",
            openat(
                "dt-int-not-in-map",
                "    - matchArgs:\n      - index: 1\n        operator: NotInMap\n        values: [\"524288\", \"0\"]\n",
            ),
        ),
        case(
            "binaries-in",
            openat(
                "dt-binaries-in",
                "    - matchBinaries:\n      - operator: In\n        values: [\"@cat@\", \"@dd@\"]\n",
            ),
        ),
        case(
            "binaries-not-in-with-prefix",
            openat(
                "dt-binaries-not-in",
                "    - matchBinaries:\n      - operator: NotIn\n        values: [\"@cat@\", \"/bin/sh\", \"/usr/bin/dash\", \"/usr/bin/mkdir\"]\n      matchArgs:\n      - index: 0\n        operator: NotPrefix\n        values: [\"/usr/\", \"/lib\", \"/etc/ld\"]\n",
            ),
        ),
        case(
            "binaries-postfix-and-prefix",
            openat(
                "dt-binaries-postfix",
                "    - matchBinaries:\n      - operator: Postfix\n        values: [\"tpcdt-head\", \"tpcdt-ls\"]\n    - matchBinaries:\n      - operator: NotPrefix\n        values: [\"/usr/\", \"/bin/\"]\n      matchArgs:\n      - index: 0\n        operator: Prefix\n        values: [\"@DIR@\"]\n",
            ),
        ),
        case(
            "binaries-follow-children",
            openat(
                "dt-follow-children",
                "    - matchBinaries:\n      - operator: In\n        values: [\"@bash@\"]\n        followChildren: true\n      matchArgs:\n      - index: 0\n        operator: Prefix\n        values: [\"@DIR@\", \"/dev/\"]\n",
            ),
        ),
        case(
            "parent-binaries",
            openat(
                "dt-parent-binaries",
                "    - matchParentBinaries:\n      - operator: In\n        values: [\"@bash@\"]\n",
            ),
        ),
        case(
            "pids-not-in",
            openat(
                "dt-pids",
                "    - matchPIDs:\n      - operator: NotIn\n        followForks: true\n        isNamespacePID: false\n        values: [1, 2]\n      matchArgs:\n      - index: 0\n        operator: Prefix\n        values: [\"@DIR@\"]\n",
            ),
        ),
        case(
            "pids-in-follow-forks",
            openat(
                "dt-pids-in",
                "    - matchPIDs:\n      - operator: In\n        followForks: true\n        values: [1]\n      matchArgs:\n      - index: 0\n        operator: Postfix\n        values: [\".key\", \".pem\"]\n",
            ),
        ),
        case(
            "pids-not-in-no-follow",
            openat(
                "dt-pids-no-follow",
                "    - matchPIDs:\n      - operator: NotIn\n        values: [1, 2]\n      matchArgs:\n      - index: 0\n        operator: Prefix\n        values: [\"@DIR@\"]\n",
            ),
        ),
        case(
            "namespaces-and-capabilities",
            openat(
                "dt-ns-caps",
                "    - matchNamespaces:\n      - namespace: Pid\n        operator: In\n        values: [\"host_ns\"]\n      matchCapabilities:\n      - type: Effective\n        operator: In\n        values: [\"CAP_SYS_ADMIN\"]\n      matchArgs:\n      - index: 0\n        operator: Postfix\n        values: [\".pem\"]\n    - matchNamespaces:\n      - namespace: Mnt\n        operator: NotIn\n        values: [\"host_ns\"]\n    - matchCapabilities:\n      - type: Permitted\n        operator: NotIn\n        values: [\"CAP_SYS_ADMIN\"]\n",
            ),
        ),
        case(
            "several-selectors-first-match",
            openat(
                "dt-several",
                "    - matchArgs:\n      - index: 0\n        operator: Postfix\n        values: [\".key\"]\n      matchActions:\n      - action: NoPost\n    - matchArgs:\n      - index: 0\n        operator: Prefix\n        values: [\"@DIR@\"]\n    - matchBinaries:\n      - operator: In\n        values: [\"@head@\"]\n",
            ),
        ),
        case(
            "rate-limit",
            openat(
                "dt-rate-limit",
                "    - matchArgs:\n      - index: 0\n        operator: Prefix\n        values: [\"@DIR@\", \"/etc/\"]\n      matchActions:\n      - action: Post\n        rateLimit: 1m\n",
            ),
        ),
        case(
            "write-char-buf",
            write_tp(
                "dt-write",
                "    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"1\", \"2\"]\n      matchBinaries:\n      - operator: Prefix\n        values: [\"@DIR@\"]\n    - matchArgs:\n      - index: 1\n        operator: Prefix\n        values: [\"hello-tpc\"]\n    - matchArgs:\n      - index: 2\n        operator: GT\n        values: [\"6\"]\n      - index: 2\n        operator: LT\n        values: [\"8\"]\n",
            ),
        ),
        case(
            "read-fd-and-count",
            read_tp(
                "dt-read",
                "    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"0\", \"3\"]\n      - index: 1\n        operator: GT\n        values: [\"100\"]\n      matchBinaries:\n      - operator: Prefix\n        values: [\"@DIR@\"]\n    - matchArgs:\n      - index: 1\n        operator: Mask\n        values: [\"0x10\"]\n      matchActions:\n      - action: NoPost\n",
            ),
        ),
        case(
            "connect-sockaddr",
            connect_tp(
                "dt-connect",
                "    - matchArgs:\n      - index: 1\n        operator: SPort\n        values: [\"2323\"]\n    - matchArgs:\n      - index: 1\n        operator: Family\n        values: [\"AF_INET\"]\n      - index: 1\n        operator: SAddr\n        values: [\"127.0.0.0/8\"]\n",
            ),
        ),
        case(
            "connect-negated",
            connect_tp(
                "dt-connect-negated",
                "    - matchArgs:\n      - index: 1\n        operator: NotSAddr\n        values: [\"10.0.0.0/8\"]\n      - index: 1\n        operator: NotSportPriv\n    - matchArgs:\n      - index: 1\n        operator: NotSPort\n        values: [\"2323\"]\n",
            ),
        ),
        case(
            "execve",
            execve_tp(
                "dt-execve",
                "    - matchArgs:\n      - index: 0\n        operator: Postfix\n        values: [\"tpcdt-true\", \"tpcdt-sleep\"]\n    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"@ls@\"]\n      matchBinaries:\n      - operator: NotIn\n        values: [\"@bash@\"]\n",
            ),
        ),
        case(
            "namespace-changes",
            execve_tp(
                "dt-ns-changes",
                "    - matchNamespaceChanges:\n      - operator: In\n        values: [\"Uts\"]\n    - matchNamespaceChanges:\n      - operator: In\n        values: [\"Mnt\", \"Net\"]\n      matchBinaries:\n      - operator: In\n        values: [\"@unshare@\"]\n",
            ),
        ),
        case(
            "capability-changes",
            execve_tp(
                "dt-cap-changes",
                "    - matchCapabilityChanges:\n      - type: Effective\n        operator: In\n        values: [\"CAP_SYS_ADMIN\"]\n    - matchCapabilityChanges:\n      - type: Permitted\n        operator: NotIn\n        values: [\"CAP_NET_RAW\"]\n",
            ),
        ),
        case(
            "raw-sys-enter",
            raw_sys_enter(
                "dt-raw",
                "    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"257\", \"42\"]\n      matchBinaries:\n      - operator: Prefix\n        values: [\"@DIR@\"]\n",
            ),
        ),
        case(
            "sigkill",
            openat(
                "dt-sigkill",
                "    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"@DIR@/etc/secret.key\"]\n      matchBinaries:\n      - operator: In\n        values: [\"@cat@\"]\n      matchActions:\n      - action: Sigkill\n",
            ),
        ),
        case(
            "two-policies-one-hook",
            format!(
                "{}\n---\n{}",
                openat(
                    "dt-two-a",
                    "    - matchArgs:\n      - index: 0\n        operator: Prefix\n        values: [\"@DIR@/etc\"]\n",
                ),
                openat(
                    "dt-two-b",
                    "    - matchArgs:\n      - index: 0\n        operator: Postfix\n        values: [\".pem\", \".log\"]\n",
                )
            ),
        ),
    ];
    // The host's default in-kernel binary match (no selectors at all) and
    // a monitor-mode policy, whose Sigkill is named but does not run.
    cases.push(case("no-selectors", openat("dt-no-selectors", "")));
    let mut monitor = openat(
        "dt-monitor",
        "    - matchArgs:\n      - index: 0\n        operator: Postfix\n        values: [\".pem\"]\n      matchActions:\n      - action: Sigkill\n",
    );
    monitor = monitor.replace(
        "metadata:\n",
        "metadata:\n  annotations:\n    policy-mode: monitor\n",
    );
    cases.push(case("monitor-mode", monitor));
    cases.extend(uprobe_cases());
    cases
}

/// Uprobes on libc's `unlinkat` (the libc `rm` runs with, from `ldd`),
/// with their own workload, and USDT probes of Debian's Python (a register
/// and a stack-memory argument). At the entry: a Postfix kills one `rm`, a
/// NotPrefix posts. With a uretprobe: the return value (-1 for a file that
/// is not there) picks the return selector, which kills or posts.
fn uprobe_cases() -> Vec<Case> {
    let ldd = std::process::Command::new("ldd")
        .arg("/bin/rm")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ldd.stdout).into_owned();
    let libc = text
        .lines()
        .find(|l| l.contains("libc.so"))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with('/')))
        .map(|p| std::fs::canonicalize(p).unwrap())
        .unwrap_or_else(|| panic!("no libc in `ldd /bin/rm`:\n{text}"));
    let entry = Case {
        name: "uprobe-unlinkat".into(),
        policy: format!(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: dt-uprobe-unlinkat\nspec:\n  uprobes:\n  - path: \"{}\"\n    symbols: [\"unlinkat\"]\n    args:\n    - index: 0\n      type: int\n    - index: 1\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Postfix\n        values: [\"kill-me\"]\n      matchActions:\n      - action: Sigkill\n    - matchArgs:\n      - index: 1\n        operator: NotPrefix\n        values: [\"@DIR@/keep\"]\n",
            libc.display()
        ),
        workload: "@touch@ @DIR@/u-kill-me @DIR@/u-other @DIR@/keep-a\nrm -f @DIR@/u-kill-me\nrm -f @DIR@/u-other\nrm -f @DIR@/keep-a\nrm -f @DIR@/u-kill-me\ntrue\n".into(),
    };
    let returns = Case {
        name: "uretprobe-unlinkat".into(),
        policy: format!(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: dt-uretprobe-unlinkat\nspec:\n  uprobes:\n  - path: \"{}\"\n    symbols: [\"unlinkat\"]\n    return: true\n    args:\n    - index: 0\n      type: int\n    - index: 1\n      type: string\n    returnArg:\n      index: 0\n      type: int\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Postfix\n        values: [\"kill-me\"]\n      matchReturnArgs:\n      - index: 0\n        operator: Equal\n        values: [\"-1\"]\n      matchReturnActions:\n      - action: Sigkill\n    - matchArgs:\n      - index: 1\n        operator: NotPrefix\n        values: [\"@DIR@/keep\"]\n      matchReturnArgs:\n      - index: 0\n        operator: Equal\n        values: [\"0\"]\n",
            libc.display()
        ),
        workload: "@touch@ @DIR@/r-kill-me @DIR@/r-other @DIR@/keep-b\nrm -f @DIR@/r-kill-me\nrm @DIR@/absent-kill-me 2> /dev/null\nrm @DIR@/absent-other 2> /dev/null\nrm -f @DIR@/r-other\nrm -f @DIR@/keep-b\nrm @DIR@/keep-absent 2> /dev/null\ntrue\n".into(),
    };
    let python = std::fs::canonicalize("/usr/bin/python3").unwrap();
    let python = python.display();
    let usdt = Case {
        name: "usdt-python".into(),
        policy: format!(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: dt-usdt-python\nspec:\n  usdts:\n  - path: \"{python}\"\n    provider: python\n    name: import__find__load__start\n    args:\n    - index: 0\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"tpc_dt_kill\"]\n      matchActions:\n      - action: Sigkill\n    - matchArgs:\n      - index: 0\n        operator: Prefix\n        values: [\"tpc_dt_\", \"enc\"]\n  - path: \"{python}\"\n    provider: python\n    name: gc__start\n    args:\n    - index: 0\n      type: int32\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: NotEqual\n        values: [\"0\"]\n"
        ),
        workload: format!(
            "{python} -S -c 'import tpc_dt_kill' 2> /dev/null\n{python} -S -c 'import tpc_dt_other' 2> /dev/null\n{python} -S -c 'import gc; gc.disable(); gc.collect(1); gc.collect(0); gc.collect(2)'\ntrue\n"
        ),
    };
    vec![entry, returns, usdt]
}

/// One generated `matchArgs` entry on the openat hook.
fn arg_filter() -> impl Strategy<Value = String> {
    let strings = prop::sample::subsequence(
        vec![
            "@DIR@/etc/",
            "@DIR@/var/log/app.log",
            "/etc/",
            "/etc/hostname",
            ".key",
            ".pem",
            ".log",
            "/usr/lib",
            "/dev/null",
        ],
        1..4,
    );
    let string_ops = prop::sample::select(vec![
        "Equal",
        "NotEqual",
        "Prefix",
        "NotPrefix",
        "Postfix",
        "NotPostfix",
    ]);
    let ints = prop::sample::subsequence(vec!["0", "577", "524288", "65", "0x241"], 1..3);
    let int_ops = prop::sample::select(vec!["Equal", "NotEqual", "GT", "LT", "Mask", "InMap"]);
    prop_oneof![
        (string_ops, strings).prop_map(|(op, values)| {
            let values: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
            format!(
                "      - index: 0\n        operator: {op}\n        values: [{}]\n",
                values.join(", ")
            )
        }),
        (int_ops, ints).prop_map(|(op, values)| {
            let values: Vec<String> = if op == "GT" || op == "LT" {
                vec![format!("\"{}\"", values[0])]
            } else {
                values.iter().map(|v| format!("\"{v}\"")).collect()
            };
            format!(
                "      - index: 1\n        operator: {op}\n        values: [{}]\n",
                values.join(", ")
            )
        }),
    ]
}

fn binary_filter() -> impl Strategy<Value = String> {
    let ops = prop::sample::select(vec!["In", "NotIn", "Prefix", "NotPrefix", "Postfix"]);
    (
        ops,
        prop::sample::subsequence(vec!["cat", "head", "dd", "ls", "bash"], 1..3),
    )
        .prop_map(|(op, names)| {
            let values: Vec<String> = names
                .iter()
                .map(|n| match op {
                    "Prefix" | "NotPrefix" => "\"@DIR@/tpcdt-".to_owned() + &n[..1] + "\"",
                    "Postfix" => format!("\"tpcdt-{n}\""),
                    _ => format!("\"@{n}@\""),
                })
                .collect();
            format!(
                "      matchBinaries:\n      - operator: {op}\n        values: [{}]\n",
                values.join(", ")
            )
        })
}

fn selector() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(arg_filter(), 0..3),
        prop::option::of(binary_filter()),
        prop::sample::select(vec!["", "Post", "NoPost", "PostRate"]),
    )
        .prop_map(|(args, binaries, action)| {
            let mut text = String::from("    - ");
            let mut body = String::new();
            if !args.is_empty() {
                body.push_str("      matchArgs:\n");
                for arg in &args {
                    body.push_str(arg);
                }
            }
            if let Some(b) = &binaries {
                body.push_str(b);
            }
            match action {
                "Post" => body.push_str("      matchActions:\n      - action: Post\n"),
                "NoPost" => body.push_str("      matchActions:\n      - action: NoPost\n"),
                "PostRate" => body.push_str(
                    "      matchActions:\n      - action: Post\n        rateLimit: 30s\n",
                ),
                _ => {}
            }
            if body.is_empty() {
                body.push_str("      matchBinaries:\n      - operator: NotIn\n        values: [\"/nonexistent\"]\n");
            }
            // the first key goes on the list item's line
            text.push_str(body.trim_start());
            text
        })
}

fn generated(count: usize) -> Vec<Case> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = prop::collection::vec(selector(), 1..4);
    (0..count)
        .map(|i| {
            let selectors = strategy.new_tree(&mut runner).unwrap().current();
            let name = format!("generated-{i}");
            case(&name, openat(&format!("dt-{name}"), &selectors.concat()))
        })
        .collect()
}

#[test]
fn kernel_verdicts_match_the_simulator_event_for_event() {
    if !kernel_test_can_run("kernel_verdicts_match_the_simulator_event_for_event") {
        return;
    }
    let mut bench = Bench::new("difftest");
    let mut all = cases();
    all.extend(generated(12));
    let bundles: Vec<_> = all.iter().map(|c| bench.build(c)).collect();
    let refs: Vec<_> = bundles.iter().collect();
    bench.start(&refs);
    let mut report = String::new();
    let mut posting_cases = 0;
    let mut silent_cases = Vec::new();
    for (case, bundle) in all.iter().zip(&bundles) {
        let outcome = bench.run_case(case, bundle);
        eprintln!(
            "{:<32} observed {:>4}, posted {:>4}, lost {}, disagreements {}",
            case.name,
            outcome.observed,
            outcome.kernel_posted,
            outcome.lost,
            outcome.disagreements.len()
        );
        assert!(
            outcome.observed > 0,
            "case {}: the observer saw no event: the workload did not run in the cgroup",
            case.name
        );
        assert_eq!(outcome.lost, 0, "case {}: records were lost", case.name);
        if outcome.kernel_posted > 0 {
            posting_cases += 1;
        } else {
            silent_cases.push(case.name.clone());
        }
        if !outcome.disagreements.is_empty() {
            let _ = writeln!(
                report,
                "case {} ({}):",
                case.name,
                bench.expand(&case.policy)
            );
            for d in outcome.disagreements.iter().take(10) {
                let _ = writeln!(report, "  {d}");
            }
        }
    }
    assert!(
        report.is_empty(),
        "kernel and simulator disagree:\n{report}"
    );
    // A differential test where nothing posts proves little: most cases
    // must post something.
    assert!(
        posting_cases * 4 >= all.len() * 3,
        "only {posting_cases} of {} cases posted anything; silent: {silent_cases:?}",
        all.len()
    );
}
