# A kprobe, an fentry and a BPF LSM program load, attach and fire
# (vm/guest/probes.bpf.c, loaded by vm/guest/probes.rs).
tpc-vm-probes /opt/tpc-vm/probes.bpf.o
