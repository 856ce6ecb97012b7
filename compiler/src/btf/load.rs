//! Turning a file's bytes into raw BTF bytes: magic-byte detection, xz/gzip
//! decompression and `.BTF` extraction from ELF files.

use std::io::Read;
use std::path::Path;

use object::{Object, ObjectSection};

use super::error::BtfError;

/// What the first bytes of a blob say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobFormat {
    /// Raw BTF, either endianness (magic `0xeb9f`).
    RawBtf,
    /// An ELF object (e.g. an uncompressed `vmlinux`).
    Elf,
    /// xz container.
    Xz,
    /// gzip container.
    Gzip,
    /// A POSIX tar archive (used for tracepoint `format` file sets).
    Tar,
    Unknown,
}

const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ELF_MAGIC: &[u8] = &[0x7f, b'E', b'L', b'F'];

/// Classifies a blob by its magic bytes.
pub fn detect_format(bytes: &[u8]) -> BlobFormat {
    if bytes.starts_with(XZ_MAGIC) {
        BlobFormat::Xz
    } else if bytes.starts_with(GZIP_MAGIC) {
        BlobFormat::Gzip
    } else if bytes.starts_with(ELF_MAGIC) {
        BlobFormat::Elf
    } else if bytes.starts_with(&[0x9f, 0xeb]) || bytes.starts_with(&[0xeb, 0x9f]) {
        BlobFormat::RawBtf
    } else if bytes.len() >= 262 && &bytes[257..262] == b"ustar" {
        BlobFormat::Tar
    } else {
        BlobFormat::Unknown
    }
}

/// Decompresses xz or gzip data; other data is returned unchanged.
/// `what` names the data in errors.
pub fn decompress(bytes: Vec<u8>, what: &str) -> Result<Vec<u8>, BtfError> {
    match detect_format(&bytes) {
        BlobFormat::Xz => {
            // BTF compresses about 4:1; reserving up front avoids regrowing.
            let mut out = Vec::with_capacity(bytes.len().saturating_mul(5));
            liblzma::read::XzDecoder::new_multi_decoder(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|source| BtfError::Decompress {
                    what: what.to_string(),
                    format: "xz",
                    source,
                })?;
            Ok(out)
        }
        BlobFormat::Gzip => {
            let mut out = Vec::with_capacity(bytes.len().saturating_mul(5));
            flate2::read::MultiGzDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|source| BtfError::Decompress {
                    what: what.to_string(),
                    format: "gzip",
                    source,
                })?;
            Ok(out)
        }
        _ => Ok(bytes),
    }
}

/// Reads a file whole.
pub fn read_file(path: &Path) -> Result<Vec<u8>, BtfError> {
    std::fs::read(path).map_err(|source| BtfError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Produces raw BTF bytes from any accepted input: raw BTF, an ELF file with a
/// `.BTF` section, or either of them compressed with xz or gzip.
pub fn raw_btf_from_bytes(bytes: Vec<u8>, what: &str) -> Result<Vec<u8>, BtfError> {
    let bytes = decompress(bytes, what)?;
    match detect_format(&bytes) {
        BlobFormat::RawBtf => Ok(bytes),
        BlobFormat::Elf => btf_section_of_elf(&bytes, what),
        _ => Err(BtfError::UnknownFormat {
            what: what.to_string(),
        }),
    }
}

/// Reads and unpacks a BTF file from disk (see [`raw_btf_from_bytes`]).
pub fn raw_btf_from_path(path: &Path) -> Result<Vec<u8>, BtfError> {
    let bytes = read_file(path)?;
    raw_btf_from_bytes(bytes, &path.display().to_string())
}

fn btf_section_of_elf(bytes: &[u8], what: &str) -> Result<Vec<u8>, BtfError> {
    let file = object::File::parse(bytes).map_err(|error| BtfError::Elf {
        what: what.to_string(),
        message: error.to_string(),
    })?;
    let section = file
        .section_by_name(".BTF")
        .ok_or_else(|| BtfError::NoBtfSection {
            what: what.to_string(),
        })?;
    let data = section.data().map_err(|error| BtfError::Elf {
        what: what.to_string(),
        message: error.to_string(),
    })?;
    Ok(data.to_vec())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;

    #[test]
    fn detects_magics() {
        assert_eq!(detect_format(&[0x9f, 0xeb, 1, 0]), BlobFormat::RawBtf);
        assert_eq!(detect_format(&[0xeb, 0x9f, 1, 0]), BlobFormat::RawBtf);
        assert_eq!(detect_format(b"\x7fELF\x02"), BlobFormat::Elf);
        assert_eq!(detect_format(b"\x1f\x8b\x08"), BlobFormat::Gzip);
        assert_eq!(detect_format(b"\xfd7zXZ\x00\x00"), BlobFormat::Xz);
        assert_eq!(detect_format(b"hello"), BlobFormat::Unknown);
    }

    #[test]
    fn rejects_unknown_bytes() {
        let error = raw_btf_from_bytes(b"not btf at all".to_vec(), "junk");
        assert!(matches!(error, Err(BtfError::UnknownFormat { .. })));
    }

    #[test]
    fn gzip_roundtrip_reaches_raw_check() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&[0x9f, 0xeb, 1, 0, 24, 0, 0, 0]).unwrap();
        let gz = encoder.finish().unwrap();
        let raw = raw_btf_from_bytes(gz, "gz").unwrap();
        assert_eq!(raw, vec![0x9f, 0xeb, 1, 0, 24, 0, 0, 0]);
    }
}
