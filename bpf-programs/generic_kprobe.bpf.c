/* Policy hooks on kernel functions (kprobes), uprobes, fentry and BPF LSM.
 * As with tracepoints, a program cannot tell which function it is attached
 * to without a BPF cookie, so each kind has a few programs, one per slot;
 * `tpc_prog_hooks[BASE + slot]` names the hook. All call tpc_run_hook.
 *
 * Where the arguments are:
 * - kprobes and uprobes: the context is a struct pt_regs; a slot's offset is
 *   the register's offset in it (x86-64: di, si, dx, cx, r8, r9). For
 *   syscall wrappers (`__x64_sys_*`, TPC_HOOK_REGS_INDIRECT) the first
 *   argument points at the user's pt_regs, and the offsets are into that
 *   (di, si, dx, r10, r8, r9).
 * - fentry and LSM: the context is the arguments as an array of u64; a
 *   slot's offset is 8 × the argument's index.
 *
 * Override: kprobe hooks with an Override action attach a
 * tpc_kprobe_override_<n> program, which calls bpf_override_return (the
 * kernel must have CONFIG_BPF_KPROBE_OVERRIDE and the function must be on
 * its error-injection list, or attaching fails). LSM programs return the
 * value. A kprobe on a `security_*` function overrides as Tetragon does
 * there, with an fmod_ret program (which needs no error injection): the
 * kprobe tpc_kprobe_fmodret_<n> runs the hook and leaves the value in
 * tpc_override_tasks; the program of slot <n> in fmod_ret.bpf.c, attached
 * to the same function, runs right after it (the trampoline's direct call
 * follows the ftrace handlers) and returns the value instead of calling the
 * function. Part of tpc.bpf.c. */

struct pt_regs;

/* offsetof(struct pt_regs, di) on x86-64: the first argument register. */
#define TPC_PT_REGS_DI 112

#define TPC_KPROBE_PROGRAM(n)                                                                      \
	SEC("kprobe/tpc_slot_" #n)                                                                 \
	int tpc_kprobe_##n(struct pt_regs *ctx)                                                    \
	{                                                                                          \
		return tpc_prog_slot(ctx, TPC_KPROBE_BASE + n, TPC_PT_REGS_DI);                    \
	}

#define TPC_KPROBE_OVERRIDE_PROGRAM(n)                                                             \
	SEC("kprobe/tpc_override_slot_" #n)                                                        \
	int tpc_kprobe_override_##n(struct pt_regs *ctx)                                           \
	{                                                                                          \
		int value = 0;                                                                     \
		tpc_prog_slot(ctx, TPC_KPROBE_OVR_BASE + n, TPC_PT_REGS_DI);                       \
		if (tpc_override_value(&value))                                                    \
			bpf_override_return(ctx, (long)value);                                     \
		return 0;                                                                          \
	}

#define TPC_KPROBE_FMODRET_PROGRAM(n)                                                              \
	SEC("kprobe/tpc_fmodret_slot_" #n)                                                         \
	int tpc_kprobe_fmodret_##n(struct pt_regs *ctx)                                            \
	{                                                                                          \
		int value = 0;                                                                     \
		struct tpc_override_key key = {.pid_tgid = bpf_get_current_pid_tgid(), .slot = n}; \
		tpc_prog_slot(ctx, TPC_KPROBE_FMODRET_BASE + n, TPC_PT_REGS_DI);                   \
		if (tpc_override_value(&value) && value != 0) {                                    \
			struct tpc_override_task o = {.ret = value};                               \
			bpf_map_update_elem(&tpc_override_tasks, &key, &o, BPF_ANY);               \
		} else {                                                                           \
			bpf_map_delete_elem(&tpc_override_tasks, &key);                            \
		}                                                                                  \
		return 0;                                                                          \
	}

#define TPC_UPROBE_PROGRAM(n)                                                                      \
	SEC("uprobe/tpc_slot_" #n)                                                                 \
	int tpc_uprobe_##n(struct pt_regs *ctx)                                                    \
	{                                                                                          \
		return tpc_prog_slot(ctx, TPC_UPROBE_BASE + n, TPC_PT_REGS_DI);                    \
	}

#define TPC_FENTRY_PROGRAM(n)                                                                      \
	SEC("fentry/tpc_slot_" #n)                                                                 \
	int tpc_fentry_##n(void *ctx)                                                              \
	{                                                                                          \
		return tpc_prog_slot(ctx, TPC_FENTRY_BASE + n, 0);                                 \
	}

/* An LSM program returns 0 (allow) or a negative errno; the verifier
 * checks the range. A value outside [-4095, 0] returns -1 (EPERM), as
 * Tetragon's LSM override does. In assembly, on the sign-extended value:
 * in C, clang may return the zero-extended copy of the int, whose range
 * the verifier then refuses. */
static __always_inline long tpc_lsm_errno(int value)
{
	long v = value;
	asm volatile("if %0 s< -4095 goto +1\n"
		     "if %0 s<= 0 goto +1\n"
		     "%0 = -1\n"
		     : "+r"(v));
	return v;
}

#define TPC_LSM_PROGRAM(n)                                                                         \
	SEC("lsm/tpc_slot_" #n)                                                                    \
	long tpc_lsm_##n(void *ctx)                                                                 \
	{                                                                                          \
		int value = 0;                                                                     \
		tpc_prog_slot(ctx, TPC_LSM_BASE + n, 0);                                           \
		if (!tpc_override_value(&value))                                                   \
			return 0;                                                                  \
		return tpc_lsm_errno(value);                                                       \
	}

/* Return probes: the call's entry ran the selectors; these finish it. */
#define TPC_KRETPROBE_PROGRAM(n)                                                                   \
	SEC("kretprobe/tpc_ret_slot_" #n)                                                          \
	int tpc_kretprobe_##n(struct pt_regs *ctx)                                                 \
	{                                                                                          \
		return tpc_prog_return(ctx, TPC_KRETPROBE_BASE + n);                               \
	}

/* fexit: the program's arguments, then the return value after them. */
#define TPC_FEXIT_PROGRAM(n)                                                                       \
	SEC("fexit/tpc_ret_slot_" #n)                                                              \
	int tpc_fexit_##n(void *ctx)                                                               \
	{                                                                                          \
		return tpc_prog_return(ctx, TPC_FEXIT_BASE + n);                                   \
	}

#define TPC_URETPROBE_PROGRAM(n)                                                                   \
	SEC("uretprobe/tpc_ret_slot_" #n)                                                          \
	int tpc_uretprobe_##n(struct pt_regs *ctx)                                                 \
	{                                                                                          \
		return tpc_prog_return(ctx, TPC_URETPROBE_BASE + n);                               \
	}

TPC_KPROBE_PROGRAM(0)
TPC_KPROBE_PROGRAM(1)
TPC_KPROBE_PROGRAM(2)
TPC_KPROBE_PROGRAM(3)
TPC_KPROBE_PROGRAM(4)
TPC_KPROBE_PROGRAM(5)
TPC_KPROBE_PROGRAM(6)
TPC_KPROBE_PROGRAM(7)
TPC_KPROBE_PROGRAM(8)
TPC_KPROBE_PROGRAM(9)
TPC_KPROBE_PROGRAM(10)
TPC_KPROBE_PROGRAM(11)
TPC_KPROBE_PROGRAM(12)
TPC_KPROBE_PROGRAM(13)
TPC_KPROBE_PROGRAM(14)
TPC_KPROBE_PROGRAM(15)
TPC_KPROBE_PROGRAM(16)
TPC_KPROBE_PROGRAM(17)
TPC_KPROBE_PROGRAM(18)
TPC_KPROBE_PROGRAM(19)
TPC_KPROBE_PROGRAM(20)
TPC_KPROBE_PROGRAM(21)
TPC_KPROBE_PROGRAM(22)
TPC_KPROBE_PROGRAM(23)
TPC_KPROBE_PROGRAM(24)
TPC_KPROBE_PROGRAM(25)
TPC_KPROBE_PROGRAM(26)
TPC_KPROBE_PROGRAM(27)
TPC_KPROBE_PROGRAM(28)
TPC_KPROBE_PROGRAM(29)
TPC_KPROBE_PROGRAM(30)
TPC_KPROBE_PROGRAM(31)
TPC_KPROBE_PROGRAM(32)
TPC_KPROBE_PROGRAM(33)
TPC_KPROBE_PROGRAM(34)
TPC_KPROBE_PROGRAM(35)
TPC_KPROBE_PROGRAM(36)
TPC_KPROBE_PROGRAM(37)
TPC_KPROBE_PROGRAM(38)
TPC_KPROBE_PROGRAM(39)
TPC_KPROBE_PROGRAM(40)
TPC_KPROBE_PROGRAM(41)
TPC_KPROBE_PROGRAM(42)
TPC_KPROBE_PROGRAM(43)
TPC_KPROBE_PROGRAM(44)
TPC_KPROBE_PROGRAM(45)
TPC_KPROBE_PROGRAM(46)
TPC_KPROBE_PROGRAM(47)
TPC_KPROBE_PROGRAM(48)
TPC_KPROBE_PROGRAM(49)
TPC_KPROBE_PROGRAM(50)
TPC_KPROBE_PROGRAM(51)
TPC_KPROBE_PROGRAM(52)
TPC_KPROBE_PROGRAM(53)
TPC_KPROBE_PROGRAM(54)
TPC_KPROBE_PROGRAM(55)
TPC_KPROBE_PROGRAM(56)
TPC_KPROBE_PROGRAM(57)
TPC_KPROBE_PROGRAM(58)
TPC_KPROBE_PROGRAM(59)
TPC_KPROBE_PROGRAM(60)
TPC_KPROBE_PROGRAM(61)
TPC_KPROBE_PROGRAM(62)
TPC_KPROBE_PROGRAM(63)

TPC_KPROBE_OVERRIDE_PROGRAM(0)
TPC_KPROBE_OVERRIDE_PROGRAM(1)
TPC_KPROBE_OVERRIDE_PROGRAM(2)
TPC_KPROBE_OVERRIDE_PROGRAM(3)
TPC_KPROBE_OVERRIDE_PROGRAM(4)
TPC_KPROBE_OVERRIDE_PROGRAM(5)
TPC_KPROBE_OVERRIDE_PROGRAM(6)
TPC_KPROBE_OVERRIDE_PROGRAM(7)

TPC_KPROBE_FMODRET_PROGRAM(0)
TPC_KPROBE_FMODRET_PROGRAM(1)
TPC_KPROBE_FMODRET_PROGRAM(2)
TPC_KPROBE_FMODRET_PROGRAM(3)
TPC_KPROBE_FMODRET_PROGRAM(4)
TPC_KPROBE_FMODRET_PROGRAM(5)
TPC_KPROBE_FMODRET_PROGRAM(6)
TPC_KPROBE_FMODRET_PROGRAM(7)

TPC_UPROBE_PROGRAM(0)
TPC_UPROBE_PROGRAM(1)
TPC_UPROBE_PROGRAM(2)
TPC_UPROBE_PROGRAM(3)
TPC_UPROBE_PROGRAM(4)
TPC_UPROBE_PROGRAM(5)
TPC_UPROBE_PROGRAM(6)
TPC_UPROBE_PROGRAM(7)

TPC_FENTRY_PROGRAM(0)
TPC_FENTRY_PROGRAM(1)
TPC_FENTRY_PROGRAM(2)
TPC_FENTRY_PROGRAM(3)
TPC_FENTRY_PROGRAM(4)
TPC_FENTRY_PROGRAM(5)
TPC_FENTRY_PROGRAM(6)
TPC_FENTRY_PROGRAM(7)

TPC_LSM_PROGRAM(0)
TPC_LSM_PROGRAM(1)
TPC_LSM_PROGRAM(2)
TPC_LSM_PROGRAM(3)
TPC_LSM_PROGRAM(4)
TPC_LSM_PROGRAM(5)
TPC_LSM_PROGRAM(6)
TPC_LSM_PROGRAM(7)

TPC_KRETPROBE_PROGRAM(0)
TPC_KRETPROBE_PROGRAM(1)
TPC_KRETPROBE_PROGRAM(2)
TPC_KRETPROBE_PROGRAM(3)
TPC_KRETPROBE_PROGRAM(4)
TPC_KRETPROBE_PROGRAM(5)
TPC_KRETPROBE_PROGRAM(6)
TPC_KRETPROBE_PROGRAM(7)
TPC_KRETPROBE_PROGRAM(8)
TPC_KRETPROBE_PROGRAM(9)
TPC_KRETPROBE_PROGRAM(10)
TPC_KRETPROBE_PROGRAM(11)
TPC_KRETPROBE_PROGRAM(12)
TPC_KRETPROBE_PROGRAM(13)
TPC_KRETPROBE_PROGRAM(14)
TPC_KRETPROBE_PROGRAM(15)

TPC_URETPROBE_PROGRAM(0)
TPC_URETPROBE_PROGRAM(1)
TPC_URETPROBE_PROGRAM(2)
TPC_URETPROBE_PROGRAM(3)
TPC_URETPROBE_PROGRAM(4)
TPC_URETPROBE_PROGRAM(5)
TPC_URETPROBE_PROGRAM(6)
TPC_URETPROBE_PROGRAM(7)

TPC_FEXIT_PROGRAM(0)
TPC_FEXIT_PROGRAM(1)
TPC_FEXIT_PROGRAM(2)
TPC_FEXIT_PROGRAM(3)
TPC_FEXIT_PROGRAM(4)
TPC_FEXIT_PROGRAM(5)
TPC_FEXIT_PROGRAM(6)
TPC_FEXIT_PROGRAM(7)
