/* Policy hooks on raw tracepoints. A raw tracepoint's context does not say
 * which tracepoint fired, so there is one program per slot
 * (like generic_tracepoint.bpf.c)
 * (tpc_raw_tracepoint_0 ... _7); `tpc_raw_hooks[slot]` names the hook. A
 * slot's `offset` is 8 × the argument's index in `ctx->args`. Part of
 * tpc.bpf.c. */

static __always_inline int tpc_raw_slot(struct bpf_raw_tracepoint_args *ctx, __u32 slot)
{
	__u32 *hook_id = bpf_map_lookup_elem(&tpc_raw_hooks, &slot);
	if (!hook_id || *hook_id == 0)
		return 0;
	return tpc_enter_hook(ctx, *hook_id, 0);
}

#define TPC_RAW_PROGRAM(n)                                                                         \
	SEC("raw_tracepoint/tpc_slot_" #n)                                                                      \
	int tpc_raw_tracepoint_##n(struct bpf_raw_tracepoint_args *ctx)                            \
	{                                                                                          \
		return tpc_raw_slot(ctx, n);                                                       \
	}

TPC_RAW_PROGRAM(0)
TPC_RAW_PROGRAM(1)
TPC_RAW_PROGRAM(2)
TPC_RAW_PROGRAM(3)
TPC_RAW_PROGRAM(4)
TPC_RAW_PROGRAM(5)
TPC_RAW_PROGRAM(6)
TPC_RAW_PROGRAM(7)
