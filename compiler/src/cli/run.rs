//! `tpc run`: loads the sensor, loads policy bundles into the kernel (tracepoint and raw tracepoint hooks filter and enforce there), and streams process and policy events as Tetragon JSON lines or compact lines until SIGINT/SIGTERM.

use std::{
    fs::OpenOptions,
    io::{self, BufWriter, Write},
    path::PathBuf,
    sync::atomic::Ordering,
    time::Duration,
};

use clap::{Args, ValueEnum};
use tpc_runtime::{
    BaseSensor, CgroupBinding, RuntimeError, SensorEvent, SensorOptions, policies, stop_on_signals,
};

/// How events are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One Tetragon JSON export object per line.
    Json,
    /// One line per event with an emoji, like `tetra getevents -o compact`.
    Compact,
}

/// Arguments of `tpc run`.
///
/// What runs in the kernel: the base sensor (process exec, fork, exit)
/// always; with bundles (`tpc build`), their tracepoint and raw tracepoint
/// hooks, which filter (matchArgs, matchBinaries, matchParentBinaries,
/// matchPIDs, matchNamespaces, matchCapabilities and the change filters)
/// and act (Post with rateLimit, NoPost, Sigkill, Signal) in the kernel.
/// Several bundles share one program per hooked point. Kprobes, uprobes,
/// LSM and fentry hooks, Override and the network actions are not lowered
/// yet (`tpc build` refuses them).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Policy bundles to load (`tpc build`); none runs the base sensor alone.
    pub bundles: Vec<PathBuf>,
    /// Run only bundles signed by this ed25519 public key (`tpc keygen`;
    /// repeatable): unsigned or foreign bundles are refused.
    #[arg(long, value_name = "PUBKEY")]
    pub trust: Vec<PathBuf>,
    /// Apply policy NAME only to processes in cgroup PATH (cgroup v2, relative
    /// to its mount, e.g. system.slice/nginx.service) and its descendants;
    /// repeatable. Replaces the policy's own scope.
    #[arg(long, value_name = "NAME=PATH")]
    pub cgroup: Vec<String>,
    /// Format of the events on stdout.
    #[arg(long, short = 'o', value_enum, default_value = "json")]
    pub output: OutputFormat,
    /// Also append every event as a JSON line to this file.
    #[arg(long)]
    pub output_file: Option<PathBuf>,
    /// Node name in events and exec ids (default: the host name).
    #[arg(long)]
    pub node_name: Option<String>,
    /// Ring buffer size in bytes (power of two, multiple of the page size).
    #[arg(long)]
    pub ring_buffer_bytes: Option<u32>,
    /// Do not seed processes already running from /proc.
    #[arg(long)]
    pub no_proc_seed: bool,
    /// Stop by itself after this many seconds.
    #[arg(long)]
    pub duration: Option<f64>,
}

/// Errors of `tpc run`.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read bundle {path}", path = path.display())]
    ReadBundle {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("bundle {path} refused", path = path.display())]
    Bundle {
        path: PathBuf,
        #[source]
        source: tpc_bundle::BundleError,
    },
    #[error("bundle {path} not loaded; nothing of it stays in the kernel", path = path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: RuntimeError,
    },
    #[error("cannot read trusted key {path}: {reason}", path = path.display())]
    Key { path: PathBuf, reason: String },
    #[error("--cgroup takes NAME=PATH, not `{text}`")]
    BadCgroup { text: String },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("cannot open output file {path}", path = path.display())]
    OutputFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write events")]
    Write {
        #[source]
        source: io::Error,
    },
    #[error("--duration must be a non-negative number of seconds, not {seconds}")]
    BadDuration { seconds: f64 },
}

/// Runs the sensor until SIGINT/SIGTERM (or `--duration`), printing events;
/// the run summary (and any lost records) goes to stderr at the end.
/// Reads and verifies the bundles (digest, signature, trust) before
/// anything is loaded.
fn read_bundles(args: &RunArgs) -> Result<Vec<(PathBuf, tpc_bundle::VerifiedBundle)>, RunError> {
    let trusted = trusted_keys(args)?;
    args.bundles
        .iter()
        .map(|path| Ok((path.clone(), read_bundle(path, &trusted)?)))
        .collect()
}

/// Reads and verifies one bundle.
fn read_bundle(
    path: &std::path::Path,
    trusted: &[tpc_bundle::file::VerifyingKey],
) -> Result<tpc_bundle::VerifiedBundle, RunError> {
    let bytes = std::fs::read(path).map_err(|source| RunError::ReadBundle {
        path: path.to_path_buf(),
        source,
    })?;
    tpc_bundle::decode(&bytes, (!trusted.is_empty()).then_some(trusted)).map_err(|source| {
        RunError::Bundle {
            path: path.to_path_buf(),
            source,
        }
    })
}

fn trusted_keys(args: &RunArgs) -> Result<Vec<tpc_bundle::file::VerifyingKey>, RunError> {
    let mut trusted = Vec::new();
    for path in &args.trust {
        let key = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| tpc_bundle::file::parse_public_key(&t).map_err(|e| e.to_string()))
            .map_err(|reason| RunError::Key {
                path: path.clone(),
                reason,
            })?;
        trusted.push(key);
    }
    Ok(trusted)
}

/// A bundle `tpc run` runs: where it came from, to reload it.
struct Running {
    path: PathBuf,
    id: tpc_runtime::BundleId,
    digest: String,
    modified: Option<std::time::SystemTime>,
}

fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Reloads every bundle whose file changed (`force`: SIGHUP, every file is
/// read again). A bundle that does not read, verify or load is reported and
/// its running version stays.
fn reload(
    sensor: &mut BaseSensor,
    running: &mut [Running],
    trusted: &[tpc_bundle::file::VerifyingKey],
    bindings: &[CgroupBinding],
    force: bool,
) {
    for entry in running.iter_mut() {
        let now = modified(&entry.path);
        if !force && now == entry.modified {
            continue;
        }
        entry.modified = now;
        let verified = match read_bundle(&entry.path, trusted) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("tpc run: not reloaded: {e}; the running version stays");
                continue;
            }
        };
        if verified.digest == entry.digest {
            continue;
        }
        let label = entry.path.display().to_string();
        let started = std::time::Instant::now();
        match sensor.replace_bundle(entry.id, &verified.bundle, &label, bindings) {
            Ok(id) => {
                entry.id = id;
                entry.digest = verified.digest.clone();
                eprintln!(
                    "tpc run: reloaded {label} ({}) in {:.1} ms: map entries rewritten, programs kept",
                    verified
                        .bundle
                        .policies
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    started.elapsed().as_secs_f64() * 1000.0
                );
            }
            Err(e) => eprintln!("tpc run: not reloaded: {label}: {e}; the running version stays"),
        }
    }
}

fn bindings(args: &RunArgs) -> Result<Vec<CgroupBinding>, RunError> {
    args.cgroup
        .iter()
        .map(|text| {
            let (policy, path) = text
                .split_once('=')
                .ok_or_else(|| RunError::BadCgroup { text: text.clone() })?;
            if policy.is_empty() || path.is_empty() {
                return Err(RunError::BadCgroup { text: text.clone() });
            }
            Ok(CgroupBinding {
                policy: policy.to_owned(),
                path: PathBuf::from(path),
            })
        })
        .collect()
}

pub fn run(args: &RunArgs) -> Result<(), RunError> {
    let bundles = read_bundles(args)?;
    let bindings = bindings(args)?;
    let duration = match args.duration {
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Some(Duration::from_secs_f64(seconds))
        }
        Some(seconds) => return Err(RunError::BadDuration { seconds }),
        None => None,
    };
    let file = match &args.output_file {
        Some(path) => Some(BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| RunError::OutputFile {
                    path: path.clone(),
                    source,
                })?,
        )),
        None => None,
    };
    let stop = stop_on_signals()?;
    let reload_requested = tpc_runtime::reload_on_sighup()?;
    let trusted = trusted_keys(args)?;
    // room for each bundle twice: a reloaded version loads beside the
    // running one before that one goes
    let all: Vec<&tpc_bundle::Bundle> = bundles
        .iter()
        .chain(&bundles)
        .map(|(_, b)| &b.bundle)
        .collect();
    let options = SensorOptions {
        node_name: args.node_name.clone(),
        ring_buffer_bytes: args.ring_buffer_bytes,
        map_sizes: policies::map_sizes(&all),
        ..SensorOptions::default()
    };
    let options = if args.no_proc_seed {
        SensorOptions {
            proc_root: None,
            ..options
        }
    } else {
        options
    };
    let started_load = std::time::Instant::now();
    let mut sensor = BaseSensor::start(&options)?;
    let node_name = sensor.node_name().to_owned();
    eprintln!(
        "tpc run: base sensor attached (sched_process_exec, sched_process_fork, sched_process_exit) in {:.0} ms",
        started_load.elapsed().as_secs_f64() * 1000.0
    );
    let mut running = Vec::new();
    for (path, verified) in &bundles {
        let started = std::time::Instant::now();
        let label = path.display().to_string();
        match sensor.load_bundle(&verified.bundle, &label, &bindings) {
            Ok(id) => running.push(Running {
                path: path.clone(),
                id,
                digest: verified.digest.clone(),
                modified: modified(path),
            }),
            Err(source) => {
                let _ignored = sensor.stop(&mut |_| {});
                return Err(RunError::Load {
                    path: path.clone(),
                    source,
                });
            }
        }
        let names: Vec<&str> = verified
            .bundle
            .policies
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        eprintln!(
            "tpc run: loaded {label} ({}{}) in {:.1} ms",
            names.join(", "),
            if verified.signer.is_some() {
                ", signed"
            } else {
                ""
            },
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    for bundle in sensor.engine().bundles() {
        for (policy, reason) in &bundle.inactive {
            eprintln!(
                "tpc run: warning: policy {policy} applies to no process here: {reason}; bind it with --cgroup {policy}=PATH"
            );
        }
    }
    let hooked = sensor.engine().attached();
    if !hooked.is_empty() {
        eprintln!(
            "tpc run: hooked {}; stop with Ctrl-C",
            hooked
                .iter()
                .map(tpc_bundle::AttachPoint::describe)
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else {
        eprintln!("tpc run: stop with Ctrl-C");
    }

    let mut writer = EventWriter {
        out: BufWriter::new(io::stdout().lock()),
        file,
        format: args.output,
        node_name,
        error: None,
        lines: tpc_runtime::JsonLines::new(),
    };
    let started = std::time::Instant::now();
    let mut last_check = started;
    let mut last_flush = started;
    while !stop.load(Ordering::Relaxed) && writer.error.is_none() {
        if duration.is_some_and(|limit| started.elapsed() >= limit) {
            break;
        }
        sensor.poll(Duration::from_millis(100), &mut |event| {
            writer.write(&event)
        })?;
        let forced = reload_requested.swap(false, Ordering::Relaxed);
        if forced || last_check.elapsed() >= Duration::from_secs(1) {
            last_check = std::time::Instant::now();
            reload(&mut sensor, &mut running, &trusted, &bindings, forced);
        }
        // keep the stream live for readers of a pipe or the file, without a
        // write per wake-up
        if last_flush.elapsed() >= Duration::from_millis(50) {
            writer.flush();
            last_flush = std::time::Instant::now();
        }
    }
    let summary = sensor.stop(&mut |event| writer.write(&event))?;
    writer.flush();
    if let Some(error) = writer.error {
        // a closed stdout (e.g. `| head`) ends the run; anything else is an error
        if error.kind() != io::ErrorKind::BrokenPipe {
            return Err(RunError::Write { source: error });
        }
    }
    eprintln!(
        "tpc run: stopped; {} events, {} records, {} lost (exec {}, fork {}, exit {}), {} undecodable; programs, links and maps released",
        summary.events,
        summary.records,
        summary.dropped.total(),
        summary.dropped.exec,
        summary.dropped.fork,
        summary.dropped.exit,
        summary.decode_errors
    );
    if summary.unread_at_stop {
        eprintln!(
            "tpc run: warning: stopped reading after 30 s with records still waiting; the events of the last moments before the stop may be missing"
        );
    }
    if !summary.policy_drops.is_empty() {
        eprintln!(
            "tpc run: {} policy events posted; lost per policy: {}",
            summary.policy_events,
            summary
                .policy_drops
                .iter()
                .map(|(name, n)| format!("{name} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// Writes events to stdout (JSON or compact) and the output file (JSON);
/// keeps the first write error and writes nothing after it.
struct EventWriter<W: Write> {
    out: BufWriter<W>,
    file: Option<BufWriter<std::fs::File>>,
    format: OutputFormat,
    node_name: String,
    error: Option<io::Error>,
    lines: tpc_runtime::JsonLines,
}

impl<W: Write> EventWriter<W> {
    fn write(&mut self, event: &SensorEvent) {
        if self.error.is_some() {
            return;
        }
        if let SensorEvent::Lost { dropped, .. } = event {
            eprintln!(
                "tpc run: the ring buffer was full: {} records lost",
                dropped.total()
            );
        }
        if let SensorEvent::PolicyLost {
            policy, dropped, ..
        } = event
        {
            eprintln!(
                "tpc run: the ring buffer was full: {dropped} events of policy {policy} lost"
            );
        }
        let json = (self.format == OutputFormat::Json || self.file.is_some())
            .then(|| self.lines.line(event, &self.node_name));
        let result = match (self.format, &json) {
            (OutputFormat::Json, Some(json)) => writeln!(self.out, "{json}"),
            _ => writeln!(self.out, "{}", event.to_compact_line()),
        }
        .and_then(|()| match (self.file.as_mut(), &json) {
            (Some(file), Some(json)) => writeln!(file, "{json}"),
            _ => Ok(()),
        });
        if let Err(error) = result {
            self.error = Some(error);
        }
    }

    fn flush(&mut self) {
        if self.error.is_some() {
            return;
        }
        let result = self.out.flush().and_then(|()| match self.file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        });
        if let Err(error) = result {
            self.error = Some(error);
        }
    }
}

/// An error and its causes on one line: "outer: cause: root cause".
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
