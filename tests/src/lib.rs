//! Shared helpers for the cross-crate integration tests: the differential
//! test bench (kernel against simulator) and the VM harness.

pub mod differential;
pub mod vm;
