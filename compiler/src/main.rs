//! The `tpc` command line: a thin layer over the `tpc` library.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Check policies offline: schema, semantics and Tetragon's limits.
    Check(cli::check::CheckArgs),
    /// Print the TracingPolicy a RuntimeSecurityPolicy stands for.
    ///
    /// The block strategy (BPF LSM, syscall kprobes with Override, or
    /// syscall tracepoints with Sigkill) is the first one the target kernel
    /// can run (the running kernel, or `--kernel`/`--btf`), or
    /// `--rsp-strategy`; the output's header and standard error say which
    /// and why. `tpc check` accepts the output and `tpc replay` gives it the
    /// same verdicts.
    Convert(cli::convert::ConvertArgs),
    /// Explain a diagnostic code.
    Explain(cli::explain::ExplainArgs),
    /// The kernels tpc carries, lookups in kernel BTF, and the carried database.
    Kernels(cli::kernels::KernelsArgs),
    /// Load the sensor and policy bundles on this kernel, stream events, enforce (root).
    ///
    /// In the kernel: the base sensor (process exec, fork, exit) always; with
    /// bundles (`tpc build`), their hooks: tracepoints, raw tracepoints,
    /// kprobes (kernel functions, and syscalls at their wrappers), fentry,
    /// BPF LSM hooks and uprobes. They read the hook's arguments (integers,
    /// strings, char_buf, sockaddr, and file, path, fd, dentry and
    /// linux_binprm as paths), filter (matchArgs with every operator for the
    /// argument's type, matchBinaries, matchParentBinaries, matchPIDs,
    /// matchNamespaces, matchCapabilities, matchNamespaceChanges,
    /// matchCapabilityChanges) and act (Post with rateLimit, NoPost, Sigkill,
    /// Signal, Override: an LSM hook's return value, or bpf_override_return
    /// on syscall kprobes where the kernel has it) there, so only posted
    /// events reach user space. Several bundles share one program per hooked
    /// point. Not in the kernel yet: return probes (kretprobes, returnArg,
    /// matchReturnArgs), USDT, matchData, sock/skb/cred arguments, resolve
    /// paths, the network actions (`tpc build` refuses them with the reason).
    Run(cli::run::RunArgs),
    /// Check and lower policies into a bundle for `tpc run` (no root, clang or BPF).
    Build(cli::build::BuildArgs),
    /// Show what a bundle holds: programs, map entries, attach points, policies.
    Inspect(cli::inspect::InspectArgs),
    /// Load every program a bundle needs through this kernel's verifier, without attaching (root).
    ///
    /// Per program: loaded (instruction counts, load time) or the verifier's
    /// reason and the end of its log; a kprobe whose function this kernel
    /// cannot probe, a missing tracepoint or uprobe file; and the policy
    /// lines it serves. Exit status 1 when any program has a problem.
    Verify(cli::verify::VerifyArgs),
    /// Make an ed25519 key pair to sign bundles (`tpc build --sign`, `tpc run --trust`).
    Keygen(cli::build::KeygenArgs),
    /// Replay recorded Tetragon events against policies: the events they would post.
    Replay(cli::replay::ReplayArgs),
    /// Run simulator test files (policy, events, expected verdicts).
    Test(cli::test::TestArgs),
}

/// Prints an error with its chain of causes.
fn report_error(command: &str, error: &dyn std::error::Error) {
    eprintln!("tpc {command}: error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(u8::try_from(c).unwrap_or(u8::MAX))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => code(cli::check::run(&args)),
        Command::Convert(args) => code(cli::convert::run(&args)),
        Command::Explain(args) => code(cli::explain::run(&args)),
        Command::Replay(args) => code(cli::replay::run(&args)),
        Command::Test(args) => code(cli::test::run(&args)),
        Command::Build(args) => code(cli::build::run(&args)),
        Command::Inspect(args) => code(cli::inspect::run(&args)),
        Command::Verify(args) => code(cli::verify::run(&args)),
        Command::Keygen(args) => code(cli::build::keygen(&args)),
        Command::Kernels(args) => match cli::kernels::run(args) {
            Ok(c) => c,
            Err(error) => {
                report_error("kernels", &error);
                code(cli::exit::USAGE)
            }
        },
        Command::Run(args) => match cli::run::run(&args) {
            Ok(()) => code(cli::exit::OK),
            Err(error) => {
                eprintln!("tpc run: error: {}", cli::run::error_chain(&error));
                code(cli::exit::FINDINGS)
            }
        },
    }
}
