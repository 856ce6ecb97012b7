//! Errors of the runtime: environment checks, loading and attaching, reading the kernel's maps, decoding records.

use std::path::PathBuf;

/// What went wrong while starting, running or stopping the sensor.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "built without BPF programs: install clang and libbpf-dev and rebuild (see bpf-programs/README.md)"
    )]
    NoBpfObjects,
    #[error("loading BPF programs needs root (or CAP_BPF and CAP_PERFMON): run `sudo tpc run`")]
    NotPrivileged,
    #[error(
        "the kernel exposes no BTF at {path}: the CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y"
    )]
    NoKernelBtf { path: PathBuf },
    #[error("{filesystem} is not mounted at {path} and mounting it failed ({source}); mount it with `mount -t {fstype} {fstype} {path}`", path = path.display())]
    FilesystemMissing {
        filesystem: &'static str,
        fstype: &'static str,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("cannot load the BPF object {object}")]
    Load {
        object: &'static str,
        #[source]
        source: Box<aya::EbpfError>,
    },
    #[error("the BPF object {object} has no {what} named {name}")]
    MissingInObject {
        object: &'static str,
        what: &'static str,
        name: &'static str,
    },
    #[error("cannot load or attach program {program} to {attach_point}")]
    Program {
        program: &'static str,
        attach_point: &'static str,
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    #[error("cannot use map {map}")]
    Map {
        map: &'static str,
        #[source]
        source: Box<aya::maps::MapError>,
    },
    #[error("cannot wait for ring buffer records")]
    Poll {
        #[source]
        source: nix::Error,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the clock")]
    Clock {
        #[source]
        source: nix::Error,
    },
    #[error("cannot install handlers for SIGINT/SIGTERM")]
    Signals {
        #[source]
        source: std::io::Error,
    },
    #[error("the kernel's verifier rejected program {program} (for {target}): {reason}\n{log}")]
    Verifier {
        program: String,
        target: String,
        reason: String,
        /// The end of the verifier log, where the failing instruction is.
        log: String,
    },
    #[error("cannot attach program {program} to {target}")]
    Attach {
        program: String,
        target: String,
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    #[error("cannot attach program {program} to {target}: {reason}")]
    AttachSetup {
        program: String,
        target: String,
        reason: String,
    },
    #[error("cannot detach a hook program")]
    Detach {
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    #[error("the sensor object has no program {program}")]
    MissingProgram { program: String },
    #[error("an entry of map {map} has {found} bytes where the layout has {expected}")]
    EntrySize {
        map: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("map {map} is not a policy map of the sensor object")]
    UnknownMap { map: &'static str },
    #[error("the sensor was already shut down")]
    ShutDown,
    #[error(transparent)]
    Bundle(#[from] crate::policies::LoadError),
}

/// A ring-buffer record that does not match the wire layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{what} record too short: needs {needed} bytes, has {found}")]
    Short {
        what: &'static str,
        needed: usize,
        found: usize,
    },
    #[error("record wire version {found}, this runtime reads version {expected}")]
    Version { found: u8, expected: u8 },
    #[error("unknown record kind {kind}")]
    UnknownKind { kind: u8 },
}

/// An error and its sources, one line: `a: b: c`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
