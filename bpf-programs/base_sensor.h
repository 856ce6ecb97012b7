/* Wire format shared by the base sensor (BPF) and tpc-runtime (Rust).
 *
 * Every record in the `tpc_events` ring buffer starts with `struct event_header`.
 * All integers are in the host's byte order (little-endian on the machines
 * tpc targets). The Rust decoder in runtime/src/wire.rs reads these layouts by
 * offset; a change here needs a change there and a bump of WIRE_VERSION.
 */
#ifndef TPC_BASE_SENSOR_H
#define TPC_BASE_SENSOR_H

#define WIRE_VERSION 3

enum event_kind {
	EVENT_EXEC = 1,
	EVENT_FORK = 2,
	EVENT_EXIT = 3,
	EVENT_HOOK = 4, /* struct tpc_hook_event (policy_maps.h) */
	EVENT_HOOK_RETURN = 5, /* the same struct, written by a return probe */
};

/* Index into the per-CPU `tpc_drops` array. */
enum drop_reason {
	DROP_EXEC = 0,
	DROP_FORK = 1,
	DROP_EXIT = 2,
	DROP_REASONS = 3,
};

/* Flags on exec/fork/exit records and process entries. */
#define FLAG_EXECVE (1u << 0)          /* the process image came from an execve */
#define FLAG_CLONE (1u << 1)           /* the process was created by a fork we saw */
#define FLAG_PROCFS (1u << 2)          /* the entry was seeded from /proc by user space */
#define FLAG_TRUNC_BINARY (1u << 3)    /* binary path cut at its bound or depth */
#define FLAG_TRUNC_ARGS (1u << 4)      /* arguments cut at ARGS_MAX_LEN */
#define FLAG_TRUNC_CWD (1u << 5)       /* cwd cut at its bound or depth */
#define FLAG_ERROR_BINARY (1u << 6)    /* the executable's path could not be read */
#define FLAG_ERROR_ARGS (1u << 7)      /* the arguments could not be read */
#define FLAG_ERROR_CWD (1u << 8)       /* the cwd could not be read */
#define FLAG_PARENT_UNKNOWN (1u << 9)  /* the parent had no process entry */
#define FLAG_ENTRY_MISSING (1u << 10)  /* exit of a process that had no entry */
#define FLAG_TRUNC_FILENAME (1u << 11) /* the tracepoint filename was cut */

#define PATH_BUF_SIZE 4096   /* bound of a walked path (cwd, binary), power of two */
#define PATH_MAX_DEPTH 64    /* path components and mount crossings walked */
#define NAME_MAX_LEN 255     /* longest path component */
#define ARGS_MAX_LEN 4096    /* bound of the argument block, power of two */
#define FILENAME_MAX_LEN 256 /* bound of the tracepoint's filename */
#define ENTRY_BINARY_LEN 256 /* binary path kept in a process entry */

struct event_header {
	__u8 kind;     /* enum event_kind */
	__u8 version;  /* WIRE_VERSION */
	__u16 reserved;
	__u32 cpu;
	__u64 ktime;   /* CLOCK_BOOTTIME ns when the record was made */
};

/* An execve finished. Followed by `binary_len + cwd_len + args_len +
 * filename_len` bytes: the executable's path, the cwd, the NUL-separated
 * argv block (argv[0] included) and the filename given to execve. */
struct exec_event {
	struct event_header header;
	__u32 pid;                /* tgid */
	__u32 tid;
	__u32 parent_pid;         /* tgid of real_parent */
	__u32 flags;
	__u64 exec_ktime;         /* this exec's identity: part of its exec id */
	__u64 parent_exec_ktime;  /* the parent's identity, 0 when unknown */
	__u64 process_start_ktime;/* when the thread group was created */
	__u32 uid;
	__u32 euid;
	__u32 auid;
	__u32 old_tid;            /* the thread that called execve, before de_thread */
	__u16 binary_len;
	__u16 cwd_len;
	__u16 args_len;
	__u16 filename_len;
	__u32 nspid;              /* pid in its own pid namespace, 0 in the host's */
	__u32 reserved;
	__u64 caps[3];            /* effective, inheritable, permitted */
	__u32 ns[10];             /* namespace inodes (policy_maps.h order) */
};

/* A new thread group (not a thread). It inherits its parent's image. */
struct fork_event {
	struct event_header header;
	__u32 pid;                /* child tgid */
	__u32 parent_pid;
	__u32 flags;
	__u32 reserved;
	__u64 exec_ktime;         /* the child's identity */
	__u64 parent_exec_ktime;  /* the parent's identity, 0 when unknown */
};

/* The last thread of a thread group exited. */
struct exit_event {
	struct event_header header;
	__u32 pid;                /* tgid */
	__u32 tid;                /* the thread that exited last */
	__u32 exit_code;          /* wait(2) status: code << 8 | signal */
	__u32 flags;
	__u64 exec_ktime;         /* the identity of the process that exited, 0 when unknown */
};

/* Value of the `tpc_processes` map, keyed by tgid. User space seeds it from
 * /proc at start with FLAG_PROCFS. */
struct process_entry {
	__u64 exec_ktime;
	__u64 parent_exec_ktime;
	__u64 start_ktime;
	__u32 pid;
	__u32 parent_pid;
	__u32 uid;
	__u32 euid;
	__u32 auid;
	__u32 flags;
	__u32 binary_len;
	__u32 nspid;
	__u64 follow[4];  /* followChildren bits: this image or an ancestor ran a listed binary */
	__u64 caps[3];    /* recorded at exec (or at the last change filter that posted) */
	__u32 ns[10];     /* namespace inodes, recorded likewise */
	char binary[ENTRY_BINARY_LEN]; /* zero-padded */
};

/* The Rust decoder reads these layouts by offset. */
_Static_assert(sizeof(struct event_header) == 16, "event_header layout");
_Static_assert(sizeof(struct exec_event) == 152, "exec_event layout");
_Static_assert(sizeof(struct fork_event) == 48, "fork_event layout");
_Static_assert(sizeof(struct exit_event) == 40, "exit_event layout");
_Static_assert(sizeof(struct process_entry) == 152 + ENTRY_BINARY_LEN, "process_entry layout");

#endif
