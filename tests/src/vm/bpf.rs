//! BPF C for the guests, compiled on the host with clang (`-target bpf`,
//! CO-RE, the flags `runtime/build.rs` uses) into the VM cache.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

use super::{VmError, cache_dir, find_on_path, run_tool};

static COMPILES: AtomicU32 = AtomicU32::new(0);

/// Compiles `source` (a `.bpf.c` file) into `<cache>/bpf/<stem>.o` and
/// returns the object's path. clang is `$CLANG` or `clang`; the libbpf
/// headers come from `libbpf-dev`. Either missing is a missing piece.
pub fn compile_bpf(source: &Path) -> Result<PathBuf, VmError> {
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    if find_on_path(&clang).is_none() {
        return Err(VmError::Missing {
            piece: clang,
            help: "compiling the guests' BPF programs needs clang (`apt-get install clang libbpf-dev`; scripts/setup-debian.sh does)".to_owned(),
        });
    }
    let stem = source
        .file_name()
        .and_then(|name| name.to_str())
        .map(|name| name.trim_end_matches(".c").trim_end_matches(".bpf"))
        .filter(|stem| !stem.is_empty())
        .ok_or_else(|| VmError::InvalidGuest {
            reason: format!("{} is not a BPF C source", source.display()),
        })?;
    let out_dir = cache_dir().join("bpf");
    fs::create_dir_all(&out_dir).map_err(|error| VmError::io("creating", &out_dir, error))?;
    let object = out_dir.join(format!("{stem}.bpf.o"));
    // two tests may compile the same source at once: each writes its own
    // file, then renames it into place
    let unique = COMPILES.fetch_add(1, Ordering::Relaxed);
    let partial = out_dir.join(format!(".{stem}.bpf.o.{}.{unique}", std::process::id()));
    let multiarch = run_tool(Command::new(&clang).arg("-print-multiarch"))
        .map(|stdout| String::from_utf8_lossy(&stdout).trim().to_owned())
        .unwrap_or_default();
    let mut command = Command::new(&clang);
    command.args([
        "-g",
        "-O2",
        "-target",
        "bpf",
        "-Wall",
        "-Werror",
        "-D__TARGET_ARCH_x86",
    ]);
    if !multiarch.is_empty() {
        command.arg("-I").arg(format!("/usr/include/{multiarch}"));
    }
    command.arg("-c").arg(source).arg("-o").arg(&partial);
    let compiled = run_tool(&mut command);
    if compiled.is_err() {
        let _ignored = fs::remove_file(&partial);
    }
    match compiled {
        Ok(_) => fs::rename(&partial, &object)
            .map(|()| object.clone())
            .map_err(|error| VmError::io("moving into place", &object, error)),
        Err(VmError::Tool { stderr, .. })
            if stderr.contains("bpf/bpf_helpers.h' file not found") =>
        {
            Err(VmError::Missing {
                piece: "libbpf headers (bpf/bpf_helpers.h)".to_owned(),
                help: "`apt-get install libbpf-dev` (scripts/setup-debian.sh does)".to_owned(),
            })
        }
        Err(error) => Err(error),
    }
}
