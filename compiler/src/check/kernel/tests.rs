//! Unit tests of the kernel checks' helpers and of the rules that the
//! fixtures do not show, against the carried kernels.

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

use super::*;
use crate::btf::{CarriedKernel, carried_db};
use crate::span::FileId;

fn kernel(name: &str) -> CarriedKernel {
    carried_db().unwrap().kernel(name).unwrap()
}

fn findings(kernel_name: &str, yaml: &str) -> Vec<Diagnostic> {
    let parsed = crate::front::parse_policies(FileId(0), yaml);
    assert!(
        parsed
            .diagnostics
            .iter()
            .all(|d| d.severity < crate::diagnostics::Severity::Error),
        "{:#?}",
        parsed.diagnostics
    );
    let kernel = kernel(kernel_name);
    parsed
        .policies
        .iter()
        .flat_map(|policy| run_all(&kernel, policy))
        .collect()
}

fn codes(found: &[Diagnostic]) -> Vec<&'static str> {
    found.iter().map(|d| d.code.as_str()).collect()
}

const HEADER: &str =
    "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: t\nspec:\n";

#[test]
fn sub_spans_point_into_plain_and_quoted_scalars() {
    let plain = Span::new(FileId(0), 100, 108);
    assert_eq!(
        sub_span(plain, "a.bc.def", 2..4),
        Span::new(FileId(0), 102, 104)
    );
    let quoted = Span::new(FileId(0), 100, 110);
    assert_eq!(
        sub_span(quoted, "a.bc.def", 2..4),
        Span::new(FileId(0), 103, 105)
    );
    // A scalar with escapes (length differs otherwise): the whole span.
    let escaped = Span::new(FileId(0), 100, 115);
    assert_eq!(sub_span(escaped, "a.bc.def", 2..4), escaped);
    assert_eq!(sub_span(plain, "a.bc.def", 4..20), plain);
}

#[test]
fn closest_names_are_close() {
    let mut closest = Closest::new("fd_instal");
    for name in ["fd_install", "fd_uninstall", "fput", "fd_installed_x"] {
        closest.offer(name);
    }
    assert_eq!(closest.best().as_deref(), Some("fd_install"));
    // Two edits in a long name, no more.
    let mut closest = Closest::new("security_bpf_map_create");
    closest.offer("security_bpf_map_free");
    assert_eq!(closest.best(), None);
    let mut closest = Closest::new("dev_queue_xmit");
    closest.offer("__dev_queue_xmit");
    closest.offer("dev_queue_xmit_nit");
    assert_eq!(closest.best().as_deref(), Some("__dev_queue_xmit"));
    let mut rows = BoundedRows::default();
    assert_eq!(rows.distance_within(b"kitten", b"sitting", 3), Some(3));
    assert_eq!(rows.distance_within(b"kitten", b"sitting", 2), None);
    assert_eq!(rows.distance_within(b"", b"ab", 2), Some(2));
}

#[test]
fn syscall_lists_force_syscall_and_read_abi_names() {
    let yaml = format!(
        "{HEADER}  lists:\n  - name: dups\n    type: syscalls\n    values: [\"x64/sys_dup\", \"sys_dup2\"]\n  kprobes:\n  - call: list:dups\n    syscall: false\n"
    );
    assert_eq!(codes(&findings("debian-6.1", &yaml)), Vec::<&str>::new());
    // On arm64 the x64 ABI's wrapper does not exist.
    let arm = findings("debian-6.1-arm64", &yaml);
    assert_eq!(codes(&arm), ["TPC100"]);
    assert!(
        arm[0].message.contains("another architecture"),
        "{}",
        arm[0].message
    );
}

#[test]
fn generated_lists_are_not_checked() {
    let yaml = format!(
        "{HEADER}  lists:\n  - name: all\n    type: generated_syscalls\n  kprobes:\n  - call: list:all\n    syscall: true\n"
    );
    assert!(findings("debian-6.1", &yaml).is_empty());
}

#[test]
fn raw_tracepoints_use_tp_proto() {
    let sig = kernel("debian-6.1")
        .raw_tracepoint("sched_process_exec")
        .unwrap();
    let types: Vec<&str> = sig.params.iter().map(|p| p.ty.c.as_str()).collect();
    assert_eq!(
        types,
        ["struct task_struct *", "pid_t", "struct linux_binprm *"]
    );
    let yaml = format!(
        "{HEADER}  tracepoints:\n  - subsystem: sched\n    event: sched_process_exec\n    raw: true\n    args:\n    - index: 2\n      type: linux_binprm\n    - index: 0\n      type: int\n      resolve: pid\n"
    );
    assert!(findings("debian-5.10", &yaml).is_empty());
}

#[test]
fn syscall_without_arguments_has_no_btf_wrapper_on_x86() {
    let yaml = format!("{HEADER}  kprobes:\n  - call: sys_getpid\n    syscall: true\n");
    let x86 = findings("debian-6.1", &yaml);
    assert_eq!(codes(&x86), ["TPC100"]);
    assert_eq!(x86[0].severity, crate::diagnostics::Severity::Error);
    assert!(findings("debian-6.1-arm64", &yaml).is_empty());
    let ignored = yaml.replace(
        "syscall: true\n",
        "syscall: true\n    ignore:\n      callNotFound: true\n",
    );
    assert_eq!(
        findings("debian-6.1", &ignored)[0].severity,
        crate::diagnostics::Severity::Note
    );
}

#[test]
fn syscall_return_is_long_and_resolve_starts_at_the_argument_type() {
    let yaml = format!(
        "{HEADER}  kprobes:\n  - call: sys_openat\n    syscall: true\n    return: true\n    returnArg:\n      index: 0\n      type: file\n    args:\n    - index: 1\n      type: string\n"
    );
    let found = findings("debian-12-6.12", &yaml);
    assert_eq!(codes(&found), ["TPC104"]);
    assert!(
        found[0]
            .message
            .contains("syscall `openat`, which is `long`"),
        "{}",
        found[0].message
    );
    // `int` fd: no members to walk.
    let resolve = format!(
        "{HEADER}  kprobes:\n  - call: sys_close\n    syscall: true\n    args:\n    - index: 0\n      type: int\n      resolve: f_path\n"
    );
    let found = findings("debian-5.10", &resolve);
    assert_eq!(codes(&found), ["TPC105"]);
    assert!(
        found[0].message.contains("which has no members"),
        "{}",
        found[0].message
    );
}

#[test]
fn uprobes_and_usdts_are_left_to_the_host_check() {
    let yaml = format!("{HEADER}  uprobes:\n  - path: /no/such/binary\n    symbols: [main]\n");
    assert!(findings("debian-6.1", &yaml).is_empty());
    let parsed = crate::front::parse_policies(FileId(0), &yaml);
    let host = run_host_checks(&parsed.policies[0]);
    assert_eq!(codes(&host), ["TPC108"]);
}

/// Up to Tetragon 1.7 `btfType` on a kprobe is ignored: `resolve` walks the
/// parameter's own type (`fd_install`'s `struct file *`); on main it walks
/// the named struct.
#[test]
fn btf_type_casts_on_main_only() {
    use crate::tetragon::TetragonVersion;
    let yaml = format!(
        "{HEADER}  kprobes:\n  - call: fd_install\n    syscall: false\n    args:\n    - index: 1\n      type: int\n      btfType: task_struct\n      resolve: f_flags\n"
    );
    let parsed = crate::front::parse_policies(FileId(0), &yaml);
    let kernel = kernel("debian-6.1");
    let on = |version| -> Vec<&'static str> {
        parsed
            .policies
            .iter()
            .flat_map(|policy| run_all_for(&kernel, policy, version))
            .filter(|d| d.code == Code::ResolvePath)
            .map(|d| d.code.as_str())
            .collect()
    };
    // `struct file` has `f_flags`; `struct task_struct` has not.
    assert!(on(TetragonVersion::V1_7).is_empty());
    assert_eq!(on(TetragonVersion::Main), ["TPC105"]);
}
