//! `tpc`: frontend, IR, checks, BTF, lowering, bundle writer and simulator for
//! Tetragon `TracingPolicy` security policies. The `tpc` binary is a thin CLI
//! over this library.
pub mod btf;
