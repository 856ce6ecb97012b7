//! Runtime: loads the sensor object on a live kernel, attaches, loads policy bundles into its maps, reads the ring buffer, decodes events.
//!
//! The base sensor (`bpf-programs/base_sensor.bpf.c`) reports process exec,
//! fork and exit. [`BaseSensor`] loads it through the [`KernelBackend`] seam
//! (aya in production, a fake in unit tests), seeds processes already running
//! from /proc, and turns ring-buffer records into [`SensorEvent`]s in
//! Tetragon's JSON export shape. Records the kernel could not deliver are
//! counted and reported as `Lost` events.

pub mod backend;
pub mod clock;
pub mod error;
pub mod exec_id;
pub mod model;
pub mod objects;
pub mod policies;
pub mod preflight;
pub mod proc_seed;
pub mod process_table;
pub mod sensor;
pub mod tracefs;
pub mod usdt;
pub mod verify;
pub mod wire;

pub use backend::{
    AttachTarget, KernelBackend, LinkHandle,
    aya_backend::{AyaBackend, LoadOptions},
    fake::FakeBackend,
};
pub use error::{DecodeError, RuntimeError};
pub use model::{DropCounts, JsonLines, ProcessInfo, SensorEvent};
pub use policies::{BundleId, CgroupBinding, HostInfo, LoadError, PolicyEngine};
pub use sensor::{
    BaseSensor, PollStats, RunSummary, SensorOptions, reload_on_sighup, stop_on_signals,
};
