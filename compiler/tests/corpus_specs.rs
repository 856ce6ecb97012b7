//! Tetragon's `specs/` examples are wrong on purpose. Without a kernel, tpc
//! rejects the ones whose mistake shows in the policy itself, with a precise
//! diagnostic; the others need the kernel's BTF (see the `kernel_*` tests).
//! Every file of the folder must be listed here, so a new one is noticed.

mod common;

use tpc::diagnostics::Severity;

/// (file, codes of the errors expected without a kernel, why).
const EXPECTED: &[(&str, &[&str], &str)] = &[
    (
        "nosuchcall.yaml",
        &["TPC101"],
        "`syscall` defaults to true and the name is no syscall",
    ),
    (
        "notasyscall.yaml",
        &["TPC101"],
        "`syscall: true` on vfs_llseek",
    ),
    (
        "wrongargindex.yaml",
        &["TPC026"],
        "index 100: Tetragon reads parameters 0 to 4",
    ),
    (
        "syswrongargindex.yaml",
        &["TPC026"],
        "index 100: Tetragon reads parameters 0 to 4",
    ),
    (
        "wrongargtype.yaml",
        &[],
        "needs kernel BTF: `string` on the `struct file *` of vfs_llseek",
    ),
    (
        "syswrongargtype.yaml",
        &[],
        "needs kernel BTF: `string` on the `unsigned int` fd of lseek",
    ),
    ("lseek.yaml", &[], "valid"),
    ("syslseek.yaml", &[], "valid"),
    ("testpod.yaml", &[], "a Pod, not a policy: skipped"),
];

#[test]
fn specs_without_a_kernel() {
    let dir = common::shared_dir().join("corpus/tetragon/specs");
    let files = common::yaml_files(&dir);
    assert!(!files.is_empty(), "no specs under {}", dir.display());
    let mut problems = Vec::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some((_, codes, why)) = EXPECTED.iter().find(|(f, _, _)| *f == name) else {
            problems.push(format!(
                "{name}: not listed in this test; add what tpc should say"
            ));
            continue;
        };
        let text = std::fs::read_to_string(path).expect("readable");
        let report = tpc::driver::check_sources(vec![(name.to_string(), text)]);
        let mut got: Vec<&str> = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.code.as_str())
            .collect();
        got.sort_unstable();
        got.dedup();
        let mut want: Vec<&str> = codes.to_vec();
        want.sort_unstable();
        if got != want {
            problems.push(format!(
                "{name} ({why}): expected errors {want:?}, got {got:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
