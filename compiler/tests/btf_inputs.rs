//! Every accepted input form loads to the same kernel: raw BTF, gzip, xz,
//! and an ELF file carrying the blob in a `.BTF` section (built here with
//! `objcopy`, as a stand-in for an uncompressed `vmlinux`).

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod btf_support;

use std::io::Write;
use std::process::Command;

use tpc::btf::{BtfKernel, KernelInfo, load};

#[test]
fn raw_gzip_xz_and_elf_inputs_agree() {
    let source = btf_support::shared_dir().join("btf/x86_64-5.10.0-46-amd64.btf.xz");
    if !btf_support::require(source.exists(), "no shared 5.10 BTF") {
        return;
    }
    let raw = load::raw_btf_from_path(&source).unwrap();
    let dir = std::env::temp_dir().join(format!("tpc-btf-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let raw_path = dir.join("vmlinux-5.10.btf");
    std::fs::write(&raw_path, &raw).unwrap();
    let gz_path = dir.join("vmlinux-5.10.btf.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&raw).unwrap();
    std::fs::write(&gz_path, encoder.finish().unwrap()).unwrap();

    let mut paths = vec![source.clone(), raw_path.clone(), gz_path];
    let elf_path = dir.join("vmlinux-5.10");
    let host_elf = std::env::current_exe().unwrap();
    let objcopy = Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".BTF={}", raw_path.display()))
        .arg(&host_elf)
        .arg(&elf_path)
        .status();
    if btf_support::require(
        objcopy.is_ok_and(|status| status.success()),
        "objcopy (binutils) is not available",
    ) {
        paths.push(elf_path);
    }
    let expected = BtfKernel::from_path(&source)
        .unwrap()
        .function("fd_install")
        .unwrap();
    for path in &paths {
        let kernel = BtfKernel::from_path(path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(
            kernel.function("fd_install").as_ref(),
            Some(&expected),
            "{}",
            path.display()
        );
        assert_eq!(kernel.function_count(), 35009, "{}", path.display());
    }
    // An ELF without .BTF is named as such.
    let error = BtfKernel::from_path(&host_elf).err().unwrap();
    assert!(error.to_string().contains("no .BTF section"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}
