//! Shared helpers for the kernel tests (`runtime_*.rs`): whether they may run, the built `tpc` binary, probe binaries, bpftool counts.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::{
    ffi::OsStr,
    fs,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// Whether this run is CI (`CI=true`), where a kernel test must not skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// `true` when the kernel test `name` can run. Without root or without the
/// BPF objects it prints why and returns `false`, except under `CI=true`,
/// where it panics: in CI a missing capability is a failure, never a skip.
pub fn kernel_test_can_run(name: &str) -> bool {
    let problem = if !tpc_runtime::objects::embedded() {
        Some(
            "tpc-runtime was built without BPF programs (clang or libbpf-dev missing at build time)",
        )
    } else if effective_uid() != Some(0) {
        Some("not root: loading BPF programs needs root")
    } else {
        None
    };
    match problem {
        None => true,
        Some(problem) if in_ci() => panic!("{name}: {problem}; CI=true, so this is a failure"),
        Some(problem) => {
            eprintln!("skipping {name}: {problem}");
            false
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct ScratchDir {
    pub path: PathBuf,
}

impl ScratchDir {
    pub fn new(label: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("tpc-{label}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).unwrap();
        Self { path }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ignored = fs::remove_dir_all(&self.path);
    }
}

/// Copies `original` into `dir` under a unique name, executable; returns its
/// canonical path (what the kernel reports as the binary).
pub fn probe_copy(original: &str, dir: &Path, stem: &str) -> PathBuf {
    let source = fs::canonicalize(original).unwrap();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    let target = dir.join(format!("{stem}-{}-{nanos}", std::process::id()));
    fs::copy(&source, &target).unwrap();
    let mut permissions = fs::metadata(&target).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    fs::set_permissions(&target, permissions).unwrap();
    fs::canonicalize(target).unwrap()
}

/// Writes `policy` to `DIR/NAME.yaml` and builds it with `tpc build` into
/// `DIR/NAME.tpcb`, which it returns; a failed build fails the test with
/// tpc's message.
pub fn build_bundle(tpc: &Path, dir: &Path, name: &str, policy: &str) -> PathBuf {
    let policy_file = dir.join(format!("{name}.yaml"));
    fs::write(&policy_file, policy).unwrap();
    let bundle = dir.join(format!("{name}.tpcb"));
    let built = Command::new(tpc)
        .arg("build")
        .arg(&policy_file)
        .arg("-o")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "tpc build {name}: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    bundle
}

/// The real `tpc` binary of this build profile (`target/<profile>/tpc`),
/// built first with `cargo build -p tpc --bin tpc` so it is never stale.
pub fn tpc_binary() -> PathBuf {
    // the test binary lives in target/<profile>/deps/
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf();
    let target_dir = profile_dir.parent().unwrap().to_path_buf();
    let profile = profile_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "-p", "tpc", "--bin", "tpc"]);
    build.arg("--target-dir").arg(&target_dir);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    let status = build.status().unwrap();
    assert!(status.success(), "building the tpc binary failed");
    let binary = profile_dir.join("tpc");
    assert!(binary.exists(), "no tpc binary at {}", binary.display());
    binary
}

/// One BPF object as `bpftool ... list -j` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BpfObject {
    pub id: u64,
    pub name: String,
    /// For links: the program they attach.
    pub prog_id: Option<u64>,
}

/// Programs, maps and links currently in the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BpfInventory {
    pub programs: Vec<BpfObject>,
    pub maps: Vec<BpfObject>,
    pub links: Vec<BpfObject>,
}

fn bpftool_list(kind: &str) -> Vec<BpfObject> {
    let output = Command::new("bpftool")
        .args([kind, "list", "-j"])
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run bpftool (install it: apt-get install bpftool): {error}")
        });
    assert!(
        output.status.success(),
        "bpftool {kind} list failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let value: serde_json::Value = if text.trim().is_empty() {
        serde_json::json!([])
    } else {
        serde_json::from_str(&text).unwrap()
    };
    value
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|object| BpfObject {
            id: object["id"].as_u64().unwrap_or(0),
            name: object["name"].as_str().unwrap_or_default().to_owned(),
            prog_id: object["prog_id"].as_u64(),
        })
        .collect()
}

impl BpfInventory {
    pub fn now() -> Self {
        Self {
            programs: bpftool_list("prog"),
            maps: bpftool_list("map"),
            links: bpftool_list("link"),
        }
    }

    /// (programs, maps, links) counts.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.programs.len(), self.maps.len(), self.links.len())
    }

    /// The base sensor's objects: names start with `tpc_`, links attach them.
    pub fn ours(&self) -> BpfInventory {
        let programs: Vec<BpfObject> = self
            .programs
            .iter()
            .filter(|program| program.name.starts_with("tpc_"))
            .cloned()
            .collect();
        let program_ids: Vec<u64> = programs.iter().map(|program| program.id).collect();
        BpfInventory {
            maps: self
                .maps
                .iter()
                .filter(|map| map.name.starts_with("tpc_"))
                .cloned()
                .collect(),
            links: self
                .links
                .iter()
                .filter(|link| link.prog_id.is_some_and(|id| program_ids.contains(&id)))
                .cloned()
                .collect(),
            programs,
        }
    }
}

/// A policy on `syscalls/sys_enter_openat` whose one selector matches a
/// path under any of `prefixes` opened by any of `binaries` (any binary
/// when empty), with `action`.
pub fn openat_prefix_policy(
    name: &str,
    prefixes: &[String],
    binaries: &[&Path],
    action: &str,
) -> String {
    let list = |items: Vec<String>| {
        items
            .iter()
            .map(|v| format!("        - \"{v}\"\n"))
            .collect::<String>()
    };
    let mut text = format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: {name}\nspec:\n  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_openat\n    args:\n    - index: 6\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Prefix\n        values:\n{}",
        list(prefixes.to_vec())
    );
    if !binaries.is_empty() {
        text.push_str("      matchBinaries:\n      - operator: In\n        values:\n");
        text.push_str(&list(
            binaries.iter().map(|b| b.display().to_string()).collect(),
        ));
    }
    text.push_str(&format!("      matchActions:\n      - action: {action}\n"));
    text
}

/// A running `tpc run`, with its output collected.
pub struct TpcRun {
    pub child: Child,
    stderr: std::thread::JoinHandle<String>,
    stdout: std::thread::JoinHandle<String>,
}

fn collect(
    reader: impl std::io::Read + Send + 'static,
    ready: Option<mpsc::Sender<()>>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(reader).lines() {
            let line = line.unwrap_or_default();
            if let Some(ready) = &ready {
                if line.contains("stop with Ctrl-C") {
                    let _ignored = ready.send(());
                }
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    })
}

impl TpcRun {
    /// Starts `tpc run ARGS`; `Ok` once it says it runs, `Err` with its
    /// status and stderr when it exits first.
    pub fn start<S: AsRef<OsStr>>(tpc: &Path, args: &[S]) -> Result<Self, (ExitStatus, String)> {
        let mut child = Command::new(tpc)
            .arg("run")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (ready_sender, ready) = mpsc::channel();
        let stderr = collect(child.stderr.take().unwrap(), Some(ready_sender));
        let stdout = collect(child.stdout.take().unwrap(), None);
        if ready.recv_timeout(Duration::from_secs(120)).is_ok() {
            return Ok(TpcRun {
                child,
                stderr,
                stdout,
            });
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Err((status, stderr.join().unwrap()));
            }
            if Instant::now() > deadline {
                let _ignored = child.kill();
                let status = child.wait().unwrap();
                panic!(
                    "tpc run neither started nor exited ({status:?}); stderr:\n{}",
                    stderr.join().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` (`-INT`, `-TERM`, `-HUP`).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Sends `signal`, waits; asserts a clean stop; returns (stderr, stdout).
    pub fn stop(mut self, signal: &str) -> (String, String) {
        self.signal(signal);
        let exit = self.child.wait().unwrap();
        let stderr = self.stderr.join().unwrap();
        let stdout = self.stdout.join().unwrap();
        assert!(
            exit.success(),
            "tpc run failed on {signal}: {exit:?}\n{stderr}"
        );
        (stderr, stdout)
    }
}
