/* Hand-written CO-RE views of the kernel structs the base sensor reads.
 *
 * Only the fields the programs touch are declared. Every struct carries
 * preserve_access_index, so field offsets are relocated against the running
 * kernel's BTF at load time: the declared layout here does not need to match
 * any kernel. Fields that the kernel nests inside anonymous unions or structs
 * (qstr.len, mm_struct's fields, file.f_path) are declared flat; the loader's
 * CO-RE matcher looks through anonymous members by name.
 */
#ifndef TPC_KERNEL_TYPES_H
#define TPC_KERNEL_TYPES_H

#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __s32 s32;
typedef __u64 u64;
typedef int pid_t;

#define CORE_VIEW __attribute__((preserve_access_index))

typedef struct {
	unsigned int val;
} CORE_VIEW kuid_t;

typedef struct {
	unsigned int val;
} CORE_VIEW kgid_t;

typedef struct {
	int counter;
} CORE_VIEW atomic_t;

struct qstr {
	u32 len;
	const unsigned char *name;
} CORE_VIEW;

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} CORE_VIEW;

struct vfsmount {
	struct dentry *mnt_root;
} CORE_VIEW;

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} CORE_VIEW;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} CORE_VIEW;

struct file {
	struct path f_path;
} CORE_VIEW;

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} CORE_VIEW;

struct files_struct {
	struct fdtable *fdt;
} CORE_VIEW;

struct in6_addr {
	union {
		u8 u6_addr8[16];
	} in6_u;
} CORE_VIEW;

struct sock_common {
	union {
		struct {
			u32 skc_daddr;
			u32 skc_rcv_saddr;
		};
	};
	union {
		struct {
			u16 skc_dport;
			u16 skc_num;
		};
	};
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} CORE_VIEW;

struct sock {
	struct sock_common __sk_common;
	u16 sk_type;
	u16 sk_protocol;
} CORE_VIEW;

struct socket {
	struct sock *sk;
} CORE_VIEW;

struct linux_binprm {
	struct file *file;
} CORE_VIEW;

struct fs_struct {
	struct path root;
	struct path pwd;
} CORE_VIEW;

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	struct file *exe_file;
} CORE_VIEW;

/* kernel_cap_t is a u64 since 6.3 and two u32 before: reading 8 bytes at
 * the member gives the same little-endian mask either way. */
typedef struct {
	u64 val;
} CORE_VIEW kernel_cap_t;

struct ns_common {
	unsigned int inum;
} CORE_VIEW;

struct user_namespace {
	struct ns_common ns;
	int level;
	kuid_t owner;
	kgid_t group;
} CORE_VIEW;

struct uts_namespace {
	struct ns_common ns;
} CORE_VIEW;

struct ipc_namespace {
	struct ns_common ns;
} CORE_VIEW;

struct mnt_namespace {
	struct ns_common ns;
} CORE_VIEW;

struct pid_namespace {
	struct ns_common ns;
	unsigned int level;
} CORE_VIEW;

struct net {
	struct ns_common ns;
} CORE_VIEW;

struct time_namespace {
	struct ns_common ns;
} CORE_VIEW;

struct cgroup_namespace {
	struct ns_common ns;
} CORE_VIEW;

struct nsproxy {
	struct uts_namespace *uts_ns;
	struct ipc_namespace *ipc_ns;
	struct mnt_namespace *mnt_ns;
	struct pid_namespace *pid_ns_for_children;
	struct net *net_ns;
	struct time_namespace *time_ns;
	struct time_namespace *time_ns_for_children;
	struct cgroup_namespace *cgroup_ns;
} CORE_VIEW;

struct upid {
	int nr;
	struct pid_namespace *ns;
} CORE_VIEW;

struct pid {
	unsigned int level;
	struct upid numbers[1];
} CORE_VIEW;

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t suid;
	kgid_t sgid;
	kuid_t euid;
	kgid_t egid;
	kuid_t fsuid;
	kgid_t fsgid;
	unsigned int securebits;
	kernel_cap_t cap_inheritable;
	kernel_cap_t cap_permitted;
	kernel_cap_t cap_effective;
	struct user_namespace *user_ns;
} CORE_VIEW;

struct thread_info {
	u32 status;
} CORE_VIEW;

struct signal_struct {
	atomic_t live;
	int group_exit_code;
	unsigned int flags;
} CORE_VIEW;

struct task_struct {
	struct thread_info thread_info;
	pid_t pid;
	pid_t tgid;
	int exit_code;
	u64 start_boottime;
	struct task_struct *real_parent;
	struct mm_struct *mm;
	struct fs_struct *fs;
	struct files_struct *files;
	const struct cred *cred;
	struct signal_struct *signal;
	kuid_t loginuid;
	struct nsproxy *nsproxy;
	struct pid *thread_pid;
} CORE_VIEW;

/* Tracepoint contexts, as laid out in tracefs `format` files. Declared with
 * the kernel's BTF names so their offsets are relocated too. */
struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
} CORE_VIEW;

struct trace_event_raw_sched_process_exec {
	struct trace_entry ent;
	u32 __data_loc_filename;
	pid_t pid;
	pid_t old_pid;
} CORE_VIEW;

#endif
