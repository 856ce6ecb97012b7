//! Turning the command line's kernel choices (`--btf FILE`, `--kernel NAME`,
//! `--kernel all`, or nothing) into loaded kernels.

use std::path::{Path, PathBuf};

use super::btf_kernel::{BtfKernel, SYSFS_VMLINUX};
use super::db::carried_db;
use super::error::BtfError;
use super::kernel::KernelInfo;

/// One kernel source a user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelSelection {
    /// `/sys/kernel/btf/vmlinux` (the default when nothing is chosen).
    Running,
    /// `--btf FILE`: raw BTF, an ELF with `.BTF`, or either xz/gzip-compressed.
    BtfFile(PathBuf),
    /// `--btf FILE` together with a tracepoint format set (a tarball or an
    /// `events/` directory) for that kernel.
    BtfFileWithFormats { btf: PathBuf, formats: PathBuf },
    /// `--kernel NAME`: a carried kernel by name or alias.
    Carried(String),
    /// `--kernel all`: every carried kernel.
    AllCarried,
}

impl KernelSelection {
    /// Reads a `--kernel` value (`all` selects every carried kernel).
    pub fn from_kernel_arg(value: &str) -> Self {
        if value == "all" {
            Self::AllCarried
        } else {
            Self::Carried(value.to_string())
        }
    }
}

/// Loads every selected kernel, in the order given; BTF files are read and
/// indexed in parallel. With no selection, the running kernel's BTF is used
/// when present.
pub fn load_kernels(selections: &[KernelSelection]) -> Result<Vec<Box<dyn KernelInfo>>, BtfError> {
    let defaulted;
    let selections = if selections.is_empty() {
        if !Path::new(SYSFS_VMLINUX).exists() {
            return Err(BtfError::NoKernel {
                reason: format!(
                    "{SYSFS_VMLINUX} does not exist; pass --btf FILE or --kernel NAME (see `tpc kernels`)"
                ),
            });
        }
        defaulted = [KernelSelection::Running];
        &defaulted[..]
    } else {
        selections
    };

    // Load BTF files concurrently: decompression dominates and is per file.
    let mut loaded: Vec<Option<Result<Box<dyn KernelInfo>, BtfError>>> =
        selections.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = selections
            .iter()
            .enumerate()
            .filter_map(|(index, selection)| {
                let job: Box<dyn FnOnce() -> Result<Box<dyn KernelInfo>, BtfError> + Send> =
                    match selection {
                        KernelSelection::Running => Box::new(|| {
                            BtfKernel::running()
                                .map(|kernel| Box::new(kernel) as Box<dyn KernelInfo>)
                        }),
                        KernelSelection::BtfFile(path) => Box::new(move || {
                            BtfKernel::from_path(path)
                                .map(|kernel| Box::new(kernel) as Box<dyn KernelInfo>)
                        }),
                        KernelSelection::BtfFileWithFormats { btf, formats } => {
                            Box::new(move || {
                                let formats =
                                    super::tracepoint::TracepointFormats::from_path(formats)?;
                                BtfKernel::from_path(btf).map(|kernel| {
                                    Box::new(kernel.with_tracepoint_formats(formats))
                                        as Box<dyn KernelInfo>
                                })
                            })
                        }
                        KernelSelection::Carried(_) | KernelSelection::AllCarried => return None,
                    };
                Some((index, scope.spawn(job)))
            })
            .collect();
        for (index, handle) in handles {
            let result = handle.join().unwrap_or_else(|_| {
                Err(BtfError::NoKernel {
                    reason: "a BTF loading thread panicked".to_string(),
                })
            });
            loaded[index] = Some(result);
        }
    });

    let mut kernels: Vec<Box<dyn KernelInfo>> = Vec::new();
    for (selection, slot) in selections.iter().zip(loaded) {
        match (selection, slot) {
            (_, Some(result)) => kernels.push(result?),
            (KernelSelection::Carried(name), None) => {
                let db = carried_db()?;
                let kernel = db.kernel(name).ok_or_else(|| BtfError::UnknownKernel {
                    name: name.clone(),
                    known: db
                        .kernels()
                        .iter()
                        .map(|kernel| kernel.identity().name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
                kernels.push(Box::new(kernel));
            }
            (KernelSelection::AllCarried, None) => {
                for kernel in carried_db()?.kernels() {
                    kernels.push(Box::new(kernel));
                }
            }
            (_, None) => {}
        }
    }
    Ok(kernels)
}
