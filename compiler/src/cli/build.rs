//! `tpc build`: checks policies, lowers them and writes a bundle (`.tpcb`),
//! optionally signed; `tpc keygen`: an ed25519 key pair for signing. Neither
//! needs root, clang or BPF.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{ColorChoice, exit};
use tpc::diagnostics::{Severity, render};
use tpc::driver::{self, Input, KernelRequest};
use tpc::lower::build::build_with;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Policy files or folders (searched for *.yaml, *.yml).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The bundle to write (default: the first policy's name with .tpcb).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read tracepoint layouts and check against this kernel tpc carries
    /// (default: the running kernel).
    #[arg(long = "kernel", value_name = "NAME")]
    pub kernels: Vec<String>,
    /// Read tracepoint layouts and check against this kernel BTF (with
    /// its `STEM.tracepoint-formats.tar.xz` beside it).
    #[arg(long = "btf", value_name = "FILE")]
    pub btf: Vec<PathBuf>,
    /// Sign the bundle with this ed25519 secret key (`tpc keygen`).
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Fail on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Hooks for RuntimeSecurityPolicy rules (default: the first strategy
    /// the target kernel can run: lsm, then kprobe, then tracepoint).
    #[arg(long, value_enum, value_name = "STRATEGY")]
    pub rsp_strategy: Option<super::RspStrategyArg>,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

pub fn run(args: &BuildArgs) -> i32 {
    let request = if args.btf.is_empty() && args.kernels.is_empty() {
        KernelRequest::Running
    } else {
        match driver::kernel_selections(&args.btf, &args.kernels) {
            Ok(selections) => KernelRequest::Selected(selections),
            Err(e) => {
                eprintln!("tpc build: error: {e}");
                return exit::USAGE;
            }
        }
    };
    let key = match &args.sign {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| tpc_bundle::file::parse_secret_key(&t).map_err(|e| e.to_string()))
        {
            Ok(key) => Some(key),
            Err(e) => {
                eprintln!(
                    "tpc build: error: cannot use signing key {}: {e}",
                    path.display()
                );
                return exit::USAGE;
            }
        },
        None => None,
    };
    let inputs: Vec<Input> = args.paths.iter().cloned().map(Input::Path).collect();
    let started = std::time::Instant::now();
    let strategy = args.rsp_strategy.map(super::RspStrategyArg::strategy);
    let mut outcome = match build_with(&inputs, &request, strategy) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tpc build: error: {e}");
            return exit::USAGE;
        }
    };
    if args.deny_warnings {
        driver::deny_warnings(&mut outcome.report.diagnostics);
    }
    let report = &outcome.report;
    if let (Some(choice), false) = (&report.rsp_choice, report.converted.is_empty()) {
        eprintln!("tpc build: {}", choice.summary());
    }
    let opts = render::human::HumanOptions {
        color: args.color.enabled(),
        ..render::human::HumanOptions::default()
    };
    let rendered = render::human::render(&report.sources, &report.diagnostics, &opts);
    if !rendered.is_empty() {
        eprint!("{rendered}");
    }
    let failed = report
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
    let Some(bundle) = outcome.bundle.filter(|_| !failed) else {
        eprintln!(
            "tpc build: no bundle written: {}",
            render::summary_line(report.files, report.tally())
        );
        return exit::FINDINGS;
    };
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.paths));
    let bytes = match tpc_bundle::encode(&bundle, key.as_ref()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("tpc build: error: {e}");
            return exit::USAGE;
        }
    };
    if let Err(e) = std::fs::write(&output, &bytes) {
        eprintln!("tpc build: error: cannot write {}: {e}", output.display());
        return exit::USAGE;
    }
    let verified = tpc_bundle::decode(&bytes, None);
    let hooks: usize = bundle.policies.iter().map(|p| p.hooks.len()).sum();
    eprintln!(
        "tpc build: wrote {} ({} bytes): {} {}, {} {}{}, sha256 {}{} in {:.1} ms",
        output.display(),
        bytes.len(),
        bundle.policies.len(),
        if bundle.policies.len() == 1 {
            "policy"
        } else {
            "policies"
        },
        hooks,
        if hooks == 1 { "hook" } else { "hooks" },
        outcome
            .kernel
            .as_ref()
            .map(|k| format!(", layouts from {k}"))
            .unwrap_or_default(),
        verified.as_ref().map_or("?", |v| v.digest.as_str()),
        if key.is_some() { ", signed" } else { "" },
        started.elapsed().as_secs_f64() * 1000.0
    );
    exit::OK
}

fn default_output(paths: &[PathBuf]) -> PathBuf {
    let stem = paths
        .first()
        .and_then(|p| p.file_stem())
        .map_or_else(|| "policy".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("{stem}.tpcb"))
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the secret key; the public key goes to FILE.pub.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

pub fn keygen(args: &KeygenArgs) -> i32 {
    let mut seed = [0u8; 32];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut seed)
    }) {
        eprintln!("tpc keygen: error: cannot read random bytes: {e}");
        return exit::USAGE;
    }
    let key = tpc_bundle::file::signing_key_from_seed(seed);
    let public = Path::new(&format!("{}.pub", args.output.display())).to_path_buf();
    let write_secret = || -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&args.output)?;
        file.write_all(tpc_bundle::file::secret_key_text(&key).as_bytes())
    };
    if let Err(e) = write_secret() {
        eprintln!(
            "tpc keygen: error: cannot write {}: {e}",
            args.output.display()
        );
        return exit::USAGE;
    }
    if let Err(e) = std::fs::write(
        &public,
        tpc_bundle::file::public_key_text(&key.verifying_key()),
    ) {
        eprintln!("tpc keygen: error: cannot write {}: {e}", public.display());
        return exit::USAGE;
    }
    eprintln!(
        "tpc keygen: secret key in {}, public key in {}",
        args.output.display(),
        public.display()
    );
    exit::OK
}
