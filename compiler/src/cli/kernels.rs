//! `tpc kernels`: list the carried kernels, look things up in any kernel, and
//! build the carried database from a directory of BTF files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tpc::btf::db::{DbInput, build_db};
use tpc::btf::{
    Arch, BtfError, BtfKernel, KernelIdentity, KernelInfo, KernelOrigin, KernelSelection, PathRoot,
    TracepointFormats, TracepointLookup, carried_db, load_kernels,
};

#[derive(Debug, Args)]
pub struct KernelsArgs {
    #[command(subcommand)]
    pub command: Option<KernelsCommand>,
}

#[derive(Debug, Subcommand)]
pub enum KernelsCommand {
    /// List the kernels compiled into tpc (the default).
    List,
    /// Look up functions, syscalls, struct paths, LSM hooks or tracepoints
    /// (exit status 1 when one of them is not found in a kernel).
    Show(ShowArgs),
    /// Build the carried database from a directory of `<arch>-<release>.btf.xz` files.
    BuildDb(BuildDbArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A carried kernel by name or alias, or `all` (repeatable).
    #[arg(long = "kernel")]
    pub kernels: Vec<String>,
    /// A BTF file: raw, ELF with .BTF, or xz/gzip-compressed (repeatable).
    #[arg(long = "btf")]
    pub btf: Vec<PathBuf>,
    /// A kernel function's prototype.
    #[arg(long)]
    pub function: Vec<String>,
    /// A syscall (`openat`, `sys_openat`, `__x64_sys_openat`).
    #[arg(long)]
    pub syscall: Vec<String>,
    /// An LSM hook (`file_open`).
    #[arg(long)]
    pub lsm: Vec<String>,
    /// A tracepoint as `subsystem/event`.
    #[arg(long)]
    pub tracepoint: Vec<String>,
    /// A member path from a type: `struct:path`, e.g. `linux_binprm:mm.owner.comm`.
    #[arg(long)]
    pub path: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BuildDbArgs {
    /// Directory holding `<arch>-<release>.btf.xz` (and optionally
    /// `<arch>-<release>.tracepoint-formats.tar.xz` and `.config.xz`).
    #[arg(long)]
    pub from: PathBuf,
    /// Output file.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

pub fn run(args: KernelsArgs) -> Result<ExitCode, BtfError> {
    match args.command.unwrap_or(KernelsCommand::List) {
        KernelsCommand::List => list(),
        KernelsCommand::Show(show_args) => show(show_args),
        KernelsCommand::BuildDb(build_args) => build(build_args),
    }
}

fn list() -> Result<ExitCode, BtfError> {
    let db = carried_db()?;
    let mut out = std::io::stdout().lock();
    let kernels = db.kernels();
    if kernels.is_empty() {
        let _ = writeln!(out, "tpc carries no kernels (the database is empty)");
        return Ok(ExitCode::SUCCESS);
    }
    let _ = writeln!(
        out,
        "{:<18} {:<8} {:<28} {:>9} {:>8} {:>5} {:>9} {:>12}  aliases",
        "name", "arch", "release", "functions", "structs", "lsm", "syscalls", "tracepoints"
    );
    for kernel in kernels {
        let summary = kernel.summary();
        let tracepoints = if summary.tracepoint_formats > 0 {
            summary.tracepoint_formats.to_string()
        } else {
            "btf only".to_string()
        };
        let _ = writeln!(
            out,
            "{:<18} {:<8} {:<28} {:>9} {:>8} {:>5} {:>9} {:>12}  {}",
            summary.name,
            summary.arch.name(),
            summary.release.as_deref().unwrap_or("-"),
            summary.functions,
            summary.structs,
            summary.lsm_hooks,
            summary.syscalls,
            tracepoints,
            summary.aliases.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\ncarried database: {} bytes compressed, {} distinct types, {} distinct struct/union definitions",
        db.compressed_len(),
        db.type_count(),
        db.struct_def_count()
    );
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs) -> Result<ExitCode, BtfError> {
    let mut selections: Vec<KernelSelection> = args
        .kernels
        .iter()
        .map(|name| KernelSelection::from_kernel_arg(name))
        .collect();
    selections.extend(args.btf.iter().cloned().map(KernelSelection::BtfFile));
    let kernels = load_kernels(&selections)?;
    let mut out = std::io::stdout().lock();
    // Any lookup that finds nothing makes the exit status 1, so scripts
    // can test for a function or a path.
    let mut missing = false;
    for kernel in &kernels {
        let identity = kernel.identity();
        let _ = writeln!(
            out,
            "== {} ({}, {})",
            identity.name,
            identity.release.as_deref().unwrap_or("release unknown"),
            kernel.arch()
        );
        for name in &args.function {
            match kernel.function(name) {
                Some(sig) => {
                    let _ = writeln!(out, "function {}", sig.to_c());
                }
                None => {
                    missing = true;
                    let _ = writeln!(out, "function {name}: not in this kernel");
                }
            }
        }
        for name in &args.syscall {
            let resolution = kernel.syscall(name);
            missing |= !resolution.tetragon_attaches();
            let _ = writeln!(
                out,
                "syscall {name}: wrapper {}{}, Tetragon attaches to {} ({})",
                resolution.wrapper.as_deref().unwrap_or("(none)"),
                if resolution.wrapper.is_some() && !resolution.wrapper_in_btf {
                    " (an alias symbol BTF does not list)"
                } else {
                    ""
                },
                resolution.tetragon_symbol,
                if resolution.tetragon_attaches() {
                    "found"
                } else {
                    "not found"
                }
            );
            if let Some(prototype) = &resolution.prototype {
                let params: Vec<String> = prototype
                    .params
                    .iter()
                    .map(|param| format!("{} {}", param.ty.c, param.name))
                    .collect();
                let _ = writeln!(out, "  ({}) from {}", params.join(", "), prototype.source);
            }
        }
        for hook in &args.lsm {
            match kernel.lsm_hook(hook) {
                Some(sig) => {
                    let _ = writeln!(out, "lsm {hook}: {}", sig.to_c());
                }
                None => {
                    missing = true;
                    let _ = writeln!(out, "lsm {hook}: no bpf_lsm_{hook} in this kernel");
                }
            }
        }
        for spec in &args.tracepoint {
            let (subsystem, event) = spec.split_once('/').unwrap_or(("", spec));
            match kernel.tracepoint(subsystem, event) {
                TracepointLookup::Found(info) => {
                    let _ = writeln!(out, "tracepoint {spec} ({:?}):", info.source);
                    for (index, field) in info.fields.iter().enumerate() {
                        let _ = writeln!(
                            out,
                            "  [{index}] {} {} offset={} size={}",
                            field.c_type,
                            field.name,
                            field.offset.map_or("?".to_string(), |v| v.to_string()),
                            field.size.map_or("?".to_string(), |v| v.to_string())
                        );
                    }
                }
                other => {
                    missing = true;
                    let _ = writeln!(out, "tracepoint {spec}: {other:?}");
                }
            }
        }
        for spec in &args.path {
            let (root, path) = spec.split_once(':').unwrap_or((spec, ""));
            match kernel.resolve_path(PathRoot::Type { name: root }, path) {
                Ok(resolved) => {
                    let _ = writeln!(out, "path {spec}: {}", resolved.final_type().c);
                }
                Err(error) => {
                    missing = true;
                    let _ = writeln!(out, "path {spec}: {error}");
                }
            }
        }
    }
    Ok(if missing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// How a kernel in the shared BTF set is named in `tpc`.
struct KernelNaming {
    name: String,
    aliases: Vec<String>,
}

/// Names carried kernels after Debian's releases: `debian-<kernel>` for a
/// suite's own kernel (`debian-5.10` in bullseye, `debian-6.1` in bookworm),
/// `debian-<suite number>-<kernel>` when the release string says `+debN`
/// (`debian-12-6.12` from bookworm-backports, `debian-13-6.12` in trixie),
/// `-arm64` for arm64, and `running-<kernel>` for the development machine.
fn naming(file_stem: &str, release: &str, arch: Arch) -> KernelNaming {
    let version = major_minor(release).unwrap_or_else(|| release.to_string());
    let arm = if arch == Arch::Arm64 { "-arm64" } else { "" };
    let suite_of = |number: &str| match number {
        "11" => Some("bullseye"),
        "12" => Some("bookworm"),
        "13" => Some("trixie"),
        _ => None,
    };
    if file_stem.contains("running") {
        return KernelNaming {
            name: format!("running-{version}"),
            aliases: vec!["running".into(), "dev".into(), version],
        };
    }
    if let Some(suite_number) = release.split("+deb").nth(1).map(|rest| {
        rest.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    }) {
        let mut aliases = Vec::new();
        if let Some(suite) = suite_of(&suite_number) {
            if suite_number == "13" {
                aliases.push(format!("debian-13{arm}"));
                aliases.push(format!("{suite}{arm}"));
                aliases.push(format!("{version}{arm}"));
            } else {
                aliases.push(format!("{suite}-backports{arm}"));
            }
        }
        return KernelNaming {
            name: format!("debian-{suite_number}-{version}{arm}"),
            aliases,
        };
    }
    let suite_number = match version.as_str() {
        "5.10" => Some("11"),
        "6.1" => Some("12"),
        _ => None,
    };
    let mut aliases = Vec::new();
    if let Some(number) = suite_number {
        aliases.push(format!("debian-{number}{arm}"));
        if let Some(suite) = suite_of(number) {
            aliases.push(format!("{suite}{arm}"));
        }
    }
    aliases.push(format!("{version}{arm}"));
    KernelNaming {
        name: format!("debian-{version}{arm}"),
        aliases,
    }
}

fn major_minor(release: &str) -> Option<String> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().filter(|part| !part.is_empty())?;
    let minor = parts.next().filter(|part| !part.is_empty())?;
    Some(format!("{major}.{minor}"))
}

/// The `# Linux/x86 6.18.44 Kernel Configuration` version of a config file.
fn version_from_config(path: &Path) -> Option<String> {
    let bytes = tpc::btf::load::read_file(path).ok()?;
    let text = tpc::btf::load::decompress(bytes, &path.display().to_string()).ok()?;
    let head = String::from_utf8_lossy(&text[..text.len().min(4096)]).into_owned();
    head.lines()
        .find_map(|line| line.strip_prefix("# Linux/"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .map(str::to_string)
}

fn build(args: BuildDbArgs) -> Result<ExitCode, BtfError> {
    let read_dir = std::fs::read_dir(&args.from).map_err(|source| BtfError::Read {
        path: args.from.clone(),
        source,
    })?;
    let mut files: Vec<PathBuf> = read_dir
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.ends_with(".btf.xz") || name.ends_with(".btf.gz") || name.ends_with(".btf")
        })
        .collect();
    files.sort();
    let mut inputs = Vec::new();
    for path in files {
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = file_name
            .trim_end_matches(".xz")
            .trim_end_matches(".gz")
            .trim_end_matches(".btf")
            .to_string();
        let (arch_text, release_text) = stem.split_once('-').unwrap_or(("", stem.as_str()));
        let arch = Arch::from_name(arch_text);
        let config = args.from.join(format!("{stem}.config.xz"));
        let release = if release_text.starts_with(|c: char| c.is_ascii_digit()) {
            release_text.to_string()
        } else {
            version_from_config(&config).unwrap_or_else(|| release_text.to_string())
        };
        let naming = naming(&stem, &release, arch);
        let kernel = BtfKernel::from_path(&path)?.without_reference_syscalls();
        if arch != Arch::Unknown && kernel.arch() != arch {
            eprintln!(
                "warning: {file_name} is named {arch} but its syscall wrappers say {}",
                kernel.arch()
            );
        }
        let formats_path = args.from.join(format!("{stem}.tracepoint-formats.tar.xz"));
        let formats = if formats_path.exists() {
            Some(TracepointFormats::from_path(&formats_path)?)
        } else {
            None
        };
        eprintln!(
            "{file_name}: {} as {} ({}), {} functions{}",
            release,
            naming.name,
            kernel.arch(),
            kernel.function_count(),
            formats
                .as_ref()
                .map(|formats| format!(", {} tracepoint formats", formats.len()))
                .unwrap_or_default()
        );
        let reference = formats.is_some();
        inputs.push(DbInput {
            identity: KernelIdentity {
                name: naming.name,
                aliases: naming.aliases,
                release: Some(release),
                arch: kernel.arch(),
                origin: KernelOrigin::Carried,
            },
            kernel,
            formats,
            reference,
        });
    }
    if inputs.is_empty() {
        return Err(BtfError::NoKernel {
            reason: format!(
                "no *.btf, *.btf.xz or *.btf.gz files in {}",
                args.from.display()
            ),
        });
    }
    let (bytes, stats) = build_db(&inputs)?;
    std::fs::write(&args.output, &bytes).map_err(|source| BtfError::Write {
        path: args.output.clone(),
        source,
    })?;
    eprintln!(
        "wrote {}: {} kernels, {} strings, {} types, {} struct/union definitions, {} bytes encoded, {} bytes xz",
        args.output.display(),
        inputs.len(),
        stats.strings,
        stats.types,
        stats.struct_defs,
        stats.uncompressed_bytes,
        stats.compressed_bytes
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_debian_releases() {
        let name = |stem, release, arch| naming(stem, release, arch).name;
        assert_eq!(
            name("x86_64-5.10.0-46-amd64", "5.10.0-46-amd64", Arch::X86_64),
            "debian-5.10"
        );
        assert_eq!(
            name("x", "6.1.0-56-cloud-amd64", Arch::X86_64),
            "debian-6.1"
        );
        assert_eq!(
            name("x", "6.1.0-56-cloud-arm64", Arch::Arm64),
            "debian-6.1-arm64"
        );
        assert_eq!(
            name("x", "6.12.95+deb12-cloud-amd64", Arch::X86_64),
            "debian-12-6.12"
        );
        assert_eq!(
            name("x", "6.12.107+deb13-cloud-amd64", Arch::X86_64),
            "debian-13-6.12"
        );
        assert_eq!(
            name("x86_64-running", "6.18.44", Arch::X86_64),
            "running-6.18"
        );
        let aliases = naming("x", "6.1.0-56-cloud-amd64", Arch::X86_64).aliases;
        assert!(aliases.contains(&"bookworm".to_string()));
    }
}
