//! Tetragon's example policies (`../shared/corpus/tetragon/`, `specs/`
//! aside) on Debian 6.12 in a VM: every policy that passes `tpc check` for
//! that kernel builds, passes `tpc verify` and attaches (one `tpc run` with
//! all of them), except the ones listed in [`EXCEPTIONS`] with the reason
//! `tpc build` gives. A policy that starts or stops building fails the
//! test until the list says so. Uprobe targets are copied from this
//! machine into the guest at the same path.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

#[expect(dead_code, reason = "only tpc_binary() of the kernel-test helpers")]
mod runtime_support;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use runtime_support::tpc_binary;
use tpc_bundle::AttachPoint;
use tpc_tests::vm::{self, Guest, Scenario};

/// The carried kernel the policies are checked and built for.
const KERNEL: &str = "debian-12-6.12";

/// Policies that pass `tpc check` for 6.12 but do not run in tpc's kernel
/// programs yet, with (a part of) the reason `tpc build` gives.
const EXCEPTIONS: &[(&str, &str)] = &[
    ("datagram-with-sock-tracking", "TrackSock"),
    ("datagram_518", "TrackSock"),
    (
        "hardlink-override",
        "Override on a kprobe on debian-12-6.12",
    ),
    ("killer", "NotifyEnforcer"),
    ("list-generated-ftrace", "generated_ftrace list"),
    ("list-syscalls-generated", "generated_syscalls list"),
    ("loader", "loader sensor"),
    ("lsm_track_grandparent", "`resolve` on an argument"),
    ("open_dnsrequest", "DnsLookup"),
    ("open_geturl", "GetUrl"),
    ("rawtp", "`type: linux_binprm` on a raw tracepoint"),
    ("symlink-override", "Override on a kprobe on debian-12-6.12"),
    ("tcp-accept", "TrackSock"),
    ("tcp-listen", "TrackSock"),
    ("tty", "`maxData`"),
    ("usdt-set", "the Set action"),
];

/// Built and checked by `tpc verify` (which reports their uprobe target
/// missing in the guest), not attached: `uprobe-host`'s target is a
/// Tetragon-in-a-pod path that exists on no plain host; `uprobe-binaries`
/// posts every `malloc` of every process, `tpc run`'s own included, which
/// under software emulation never lets the run finish; `usdt`'s target is
/// a test program of Tetragon's source tree.
const NOT_ATTACHED: &[&str] = &["uprobe-binaries", "uprobe-host", "usdt"];

fn corpus() -> Vec<PathBuf> {
    let root = vm::repository_root().join("../shared/corpus/tetragon");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "specs") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn corpus_builds_verifies_and_attaches_on_debian_6_12() {
    let test = "vm_corpus on Debian 6.12";
    let Some(kernel) = vm::or_skip(test, vm::DEBIAN_6_12.fetch()) else {
        return;
    };
    let tpc = tpc_binary();
    let dir = std::env::temp_dir().join(format!("tpc-vm-corpus-{}", std::process::id()));
    let _ignored = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut built: Vec<(String, PathBuf)> = Vec::new();
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut not_clean = Vec::new();
    for file in corpus() {
        let name = stem(&file);
        let check = Command::new(&tpc)
            .args(["check", "--kernel", KERNEL])
            .arg(&file)
            .output()
            .unwrap();
        if !check.status.success() {
            not_clean.push(name);
            continue;
        }
        let bundle = dir.join(format!("{name}.tpcb"));
        let build = Command::new(&tpc)
            .args(["build", "--kernel", KERNEL])
            .arg(&file)
            .arg("-o")
            .arg(&bundle)
            .output()
            .unwrap();
        if build.status.success() {
            built.push((name, bundle));
        } else {
            let mut reason = String::from_utf8_lossy(&build.stderr).into_owned();
            reason.push_str(&String::from_utf8_lossy(&build.stdout));
            refused.insert(name, reason);
        }
    }
    eprintln!(
        "{test}: {} build, {} refused, {} do not pass `tpc check --kernel {KERNEL}`: {}",
        built.len(),
        refused.len(),
        not_clean.len(),
        not_clean.join(", ")
    );
    let mut problems = Vec::new();
    for (name, reason) in &refused {
        match EXCEPTIONS.iter().find(|(n, _)| n == name) {
            Some((_, why)) if reason.contains(why) => {}
            Some((_, why)) => {
                problems.push(format!("{name} is refused, but not for `{why}`:\n{reason}"))
            }
            None => problems.push(format!(
                "{name} passes tpc check but does not build (not in EXCEPTIONS):\n{reason}"
            )),
        }
    }
    for (name, _) in EXCEPTIONS {
        if built.iter().any(|(n, _)| n == name) {
            problems.push(format!("{name} builds now: take it out of EXCEPTIONS"));
        }
    }
    assert!(problems.is_empty(), "{test}:\n{}", problems.join("\n"));

    let mut guest = Guest::new().binary(&tpc, "/usr/local/bin/tpc");
    let mut attach = Vec::new();
    for (name, bundle) in &built {
        let guest_path = format!("/data/corpus/{name}.tpcb");
        guest = guest.file(bundle, &guest_path);
        if !NOT_ATTACHED.contains(&name.as_str()) {
            attach.push(guest_path);
        }
        let decoded = tpc_bundle::decode(&std::fs::read(bundle).unwrap(), None).unwrap();
        for (_, hook) in decoded.bundle.hooks() {
            if let AttachPoint::Uprobe { path, .. } = &hook.attach {
                if Path::new(path).exists() && !NOT_ATTACHED.contains(&name.as_str()) {
                    guest = guest.binary(path, path);
                }
            }
        }
    }
    let script = format!(
        "set +e\nstart=$(date +%s)\ntpc verify /data/corpus/*.tpcb > verify.out 2>&1\necho \"verify status $? after $(($(date +%s) - start)) s\"\ngrep -v '^ok' verify.out\nstart=$(date +%s)\ntpc run --duration 3 -o compact {} > /dev/null 2> run.log\necho \"run status $? after $(($(date +%s) - start)) s\"\ncat run.log\n",
        attach.join(" ")
    );
    let guest =
        guest.scenario(Scenario::new("corpus", &script).time_limit(Duration::from_secs(400)));
    let Some(report) = vm::or_skip(test, guest.boot(&kernel)) else {
        return;
    };
    eprintln!("{test}: {}", report.summary());
    let result = report.assert_passed("corpus");
    let output = &result.output;
    for line in output.lines().filter(|l| l.contains(" status ")) {
        eprintln!("{test}: {line}");
    }
    // verify: every problem is a NOT_ATTACHED policy's missing file
    let failed_programs: Vec<&str> = output.lines().filter(|l| l.starts_with("FAILED")).collect();
    let missing_targets = output.matches("does not exist here").count();
    assert!(
        failed_programs.is_empty()
            && missing_targets == NOT_ATTACHED.len()
            && output.contains(&format!(
                "verify status {} ",
                if NOT_ATTACHED.is_empty() { 0 } else { 1 }
            )),
        "{test}: tpc verify found problems beyond the expected missing uprobe files:\n{}",
        report.describe_failure(result)
    );
    assert!(
        output.contains("run status 0 "),
        "{test}: tpc run with every bundle did not run cleanly:\n{}",
        report.describe_failure(result)
    );
    for path in &attach {
        assert!(
            output.contains(&format!("loaded {path} (")),
            "{test}: {path} was not loaded:\n{}",
            report.describe_failure(result)
        );
    }
}
