/* Policy hooks on tracepoints. A tracepoint program cannot tell which
 * tracepoint fired (the record's common fields are overwritten with a
 * pt_regs pointer before the program runs, and aya attaches without a BPF
 * cookie), so there is one program per slot (tpc_tracepoint_0 ... _31);
 * `tpc_tp_hooks[slot]` names the hook. All of them call the one global
 * tpc_run_hook. Fields are read at the offsets the runtime found in the
 * live `format` file. Part of tpc.bpf.c. */

static __always_inline int tpc_tp_slot(void *ctx, __u32 slot)
{
	__u32 *hook_id = bpf_map_lookup_elem(&tpc_tp_hooks, &slot);
	if (!hook_id || *hook_id == 0)
		return 0;
	return tpc_enter_hook(ctx, *hook_id, 0);
}

#define TPC_TP_PROGRAM(n)                                                                          \
	SEC("tracepoint/tpc/slot_" #n)                                                             \
	int tpc_tracepoint_##n(void *ctx)                                                          \
	{                                                                                          \
		return tpc_tp_slot(ctx, n);                                                        \
	}

TPC_TP_PROGRAM(0)
TPC_TP_PROGRAM(1)
TPC_TP_PROGRAM(2)
TPC_TP_PROGRAM(3)
TPC_TP_PROGRAM(4)
TPC_TP_PROGRAM(5)
TPC_TP_PROGRAM(6)
TPC_TP_PROGRAM(7)
TPC_TP_PROGRAM(8)
TPC_TP_PROGRAM(9)
TPC_TP_PROGRAM(10)
TPC_TP_PROGRAM(11)
TPC_TP_PROGRAM(12)
TPC_TP_PROGRAM(13)
TPC_TP_PROGRAM(14)
TPC_TP_PROGRAM(15)
TPC_TP_PROGRAM(16)
TPC_TP_PROGRAM(17)
TPC_TP_PROGRAM(18)
TPC_TP_PROGRAM(19)
TPC_TP_PROGRAM(20)
TPC_TP_PROGRAM(21)
TPC_TP_PROGRAM(22)
TPC_TP_PROGRAM(23)
TPC_TP_PROGRAM(24)
TPC_TP_PROGRAM(25)
TPC_TP_PROGRAM(26)
TPC_TP_PROGRAM(27)
TPC_TP_PROGRAM(28)
TPC_TP_PROGRAM(29)
TPC_TP_PROGRAM(30)
TPC_TP_PROGRAM(31)
