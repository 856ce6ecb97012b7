//! `tpc test`: runs simulator test files (a policy, events, expected
//! verdicts) and shows a diff for each failure.

use super::exit;
use std::path::PathBuf;
use tpc::sim::testfile;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Test files, or folders searched for *.test.yaml (default: the current folder).
    #[arg(value_name = "DIR|FILE")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also print the verdict stream of every test.
    #[arg(long)]
    pub verbose: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per test, with a diff under each failure.
    Human,
    /// One JSON object per test.
    Json,
}

pub fn run(args: &TestArgs) -> i32 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let files = match testfile::collect(&paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("tpc test: error: {e}");
            return exit::USAGE;
        }
    };
    if files.is_empty() {
        eprintln!("tpc test: error: no test files (*.test.yaml) under the given paths");
        return exit::USAGE;
    }
    let (mut passed, mut failed, mut broken, mut not_run) = (0usize, 0usize, 0usize, 0usize);
    for file in &files {
        let test = match testfile::load(file) {
            Ok(t) => t,
            Err(e) => {
                broken += 1;
                match args.format {
                    Format::Human => println!("ERROR {}\n  {e}", file.display()),
                    Format::Json => println!(
                        "{}",
                        serde_json::json!({"path": file.display().to_string(), "error": e.to_string()})
                    ),
                }
                continue;
            }
        };
        let outcome = testfile::run(&test);
        if let Some(reason) = &outcome.not_run {
            not_run += 1;
            match args.format {
                Format::Human => println!(
                    "ERROR {} ({})\n  {reason}",
                    outcome.name,
                    outcome.path.display()
                ),
                Format::Json => println!(
                    "{}",
                    serde_json::json!({
                        "path": outcome.path.display().to_string(),
                        "name": outcome.name,
                        "passed": false,
                        "error": reason,
                    })
                ),
            }
            continue;
        }
        if outcome.passed() {
            passed += 1;
        } else {
            failed += 1;
        }
        match args.format {
            Format::Human => {
                println!(
                    "{} {} ({}; {} events, {} verdicts)",
                    if outcome.passed() { "ok   " } else { "FAIL " },
                    outcome.name,
                    outcome.path.display(),
                    outcome.events,
                    outcome.verdicts
                );
                for f in &outcome.failures {
                    for line in f.lines() {
                        println!("  {line}");
                    }
                }
                if args.verbose {
                    for line in &outcome.verdict_lines {
                        println!("    {line}");
                    }
                }
            }
            Format::Json => println!(
                "{}",
                serde_json::json!({
                    "path": outcome.path.display().to_string(),
                    "name": outcome.name,
                    "passed": outcome.passed(),
                    "events": outcome.events,
                    "verdicts": outcome.verdicts,
                    "failures": outcome.failures,
                })
            ),
        }
    }
    let summary = format!(
        "tpc test: {} file{}: {passed} passed, {failed} failed{}{}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        if not_run > 0 {
            format!(", {not_run} not run (missing data)")
        } else {
            String::new()
        },
        if broken > 0 {
            format!(", {broken} unreadable")
        } else {
            String::new()
        }
    );
    match args.format {
        Format::Human => println!("{summary}"),
        Format::Json => eprintln!("{summary}"),
    }
    if broken > 0 {
        exit::USAGE
    } else if failed > 0 || not_run > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}
