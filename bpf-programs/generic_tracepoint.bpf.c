/* Policy hooks on tracepoints. One program, attached to every hooked
 * tracepoint; the record's `common_type` (the event id in tracefs) says
 * which hook fired. Fields are read at the offsets the runtime found in
 * the live `format` file. Part of tpc.bpf.c. */

SEC("tracepoint/tpc/any")
int tpc_tracepoint(void *ctx)
{
	__u16 common_type = 0;
	bpf_probe_read_kernel(&common_type, 2, ctx);
	__u32 type = common_type;
	__u32 *hook_id = bpf_map_lookup_elem(&tpc_tp_hooks, &type);
	if (!hook_id)
		return 0;
	return tpc_run_hook(ctx, *hook_id);
}
