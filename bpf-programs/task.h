/* What the programs read off the current task: namespace inodes,
 * capability sets, the pid in its own pid namespace, whether it runs a
 * compat (32-bit) syscall. CO-RE reads; fields a kernel lacks read as 0.
 */
#ifndef TPC_TASK_H
#define TPC_TASK_H

/* Namespace slots, in the order of policy_maps.h and tpc-bundle. */
enum tpc_ns {
	TPC_NS_UTS = 0,
	TPC_NS_IPC = 1,
	TPC_NS_MNT = 2,
	TPC_NS_PID = 3,
	TPC_NS_PID_FOR_CHILDREN = 4,
	TPC_NS_NET = 5,
	TPC_NS_TIME = 6,
	TPC_NS_TIME_FOR_CHILDREN = 7,
	TPC_NS_CGROUP = 8,
	TPC_NS_USER = 9,
};

/* The pid namespace the task's pid lives in and its pid there. */
static __always_inline struct upid *tpc_task_upid(struct task_struct *task, struct upid *out)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	out->nr = 0;
	out->ns = 0;
	if (!pid)
		return 0;
	unsigned int level = BPF_CORE_READ(pid, level);
	__u64 at = bpf_core_field_offset(struct pid, numbers) + (__u64)(level & 31) * bpf_core_type_size(struct upid);
	bpf_probe_read_kernel(out, sizeof(*out), (void *)pid + at);
	return out;
}

/* The task's pid in its own pid namespace: 0 in the host's (level 0), as
 * Tetragon's process map keeps it. */
static __always_inline __u32 tpc_task_nspid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	if (!pid || BPF_CORE_READ(pid, level) == 0)
		return 0;
	struct upid upid;
	tpc_task_upid(task, &upid);
	return (__u32)upid.nr;
}

static __always_inline void tpc_task_namespaces(struct task_struct *task, __u32 ns[TPC_NAMESPACES])
{
	struct nsproxy *nsproxy = BPF_CORE_READ(task, nsproxy);
	if (nsproxy) {
		ns[TPC_NS_UTS] = BPF_CORE_READ(nsproxy, uts_ns, ns.inum);
		ns[TPC_NS_IPC] = BPF_CORE_READ(nsproxy, ipc_ns, ns.inum);
		ns[TPC_NS_MNT] = BPF_CORE_READ(nsproxy, mnt_ns, ns.inum);
		ns[TPC_NS_PID_FOR_CHILDREN] = BPF_CORE_READ(nsproxy, pid_ns_for_children, ns.inum);
		ns[TPC_NS_NET] = BPF_CORE_READ(nsproxy, net_ns, ns.inum);
		if (bpf_core_field_exists(nsproxy->time_ns)) {
			ns[TPC_NS_TIME] = BPF_CORE_READ(nsproxy, time_ns, ns.inum);
			ns[TPC_NS_TIME_FOR_CHILDREN] = BPF_CORE_READ(nsproxy, time_ns_for_children, ns.inum);
		} else {
			ns[TPC_NS_TIME] = 0;
			ns[TPC_NS_TIME_FOR_CHILDREN] = 0;
		}
		ns[TPC_NS_CGROUP] = BPF_CORE_READ(nsproxy, cgroup_ns, ns.inum);
	} else {
		ns[TPC_NS_UTS] = ns[TPC_NS_IPC] = ns[TPC_NS_MNT] = 0;
		ns[TPC_NS_PID_FOR_CHILDREN] = ns[TPC_NS_NET] = 0;
		ns[TPC_NS_TIME] = ns[TPC_NS_TIME_FOR_CHILDREN] = ns[TPC_NS_CGROUP] = 0;
	}
	struct upid upid;
	tpc_task_upid(task, &upid);
	ns[TPC_NS_PID] = upid.ns ? BPF_CORE_READ(upid.ns, ns.inum) : 0;
	ns[TPC_NS_USER] = BPF_CORE_READ(task, cred, user_ns, ns.inum);
}

/* Effective, inheritable, permitted. */
static __always_inline void tpc_task_caps(struct task_struct *task, __u64 caps[3])
{
	const struct cred *cred = BPF_CORE_READ(task, cred);
	caps[0] = 0;
	caps[1] = 0;
	caps[2] = 0;
	if (!cred)
		return;
	bpf_core_read(&caps[0], sizeof(__u64), &cred->cap_effective);
	bpf_core_read(&caps[1], sizeof(__u64), &cred->cap_inheritable);
	bpf_core_read(&caps[2], sizeof(__u64), &cred->cap_permitted);
}

/* The depth of the task's user namespace: 0 for the host's. */
static __always_inline __u32 tpc_task_user_ns_level(struct task_struct *task)
{
	return BPF_CORE_READ(task, cred, user_ns, level);
}

#define TPC_TS_COMPAT 0x0002

/* Whether the task is in a compat (32-bit) syscall (x86's TS_COMPAT). */
static __always_inline int tpc_task_compat(struct task_struct *task)
{
#if defined(__TARGET_ARCH_x86)
	if (bpf_core_field_exists(task->thread_info.status))
		return (BPF_CORE_READ(task, thread_info.status) & TPC_TS_COMPAT) != 0;
#endif
	return 0;
}

#endif
