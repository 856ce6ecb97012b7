// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * The VM smoke test's probes: a kprobe, an fentry program and a BPF LSM
 * program, all on the file-open path (security_file_open, LSM hook
 * file_open). Each counts the opens of one process (target_tgid, set by
 * the loader before the verifier sees it) and records the inode number of
 * the last file opened, read through CO-RE relocations of struct file and
 * struct inode, so a wrong relocation shows as a wrong inode.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <asm/ptrace.h> /* the UAPI struct pt_regs a kprobe gets (rdi, rsi, ...) */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Only the fields read here; the loader relocates them against the running kernel's BTF. */
struct inode {
	unsigned long i_ino;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

/* Slots of the hits map, one per program kind; the loader reads the same indices. */
enum hit_slot {
	HIT_KPROBE = 0,
	HIT_FENTRY = 1,
	HIT_LSM = 2,
	HIT_SLOTS = 3,
};

/* Per slot: { number of hits, inode number of the last file opened }. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HIT_SLOTS);
	__type(key, __u32);
	__type(value, __u64[2]);
} hits SEC(".maps");

const volatile __u32 target_tgid = 0;

static __always_inline void record(__u32 slot, struct file *file)
{
	__u64 *hit;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return;
	hit = bpf_map_lookup_elem(&hits, &slot);
	if (!hit)
		return;
	__sync_fetch_and_add(&hit[0], 1);
	hit[1] = BPF_CORE_READ(file, f_inode, i_ino);
}

SEC("kprobe/security_file_open")
int BPF_KPROBE(tpc_vm_kprobe, struct file *file)
{
	record(HIT_KPROBE, file);
	return 0;
}

SEC("fentry/security_file_open")
int BPF_PROG(tpc_vm_fentry, struct file *file)
{
	record(HIT_FENTRY, file);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(tpc_vm_lsm, struct file *file, int ret)
{
	record(HIT_LSM, file);
	/* never deny: pass on what an earlier BPF LSM program decided */
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
