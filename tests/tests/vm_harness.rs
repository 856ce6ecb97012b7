//! The VM harness's failure paths, without booting anything: a stand-in
//! for QEMU (a shell script) that hangs, panics, stops half-way or reports
//! a failed scenario, so each outcome is shown to reach the test as it
//! should (an error with the console log, or a failed scenario with its
//! output).

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use tpc_tests::vm::{self, BootReport, Guest, Kernel, Scenario, ScenarioStatus, VmError};

/// A fresh directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("tpc-vm-harness-{label}-{}", std::process::id()));
        let _ignored = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ignored = fs::remove_dir_all(&self.0);
    }
}

/// A fake `qemu-system-x86_64`: finds the console and results files in its
/// `-serial file:…` arguments and the boot's nonce in the initrd, then runs
/// `body` with `$console`, `$results` and `$mark` (the marker prefix) set.
fn fake_qemu(dir: &Path, body: &str) -> PathBuf {
    let script = format!(
        r#"#!/bin/sh
console=""; results=""; initrd=""
while [ $# -gt 0 ]; do
  case "$1" in
  file:*) if [ -z "$console" ]; then console=${{1#file:}}; else results=${{1#file:}}; fi ;;
  -initrd) initrd=$2; shift ;;
  esac
  shift
done
mark=$(grep -ao '@@tpc-vm:[0-9a-f]*:' "$initrd" | head -n 1)
{body}
"#
    );
    let path = dir.join("fake-qemu");
    fs::write(&path, script).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    path
}

/// Boots `guest` with the fake QEMU running `body`; `None` when busybox
/// (which the initramfs packs) is missing outside CI.
fn boot_fake(label: &str, guest: Guest, body: &str) -> Option<Result<BootReport, VmError>> {
    let scratch = Scratch::new(label);
    let qemu = fake_qemu(&scratch.0, body);
    let kernel = Kernel::from_image(&qemu).unwrap_or_else(|error| panic!("{error}"));
    match guest.qemu(&qemu).boot(&kernel) {
        Err(error) if error.is_missing_piece() => vm::or_skip(label, Err(error)),
        result => Some(result),
    }
}

fn two_scenarios() -> Guest {
    Guest::new()
        .scenario(Scenario::new("first", "true"))
        .scenario(Scenario::new("second", "true"))
}

#[test]
fn a_hung_guest_is_killed_at_the_boot_limit_and_its_console_shown() {
    let guest = two_scenarios().boot_time_limit(Duration::from_secs(2));
    let body = r#"echo "fake kernel: stuck in early boot" >"$console"
exec sleep 600"#;
    let started = std::time::Instant::now();
    let Some(result) = boot_fake("hung", guest, body) else {
        return;
    };
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the hung guest was not killed at its limit"
    );
    let error = result
        .err()
        .unwrap_or_else(|| panic!("a hung guest passed"));
    assert!(matches!(error, VmError::BootTimedOut { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("did not finish within 2 s"), "{message}");
    assert!(
        message.contains("fake kernel: stuck in early boot"),
        "{message}"
    );
    assert!(
        message.contains("never wrote to the results port"),
        "{message}"
    );
}

#[test]
fn a_kernel_panic_fails_the_boot_with_its_console() {
    let body = r#"printf '\n%ssetup\n\n%sready\n' "$mark" "$mark" >"$results"
echo "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100" >"$console""#;
    let Some(result) = boot_fake("panic", two_scenarios(), body) else {
        return;
    };
    let error = result
        .err()
        .unwrap_or_else(|| panic!("a panicked guest passed"));
    assert!(matches!(error, VmError::KernelPanic { .. }), "{error}");
    assert!(
        error.to_string().contains("Attempted to kill init"),
        "{error}"
    );
}

#[test]
fn a_guest_that_stops_half_way_names_the_missing_scenarios() {
    let body = r#"printf '\n%ssetup\n\n%sready\n\n%sbegin:first:1.00\n' "$mark" "$mark" "$mark" >"$results"
printf 'half of the output' >>"$results"
echo "fake kernel: powered off early" >"$console""#;
    let Some(result) = boot_fake("half-way", two_scenarios(), body) else {
        return;
    };
    let error = result
        .err()
        .unwrap_or_else(|| panic!("a half-way guest passed"));
    let VmError::MissingResults { missing, .. } = &error else {
        panic!("expected missing results, got: {error}");
    };
    assert_eq!(missing, &["first", "second"]);
    let message = error.to_string();
    assert!(
        message.contains("scenario `first` was running"),
        "{message}"
    );
    assert!(message.contains("half of the output"), "{message}");
    assert!(
        message.contains("fake kernel: powered off early"),
        "{message}"
    );
}

#[test]
fn a_failed_scenario_comes_back_failed_with_its_output() {
    let body = r#"{
  printf '\n%ssetup\n\n%sready\n' "$mark" "$mark"
  printf '\n%sbegin:first:1.00\nall good\n' "$mark"
  printf '\n%send:first:0:1.10\n' "$mark"
  printf '\n%sbegin:second:1.20\nsomething broke\n' "$mark"
  printf '\n%send:second:2:1.30\n' "$mark"
  printf '\n%sdone\n' "$mark"
} >"$results"
echo "fake kernel: booted" >"$console""#;
    let Some(result) = boot_fake("failed", two_scenarios(), body) else {
        return;
    };
    let report = result.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(report.assert_passed("first").output, "all good\n");
    let second = report.result("second");
    assert_eq!(second.status, ScenarioStatus::Exited(2));
    assert_eq!(second.output, "something broke\n");
    let message = std::panic::catch_unwind(|| {
        report.assert_all_passed();
    })
    .err()
    .and_then(|panic| panic.downcast_ref::<String>().cloned())
    .unwrap_or_default();
    assert!(message.contains("`second`"), "{message}");
    assert!(message.contains("something broke"), "{message}");
    assert!(message.contains("fake kernel: booted"), "{message}");
}

#[test]
fn a_qemu_that_cannot_start_the_kernel_says_why() {
    let body = r#"echo "qemu: could not load kernel" >&2
exit 1"#;
    let Some(result) = boot_fake("qemu-fails", two_scenarios(), body) else {
        return;
    };
    let error = result
        .err()
        .unwrap_or_else(|| panic!("a failed qemu passed"));
    assert!(matches!(error, VmError::Qemu { .. }), "{error}");
    assert!(
        error.to_string().contains("could not load kernel"),
        "{error}"
    );
}

#[test]
fn a_missing_qemu_is_a_missing_piece() {
    let kernel = Kernel::from_image(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.toml")
            .as_path(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let error = Guest::new()
        .qemu("/nonexistent/qemu-system-x86_64")
        .boot(&kernel)
        .err()
        .unwrap_or_else(|| panic!("booted without qemu"));
    assert!(error.is_missing_piece(), "{error}");
}
