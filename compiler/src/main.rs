//! The `tpc` command line: a thin layer over the `tpc` library.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "tpc", version, about = "Compiler, checker, simulator and runtime for Tetragon TracingPolicy policies")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check policies offline: schema, semantics and Tetragon's limits.
    Check(cli::check::CheckArgs),
    /// Explain a diagnostic code.
    Explain(cli::explain::ExplainArgs),
    /// Load the base sensor on this kernel and stream process events (root).
    Run(cli::run::RunArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Run(args) => match cli::run::run(args) {
            Ok(()) => cli::exit::OK,
            Err(error) => {
                eprintln!("tpc run: error: {}", cli::run::error_chain(&error));
                cli::exit::FINDINGS
            }
        },
    };
    std::process::exit(code);
}
