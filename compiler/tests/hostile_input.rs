//! `tpc check` on hostile input (issue 14): files written to make a YAML
//! reader fall over. Work is bounded structurally, not timed: the alias
//! bombs run under an address-space cap (`ulimit -v`), so a reader that
//! expanded them would abort instead of passing; folders with links back
//! up the tree and files that are not UTF-8 are counted in the output.

mod common;

use common::repo_root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tpc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tpc"));
    c.current_dir(repo_root());
    c.env("NO_COLOR", "1");
    c
}

/// Runs `tpc ARGS` with its address space capped at `mib` MiB.
fn tpc_capped(mib: u64, args: &[&str]) -> Output {
    let mut script = format!("ulimit -v {} && exec \"$0\"", mib * 1024);
    for at in 1..=args.len() {
        script.push_str(&format!(" \"${{{at}}}\""));
    }
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_tpc"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("sh runs")
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tpc-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON output ({e}): {}", text(&out.stdout)))
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|d| d["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Nine levels of nine aliases each ("billion laughs": 9^9 nodes), the
/// bottom level holding `leaf`.
fn laughs(indent: &str, leaf: &str) -> String {
    let leaves = [leaf; 9].join(", ");
    let mut out = format!("{indent}- &l0 [{leaves}]\n");
    for level in 1..9 {
        let items = vec![format!("*l{}", level - 1); 9].join(", ");
        out.push_str(&format!("{indent}- &l{level} [{items}]\n"));
    }
    out
}

const POLICY_HEAD: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: laughs
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 1
      type: string
    selectors:
    - matchArgs:
      - index: 1
        operator: Equal
        values:
";

#[test]
fn alias_bombs_are_refused_on_the_alias_in_bounded_memory() {
    let dir = scratch("bombs");
    // The bare form: a document that is only the bomb (about 500 bytes).
    let bare = dir.join("laughs.yaml");
    let bare_text = laughs("", "lol");
    assert!(bare_text.len() < 600);
    std::fs::write(&bare, &bare_text).expect("write");
    // Inside `values`, where every leaf is a filter value.
    let in_values = dir.join("laughs-in-values.yaml");
    std::fs::write(
        &in_values,
        format!("{POLICY_HEAD}{}", laughs("        ", "\"/etc/x\"")),
    )
    .expect("write");
    for path in [&bare, &in_values] {
        let out = tpc_capped(
            50,
            &[
                "check",
                "--no-kernel",
                "--format",
                "json",
                path.to_str().expect("utf-8 path"),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        let report = json(&out);
        assert_eq!(codes(&report), ["TPC011"], "{report}");
        let finding = &report["diagnostics"][0];
        let start = finding["primary"]["start_byte"].as_u64().expect("a span") as usize;
        let source = std::fs::read_to_string(path).expect("read back");
        assert!(
            source[start..].starts_with("*l"),
            "not on an alias: {finding}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deep_nesting_is_a_finding() {
    let dir = scratch("nesting");
    let path = dir.join("deep.yaml");
    std::fs::write(&path, format!("{}x\n", "- ".repeat(50_000))).expect("write");
    let out = tpc_capped(
        100,
        &[
            "check",
            "--no-kernel",
            "--format",
            "json",
            path.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(codes(&json(&out)), ["TPC011"]);
    let _ = std::fs::remove_dir_all(&dir);
}

const WARNS: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: warns
spec:
  kprobes:
  - call: sys_write
    syscall: true
    args:
    - index: 0
      type: int
    - index: 0
      type: int
";

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn a_file_that_is_not_utf8_is_a_finding_and_the_rest_is_checked() {
    let dir = scratch("utf8");
    write(&dir.join("a-warns.yaml"), WARNS.as_bytes());
    write(
        &dir.join("b-latin1.yaml"),
        b"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: caf\xe9\n",
    );
    write(
        &dir.join("c-warns.yaml"),
        WARNS.replace("warns", "more").as_bytes(),
    );
    let folder = dir.to_str().expect("utf-8");
    let out = tpc()
        .args(["check", "--no-kernel", "--format", "json", folder])
        .output()
        .expect("tpc runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json(&out);
    let mut found = codes(&report);
    found.sort();
    assert_eq!(found, ["TPC024", "TPC024", "TPC090"], "{report}");
    let utf8 = report["diagnostics"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["code"] == "TPC090"))
        .expect("the TPC090 finding");
    assert!(
        utf8["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("b-latin1.yaml")),
        "{utf8}"
    );
    assert_eq!(utf8["primary"]["line"], 4, "{utf8}");

    // Human output prints the other files' findings too, and the summary.
    let out = tpc()
        .args(["check", "--no-kernel", "--format", "short", folder])
        .output()
        .expect("tpc runs");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("a-warns.yaml") && stdout.contains("c-warns.yaml"),
        "{stdout}"
    );
    assert!(stdout.contains("3 files checked"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_checks_each_real_file_once() {
    let dir = scratch("loop");
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).expect("mkdir");
    write(&sub.join("warns.yaml"), WARNS.as_bytes());
    std::os::unix::fs::symlink("..", sub.join("up")).expect("symlink");
    std::os::unix::fs::symlink("sub/warns.yaml", dir.join("same.yaml")).expect("symlink");
    let folder = dir.to_str().expect("utf-8");
    let file = sub.join("warns.yaml");
    let out = tpc()
        .args([
            "check",
            "--no-kernel",
            "--format",
            "json",
            folder,
            file.to_str().expect("utf-8"),
        ])
        .output()
        .expect("tpc runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(codes(&json(&out)), ["TPC024"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_btf_file_that_does_not_exist_is_an_io_error() {
    let out = tpc()
        .args(["check", "--btf", "/nonexistent/vmlinux", "examples/"])
        .output()
        .expect("tpc runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("/nonexistent/vmlinux"));
}

#[test]
fn btf_that_cannot_be_loaded_says_no_kernel_checks_ran() {
    let dir = scratch("junk-btf");
    let junk = dir.join("junk.btf");
    write(&junk, b"not BTF at all");
    let out = tpc()
        .args(["check", "--btf", junk.to_str().expect("utf-8"), "examples/"])
        .output()
        .expect("tpc runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("no kernel checks ran"), "{stdout}");
    assert!(!stdout.contains("on the other kernels only"), "{stdout}");
    // With another kernel beside it, the note says the others were checked.
    let out = tpc()
        .args([
            "check",
            "--kernel",
            "6.1",
            "--btf",
            junk.to_str().expect("utf-8"),
            "examples/",
        ])
        .output()
        .expect("tpc runs");
    assert!(text(&out.stdout).contains("on the other kernels only"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kernels_show_exits_one_when_a_lookup_finds_nothing() {
    let show = |what: &[&str]| {
        tpc()
            .args(["kernels", "show", "--kernel", "debian-6.1"])
            .args(what)
            .output()
            .expect("tpc runs")
    };
    assert_eq!(show(&["--function", "fd_install"]).status.code(), Some(0));
    assert_eq!(
        show(&["--function", "no_such_function"]).status.code(),
        Some(1)
    );
    assert_eq!(
        show(&["--function", "fd_install", "--path", "file:f_path.nope"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        show(&["--tracepoint", "sched/no_such_event"]).status.code(),
        Some(1)
    );
}

#[test]
fn tetragon_versions_change_the_verdict_and_unknown_ones_are_usage_errors() {
    let fixture = "fixtures/policies/err/returns/14-return-arg-action-post.yaml";
    let check = |version: &str| {
        tpc()
            .args([
                "check",
                "--no-kernel",
                "--format",
                "short",
                "--tetragon",
                version,
                fixture,
            ])
            .output()
            .expect("tpc runs")
    };
    for refused in ["1.7", "v1.7.0", "main"] {
        let out = check(refused);
        assert_eq!(out.status.code(), Some(1), "{refused}");
        assert!(text(&out.stdout).contains("error[TPC040]"), "{refused}");
    }
    for accepted in ["1.5", "1.6.1"] {
        let out = check(accepted);
        assert_eq!(out.status.code(), Some(0), "{accepted}");
        assert!(text(&out.stdout).contains("warning[TPC040]"), "{accepted}");
    }
    let out = check("1.4");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("1.5, 1.6, 1.7"),
        "{}",
        text(&out.stderr)
    );
    // The default is the latest release.
    let out = tpc()
        .args(["check", "--no-kernel", "--format", "short", fixture])
        .output()
        .expect("tpc runs");
    assert_eq!(out.status.code(), Some(1));
}

/// A file of many small policies (the was 50 MB of 140,000
/// documents; this one has 14,000, as the ratio does not depend on the
/// count) is checked within a fixed 50 MiB plus ten times its size of
/// address space. `bench/check_memory.sh` measures the full size.
#[test]
fn many_documents_stay_within_ten_times_their_size() {
    let dir = scratch("many");
    let path = dir.join("many.yaml");
    let mut many = String::new();
    for n in 0..14_000 {
        many.push_str(&format!(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: policy-{n}\nspec:\n  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Prefix\n        values:\n        - \"/etc/{n}/\"\n      matchActions:\n      - action: Post\n---\n"
        ));
    }
    write(&path, many.as_bytes());
    let cap_mib = 50 + 10 * (many.len() as u64).div_ceil(1 << 20);
    let out = tpc_capped(
        cap_mib,
        &[
            "check",
            "--no-kernel",
            "--format",
            "short",
            path.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "under {cap_mib} MiB: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("no problems found"));
    let _ = std::fs::remove_dir_all(&dir);
}
