//! `tpc check`: offline diagnostics for policy files, against the kernels
//! chosen with `--btf`/`--kernel` (default: the running kernel's BTF), with a
//! policy × kernel matrix in human output.

use super::{ColorChoice, exit};
use std::io::{Read, Write};
use std::path::PathBuf;
use tpc::diagnostics::{Tally, render};
use tpc::driver::{self, CheckOptions, Input, KernelMatrix, KernelRequest, Report};
use tpc::tetragon::TetragonVersion;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Policy files or folders (searched for *.yaml, *.yml); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Hooks for RuntimeSecurityPolicy rules (default: the first strategy
    /// every checked kernel can run: lsm, then kprobe, then tracepoint).
    #[arg(long, value_enum, value_name = "STRATEGY")]
    pub rsp_strategy: Option<super::RspStrategyArg>,
    /// When to colour human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Check against this kernel BTF: raw BTF, an ELF vmlinux with a .BTF
    /// section, or either compressed with xz or gzip (repeatable). A
    /// `STEM.tracepoint-formats.tar.xz` beside `STEM.btf.xz` is used for
    /// tracepoints.
    #[arg(long = "btf", value_name = "FILE")]
    pub btf: Vec<PathBuf>,
    /// Check against a kernel tpc carries, by name or alias, or `all`
    /// (repeatable; see `tpc kernels`).
    #[arg(long = "kernel", value_name = "NAME")]
    pub kernels: Vec<String>,
    /// Skip the kernel checks. Without --btf, --kernel or this flag, the
    /// running kernel's /sys/kernel/btf/vmlinux is used when it exists.
    #[arg(long, conflicts_with_all = ["btf", "kernels"])]
    pub no_kernel: bool,
    /// Do not look at this machine's files (uprobe binaries and their
    /// symbols).
    #[arg(long)]
    pub no_host_checks: bool,
    /// Apply the loading rules of this Tetragon release where releases
    /// differ: 1.5, 1.6, 1.7 or main (the development branch). A finding
    /// that depends on the release says since when it holds.
    #[arg(long, value_name = "VERSION", default_value = "1.7", value_parser = parse_tetragon)]
    pub tetragon: TetragonVersion,
}

fn parse_tetragon(text: &str) -> Result<TetragonVersion, String> {
    TetragonVersion::parse(text).map_err(|e| e.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Annotated source snippets.
    Human,
    /// One line per finding: `path:line:col: severity[CODE]: message`.
    Short,
    /// A JSON document.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

pub fn run(args: &CheckArgs) -> i32 {
    let mut inputs = Vec::new();
    for p in &args.paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                eprintln!("tpc check: error: cannot read standard input: {e}");
                return exit::USAGE;
            }
            inputs.push(Input::Text {
                name: "<stdin>".into(),
                text,
            });
        } else {
            inputs.push(Input::Path(p.clone()));
        }
    }
    let kernels = if args.no_kernel {
        KernelRequest::Skip
    } else if args.btf.is_empty() && args.kernels.is_empty() {
        KernelRequest::Running
    } else {
        match driver::kernel_selections(&args.btf, &args.kernels) {
            Ok(selections) => KernelRequest::Selected(selections),
            Err(e) => {
                eprintln!("tpc check: error: {e}");
                return exit::USAGE;
            }
        }
    };
    let options = CheckOptions {
        kernels,
        host_checks: !args.no_host_checks,
        rsp_strategy: args.rsp_strategy.map(super::RspStrategyArg::strategy),
        tetragon: args.tetragon,
        findings_only: true,
    };
    let mut report = match driver::check_inputs_with(&inputs, &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tpc check: error: {e}");
            return exit::USAGE;
        }
    };
    if args.deny_warnings {
        driver::deny_warnings(&mut report.diagnostics);
    }
    let tally = report.tally();
    let summary = render::summary_line(report.files, tally);
    let out = match args.format {
        Format::Human => {
            let opts = render::human::HumanOptions {
                color: args.color.enabled(),
                ..render::human::HumanOptions::default()
            };
            let mut s = render::human::render(&report.sources, &report.diagnostics, &opts);
            s.push_str(&kernel_section(&report, opts.unicode));
            s.push_str(&summary);
            s.push('\n');
            Ok(s)
        }
        Format::Short => {
            let mut s = render::human::render_short(&report.sources, &report.diagnostics);
            s.push_str(&summary);
            s.push('\n');
            Ok(s)
        }
        Format::Json => {
            render::json::render(&report.sources, &report.diagnostics).map(|s| s + "\n")
        }
        Format::Sarif => {
            render::sarif::render(&report.sources, &report.diagnostics).map(|s| s + "\n")
        }
    };
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tpc check: error: {e}");
            return exit::USAGE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return exit::USAGE;
    }
    if matches!(args.format, Format::Json | Format::Sarif) {
        eprintln!("{summary}");
    }
    if report.failed(args.deny_warnings) {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// What human output says about the kernels after the findings: the kernel
/// checked, or with several kernels their labels and the policy × kernel
/// matrix.
fn kernel_section(report: &Report, unicode: bool) -> String {
    let mut out = String::new();
    if report.kernels.is_empty() {
        return out;
    }
    if !report.diagnostics.is_empty() {
        out.push('\n');
    }
    match report.kernels.as_slice() {
        [] => return out,
        [kernel] => {
            out.push_str(&format!(
                "checked against kernel {} ({})\n",
                kernel.label,
                kernel.description()
            ));
            return out;
        }
        kernels => {
            out.push_str(&format!("checked against {} kernels:\n", kernels.len()));
            let width = kernels
                .iter()
                .map(|k| k.label.chars().count())
                .max()
                .unwrap_or(0);
            for kernel in kernels {
                out.push_str(&format!(
                    "  {:<width$}  {}\n",
                    kernel.label,
                    kernel.description()
                ));
            }
        }
    }
    if let Some(matrix) = report.kernel_matrix() {
        out.push('\n');
        out.push_str(&render_matrix(&matrix, unicode));
    }
    out.push('\n');
    out
}

/// A cell: `✓` (`ok` in ASCII) when the policy has no error or warning on
/// that kernel, else `2E`, `1W`, `2E 1W`.
fn cell_text(tally: Tally, unicode: bool) -> String {
    let mut parts = Vec::new();
    if tally.errors > 0 {
        parts.push(format!("{}E", tally.errors));
    }
    if tally.warnings > 0 {
        parts.push(format!("{}W", tally.warnings));
    }
    if parts.is_empty() {
        (if unicode { "✓" } else { "ok" }).to_string()
    } else {
        parts.join(" ")
    }
}

/// The policy × kernel matrix: one row per policy (`name (file)`), one
/// column per kernel label.
fn render_matrix(matrix: &KernelMatrix, unicode: bool) -> String {
    // Files are shown below their common folder, named once in the corner,
    // and long names are shortened in the middle.
    let common = common_folder(matrix.rows.iter().map(|row| row.file.as_str()));
    let corner = match (common.is_empty(), unicode) {
        (true, true) => "policy × kernel".to_string(),
        (true, false) => "policy x kernel".to_string(),
        (false, true) => format!("policy (in {common}) × kernel"),
        (false, false) => format!("policy (in {common}) x kernel"),
    };
    let corner = corner.as_str();
    let names: Vec<String> = matrix
        .rows
        .iter()
        .map(|row| {
            let file = row.file.strip_prefix(common.as_str()).unwrap_or(&row.file);
            shorten(&format!("{} ({file})", row.policy), MAX_ROW_NAME, unicode)
        })
        .collect();
    let first = names
        .iter()
        .map(|name| name.chars().count())
        .chain(std::iter::once(corner.chars().count()))
        .max()
        .unwrap_or(0);
    let cells: Vec<Vec<String>> = matrix
        .rows
        .iter()
        .map(|row| {
            row.cells
                .iter()
                .map(|tally| cell_text(*tally, unicode))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = matrix
        .kernels
        .iter()
        .enumerate()
        .map(|(column, label)| {
            cells
                .iter()
                .map(|row| row[column].chars().count())
                .chain(std::iter::once(label.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let pad = |text: &str, width: usize| {
        let fill = width.saturating_sub(text.chars().count());
        format!("{text}{}", " ".repeat(fill))
    };
    let mut out = String::new();
    let mut line = pad(corner, first);
    for (label, width) in matrix.kernels.iter().zip(&widths) {
        line.push_str("  ");
        line.push_str(&pad(label, *width));
    }
    out.push_str(line.trim_end());
    out.push('\n');
    for (name, row) in names.iter().zip(&cells) {
        let mut line = pad(name, first);
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str("  ");
            line.push_str(&pad(cell, *width));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let ok = if unicode { "✓" } else { "ok" };
    out.push_str(&format!(
        "{ok}: no errors or warnings on that kernel; nE / nW: errors / warnings that hold on it\n"
    ));
    out
}

/// The widest a matrix row's name gets before it is shortened.
const MAX_ROW_NAME: usize = 72;

/// The folder (ending in `/`) that every file is in, or "" when they share
/// none.
fn common_folder<'a>(files: impl Iterator<Item = &'a str>) -> String {
    let mut common: Option<&str> = None;
    for file in files {
        let folder = file.rfind('/').map_or("", |at| &file[..=at]);
        common = Some(match common {
            None => folder,
            Some(current) => {
                let mut end = current
                    .char_indices()
                    .zip(folder.chars())
                    .take_while(|((_, a), b)| a == b)
                    .map(|((at, a), _)| at + a.len_utf8())
                    .last()
                    .unwrap_or(0);
                // Cut back to a whole folder name.
                while end > 0 && !current[..end].ends_with('/') {
                    end -= 1;
                }
                &current[..end]
            }
        });
    }
    common.unwrap_or("").to_string()
}

/// `text` cut to `max` characters by dropping its middle.
fn shorten(text: &str, max: usize, unicode: bool) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let ellipsis = if unicode { "…" } else { "..." };
    let keep = max.saturating_sub(ellipsis.chars().count());
    let head: String = text.chars().take(keep / 2).collect();
    let tail: String = text.chars().skip(count - (keep - keep / 2)).collect();
    format!("{head}{ellipsis}{tail}")
}
