//! `tpc-bundle`: the bundle format. The compiler writes bundles; the runtime
//! reads them and never depends on the frontend, checks or simulator.
//!
//! - [`model`]: what a bundle holds (lowered policies, attach points,
//!   requirements, sources and IR), as plain data.
//! - [`file`]: the `.tpcb` container (header, canonical JSON body, sha256
//!   digest, optional ed25519 signature).
//! - [`layout`]: the kernel map layouts shared with `bpf-programs/`,
//!   declared once here, and their encoders.
//! - [`kernel`]: a lowered hook turned into kernel map entries.
//! - [`binding`]: template bindings and the rules on overlapping ones.

pub mod binding;
pub mod file;
pub mod kernel;
pub mod layout;
pub mod model;

pub use file::{BundleError, VerifiedBundle, decode, encode, looks_like_bundle};
pub use model::*;
