//! `tpc run`: loads the base sensor (bundles come later) and streams process events as Tetragon JSON lines or compact lines until SIGINT/SIGTERM.

use std::{
    fs::OpenOptions,
    io::{self, BufWriter, Write},
    path::PathBuf,
    sync::atomic::Ordering,
    time::Duration,
};

use clap::{Args, ValueEnum};
use tpc_runtime::{BaseSensor, RuntimeError, SensorEvent, SensorOptions, stop_on_signals};

/// How events are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One Tetragon JSON export object per line.
    Json,
    /// One line per event with an emoji, like `tetra getevents -o compact`.
    Compact,
}

/// Arguments of `tpc run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A compiled policy bundle (not supported yet: the base sensor runs alone).
    pub bundle: Option<PathBuf>,
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
    #[error("running a bundle is not supported yet ({path}); run `tpc run` without one for the base sensor", path = path.display())]
    BundleUnsupported { path: PathBuf },
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
pub fn run(args: &RunArgs) -> Result<(), RunError> {
    if let Some(path) = &args.bundle {
        return Err(RunError::BundleUnsupported { path: path.clone() });
    }
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
    let options = SensorOptions {
        node_name: args.node_name.clone(),
        ring_buffer_bytes: args.ring_buffer_bytes,
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
    let mut sensor = BaseSensor::start(&options)?;
    let node_name = sensor.node_name().to_owned();
    eprintln!(
        "tpc run: base sensor attached (sched_process_exec, sched_process_fork, sched_process_exit); stop with Ctrl-C"
    );

    let mut writer = EventWriter {
        out: BufWriter::new(io::stdout().lock()),
        file,
        format: args.output,
        node_name,
        error: None,
    };
    let started = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) && writer.error.is_none() {
        if duration.is_some_and(|limit| started.elapsed() >= limit) {
            break;
        }
        sensor.poll(Duration::from_millis(100), &mut |event| {
            writer.write(&event)
        })?;
        // keep the stream live for readers of a pipe or the file
        writer.flush();
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
        let json = event.to_json_line(&self.node_name);
        let result = match self.format {
            OutputFormat::Json => writeln!(self.out, "{json}"),
            OutputFormat::Compact => writeln!(self.out, "{}", event.to_compact_line()),
        }
        .and_then(|()| match self.file.as_mut() {
            Some(file) => writeln!(file, "{json}"),
            None => Ok(()),
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
