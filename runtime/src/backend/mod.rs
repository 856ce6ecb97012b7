//! The one seam between the runtime and the kernel: everything that loads, attaches, reads maps or waits on the ring buffer goes through `KernelBackend`.

pub mod aya_backend;
pub mod fake;

use std::time::Duration;

use crate::{error::RuntimeError, model::DropCounts, wire::ProcessEntry};

/// A loaded and attached base sensor, as the rest of the runtime sees it.
/// `aya_backend::AyaBackend` talks to the kernel; `fake::FakeBackend` replays
/// scripted records for unit tests.
pub trait KernelBackend {
    /// Waits up to `timeout` for ring-buffer records, then hands every
    /// available record, in ring order, to `on_record`. Returns how many.
    fn read_records(
        &mut self,
        timeout: Duration,
        on_record: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, RuntimeError>;

    /// Records the kernel side dropped since load, by kind, summed over CPUs.
    fn drop_counts(&self) -> Result<DropCounts, RuntimeError>;

    /// Puts a process found in /proc into the kernel's process map unless the
    /// kernel already has an entry for that pid. Returns whether it was added.
    fn seed_process(&mut self, entry: &ProcessEntry) -> Result<bool, RuntimeError>;

    /// The kernel's process-map entry for `pid`, if any.
    fn process_entry(&self, pid: u32) -> Result<Option<ProcessEntry>, RuntimeError>;

    /// Detaches every program and releases programs, links and maps.
    /// Calling it again does nothing.
    fn shutdown(&mut self) -> Result<(), RuntimeError>;
}
