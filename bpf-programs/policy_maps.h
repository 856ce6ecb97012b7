/* Layouts of the policy maps and of the hook record, shared by the hook
 * programs (BPF) and tpc-bundle (Rust).
 *
 * The Rust side (bundle/src/layout.rs) is the declaration of record: every
 * struct here has its size and field offsets listed there, and a test
 * compares them with the BTF of the compiled object. A change here needs
 * the same change there and a bump of TPC_PROGRAM_ABI.
 */
#ifndef TPC_POLICY_MAPS_H
#define TPC_POLICY_MAPS_H

#define TPC_PROGRAM_ABI 6

#define TPC_MAX_SLOTS 8        /* argument slots of one hook (all policies) */
#define TPC_MAX_POLICY_ARGS 8  /* arguments one policy hook exports */
#define TPC_MAX_SELECTORS 5
#define TPC_MAX_FILTERS 32     /* filters of one policy hook, all selectors */
#define TPC_MAX_INLINE 8       /* inline values of one filter */
#define TPC_MAX_PH_LIST 128    /* policy hooks in one list (per hook, per cgroup) */
#define TPC_MAX_CANDIDATES 128 /* policy hooks evaluated on one hit */
#define TPC_MAX_POSTS 16       /* policies that matched one hit */
#define TPC_MAX_POLICIES 1024  /* drop counters */
#define TPC_ARG_MAX 4096       /* bytes read for one string or buffer */
#define TPC_DATA_SIZE 16384    /* string and buffer bytes of one record */
#define TPC_LPM_DATA 252       /* string bytes of a prefix/postfix key */
#define TPC_POSTFIX_WINDOW 127 /* bytes of a string's end a postfix looks at */
#define TPC_PREFIX_WINDOW 255  /* bytes of a string's start a prefix looks at */
#define TPC_RATE_ARG_BYTES 40  /* bytes of each argument in a rate-limit key */
#define TPC_SUBSTR_MAX 124     /* bytes of one SubString value */
#define TPC_FOLLOW_WORDS 4     /* 256 followChildren bits */
#define TPC_RAW_SLOTS 8        /* raw tracepoint programs */
#define TPC_TP_SLOTS 96        /* tracepoint programs */
/* Programs of the other hook kinds, dispatched through tpc_prog_hooks at
 * these bases (kind base + program slot). */
#define TPC_KPROBE_BASE 0      /* tpc_kprobe_0..63 */
#define TPC_KPROBE_SLOTS 64
#define TPC_KPROBE_OVR_BASE 64 /* tpc_kprobe_override_0..7 (bpf_override_return) */
#define TPC_KPROBE_OVR_SLOTS 8
#define TPC_FENTRY_BASE 72     /* tpc_fentry_0..7 */
#define TPC_FENTRY_SLOTS 8
#define TPC_LSM_BASE 80        /* tpc_lsm_0..7 */
#define TPC_LSM_SLOTS 8
#define TPC_UPROBE_BASE 88     /* tpc_uprobe_0..7 */
#define TPC_UPROBE_SLOTS 8
#define TPC_KRETPROBE_BASE 96  /* tpc_kretprobe_0..15 (return probes) */
#define TPC_KRETPROBE_SLOTS 16
#define TPC_URETPROBE_BASE 112 /* tpc_uretprobe_0..7 */
#define TPC_URETPROBE_SLOTS 8
#define TPC_KPROBE_FMODRET_BASE 128 /* tpc_kprobe_fmodret_0..7 (Override by fmod_ret) */
#define TPC_KPROBE_FMODRET_SLOTS 8
#define TPC_FEXIT_BASE 136     /* tpc_fexit_0..7 (fentry hooks' return probes) */
#define TPC_FEXIT_SLOTS 8
#define TPC_PROG_SLOTS 144
#define TPC_RET_PENDING 4096   /* calls awaiting their return probe */
#define TPC_OVERRIDE_TASKS 4096 /* calls an fmod_ret program is to override */
#define TPC_CGROUP_DEPTH 16    /* cgroup ancestors looked at for scoping */
#define TPC_FOLLOW_DEPTH 9     /* ancestors followForks walks */
#define TPC_NAMESPACES 10

/* How a slot is read (struct tpc_arg_slot.kind). */
enum tpc_read {
	TPC_READ_NONE = 0,
	TPC_READ_INT = 1,        /* width bytes at the offset */
	TPC_READ_SYSCALL64 = 2,  /* 8 bytes; bit 31 set for compat tasks */
	TPC_READ_USER_STR = 3,   /* pointer at the offset to a user string */
	TPC_READ_KERNEL_STR = 4, /* pointer at the offset to a kernel string */
	TPC_READ_DATA_LOC = 5,   /* __data_loc: u32 (len << 16 | offset) */
	TPC_READ_CHAR_BUF = 6,   /* user pointer; size in slot size_slot */
	TPC_READ_CONST_BUF = 7,  /* max_len bytes inside the record */
	TPC_READ_SOCKADDR = 8,   /* pointer to a struct sockaddr (user, else kernel) */
	TPC_READ_FILE = 9,       /* struct file *: its path */
	TPC_READ_PATH = 10,      /* struct path *: the path */
	TPC_READ_FD = 11,        /* an fd of the current task: its file's path */
	TPC_READ_BPRM = 12,      /* struct linux_binprm *: the path of bprm->file */
	TPC_READ_DENTRY = 13,    /* struct dentry *: names up to its file system's root */
	TPC_READ_SOCK = 14,      /* struct sock *: see TPC_SOCK_BYTES */
	TPC_READ_SOCKET = 15,    /* struct socket *: its sock, the same way */
	/* kernel objects, as the TPC_*_BYTES below say (strings: the bytes) */
	TPC_READ_CRED = 16,       /* struct cred * */
	TPC_READ_USER_NS = 17,    /* struct user_namespace * */
	TPC_READ_KIOCB = 18,      /* struct kiocb *: the path of ki_filp */
	TPC_READ_FILENAME = 19,   /* struct filename *: its name */
	TPC_READ_NET_DEV = 20,    /* struct net_device *: its name */
	TPC_READ_MODULE = 21,     /* struct module *: its name */
	TPC_READ_LOAD_INFO = 22,  /* struct load_info *: the module's name */
	TPC_READ_BPF_ATTR = 23,   /* union bpf_attr * (BPF_PROG_LOAD) */
	TPC_READ_BPF_PROG = 24,   /* struct bpf_prog * */
	TPC_READ_BPF_MAP = 25,    /* struct bpf_map * */
	TPC_READ_PERF_EVENT = 26, /* struct perf_event * */
	TPC_READ_SKB = 27,        /* struct sk_buff *: see TPC_SKB_BYTES */
	TPC_READ_CHAR_IOVEC = 28, /* struct iovec * (user); count in slot size_slot */
};

/* A char_iovec slot: the bytes of its first TPC_IOVEC_MAX buffers one after
 * the other, as Tetragon reads them (a buffer longer than
 * TPC_IOVEC_ENTRY_MAX, or one that cannot be read, makes the argument the
 * error: orig_lens says which). */
#define TPC_IOVEC_MAX 7
#define TPC_IOVEC_ENTRY_MAX 4094
#define TPC_ORIG_PAGE_FAULT 0xfffffffe
#define TPC_ORIG_TOO_LARGE 0xfffffffd

/* An skb slot: the value as a sock slot's; the bytes both addresses (16
 * each), then len, priority, mark and hash (u32). */
#define TPC_SKB_BYTES 48

/* uid gid suid sgid euid egid fsuid fsgid securebits (u32), 4 reserved,
 * inheritable permitted effective (u64), then TPC_USER_NS_BYTES */
#define TPC_CRED_BYTES 80
/* level (s32), owner, group, ns inum (u32) */
#define TPC_USER_NS_BYTES 16
/* prog type, instruction count (u32), name[16] */
#define TPC_BPF_BYTES 24
/* map type, key size, value size, max entries (u32), name[16] */
#define TPC_BPF_MAP_BYTES 32
/* perf event: type, config, probe offset (u64), then the kprobe function */
#define TPC_PERF_FUNC_MAX 128

/* A sock slot: the value is family | sport << 16 | dport << 32 |
 * protocol << 48 (ports in host order); the bytes are the source and the
 * destination address (16 each; IPv4 in the first 4), the socket type
 * (u16) and the TCP state (u8). */
#define TPC_SOCK_BYTES 36
#define TPC_SOCK_TYPE_AT 32
#define TPC_SOCK_STATE_AT 34

#define TPC_SLOT_SIGNED 1
#define TPC_SLOT_RETURN 2  /* read by the return probe, from its context */
#define TPC_SLOT_RETCOPY 4 /* a buffer: its pointer is kept at entry, its bytes
			    * read by the return probe, as many as the return
			    * value says (returnCopy) */
#define TPC_SLOT_USDT 8    /* a USDT argument: computed as hook.usdt[slot] says,
			    * then read like the register that held it */
#define TPC_SLOT_NONE 0xff

/* One value read on every hit. For tracepoints `offset` is the field's
 * offset in the record; for raw tracepoints it is the argument's index. */
struct tpc_arg_slot {
	__u16 offset;
	__u8 kind;
	__u8 width;
	__u8 flags;
	__u8 size_slot;
	__u16 max_len;
};

#define TPC_HOOK_SCOPED 1   /* some policy on this hook is scoped to cgroups */
#define TPC_HOOK_TASK_INFO 2 /* some filter reads namespaces or capabilities */
#define TPC_HOOK_REGS_INDIRECT 4 /* the arguments are in a struct pt_regs that the
				  * first argument points at (syscall wrappers):
				  * slot offsets are into that struct */
#define TPC_HOOK_RETURN 8 /* some policy on this hook has a return probe */

/* How a USDT argument is computed, from the probe's note (the runtime
 * parses `-4@%eax`, `8@-16(%rbp)`, ...): a constant, a register of the
 * uprobe's pt_regs, or user memory at a register (plus an index register
 * << scale) plus val_off; then truncated to its size and sign- or
 * zero-extended by shift. */
enum tpc_usdt_kind {
	TPC_USDT_NONE = 0,
	TPC_USDT_CONST = 1,
	TPC_USDT_REG = 2,
	TPC_USDT_DEREF = 3,
	TPC_USDT_SIB = 4,
};

struct tpc_usdt_arg {
	__u64 val_off;
	__u16 reg_off;
	__u16 idx_off;
	__u8 kind;
	__u8 shift;
	__u8 sig;
	__u8 scale;
};

/* Value of tpc_hooks, keyed by hook id (from 1). */
struct tpc_hook {
	__u32 nslots;
	__u32 flags;
	struct tpc_arg_slot slots[TPC_MAX_SLOTS];
	struct tpc_usdt_arg usdt[TPC_MAX_SLOTS]; /* slots with TPC_SLOT_USDT */
};

/* Key of tpc_lists: the policy hooks of a hook that apply everywhere
 * (cgroup 0) or to one cgroup and its descendants. */
struct tpc_list_key {
	__u32 hook_id;
	__u32 reserved;
	__u64 cgroup_id;
};

struct tpc_ph_list {
	__u32 count;
	__u32 ids[TPC_MAX_PH_LIST];
};

/* Filter kinds (struct tpc_filter.kind). Below TPC_FK_ARG: process filters. */
enum tpc_filter_kind {
	TPC_FK_BINARY = 1,      /* aux: 0 exact, 1 prefix, 2 postfix */
	TPC_FK_PIDS = 2,        /* values[0..count) */
	TPC_FK_NAMESPACES = 3,  /* aux: namespace; values: inums */
	TPC_FK_CAPS = 4,        /* aux: set; mask */
	TPC_FK_NS_CHANGES = 5,  /* mask: namespaces considered */
	TPC_FK_CAP_CHANGES = 6, /* aux: set; mask */
	TPC_FK_ARG = 16,
	TPC_FK_NEVER = 16,
	TPC_FK_ALWAYS = 17,
	TPC_FK_INT = 18,         /* op: enum tpc_int_op; values */
	TPC_FK_INT_RANGE = 19,   /* values: count pairs (lo, hi) */
	TPC_FK_INT_SET = 20,     /* set_id in tpc_int_set */
	TPC_FK_TEXT = 21,        /* op: enum tpc_text_op; set_id */
	TPC_FK_INET_FAMILY = 22, /* values */
	TPC_FK_INET_ADDR = 23,   /* set_id in tpc_lpm_v4 / tpc_lpm_v6 */
	TPC_FK_INET_PORT = 24,   /* set_id in tpc_int_set */
	TPC_FK_INET_PRIV = 25,   /* port < 1024 */
	TPC_FK_INET_PROTO = 26,  /* sock protocol in values */
	TPC_FK_INET_STATE = 27,  /* sock TCP state in values */
};
/* INET_ADDR, INET_PORT and INET_PRIV on a sock: aux 1 reads the
 * destination (DAddr, DPort), 0 the source. */

enum tpc_int_op {
	TPC_INT_EQ = 0,
	TPC_INT_DIFFER_ANY = 1,
	TPC_INT_GT = 2,
	TPC_INT_LT = 3,
	TPC_INT_MASK = 4,
};

enum tpc_text_op {
	TPC_TEXT_EQ = 0,
	TPC_TEXT_PREFIX = 1,
	TPC_TEXT_POSTFIX = 2,
	TPC_TEXT_SUBSTR = 3,
	TPC_TEXT_SUBSTR_ICASE = 4,
};

#define TPC_FF_NEGATE 1
#define TPC_FF_SIGNED 2
#define TPC_FF_FOLLOW 4
#define TPC_FF_PARENT 8
#define TPC_FF_NSPID 16
#define TPC_FF_HOST 32
#define TPC_FF_NSCAP 64
#define TPC_FF_REPLACES 128

struct tpc_filter {
	__u8 kind;
	__u8 op;
	__u8 slot;     /* argument slot of the hook */
	__u8 count;    /* inline values used (ranges: pairs) */
	__u8 bits;     /* integer width compared */
	__u8 flags;    /* TPC_FF_* */
	__u8 aux;
	__u8 selector; /* index of the selector it belongs to */
	__u32 set_id;
	__u32 bit;     /* followChildren bit */
	__u64 values[TPC_MAX_INLINE];
	__u64 mask;
};

#define TPC_RATE_NONE 0xff

struct tpc_sel_action {
	__u64 rate_interval_ns;
	__u8 post;
	__u8 signal;
	__u8 rate_scope;   /* 0 thread, 1 process, 2 global, TPC_RATE_NONE */
	__u8 first_filter; /* the selector's filters: process ones first */
	__u8 nproc;
	__u8 nargs;
	__u8 nret;         /* matchReturnArgs filters, after the argument ones */
	__u8 ret_signal;   /* the signal matchReturnActions sends */
	__s32 override_ret; /* the return value Override forces */
	__u32 action_flags; /* TPC_ACT_* */
};

#define TPC_ACT_OVERRIDE 1 /* the hooked call returns override_ret */
#define TPC_ACT_RET_NOPOST 2 /* matchReturnActions has NoPost */

#define TPC_PH_MONITOR 1  /* report enforcement, do not run it */
#define TPC_PH_REPLACES 2 /* some filter replaces the result (no early stop) */
#define TPC_PH_RETURNS 4  /* a return probe decides whether the event posts */

/* Value of tpc_policy_hooks, keyed by policy-hook id (from 1): one policy's
 * selectors on one hook. Filters are grouped by selector, each selector's
 * process filters before its argument filters. */
struct tpc_policy_hook {
	__u32 policy_id;
	__u16 nselectors; /* 0: every hit posts */
	__u16 nfilters;
	__u32 flags;
	__u8 nargs;
	__u8 arg_slots[TPC_MAX_POLICY_ARGS];
	__u8 reserved[3];
	struct tpc_sel_action actions[TPC_MAX_SELECTORS];
	struct tpc_filter filters[TPC_MAX_FILTERS];
};

/* Value sets. */
struct tpc_int_key {
	__u32 set_id;
	__u32 reserved;
	__u64 value;
};

#define TPC_STR_KEY(n)                                                                             \
	struct tpc_str_key_##n {                                                                   \
		__u32 set_id;                                                                      \
		__u32 len;                                                                         \
		__u8 data[n];                                                                      \
	}
TPC_STR_KEY(64);
TPC_STR_KEY(256);
TPC_STR_KEY(1024);
TPC_STR_KEY(4096);

struct tpc_lpm_str_key {
	__u32 prefixlen; /* 32 (the set id) + 8 per byte */
	__u32 set_id;
	__u8 data[TPC_LPM_DATA];
};

struct tpc_lpm_v4_key {
	__u32 prefixlen;
	__u32 set_id;
	__u8 addr[4];
};

struct tpc_lpm_v6_key {
	__u32 prefixlen;
	__u32 set_id;
	__u8 addr[16];
};

struct tpc_substr_key {
	__u32 set_id;
	__u32 index;
};

struct tpc_substr_value {
	__u32 len;
	__u8 data[TPC_SUBSTR_MAX];
};

/* tpc_follow_bins: a binary path (zero-padded) → the followChildren bits
 * of the filters that list it, set in a process entry at exec. */
struct tpc_follow_key {
	char path[256];
};

struct tpc_follow_value {
	__u64 bits[TPC_FOLLOW_WORDS];
};

struct tpc_rate_key {
	__u32 ph_id;
	__u32 selector;
	__u64 scope;
	__u8 data[TPC_MAX_POLICY_ARGS * TPC_RATE_ARG_BYTES];
};

/* Value of tpc_config (one entry). */
struct tpc_config {
	__u32 host_ns[TPC_NAMESPACES];
	__u32 flags;
	__u32 reserved;
};

/* The record of one hit that some policy matched. */
#define TPC_POST_POSTED 1      /* the event is posted for this policy */
#define TPC_POST_NOPOST 2      /* matched, NoPost */
#define TPC_POST_RATE_LIMITED 4 /* matched, suppressed by rateLimit */
#define TPC_POST_SIGNALED 8    /* a signal was sent */
#define TPC_POST_OVERRIDDEN 16 /* the call's return value was overridden */
#define TPC_POST_AWAIT_RETURN 32 /* posts when its return probe says so */
#define TPC_POST_RET_FAILED 64 /* return record: no return selector matched */

struct tpc_post {
	__u32 ph_id;
	__u8 selector; /* 0xff: the policy hook has no selectors */
	__u8 flags;
	__u16 policy;  /* the policy id (drop counters) */
};

#define TPC_HOOK_TRUNCATED 1 /* data did not fit TPC_DATA_SIZE */
#define TPC_HOOK_NO_PROCESS 2 /* the process had no entry */

struct tpc_hook_event {
	struct event_header header;
	__u32 pid;
	__u32 tid;
	__u64 exec_ktime;
	__u32 hook_id;
	__u16 nposts;
	__u16 flags;
	__u32 ns[TPC_NAMESPACES];
	__u64 caps[3]; /* effective, inheritable, permitted */
	__u64 values[TPC_MAX_SLOTS];
	__u16 offs[TPC_MAX_SLOTS]; /* where a slot's bytes start in data */
	__u16 lens[TPC_MAX_SLOTS];
	__u32 orig_lens[TPC_MAX_SLOTS]; /* a buffer's size before it was cut */
	struct tpc_post posts[TPC_MAX_POSTS];
	__u32 data_len;
	__u32 reserved;
	__u64 entry_ktime; /* return records: the entry record's header ktime */
};

/* tpc_ret_pending: a call whose entry record awaits its return probe. */
struct tpc_ret_key {
	__u64 pid_tgid;
	__u32 hook_id;
	__u32 reserved;
};

struct tpc_ret_state {
	__u64 entry_ktime;
	__u64 exec_ktime;
	__u64 values[TPC_MAX_SLOTS]; /* entry values (returnCopy pointers) */
	__u16 nposts;
	__u16 reserved[3];
	struct tpc_post posts[TPC_MAX_POSTS];
};

/* What a kprobe with Override on a `security_*` function leaves for the
 * fmod_ret program on the same function (bpf-programs/fmod_ret.bpf.c): the
 * return value. */
struct tpc_override_task {
	__s32 ret;
	__u32 reserved;
};

/* Its key: the thread and the program slot both programs share. Several
 * kprobes on one function (hooks of different policies) all run before any
 * fmod_ret program does; each writes or clears only its own entry, so one
 * that does not override never erases another's, and a value left behind
 * (a program the kernel skipped) is only ever taken by its own slot's
 * fmod_ret program. */
struct tpc_override_key {
	__u64 pid_tgid;
	__u32 slot;
	__u32 reserved;
};

_Static_assert(sizeof(struct tpc_arg_slot) == 8, "tpc_arg_slot");
_Static_assert(sizeof(struct tpc_override_task) == 8, "tpc_override_task");
_Static_assert(sizeof(struct tpc_override_key) == 16, "tpc_override_key");
_Static_assert(sizeof(struct tpc_usdt_arg) == 16, "tpc_usdt_arg");
_Static_assert(sizeof(struct tpc_hook) == 200, "tpc_hook");
_Static_assert(sizeof(struct tpc_ph_list) == 516, "tpc_ph_list");
_Static_assert(sizeof(struct tpc_filter) == 88, "tpc_filter");
_Static_assert(sizeof(struct tpc_sel_action) == 24, "tpc_sel_action");
_Static_assert(sizeof(struct tpc_policy_hook) == 2960, "tpc_policy_hook");
_Static_assert(sizeof(struct tpc_lpm_str_key) == 260, "tpc_lpm_str_key");
_Static_assert(sizeof(struct tpc_rate_key) == 336, "tpc_rate_key");
_Static_assert(sizeof(struct tpc_hook_event) == 376, "tpc_hook_event");
_Static_assert(sizeof(struct tpc_ret_key) == 16, "tpc_ret_key");
_Static_assert(sizeof(struct tpc_ret_state) == 216, "tpc_ret_state");

#endif
