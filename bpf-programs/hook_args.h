/* Reading a hook's argument slots into the per-CPU record: integers into
 * `values`, strings and buffers into `data` (offset and length per slot).
 * The same code serves tracepoints (a slot's offset is the field's offset
 * in the record) and raw tracepoints (the offset of the argument in the
 * u64 argument array).
 */
#ifndef TPC_HOOK_ARGS_H
#define TPC_HOOK_ARGS_H

#define TPC_AF_INET 2
#define TPC_AF_INET6 10
/* offsetof(struct pt_regs, ax) on x86-64: the return value. */
#define TPC_PT_REGS_AX 80

static __always_inline struct tpc_hook_scratch *tpc_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&tpc_hook_scr, &zero);
}

/* An integer of `width` bytes at `at`, sign- or zero-extended. */
static __always_inline __u64 tpc_read_int(__u64 at, __u8 width, int is_signed)
{
	switch (width) {
	case 1: {
		__u8 v = 0;
		bpf_probe_read_kernel(&v, 1, (void *)at);
		return is_signed ? (__u64)(__s64)(__s8)v : v;
	}
	case 2: {
		__u16 v = 0;
		bpf_probe_read_kernel(&v, 2, (void *)at);
		return is_signed ? (__u64)(__s64)(__s16)v : v;
	}
	case 4: {
		__u32 v = 0;
		bpf_probe_read_kernel(&v, 4, (void *)at);
		return is_signed ? (__u64)(__s64)(__s32)v : v;
	}
	default: {
		__u64 v = 0;
		bpf_probe_read_kernel(&v, 8, (void *)at);
		return v;
	}
	}
}

static __always_inline __u64 tpc_read_ptr(__u64 at)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, 8, (void *)at);
	return v;
}

/* Reads n bytes at a user address, or at a kernel one (kprobes on kernel
 * functions get kernel pointers where syscalls get user ones). */
static __always_inline long tpc_read_any(void *dst, __u32 n, __u64 ptr)
{
	if (bpf_probe_read_user(dst, n, (void *)ptr) == 0)
		return 0;
	return bpf_probe_read_kernel(dst, n, (void *)ptr);
}

/* The absolute path of (vfsmnt, dentry) as the current task sees it (its
 * root), into dst; without a mount, the names up to the dentry's file
 * system root. Returns the length (at most PATH_BUF_SIZE - 1). */
static __always_inline long tpc_hook_path(void *dst, struct vfsmount *vfsmnt, struct dentry *dentry)
{
	__u32 zero = 0;
	struct tpc_path_scratch *p = bpf_map_lookup_elem(&tpc_hook_path_scr, &zero);
	if (!p || !dentry)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct path_walk walk = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = vfsmnt ? mount_of(vfsmnt) : 0,
		.root_dentry = BPF_CORE_READ(fs, root.dentry),
		.root_mnt = BPF_CORE_READ(fs, root.mnt),
		.pos = PATH_BUF_SIZE,
		.complete = 0,
		.hook = 1,
	};
	bpf_loop(PATH_MAX_DEPTH, path_walk_step, &walk, 0);
	__u32 pos = walk.pos;
	if (pos >= PATH_BUF_SIZE) {
		pos = PATH_BUF_SIZE - 1;
		p->path[pos] = '/';
	}
	__u32 len = PATH_BUF_SIZE - pos;
	if (len > PATH_BUF_SIZE - 1)
		len = PATH_BUF_SIZE - 1;
	if (bpf_probe_read_kernel(dst, len & (PATH_BUF_SIZE - 1), &p->path[pos & (PATH_BUF_SIZE - 1)]) < 0)
		return 0;
	return len;
}

static __always_inline long tpc_file_path(void *dst, struct file *file)
{
	if (!file)
		return 0;
	struct path path = BPF_CORE_READ(file, f_path);
	return tpc_hook_path(dst, path.mnt, path.dentry);
}

/* The file of the current task's descriptor fd, or 0. */
static __always_inline struct file *tpc_fd_file(__s64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = 0;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

/* A struct sock as a sock slot holds it (TPC_SOCK_BYTES). */
struct tpc_sock_bytes {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 type;
	__u8 state;
	__u8 reserved;
};

static __always_inline long tpc_sock_read(void *dst, struct sock *sk, __u64 *value)
{
	struct tpc_sock_bytes b = {0};
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	__u16 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	__u16 protocol = BPF_CORE_READ(sk, sk_protocol);
	dport = (__u16)((dport >> 8) | (dport << 8));
	b.type = BPF_CORE_READ(sk, sk_type);
	b.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (family == TPC_AF_INET) {
		BPF_CORE_READ_INTO(&b.saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&b.daddr, sk, __sk_common.skc_daddr);
	} else if (family == TPC_AF_INET6) {
		BPF_CORE_READ_INTO(&b.saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&b.daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	*value = (__u64)family | ((__u64)sport << 16) | ((__u64)dport << 32) |
		 ((__u64)protocol << 48);
	if (bpf_probe_read_kernel(dst, TPC_SOCK_BYTES, &b) < 0)
		return 0;
	return TPC_SOCK_BYTES;
}

/* CO-RE views of the structs the kernel-object readers below touch. They
 * sit here, after <linux/bpf.h>, because two of them hold its enums. A
 * struct a kernel's BTF may lack (load_info is internal to the module
 * loader; module, perf_event and net_device depend on the configuration)
 * is read behind bpf_core_type_exists: the read is dropped where the type
 * is missing instead of failing the whole program. */
struct kiocb {
	struct file *ki_filp;
} CORE_VIEW;

struct filename {
	const char *name;
} CORE_VIEW;

struct net_device {
	char name[16];
} CORE_VIEW;

struct module {
	char name[56];
} CORE_VIEW;

struct load_info {
	const char *name;
} CORE_VIEW;

struct bpf_prog_aux {
	char name[16];
} CORE_VIEW;

struct bpf_prog {
	u32 len;
	enum bpf_prog_type type;
	struct bpf_prog_aux *aux;
} CORE_VIEW;

struct bpf_map {
	enum bpf_map_type map_type;
	u32 key_size;
	u32 value_size;
	u32 max_entries;
	char name[16];
} CORE_VIEW;

struct tpc_perf_event_attr {
	u32 type;
	u64 config;
	u64 config1; /* kprobe_func: a user pointer while the event is made */
	u64 config2; /* probe_offset */
} CORE_VIEW;

struct perf_event {
	struct tpc_perf_event_attr attr;
} CORE_VIEW;

/* struct cred as a cred slot holds it (TPC_CRED_BYTES): the eight ids,
 * securebits, the inheritable, permitted and effective masks, then the
 * user namespace as a user_namespace slot holds it. */
struct tpc_cred_bytes {
	__u32 ids[8]; /* uid gid suid sgid euid egid fsuid fsgid */
	__u32 securebits;
	__u32 reserved;
	__u64 caps[3]; /* inheritable, permitted, effective */
	__s32 ns_level;
	__u32 ns_owner;
	__u32 ns_group;
	__u32 ns_inum;
};

/* level, owner, group, inum (TPC_USER_NS_BYTES) */
static __always_inline void tpc_user_ns_read(struct user_namespace *ns, __s32 *level,
					     __u32 *owner, __u32 *group, __u32 *inum)
{
	if (!ns)
		return;
	*level = BPF_CORE_READ(ns, level);
	*owner = BPF_CORE_READ(ns, owner.val);
	*group = BPF_CORE_READ(ns, group.val);
	*inum = BPF_CORE_READ(ns, ns.inum);
}

static __always_inline long tpc_cred_read(void *dst, struct cred *cred)
{
	struct tpc_cred_bytes b = {0};
	b.ids[0] = BPF_CORE_READ(cred, uid.val);
	b.ids[1] = BPF_CORE_READ(cred, gid.val);
	b.ids[2] = BPF_CORE_READ(cred, suid.val);
	b.ids[3] = BPF_CORE_READ(cred, sgid.val);
	b.ids[4] = BPF_CORE_READ(cred, euid.val);
	b.ids[5] = BPF_CORE_READ(cred, egid.val);
	b.ids[6] = BPF_CORE_READ(cred, fsuid.val);
	b.ids[7] = BPF_CORE_READ(cred, fsgid.val);
	b.securebits = BPF_CORE_READ(cred, securebits);
	bpf_core_read(&b.caps[0], 8, &cred->cap_inheritable);
	bpf_core_read(&b.caps[1], 8, &cred->cap_permitted);
	bpf_core_read(&b.caps[2], 8, &cred->cap_effective);
	tpc_user_ns_read(BPF_CORE_READ(cred, user_ns), &b.ns_level, &b.ns_owner, &b.ns_group,
			 &b.ns_inum);
	if (bpf_probe_read_kernel(dst, TPC_CRED_BYTES, &b) < 0)
		return 0;
	return TPC_CRED_BYTES;
}

struct sk_buff {
	unsigned char *head;
	u16 transport_header;
	u16 network_header;
	u32 len;
	u32 priority;
	u32 mark;
	u32 hash;
} CORE_VIEW;

/* A struct sk_buff as an skb slot holds it (TPC_SKB_BYTES): both
 * addresses (16 each; IPv4 in the first 4), then len, priority, mark and
 * hash; the value as a sock slot's (family, ports, protocol), from the
 * packet's IP header and, for TCP, UDP and SCTP, its first 4 transport
 * bytes. */
struct tpc_skb_bytes {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 len;
	__u32 priority;
	__u32 mark;
	__u32 hash;
};

static __always_inline long tpc_skb_read(void *dst, struct sk_buff *skb, __u64 *value)
{
	struct tpc_skb_bytes b = {0};
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	b.len = BPF_CORE_READ(skb, len);
	b.priority = BPF_CORE_READ(skb, priority);
	b.mark = BPF_CORE_READ(skb, mark);
	b.hash = BPF_CORE_READ(skb, hash);
	__u16 family = 0, sport = 0, dport = 0, protocol = 0;
	__u8 first = 0;
	if (head && nh != 0xffff && bpf_probe_read_kernel(&first, 1, head + nh) == 0) {
		__u32 transport = th;
		if ((first >> 4) == 4) {
			__u8 proto = 0;
			family = TPC_AF_INET;
			bpf_probe_read_kernel(&proto, 1, head + nh + 9);
			protocol = proto;
			bpf_probe_read_kernel(b.saddr, 4, head + nh + 12);
			bpf_probe_read_kernel(b.daddr, 4, head + nh + 16);
			if (th == 0xffff || th <= nh)
				transport = nh + (first & 0xf) * 4;
		} else if ((first >> 4) == 6) {
			__u8 next = 0;
			family = TPC_AF_INET6;
			bpf_probe_read_kernel(&next, 1, head + nh + 6);
			protocol = next;
			bpf_probe_read_kernel(b.saddr, 16, head + nh + 8);
			bpf_probe_read_kernel(b.daddr, 16, head + nh + 24);
			if (th == 0xffff || th <= nh)
				transport = nh + 40;
		}
		if (family && (protocol == 6 || protocol == 17 || protocol == 132)) {
			__u16 ports[2] = {0};
			if (bpf_probe_read_kernel(ports, 4, head + transport) == 0) {
				sport = (__u16)((ports[0] >> 8) | (ports[0] << 8));
				dport = (__u16)((ports[1] >> 8) | (ports[1] << 8));
			}
		}
	}
	*value = (__u64)family | ((__u64)sport << 16) | ((__u64)dport << 32) |
		 ((__u64)protocol << 48);
	if (bpf_probe_read_kernel(dst, TPC_SKB_BYTES, &b) < 0)
		return 0;
	return TPC_SKB_BYTES;
}

static __always_inline long tpc_kobject_read(void *dst, __u8 kind, __u64 ptr)
{
	if (!ptr)
		return 0;
	switch (kind) {
	case TPC_READ_CRED:
		return tpc_cred_read(dst, (struct cred *)ptr);
	case TPC_READ_USER_NS: {
		__s32 level = 0;
		__u32 w[4] = {0};
		tpc_user_ns_read((struct user_namespace *)ptr, &level, &w[1], &w[2], &w[3]);
		w[0] = (__u32)level;
		if (bpf_probe_read_kernel(dst, TPC_USER_NS_BYTES, w) < 0)
			return 0;
		return TPC_USER_NS_BYTES;
	}
	case TPC_READ_KIOCB:
		return tpc_file_path(dst, BPF_CORE_READ((struct kiocb *)ptr, ki_filp));
	case TPC_READ_FILENAME: {
		long n = bpf_probe_read_kernel_str(dst, TPC_ARG_MAX,
						   BPF_CORE_READ((struct filename *)ptr, name));
		return n > 0 ? n - 1 : 0;
	}
	case TPC_READ_NET_DEV: {
		if (!bpf_core_type_exists(struct net_device))
			return 0;
		long n = bpf_probe_read_kernel_str(dst, 16, &((struct net_device *)ptr)->name);
		return n > 0 ? n - 1 : 0;
	}
	case TPC_READ_MODULE: {
		if (!bpf_core_type_exists(struct module))
			return 0;
		long n = bpf_probe_read_kernel_str(dst, 56, &((struct module *)ptr)->name);
		return n > 0 ? n - 1 : 0;
	}
	case TPC_READ_LOAD_INFO: {
		/* internal to the module loader: not in every kernel's BTF */
		if (!bpf_core_type_exists(struct load_info))
			return 0;
		long n = bpf_probe_read_kernel_str(dst, 56, BPF_CORE_READ((struct load_info *)ptr, name));
		return n > 0 ? n - 1 : 0;
	}
	case TPC_READ_BPF_ATTR: {
		/* union bpf_attr is UAPI: BPF_PROG_LOAD's prog_type, insn_cnt
		 * and prog_name sit at 0, 4 and 48 */
		__u32 w[6] = {0};
		if (tpc_read_any(w, 8, ptr) < 0)
			return 0;
		tpc_read_any(&w[2], 16, ptr + 48);
		if (bpf_probe_read_kernel(dst, TPC_BPF_BYTES, w) < 0)
			return 0;
		return TPC_BPF_BYTES;
	}
	case TPC_READ_BPF_PROG: {
		struct bpf_prog *prog = (struct bpf_prog *)ptr;
		__u32 w[6] = {0};
		w[0] = BPF_CORE_READ(prog, type);
		w[1] = BPF_CORE_READ(prog, len);
		struct bpf_prog_aux *aux = BPF_CORE_READ(prog, aux);
		if (aux)
			bpf_probe_read_kernel(&w[2], 16, &aux->name);
		if (bpf_probe_read_kernel(dst, TPC_BPF_BYTES, w) < 0)
			return 0;
		return TPC_BPF_BYTES;
	}
	case TPC_READ_BPF_MAP: {
		struct bpf_map *map = (struct bpf_map *)ptr;
		__u32 w[8] = {0};
		w[0] = BPF_CORE_READ(map, map_type);
		w[1] = BPF_CORE_READ(map, key_size);
		w[2] = BPF_CORE_READ(map, value_size);
		w[3] = BPF_CORE_READ(map, max_entries);
		bpf_probe_read_kernel(&w[4], 16, &map->name);
		if (bpf_probe_read_kernel(dst, TPC_BPF_MAP_BYTES, w) < 0)
			return 0;
		return TPC_BPF_MAP_BYTES;
	}
	case TPC_READ_PERF_EVENT: {
		if (!bpf_core_type_exists(struct perf_event))
			return 0;
		struct perf_event *event = (struct perf_event *)ptr;
		__u64 w[3] = {0};
		w[0] = BPF_CORE_READ(event, attr.type);
		w[1] = BPF_CORE_READ(event, attr.config);
		w[2] = BPF_CORE_READ(event, attr.config2);
		__u64 func = BPF_CORE_READ(event, attr.config1);
		if (bpf_probe_read_kernel(dst, 24, w) < 0)
			return 0;
		long n = 0;
		if (func) {
			n = bpf_probe_read_user_str(dst + 24, TPC_PERF_FUNC_MAX, (void *)func);
			if (n <= 0)
				n = bpf_probe_read_kernel_str(dst + 24, TPC_PERF_FUNC_MAX, (void *)func);
		}
		return 24 + (n > 0 ? n - 1 : 0);
	}
	default:
		return 0;
	}
}

/* The value of a USDT argument (struct tpc_usdt_arg), as Tetragon's
 * read_usdt_arg computes it. */
static __always_inline __u64 tpc_usdt_value(__u64 ctx, struct tpc_usdt_arg *a)
{
	__u64 val = 0, idx = 0;
	switch (a->kind) {
	case TPC_USDT_CONST:
		val = a->val_off;
		break;
	case TPC_USDT_REG:
		bpf_probe_read_kernel(&val, sizeof(val), (void *)(ctx + (a->reg_off & 0xff8)));
		break;
	case TPC_USDT_DEREF: {
		bpf_probe_read_kernel(&val, sizeof(val), (void *)(ctx + (a->reg_off & 0xff8)));
		long err = bpf_probe_read_user(&val, sizeof(val), (void *)(val + a->val_off));
		if (err < 0)
			return (__u64)err; /* the error as the value, as Tetragon's read_usdt_arg */
		break;
	}
	case TPC_USDT_SIB: {
		bpf_probe_read_kernel(&val, sizeof(val), (void *)(ctx + (a->reg_off & 0xff8)));
		bpf_probe_read_kernel(&idx, sizeof(idx), (void *)(ctx + (a->idx_off & 0xff8)));
		long err = bpf_probe_read_user(&val, sizeof(val),
					       (void *)(val + (idx << (a->scale & 3)) + a->val_off));
		if (err < 0)
			return (__u64)err;
		break;
	}
	default:
		return 0;
	}
	__u32 shift = a->shift & 63;
	val <<= shift;
	if (a->sig)
		return (__u64)((__s64)val >> shift);
	return val >> shift;
}

/* The value of the slot a buffer takes its size (char_buf) or its entry
 * count (char_iovec) from; 0 without one. */
static __always_inline __s64 tpc_sized_by(struct tpc_hook_scratch *s, struct tpc_arg_slot *slot)
{
	__u32 size_slot = slot->size_slot;
	if (size_slot >= TPC_MAX_SLOTS)
		return 0;
	struct tpc_arg_slot *sized = &s->hook.slots[size_slot & (TPC_MAX_SLOTS - 1)];
	return (__s64)tpc_read_int(s->ctx + sized->offset, sized->width,
				   sized->flags & TPC_SLOT_SIGNED);
}

/* The buffers of a char_iovec argument (a user `struct iovec` array of
 * `count` entries) into the record's data at `off`, one after the other:
 * (the bytes the buffers hold, or a TPC_ORIG_* error) << 32 | the bytes
 * kept. A global function: verified once, not at every slot read. */
__noinline __u64 tpc_read_iovec(__u64 iov, __s64 count, __u32 off)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s)
		return 0;
	__u32 total = 0;
	__u32 orig = 0;
	for (int k = 0; k < TPC_IOVEC_MAX; k++) {
		if (k >= count)
			break;
		struct {
			__u64 base;
			__u64 len;
		} entry = {};
		if (tpc_read_any(&entry, sizeof(entry), iov + 16 * (__u64)k) != 0)
			return (__u64)TPC_ORIG_PAGE_FAULT << 32;
		if (entry.len > TPC_IOVEC_ENTRY_MAX)
			return (__u64)TPC_ORIG_TOO_LARGE << 32;
		orig += (__u32)entry.len;
		if (total >= TPC_ARG_MAX)
			continue; /* counted, not kept */
		__u32 want = (__u32)entry.len;
		if (want > TPC_ARG_MAX - total)
			want = TPC_ARG_MAX - total;
		__u32 pos = off + total;
		if (pos >= TPC_DATA_SIZE) {
			s->ev.flags |= TPC_HOOK_TRUNCATED;
			break;
		}
		VERIFIER_MASK(pos, 0x3fff); /* TPC_DATA_SIZE - 1 */
		VERIFIER_MASK(want, 0x1fff);
		if (want > TPC_ARG_MAX)
			want = TPC_ARG_MAX;
		if (want > 0 && tpc_read_any(&s->data[pos], want, entry.base) != 0)
			return (__u64)TPC_ORIG_PAGE_FAULT << 32;
		total += want;
	}
	return (__u64)orig << 32 | total;
}

static long tpc_read_slot_cb(__u32 i, void *data)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s)
		return 1;
	if (i >= TPC_MAX_SLOTS || i >= s->hook.nslots)
		return 1;
	__u32 at_slot = i;
	VERIFIER_MASK(at_slot, 7);
	struct tpc_arg_slot *slot = &s->hook.slots[at_slot];
	__u64 at = s->ctx + slot->offset;
	if (slot->flags & TPC_SLOT_USDT) {
		s->usdt_vals[at_slot] = tpc_usdt_value(s->ctx, &s->hook.usdt[at_slot]);
		at = (__u64)&s->usdt_vals[at_slot];
	}
	__u32 off = s->ev.data_len;
	__u64 value = 0;
	long len = 0;
	__u32 orig = 0;

	s->ev.offs[at_slot] = (__u16)off;
	s->ev.lens[at_slot] = 0;
	s->ev.orig_lens[at_slot] = 0;
	int buffer = slot->kind == TPC_READ_USER_STR || slot->kind == TPC_READ_KERNEL_STR ||
		     slot->kind == TPC_READ_DATA_LOC || slot->kind == TPC_READ_CHAR_BUF ||
		     slot->kind == TPC_READ_CONST_BUF || slot->kind == TPC_READ_SOCKADDR ||
		     slot->kind >= TPC_READ_FILE;
	if (buffer && off >= TPC_DATA_SIZE) {
		s->ev.flags |= TPC_HOOK_TRUNCATED;
		s->ev.values[at_slot] = 0;
		return 0;
	}
	void *dst = &s->data[off & (TPC_DATA_SIZE - 1)];

	/* Return probes: a return slot (returnArg) is read from the return
	 * probe's context; a returnCopy buffer's pointer is kept at entry and
	 * its bytes read at return, as many as the call returned. */
	if (slot->flags & (TPC_SLOT_RETURN | TPC_SLOT_RETCOPY)) {
		if (!s->ret_pass) {
			if (slot->flags & TPC_SLOT_RETCOPY)
				value = tpc_read_ptr(at);
			goto done;
		}
		if (slot->flags & TPC_SLOT_RETCOPY) {
			__s64 size = (__s64)tpc_read_int(s->ctx + TPC_PT_REGS_AX, 8, 1);
			if (size < 0)
				size = 0;
			orig = size > 0xffffffffll ? 0xffffffffu : (__u32)size;
			__u32 want = size > TPC_ARG_MAX ? TPC_ARG_MAX : (__u32)size;
			VERIFIER_MASK(want, 0x1fff);
			if (want > TPC_ARG_MAX)
				want = TPC_ARG_MAX;
			if (want > 0 && tpc_read_any(dst, want, s->ret.values[at_slot]) == 0)
				len = want;
			goto done;
		}
	} else if (s->ret_pass) {
		goto done;
	}

	switch (slot->kind) {
	case TPC_READ_INT:
		value = tpc_read_int(at, slot->width, slot->flags & TPC_SLOT_SIGNED);
		break;
	case TPC_READ_SYSCALL64: {
		value = tpc_read_int(at, 8, 0);
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		if (tpc_task_compat(task))
			value |= 0x80000000ull;
		break;
	}
	case TPC_READ_USER_STR: {
		/* Syscall records hold user pointers, other tracepoints' `char *`
		 * fields kernel ones: the user read fails on a kernel address. */
		__u64 ptr = tpc_read_ptr(at);
		len = bpf_probe_read_user_str(dst, TPC_ARG_MAX, (void *)ptr);
		if (len <= 0)
			len = bpf_probe_read_kernel_str(dst, TPC_ARG_MAX, (void *)ptr);
		len = len > 0 ? len - 1 : 0;
		break;
	}
	case TPC_READ_KERNEL_STR:
		len = bpf_probe_read_kernel_str(dst, TPC_ARG_MAX, (void *)tpc_read_ptr(at));
		len = len > 0 ? len - 1 : 0;
		break;
	case TPC_READ_DATA_LOC: {
		__u32 loc = (__u32)tpc_read_int(at, 4, 0);
		__u32 max = loc >> 16;
		if (max > TPC_ARG_MAX)
			max = TPC_ARG_MAX;
		VERIFIER_MASK(max, 0x1fff);
		if (max > 0)
			len = bpf_probe_read_kernel_str(dst, max, (void *)(s->ctx + (loc & 0xffff)));
		len = len > 0 ? len - 1 : 0;
		break;
	}
	case TPC_READ_CHAR_BUF: {
		__s64 size = tpc_sized_by(s, slot);
		if (size < 0)
			size = 0;
		orig = size > 0xffffffffll ? 0xffffffffu : (__u32)size;
		__u32 want = size > TPC_ARG_MAX ? TPC_ARG_MAX : (__u32)size;
		VERIFIER_MASK(want, 0x1fff);
		if (want > TPC_ARG_MAX)
			want = TPC_ARG_MAX;
		if (want > 0 && tpc_read_any(dst, want, tpc_read_ptr(at)) == 0)
			len = want;
		break;
	}
	case TPC_READ_CHAR_IOVEC: {
		__u64 read = tpc_read_iovec(tpc_read_ptr(at), tpc_sized_by(s, slot), off);
		len = (__u32)read;
		orig = (__u32)(read >> 32);
		break;
	}
	case TPC_READ_CONST_BUF: {
		__u32 want = slot->max_len;
		if (want > TPC_ARG_MAX)
			want = TPC_ARG_MAX;
		VERIFIER_MASK(want, 0x1fff);
		if (want > TPC_ARG_MAX)
			want = TPC_ARG_MAX;
		if (want > 0 && bpf_probe_read_kernel(dst, want, (void *)at) == 0)
			len = want;
		orig = want;
		break;
	}
	case TPC_READ_SOCKADDR: {
		__u64 ptr = tpc_read_ptr(at);
		__u16 family = 0;
		__u16 port = 0;
		if (tpc_read_any(&family, 2, ptr) == 0) {
			if (family == TPC_AF_INET) {
				tpc_read_any(&port, 2, ptr + 2);
				if (tpc_read_any(dst, 4, ptr + 4) == 0)
					len = 4;
			} else if (family == TPC_AF_INET6) {
				tpc_read_any(&port, 2, ptr + 2);
				if (tpc_read_any(dst, 16, ptr + 8) == 0)
					len = 16;
			}
		}
		port = (__u16)((port >> 8) | (port << 8));
		value = (__u64)family | ((__u64)port << 16);
		break;
	}
	case TPC_READ_FILE:
		len = tpc_file_path(dst, (struct file *)tpc_read_ptr(at));
		break;
	case TPC_READ_PATH: {
		struct path *path = (struct path *)tpc_read_ptr(at);
		if (path)
			len = tpc_hook_path(dst, BPF_CORE_READ(path, mnt), BPF_CORE_READ(path, dentry));
		break;
	}
	case TPC_READ_FD:
		value = tpc_read_int(at, slot->width, slot->flags & TPC_SLOT_SIGNED);
		len = tpc_file_path(dst, tpc_fd_file((__s64)value));
		break;
	case TPC_READ_BPRM: {
		struct linux_binprm *bprm = (struct linux_binprm *)tpc_read_ptr(at);
		if (bprm)
			len = tpc_file_path(dst, BPF_CORE_READ(bprm, file));
		break;
	}
	case TPC_READ_DENTRY:
		len = tpc_hook_path(dst, 0, (struct dentry *)tpc_read_ptr(at));
		break;
	case TPC_READ_SOCK:
	case TPC_READ_SOCKET: {
		struct sock *sk = (struct sock *)tpc_read_ptr(at);
		if (sk && slot->kind == TPC_READ_SOCKET)
			sk = BPF_CORE_READ((struct socket *)sk, sk);
		if (sk)
			len = tpc_sock_read(dst, sk, &value);
		break;
	}
	case TPC_READ_SKB: {
		struct sk_buff *skb = (struct sk_buff *)tpc_read_ptr(at);
		if (skb)
			len = tpc_skb_read(dst, skb, &value);
		break;
	}
	case TPC_READ_CRED:
	case TPC_READ_USER_NS:
	case TPC_READ_KIOCB:
	case TPC_READ_FILENAME:
	case TPC_READ_NET_DEV:
	case TPC_READ_MODULE:
	case TPC_READ_LOAD_INFO:
	case TPC_READ_BPF_ATTR:
	case TPC_READ_BPF_PROG:
	case TPC_READ_BPF_MAP:
	case TPC_READ_PERF_EVENT:
		len = tpc_kobject_read(dst, slot->kind, tpc_read_ptr(at));
		break;
	default:
		break;
	}
done:
	if (len < 0)
		len = 0;
	if (len > TPC_ARG_MAX)
		len = TPC_ARG_MAX;
	s->ev.values[at_slot] = value;
	s->ev.lens[at_slot] = (__u16)len;
	s->ev.orig_lens[at_slot] = orig;
	s->ev.data_len = off + (__u32)len;
	return 0;
}

#endif
