//! `tpc convert`: prints the TracingPolicy a RuntimeSecurityPolicy stands
//! for, with the block strategy chosen for the target kernel.

use super::{ColorChoice, RspStrategyArg, exit};
use std::path::PathBuf;
use tpc::diagnostics::{Severity, render};
use tpc::driver::{self, CheckOptions, Input, KernelRequest};

#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// RuntimeSecurityPolicy files (`-` for standard input).
    #[arg(required = true, value_name = "POLICY")]
    pub paths: Vec<PathBuf>,
    /// Write the TracingPolicy here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Choose the block strategy for this kernel tpc carries (repeatable:
    /// the first strategy all of them can run; default: the running kernel).
    #[arg(long = "kernel", value_name = "NAME")]
    pub kernels: Vec<String>,
    /// Choose the block strategy for this kernel BTF (repeatable).
    #[arg(long = "btf", value_name = "FILE")]
    pub btf: Vec<PathBuf>,
    /// Name the strategy instead of choosing it by kernel.
    #[arg(long, value_enum, value_name = "STRATEGY")]
    pub rsp_strategy: Option<RspStrategyArg>,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

pub fn run(args: &ConvertArgs) -> i32 {
    let kernels = if args.btf.is_empty() && args.kernels.is_empty() {
        KernelRequest::Running
    } else {
        match driver::kernel_selections(&args.btf, &args.kernels) {
            Ok(selections) => KernelRequest::Selected(selections),
            Err(e) => {
                eprintln!("tpc convert: error: {e}");
                return exit::USAGE;
            }
        }
    };
    let mut inputs = Vec::new();
    for path in &args.paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
                eprintln!("tpc convert: error: cannot read standard input: {e}");
                return exit::USAGE;
            }
            inputs.push(Input::Text {
                name: "<stdin>".into(),
                text,
            });
        } else {
            inputs.push(Input::Path(path.clone()));
        }
    }
    let options = CheckOptions {
        kernels,
        host_checks: false,
        rsp_strategy: args.rsp_strategy.map(RspStrategyArg::strategy),
        ..CheckOptions::default()
    };
    let report = match driver::check_inputs_with(&inputs, &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tpc convert: error: {e}");
            return exit::USAGE;
        }
    };
    let opts = render::human::HumanOptions {
        color: ColorChoice::enabled(args.color),
        ..render::human::HumanOptions::default()
    };
    let rendered = render::human::render(&report.sources, &report.diagnostics, &opts);
    if !rendered.is_empty() {
        eprint!("{rendered}");
    }
    if report
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        eprintln!(
            "tpc convert: nothing converted: {}",
            render::summary_line(report.files, report.tally())
        );
        return exit::FINDINGS;
    }
    let Some(choice) = &report.rsp_choice else {
        eprintln!(
            "tpc convert: error: no RuntimeSecurityPolicy in the input (kind: RuntimeSecurityPolicy)"
        );
        return exit::FINDINGS;
    };
    if report.converted.is_empty() {
        eprintln!(
            "tpc convert: error: no RuntimeSecurityPolicy in the input (kind: RuntimeSecurityPolicy)"
        );
        return exit::FINDINGS;
    }
    eprintln!("tpc convert: {}", choice.summary());
    let mut out = String::new();
    for (n, (index, tree)) in report.converted.iter().enumerate() {
        let Some(loaded) = report.policies.get(*index) else {
            continue;
        };
        if n > 0 {
            out.push_str("---\n");
        }
        let source = report
            .sources
            .get(loaded.file)
            .map(|f| f.name.to_string())
            .unwrap_or_default();
        out.push_str(&tpc::front::rsp::convert_text(
            &loaded.policy.name.value,
            &source,
            tree,
            choice,
        ));
    }
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &out) {
                eprintln!("tpc convert: error: cannot write {}: {e}", path.display());
                return exit::USAGE;
            }
            eprintln!("tpc convert: wrote {}", path.display());
        }
        None => print!("{out}"),
    }
    exit::OK
}
