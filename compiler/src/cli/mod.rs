//! Subcommands of the `tpc` binary. Each file parses its arguments with clap
//! and calls the library; no policy logic lives here.

pub mod build;
pub mod check;
pub mod convert;
pub mod explain;
pub mod inspect;
pub mod kernels;
pub mod replay;
pub mod run;
pub mod test;
pub mod verify;

use std::io::IsTerminal;

/// `--color` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour output written to stdout.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    }
}

/// `--rsp-strategy`: the hooks RuntimeSecurityPolicy rules become.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RspStrategyArg {
    /// BPF LSM hooks; Block returns EPERM.
    Lsm,
    /// Syscall kprobes; Block overrides the return value with EPERM.
    Kprobe,
    /// Syscall tracepoints; Block kills the process.
    Tracepoint,
}

impl RspStrategyArg {
    pub fn strategy(self) -> tpc::front::rsp::strategy::Strategy {
        use tpc::front::rsp::strategy::Strategy;
        match self {
            RspStrategyArg::Lsm => Strategy::Lsm,
            RspStrategyArg::Kprobe => Strategy::KprobeOverride,
            RspStrategyArg::Tracepoint => Strategy::TracepointSigkill,
        }
    }
}

/// Exit codes shared by the subcommands.
pub mod exit {
    /// Clean.
    pub const OK: i32 = 0;
    /// The policies have errors (or warnings with `--deny-warnings`).
    pub const FINDINGS: i32 = 1;
    /// Usage or I/O error.
    pub const USAGE: i32 = 2;
}
