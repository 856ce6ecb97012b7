//! The BPF objects `build.rs` compiled from `bpf-programs/`, embedded in the crate when clang was available.

/// The base sensor object, or `None` when the crate was built without clang.
pub fn base_sensor() -> Option<&'static [u8]> {
    #[cfg(tpc_bpf_objects)]
    {
        Some(aya::include_bytes_aligned!(concat!(
            env!("OUT_DIR"),
            "/base_sensor.bpf.o"
        )))
    }
    #[cfg(not(tpc_bpf_objects))]
    {
        None
    }
}

/// Whether this build carries the BPF objects.
pub fn embedded() -> bool {
    base_sensor().is_some()
}
