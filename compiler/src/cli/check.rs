//! `tpc check`: offline diagnostics for policy files.

use super::{ColorChoice, exit};
use std::io::{Read, Write};
use std::path::PathBuf;
use tpc::diagnostics::render;
use tpc::driver::{self, Input};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Policy files or folders (searched for *.yaml, *.yml); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// When to colour human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Annotated source snippets.
    Human,
    /// One line per finding: `path:line:col: severity[CODE]: message`.
    Short,
    /// A JSON document.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

pub fn run(args: &CheckArgs) -> i32 {
    let mut inputs = Vec::new();
    for p in &args.paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                eprintln!("tpc check: error: cannot read standard input: {e}");
                return exit::USAGE;
            }
            inputs.push(Input::Text {
                name: "<stdin>".into(),
                text,
            });
        } else {
            inputs.push(Input::Path(p.clone()));
        }
    }
    let mut report = match driver::check_inputs(&inputs) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tpc check: error: {e}");
            return exit::USAGE;
        }
    };
    if args.deny_warnings {
        driver::deny_warnings(&mut report.diagnostics);
    }
    let tally = report.tally();
    let summary = render::summary_line(report.files, tally);
    let out = match args.format {
        Format::Human => {
            let opts = render::human::HumanOptions {
                color: args.color.enabled(),
                ..render::human::HumanOptions::default()
            };
            let mut s = render::human::render(&report.sources, &report.diagnostics, &opts);
            s.push_str(&summary);
            s.push('\n');
            Ok(s)
        }
        Format::Short => {
            let mut s = render::human::render_short(&report.sources, &report.diagnostics);
            s.push_str(&summary);
            s.push('\n');
            Ok(s)
        }
        Format::Json => render::json::render(&report.sources, &report.diagnostics).map(|s| s + "\n"),
        Format::Sarif => render::sarif::render(&report.sources, &report.diagnostics).map(|s| s + "\n"),
    };
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tpc check: error: {e}");
            return exit::USAGE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        return exit::USAGE;
    }
    if matches!(args.format, Format::Json | Format::Sarif) {
        eprintln!("{summary}");
    }
    if report.failed(args.deny_warnings) { exit::FINDINGS } else { exit::OK }
}
