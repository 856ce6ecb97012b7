//! Runtime: loads BPF objects on a live kernel, attaches, reads the ring buffer, decodes events.
