//! Helpers shared by the `btf_*` integration tests: where `../shared` is and
//! how to skip (or, under `CI=true`, fail) when something is missing.

#![allow(
    dead_code,
    reason = "each test file uses a different subset; `expect` would be unfulfilled in some"
)]

use std::path::PathBuf;

/// `$TPC_SHARED`, else `<repo root>/../shared`.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TPC_SHARED") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// Returns `false` (after saying why) when the test must be skipped; panics
/// instead under `CI=true`, where a missing prerequisite is a failure.
pub fn require(condition: bool, what: &str) -> bool {
    if condition {
        return true;
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("missing prerequisite under CI: {what}");
    }
    eprintln!("skipping: {what}");
    false
}

/// The shared kernel BTF files, sorted.
pub fn shared_btf_files() -> Vec<PathBuf> {
    let dir = shared_dir().join("btf");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.to_string_lossy().ends_with(".btf.xz"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The carried kernel name that corresponds to a shared BTF file.
pub fn carried_name_for(file: &std::path::Path) -> &'static str {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.starts_with("arm64-6.1") {
        "debian-6.1-arm64"
    } else if name.starts_with("x86_64-5.10") {
        "debian-5.10"
    } else if name.starts_with("x86_64-6.1.") {
        "debian-6.1"
    } else if name.contains("+deb13") {
        "debian-13-6.12"
    } else if name.contains("+deb12") {
        "debian-12-6.12"
    } else {
        "running-6.18"
    }
}
