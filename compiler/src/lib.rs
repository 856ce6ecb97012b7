//! `tpc`: frontend, IR, checks, BTF, lowering, bundle writer and simulator for
//! Tetragon `TracingPolicy` security policies. The `tpc` binary is a thin CLI
//! over this library.

pub mod btf;
pub mod check;
pub mod diagnostics;
pub mod driver;
pub mod front;
pub mod inspect;
pub mod ir;
pub mod lower;
pub mod sim;
pub mod span;
pub mod tetragon;
