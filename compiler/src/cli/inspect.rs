//! `tpc inspect`: what a bundle holds, as text or JSON; verifies the digest
//! (and the signature when there is one) on the way.

use std::path::PathBuf;

use super::exit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A bundle written by `tpc build`.
    pub bundle: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: &InspectArgs) -> i32 {
    let bytes = match std::fs::read(&args.bundle) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "tpc inspect: error: cannot read {}: {e}",
                args.bundle.display()
            );
            return exit::USAGE;
        }
    };
    let verified = match tpc_bundle::decode(&bytes, None) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("tpc inspect: error: {}: {e}", args.bundle.display());
            return exit::FINDINGS;
        }
    };
    let inspection = tpc::inspect::inspect(&verified);
    match args.format {
        Format::Human => print!("{}", tpc::inspect::render_human(&inspection)),
        Format::Json => match serde_json::to_string_pretty(&inspection) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("tpc inspect: error: {e}");
                return exit::USAGE;
            }
        },
    }
    exit::OK
}
