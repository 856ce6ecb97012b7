//! The guest kernels: which Debian package of a series to boot (the newest
//! apt knows, or the one an environment variable names), its download with
//! `apt-get download`, and the cache of unpacked `vmlinuz` files.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use super::{VmError, cache_dir, find_on_path, run_tool};

/// A series of Debian kernels: the harness boots its newest package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSeries {
    /// `major.minor`, as the tests name it: "6.1", "6.12".
    pub label: &'static str,
    /// Overrides the choice: a package name (`linux-image-…`) or the path
    /// of a `vmlinuz` file.
    pub env_var: &'static str,
    major: u64,
    minor: u64,
}

/// Debian 12's own kernel, `linux-image-6.1.0-N-cloud-amd64`.
pub const DEBIAN_6_1: KernelSeries = KernelSeries {
    label: "6.1",
    env_var: "TPC_VM_KERNEL_6_1",
    major: 6,
    minor: 1,
};

/// Debian 12's newer kernel, `linux-image-6.12.N+deb12-cloud-amd64`
/// (bookworm-security; `+bpo` from bookworm-backports also fits).
pub const DEBIAN_6_12: KernelSeries = KernelSeries {
    label: "6.12",
    env_var: "TPC_VM_KERNEL_6_12",
    major: 6,
    minor: 12,
};

/// Every series the VM tests boot.
pub const DEBIAN_KERNELS: [KernelSeries; 2] = [DEBIAN_6_1, DEBIAN_6_12];

/// A kernel ready to boot.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The series it was chosen for ("6.1"), or "custom".
    pub series: String,
    /// What `uname -r` prints in the guest, when known
    /// (`6.1.0-57-cloud-amd64`).
    pub release: Option<String>,
    /// The Debian package and version it came from, when it came from one.
    pub package: Option<String>,
    /// The kernel image.
    pub vmlinuz: PathBuf,
    /// The kernel's build configuration (`config-<release>`), when shipped.
    pub config: Option<PathBuf>,
}

impl Kernel {
    /// A kernel image file given directly (no package).
    pub fn from_image(vmlinuz: &Path) -> Result<Self, VmError> {
        if !vmlinuz.is_file() {
            return Err(VmError::Missing {
                piece: format!("kernel image {}", vmlinuz.display()),
                help: "no such file".to_owned(),
            });
        }
        let release = vmlinuz
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_prefix("vmlinuz-"))
            .map(str::to_owned);
        let config = release.as_ref().and_then(|release| {
            let config = vmlinuz.with_file_name(format!("config-{release}"));
            config.is_file().then_some(config)
        });
        Ok(Self {
            series: "custom".to_owned(),
            release,
            package: None,
            vmlinuz: vmlinuz.to_path_buf(),
            config,
        })
    }

    /// How the tests name this kernel: the release, else the image path.
    pub fn name(&self) -> String {
        self.release
            .clone()
            .unwrap_or_else(|| self.vmlinuz.display().to_string())
    }

    /// Whether the kernel's configuration sets `option` (`CONFIG_BPF_LSM`)
    /// to `y`; `None` when the configuration is not known.
    pub fn config_enabled(&self, option: &str) -> Option<bool> {
        let text = fs::read_to_string(self.config.as_ref()?).ok()?;
        let wanted = format!("{option}=y");
        Some(text.lines().any(|line| line == wanted))
    }
}

impl KernelSeries {
    /// The kernel to boot for this series: the package or image named by
    /// [`Self::env_var`], else the newest package of the series apt knows
    /// (downloaded once, then cached), else the newest cached one when apt
    /// knows none.
    pub fn fetch(&self) -> Result<Kernel, VmError> {
        let cache = cache_dir().join("kernels");
        if let Some(chosen) = std::env::var_os(self.env_var).filter(|value| !value.is_empty()) {
            let chosen_path = PathBuf::from(&chosen);
            if chosen_path.components().count() > 1 || chosen_path.is_file() {
                let mut kernel = Kernel::from_image(&chosen_path)?;
                self.label.clone_into(&mut kernel.series);
                return Ok(kernel);
            }
            let package = chosen.to_string_lossy().into_owned();
            return self.fetch_package(&package, &cache);
        }
        let newest = self.newest_package();
        if let Ok(Some(package)) = newest {
            return self.fetch_package(&package, &cache);
        }
        if let Some(kernel) = self.newest_cached(&cache) {
            eprintln!(
                "vm: apt offers no {} kernel package; booting the cached {}",
                self.label,
                kernel.package.as_deref().unwrap_or("kernel")
            );
            return Ok(kernel);
        }
        match newest {
            Err(error) => Err(error),
            Ok(_) => Err(VmError::NoKernelPackage {
                series: self.label.to_owned(),
                pattern: format!("linux-image-{}.*-cloud-amd64[-unsigned]", self.label),
                cache,
            }),
        }
    }

    /// The newest package of this series in apt's lists.
    fn newest_package(&self) -> Result<Option<String>, VmError> {
        if find_on_path("apt-cache").is_none() {
            return Err(VmError::Missing {
                piece: "apt-cache".to_owned(),
                help: "the harness downloads Debian kernel packages with apt".to_owned(),
            });
        }
        let listing = run_tool(Command::new("apt-cache").args([
            "search",
            "--names-only",
            "^linux-image-[0-9].*-cloud-amd64",
        ]))?;
        let listing = String::from_utf8_lossy(&listing);
        Ok(newest_in_series(
            listing
                .lines()
                .filter_map(|line| line.split_whitespace().next()),
            self,
        ))
    }

    /// Downloads (unless cached) and unpacks `package`.
    fn fetch_package(&self, package: &str, cache: &Path) -> Result<Kernel, VmError> {
        let version = candidate_version(package)?;
        let entry = cache.join(format!("{package}_{}", version.replace(':', "%3a")));
        if let Some(kernel) = cached_kernel(&entry, self.label, package, &version) {
            return Ok(kernel);
        }
        eprintln!(
            "vm: downloading {package} {version} into {}",
            cache.display()
        );
        fs::create_dir_all(cache).map_err(|error| VmError::io("creating", cache, error))?;
        let staging = cache.join(format!(".download-{}-{package}", std::process::id()));
        let _ignored = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(|error| VmError::io("creating", &staging, error))?;
        let result = download_and_unpack(package, &staging);
        let outcome = result.and_then(|()| {
            let _ignored = fs::remove_dir_all(&entry);
            fs::rename(&staging, &entry).map_err(|error| VmError::io("moving into", &entry, error))
        });
        if outcome.is_err() {
            let _ignored = fs::remove_dir_all(&staging);
        }
        outcome?;
        cached_kernel(&entry, self.label, package, &version).ok_or_else(|| VmError::Tool {
            command: format!("dpkg-deb --fsys-tarfile {package}"),
            status: "no boot/vmlinuz-* in the package".to_owned(),
            stderr: String::new(),
        })
    }

    /// The newest kernel of this series already in the cache.
    fn newest_cached(&self, cache: &Path) -> Option<Kernel> {
        let entries = fs::read_dir(cache).ok()?;
        let mut best: Option<(Vec<u64>, PathBuf, String, String)> = None;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((package, version)) = name.split_once('_') else {
                continue;
            };
            let Some(key) = version_key(package, self) else {
                continue;
            };
            if best.as_ref().is_none_or(|(best_key, ..)| key > *best_key) {
                best = Some((key, entry.path(), package.to_owned(), version.to_owned()));
            }
        }
        let (_, path, package, version) = best?;
        cached_kernel(&path, self.label, &package, &version)
    }
}

/// The candidate version apt would download for `package`.
fn candidate_version(package: &str) -> Result<String, VmError> {
    let shown = run_tool(Command::new("apt-cache").args(["show", "--no-all-versions", package]))
        .map_err(|error| match error {
            VmError::Tool { stderr, .. } => VmError::KernelDownload {
                package: package.to_owned(),
                status: "`apt-cache show` knows no such package".to_owned(),
                stderr,
            },
            other => other,
        })?;
    String::from_utf8_lossy(&shown)
        .lines()
        .find_map(|line| line.strip_prefix("Version: "))
        .map(|version| version.trim().to_owned())
        .ok_or_else(|| VmError::KernelDownload {
            package: package.to_owned(),
            status: "apt-cache show printed no version".to_owned(),
            stderr: String::new(),
        })
}

/// `apt-get download PACKAGE` into `dir`, then only `boot/` of it unpacked
/// there (`dpkg-deb --fsys-tarfile | tar -x ./boot`); the `.deb` is removed.
fn download_and_unpack(package: &str, dir: &Path) -> Result<(), VmError> {
    for tool in ["apt-get", "dpkg-deb", "tar"] {
        if find_on_path(tool).is_none() {
            return Err(VmError::Missing {
                piece: tool.to_owned(),
                help: "needed to download and unpack Debian kernel packages".to_owned(),
            });
        }
    }
    let download = Command::new("apt-get")
        .args(["download", "-q", package])
        .current_dir(dir)
        .output()
        .map_err(|error| VmError::io("running apt-get download in", dir, error))?;
    let deb = fs::read_dir(dir)
        .map_err(|error| VmError::io("listing", dir, error))?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"));
    let (true, Some(deb)) = (download.status.success(), deb) else {
        // apt's warning that root downloads without its sandbox user is noise here
        let stderr: Vec<String> = String::from_utf8_lossy(&download.stderr)
            .lines()
            .filter(|line| !line.contains("Download is performed unsandboxed"))
            .map(str::to_owned)
            .collect();
        return Err(VmError::KernelDownload {
            package: package.to_owned(),
            status: format!("`apt-get download` ended with {}", download.status),
            stderr: stderr.join("\n"),
        });
    };
    let mut unpack = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(&deb)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| VmError::io("running dpkg-deb on", &deb, error))?;
    let tar_input = unpack.stdout.take().map_or_else(Stdio::null, Stdio::from);
    let extract = run_tool(
        Command::new("tar")
            .args(["-x", "--wildcards", "./boot/*"])
            .current_dir(dir)
            .stdin(tar_input),
    );
    let unpacked = unpack
        .wait_with_output()
        .map_err(|error| VmError::io("running dpkg-deb on", &deb, error))?;
    if !unpacked.status.success() {
        return Err(VmError::Tool {
            command: format!("dpkg-deb --fsys-tarfile {}", deb.display()),
            status: unpacked.status.to_string(),
            stderr: String::from_utf8_lossy(&unpacked.stderr).trim().to_owned(),
        });
    }
    extract?;
    fs::remove_file(&deb).map_err(|error| VmError::io("removing", &deb, error))
}

/// The kernel unpacked in cache entry `dir`, if it is complete.
fn cached_kernel(dir: &Path, series: &str, package: &str, version: &str) -> Option<Kernel> {
    let boot = dir.join("boot");
    let vmlinuz = fs::read_dir(&boot)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("vmlinuz-"))
        })?;
    let mut kernel = Kernel::from_image(&vmlinuz).ok()?;
    series.clone_into(&mut kernel.series);
    kernel.package = Some(format!("{package} {}", version.replace("%3a", ":")));
    Some(kernel)
}

/// The numbers of a kernel package's release, when `package` is a
/// `linux-image-<release>-cloud-amd64[-unsigned]` of `series`:
/// `[6, 1, 0, 57]`, `[6, 12, 118, 12]`, with the unsigned variant last
/// (preferred when both exist).
fn version_key(package: &str, series: &KernelSeries) -> Option<Vec<u64>> {
    let release = package.strip_prefix("linux-image-")?;
    let (release, unsigned) = match release.strip_suffix("-unsigned") {
        Some(release) => (release, 1),
        None => (release, 0),
    };
    let release = release.strip_suffix("-cloud-amd64")?;
    if !release.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut numbers: Vec<u64> = release
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // `6.12-cloud-amd64` is the meta package; a real one has a patch level
    if numbers.len() < 3 || numbers[0] != series.major || numbers[1] != series.minor {
        return None;
    }
    numbers.push(unsigned);
    Some(numbers)
}

/// The newest of `packages` in `series`.
fn newest_in_series<'a>(
    packages: impl Iterator<Item = &'a str>,
    series: &KernelSeries,
) -> Option<String> {
    packages
        .filter_map(|package| Some((version_key(package, series)?, package)))
        .max_by(|left, right| left.0.cmp(&right.0))
        .map(|(_, package)| package.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &[&str] = &[
        "linux-image-6.1.0-47-cloud-amd64-dbg",
        "linux-image-6.1.0-47-cloud-amd64-unsigned",
        "linux-image-6.1.0-9-cloud-amd64",
        "linux-image-6.1.0-57-cloud-amd64",
        "linux-image-6.1.0-57-cloud-amd64-unsigned",
        "linux-image-cloud-amd64",
        "linux-image-6.12-cloud-amd64",
        "linux-image-6.12.9+deb12-cloud-amd64-unsigned",
        "linux-image-6.12.118+deb12-cloud-amd64-unsigned",
        "linux-image-6.12.118+deb12-cloud-amd64",
        "linux-image-6.12.111+deb12-cloud-amd64-unsigned",
        "linux-image-6.10.1-cloud-amd64",
    ];

    #[test]
    fn the_newest_package_of_each_series_wins_unsigned_first() {
        let newest = |series| newest_in_series(LISTING.iter().copied(), series);
        assert_eq!(
            newest(&DEBIAN_6_1).as_deref(),
            Some("linux-image-6.1.0-57-cloud-amd64-unsigned")
        );
        assert_eq!(
            newest(&DEBIAN_6_12).as_deref(),
            Some("linux-image-6.12.118+deb12-cloud-amd64-unsigned")
        );
    }

    #[test]
    fn abi_numbers_compare_as_numbers_not_text() {
        let listing = [
            "linux-image-6.1.0-9-cloud-amd64",
            "linux-image-6.1.0-10-cloud-amd64",
        ];
        assert_eq!(
            newest_in_series(listing.into_iter(), &DEBIAN_6_1).as_deref(),
            Some("linux-image-6.1.0-10-cloud-amd64")
        );
    }

    #[test]
    fn backports_packages_fit_the_6_12_series() {
        let listing = ["linux-image-6.12.12+bpo-cloud-amd64-unsigned"];
        assert_eq!(
            newest_in_series(listing.into_iter(), &DEBIAN_6_12).as_deref(),
            Some("linux-image-6.12.12+bpo-cloud-amd64-unsigned")
        );
        assert_eq!(newest_in_series(listing.into_iter(), &DEBIAN_6_1), None);
    }

    #[test]
    fn meta_debug_and_other_series_packages_are_ignored() {
        let listing = [
            "linux-image-cloud-amd64",
            "linux-image-6.12-cloud-amd64",
            "linux-image-6.1.0-57-cloud-amd64-dbg",
            "linux-image-6.10.1-cloud-amd64",
        ];
        assert_eq!(newest_in_series(listing.into_iter(), &DEBIAN_6_1), None);
        assert_eq!(newest_in_series(listing.into_iter(), &DEBIAN_6_12), None);
    }
}
