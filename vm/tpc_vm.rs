//! `tpc-vm`: runs scenarios by hand in a Debian kernel under QEMU, with the
//! same harness the VM tests use (`tests/src/vm.rs`). Prints each
//! scenario's status and output; exits 0 when all passed, 1 when one
//! failed, 2 when the boot itself failed. `vm/README.md` has examples.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use tpc_tests::vm::{self, Guest, Kernel, Scenario, VmError};

/// Boot a Debian kernel under QEMU and run shell scenarios in it.
#[derive(Debug, Parser)]
#[command(name = "tpc-vm")]
struct Arguments {
    /// Kernel: `6.1`, `6.12`, `all` (one boot each), or a vmlinuz path.
    #[arg(long, default_value = "6.12")]
    kernel: String,
    /// A binary for the guest, with the shared libraries it needs:
    /// `HOST[=GUEST]` (default guest path /usr/local/bin/NAME).
    #[arg(long, value_name = "HOST[=GUEST]")]
    binary: Vec<String>,
    /// A file for the guest: `HOST[=GUEST]` (default /data/NAME).
    #[arg(long, value_name = "HOST[=GUEST]")]
    file: Vec<String>,
    /// BPF C to compile with clang and put in the guest:
    /// `SOURCE[=GUEST]` (default /data/STEM.bpf.o).
    #[arg(long, value_name = "SOURCE[=GUEST]")]
    bpf: Vec<String>,
    /// A scenario given inline, as a shell command (named `inline-N`).
    #[arg(long = "run", value_name = "COMMAND")]
    inline: Vec<String>,
    /// Each scenario's time limit, in seconds.
    #[arg(long, default_value_t = 60)]
    time_limit: u64,
    /// One more kernel command-line argument (repeatable; a later `lsm=`
    /// overrides the harness's).
    #[arg(long, value_name = "ARGUMENT")]
    append: Vec<String>,
    /// Print the guest's console log too.
    #[arg(long)]
    console: bool,
    /// Scenario scripts (each named after its file, without `.sh`).
    scripts: Vec<PathBuf>,
}

fn split_mapping(
    value: &str,
    default_dir: &str,
    default_name: impl Fn(&str) -> String,
) -> (PathBuf, String) {
    match value.split_once('=') {
        Some((host, guest)) => (PathBuf::from(host), guest.to_owned()),
        None => {
            let host = PathBuf::from(value);
            let name = host
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            (host, format!("{default_dir}/{}", default_name(&name)))
        }
    }
}

fn guest(arguments: &Arguments) -> Result<Guest, VmError> {
    let mut guest = Guest::new();
    for argument in &arguments.append {
        guest = guest.kernel_argument(argument);
    }
    for binary in &arguments.binary {
        let (host, path) = split_mapping(binary, "/usr/local/bin", str::to_owned);
        guest = guest.binary(host, &path);
    }
    for file in &arguments.file {
        let (host, path) = split_mapping(file, "/data", str::to_owned);
        guest = guest.file(host, &path);
    }
    for source in &arguments.bpf {
        let (host, path) = split_mapping(source, "/data", |name| {
            format!(
                "{}.bpf.o",
                name.trim_end_matches(".c").trim_end_matches(".bpf")
            )
        });
        guest = guest.file(vm::compile_bpf(&host)?, &path);
    }
    let limit = Duration::from_secs(arguments.time_limit);
    for script in &arguments.scripts {
        let text = std::fs::read_to_string(script).map_err(|error| VmError::Io {
            action: "reading",
            path: script.clone(),
            source: error,
        })?;
        let name = script
            .file_name()
            .map(|name| name.to_string_lossy().trim_end_matches(".sh").to_owned())
            .unwrap_or_default();
        guest = guest.scenario(Scenario::new(&name, &text).time_limit(limit));
    }
    for (index, command) in arguments.inline.iter().enumerate() {
        let name = format!("inline-{}", index + 1);
        guest = guest.scenario(Scenario::new(&name, command).time_limit(limit));
    }
    Ok(guest)
}

fn kernels(choice: &str) -> Result<Vec<Kernel>, VmError> {
    match choice {
        "all" => vm::DEBIAN_KERNELS
            .iter()
            .map(vm::KernelSeries::fetch)
            .collect(),
        label => match vm::DEBIAN_KERNELS
            .iter()
            .find(|series| series.label == label)
        {
            Some(series) => Ok(vec![series.fetch()?]),
            None => Ok(vec![Kernel::from_image(std::path::Path::new(label))?]),
        },
    }
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    if arguments.scripts.is_empty() && arguments.inline.is_empty() {
        eprintln!("tpc-vm: no scenario: give script files or --run COMMAND");
        return ExitCode::from(2);
    }
    let prepared = guest(&arguments).and_then(|guest| Ok((guest, kernels(&arguments.kernel)?)));
    let (guest, kernels) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            eprintln!("tpc-vm: {error}");
            return ExitCode::from(2);
        }
    };
    let mut code = ExitCode::SUCCESS;
    for kernel in &kernels {
        match guest.boot(kernel) {
            Ok(report) => {
                for result in &report.results {
                    println!("== {} on {}: {}", result.name, report.kernel, result.status);
                    print!("{}", result.output);
                    if !result.output.is_empty() && !result.output.ends_with('\n') {
                        println!();
                    }
                }
                if arguments.console {
                    println!("== console of {}\n{}", report.kernel, report.console);
                }
                eprintln!("{}", report.summary());
                if report.results.iter().any(|result| !result.passed()) {
                    code = ExitCode::FAILURE;
                }
            }
            Err(error) => {
                eprintln!("tpc-vm: {error}");
                return ExitCode::from(2);
            }
        }
    }
    code
}
