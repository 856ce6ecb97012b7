//! `tpc replay`: what policies would have done on recorded Tetragon events.

use super::exit;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use tpc::diagnostics::render;
use tpc::driver::{self, Input};
use tpc::ir::Policy;
use tpc::sim::replay::{self, Malformed, OnMalformed, Output, Threads};
use tpc::sim::{Arch, SimOptions, Simulator, report};

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Policy files or folders (*.yaml, *.yml), then event files (JSON lines
    /// or pretty-printed events, or folders of them; `-` reads stdin). A
    /// file is an event file when it ends in .json, .jsonl, .ndjson or .log,
    /// or starts with `{`.
    #[arg(required = true, value_name = "POLICY... EVENTS...")]
    pub paths: Vec<PathBuf>,
    /// Write one JSON line per input value (its position, the policy hooks
    /// it reached, the winning selector, actions, posted) instead of events.
    #[arg(long, conflicts_with_all = ["output", "explain"])]
    pub verdicts: bool,
    /// Output of posted events.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub output: OutputFormat,
    /// Explain, filter by filter, why each selector did or did not match:
    /// for every event that reaches a hook, or for the given positions
    /// (`--explain=3,17`).
    #[arg(long, value_delimiter = ',', num_args = 0..=1, require_equals = true, value_name = "POSITIONS")]
    pub explain: Option<Vec<u64>>,
    /// Stop at the first value that is not an event (default: report it,
    /// skip it, and exit 1 at the end).
    #[arg(long)]
    pub strict: bool,
    /// Node architecture when an event does not tell (syscall prefixes, syscall numbers).
    #[arg(long, value_enum, default_value_t = ArchChoice::X86_64)]
    pub arch: ArchChoice,
    /// Match paths exactly as events show them (older Tetragon exported
    /// `etc/passwd` for `/etc/passwd`; by default such paths are read as absolute).
    #[arg(long)]
    pub no_legacy_paths: bool,
    /// Let `Sigkill` (and `Signal` 9) end the process: its later hook
    /// events are not posted, as on a node where the policy enforced
    /// (by default every recorded event is simulated on its own).
    #[arg(long)]
    pub follow_kills: bool,
    /// Simulate policies even when they have errors.
    #[arg(long)]
    pub force: bool,
    /// Read, parse and simulate on one thread (by default, with several
    /// CPUs, worker threads decode files in chunks).
    #[arg(long)]
    pub sequential: bool,
    /// No summary table on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Process PID (and every process it starts) ran in cgroup PATH (cgroup
    /// v2, relative to its mount); repeatable. Recorded events do not say,
    /// and bindings with `cgroups` apply only to processes in theirs.
    #[arg(long, value_name = "PID=PATH")]
    pub process_cgroup: Vec<String>,
    /// Hooks for RuntimeSecurityPolicy rules (default: lsm); name the
    /// strategy the events were recorded with, e.g. `tracepoint` for `tpc
    /// run` on a kernel without BPF LSM.
    #[arg(long, value_enum, value_name = "STRATEGY")]
    pub rsp_strategy: Option<super::RspStrategyArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Tetragon's JSON export lines, with `policy_name` and `action` set.
    Json,
    /// One human line per posted event.
    Compact,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ArchChoice {
    #[value(name = "x86_64")]
    X86_64,
    Arm64,
}

/// Whether a path names events rather than policies.
fn is_event_input(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return true;
    }
    if path.is_dir() {
        // A folder of events holds JSON files and no policies.
        let Ok(entries) = std::fs::read_dir(path) else {
            return false;
        };
        let extensions: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.path()
                    .extension()
                    .and_then(|x| x.to_str())
                    .map(str::to_string)
            })
            .collect();
        let has = |list: &[&str]| extensions.iter().any(|e| list.contains(&e.as_str()));
        return has(&["json", "jsonl", "ndjson", "log"]) && !has(&["yaml", "yml"]);
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("json" | "jsonl" | "ndjson" | "log") => true,
        Some("yaml" | "yml") => false,
        _ => std::fs::File::open(path)
            .ok()
            .and_then(|f| {
                let mut reader = BufReader::new(f);
                let buf = reader.fill_buf().ok()?;
                buf.iter().find(|b| !b.is_ascii_whitespace()).copied()
            })
            .is_some_and(|b| b == b'{'),
    }
}

pub fn run(args: &ReplayArgs) -> i32 {
    let (event_paths, policy_paths): (Vec<&PathBuf>, Vec<&PathBuf>) =
        args.paths.iter().partition(|p| is_event_input(p));
    if policy_paths.is_empty() {
        eprintln!(
            "tpc replay: error: no policy given (policy files end in .yaml or .yml, bundles in .tpcb)"
        );
        return exit::USAGE;
    }
    if event_paths.is_empty() {
        eprintln!(
            "tpc replay: error: no events given (event files end in .json, .jsonl, .ndjson or .log; `-` reads stdin)"
        );
        return exit::USAGE;
    }
    let (bundle_paths, policy_paths): (Vec<&PathBuf>, Vec<&PathBuf>) = policy_paths
        .into_iter()
        .partition(|p| tpc::lower::build::is_bundle_path(p));
    let mut from_bundles = Vec::new();
    for path in &bundle_paths {
        match tpc::lower::build::policies_of_bundle(path) {
            Ok(policies) => from_bundles.extend(policies),
            Err(e) => {
                eprintln!("tpc replay: error: {e}");
                return exit::USAGE;
            }
        }
    }
    let inputs: Vec<Input> = policy_paths
        .iter()
        .map(|p| Input::Path((*p).clone()))
        .collect();
    let options = driver::CheckOptions {
        rsp_strategy: args.rsp_strategy.map(super::RspStrategyArg::strategy),
        ..driver::CheckOptions::default()
    };
    let report = match driver::check_inputs_with(&inputs, &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tpc replay: error: {e}");
            return exit::USAGE;
        }
    };
    if report.tally().errors > 0 {
        eprint!(
            "{}",
            render::human::render_short(&report.sources, &report.diagnostics)
        );
        if !args.force {
            eprintln!(
                "tpc replay: error: the policies have errors (Tetragon would not load them); --force simulates them anyway"
            );
            return exit::USAGE;
        }
    }
    if report.policies.is_empty() && from_bundles.is_empty() {
        eprintln!("tpc replay: error: no policy found in the given files");
        return exit::USAGE;
    }
    let policies: Vec<&Policy> = report
        .policies
        .iter()
        .map(|p| &p.policy)
        .chain(&from_bundles)
        .collect();
    let output = if args.verdicts {
        Output::Verdicts
    } else if let Some(positions) = &args.explain {
        Output::Explain(positions.clone())
    } else {
        match args.output {
            OutputFormat::Json => Output::Events,
            OutputFormat::Compact => Output::Compact,
        }
    };
    let options = SimOptions {
        default_arch: match args.arch {
            ArchChoice::X86_64 => Arch::X86_64,
            ArchChoice::Arm64 => Arch::Arm64,
        },
        legacy_paths: !args.no_legacy_paths,
        // The replay turns each posted input event into its output in place.
        build_output: false,
        follow_kills: args.follow_kills,
    };
    let mut sim = Simulator::new(&policies, options);
    for placement in &args.process_cgroup {
        let parsed = placement
            .split_once('=')
            .and_then(|(pid, path)| Some((pid.trim().parse::<u32>().ok()?, path)));
        match parsed {
            Some((pid, path)) => sim.place_in_cgroup(pid, path),
            None => {
                eprintln!("tpc replay: --process-cgroup takes PID=PATH, not `{placement}`");
                return 2;
            }
        }
    }
    for problem in sim.problems() {
        eprintln!("tpc replay: warning: {problem}");
    }
    let threads = if args.sequential {
        Threads::Sequential
    } else {
        Threads::Auto
    };
    let on_malformed = if args.strict {
        OnMalformed::Fail
    } else {
        OnMalformed::Skip
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut malformed: Vec<Malformed> = Vec::new();
    let mut failed = None;
    let mut event_files: Vec<PathBuf> = Vec::new();
    for path in &event_paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(path) {
                Ok(entries) => entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect(),
                Err(e) => {
                    eprintln!("tpc replay: error: cannot read `{}`: {e}", path.display());
                    return exit::USAGE;
                }
            };
            files.sort();
            event_files.extend(files);
        } else {
            event_files.push((*path).clone());
        }
    }
    let several = event_files.len() > 1;
    for path in &event_files {
        let result = if path.as_os_str() == "-" {
            // A stream: one reader, so that events are answered as they come.
            let stdin = BufReader::with_capacity(1 << 16, std::io::stdin());
            replay::replay_with(
                &mut sim,
                "<stdin>",
                several,
                stdin,
                &mut out,
                &output,
                on_malformed,
                &mut malformed,
                Threads::Sequential,
            )
        } else {
            match std::fs::File::open(path) {
                Ok(f) => {
                    let name = path.display().to_string();
                    replay::replay_with(
                        &mut sim,
                        &name,
                        several,
                        BufReader::with_capacity(1 << 16, f),
                        &mut out,
                        &output,
                        on_malformed,
                        &mut malformed,
                        threads,
                    )
                }
                Err(e) => {
                    let _ = out.flush();
                    eprintln!("tpc replay: error: cannot read `{}`: {e}", path.display());
                    return exit::USAGE;
                }
            }
        };
        if let Err(e) = result {
            failed = Some(e);
            break;
        }
    }
    if out.flush().is_err() {
        return exit::USAGE;
    }
    for m in &malformed {
        eprintln!(
            "tpc replay: {}:{}: skipped value #{}: {}",
            m.source, m.line, m.position, m.message
        );
    }
    if !args.quiet {
        eprint!("{}", report::summary_table(&sim));
    }
    if let Some(e) = failed {
        eprintln!("tpc replay: error: {e}");
        return exit::USAGE;
    }
    if malformed.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    }
}
