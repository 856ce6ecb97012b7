//! Replay throughput: generates a JSON lines log of Tetragon-shaped events
//! (1,000,000 by default; `TPC_REPLAY_BENCH_COUNT` changes it), replays it
//! against a policy with the simulator (in process, and through the `tpc
//! replay` binary), and compares with `jq` doing the equivalent select on
//! the same file in the same run. Prints events per second and the ratio.
//! Skips the comparison, saying why, when `jq` is not installed.
//!
//! Run: `cargo bench -p tpc --bench replay`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tpc_events::{
    Capabilities, Capability, Container, Event, JsonInt, KprobeArgument, Pod, Process,
    ProcessKprobe, ProcessTracepoint, Timestamp,
};

const POLICY: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: etc-writes
spec:
  kprobes:
  - call: sys_write
    syscall: true
    args:
    - index: 0
      type: fd
    - index: 1
      type: char_buf
      sizeArgIndex: 3
    - index: 2
      type: size_t
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: [\"/etc/\"]
      matchBinaries:
      - operator: NotIn
        values: [\"/usr/bin/vi\"]
";

/// The same selection as the policy, for jq.
const JQ_FILTER: &str = r#"select(.process_kprobe.function_name == "__x64_sys_write" and (.process_kprobe.args[0].file_arg.path | startswith("/etc/")) and .process_kprobe.process.binary != "/usr/bin/vi")"#;

/// Deterministic pseudo-random numbers (a linear congruential generator).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
}

const BINARIES: &[&str] = &[
    "/usr/bin/vi",
    "/usr/bin/cat",
    "/usr/bin/python3",
    "/usr/sbin/nginx",
    "/bin/bash",
    "/usr/bin/curl",
];
const PATHS: &[&str] = &[
    "/etc/passwd",
    "/etc/hosts",
    "/tmp/build.log",
    "/var/log/nginx/access.log",
    "/etc/nginx/nginx.conf",
    "/dev/null",
];

fn process(numbers: &mut Numbers, pid: u32, nanos: i64) -> Process {
    let mut p = Process::new(
        format!("bm9kZS0xOjE3MDAwMDAwMDAwMDA6{pid}"),
        pid,
        numbers.pick(BINARIES),
    );
    p.uid = Some(JsonInt::new(0));
    p.cwd = Some("/srv/app/".into());
    p.arguments = Some(format!(
        "--config /srv/app/config-{}.yaml",
        numbers.next() % 100
    ));
    p.flags = Some("execve clone".into());
    p.start_time = Some(Timestamp::from_unix_nanos(nanos - 5_000_000_000));
    p.auid = Some(JsonInt::new(u32::MAX));
    p.parent_exec_id = Some(format!("bm9kZS0xOjE3MDAwMDAwMDAwMDA6{}", pid - 1));
    p.refcnt = Some(JsonInt::new(1));
    p.pod = Some(Box::new(Pod {
        namespace: Some("shop".into()),
        name: Some(format!("frontend-7d9f8c6b5-{}", pid % 97)),
        container: Some(Container {
            id: Some(
                "containerd://3f1c2a9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f"
                    .into(),
            ),
            name: Some("frontend".into()),
            pid: Some(JsonInt::new(pid % 1000)),
            ..Container::default()
        }),
        ..Pod::default()
    }));
    p
}

fn generate(path: &Path, count: usize) -> u64 {
    let mut numbers = Numbers(0x0513_u64);
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create the bench file"));
    let base = 1_700_000_000_000_000_000_i64;
    for i in 0..count {
        let pid = 2000 + (i as u32 % 20_000);
        let now = base + i as i64 * 1_000_003;
        let time = Timestamp::from_unix_nanos(now);
        let proc_ = process(&mut numbers, pid, now);
        let parent = {
            let mut p = process(&mut numbers, pid - 1, now);
            p.binary = Some("/bin/bash".into());
            p
        };
        let event = match numbers.next() % 10 {
            0 => {
                let mut p = proc_;
                let caps = vec![
                    Capability::Chown,
                    Capability::NetBindService,
                    Capability::Kill,
                ];
                p.cap = Some(Box::new(Capabilities {
                    permitted: Some(caps.clone()),
                    effective: Some(caps.clone()),
                    inheritable: Some(caps),
                    ..Capabilities::default()
                }));
                Event::process_exec(p, Some(parent), time)
            }
            1 => Event::process_exit(proc_, Some(parent), 0, None, time),
            2..=5 => {
                let path = numbers.pick(PATHS);
                Event::new(ProcessKprobe {
                    process: Some(proc_),
                    parent: Some(parent),
                    function_name: Some("__x64_sys_write".into()),
                    args: Some(vec![
                        KprobeArgument::file(path),
                        KprobeArgument::bytes(
                            b"127.0.0.1 localhost\n::1 localhost ip6-localhost\n",
                        ),
                        KprobeArgument::size(48),
                    ]),
                    ..ProcessKprobe::default()
                })
                .with_time(time)
            }
            6 | 7 => Event::new(ProcessKprobe {
                process: Some(proc_),
                parent: Some(parent),
                function_name: Some("__x64_sys_openat".into()),
                args: Some(vec![
                    KprobeArgument::int(-100),
                    KprobeArgument::string(numbers.pick(PATHS)),
                    KprobeArgument::int(0),
                ]),
                ..ProcessKprobe::default()
            })
            .with_time(time),
            _ => Event::new(ProcessTracepoint {
                process: Some(proc_),
                parent: Some(parent),
                subsys: Some("syscalls".into()),
                event: Some("sys_enter_openat".into()),
                args: Some(vec![
                    KprobeArgument::long(-100),
                    KprobeArgument::string(numbers.pick(PATHS)),
                    KprobeArgument::uint(0),
                ]),
                ..ProcessTracepoint::default()
            })
            .with_time(time),
        };
        event
            .with_node_name("node-1")
            .write_json_line(&mut out)
            .expect("write the bench file");
    }
    out.flush().expect("flush the bench file");
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Counts lines written.
struct LineCounter(usize);

impl Write for LineCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.iter().filter(|b| **b == b'\n').count();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// CPU seconds used by this process so far, all threads (`/proc/self/stat`,
/// user + system, in USER_HZ = 100 ticks); `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// One timed run: what it produced, wall and CPU time.
struct Run {
    name: &'static str,
    selected: usize,
    wall: Duration,
    cpu: Option<f64>,
}

fn timed(name: &'static str, f: impl FnOnce() -> usize) -> Run {
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let selected = f();
    let wall = start.elapsed();
    let cpu = cpu_before.zip(cpu_seconds()).map(|(a, b)| b - a);
    Run {
        name,
        selected,
        wall,
        cpu,
    }
}

/// The events crate alone, doing what the replay needs of it: summary of
/// every value, full parse (into the last event parsed, reusing it) of the
/// events the hook wants, writing the selected ones. The floor under the
/// simulator, on one thread.
fn events_only(path: &Path) -> usize {
    let mut reader = tpc_events::EventReader::open(path).expect("open the bench file");
    let mut out = std::io::BufWriter::with_capacity(1 << 16, LineCounter(0));
    let mut event = Event::new(ProcessKprobe::default());
    let mut line = Vec::new();
    while let Some((_, record)) = reader.next_record() {
        let Ok(record) = record else { continue };
        if record.summary().hook()
            == Some(tpc_events::Hook::Kprobe {
                function: "__x64_sys_write",
            })
        {
            if record.parse_into(&mut event).is_err() {
                continue;
            }
            let selected = event
                .args()
                .first()
                .and_then(|a| a.value.path())
                .is_some_and(|p| p.starts_with("/etc/"))
                && event.process().is_some_and(|p| p.binary() != "/usr/bin/vi");
            if selected {
                line.clear();
                event.append_json_line(&mut line);
                let _ = out.write_all(&line);
            }
        }
    }
    out.into_inner().map_or(0, |c| c.0)
}

/// The simulator in process: events posted.
fn replay_in_process(path: &Path, threads: tpc::sim::replay::Threads) -> usize {
    let parsed = tpc::front::parse_policies(tpc::span::FileId(0), POLICY);
    let policies: Vec<&tpc::ir::Policy> = parsed.policies.iter().collect();
    let options = tpc::sim::SimOptions {
        build_output: false,
        ..tpc::sim::SimOptions::default()
    };
    let mut sim = tpc::sim::Simulator::new(&policies, options);
    let file = std::fs::File::open(path).expect("open the bench file");
    let mut out = std::io::BufWriter::with_capacity(1 << 16, LineCounter(0));
    let mut malformed = Vec::new();
    tpc::sim::replay::replay_with(
        &mut sim,
        "bench",
        false,
        std::io::BufReader::with_capacity(1 << 16, file),
        &mut out,
        &tpc::sim::replay::Output::Events,
        tpc::sim::replay::OnMalformed::Fail,
        &mut malformed,
        threads,
    )
    .expect("replay");
    out.into_inner().map_or(0, |c| c.0)
}

/// Runs a command under bash, returning lines on stdout, wall time and the
/// children's CPU time (from bash's `times`).
fn timed_command(name: &'static str, command: &str, path: &Path) -> Result<Run, String> {
    let script = format!("{command} | wc -l; times");
    let start = Instant::now();
    let output = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("bash")
        .arg(path)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run bash: {e}"))?;
    let wall = start.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let selected: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| {
            format!(
                "{name} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })?;
    let cpu = lines
        .nth(1)
        .map(|line| line.split_whitespace().filter_map(minutes_seconds).sum());
    Ok(Run {
        name,
        selected,
        wall,
        cpu,
    })
}

/// `1m2.500s` as seconds.
fn minutes_seconds(text: &str) -> Option<f64> {
    let (minutes, seconds) = text.strip_suffix('s')?.split_once('m')?;
    Some(minutes.parse::<f64>().ok()? * 60.0 + seconds.parse::<f64>().ok()?)
}

fn jq_available() -> Result<(), String> {
    match Command::new("jq").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(_) => Err("jq --version failed".into()),
        Err(e) => Err(format!(
            "jq is not installed ({e}); scripts/setup-debian.sh installs it"
        )),
    }
}

fn bench_file() -> (PathBuf, bool) {
    match std::env::var_os("TPC_REPLAY_BENCH_FILE") {
        Some(path) => (PathBuf::from(path), true),
        None => (
            std::env::temp_dir().join(format!("tpc-replay-bench-{}.jsonl", std::process::id())),
            false,
        ),
    }
}

fn main() {
    let count: usize = std::env::var("TPC_REPLAY_BENCH_COUNT")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1_000_000);
    let (path, keep) = bench_file();
    let reuse = keep && path.exists();
    let bytes = if reuse {
        std::fs::metadata(&path).map_or(0, |m| m.len())
    } else {
        generate(&path, count)
    };
    let events = std::fs::read(&path)
        .map(|t| t.iter().filter(|b| **b == b'\n').count())
        .unwrap_or(count);
    println!(
        "replay bench: {events} events, {:.1} MB in {}; {} CPUs",
        bytes as f64 / 1e6,
        path.display(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let policy = std::env::temp_dir().join(format!("tpc-replay-bench-{}.yaml", std::process::id()));
    std::fs::write(&policy, POLICY).expect("write the policy");
    let tpc_command = format!(
        "{:?} replay -q {:?} \"$1\"",
        env!("CARGO_BIN_EXE_tpc"),
        policy
    );

    let mut runs = vec![
        timed("events crate alone (summary, parse, write)", || {
            events_only(&path)
        }),
        timed("simulator, one event reader", || {
            replay_in_process(&path, tpc::sim::replay::Threads::Sequential)
        }),
        timed("simulator, chunked, parallel workers", || {
            replay_in_process(&path, tpc::sim::replay::Threads::Auto)
        }),
    ];
    match timed_command("tpc replay (command)", &tpc_command, &path) {
        Ok(run) => runs.push(run),
        Err(e) => println!("tpc replay did not run: {e}"),
    }
    let jq = match jq_available() {
        Ok(()) => match timed_command("jq select", &format!("jq -c '{JQ_FILTER}' \"$1\""), &path) {
            Ok(run) => Some(run),
            Err(e) => {
                println!("skipping the jq comparison: {e}");
                None
            }
        },
        Err(reason) => {
            println!("skipping the jq comparison: {reason}");
            None
        }
    };
    let _ = std::fs::remove_file(&policy);
    let expected = runs[0].selected;
    println!(
        "{:<45} {:>9} {:>9} {:>9} {:>12} {:>11} {:>10}",
        "", "selected", "wall s", "CPU s", "events/s", "vs jq wall", "vs jq CPU"
    );
    for run in runs.iter().chain(jq.iter()) {
        assert_eq!(
            run.selected, expected,
            "{} selects {} events, the events crate alone {expected}",
            run.name, run.selected
        );
        let ratio_wall = jq.as_ref().map_or(String::from("-"), |j| {
            format!("{:.1}x", j.wall.as_secs_f64() / run.wall.as_secs_f64())
        });
        let ratio_cpu = match (jq.as_ref().and_then(|j| j.cpu), run.cpu) {
            (Some(j), Some(c)) if c > 0.0 => format!("{:.1}x", j / c),
            _ => "-".into(),
        };
        println!(
            "{:<45} {:>9} {:>9.3} {:>9} {:>12.0} {:>11} {:>10}",
            run.name,
            run.selected,
            run.wall.as_secs_f64(),
            run.cpu.map_or("-".into(), |c| format!("{c:.2}")),
            events as f64 / run.wall.as_secs_f64(),
            ratio_wall,
            ratio_cpu
        );
    }
    if !keep {
        let _ = std::fs::remove_file(&path);
    }
}
