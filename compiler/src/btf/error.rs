//! The one error enum of the `btf` domain: loading, decoding and carried-database failures.

use std::path::PathBuf;

/// Everything that can go wrong while loading kernel type data.
///
/// Lookups that simply find nothing (a missing function, a wrong member name)
/// are not errors: they are answers, returned as `Option` or as the dedicated
/// result types in [`crate::btf::types`].
#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot decompress {what} ({format})")]
    Decompress {
        what: String,
        format: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{what} is not BTF: expected raw BTF, an ELF file with a .BTF section, or either compressed with xz or gzip"
    )]
    UnknownFormat { what: String },
    #[error("cannot parse ELF file {what}: {message}")]
    Elf { what: String, message: String },
    #[error("ELF file {what} has no .BTF section")]
    NoBtfSection { what: String },
    #[error("malformed BTF: {reason}")]
    Malformed { reason: String },
    #[error("split BTF (a module's BTF, which needs vmlinux as its base) is not supported: {what}")]
    SplitBtf { what: String },
    #[error("malformed tar archive {what}: {reason}")]
    Tar { what: String, reason: String },
    #[error("malformed carried kernel database: {reason}")]
    Database { reason: String },
    #[error("no carried kernel is called {name:?}; known: {known}")]
    UnknownKernel { name: String, known: String },
    #[error("no kernel BTF found: {reason}")]
    NoKernel { reason: String },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl BtfError {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed {
            reason: reason.into(),
        }
    }

    pub(crate) fn database(reason: impl Into<String>) -> Self {
        Self::Database {
            reason: reason.into(),
        }
    }
}
