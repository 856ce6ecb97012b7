//! The VM test harness: boots real Debian kernels under QEMU (software
//! emulation, no KVM) with a busybox initramfs, runs many named shell
//! scenarios in one boot, and brings back each one's output and exit status.
//!
//! This machine's own kernel cannot attach kprobes, fentry or BPF LSM
//! programs; the Debian kernels booted here can. A test:
//!
//! ```no_run
//! use std::time::Duration;
//! use tpc_tests::vm::{self, Guest, Scenario};
//!
//! let Some(kernel) = vm::or_skip("my_test", vm::DEBIAN_6_12.fetch()) else { return };
//! let guest = Guest::new()
//!     .binary("target/debug/tpc", "/usr/local/bin/tpc")
//!     .file("fixtures/policy.yaml", "/data/policy.yaml")
//!     .scenario(Scenario::new("version", "tpc --version"))
//!     .scenario(Scenario::new("check", "tpc check /data/policy.yaml").time_limit(Duration::from_secs(20)));
//! let Some(report) = vm::or_skip("my_test", guest.boot(&kernel)) else { return };
//! report.assert_passed("version");
//! assert!(report.result("check").output.contains("no problems"));
//! ```
//!
//! Pieces, one file each: [`kernel`] finds, downloads and caches the kernel
//! packages; [`initramfs`] writes the cpio archive (binaries with the shared
//! libraries `ldd` names); [`guest`] writes the init script, runs QEMU under
//! a time limit and reads the results back; [`report`] is the wire format on
//! the second serial port and what a boot returns; [`bpf`] compiles the BPF C
//! a scenario loads. `vm/README.md` is the user's guide.
//!
//! Missing pieces (QEMU, busybox, clang, a kernel package, the network for its
//! download) are [`VmError::is_missing_piece`]: [`or_skip`] turns them into a
//! printed skip outside CI and into a failure under `CI=true`. Everything else
//! (a hung guest, a kernel panic, a guest that stops before reporting) is
//! always a failure, with the guest's console log in the message.

pub mod bpf;
pub mod guest;
pub mod initramfs;
pub mod kernel;
pub mod report;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

pub use bpf::compile_bpf;
pub use guest::{Guest, Scenario};
pub use kernel::{DEBIAN_6_1, DEBIAN_6_12, DEBIAN_KERNELS, Kernel, KernelSeries};
pub use report::{BootReport, ScenarioResult, ScenarioStatus};

/// Everything that can stop a VM test, by what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// A tool or file the harness needs is not on this machine.
    #[error("{piece} is missing: {help}")]
    Missing { piece: String, help: String },
    /// No package of a kernel series is known to apt (and none is cached).
    #[error(
        "no Debian kernel package of the {series} series found by `apt-cache search` (looked for {pattern}) and none cached in {cache}; run `bash scripts/setup-debian.sh` (it adds the repository and runs apt-get update)",
        cache = cache.display()
    )]
    NoKernelPackage {
        series: String,
        pattern: String,
        cache: PathBuf,
    },
    /// `apt-get download` of a kernel package failed (usually the network).
    #[error(
        "getting kernel package {package} failed: {status}\n{stderr}\nis the network reachable, and has `apt-get update` run since Debian published it?"
    )]
    KernelDownload {
        package: String,
        status: String,
        stderr: String,
    },
    /// A file could not be read, written or created.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A host tool ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Tool {
        command: String,
        status: String,
        stderr: String,
    },
    /// A scenario or file given to the guest is unusable.
    #[error("invalid guest setup: {reason}")]
    InvalidGuest { reason: String },
    /// QEMU itself failed (bad arguments, kernel image it cannot load).
    #[error("qemu failed ({status}): {stderr}\n{}", console_section(console))]
    Qemu {
        status: String,
        stderr: String,
        console: String,
    },
    /// The whole boot ran past its time limit and QEMU was killed.
    #[error(
        "the guest ({kernel}) did not finish within {} s and was killed; {progress}\n{}",
        limit.as_secs(),
        console_section(console)
    )]
    BootTimedOut {
        kernel: String,
        limit: Duration,
        progress: String,
        console: String,
    },
    /// The guest kernel panicked.
    #[error(
        "the guest kernel ({kernel}) panicked; {progress}\n{}",
        console_section(console)
    )]
    KernelPanic {
        kernel: String,
        progress: String,
        console: String,
    },
    /// The guest stopped before it reported every scenario.
    #[error(
        "the guest ({kernel}) stopped without reporting {}; {progress}\n{}",
        missing.join(", "),
        console_section(console)
    )]
    MissingResults {
        kernel: String,
        missing: Vec<String>,
        progress: String,
        console: String,
    },
}

impl VmError {
    /// Whether this is a missing piece of the machine (a skip outside CI)
    /// rather than a failure of the guest or the harness.
    pub fn is_missing_piece(&self) -> bool {
        matches!(
            self,
            Self::Missing { .. } | Self::NoKernelPackage { .. } | Self::KernelDownload { .. }
        )
    }

    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

fn console_section(console: &str) -> String {
    if console.trim().is_empty() {
        "console log: (empty)".to_owned()
    } else {
        format!("console log:\n{}\n(end of console log)", console.trim_end())
    }
}

/// Whether this run is CI (`CI=true`), where a missing piece is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// The value of `result`, or `None` after printing why `test` is skipped
/// when a piece of the machine is missing outside CI. Panics (fails the
/// test) on any other error, and on a missing piece under `CI=true`.
pub fn or_skip<T>(test: &str, result: Result<T, VmError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) if error.is_missing_piece() && !in_ci() => {
            eprintln!("skipping {test}: {error}");
            None
        }
        Err(error) if error.is_missing_piece() => {
            panic!("{test}: {error}\nCI=true, so a missing piece is a failure, not a skip")
        }
        Err(error) => panic!("{test}: {error}"),
    }
}

/// The checkout this crate was built from.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        Path::to_path_buf,
    )
}

/// Where kernels are cached: `$TPC_VM_CACHE`, else `target/vm-cache/` of
/// the checkout.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("TPC_VM_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repository_root().join("target").join("vm-cache"),
    }
}

/// `program` found on `PATH`, if it is there.
pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs `command`, returning its stdout, or [`VmError::Tool`] with its stderr.
pub(crate) fn run_tool(command: &mut std::process::Command) -> Result<Vec<u8>, VmError> {
    let shown = format!("{command:?}").replace('"', "");
    let output = command.output().map_err(|error| VmError::Tool {
        command: shown.clone(),
        status: "could not start".to_owned(),
        stderr: error.to_string(),
    })?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(VmError::Tool {
            command: shown,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
