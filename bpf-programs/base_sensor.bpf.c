// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/* The base sensor: process lifecycle (exec, fork, exit) for tpc-runtime.
 * Part of the sensor object: included by tpc.bpf.c, which declares the maps.
 *
 * It keeps `tpc_processes`, a map keyed by tgid holding each live process's
 * identity (the boot-time ns of its exec or fork, which with the pid makes its
 * exec id), its parent link, uids and binary path. Every exec, new thread group
 * and thread-group death is written to the `tpc_events` ring buffer; a record that
 * does not fit is counted in the per-CPU `tpc_drops` array instead, so
 * user space can report every loss.
 */
#define SIGNAL_GROUP_EXIT 0x00000004
#define AUID_UNSET 0xffffffffu

static __always_inline void count_drop(__u32 reason)
{
	__u64 *counter = bpf_map_lookup_elem(&tpc_drops, &reason);
	if (counter)
		*counter += 1;
}

static __always_inline void fill_header(struct event_header *header, __u8 kind, __u64 now)
{
	header->kind = kind;
	header->version = WIRE_VERSION;
	header->reserved = 0;
	header->cpu = bpf_get_smp_processor_id();
	header->ktime = now;
}

static __always_inline struct mount *mount_of(struct vfsmount *vfsmnt)
{
	return (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/* State of one path walk, on the caller's stack, stepped by bpf_loop. */
struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 pos;      /* where the path built so far starts in the buffer */
	__u32 complete; /* reached the root */
	__u32 hook;     /* 0: into tpc_exec_scr's path, 1: into tpc_hook_path_scr's */
	__u32 reserved;
};

/* The buffer a walk builds its path in. */
static __always_inline char *path_walk_buffer(struct path_walk *walk)
{
	__u32 zero = 0;
	if (walk->hook) {
		struct tpc_path_scratch *p = bpf_map_lookup_elem(&tpc_hook_path_scr, &zero);
		return p ? p->path : 0;
	}
	struct exec_scratch *scratch = bpf_map_lookup_elem(&tpc_exec_scr, &zero);
	return scratch ? scratch->path : 0;
}

/* One step up: cross a mount, or prepend one component. Returns 1 to stop.
 * A bpf_loop callback is verified once, whatever the depth, where an open
 * loop with these branches makes the verifier explore too many states. */
static long path_walk_step(__u32 index, void *data)
{
	struct path_walk *walk = data;
	char *buf = path_walk_buffer(walk);
	if (!buf)
		return 1;
	struct dentry *dentry = walk->dentry;
	struct vfsmount *vfsmnt = walk->vfsmnt;
	struct mount *mnt = walk->mnt;

	if (dentry == walk->root_dentry && vfsmnt == walk->root_mnt) {
		walk->complete = 1;
		return 1;
	}
	if (vfsmnt && dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
		struct mount *parent_mnt = BPF_CORE_READ(mnt, mnt_parent);
		if (parent_mnt == mnt) {
			walk->complete = 1;
			return 1;
		}
		walk->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		walk->mnt = parent_mnt;
		walk->vfsmnt = (struct vfsmount *)((void *)parent_mnt + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	struct dentry *parent_dentry = BPF_CORE_READ(dentry, d_parent);
	if (parent_dentry == dentry) {
		walk->complete = 1;
		return 1;
	}
	__u32 len = BPF_CORE_READ(dentry, d_name.len);
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	if (len > NAME_MAX_LEN)
		len = NAME_MAX_LEN;
	__u32 pos = walk->pos;
	if (pos > PATH_BUF_SIZE || len + 1 >= pos)
		return 1; /* out of room: truncated */
	pos -= len;
	bpf_probe_read_kernel(&buf[pos & (PATH_BUF_SIZE - 1)], len & NAME_MAX_LEN, name);
	pos -= 1;
	buf[pos & (PATH_BUF_SIZE - 1)] = '/';
	walk->pos = pos;
	walk->dentry = parent_dentry;
	return 0;
}

/* Builds the absolute path of (vfsmnt, dentry) backwards into scratch->path,
 * stopping at the task's root. Returns where the path starts; it ends at
 * PATH_BUF_SIZE. Sets trunc_flag when the bound or the depth cut it short. */
static __always_inline __u32 walk_path(struct exec_scratch *scratch, struct vfsmount *vfsmnt,
				       struct dentry *dentry, struct path *root, __u32 *flags,
				       __u32 trunc_flag)
{
	struct path_walk walk = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = mount_of(vfsmnt),
		.root_dentry = BPF_CORE_READ(root, dentry),
		.root_mnt = BPF_CORE_READ(root, mnt),
		.pos = PATH_BUF_SIZE,
		.complete = 0,
		.hook = 0,
	};
	bpf_loop(PATH_MAX_DEPTH, path_walk_step, &walk, 0);
	__u32 pos = walk.pos;
	if (!walk.complete)
		*flags |= trunc_flag;
	if (pos >= PATH_BUF_SIZE) {
		pos = PATH_BUF_SIZE - 1;
		scratch->path[pos] = '/';
	}
	return pos;
}

/* Copies the walked path at scratch->path[start..] into the record's data at
 * `offset`; returns its length. */
static __always_inline __u32 copy_walked_path(struct exec_scratch *scratch, __u32 offset, __u32 start)
{
	__u32 len = PATH_BUF_SIZE - start;
	if (len > PATH_BUF_SIZE - 1)
		len = PATH_BUF_SIZE - 1;
	if (bpf_probe_read_kernel(&scratch->data[offset & DATA_OFFSET_MASK], len & (PATH_BUF_SIZE - 1),
				  &scratch->path[start & (PATH_BUF_SIZE - 1)]) < 0)
		return 0;
	return len;
}

SEC("tracepoint/sched/sched_process_exec")
int tpc_sched_process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u64 now = bpf_ktime_get_boot_ns();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 zero = 0;
	struct exec_scratch *scratch = bpf_map_lookup_elem(&tpc_exec_scr, &zero);
	if (!scratch)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *event = &scratch->event;
	__u32 flags = FLAG_EXECVE;

	struct process_entry *previous = bpf_map_lookup_elem(&tpc_processes, &tgid);
	/* "clone": this image replaces one that a fork we saw created */
	if (previous && (previous->flags & FLAG_CLONE) && !(previous->flags & FLAG_EXECVE))
		flags |= FLAG_CLONE;

	__u32 parent_pid = BPF_CORE_READ(task, real_parent, tgid);
	__u64 parent_exec_ktime = 0;
	struct process_entry *parent = bpf_map_lookup_elem(&tpc_processes, &parent_pid);
	if (parent)
		parent_exec_ktime = parent->exec_ktime;
	else
		flags |= FLAG_PARENT_UNKNOWN;

	fill_header(&event->header, EVENT_EXEC, now);
	event->pid = tgid;
	event->tid = (__u32)pid_tgid;
	event->parent_pid = parent_pid;
	event->exec_ktime = now;
	event->parent_exec_ktime = parent_exec_ktime;
	event->process_start_ktime = BPF_CORE_READ(task, start_boottime);
	event->uid = BPF_CORE_READ(task, cred, uid.val);
	event->euid = BPF_CORE_READ(task, cred, euid.val);
	if (bpf_core_field_exists(task->loginuid))
		event->auid = BPF_CORE_READ(task, loginuid.val);
	else
		event->auid = AUID_UNSET;
	event->old_tid = ctx->old_pid;
	event->nspid = tpc_task_nspid(task);
	event->reserved = 0;
	tpc_task_caps(task, event->caps);
	tpc_task_namespaces(task, event->ns);

	/* The executable, as the kernel opened it (symlinks resolved). */
	__u32 offset = 0;
	struct file *exe_file = BPF_CORE_READ(task, mm, exe_file);
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	__u32 binary_len = 0;
	if (exe_file && fs) {
		struct path exe_path = BPF_CORE_READ(exe_file, f_path);
		struct path root = BPF_CORE_READ(fs, root);
		__u32 start = walk_path(scratch, exe_path.mnt, exe_path.dentry, &root, &flags,
					FLAG_TRUNC_BINARY);
		binary_len = copy_walked_path(scratch, offset, start);
	}
	if (binary_len == 0)
		flags |= FLAG_ERROR_BINARY;
	event->binary_len = binary_len;
	offset += binary_len;

	/* The working directory. */
	__u32 cwd_len = 0;
	if (fs) {
		struct path pwd = BPF_CORE_READ(fs, pwd);
		struct path root = BPF_CORE_READ(fs, root);
		__u32 start = walk_path(scratch, pwd.mnt, pwd.dentry, &root, &flags, FLAG_TRUNC_CWD);
		cwd_len = copy_walked_path(scratch, offset, start);
	}
	if (cwd_len == 0)
		flags |= FLAG_ERROR_CWD;
	event->cwd_len = cwd_len;
	offset += cwd_len;

	/* The argument block, still resident on the new stack. */
	__u32 args_len = 0;
	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	if (arg_end > arg_start) {
		__u64 want = arg_end - arg_start;
		if (want > ARGS_MAX_LEN) {
			want = ARGS_MAX_LEN;
			flags |= FLAG_TRUNC_ARGS;
		}
		if (bpf_probe_read_user(&scratch->data[offset & DATA_OFFSET_MASK], want & (2 * ARGS_MAX_LEN - 1),
					(const void *)arg_start) == 0)
			args_len = want;
		else
			flags |= FLAG_ERROR_ARGS;
	}
	event->args_len = args_len;
	offset += args_len;

	/* The filename given to execve, from the tracepoint's data. */
	__u32 filename_loc = BPF_CORE_READ(ctx, __data_loc_filename);
	long filename_read = bpf_probe_read_kernel_str(&scratch->data[offset & DATA_OFFSET_MASK],
						       FILENAME_MAX_LEN,
						       (void *)ctx + (filename_loc & 0xffff));
	__u32 filename_len = 0;
	if (filename_read > 0) {
		filename_len = filename_read - 1; /* without the NUL */
		if (filename_len == FILENAME_MAX_LEN - 1)
			flags |= FLAG_TRUNC_FILENAME;
	}
	event->filename_len = filename_len;
	offset += filename_len;
	event->flags = flags;

	/* Remember the process before telling user space, so a racing exit finds it. */
	struct process_entry *entry = &scratch->entry;
	entry->exec_ktime = now;
	entry->parent_exec_ktime = parent_exec_ktime;
	entry->start_ktime = event->process_start_ktime;
	entry->pid = tgid;
	entry->parent_pid = parent_pid;
	entry->uid = event->uid;
	entry->euid = event->euid;
	entry->auid = event->auid;
	entry->flags = flags;
	entry->nspid = event->nspid;
	entry->caps[0] = event->caps[0];
	entry->caps[1] = event->caps[1];
	entry->caps[2] = event->caps[2];
	__builtin_memcpy(entry->ns, event->ns, sizeof(entry->ns));
	__u32 entry_binary_len = binary_len;
	if (entry_binary_len > ENTRY_BINARY_LEN - 1) {
		entry_binary_len = ENTRY_BINARY_LEN - 1;
		entry->flags |= FLAG_TRUNC_BINARY;
	}
	/* The binary zero-padded: it is a hash key for followChildren and the
	 * binary filters. */
	__u32 zero_key = 0;
	struct tpc_zero_value *zeros = bpf_map_lookup_elem(&tpc_zero, &zero_key);
	if (zeros)
		bpf_probe_read_kernel(entry->binary, ENTRY_BINARY_LEN, zeros->bytes);
	VERIFIER_MASK(entry_binary_len, 255);
	bpf_probe_read_kernel(entry->binary, entry_binary_len, scratch->data);
	entry->binary_len = entry_binary_len;
	/* followChildren: the parent's bits, and the bits of filters listing
	 * this binary. */
	if (parent)
		__builtin_memcpy(entry->follow, parent->follow, sizeof(entry->follow));
	else
		__builtin_memset(entry->follow, 0, sizeof(entry->follow));
	if (!(entry->flags & FLAG_TRUNC_BINARY)) {
		struct tpc_follow_value *bits = bpf_map_lookup_elem(&tpc_follow_bins, entry->binary);
		if (bits) {
			entry->follow[0] |= bits->bits[0];
			entry->follow[1] |= bits->bits[1];
			entry->follow[2] |= bits->bits[2];
			entry->follow[3] |= bits->bits[3];
		}
	}
	bpf_map_update_elem(&tpc_processes, &tgid, entry, BPF_ANY);

	__u64 size = sizeof(struct exec_event) + offset;
	if (size > sizeof(struct exec_event) + DATA_SIZE)
		size = sizeof(struct exec_event) + DATA_SIZE;
	if (bpf_ringbuf_output(&tpc_events, event, size, 0) < 0)
		count_drop(DROP_EXEC);
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int tpc_sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent_task = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	if (child_tgid != (__u32)BPF_CORE_READ(child, pid))
		return 0; /* a new thread, not a new process */

	__u32 zero = 0;
	struct process_entry *entry = bpf_map_lookup_elem(&tpc_fork_scr, &zero);
	if (!entry)
		return 0;
	__u32 parent_pid = BPF_CORE_READ(parent_task, tgid);
	__u64 start = BPF_CORE_READ(child, start_boottime);
	__u32 flags = FLAG_CLONE;
	struct process_entry *parent = bpf_map_lookup_elem(&tpc_processes, &parent_pid);
	if (parent) {
		bpf_probe_read_kernel(entry, sizeof(*entry), parent);
		entry->parent_exec_ktime = parent->exec_ktime;
	} else {
		__builtin_memset(entry, 0, sizeof(*entry));
		entry->uid = BPF_CORE_READ(child, cred, uid.val);
		entry->euid = BPF_CORE_READ(child, cred, euid.val);
		entry->auid = AUID_UNSET;
		entry->parent_exec_ktime = 0;
		flags |= FLAG_PARENT_UNKNOWN;
	}
	entry->exec_ktime = start;
	entry->start_ktime = start;
	entry->pid = child_tgid;
	entry->parent_pid = parent_pid;
	entry->nspid = tpc_task_nspid(child);
	tpc_task_caps(child, entry->caps);
	tpc_task_namespaces(child, entry->ns);
	/* keep the parent's truncation flags on the inherited binary */
	entry->flags = flags | (entry->flags & FLAG_TRUNC_BINARY);
	bpf_map_update_elem(&tpc_processes, &child_tgid, entry, BPF_ANY);

	struct fork_event *event = bpf_ringbuf_reserve(&tpc_events, sizeof(*event), 0);
	if (!event) {
		count_drop(DROP_FORK);
		return 0;
	}
	fill_header(&event->header, EVENT_FORK, bpf_ktime_get_boot_ns());
	event->pid = child_tgid;
	event->parent_pid = parent_pid;
	event->flags = entry->flags;
	event->reserved = 0;
	event->exec_ktime = start;
	event->parent_exec_ktime = entry->parent_exec_ktime;
	bpf_ringbuf_submit(event, 0);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int tpc_sched_process_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	/* Only the death of the whole thread group is a process exit; the
	 * kernel has already counted this thread out of `live`. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;

	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 exit_code = BPF_CORE_READ(task, exit_code);
	if (BPF_CORE_READ(task, signal, flags) & SIGNAL_GROUP_EXIT)
		exit_code = BPF_CORE_READ(task, signal, group_exit_code);

	__u64 exec_ktime = 0;
	__u32 flags = 0;
	struct process_entry *entry = bpf_map_lookup_elem(&tpc_processes, &tgid);
	if (entry) {
		exec_ktime = entry->exec_ktime;
		flags = entry->flags;
	} else {
		flags = FLAG_ENTRY_MISSING;
	}

	struct exit_event *event = bpf_ringbuf_reserve(&tpc_events, sizeof(*event), 0);
	if (event) {
		fill_header(&event->header, EVENT_EXIT, bpf_ktime_get_boot_ns());
		event->pid = tgid;
		event->tid = (__u32)pid_tgid;
		event->exit_code = exit_code;
		event->flags = flags;
		event->exec_ktime = exec_ktime;
		bpf_ringbuf_submit(event, 0);
	} else {
		count_drop(DROP_EXIT);
	}
	if (entry)
		bpf_map_delete_elem(&tpc_processes, &tgid);
	return 0;
}
