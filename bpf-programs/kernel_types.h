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

struct fs_struct {
	struct path root;
	struct path pwd;
} CORE_VIEW;

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	struct file *exe_file;
} CORE_VIEW;

struct cred {
	kuid_t uid;
	kuid_t euid;
} CORE_VIEW;

struct signal_struct {
	atomic_t live;
	int group_exit_code;
	unsigned int flags;
} CORE_VIEW;

struct task_struct {
	pid_t pid;
	pid_t tgid;
	int exit_code;
	u64 start_boottime;
	struct task_struct *real_parent;
	struct mm_struct *mm;
	struct fs_struct *fs;
	const struct cred *cred;
	struct signal_struct *signal;
	kuid_t loginuid;
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
