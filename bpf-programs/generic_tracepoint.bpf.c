/* Policy hooks on tracepoints. A tracepoint program cannot tell which
 * tracepoint fired (the record's common fields are overwritten with a
 * pt_regs pointer before the program runs, and aya attaches without a BPF
 * cookie), so there is one program per slot (tpc_tracepoint_0 ... _95);
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

/* TPC_TP_SLOTS programs: room for the kernel's 64 programs on one
 * tracepoint (reached only by `tpc run --attach-per-bundle`, the comparison
 * mode) beside 32 other hooked tracepoints. */
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
TPC_TP_PROGRAM(32)
TPC_TP_PROGRAM(33)
TPC_TP_PROGRAM(34)
TPC_TP_PROGRAM(35)
TPC_TP_PROGRAM(36)
TPC_TP_PROGRAM(37)
TPC_TP_PROGRAM(38)
TPC_TP_PROGRAM(39)
TPC_TP_PROGRAM(40)
TPC_TP_PROGRAM(41)
TPC_TP_PROGRAM(42)
TPC_TP_PROGRAM(43)
TPC_TP_PROGRAM(44)
TPC_TP_PROGRAM(45)
TPC_TP_PROGRAM(46)
TPC_TP_PROGRAM(47)
TPC_TP_PROGRAM(48)
TPC_TP_PROGRAM(49)
TPC_TP_PROGRAM(50)
TPC_TP_PROGRAM(51)
TPC_TP_PROGRAM(52)
TPC_TP_PROGRAM(53)
TPC_TP_PROGRAM(54)
TPC_TP_PROGRAM(55)
TPC_TP_PROGRAM(56)
TPC_TP_PROGRAM(57)
TPC_TP_PROGRAM(58)
TPC_TP_PROGRAM(59)
TPC_TP_PROGRAM(60)
TPC_TP_PROGRAM(61)
TPC_TP_PROGRAM(62)
TPC_TP_PROGRAM(63)
TPC_TP_PROGRAM(64)
TPC_TP_PROGRAM(65)
TPC_TP_PROGRAM(66)
TPC_TP_PROGRAM(67)
TPC_TP_PROGRAM(68)
TPC_TP_PROGRAM(69)
TPC_TP_PROGRAM(70)
TPC_TP_PROGRAM(71)
TPC_TP_PROGRAM(72)
TPC_TP_PROGRAM(73)
TPC_TP_PROGRAM(74)
TPC_TP_PROGRAM(75)
TPC_TP_PROGRAM(76)
TPC_TP_PROGRAM(77)
TPC_TP_PROGRAM(78)
TPC_TP_PROGRAM(79)
TPC_TP_PROGRAM(80)
TPC_TP_PROGRAM(81)
TPC_TP_PROGRAM(82)
TPC_TP_PROGRAM(83)
TPC_TP_PROGRAM(84)
TPC_TP_PROGRAM(85)
TPC_TP_PROGRAM(86)
TPC_TP_PROGRAM(87)
TPC_TP_PROGRAM(88)
TPC_TP_PROGRAM(89)
TPC_TP_PROGRAM(90)
TPC_TP_PROGRAM(91)
TPC_TP_PROGRAM(92)
TPC_TP_PROGRAM(93)
TPC_TP_PROGRAM(94)
TPC_TP_PROGRAM(95)
