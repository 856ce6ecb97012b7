// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/* The sensor object: every program tpc-runtime loads, sharing one set of
 * maps. It is compiled as one translation unit from the per-kind sources:
 *
 *   base_sensor.bpf.c             process exec, fork and exit (always loaded)
 *   generic_tracepoint.bpf.c      policy hooks on tracepoints
 *   generic_raw_tracepoint.bpf.c  policy hooks on raw tracepoints
 *   generic_kprobe.bpf.c          policy hooks on kprobes, uprobes, fentry, LSM
 *
 * with the shared pieces in maps.h (every map), task.h (task reads),
 * hook_args.h (argument slots), hook_filters.h (filters) and hook_engine.h
 * (selectors, actions, records). One object means one process map, one
 * ring buffer and one set of policy maps for every program, without
 * pinning anything in bpffs.
 */
#include "kernel_types.h"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "base_sensor.h"
#include "policy_maps.h"

/* The programs are offered under GPL-2.0 (see the SPDX line), which the
 * GPL-only helpers they call (bpf_probe_read_*, bpf_send_signal) require. */
char LICENSE[] SEC("license") = "GPL";

/* Masks `value` in a register the compiler cannot see through, so the
 * verifier gets the bound even where clang proved it redundant. */
#define VERIFIER_MASK(value, mask) asm volatile("%0 &= " #mask : "+r"(value))

#include "maps.h"
#include "task.h"
#include "base_sensor.bpf.c"
#include "hook_engine.h"
#include "generic_tracepoint.bpf.c"
#include "generic_raw_tracepoint.bpf.c"
#include "generic_kprobe.bpf.c"
