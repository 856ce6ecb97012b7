// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/* The fmod_ret programs that apply an Override on `security_*` functions,
 * one per slot of the tpc_kprobe_fmodret_<n> kprobes (generic_kprobe.bpf.c).
 * The kprobe on the function runs the policy hook and leaves the value to
 * return in tpc_override_tasks; the fmod_ret program on the same function
 * runs next, takes the value and returns it, which makes the kernel skip
 * the function and return that value to its caller. A zero return calls the
 * function as usual.
 *
 * A separate object: aya has no fmod_ret program type, so the runtime loads
 * these programs itself (runtime/src/backend/fmod_ret.rs). Their one
 * relocation is tpc_override_tasks, which the runtime points at the map of
 * the sensor object. Everything is inline: no subprograms, no CO-RE, no
 * global data.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "base_sensor.h"
#include "policy_maps.h"
#include "override_tasks.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline long tpc_fmodret(__u32 slot)
{
	struct tpc_override_key key = {.pid_tgid = bpf_get_current_pid_tgid(), .slot = slot};
	struct tpc_override_task *o = bpf_map_lookup_elem(&tpc_override_tasks, &key);
	if (!o)
		return 0;
	long ret = o->ret;
	bpf_map_delete_elem(&tpc_override_tasks, &key);
	return ret;
}

#define TPC_FMODRET_PROGRAM(n)                                                                     \
	SEC("fmod_ret/tpc_fmodret_" #n)                                                            \
	long tpc_fmodret_##n(void *ctx)                                                            \
	{                                                                                          \
		return tpc_fmodret(n);                                                             \
	}

TPC_FMODRET_PROGRAM(0)
TPC_FMODRET_PROGRAM(1)
TPC_FMODRET_PROGRAM(2)
TPC_FMODRET_PROGRAM(3)
TPC_FMODRET_PROGRAM(4)
TPC_FMODRET_PROGRAM(5)
TPC_FMODRET_PROGRAM(6)
TPC_FMODRET_PROGRAM(7)
