//! Subcommands of the `tpc` binary.

pub mod run;
