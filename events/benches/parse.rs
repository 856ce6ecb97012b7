//! Parse throughput: writes a generated JSON lines file of Tetragon-shaped
//! events (200,000 by default; `TPC_EVENTS_BENCH_COUNT` changes it), reads it
//! back with `EventReader`, prints events/s, compares with `jq` doing a
//! `select` on the same file when `jq` is installed, then runs a criterion
//! benchmark on a slice of the file. `TPC_EVENTS_BENCH_FILE=path` keeps the
//! generated file there.
//!
//! Run: `cargo bench -p tpc-events --bench parse`.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tpc_events::{
    Capabilities, Capability, Container, Event, EventReader, Hook, Image, JsonInt, KprobeAction,
    KprobeArgument, Pod, Process, ProcessKprobe, ProcessTracepoint, Timestamp,
};

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
}

const BINARIES: &[&str] = &[
    "/usr/bin/cat",
    "/usr/bin/curl",
    "/bin/bash",
    "/usr/sbin/nginx",
    "/usr/bin/python3",
];

fn process(numbers: &mut Numbers, pid: u32, start_nanos: i64) -> Process {
    let binary = BINARIES[numbers.next() as usize % BINARIES.len()];
    let mut process = Process::new(
        format!("bm9kZS0xOjE2NDI2MDk3NDE4NjEwMDA6{pid}"),
        pid,
        binary,
    );
    process.uid = Some(JsonInt::new(0));
    process.cwd = Some("/usr/share/elasticsearch/".into());
    process.arguments = Some(format!("--flag {} /var/log/app-{pid}.log", numbers.next()));
    process.flags = Some("execve clone".into());
    process.start_time = Some(Timestamp::from_unix_nanos(start_nanos));
    process.auid = Some(JsonInt::new(u32::MAX));
    process.docker = Some("86eb9e29a77d432afc7a15b4".into());
    process.parent_exec_id = Some(format!("bm9kZS0xOjE2NDI2MDk3NDE4NjAwMDA6{}", pid - 1));
    process.refcnt = Some(JsonInt::new(1));
    process.pod = Some(Box::new(Pod {
        namespace: Some("tenant-jobs".into()),
        name: Some("elasticsearch-56f8fc6988-pb8c7".into()),
        container: Some(Container {
            id: Some("docker://86eb9e29a77d432afc7a15b424db1d24a382f3caae26f860ab22df8cb5e96054".into()),
            name: Some("elasticsearch".into()),
            image: Some(Image {
                id: Some("quay.io/example/elasticsearch@sha256:ff3aa5862fd17f8695984609743f4523188984adbcd25cf5ac4224b71084558c".into()),
                name: Some("quay.io/example/elasticsearch:latest".into()),
                ..Image::default()
            }),
            start_time: Some(Timestamp::from_unix_nanos(start_nanos - 60_000_000_000)),
            pid: Some(JsonInt::new(pid % 1000)),
            ..Container::default()
        }),
        ..Pod::default()
    }));
    process
}

fn generate_events(path: &Path, count: usize) -> u64 {
    let mut numbers = Numbers(0x5eed);
    let mut out = BufWriter::new(File::create(path).expect("create the bench file"));
    let base_nanos = 1_700_000_000_000_000_000_i64;
    for index in 0..count {
        let pid = 1000 + (index as u32 % 30_000);
        let now = base_nanos + index as i64 * 1_000_003;
        let process = process(&mut numbers, pid, now - 5_000_000);
        let parent = process_parent(&mut numbers, pid, now);
        let time = Timestamp::from_unix_nanos(now);
        let event = match index % 4 {
            0 => Event::process_exec(
                {
                    let mut process = process;
                    let caps = vec![
                        Capability::Chown,
                        Capability::DacOverride,
                        Capability::Kill,
                        Capability::NetRaw,
                    ];
                    process.cap = Some(Box::new(Capabilities {
                        permitted: Some(caps.clone()),
                        effective: Some(caps.clone()),
                        inheritable: Some(caps),
                        ..Capabilities::default()
                    }));
                    process
                },
                Some(parent),
                time,
            ),
            1 => Event::process_exit(process, Some(parent), 0, None, time),
            2 => {
                let function = if numbers.next().is_multiple_of(2) {
                    "__x64_sys_openat"
                } else {
                    "__x64_sys_write"
                };
                let mut event = Event::new(ProcessKprobe {
                    process: Some(process),
                    parent: Some(parent),
                    function_name: Some(function.into()),
                    args: Some(vec![
                        KprobeArgument::int(-100),
                        KprobeArgument::file("/etc/passwd").with_label("file"),
                        KprobeArgument::bytes(b"root:x:0:0:root:/root:/bin/bash\n"),
                        KprobeArgument::size(627),
                    ]),
                    ..ProcessKprobe::default()
                })
                .with_time(time);
                event
                    .set_policy_name("file-monitoring")
                    .expect("kprobe has policy_name");
                event
                    .set_action(KprobeAction::Post)
                    .expect("kprobe has action");
                event
            }
            _ => {
                let mut event = Event::new(ProcessTracepoint {
                    process: Some(process),
                    parent: Some(parent),
                    subsys: Some("syscalls".into()),
                    event: Some("sys_enter_openat".into()),
                    args: Some(vec![
                        KprobeArgument::long(-100),
                        KprobeArgument::string("/etc/shadow"),
                        KprobeArgument::uint(0),
                    ]),
                    ..ProcessTracepoint::default()
                })
                .with_time(time);
                event
                    .set_policy_name("openat")
                    .expect("tracepoint has policy_name");
                event
            }
        };
        event
            .with_node_name("node-1")
            .write_json_line(&mut out)
            .expect("write the bench file");
    }
    out.flush().expect("flush the bench file");
    std::fs::metadata(path)
        .map(|metadata| metadata.len())
        .unwrap_or(0)
}

fn process_parent(numbers: &mut Numbers, pid: u32, now: i64) -> Process {
    let mut parent = process(numbers, pid.saturating_sub(1).max(1), now - 9_000_000_000);
    parent.binary = Some("/bin/bash".into());
    parent
}

/// A full replay: every event decoded, then what the simulator looks at.
fn replay_all(path: &Path) -> (usize, usize) {
    let mut events = 0;
    let mut openat_hooks = 0;
    for (position, result) in EventReader::open(path).expect("open the bench file") {
        let event = result.unwrap_or_else(|error| panic!("{position}: {error}"));
        events += 1;
        if let Some(Hook::Kprobe {
            function: "__x64_sys_openat",
        }) = event.hook()
        {
            openat_hooks += usize::from(event.process().and_then(Process::pid).is_some());
        }
        black_box(event.args().len());
    }
    (events, openat_hooks)
}

/// A selective replay, as the simulator does for a policy hooking one
/// function: summarise each record, decode only those the hook matches.
fn replay_selected(path: &Path) -> (usize, usize) {
    let mut reader = EventReader::open(path).expect("open the bench file");
    let mut events = 0;
    let mut openat_hooks = 0;
    while let Some((position, record)) = reader.next_record() {
        let record = record.unwrap_or_else(|error| panic!("{position}: {error}"));
        events += 1;
        if let Some(Hook::Kprobe {
            function: "__x64_sys_openat",
        }) = record.summary().hook()
        {
            let event = record
                .parse()
                .unwrap_or_else(|error| panic!("{position}: {error}"));
            openat_hooks += usize::from(event.process().and_then(Process::pid).is_some());
            black_box(event.args().len());
        }
    }
    (events, openat_hooks)
}

/// CPU time of this process so far (Linux), so that other load on the
/// machine does not count; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let schedstat = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    let nanos: f64 = schedstat.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}

/// Runs a replay, returning its result, wall time and CPU time.
fn timed(
    replay: impl Fn(&Path) -> (usize, usize),
    path: &Path,
) -> ((usize, usize), Duration, Option<f64>) {
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let result = replay(path);
    let wall = start.elapsed();
    let cpu = cpu_before
        .zip(cpu_seconds())
        .map(|(before, after)| after - before);
    (result, wall, cpu)
}

/// Runs `jq` doing a select on the file: wall time, CPU time (user + system,
/// from bash's `times` builtin) and how many events it selected.
fn time_jq(path: &Path) -> Option<(Duration, Option<f64>, usize)> {
    let script = r#"jq -c 'select(.process_kprobe.function_name == "__x64_sys_openat")' "$1" | wc -l; times"#;
    let start = Instant::now();
    let output = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("bash")
        .arg(path)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let wall = start.elapsed();
    if !output.status.success() {
        return None;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let selected = lines.next()?.trim().parse().ok()?;
    // `times` prints the shell's then its children's user and system time.
    let children = lines.nth(1).map(|line| {
        line.split_whitespace()
            .filter_map(parse_minutes_seconds)
            .sum()
    });
    Some((wall, children, selected))
}

/// `1m2.500s` as seconds.
fn parse_minutes_seconds(text: &str) -> Option<f64> {
    let (minutes, seconds) = text.strip_suffix('s')?.split_once('m')?;
    Some(minutes.parse::<f64>().ok()? * 60.0 + seconds.parse::<f64>().ok()?)
}

/// Where to write the events: `TPC_EVENTS_BENCH_FILE` (kept afterwards, for
/// profiling with the `replay` example), else a temporary file (removed).
fn bench_file() -> (PathBuf, bool) {
    match std::env::var_os("TPC_EVENTS_BENCH_FILE") {
        Some(path) => (PathBuf::from(path), true),
        None => (
            std::env::temp_dir().join(format!("tpc-events-bench-{}.jsonl", std::process::id())),
            false,
        ),
    }
}

fn main() {
    let count: usize = std::env::var("TPC_EVENTS_BENCH_COUNT")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(200_000);
    let (path, keep_file) = bench_file();
    let bytes = generate_events(&path, count);
    println!(
        "generated {count} events, {:.1} MB, in {}",
        bytes as f64 / 1e6,
        path.display()
    );

    // Warm the page cache, then time the replays.
    let _ = replay_all(&path);
    let report = |name: &str, (events, _): (usize, usize), wall: Duration, cpu: Option<f64>| {
        let cpu_text = cpu.map_or(String::new(), |cpu| {
            format!(", {cpu:.3} s CPU = {:.0} events/s", events as f64 / cpu)
        });
        println!(
            "{name}: {events} events in {:.3} s wall = {:.0} events/s, {:.0} MB/s{cpu_text}",
            wall.as_secs_f64(),
            events as f64 / wall.as_secs_f64(),
            bytes as f64 / 1e6 / wall.as_secs_f64(),
        );
    };
    let (all, all_wall, all_cpu) = timed(replay_all, &path);
    report("tpc-events, every event decoded", all, all_wall, all_cpu);
    let (selected, selected_wall, selected_cpu) = timed(replay_selected, &path);
    report(
        "tpc-events, summary then decode the selected",
        selected,
        selected_wall,
        selected_cpu,
    );
    assert_eq!(all, selected, "both replays see the same events");
    assert_eq!(all.0, count);
    match time_jq(&path) {
        Some((jq_wall, jq_cpu, jq_selected)) => {
            assert_eq!(
                jq_selected, all.1,
                "jq and tpc-events disagree on the selection"
            );
            let ratio = |ours: f64, theirs: f64| theirs / ours;
            println!(
                "jq select ({jq_selected} selected): {:.3} s wall{}",
                jq_wall.as_secs_f64(),
                jq_cpu.map_or(String::new(), |cpu| format!(", {cpu:.3} s CPU"))
            );
            println!(
                "speed-up over jq, wall: every event decoded {:.1}x, summary + selected {:.1}x",
                ratio(all_wall.as_secs_f64(), jq_wall.as_secs_f64()),
                ratio(selected_wall.as_secs_f64(), jq_wall.as_secs_f64()),
            );
            if let (Some(jq_cpu), Some(all_cpu), Some(selected_cpu)) =
                (jq_cpu, all_cpu, selected_cpu)
            {
                println!(
                    "speed-up over jq, CPU:  every event decoded {:.1}x, summary + selected {:.1}x",
                    ratio(all_cpu, jq_cpu),
                    ratio(selected_cpu, jq_cpu),
                );
            }
        }
        None => println!("jq not found: no comparison"),
    }

    // Criterion on the first 10,000 lines, parsed from memory.
    let mut text = Vec::new();
    let mut file = BufReader::new(File::open(&path).expect("open the bench file"));
    for _ in 0..10_000 {
        if file
            .read_until(b'\n', &mut text)
            .expect("read the bench file")
            == 0
        {
            break;
        }
    }
    if !keep_file {
        let _ = std::fs::remove_file(&path);
    }
    let slice = &text[..];
    let lines = slice.iter().filter(|byte| **byte == b'\n').count();
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("parse");
    group.throughput(Throughput::Elements(lines as u64));
    group.bench_function("event_reader_summaries", |bencher| {
        bencher.iter(|| {
            let mut reader = EventReader::new(black_box(slice));
            let mut count = 0;
            while let Some((_, record)) = reader.next_record() {
                count += usize::from(record.is_ok());
            }
            count
        })
    });
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("parse");
    group.throughput(Throughput::Elements(lines as u64));
    group.bench_function("event_reader_jsonl", |bencher| {
        bencher.iter(|| {
            EventReader::new(black_box(slice))
                .filter(|(_, result)| result.is_ok())
                .count()
        })
    });
    let events: Vec<Event> = EventReader::new(slice)
        .filter_map(|(_, result)| result.ok())
        .take(1000)
        .collect();
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("event_to_json_line", |bencher| {
        bencher.iter(|| {
            events
                .iter()
                .map(|event| event.to_json_line().len())
                .sum::<usize>()
        })
    });
    group.finish();
    criterion.final_summary();
}
