//! Tetragon event model (JSON export shape), shared by the simulator and the runtime.
