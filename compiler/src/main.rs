//! The `tpc` command line: a thin layer over the `tpc` library.

mod cli {
    pub mod kernels;
}

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tpc",
    version,
    about = "Checker and compiler for Tetragon TracingPolicy policies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The kernels tpc carries, lookups in kernel BTF, and the carried database.
    Kernels(cli::kernels::KernelsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Kernels(args) => cli::kernels::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
