/* Every map of the sensor object: the base sensor's (ring buffer, process
 * map, drop counters) and the policy maps the hook programs read. The
 * runtime sizes the policy maps from the bundles it loads (set_max_entries);
 * the sizes here are the defaults. Layouts: base_sensor.h, policy_maps.h.
 */
#ifndef TPC_MAPS_H
#define TPC_MAPS_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} tpc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct process_entry);
} tpc_processes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} tpc_drops SEC(".maps");

/* Hook records that did not fit the ring buffer, per policy id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TPC_MAX_POLICIES);
	__type(key, __u32);
	__type(value, __u64);
} tpc_policy_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tpc_config);
} tpc_config SEC(".maps");

/* Tracepoint program slot → hook id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TPC_TP_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} tpc_tp_hooks SEC(".maps");

/* Raw tracepoint program slot → hook id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TPC_RAW_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} tpc_raw_hooks SEC(".maps");

/* Program slot of the other hook kinds (TPC_*_BASE + slot) → hook id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TPC_PROG_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} tpc_prog_hooks SEC(".maps");

/* Hook id → what to read on a hit. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct tpc_hook);
} tpc_hooks SEC(".maps");

/* (hook, cgroup) → the policy hooks to evaluate. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tpc_list_key);
	__type(value, struct tpc_ph_list);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tpc_lists SEC(".maps");

/* Policy-hook id → its selectors. Entries are written before a list names
 * them and never rewritten while named, so an array is safe here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, struct tpc_policy_hook);
} tpc_policy_hooks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tpc_int_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tpc_int_set SEC(".maps");

#define TPC_STR_SET(n)                                                                             \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, 256);                                                          \
		__type(key, struct tpc_str_key_##n);                                               \
		__type(value, __u8);                                                               \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
	} tpc_str_set_##n SEC(".maps")
TPC_STR_SET(64);
TPC_STR_SET(256);
TPC_STR_SET(1024);
TPC_STR_SET(4096);

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct tpc_lpm_str_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tpc_lpm_str SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__type(key, struct tpc_lpm_v4_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tpc_lpm_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__type(key, struct tpc_lpm_v6_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tpc_lpm_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct tpc_substr_key);
	__type(value, struct tpc_substr_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tpc_substr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct tpc_follow_key);
	__type(value, struct tpc_follow_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tpc_follow_bins SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tpc_rate_key);
	__type(value, __u64);
} tpc_rate SEC(".maps");

/* Zeros, to clear key buffers with one helper call. */
struct tpc_zero_value {
	__u8 bytes[8 + TPC_ARG_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tpc_zero_value);
} tpc_zero SEC(".maps");

/* Per-CPU scratch of the base sensor (records and paths are larger than the
 * 512-byte stack). */
#define DATA_SIZE (4 * PATH_BUF_SIZE + PATH_BUF_SIZE)
#define DATA_OFFSET_MASK (4 * PATH_BUF_SIZE - 1)

struct exec_scratch {
	struct exec_event event;
	char data[DATA_SIZE];
	char path[PATH_BUF_SIZE + NAME_MAX_LEN + 1];
	struct process_entry entry;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} tpc_exec_scr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct process_entry);
} tpc_fork_scr SEC(".maps");

/* Per-CPU scratch of a path walked for a hook argument. */
struct tpc_path_scratch {
	char path[PATH_BUF_SIZE + NAME_MAX_LEN + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tpc_path_scratch);
} tpc_hook_path_scr SEC(".maps");

/* (thread, hook) → a call whose entry posted for a policy with a return
 * probe; the return probe takes it. LRU: a return that never comes (a
 * missed kretprobe) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TPC_RET_PENDING);
	__type(key, struct tpc_ret_key);
	__type(value, struct tpc_ret_state);
} tpc_ret_pending SEC(".maps");

#include "override_tasks.h"

/* Per-CPU scratch of one hook hit. */
struct tpc_hook_scratch {
	struct tpc_hook_event ev;
	__u8 data[TPC_DATA_SIZE + TPC_ARG_MAX];
	struct tpc_hook hook;          /* a snapshot of the hook's config */
	struct process_entry proc;     /* the current process's entry */
	struct process_entry other;    /* a parent or ancestor being looked at */
	__u32 cands[2 * TPC_MAX_CANDIDATES];
	__u32 ncands;
	__u32 have_proc;
	__u32 have_task_info;
	__u32 user_ns_level;
	__u32 nspid;
	__u32 first_arg_off;           /* where the first argument is in the context */
	__u32 override_set;            /* a matching policy overrides the call */
	__s32 override_ret;            /* with this return value */
	__u64 ctx;                     /* the program's context, as an address */
	__u8 key[8 + TPC_ARG_MAX];     /* string-set key */
	struct tpc_lpm_str_key lpm;
	struct tpc_rate_key rate;
	struct tpc_ret_state ret;      /* the call a return probe finishes */
	__u32 ret_pass;                /* reading slots for a return probe */
	__u32 reserved2;
	__u64 usdt_vals[TPC_MAX_SLOTS]; /* USDT arguments, computed */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tpc_hook_scratch);
} tpc_hook_scr SEC(".maps");

#endif
