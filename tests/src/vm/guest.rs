//! One guest and its boot: the scenarios and files a test gives, the init
//! script that mounts what BPF needs and runs each scenario under its own
//! time limit, and QEMU run under the boot's time limit.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use super::{
    Kernel, VmError, find_on_path,
    initramfs::Initramfs,
    report::{BootReport, Transcript, marker_prefix, parse_transcript},
};

/// Boots are CPU-heavy (QEMU emulates the CPU): one at a time per process.
static ONE_BOOT_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The default time limit of one scenario.
pub const DEFAULT_SCENARIO_LIMIT: Duration = Duration::from_secs(60);

/// What a boot may take beyond its scenarios' limits: the kernel's boot
/// and power-off (3 to 13 s here, in emulation) with room for a busy host.
pub const DEFAULT_BOOT_ALLOWANCE: Duration = Duration::from_secs(120);

/// A named shell script run in the guest (by `sh -e`, in a fresh directory
/// `/tmp/tpc-vm/<name>`, stdin `/dev/null`, `$TPC_VM_SCENARIO` set to its
/// name, in a session of its own that is killed when it ends or at its time
/// limit).
#[derive(Debug, Clone)]
pub struct Scenario {
    name: String,
    script: String,
    time_limit: Duration,
}

impl Scenario {
    /// Scenario `name` (letters, digits, `-`, `_`, `.`) running `script`.
    pub fn new(name: &str, script: &str) -> Self {
        Self {
            name: name.to_owned(),
            script: script.to_owned(),
            time_limit: DEFAULT_SCENARIO_LIMIT,
        }
    }

    /// Its time limit (whole seconds, at least one; default 60 s).
    #[must_use]
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limit as the guest's `sleep` takes it.
    fn limit_seconds(&self) -> u64 {
        let whole = self.time_limit.as_secs();
        let rounded_up = if self.time_limit.subsec_nanos() > 0 {
            whole + 1
        } else {
            whole
        };
        rounded_up.max(1)
    }
}

/// A file to put into the guest, packed at boot time.
#[derive(Debug, Clone)]
enum GuestFile {
    Binary {
        host: PathBuf,
        guest: String,
    },
    File {
        host: PathBuf,
        guest: String,
    },
    Bytes {
        bytes: Vec<u8>,
        guest: String,
        mode: u32,
    },
}

/// A guest: its files and scenarios, bootable on any number of kernels.
#[derive(Debug, Clone)]
pub struct Guest {
    files: Vec<GuestFile>,
    scenarios: Vec<Scenario>,
    memory_mib: u32,
    boot_allowance: Duration,
    boot_time_limit: Option<Duration>,
    kernel_arguments: Vec<String>,
    qemu: Option<PathBuf>,
}

impl Default for Guest {
    fn default() -> Self {
        Self::new()
    }
}

impl Guest {
    /// A guest with busybox only.
    pub fn new() -> Self {
        Self {
            files: Vec::new(),
            scenarios: Vec::new(),
            memory_mib: 1024,
            boot_allowance: DEFAULT_BOOT_ALLOWANCE,
            boot_time_limit: None,
            kernel_arguments: Vec::new(),
            qemu: None,
        }
    }

    /// Executable `host` at guest path `guest`, with the shared libraries
    /// `ldd` lists for it (at their host paths).
    #[must_use]
    pub fn binary(mut self, host: impl AsRef<Path>, guest: &str) -> Self {
        self.files.push(GuestFile::Binary {
            host: host.as_ref().to_path_buf(),
            guest: guest.to_owned(),
        });
        self
    }

    /// A copy of host file `host` at guest path `guest`.
    #[must_use]
    pub fn file(mut self, host: impl AsRef<Path>, guest: &str) -> Self {
        self.files.push(GuestFile::File {
            host: host.as_ref().to_path_buf(),
            guest: guest.to_owned(),
        });
        self
    }

    /// `bytes` as guest file `guest` with permission bits `mode`.
    #[must_use]
    pub fn bytes(mut self, bytes: impl Into<Vec<u8>>, guest: &str, mode: u32) -> Self {
        self.files.push(GuestFile::Bytes {
            bytes: bytes.into(),
            guest: guest.to_owned(),
            mode,
        });
        self
    }

    /// Adds a scenario; scenarios run in the order they were added.
    #[must_use]
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenarios.push(scenario);
        self
    }

    /// Guest memory (default 1024 MiB; the initramfs lives in it).
    #[must_use]
    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.memory_mib = mib;
        self
    }

    /// The whole boot's limit; default: the scenarios' limits plus
    /// [`DEFAULT_BOOT_ALLOWANCE`].
    #[must_use]
    pub fn boot_time_limit(mut self, limit: Duration) -> Self {
        self.boot_time_limit = Some(limit);
        self
    }

    /// One more kernel command-line argument.
    #[must_use]
    pub fn kernel_argument(mut self, argument: &str) -> Self {
        self.kernel_arguments.push(argument.to_owned());
        self
    }

    /// The QEMU binary (default: `$TPC_VM_QEMU`, else `qemu-system-x86_64`
    /// on `PATH`).
    #[must_use]
    pub fn qemu(mut self, qemu: impl AsRef<Path>) -> Self {
        self.qemu = Some(qemu.as_ref().to_path_buf());
        self
    }

    /// The time limit this guest's boots run under.
    pub fn effective_boot_time_limit(&self) -> Duration {
        self.boot_time_limit.unwrap_or_else(|| {
            self.scenarios
                .iter()
                .map(|scenario| Duration::from_secs(scenario.limit_seconds()))
                .sum::<Duration>()
                + self.boot_allowance
        })
    }

    fn check_scenarios(&self) -> Result<(), VmError> {
        let mut seen = std::collections::BTreeSet::new();
        for scenario in &self.scenarios {
            let name = scenario.name.as_str();
            let plain = !name.is_empty()
                && !name.starts_with('.')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !plain {
                return Err(VmError::InvalidGuest {
                    reason: format!(
                        "scenario name `{name}`: use letters, digits, `-`, `_` and `.` only"
                    ),
                });
            }
            if !seen.insert(name) {
                return Err(VmError::InvalidGuest {
                    reason: format!("two scenarios are named `{name}`"),
                });
            }
        }
        Ok(())
    }

    /// The initramfs of this guest with results markers carrying `nonce`.
    fn initramfs(&self, nonce: &str, busybox: &Path) -> Result<Initramfs, VmError> {
        let mut image = Initramfs::new();
        image.add_binary("/bin/busybox", busybox)?;
        image.add_char_device("/dev/console", 5, 1, 0o600)?;
        for directory in ["/proc", "/sys", "/tmp", "/run", "/root", "/usr/local/bin"] {
            image.add_directory(directory)?;
        }
        for scenario in &self.scenarios {
            image.add_bytes(
                &format!("/tpc-vm/scenarios/{}", scenario.name),
                scenario.script.clone().into_bytes(),
                0o755,
            )?;
        }
        for file in &self.files {
            match file {
                GuestFile::Binary { host, guest } => image.add_binary(guest, host)?,
                GuestFile::File { host, guest } => image.add_file(guest, host)?,
                GuestFile::Bytes { bytes, guest, mode } => {
                    image.add_bytes(guest, bytes.clone(), *mode)?;
                }
            }
        }
        if image.contains("/init") {
            return Err(VmError::InvalidGuest {
                reason: "/init is the harness's own; put files elsewhere".to_owned(),
            });
        }
        image.add_bytes(
            "/init",
            init_script(nonce, &self.scenarios).into_bytes(),
            0o755,
        )?;
        Ok(image)
    }

    /// Boots `kernel`, runs every scenario in order, powers off, and returns
    /// what each scenario did. A boot that runs past its time limit, a
    /// kernel panic, and a guest that stops before reporting every scenario
    /// are errors, with the console log.
    pub fn boot(&self, kernel: &Kernel) -> Result<BootReport, VmError> {
        self.check_scenarios()?;
        let qemu = self.qemu_binary()?;
        let busybox = busybox_binary()?;
        let _one_at_a_time = ONE_BOOT_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let nonce = fresh_nonce();
        let run_dir = RunDir::new(&nonce)?;
        let initrd = run_dir.path.join("initrd.cpio");
        let image = self.initramfs(&nonce, &busybox)?;
        let mut archive = std::io::BufWriter::new(
            fs::File::create(&initrd).map_err(|error| VmError::io("creating", &initrd, error))?,
        );
        image.write_to(&mut archive)?;
        std::io::Write::flush(&mut archive)
            .map_err(|error| VmError::io("writing", &initrd, error))?;
        drop(archive);

        let console_log = run_dir.path.join("console.log");
        let results_log = run_dir.path.join("results.log");
        let qemu_log = run_dir.path.join("qemu.log");
        let qemu_output = fs::File::create(&qemu_log)
            .map_err(|error| VmError::io("creating", &qemu_log, error))?;
        let qemu_errors = qemu_output
            .try_clone()
            .map_err(|error| VmError::io("opening", &qemu_log, error))?;
        let mut command = Command::new(&qemu);
        command
            .args(self.qemu_arguments(kernel, &initrd, &console_log, &results_log))
            .stdin(Stdio::null())
            .stdout(qemu_output)
            .stderr(qemu_errors);
        let limit = self.effective_boot_time_limit();
        let started = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|error| VmError::io("starting", &qemu, error))?;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() >= limit => {
                    timed_out = true;
                    let _ignored = child.kill();
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(error) => return Err(VmError::io("waiting for", &qemu, error)),
            }
        };
        let wall = started.elapsed();
        let console = read_lossy(&console_log);
        let transcript = parse_transcript(&read_lossy(&results_log), &nonce, |name| {
            self.scenarios
                .iter()
                .find(|scenario| scenario.name == name)
                .map_or(DEFAULT_SCENARIO_LIMIT, |scenario| {
                    Duration::from_secs(scenario.limit_seconds())
                })
        });
        self.judge(
            kernel, status, timed_out, limit, wall, console, &qemu_log, transcript,
        )
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the pieces of a finished boot"
    )]
    fn judge(
        &self,
        kernel: &Kernel,
        status: Option<std::process::ExitStatus>,
        timed_out: bool,
        limit: Duration,
        wall: Duration,
        console: String,
        qemu_log: &Path,
        transcript: Transcript,
    ) -> Result<BootReport, VmError> {
        let name = kernel.name();
        if timed_out {
            return Err(VmError::BootTimedOut {
                kernel: name,
                limit,
                progress: transcript.progress(),
                console,
            });
        }
        if console.contains("Kernel panic") {
            return Err(VmError::KernelPanic {
                kernel: name,
                progress: transcript.progress(),
                console,
            });
        }
        let exited_badly = !status.is_some_and(|status| status.success());
        if exited_badly && !transcript.started {
            return Err(VmError::Qemu {
                status: status.map_or_else(|| "killed".to_owned(), |status| status.to_string()),
                stderr: read_lossy(qemu_log).trim().to_owned(),
                console,
            });
        }
        let missing: Vec<String> = self
            .scenarios
            .iter()
            .filter(|scenario| {
                !transcript
                    .results
                    .iter()
                    .any(|result| result.name == scenario.name)
            })
            .map(|scenario| scenario.name.clone())
            .collect();
        if !missing.is_empty() || !transcript.done {
            let mut missing = missing;
            if missing.is_empty() {
                missing.push("its end".to_owned());
            }
            return Err(VmError::MissingResults {
                kernel: name,
                missing,
                progress: transcript.progress(),
                console,
            });
        }
        Ok(BootReport {
            kernel: name,
            wall,
            console,
            setup_output: transcript.setup_output,
            results: transcript.results,
        })
    }

    fn qemu_binary(&self) -> Result<PathBuf, VmError> {
        let wanted = self
            .qemu
            .clone()
            .or_else(|| std::env::var_os("TPC_VM_QEMU").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64"));
        find_on_path(&wanted.to_string_lossy()).ok_or_else(|| VmError::Missing {
            piece: wanted.display().to_string(),
            help: "install it with `apt-get install qemu-system-x86` (scripts/setup-debian.sh does), or set TPC_VM_QEMU".to_owned(),
        })
    }

    fn qemu_arguments(
        &self,
        kernel: &Kernel,
        initrd: &Path,
        console_log: &Path,
        results_log: &Path,
    ) -> Vec<String> {
        let accel = std::env::var("TPC_VM_ACCEL").unwrap_or_else(|_| "tcg".to_owned());
        let mut append = String::from("console=ttyS0 quiet lsm=lockdown,yama,bpf panic=-1");
        for argument in &self.kernel_arguments {
            append.push(' ');
            append.push_str(argument);
        }
        // QEMU option values double a literal comma
        let option_path = |path: &Path| path.display().to_string().replace(',', ",,");
        [
            "-accel",
            &accel,
            "-cpu",
            "max",
            "-smp",
            "1",
            "-m",
            &self.memory_mib.to_string(),
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
            "-serial",
            &format!("file:{}", option_path(console_log)),
            "-serial",
            &format!("file:{}", option_path(results_log)),
            "-kernel",
            &kernel.vmlinuz.display().to_string(),
            "-initrd",
            &initrd.display().to_string(),
            "-append",
            &append,
        ]
        .iter()
        .map(|argument| (*argument).to_owned())
        .collect()
    }
}

/// The static busybox to put into the guest: `$TPC_VM_BUSYBOX`, else the
/// one Debian's `busybox-static` installs.
fn busybox_binary() -> Result<PathBuf, VmError> {
    if let Some(chosen) = std::env::var_os("TPC_VM_BUSYBOX").filter(|value| !value.is_empty()) {
        let chosen = PathBuf::from(chosen);
        return if chosen.is_file() {
            Ok(chosen)
        } else {
            Err(VmError::Missing {
                piece: format!("busybox at {} (TPC_VM_BUSYBOX)", chosen.display()),
                help: "no such file".to_owned(),
            })
        };
    }
    ["/usr/bin/busybox", "/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .ok_or_else(|| VmError::Missing {
            piece: "busybox".to_owned(),
            help: "install it with `apt-get install busybox-static` (scripts/setup-debian.sh does), or set TPC_VM_BUSYBOX".to_owned(),
        })
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// A marker nonce no scenario output will contain by chance.
fn fresh_nonce() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let mixed = nanos ^ (u128::from(std::process::id()) << 64);
    format!(
        "{:016x}",
        (mixed as u64) ^ ((mixed >> 64) as u64).rotate_left(17)
    )
}

/// The per-boot directory (initrd, console and results logs), removed after
/// the boot unless `TPC_VM_KEEP` is set.
struct RunDir {
    path: PathBuf,
}

impl RunDir {
    fn new(nonce: &str) -> Result<Self, VmError> {
        let path = std::env::temp_dir().join(format!("tpc-vm-{}-{nonce}", std::process::id()));
        fs::create_dir_all(&path).map_err(|error| VmError::io("creating", &path, error))?;
        Ok(Self { path })
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if std::env::var_os("TPC_VM_KEEP").is_some() {
            eprintln!("vm: kept this boot's files in {}", self.path.display());
        } else {
            let _ignored = fs::remove_dir_all(&self.path);
        }
    }
}

/// What the guest mounts, in order: (type, mount point).
pub const GUEST_MOUNTS: &[(&str, &str)] = &[
    ("sysfs", "/sys"),
    ("tmpfs", "/tmp"),
    ("tmpfs", "/run"),
    ("devpts", "/dev/pts"),
    ("securityfs", "/sys/kernel/security"),
    ("bpf", "/sys/fs/bpf"),
    ("tracefs", "/sys/kernel/tracing"),
    ("debugfs", "/sys/kernel/debug"),
    ("cgroup2", "/sys/fs/cgroup"),
];

/// The guest's `/init`: mounts, opens the results port, runs each scenario
/// under its limit, writes the markers `report` parses, powers off.
fn init_script(nonce: &str, scenarios: &[Scenario]) -> String {
    let prefix = marker_prefix(nonce);
    let marker = prefix.trim_start_matches('\n');
    let mut script = format!(
        r#"#!/bin/busybox sh
# The init of a tpc VM test guest, written by tests/src/vm/guest.rs.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /dev
/bin/busybox --install -s /bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
hostname tpc-vm 2>/dev/null
mount -t proc proc /proc 2>/dev/null; proc_status=$?
mount -t devtmpfs devtmpfs /dev 2>/dev/null; dev_status=$?
if [ -c /dev/ttyS1 ]; then
  stty -F /dev/ttyS1 raw -echo 2>/dev/null
  exec 3>/dev/ttyS1
else
  echo "tpc-vm: no /dev/ttyS1; results go to the console" >/dev/console
  exec 3>/dev/console
fi
mark() {{ printf '\n{marker}%s\n' "$1" >&3; }}
mark setup
[ "$proc_status" = 0 ] || echo "mounting proc on /proc failed" >&3
[ "$dev_status" = 0 ] || echo "mounting devtmpfs on /dev failed" >&3
try_mount() {{
  mkdir -p "$2" 2>/dev/null
  mount -t "$1" "$1" "$2" >&3 2>&3 || echo "mounting $1 on $2 failed" >&3
}}
"#
    );
    for (kind, target) in GUEST_MOUNTS {
        script.push_str(&format!("try_mount {kind} {target}\n"));
    }
    script.push_str(
        r#"ip link set lo up >&3 2>&3 || echo "bringing up lo failed" >&3
ulimit -l unlimited 2>/dev/null
mkdir -p /tmp/tpc-vm
mark ready
run_scenario() {
  name=$1
  mkdir -p "/tmp/tpc-vm/$name"
  read up rest </proc/uptime
  mark "begin:$name:$up"
  (
    cd "/tmp/tpc-vm/$name" || exit 125
    export TPC_VM_SCENARIO="$name"
    exec setsid sh -e "/tpc-vm/scenarios/$name"
  ) </dev/null >&3 2>&3 &
  pid=$!
  (
    sleep "$2"
    if kill -0 "$pid" 2>/dev/null; then
      : >"/tmp/tpc-vm/$name.timeout"
      kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid"
    fi
  ) </dev/null >/dev/null 2>&1 &
  watchdog=$!
  wait "$pid"
  status=$?
  kill "$watchdog" 2>/dev/null
  kill -s KILL -- "-$pid" 2>/dev/null
  [ -e "/tmp/tpc-vm/$name.timeout" ] && status=timeout
  read up rest </proc/uptime
  mark "end:$name:$status:$up"
}
"#,
    );
    for scenario in scenarios {
        script.push_str(&format!(
            "run_scenario {} {}\n",
            scenario.name,
            scenario.limit_seconds()
        ));
    }
    script.push_str(
        r#"mark done
exec 3>&-
sync
poweroff -f
echo o >/proc/sysrq-trigger
reboot -f
sleep 3600
"#,
    );
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_limit_rounds_up_to_whole_seconds_at_least_one() {
        let limit = |millis| {
            Scenario::new("a", "true")
                .time_limit(Duration::from_millis(millis))
                .limit_seconds()
        };
        assert_eq!(limit(0), 1);
        assert_eq!(limit(1500), 2);
        assert_eq!(limit(3000), 3);
    }

    #[test]
    fn the_boot_limit_is_the_scenario_limits_plus_the_allowance() {
        let guest = Guest::new()
            .scenario(Scenario::new("a", "true").time_limit(Duration::from_secs(5)))
            .scenario(Scenario::new("b", "true").time_limit(Duration::from_secs(7)));
        assert_eq!(
            guest.effective_boot_time_limit(),
            Duration::from_secs(12) + DEFAULT_BOOT_ALLOWANCE
        );
        let fixed = guest.boot_time_limit(Duration::from_secs(3));
        assert_eq!(fixed.effective_boot_time_limit(), Duration::from_secs(3));
    }

    #[test]
    fn scenario_names_must_be_plain_and_unique() {
        let with = |names: &[&str]| {
            names
                .iter()
                .fold(Guest::new(), |guest, name| {
                    guest.scenario(Scenario::new(name, "true"))
                })
                .check_scenarios()
        };
        assert!(with(&["kernel", "probes-1", "a_b.c"]).is_ok());
        assert!(with(&["a b"]).is_err());
        assert!(with(&["a/b"]).is_err());
        assert!(with(&[""]).is_err());
        assert!(with(&[".hidden"]).is_err());
        assert!(with(&["same", "same"]).is_err());
    }

    #[test]
    fn the_init_script_runs_every_scenario_in_order_with_its_limit() {
        let scenarios = [
            Scenario::new("first", "true"),
            Scenario::new("second", "true").time_limit(Duration::from_secs(5)),
        ];
        let script = init_script("feedface", &scenarios);
        let first = script.find("run_scenario first 60\n");
        let second = script.find("run_scenario second 5\n");
        assert!(first.is_some() && second.is_some(), "{script}");
        assert!(first < second);
        assert!(script.contains("@@tpc-vm:feedface:%s"));
        assert!(script.find("mark done") > second);
    }
}
