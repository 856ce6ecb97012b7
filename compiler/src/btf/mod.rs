//! Kernel type data for the policy checks: BTF loading (raw, ELF, xz, gzip),
//! an indexed read-only view of it, tracepoint `format` files, syscall
//! resolution, Tetragon argument-type compatibility, and the kernel set that
//! `tpc` carries compiled in. No syscalls beyond reading files.
//!
//! # Entry points
//!
//! * [`KernelInfo`]: what a check asks of one kernel (functions and their
//!   prototypes, syscalls, member paths, LSM hooks, tracepoints, arch, name).
//!   Implemented by [`BtfKernel`] (BTF from a file or
//!   `/sys/kernel/btf/vmlinux`) and [`CarriedKernel`] (the compiled-in
//!   database), so a check runs the same on either.
//! * [`KernelSelection`] / [`load_kernels`]: turning `--btf FILE`,
//!   `--kernel NAME` and `--kernel all` into a list of kernels.
//! * [`arg_type_compat`] / [`tracepoint_field_compat`]: Tetragon `type` vs the
//!   kernel's type, with the rules documented in [`argtype`].
//!
//! # Why a BTF reader of our own, and not aya-obj
//!
//! The newest aya-obj this toolchain builds is 0.3.0 (0.5/0.6 need a newer
//! rustc). Its `Btf` parses a blob and can find a type id by name
//! (`id_by_type_name_kind`, a linear scan), but everything needed to *read*
//! a type is crate-private: `Btf::types()`, `type_by_id`, `string_at`,
//! `resolve_type` are `pub(crate)`, and every field of `Struct`, `FuncProto`,
//! `BtfParam`, `BtfMember`, `Ptr`, `Typedef`, `Int`, `Array` … is
//! `pub(crate)`, with only constructors public. A public user cannot get a
//! function's parameters or a struct's members from it. Its parser also
//! decodes every type into an owned enum with a `Vec` per struct, enum and
//! prototype, which costs more than the whole check budget on six kernels.
//! So [`raw`] reads the documented BTF wire format directly: safe Rust,
//! bounds-checked once at load, then zero-copy (names borrow the string
//! section). `object` extracts `.BTF` from ELF files; `liblzma` and `flate2`
//! decompress, chosen by magic bytes.
//!
//! # Not supported
//!
//! Split BTF (kernel modules' `/sys/kernel/btf/<module>`) needs its base
//! vmlinux and is rejected with [`BtfError::SplitBtf`]-style errors.

pub mod argtype;
mod btf_kernel;
mod ctype;
pub mod db;
mod error;
mod graph;
mod kernel;
pub mod load;
mod raw;
pub mod registers;
mod selection;
mod syscall;
pub mod tracepoint;
mod types;

pub use argtype::{ArgCompat, arg_type_compat, suggested_type, tracepoint_field_compat};
pub use btf_kernel::{BtfKernel, SYSFS_VMLINUX};
pub use db::{CarriedDb, CarriedKernel, CarriedKernelSummary, carried_db};
pub use error::BtfError;
pub use kernel::{Arch, KernelIdentity, KernelInfo, KernelOrigin};
pub use selection::{KernelSelection, load_kernels};
pub use tracepoint::TracepointFormats;
pub use types::{
    FieldLocation, FunctionSig, Param, PathError, PathRoot, PathStep, ResolvedPath,
    SyscallProtoSource, SyscallPrototype, SyscallResolution, SyscallSpelling, TracepointField,
    TracepointInfo, TracepointLookup, TracepointSource, TypeDesc, TypeShape, WrapperStyle,
};
