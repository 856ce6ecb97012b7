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
    /// Replay recorded Tetragon events against policies: the events they would post.
    Replay(cli::replay::ReplayArgs),
    /// Run simulator test files (policy, events, expected verdicts).
    Test(cli::test::TestArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Replay(args) => cli::replay::run(args),
        Command::Test(args) => cli::test::run(args),
    };
    std::process::exit(code);
}
