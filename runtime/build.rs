//! Build script: compiles the BPF C in `bpf-programs/` with clang when it is
//! available and tells the crate (cfg `tpc_bpf_objects`) whether the objects
//! were embedded. Without clang the crate still builds; `tpc run` then says
//! how to get the objects.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

/// The object's root; it includes every other file of `bpf-programs/`.
const SOURCES: &[&str] = &["tpc.bpf.c", "fmod_ret.bpf.c"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tpc_bpf_objects)");
    println!("cargo::rerun-if-env-changed=CLANG");
    println!("cargo::rerun-if-env-changed=TPC_NO_BPF");
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let programs_dir = manifest_dir.join("..").join("bpf-programs");
    println!("cargo::rerun-if-changed={}", programs_dir.display());
    if let Ok(entries) = std::fs::read_dir(&programs_dir) {
        for entry in entries.flatten() {
            println!("cargo::rerun-if-changed={}", entry.path().display());
        }
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());

    if env::var_os("TPC_NO_BPF").is_some() {
        println!("cargo::warning=TPC_NO_BPF is set: building without BPF programs");
        return;
    }
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let Some(arch) = bpf_target_arch() else {
        println!(
            "cargo::warning=no BPF target arch for this target: building without BPF programs"
        );
        return;
    };
    if Command::new(&clang).arg("--version").output().is_err() {
        println!(
            "cargo::warning=`{clang}` not found: building without BPF programs (install clang and libbpf-dev and rebuild)"
        );
        return;
    }
    let multiarch_include = multiarch_include_dir(&clang);
    for source in SOURCES {
        let object = out_dir.join(source.replace(".c", ".o"));
        if let Err(message) = compile(
            &clang,
            arch,
            multiarch_include.as_deref(),
            &programs_dir.join(source),
            &object,
        ) {
            println!("cargo::warning=building without BPF programs: {message}");
            return;
        }
    }
    println!("cargo::rustc-cfg=tpc_bpf_objects");
}

/// The `__TARGET_ARCH_*` name libbpf's headers use for the Rust target.
fn bpf_target_arch() -> Option<&'static str> {
    match env::var("CARGO_CFG_TARGET_ARCH").ok()?.as_str() {
        "x86_64" => Some("x86"),
        "aarch64" => Some("arm64"),
        "riscv64" => Some("riscv"),
        "s390x" => Some("s390"),
        "powerpc64" => Some("powerpc"),
        "loongarch64" => Some("loongarch"),
        _ => None,
    }
}

/// Debian keeps `asm/types.h` under `/usr/include/<multiarch>`, which
/// `clang -target bpf` does not search by itself.
fn multiarch_include_dir(clang: &str) -> Option<PathBuf> {
    let output = Command::new(clang).arg("-print-multiarch").output().ok()?;
    let triple = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    if triple.is_empty() {
        return None;
    }
    let dir = Path::new("/usr/include").join(triple);
    dir.is_dir().then_some(dir)
}

fn compile(
    clang: &str,
    arch: &str,
    multiarch_include: Option<&Path>,
    source: &Path,
    object: &Path,
) -> Result<(), String> {
    let mut command = Command::new(clang);
    command
        .args(["-g", "-O2", "-target", "bpf", "-Wall", "-Werror"])
        .arg(format!("-D__TARGET_ARCH_{arch}"));
    if let Some(dir) = multiarch_include {
        command.arg("-I").arg(dir);
    }
    command.arg("-c").arg(source).arg("-o").arg(object);
    let output = command
        .output()
        .map_err(|error| format!("cannot run {clang}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{clang} failed on {}: {}",
            source.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
