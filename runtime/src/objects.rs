//! The BPF object `build.rs` compiled from `bpf-programs/tpc.bpf.c`, embedded in the crate when clang was available.

/// The sensor object (base sensor and hook programs), or `None` when the
/// crate was built without clang.
pub fn sensor() -> Option<&'static [u8]> {
    #[cfg(tpc_bpf_objects)]
    {
        Some(aya::include_bytes_aligned!(concat!(
            env!("OUT_DIR"),
            "/tpc.bpf.o"
        )))
    }
    #[cfg(not(tpc_bpf_objects))]
    {
        None
    }
}

/// The fmod_ret programs (`bpf-programs/fmod_ret.bpf.c`), which the
/// runtime loads itself (`backend::fmod_ret`), or `None` without clang.
pub fn fmod_ret() -> Option<&'static [u8]> {
    #[cfg(tpc_bpf_objects)]
    {
        Some(aya::include_bytes_aligned!(concat!(
            env!("OUT_DIR"),
            "/fmod_ret.bpf.o"
        )))
    }
    #[cfg(not(tpc_bpf_objects))]
    {
        None
    }
}

/// Whether this build carries the BPF objects.
pub fn embedded() -> bool {
    sensor().is_some()
}
