//! Unit tests of the kernel checks against the carried kernels.
