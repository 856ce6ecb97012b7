/* The map a kprobe with Override on a `security_*` function shares with the
 * fmod_ret program that applies it: (thread, slot) → the return value.
 * Both objects declare it from here; the runtime creates it with the sensor
 * object and hands its fd to the fmod_ret program's relocations. LRU: a
 * value nobody took ages out. */
#ifndef TPC_OVERRIDE_TASKS_H
#define TPC_OVERRIDE_TASKS_H

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TPC_OVERRIDE_TASKS);
	__type(key, struct tpc_override_key);
	__type(value, struct tpc_override_task);
} tpc_override_tasks SEC(".maps");

#endif
