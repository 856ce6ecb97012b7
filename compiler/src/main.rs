//! The `tpc` command line: a thin layer over the `tpc` library.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tpc",
    version,
    about = "Compiler, checker, simulator and runtime for Tetragon TracingPolicy policies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the base sensor on this kernel and stream process events (root).
    Run(cli::run::RunArgs),
}

fn main() {
    let cli = Cli::parse();
    match &cli.command {
        Command::Run(args) => {
            if let Err(error) = cli::run::run(args) {
                eprintln!("tpc run: error: {}", cli::run::error_chain(&error));
                std::process::exit(1);
            }
        }
    }
}
