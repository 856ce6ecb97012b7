//! Shared helpers for the cross-crate integration tests: locating the repository, `../shared`, and the built `tpc` binary.

pub mod vm;
