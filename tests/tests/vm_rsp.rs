//! RuntimeSecurityPolicy with the BPF LSM block strategy, end to end in the
//! Debian 6.1 and 6.12 VMs (booted with `bpf` in `lsm=`): `tpc build
//! --kernel` for each chooses the lsm strategy, and in one `tpc run` in the
//! guest a Block on an Execution of a copied binary makes its exec fail, a
//! Block on a File write under a path prefix makes the write fail (the file
//! stays empty), and an Audit of a Network connect to a loopback port posts
//! the connect; each with its event posted. The tracepoint strategy runs
//! on this machine's kernel in `kernel_rsp`.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

#[expect(dead_code, reason = "only tpc_binary() of the kernel-test helpers")]
mod runtime_support;

use std::{process::Command, time::Duration};

use runtime_support::tpc_binary;
use tpc_tests::vm::{self, Guest, KernelSeries, Scenario};

const POLICIES: &str = r#"apiVersion: cilium.io/v1alpha1
kind: RuntimeSecurityPolicy
metadata:
  name: rsp-exec
spec:
  selectors:
    executableSelector:
      matchPaths:
      - pattern: Full
        operator: In
        values: ["/tmp/busybox-rsp-blocked"]
  rules:
  - type: Execution
    action: Block
---
apiVersion: cilium.io/v1alpha1
kind: RuntimeSecurityPolicy
metadata:
  name: rsp-file
spec:
  selectors:
    executableSelector:
      matchPaths:
      - pattern: Full
        operator: In
        values: ["/tmp/busybox-rsp-writer"]
  rules:
  - type: File
    action: Block
    file:
      operations: [write]
      prefixes: ["/tmp/rsp-guarded/"]
---
apiVersion: cilium.io/v1alpha1
kind: RuntimeSecurityPolicy
metadata:
  name: rsp-net
spec:
  rules:
  - type: Network
    action: Audit
    network:
      operations: [connect]
      cidrs: [127.0.0.0/8]
      ports: [4250]
"#;

/// The guest side; prints `ok: ...` or `FAIL: ...` per check.
/// Busybox copies are named `busybox-*`: busybox then takes the applet
/// from the first argument, not from its own name.
const SCENARIO: &str = r#"set +e
mkdir -p /tmp/rsp-guarded /tmp/rsp-open
cp /bin/busybox /tmp/busybox-rsp-blocked
cp /bin/busybox /tmp/busybox-rsp-allowed
cp /bin/busybox /tmp/busybox-rsp-writer
: > run.log
tpc run /data/rsp.tpcb > events.json 2> run.log &
pid=$!
i=0
while ! grep -q "stop with Ctrl-C" run.log; do
	if ! kill -0 $pid 2>/dev/null || [ $i -gt 1500 ]; then
		echo "FAIL: tpc run did not start"
		cat run.log
		exit 1
	fi
	i=$((i + 1))
	sleep 0.1
done
say() { if [ "$1" = 0 ]; then echo "ok: $2"; else echo "FAIL: $2 ($3)"; fi; }

if /tmp/busybox-rsp-blocked true 2> err; then r=1; else grep -q "not permitted" err; r=$?; fi
say $r "execution: the blocked copy does not run (EPERM)" "$(cat err)"
/tmp/busybox-rsp-allowed true; say $? "execution: another copy runs"

/tmp/busybox-rsp-writer sh -c 'echo secret > /tmp/rsp-guarded/f' 2> err
r=1; if [ ! -s /tmp/rsp-guarded/f ]; then grep -q "not permitted" err; r=$?; fi
say $r "file: the write under the prefix fails and the file stays empty" "$(cat err; cat /tmp/rsp-guarded/f)"
/tmp/busybox-rsp-writer sh -c 'echo open > /tmp/rsp-open/f'
[ "$(cat /tmp/rsp-open/f)" = open ]; say $? "file: a write elsewhere succeeds"

nc 127.0.0.1 4250 < /dev/null > /dev/null 2>&1
sleep 1
kill -INT $pid
wait $pid
say $? "tpc run stops cleanly" "$(tail -3 run.log)"

n=$(grep '"policy_name":"rsp-exec"' events.json | grep '"process_lsm"' | grep -c '"action":"KPROBE_ACTION_OVERRIDE"')
[ "$n" -ge 1 ]; say $? "event: the blocked exec posts an OVERRIDE event" "$n $(head -c 400 events.json)"
n=$(grep '"policy_name":"rsp-file"' events.json | grep '"process_lsm"' | grep -c '/tmp/rsp-guarded/f')
[ "$n" -ge 1 ]; say $? "event: the blocked write posts an event naming the file" "$n"
n=$(grep '"policy_name":"rsp-net"' events.json | grep '"process_lsm"' | grep -c '"port":4250')
[ "$n" -ge 1 ]; say $? "event: the audited connect posts an event with the port" "$n"
true
"#;

const CHECKS: &[&str] = &[
    "execution: the blocked copy does not run (EPERM)",
    "execution: another copy runs",
    "file: the write under the prefix fails and the file stays empty",
    "file: a write elsewhere succeeds",
    "tpc run stops cleanly",
    "event: the blocked exec posts an OVERRIDE event",
    "event: the blocked write posts an event naming the file",
    "event: the audited connect posts an event with the port",
];

fn rsp(series: &KernelSeries, carried: &str) {
    let test = format!("vm_rsp on Debian {}", series.label);
    let Some(kernel) = vm::or_skip(&test, series.fetch()) else {
        return;
    };
    let tpc = tpc_binary();
    let dir = std::env::temp_dir().join(format!(
        "tpc-vm-rsp-{}-{}",
        series.label,
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("rsp.yaml");
    std::fs::write(&policy, POLICIES).unwrap();
    let bundle = dir.join("rsp.tpcb");
    let build = Command::new(&tpc)
        .args(["build", "--kernel", carried])
        .arg(&policy)
        .arg("-o")
        .arg(&bundle)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&build.stderr).into_owned();
    assert!(build.status.success(), "{test}: tpc build failed: {said}");
    assert!(
        said.contains("block strategy") && said.contains("lsm"),
        "{test}: tpc build does not say it chose the lsm strategy: {said}"
    );
    let guest = Guest::new()
        .binary(&tpc, "/usr/local/bin/tpc")
        .file(&bundle, "/data/rsp.tpcb")
        .scenario(Scenario::new("rsp", SCENARIO).time_limit(Duration::from_secs(300)));
    let Some(report) = vm::or_skip(&test, guest.boot(&kernel)) else {
        return;
    };
    eprintln!("{test}: {}", report.summary());
    let result = report.assert_passed("rsp");
    let lines: Vec<&str> = result.output.lines().collect();
    for check in CHECKS {
        assert!(
            lines.contains(&format!("ok: {check}").as_str()),
            "{test}: no `ok: {check}`\n{}",
            report.describe_failure(result)
        );
    }
}

#[test]
fn rsp_lsm_strategy_on_debian_6_1() {
    rsp(&vm::DEBIAN_6_1, "debian-6.1");
}

#[test]
fn rsp_lsm_strategy_on_debian_6_12() {
    rsp(&vm::DEBIAN_6_12, "debian-12-6.12");
}
