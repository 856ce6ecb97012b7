/* One hook hit, for every policy hooked there: find the policy hooks that
 * apply (everywhere, or to the task's cgroup or an ancestor), read the
 * hook's arguments once, evaluate each policy's selectors (Tetragon's
 * order: the process filters of every selector, then the argument filters
 * of the selectors whose process filters passed; the first selector whose
 * filters all pass wins), run its actions (signals, rate limits, NoPost)
 * and write one record that names every policy that matched.
 *
 * Policies are evaluated from their own map entries keyed by policy-hook
 * id: one program serves any number of policies, and adding one writes map
 * entries only. Loops are bpf_loop callbacks, verified once whatever the
 * number of policies, selectors or filters.
 */
#ifndef TPC_HOOK_ENGINE_H
#define TPC_HOOK_ENGINE_H

#include "hook_args.h"
#include "hook_filters.h"

struct tpc_eval {
	__u32 ph_id;
	__u32 first;    /* index of the next filter */
	__u32 ok;       /* the selector's result so far */
	__u32 marks;    /* TPC_MARK_* of change filters reached */
	__u32 replaces; /* no early stop: some filter replaces the result */
	__u32 reserved;
};

static long tpc_process_filter_cb(__u32 i, void *data)
{
	struct tpc_eval *e = data;
	struct tpc_hook_scratch *s = tpc_scratch();
	struct tpc_policy_hook *ph = bpf_map_lookup_elem(&tpc_policy_hooks, &e->ph_id);
	if (!s || !ph)
		return 1;
	struct tpc_filter *f = &ph->filters[(e->first + i) & (TPC_MAX_FILTERS - 1)];
	int result = tpc_process_filter(f);
	e->marks |= (__u32)result >> 1;
	if (!(result & 1)) {
		e->ok = 0;
		return 1;
	}
	return 0;
}

static long tpc_arg_filter_cb(__u32 i, void *data)
{
	struct tpc_eval *e = data;
	struct tpc_hook_scratch *s = tpc_scratch();
	struct tpc_policy_hook *ph = bpf_map_lookup_elem(&tpc_policy_hooks, &e->ph_id);
	if (!s || !ph)
		return 1;
	struct tpc_filter *f = &ph->filters[(e->first + i) & (TPC_MAX_FILTERS - 1)];
	int passed = tpc_arg_filter(f) & 1;
	if (f->flags & TPC_FF_REPLACES)
		e->ok = passed;
	else
		e->ok = e->ok && passed;
	if (!e->ok && !e->replaces)
		return 1;
	return 0;
}

/* The first 40 bytes of an exported argument, as the rate-limit key and
 * the simulator (sim/engine.rs rate_key) encode it: integers as 4 or 8
 * little-endian bytes, strings and buffers as a u32 length then bytes,
 * socket addresses as family, port, address. */
static __always_inline void tpc_rate_arg(struct tpc_hook_scratch *s, __u32 j, __u32 slot)
{
	__u8 *dst = &s->rate.data[(j & (TPC_MAX_POLICY_ARGS - 1)) * TPC_RATE_ARG_BYTES];
	struct tpc_arg_slot *spec = &s->hook.slots[slot & (TPC_MAX_SLOTS - 1)];
	__u64 value = s->ev.values[slot & (TPC_MAX_SLOTS - 1)];
	__u32 off = s->ev.offs[slot & (TPC_MAX_SLOTS - 1)] & (TPC_DATA_SIZE - 1);
	__u32 len = s->ev.lens[slot & (TPC_MAX_SLOTS - 1)];
	switch (spec->kind) {
	case TPC_READ_INT:
		if (spec->width == 8)
			__builtin_memcpy(dst, &value, 8);
		else
			__builtin_memcpy(dst, &value, 4);
		break;
	case TPC_READ_SYSCALL64:
		__builtin_memcpy(dst, &value, 8);
		break;
	case TPC_READ_SOCK:
	case TPC_READ_SOCKET:
	case TPC_READ_SKB: {
		/* family, ports, protocol, then both addresses */
		__builtin_memcpy(dst, &value, 8);
		__u32 n = len >= 32 ? 32 : 0;
		VERIFIER_MASK(n, 0x3f);
		if (n > 32)
			n = 32;
		bpf_probe_read_kernel(dst + 8, n, &s->data[off]);
		break;
	}
	case TPC_READ_SOCKADDR: {
		__u16 family = (__u16)value;
		__u16 port = (__u16)(value >> 16);
		__builtin_memcpy(dst, &family, 2);
		__builtin_memcpy(dst + 2, &port, 2);
		__u32 n = len > 16 ? 16 : len;
		VERIFIER_MASK(n, 0x1f);
		if (n > 16)
			n = 16;
		bpf_probe_read_kernel(dst + 4, n, &s->data[off]);
		break;
	}
	default: {
		__builtin_memcpy(dst, &len, 4);
		__u32 n = len > TPC_RATE_ARG_BYTES - 4 ? TPC_RATE_ARG_BYTES - 4 : len;
		VERIFIER_MASK(n, 0x3f);
		if (n > TPC_RATE_ARG_BYTES - 4)
			n = TPC_RATE_ARG_BYTES - 4;
		bpf_probe_read_kernel(dst + 4, n, &s->data[off]);
		break;
	}
	}
}

/* Whether the winning selector's rateLimit suppresses this event; records
 * the event's time when it does not. */
static __always_inline int tpc_rate_limited(struct tpc_hook_scratch *s, struct tpc_policy_hook *ph,
					    __u32 ph_id, struct tpc_sel_action *a)
{
	__u32 zero = 0;
	struct tpc_zero_value *zeros = bpf_map_lookup_elem(&tpc_zero, &zero);
	if (!zeros)
		return 0;
	bpf_probe_read_kernel(&s->rate, sizeof(s->rate), zeros->bytes);
	s->rate.ph_id = ph_id;
	s->rate.selector = 0;
	s->rate.scope = a->rate_scope == 0 ? s->ev.tid : a->rate_scope == 1 ? s->ev.pid : 0;
	for (__u32 j = 0; j < TPC_MAX_POLICY_ARGS; j++) {
		if (j >= ph->nargs)
			break;
		tpc_rate_arg(s, j, ph->arg_slots[j]);
	}
	__u64 now = s->ev.header.ktime;
	__u64 *last = bpf_map_lookup_elem(&tpc_rate, &s->rate);
	if (last && now - *last < a->rate_interval_ns)
		return 1;
	bpf_map_update_elem(&tpc_rate, &s->rate, &now, BPF_ANY);
	return 0;
}

/* After a change filter was reached and the event posts, the process's
 * recorded namespaces and capabilities become the current ones. */
static __always_inline void tpc_record_current(struct tpc_hook_scratch *s)
{
	__u32 pid = s->ev.pid;
	struct process_entry *e = bpf_map_lookup_elem(&tpc_processes, &pid);
	if (!e)
		return;
	__builtin_memcpy(e->caps, s->ev.caps, sizeof(e->caps));
	__builtin_memcpy(e->ns, s->ev.ns, sizeof(e->ns));
	__builtin_memcpy(s->proc.caps, s->ev.caps, sizeof(s->proc.caps));
	__builtin_memcpy(s->proc.ns, s->ev.ns, sizeof(s->proc.ns));
}

static long tpc_candidate_cb(__u32 index, void *data)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s || index >= s->ncands)
		return 1;
	struct tpc_eval e = {0};
	e.ph_id = s->cands[index & (2 * TPC_MAX_CANDIDATES - 1)];
	struct tpc_policy_hook *ph = bpf_map_lookup_elem(&tpc_policy_hooks, &e.ph_id);
	if (!ph || ph->policy_id == 0)
		return 0;
	e.replaces = ph->flags & TPC_PH_REPLACES;
	__u32 nsel = ph->nselectors;
	__u8 winner = 0xff;
	if (nsel > 0) {
		__u8 active[TPC_MAX_SELECTORS] = {0};
		for (__u32 k = 0; k < TPC_MAX_SELECTORS; k++) {
			if (k >= nsel)
				break;
			struct tpc_sel_action *a = &ph->actions[k];
			e.first = a->first_filter;
			e.ok = 1;
			if (a->nproc)
				bpf_loop(a->nproc, tpc_process_filter_cb, &e, 0);
			active[k] = e.ok;
		}
		int found = 0;
		for (__u32 k = 0; k < TPC_MAX_SELECTORS; k++) {
			if (k >= nsel)
				break;
			if (!active[k])
				continue;
			struct tpc_sel_action *a = &ph->actions[k];
			e.first = a->first_filter + a->nproc;
			e.ok = 1;
			if (a->nargs)
				bpf_loop(a->nargs, tpc_arg_filter_cb, &e, 0);
			if (e.ok) {
				winner = k;
				found = 1;
				break;
			}
		}
		if (!found)
			return 0;
	}

	__u8 flags = 0;
	if (winner < TPC_MAX_SELECTORS) {
		struct tpc_sel_action *a = &ph->actions[winner];
		if (a->signal && !(ph->flags & TPC_PH_MONITOR)) {
			bpf_send_signal(a->signal);
			flags |= TPC_POST_SIGNALED;
		}
		if ((a->action_flags & TPC_ACT_OVERRIDE) && !(ph->flags & TPC_PH_MONITOR)) {
			/* the first policy that overrides decides the value */
			if (!s->override_set) {
				s->override_set = 1;
				s->override_ret = a->override_ret;
			}
			flags |= TPC_POST_OVERRIDDEN;
		}
		int limited = 0;
		if (a->rate_scope != TPC_RATE_NONE)
			limited = tpc_rate_limited(s, ph, e.ph_id, a);
		if (!a->post)
			flags |= TPC_POST_NOPOST;
		else if (limited)
			flags |= TPC_POST_RATE_LIMITED;
		else
			flags |= TPC_POST_POSTED;
	} else {
		flags |= TPC_POST_POSTED;
	}
	if ((flags & TPC_POST_POSTED) && e.marks)
		tpc_record_current(s);
	if ((flags & TPC_POST_POSTED) && (ph->flags & TPC_PH_RETURNS))
		flags |= TPC_POST_AWAIT_RETURN;
	__u32 n = s->ev.nposts;
	if (n < TPC_MAX_POSTS) {
		struct tpc_post *post = &s->ev.posts[n & (TPC_MAX_POSTS - 1)];
		post->ph_id = e.ph_id;
		post->selector = winner;
		post->flags = flags;
		post->policy = (__u16)ph->policy_id;
		s->ev.nposts = n + 1;
	}
	return 0;
}

/* Appends the policy hooks of list (hook, cgroup) to the candidates. */
static __always_inline void tpc_add_list(struct tpc_hook_scratch *s, __u32 hook_id, __u64 cgroup)
{
	struct tpc_list_key key = {.hook_id = hook_id, .reserved = 0, .cgroup_id = cgroup};
	struct tpc_ph_list *list = bpf_map_lookup_elem(&tpc_lists, &key);
	if (!list)
		return;
	__u32 have = s->ncands;
	__u32 count = list->count;
	if (have >= TPC_MAX_CANDIDATES)
		return;
	if (count > TPC_MAX_CANDIDATES - have)
		count = TPC_MAX_CANDIDATES - have;
	__u32 bytes = count * 4;
	VERIFIER_MASK(bytes, 0x3ff);
	if (bytes > TPC_MAX_CANDIDATES * 4)
		bytes = TPC_MAX_CANDIDATES * 4;
	VERIFIER_MASK(have, 0x7f);
	bpf_probe_read_kernel(&s->cands[have], bytes, list->ids);
	s->ncands = have + count;
}

static long tpc_count_drop_cb(__u32 i, void *data)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s || i >= s->ev.nposts)
		return 1;
	struct tpc_post *post = &s->ev.posts[i & (TPC_MAX_POSTS - 1)];
	if (!(post->flags & TPC_POST_POSTED))
		return 0;
	__u32 policy = post->policy;
	__u64 *counter = bpf_map_lookup_elem(&tpc_policy_drops, &policy);
	if (counter)
		*counter += 1;
	return 0;
}

/* The entry of a call some policy posted for with a return probe: kept
 * until the return probe of the same thread and hook takes it. */
static __always_inline void tpc_keep_for_return(struct tpc_hook_scratch *s, __u64 pid_tgid,
						__u32 hook_id)
{
	struct tpc_ret_key key = {.pid_tgid = pid_tgid, .hook_id = hook_id, .reserved = 0};
	s->ret.entry_ktime = s->ev.header.ktime;
	s->ret.exec_ktime = s->ev.exec_ktime;
	__builtin_memcpy(s->ret.values, s->ev.values, sizeof(s->ret.values));
	s->ret.nposts = s->ev.nposts;
	__builtin_memcpy(s->ret.posts, s->ev.posts, sizeof(s->ret.posts));
	bpf_map_update_elem(&tpc_ret_pending, &key, &s->ret, BPF_ANY);
}

/* One policy that awaits the return: the first selector whose
 * matchReturnArgs pass decides, with its matchReturnActions. */
static long tpc_return_post_cb(__u32 i, void *data)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s || i >= s->ret.nposts || i >= TPC_MAX_POSTS)
		return 1;
	__u32 at = i;
	VERIFIER_MASK(at, 15); /* TPC_MAX_POSTS - 1 */
	struct tpc_post *in = &s->ret.posts[at];
	if (!(in->flags & TPC_POST_AWAIT_RETURN))
		return 0;
	struct tpc_eval e = {0};
	e.ph_id = in->ph_id;
	struct tpc_policy_hook *ph = bpf_map_lookup_elem(&tpc_policy_hooks, &e.ph_id);
	if (!ph || ph->policy_id == 0)
		return 0;
	__u8 flags = 0;
	__u8 winner = 0xff;
	__u32 nsel = ph->nselectors;
	if (nsel == 0) {
		flags = TPC_POST_POSTED;
	} else {
		for (__u32 k = 0; k < TPC_MAX_SELECTORS; k++) {
			if (k >= nsel)
				break;
			struct tpc_sel_action *a = &ph->actions[k];
			e.first = a->first_filter + a->nproc + a->nargs;
			e.ok = 1;
			if (a->nret)
				bpf_loop(a->nret, tpc_arg_filter_cb, &e, 0);
			if (e.ok) {
				winner = k;
				break;
			}
		}
		if (winner >= TPC_MAX_SELECTORS) {
			flags = TPC_POST_RET_FAILED;
		} else {
			struct tpc_sel_action *a = &ph->actions[winner];
			if (a->ret_signal && !(ph->flags & TPC_PH_MONITOR)) {
				bpf_send_signal(a->ret_signal);
				flags |= TPC_POST_SIGNALED;
			}
			flags |= (a->action_flags & TPC_ACT_RET_NOPOST) ? TPC_POST_NOPOST
									: TPC_POST_POSTED;
		}
	}
	__u32 n = s->ev.nposts;
	if (n < TPC_MAX_POSTS) {
		struct tpc_post *post = &s->ev.posts[n & (TPC_MAX_POSTS - 1)];
		post->ph_id = e.ph_id;
		post->selector = winner;
		post->flags = flags;
		post->policy = in->policy;
		s->ev.nposts = n + 1;
	}
	return 0;
}

/* A return probe: finishes the call its entry kept, if any. The record
 * always goes out (the entry's events wait for it in user space); it
 * names each awaiting policy with its return selector and flags. */
__noinline int tpc_run_return(__u32 hook_id)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct tpc_ret_key key = {.pid_tgid = pid_tgid, .hook_id = hook_id, .reserved = 0};
	struct tpc_ret_state *state = bpf_map_lookup_elem(&tpc_ret_pending, &key);
	if (!state)
		return 0;
	bpf_probe_read_kernel(&s->ret, sizeof(s->ret), state);
	bpf_map_delete_elem(&tpc_ret_pending, &key);
	struct tpc_hook *hook = bpf_map_lookup_elem(&tpc_hooks, &hook_id);
	if (!hook)
		return 0;
	bpf_probe_read_kernel(&s->hook, sizeof(s->hook), hook);
	s->ev.header.kind = EVENT_HOOK_RETURN;
	s->ev.header.version = WIRE_VERSION;
	s->ev.header.reserved = 0;
	s->ev.header.cpu = bpf_get_smp_processor_id();
	s->ev.header.ktime = bpf_ktime_get_boot_ns();
	s->ev.pid = pid_tgid >> 32;
	s->ev.tid = (__u32)pid_tgid;
	s->ev.exec_ktime = s->ret.exec_ktime;
	s->ev.hook_id = hook_id;
	s->ev.nposts = 0;
	s->ev.flags = 0;
	s->ev.data_len = 0;
	s->ev.reserved = 0;
	s->ev.entry_ktime = s->ret.entry_ktime;
	s->ret_pass = 1;
	bpf_loop(TPC_MAX_SLOTS, tpc_read_slot_cb, 0, 0);
	s->ret_pass = 0;
	bpf_loop(TPC_MAX_POSTS, tpc_return_post_cb, 0, 0);
	__u64 size = sizeof(s->ev) + s->ev.data_len;
	if (size > sizeof(s->ev) + TPC_DATA_SIZE + TPC_ARG_MAX)
		size = sizeof(s->ev) + TPC_DATA_SIZE + TPC_ARG_MAX;
	if (bpf_ringbuf_output(&tpc_events, &s->ev, size, 0) < 0)
		bpf_loop(TPC_MAX_POSTS, tpc_count_drop_cb, 0, 0);
	return 0;
}

/* A global function: verified once per program, whatever calls it. The
 * program's context is in s->ctx as an address (tpc_enter_hook), read only
 * through bpf_probe_read_kernel. */
__noinline int tpc_run_hook(__u32 hook_id)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s)
		return 0;
	struct tpc_hook *hook = bpf_map_lookup_elem(&tpc_hooks, &hook_id);
	if (!hook)
		return 0;
	if (hook->flags & TPC_HOOK_REGS_INDIRECT)
		s->ctx = tpc_read_ptr(s->ctx + s->first_arg_off);
	s->ncands = 0;
	tpc_add_list(s, hook_id, 0);
	if (hook->flags & TPC_HOOK_SCOPED) {
		for (int level = 1; level <= TPC_CGROUP_DEPTH; level++) {
			__u64 cgroup = bpf_get_current_ancestor_cgroup_id(level);
			if (cgroup == 0)
				break;
			tpc_add_list(s, hook_id, cgroup);
		}
	}
	if (s->ncands == 0)
		return 0;

	__u64 pid_tgid = bpf_get_current_pid_tgid();
	bpf_probe_read_kernel(&s->hook, sizeof(s->hook), hook);
	s->ev.header.kind = EVENT_HOOK;
	s->ev.header.version = WIRE_VERSION;
	s->ev.header.reserved = 0;
	s->ev.header.cpu = bpf_get_smp_processor_id();
	s->ev.header.ktime = bpf_ktime_get_boot_ns();
	s->ev.pid = pid_tgid >> 32;
	s->ev.tid = (__u32)pid_tgid;
	s->ev.hook_id = hook_id;
	s->ev.nposts = 0;
	s->ev.flags = 0;
	s->ev.data_len = 0;
	s->ev.reserved = 0;
	s->ev.entry_ktime = 0;
	s->ret_pass = 0;
	s->have_task_info = 0;

	__u32 tgid = s->ev.pid;
	struct process_entry *entry = bpf_map_lookup_elem(&tpc_processes, &tgid);
	if (entry) {
		bpf_probe_read_kernel(&s->proc, sizeof(s->proc), entry);
		s->have_proc = 1;
		s->ev.exec_ktime = entry->exec_ktime;
	} else {
		s->have_proc = 0;
		s->ev.exec_ktime = 0;
		s->ev.flags |= TPC_HOOK_NO_PROCESS;
	}
	if (hook->flags & TPC_HOOK_TASK_INFO)
		tpc_ensure_task_info(s);

	bpf_loop(TPC_MAX_SLOTS, tpc_read_slot_cb, 0, 0);
	bpf_loop(TPC_MAX_CANDIDATES, tpc_candidate_cb, 0, 0);

	int posted = 0;
	int awaits = 0;
	for (int i = 0; i < TPC_MAX_POSTS; i++) {
		if (i < s->ev.nposts && (s->ev.posts[i].flags & TPC_POST_POSTED))
			posted = 1;
		if (i < s->ev.nposts && (s->ev.posts[i].flags & TPC_POST_AWAIT_RETURN))
			awaits = 1;
	}
	if (!posted)
		return 0;
	if (awaits)
		tpc_keep_for_return(s, pid_tgid, hook_id);
	tpc_ensure_task_info(s);
	__u64 size = sizeof(s->ev) + s->ev.data_len;
	if (size > sizeof(s->ev) + TPC_DATA_SIZE + TPC_ARG_MAX)
		size = sizeof(s->ev) + TPC_DATA_SIZE + TPC_ARG_MAX;
	if (bpf_ringbuf_output(&tpc_events, &s->ev, size, 0) < 0)
		bpf_loop(TPC_MAX_POSTS, tpc_count_drop_cb, 0, 0);
	return 0;
}

/* Entry of every hook program: keeps the context's address (and where its
 * first argument is, for syscall wrappers) for the argument reads, then runs
 * the hook. s->override_set says afterwards whether a policy overrides the
 * call's return value (s->override_ret). */
static __always_inline int tpc_enter_hook(void *ctx, __u32 hook_id, __u32 first_arg_off)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s)
		return 0;
	s->ctx = (__u64)ctx;
	s->first_arg_off = first_arg_off;
	s->override_set = 0;
	s->override_ret = 0;
	return tpc_run_hook(hook_id);
}

/* The program of dispatch slot `index` of tpc_prog_hooks. */
static __always_inline int tpc_prog_slot(void *ctx, __u32 index, __u32 first_arg_off)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (s)
		s->override_set = 0; /* no hook here: no override left from the last one */
	__u32 *hook_id = bpf_map_lookup_elem(&tpc_prog_hooks, &index);
	if (!hook_id || *hook_id == 0)
		return 0;
	return tpc_enter_hook(ctx, *hook_id, first_arg_off);
}

/* The return program of dispatch slot `index` of tpc_prog_hooks. */
static __always_inline int tpc_prog_return(void *ctx, __u32 index)
{
	__u32 *hook_id = bpf_map_lookup_elem(&tpc_prog_hooks, &index);
	if (!hook_id || *hook_id == 0)
		return 0;
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s)
		return 0;
	s->ctx = (__u64)ctx;
	s->first_arg_off = 0;
	return tpc_run_return(*hook_id);
}

/* After tpc_enter_hook: the return value a matching policy forces, or 0. */
static __always_inline int tpc_override_value(int *value)
{
	struct tpc_hook_scratch *s = tpc_scratch();
	if (!s || !s->override_set)
		return 0;
	*value = s->override_ret;
	return 1;
}

#endif
