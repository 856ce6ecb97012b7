//! Shared helpers for the compiler's integration tests.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("compiler/ has a parent")
        .to_path_buf()
}

/// `../shared` beside the repository, or `$TPC_SHARED`.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("TPC_SHARED") {
        Some(p) => PathBuf::from(p),
        None => repo_root().join("..").join("shared"),
    }
}

/// A path relative to the repository root, with forward slashes, for
/// stable snapshot names and output.
pub fn relative(path: &std::path::Path) -> String {
    let root = repo_root();
    let rel = path.strip_prefix(&root).unwrap_or(path);
    rel.to_string_lossy().replace('\\', "/")
}

/// Every `*.yaml`/`*.yml` below `dir`, sorted.
pub fn yaml_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    tpc::driver::collect_policy_files(dir, &mut out).expect("readable fixture folder");
    out
}
