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

use tpc_events::{Capabilities, Capability, Container, Event, JsonInt, KprobeArgument, Pod, Process, ProcessKprobe, ProcessTracepoint, Timestamp};

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
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
}

const BINARIES: &[&str] = &["/usr/bin/vi", "/usr/bin/cat", "/usr/bin/python3", "/usr/sbin/nginx", "/bin/bash", "/usr/bin/curl"];
const PATHS: &[&str] = &["/etc/passwd", "/etc/hosts", "/tmp/build.log", "/var/log/nginx/access.log", "/etc/nginx/nginx.conf", "/dev/null"];

fn process(numbers: &mut Numbers, pid: u32, nanos: i64) -> Process {
    let mut p = Process::new(format!("bm9kZS0xOjE3MDAwMDAwMDAwMDA6{pid}"), pid, numbers.pick(BINARIES));
    p.uid = Some(JsonInt::new(0));
    p.cwd = Some("/srv/app/".into());
    p.arguments = Some(format!("--config /srv/app/config-{}.yaml", numbers.next() % 100));
    p.flags = Some("execve clone".into());
    p.start_time = Some(Timestamp::from_unix_nanos(nanos - 5_000_000_000));
    p.auid = Some(JsonInt::new(u32::MAX));
    p.parent_exec_id = Some(format!("bm9kZS0xOjE3MDAwMDAwMDAwMDA6{}", pid - 1));
    p.refcnt = Some(JsonInt::new(1));
    p.pod = Some(Box::new(Pod {
        namespace: Some("shop".into()),
        name: Some(format!("frontend-7d9f8c6b5-{}", pid % 97)),
        container: Some(Container {
            id: Some("containerd://3f1c2a9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f".into()),
            name: Some("frontend".into()),
            pid: Some(JsonInt::new(pid % 1000)),
            ..Container::default()
        }),
        ..Pod::default()
    }));
    p
}

fn generate(path: &Path, count: usize) -> u64 {
    let mut numbers = Numbers(0x51_3u64);
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
                let caps = vec![Capability::Chown, Capability::NetBindService, Capability::Kill];
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
                        KprobeArgument::bytes(b"127.0.0.1 localhost\n::1 localhost ip6-localhost\n"),
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
                args: Some(vec![KprobeArgument::int(-100), KprobeArgument::string(numbers.pick(PATHS)), KprobeArgument::int(0)]),
                ..ProcessKprobe::default()
            })
            .with_time(time),
            _ => Event::new(ProcessTracepoint {
                process: Some(proc_),
                parent: Some(parent),
                subsys: Some("syscalls".into()),
                event: Some("sys_enter_openat".into()),
                args: Some(vec![KprobeArgument::long(-100), KprobeArgument::string(numbers.pick(PATHS)), KprobeArgument::uint(0)]),
                ..ProcessTracepoint::default()
            })
            .with_time(time),
        };
        event.with_node_name("node-1").write_json_line(&mut out).expect("write the bench file");
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

/// The simulator in process: events posted, wall time.
fn replay_in_process(path: &Path) -> (usize, u64, Duration) {
    let start = Instant::now();
    let parsed = tpc::front::parse_policies(tpc::span::FileId(0), POLICY);
    let policies: Vec<&tpc::ir::Policy> = parsed.policies.iter().collect();
    let mut sim = tpc::sim::Simulator::new(&policies, tpc::sim::SimOptions::default());
    let file = std::fs::File::open(path).expect("open the bench file");
    let mut out = std::io::BufWriter::with_capacity(1 << 16, LineCounter(0));
    let mut malformed = Vec::new();
    tpc::sim::replay::replay(
        &mut sim,
        "bench",
        false,
        std::io::BufReader::with_capacity(1 << 16, file),
        &mut out,
        &tpc::sim::replay::Output::Events,
        tpc::sim::replay::OnMalformed::Fail,
        &mut malformed,
    )
    .expect("replay");
    let posted = out.into_inner().map_or(0, |c| c.0);
    (posted, sim.totals().events, start.elapsed())
}

/// `tpc replay` as a command: lines written, wall time.
fn replay_binary(path: &Path) -> Option<(usize, Duration)> {
    let policy = std::env::temp_dir().join(format!("tpc-replay-bench-{}.yaml", std::process::id()));
    std::fs::write(&policy, POLICY).ok()?;
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_tpc"))
        .args(["replay", "-q"])
        .arg(&policy)
        .arg(path)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let wall = start.elapsed();
    let _ = std::fs::remove_file(&policy);
    output.status.success().then(|| (output.stdout.iter().filter(|b| **b == b'\n').count(), wall))
}

/// `jq -c` selecting the same events: lines written, wall time. `None`
/// with the reason when jq cannot run.
fn jq(path: &Path) -> Result<(usize, Duration), String> {
    let start = Instant::now();
    let output = Command::new("jq")
        .arg("-c")
        .arg(JQ_FILTER)
        .arg(path)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run jq ({e}); install it (scripts/setup-debian.sh does)"))?;
    let wall = start.elapsed();
    if !output.status.success() {
        return Err(format!("jq failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok((output.stdout.iter().filter(|b| **b == b'\n').count(), wall))
}

fn bench_file() -> (PathBuf, bool) {
    match std::env::var_os("TPC_REPLAY_BENCH_FILE") {
        Some(path) => (PathBuf::from(path), true),
        None => (std::env::temp_dir().join(format!("tpc-replay-bench-{}.jsonl", std::process::id())), false),
    }
}

fn main() {
    let count: usize = std::env::var("TPC_REPLAY_BENCH_COUNT").ok().and_then(|t| t.parse().ok()).unwrap_or(1_000_000);
    let (path, keep) = bench_file();
    let reuse = keep && path.exists();
    let bytes = if reuse { std::fs::metadata(&path).map_or(0, |m| m.len()) } else { generate(&path, count) };
    println!("replay bench: {count} events, {:.1} MB in {}", bytes as f64 / 1e6, path.display());

    // Warm the page cache.
    let _ = std::fs::read(&path);
    let (posted, events, wall) = replay_in_process(&path);
    let rate = events as f64 / wall.as_secs_f64();
    println!(
        "tpc simulator (in process): {events} events, {posted} posted, {:.3} s = {:.0} events/s ({:.0} MB/s)",
        wall.as_secs_f64(),
        rate,
        bytes as f64 / 1e6 / wall.as_secs_f64()
    );
    let binary = replay_binary(&path);
    if let Some((lines, bin_wall)) = binary {
        println!(
            "tpc replay (command): {lines} events written, {:.3} s = {:.0} events/s",
            bin_wall.as_secs_f64(),
            events as f64 / bin_wall.as_secs_f64()
        );
        assert_eq!(lines, posted, "the command and the library disagree");
    }
    match jq(&path) {
        Ok((selected, jq_wall)) => {
            println!(
                "jq select: {selected} events, {:.3} s = {:.0} events/s",
                jq_wall.as_secs_f64(),
                events as f64 / jq_wall.as_secs_f64()
            );
            assert_eq!(selected, posted, "jq and the simulator select different events");
            println!("ratio (jq time / tpc time): in process {:.1}x", jq_wall.as_secs_f64() / wall.as_secs_f64());
            if let Some((_, bin_wall)) = binary {
                println!("ratio (jq time / tpc time): command    {:.1}x", jq_wall.as_secs_f64() / bin_wall.as_secs_f64());
            }
        }
        Err(reason) => println!("skipping the jq comparison: {reason}"),
    }
    if !keep {
        let _ = std::fs::remove_file(&path);
    }
}
