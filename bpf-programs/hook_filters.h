/* One filter of a selector, evaluated on the current hit. The semantics
 * are Tetragon's as the simulator (compiler/src/sim) implements them, quirks
 * included; the lowering has already turned each operator into the exact
 * test run here (GT on unsigned 64/16/8-bit arrives as LT, NotEqual as
 * "differs from some value", values as the bits compared).
 */
#ifndef TPC_HOOK_FILTERS_H
#define TPC_HOOK_FILTERS_H

#define TPC_MARK_NS 1
#define TPC_MARK_CAPS 2

static __always_inline __u64 tpc_truncate(__u64 v, __u8 bits)
{
	return bits >= 64 ? v : (v & ((1ull << (bits & 63)) - 1));
}

static __always_inline __s64 tpc_sign_extend(__u64 v, __u8 bits)
{
	if (bits >= 64)
		return (__s64)v;
	__u32 shift = 64 - (bits & 63);
	return ((__s64)(v << shift)) >> shift;
}

/* Whether `value` is one of the first `max` inline values. */
static __always_inline int tpc_inline_has(struct tpc_filter *f, __u64 value, int max)
{
	__u32 count = f->count;
	for (int k = 0; k < TPC_MAX_INLINE; k++) {
		if (k >= max || k >= count)
			return 0;
		if (f->values[k] == value)
			return 1;
	}
	return 0;
}

/* Reads the namespaces, capabilities and user-namespace level of the
 * current task into the record, once per hit. */
static __always_inline void tpc_ensure_task_info(struct tpc_hook_scratch *s)
{
	if (s->have_task_info)
		return;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	tpc_task_namespaces(task, s->ev.ns);
	tpc_task_caps(task, s->ev.caps);
	s->user_ns_level = tpc_task_user_ns_level(task);
	s->nspid = tpc_task_nspid(task);
	s->have_task_info = 1;
}

/* Copies the process entry of `pid` whose identity is `exec_ktime` into
 * s->other. */
static __always_inline int tpc_load_other(struct tpc_hook_scratch *s, __u32 pid, __u64 exec_ktime)
{
	struct process_entry *e = bpf_map_lookup_elem(&tpc_processes, &pid);
	if (!e || (exec_ktime && e->exec_ktime != exec_ktime))
		return 0;
	bpf_probe_read_kernel(&s->other, sizeof(s->other), e);
	return 1;
}

/* Looks `len` bytes at `src` up in the string set `set_id`. */
static __always_inline int tpc_string_in_set(struct tpc_hook_scratch *s, __u32 set_id, const void *src,
					     __u32 len)
{
	__u32 zero = 0;
	struct tpc_zero_value *zeros = bpf_map_lookup_elem(&tpc_zero, &zero);
	if (!zeros || len > TPC_ARG_MAX)
		return 0;
	__u32 bucket = len <= 64 ? 64 : len <= 256 ? 256 : len <= 1024 ? 1024 : 4096;
	__u32 clear = bucket + 8;
	VERIFIER_MASK(clear, 0x1fff);
	if (clear > 8 + TPC_ARG_MAX)
		clear = 8 + TPC_ARG_MAX;
	bpf_probe_read_kernel(s->key, clear, zeros->bytes);
	*(__u32 *)&s->key[0] = set_id;
	*(__u32 *)&s->key[4] = len;
	__u32 n = len;
	VERIFIER_MASK(n, 0x1fff);
	if (n > TPC_ARG_MAX)
		n = TPC_ARG_MAX;
	bpf_probe_read_kernel(&s->key[8], n, src);
	void *hit;
	switch (bucket) {
	case 64:
		hit = bpf_map_lookup_elem(&tpc_str_set_64, s->key);
		break;
	case 256:
		hit = bpf_map_lookup_elem(&tpc_str_set_256, s->key);
		break;
	case 1024:
		hit = bpf_map_lookup_elem(&tpc_str_set_1024, s->key);
		break;
	default:
		hit = bpf_map_lookup_elem(&tpc_str_set_4096, s->key);
		break;
	}
	return hit != 0;
}

/* Whether a stored prefix of set `set_id` starts `len` bytes at `src`. */
static __always_inline int tpc_has_prefix(struct tpc_hook_scratch *s, __u32 set_id, const void *src,
					  __u32 len)
{
	__u32 n = len > TPC_LPM_DATA ? TPC_LPM_DATA : len;
	VERIFIER_MASK(n, 0xff);
	if (n > TPC_LPM_DATA)
		n = TPC_LPM_DATA;
	s->lpm.prefixlen = 32 + 8 * n;
	s->lpm.set_id = set_id;
	bpf_probe_read_kernel(s->lpm.data, n, src);
	return bpf_map_lookup_elem(&tpc_lpm_str, &s->lpm) != 0;
}

/* Whether a stored (reversed) suffix of set `set_id` ends the last 127
 * bytes of `src[0..len)`. */
static __always_inline int tpc_has_postfix(struct tpc_hook_scratch *s, __u32 set_id, const __u8 *src,
					   __u32 len)
{
	__u32 n = len > TPC_POSTFIX_WINDOW ? TPC_POSTFIX_WINDOW : len;
	__u32 start = len - n;
	VERIFIER_MASK(n, 0x7f);
	VERIFIER_MASK(start, 0x1fff);
	if (bpf_probe_read_kernel(s->key, n, src + start) < 0)
		return 0;
	for (__u32 j = 0; j < TPC_POSTFIX_WINDOW; j++) {
		if (j >= n)
			break;
		s->lpm.data[j] = s->key[(n - 1 - j) & 0x7f];
	}
	s->lpm.prefixlen = 32 + 8 * n;
	s->lpm.set_id = set_id;
	return bpf_map_lookup_elem(&tpc_lpm_str, &s->lpm) != 0;
}

struct tpc_substr_search {
	__u64 hay;      /* address of the argument's bytes */
	__u32 hay_len;
	__u32 ignore_case;
	__u32 found;
	__u32 reserved;
	struct tpc_substr_value *needle;
};

static __always_inline __u8 tpc_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* One start position of a substring search. */
static long tpc_substr_at_cb(__u32 pos, void *data)
{
	struct tpc_substr_search *search = data;
	struct tpc_substr_value *needle = search->needle;
	if (!needle)
		return 1;
	__u32 nlen = needle->len;
	if (nlen > TPC_SUBSTR_MAX)
		return 1;
	if (pos + nlen > search->hay_len)
		return 1;
	__u8 window[TPC_SUBSTR_MAX];
	__u32 n = nlen;
	VERIFIER_MASK(n, 0x7f);
	if (n > TPC_SUBSTR_MAX)
		n = TPC_SUBSTR_MAX;
	if (bpf_probe_read_kernel(window, n, (void *)(search->hay + pos)) < 0)
		return 1;
	for (__u32 k = 0; k < TPC_SUBSTR_MAX; k++) {
		if (k >= n) {
			search->found = 1;
			return 1;
		}
		__u8 c = window[k];
		if (search->ignore_case)
			c = tpc_lower(c);
		if (c != needle->data[k])
			return 0;
	}
	search->found = 1;
	return 1;
}

struct tpc_substr_values {
	__u64 hay;
	__u32 hay_len;
	__u32 set_id;
	__u32 ignore_case;
	__u32 found;
};

static long tpc_substr_value_cb(__u32 index, void *data)
{
	struct tpc_substr_values *values = data;
	struct tpc_substr_key key = {.set_id = values->set_id, .index = index};
	struct tpc_substr_value *needle = bpf_map_lookup_elem(&tpc_substr, &key);
	if (!needle)
		return 0;
	if (needle->len == 0) {
		values->found = 1;
		return 1;
	}
	struct tpc_substr_search search = {
		.hay = values->hay,
		.hay_len = values->hay_len,
		.ignore_case = values->ignore_case,
		.found = 0,
		.needle = needle,
	};
	bpf_loop(TPC_ARG_MAX, tpc_substr_at_cb, &search, 0);
	if (search.found) {
		values->found = 1;
		return 1;
	}
	return 0;
}

/* The entry a binary filter looks at: the process (0) or its parent (1),
 * as s->other; 0 when unknown. */
static __always_inline int tpc_binary_entry(struct tpc_hook_scratch *s, int parent)
{
	if (!s->have_proc)
		return 0;
	if (!parent) {
		bpf_probe_read_kernel(&s->other, sizeof(s->other), &s->proc);
		return 1;
	}
	return tpc_load_other(s, s->proc.parent_pid, s->proc.parent_exec_ktime);
}

static __always_inline int tpc_filter_binary(struct tpc_hook_scratch *s, struct tpc_filter *f)
{
	if (!tpc_binary_entry(s, f->flags & TPC_FF_PARENT))
		return 0;
	__u32 len = s->other.binary_len;
	if (len == 0 || len > ENTRY_BINARY_LEN - 1)
		return 0;
	int matched = 0;
	if (f->flags & TPC_FF_FOLLOW) {
		__u32 bit = f->bit & (TPC_FOLLOW_WORDS * 64 - 1);
		matched = (s->other.follow[(bit >> 6) & 3] >> (bit & 63)) & 1;
	} else if (f->aux == 0) {
		/* A cut binary is longer than any value. */
		matched = !(s->other.flags & FLAG_TRUNC_BINARY) &&
			  tpc_string_in_set(s, f->set_id, s->other.binary, len);
	} else if (f->aux == 1) {
		matched = tpc_has_prefix(s, f->set_id, s->other.binary, len);
	} else {
		matched = tpc_has_postfix(s, f->set_id, (const __u8 *)s->other.binary, len);
	}
	return (f->flags & TPC_FF_NEGATE) ? !matched : matched;
}

static __always_inline int tpc_pid_listed(struct tpc_filter *f, __u32 pid)
{
	return tpc_inline_has(f, pid, 4);
}

static __always_inline int tpc_filter_pids(struct tpc_hook_scratch *s, struct tpc_filter *f)
{
	int nspid = f->flags & TPC_FF_NSPID;
	__u32 own;
	if (nspid) {
		tpc_ensure_task_info(s);
		own = s->nspid;
	} else {
		own = s->ev.pid;
	}
	int found = tpc_pid_listed(f, own);
	if ((f->flags & TPC_FF_FOLLOW)) {
		if (nspid && own == 0)
			return 0;
		if (!found && s->have_proc) {
			__u32 pid = s->proc.parent_pid;
			__u64 ktime = s->proc.parent_exec_ktime;
			int depth = nspid ? TPC_FOLLOW_DEPTH - 1 : TPC_FOLLOW_DEPTH;
			for (int k = 0; k < TPC_FOLLOW_DEPTH; k++) {
				if (k >= depth || found)
					break;
				if (!tpc_load_other(s, pid, ktime))
					break;
				if (tpc_pid_listed(f, nspid ? s->other.nspid : s->other.pid))
					found = 1;
				pid = s->other.parent_pid;
				ktime = s->other.parent_exec_ktime;
			}
		}
	}
	return (f->flags & TPC_FF_NEGATE) ? !found : found;
}

static __always_inline int tpc_filter_namespaces(struct tpc_hook_scratch *s, struct tpc_filter *f)
{
	tpc_ensure_task_info(s);
	__u32 kind = f->aux;
	if (kind >= TPC_NAMESPACES)
		return 0;
	__u32 inum = s->ev.ns[kind & 15];
	int any = 0;
	if (f->flags & TPC_FF_HOST) {
		__u32 zero = 0;
		struct tpc_config *config = bpf_map_lookup_elem(&tpc_config, &zero);
		if (config && inum != 0 && config->host_ns[kind & 15] == inum)
			any = 1;
	}
	if (!any)
		any = tpc_inline_has(f, inum, 4);
	return (f->flags & TPC_FF_NEGATE) ? !any : any;
}

static __always_inline int tpc_filter_caps(struct tpc_hook_scratch *s, struct tpc_filter *f)
{
	tpc_ensure_task_info(s);
	if ((f->flags & TPC_FF_NSCAP) && s->user_ns_level == 0)
		return 0;
	__u32 which = f->aux;
	if (which > 2)
		return 0;
	VERIFIER_MASK(which, 3);
	if (which > 2)
		return 0;
	__u64 set = s->ev.caps[which];
	int any = (set & f->mask) != 0;
	return (f->flags & TPC_FF_NEGATE) ? !any : any;
}

static __always_inline int tpc_filter_ns_changes(struct tpc_hook_scratch *s, struct tpc_filter *f,
						 __u32 *marks)
{
	if (!s->have_proc)
		return 0;
	tpc_ensure_task_info(s);
	int changed = 0;
	for (int k = 0; k < TPC_NAMESPACES; k++) {
		int listed = (f->mask >> k) & 1;
		int considered = (f->flags & TPC_FF_NEGATE) ? !listed : listed;
		if (!considered || changed)
			continue;
		__u32 before = s->proc.ns[k];
		if (before == 0) {
			*marks |= TPC_MARK_NS;
		} else if (before != s->ev.ns[k]) {
			changed = 1;
			*marks |= TPC_MARK_NS;
		}
	}
	return changed;
}

static __always_inline int tpc_filter_cap_changes(struct tpc_hook_scratch *s, struct tpc_filter *f,
						  __u32 *marks)
{
	if (!s->have_proc)
		return 0;
	tpc_ensure_task_info(s);
	if ((f->flags & TPC_FF_NSCAP) && s->user_ns_level == 0)
		return 0;
	__u32 set = f->aux;
	if (set > 2)
		return 0;
	VERIFIER_MASK(set, 3);
	if (set > 2)
		return 0;
	__u64 before = s->proc.caps[set];
	__u64 now = s->ev.caps[set];
	int listed_changed = (before & f->mask) != (now & f->mask);
	int other_changed = before != now;
	int pass = (f->flags & TPC_FF_NEGATE) ? (!listed_changed && other_changed) : listed_changed;
	if (pass)
		*marks |= TPC_MARK_CAPS;
	return pass;
}

/* A process filter; updates `marks` for the change filters. */
static __always_inline int tpc_process_filter_inline(struct tpc_hook_scratch *s, struct tpc_filter *f,
						     __u32 *marks)
{
	switch (f->kind) {
	case TPC_FK_BINARY:
		return tpc_filter_binary(s, f);
	case TPC_FK_PIDS:
		return tpc_filter_pids(s, f);
	case TPC_FK_NAMESPACES:
		return tpc_filter_namespaces(s, f);
	case TPC_FK_CAPS:
		return tpc_filter_caps(s, f);
	case TPC_FK_NS_CHANGES:
		return tpc_filter_ns_changes(s, f, marks);
	case TPC_FK_CAP_CHANGES:
		return tpc_filter_cap_changes(s, f, marks);
	default:
		return 0;
	}
}

/* Each test returns as soon as it knows: loops that carry no state from
 * one value to the next keep the verifier's work linear. */
static __always_inline int tpc_int_any(struct tpc_filter *f, __u64 bits, __s64 svalue)
{
	__u32 count = f->count;
	int is_signed = f->flags & TPC_FF_SIGNED;
	switch (f->op) {
	case TPC_INT_EQ:
		for (int k = 0; k < TPC_MAX_INLINE; k++) {
			if (k >= count)
				return 0;
			if (bits == f->values[k])
				return 1;
		}
		return 0;
	case TPC_INT_DIFFER_ANY:
		for (int k = 0; k < TPC_MAX_INLINE; k++) {
			if (k >= count)
				return 0;
			if (bits != f->values[k])
				return 1;
		}
		return 0;
	case TPC_INT_GT:
		for (int k = 0; k < TPC_MAX_INLINE; k++) {
			if (k >= count)
				return 0;
			if (is_signed ? svalue > (__s64)f->values[k] : bits > f->values[k])
				return 1;
		}
		return 0;
	case TPC_INT_LT:
		for (int k = 0; k < TPC_MAX_INLINE; k++) {
			if (k >= count)
				return 0;
			if (is_signed ? svalue < (__s64)f->values[k] : bits < f->values[k])
				return 1;
		}
		return 0;
	case TPC_INT_MASK:
		for (int k = 0; k < TPC_MAX_INLINE; k++) {
			if (k >= count)
				return 0;
			if (bits & f->values[k])
				return 1;
		}
		return 0;
	default:
		return 0;
	}
}

static __always_inline int tpc_filter_int(struct tpc_hook_scratch *s, struct tpc_filter *f, __u64 raw)
{
	return tpc_int_any(f, tpc_truncate(raw, f->bits), tpc_sign_extend(raw, f->bits));
}

static __always_inline int tpc_in_ranges(struct tpc_filter *f, __u64 bits, __s64 svalue)
{
	__u32 count = f->count;
	if (f->flags & TPC_FF_SIGNED) {
		for (int k = 0; k < TPC_MAX_INLINE / 2; k++) {
			if (k >= count)
				return 0;
			if ((__s64)f->values[2 * k] <= svalue && svalue <= (__s64)f->values[2 * k + 1])
				return 1;
		}
		return 0;
	}
	for (int k = 0; k < TPC_MAX_INLINE / 2; k++) {
		if (k >= count)
			return 0;
		if (f->values[2 * k] <= bits && bits <= f->values[2 * k + 1])
			return 1;
	}
	return 0;
}

static __always_inline int tpc_filter_int_range(struct tpc_filter *f, __u64 raw)
{
	int inside = tpc_in_ranges(f, tpc_truncate(raw, f->bits), tpc_sign_extend(raw, f->bits));
	return (f->flags & TPC_FF_NEGATE) ? !inside : inside;
}

static __always_inline int tpc_int_in_set(__u32 set_id, __u64 value)
{
	struct tpc_int_key key = {.set_id = set_id, .reserved = 0, .value = value};
	return bpf_map_lookup_elem(&tpc_int_set, &key) != 0;
}

static __always_inline int tpc_filter_text(struct tpc_hook_scratch *s, struct tpc_filter *f, __u32 slot)
{
	__u32 off = s->ev.offs[slot] & (TPC_DATA_SIZE - 1);
	__u32 len = s->ev.lens[slot];
	if (len > TPC_ARG_MAX)
		len = TPC_ARG_MAX;
	const __u8 *bytes = &s->data[off];
	int matched = 0;
	switch (f->op) {
	case TPC_TEXT_EQ:
		matched = len > 0 && tpc_string_in_set(s, f->set_id, bytes, len);
		break;
	case TPC_TEXT_PREFIX:
		matched = len > 0 && tpc_has_prefix(s, f->set_id, bytes, len);
		break;
	case TPC_TEXT_POSTFIX:
		matched = len > 0 && tpc_has_postfix(s, f->set_id, bytes, len);
		break;
	case TPC_TEXT_SUBSTR:
	case TPC_TEXT_SUBSTR_ICASE: {
		struct tpc_substr_values values = {
			.hay = (__u64)bytes,
			.hay_len = len,
			.set_id = f->set_id,
			.ignore_case = f->op == TPC_TEXT_SUBSTR_ICASE,
			.found = 0,
		};
		bpf_loop(f->count, tpc_substr_value_cb, &values, 0);
		matched = values.found;
		break;
	}
	}
	return (f->flags & TPC_FF_NEGATE) ? !matched : matched;
}

static __always_inline int tpc_filter_inet(struct tpc_hook_scratch *s, struct tpc_filter *f, __u32 slot)
{
	__u64 value = s->ev.values[slot];
	__u16 family = (__u16)value;
	__u16 port = (__u16)(value >> 16);
	__u8 kind = s->hook.slots[slot & (TPC_MAX_SLOTS - 1)].kind;
	int sock = kind == TPC_READ_SOCK || kind == TPC_READ_SOCKET;
	int ip = family == TPC_AF_INET || family == TPC_AF_INET6;
	int matched = 0;
	__u32 off = s->ev.offs[slot] & (TPC_DATA_SIZE - 1);
	__u32 len = s->ev.lens[slot];
	if (sock && f->aux)
		port = (__u16)(value >> 32);
	switch (f->kind) {
	case TPC_FK_INET_FAMILY:
		return tpc_inline_has(f, family, TPC_MAX_INLINE);
	case TPC_FK_INET_PROTO:
		if (!sock)
			return 0;
		return tpc_inline_has(f, (__u16)(value >> 48), TPC_MAX_INLINE);
	case TPC_FK_INET_STATE: {
		if (!sock || len != TPC_SOCK_BYTES)
			return 0;
		__u8 state = 0;
		bpf_probe_read_kernel(&state, 1, &s->data[(off + TPC_SOCK_STATE_AT) & (TPC_DATA_SIZE - 1)]);
		return tpc_inline_has(f, state, TPC_MAX_INLINE);
	}
	case TPC_FK_INET_ADDR: {
		if (!ip)
			return 0;
		if (sock) {
			/* the address's 4 or 16 bytes, at 0 (source) or 16 */
			if (len != TPC_SOCK_BYTES)
				return 0;
			off = (off + (f->aux ? 16 : 0)) & (TPC_DATA_SIZE - 1);
			len = family == TPC_AF_INET ? 4 : 16;
		}
		if (family == TPC_AF_INET && len == 4) {
			struct tpc_lpm_v4_key key = {.prefixlen = 64, .set_id = f->set_id};
			bpf_probe_read_kernel(key.addr, 4, &s->data[off]);
			matched = bpf_map_lookup_elem(&tpc_lpm_v4, &key) != 0;
		} else if (family == TPC_AF_INET6 && len == 16) {
			struct tpc_lpm_v6_key key = {.prefixlen = 160, .set_id = f->set_id};
			bpf_probe_read_kernel(key.addr, 16, &s->data[off]);
			matched = bpf_map_lookup_elem(&tpc_lpm_v6, &key) != 0;
		} else {
			return 0;
		}
		break;
	}
	/* a sock has its ports whatever its family; a sockaddr only for IP */
	case TPC_FK_INET_PORT:
		if (!ip && !sock)
			return 0;
		matched = tpc_int_in_set(f->set_id, port);
		break;
	case TPC_FK_INET_PRIV:
		if (!ip && !sock)
			return 0;
		matched = port < 1024;
		break;
	default:
		return 0;
	}
	return (f->flags & TPC_FF_NEGATE) ? !matched : matched;
}

static __always_inline int tpc_arg_filter_inline(struct tpc_hook_scratch *s, struct tpc_filter *f)
{
	__u32 slot = f->slot & (TPC_MAX_SLOTS - 1);
	__u64 raw = s->ev.values[slot];
	switch (f->kind) {
	case TPC_FK_ALWAYS:
		return 1;
	case TPC_FK_INT:
		return tpc_filter_int(s, f, raw);
	case TPC_FK_INT_RANGE:
		return tpc_filter_int_range(f, raw);
	case TPC_FK_INT_SET: {
		int found = tpc_int_in_set(f->set_id, tpc_truncate(raw, f->bits));
		return (f->flags & TPC_FF_NEGATE) ? !found : found;
	}
	case TPC_FK_TEXT:
		return tpc_filter_text(s, f, slot);
	case TPC_FK_INET_FAMILY:
	case TPC_FK_INET_ADDR:
	case TPC_FK_INET_PORT:
	case TPC_FK_INET_PRIV:
	case TPC_FK_INET_PROTO:
	case TPC_FK_INET_STATE:
		return tpc_filter_inet(s, f, slot);
	default:
		return 0;
	}
}

/* The filters as global functions: the verifier checks each once, whatever
 * the state of its callers, which keeps the hook programs' verification
 * linear in the number of filter kinds. Returns bit 0: passed; bits 1-2:
 * TPC_MARK_* reached. */
__noinline int tpc_process_filter(struct tpc_filter *f)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s || !f)
		return 0;
	__u32 marks = 0;
	int passed = tpc_process_filter_inline(s, f, &marks) ? 1 : 0;
	return passed | (int)(marks << 1);
}

__noinline int tpc_arg_filter(struct tpc_filter *f)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s || !f)
		return 0;
	return tpc_arg_filter_inline(s, f) ? 1 : 0;
}

#endif
