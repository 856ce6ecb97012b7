#!/usr/bin/env bash
# Many policies on one hook: cost per hooked call and locked memory with 1,
# 10 and 100 policies, each its own bundle scoped to its own cgroup with its
# own Prefix value, on syscalls/sys_enter_openat, in the two designs:
#
#   shared      one program per hooked point, per-policy map entries (the
#               default `tpc run`)
#   per-bundle  one attached program per bundle (`tpc run
#               --attach-per-bundle`), the way Tetragon attaches a program
#               chain per policy
#
# and a baseline with nothing attached, measured before every configuration
# in the same run. The workload is openat+close of an unguarded file from a
# process in the first policy's cgroup: every hit evaluates that policy
# (cgroup lookups, then its Prefix) and posts nothing. The machine is shared
# and noisy: compare the ratios, each taken within one round, over rounds
# (min / median / max).
#
#   sudo bash bench/many_policies.sh [--quick] [CALLS] [ROUNDS] [REPEATS]
#
# CALLS openat+close pairs per measurement (default 200000), ROUNDS rounds
# of every configuration (default 5), REPEATS measurements per configuration
# and round, of which the median counts (default 3). --quick: 1 and 10
# policies shared, 1 and 3 per bundle, 20000 calls, one round (a smoke
# run: it checks that everything runs and prints, never a threshold). Needs root, cgroup v2, bpftool and
# jq, and a `tpc` built with the BPF programs (built here: release, or the
# debug build with --quick; TPC=path overrides).
#
# Locked memory is the `memlock` of every BPF map and program fd `tpc run`
# holds (/proc/PID/fdinfo), which is what the kernel charges for them.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=""
if [ "${1:-}" = "--quick" ]; then
	QUICK=yes
	shift
fi
if [ -n "$QUICK" ]; then
	CALLS=${1:-20000}
	ROUNDS=${2:-1}
	REPEATS=${3:-1}
	COUNTS="1 10"
	PER_BUNDLE_COUNTS="1 3"
	MAX=10
else
	CALLS=${1:-200000}
	ROUNDS=${2:-5}
	REPEATS=${3:-3}
	COUNTS="1 10 100"
	# the kernel runs at most 64 programs on one tracepoint
	# (BPF_TRACE_MAX_PROGS): 100 is tried once, to show the refusal
	PER_BUNDLE_COUNTS="1 10 64"
	MAX=100
fi
if [ -z "${TPC:-}" ]; then
	if [ -n "$QUICK" ]; then
		cargo build --quiet -p tpc --bin tpc
		TPC=target/debug/tpc
	else
		cargo build --release --quiet -p tpc --bin tpc
		TPC=target/release/tpc
	fi
fi
for tool in bpftool jq cc; do
	command -v "$tool" > /dev/null || { echo "many_policies: $tool is missing (scripts/setup-debian.sh)" >&2; exit 2; }
done
CGROOT=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$CGROOT" ] || { echo "many_policies: no cgroup v2 mount" >&2; exit 2; }
WORK=$(mktemp -d)
CG="$CGROOT/tpc-bench-$$"
RUN_PID=""
cleanup() {
	if [ -n "$RUN_PID" ]; then kill -INT "$RUN_PID" 2> /dev/null || true; wait "$RUN_PID" 2> /dev/null || true; fi
	for i in $(seq 0 $((MAX - 1))); do rmdir "$CG/w$i" 2> /dev/null || true; done
	rmdir "$CG" 2> /dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
mkdir "$CG"

# openat+close of one path, CALLS times; prints ns per pair of the process's
# CPU time (user + system: the hook programs run in its syscalls), which a
# busy machine's other work does not inflate the way it does wall time
cat > "$WORK/loop.c" << 'C'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
	long n = atol(argv[1]);
	struct timespec a, b;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (long i = 0; i < n; i++) {
		int fd = openat(AT_FDCWD, argv[2], O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
	printf("%.1f\n", ns / n);
	return 0;
}
C
cc -O2 -o "$WORK/loop" "$WORK/loop.c"
cp /bin/cat "$WORK/reader"
mkdir "$WORK/open"
echo x > "$WORK/open/f"

# policy i: Sigkill on openat of a path under g<i>/, scoped to cgroup w<i>
for i in $(seq 0 $((MAX - 1))); do
	mkdir "$CG/w$i" "$WORK/g$i"
	echo x > "$WORK/g$i/f"
	cat > "$WORK/many-$i.yaml" << YAML
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: many-$i
spec:
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_openat
    args:
    - index: 6
      type: string
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values:
        - "$WORK/g$i/"
      matchActions:
      - action: Sigkill
YAML
	"$TPC" build --kernel 6.18 "$WORK/many-$i.yaml" -o "$WORK/many-$i.tpcb" > /dev/null 2> "$WORK/build.err" ||
		{ cat "$WORK/build.err" >&2; exit 1; }
done

in_cgroup() { # CGROUP COMMAND...: runs COMMAND in cgroup w<CGROUP>
	local cgroup=$1
	shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/w$cgroup" "$@"
}
measure() { # median ns/call of REPEATS runs of the loop in cgroup w0
	for _ in $(seq "$REPEATS"); do in_cgroup 0 "$WORK/loop" "$CALLS" "$WORK/open/f"; done |
		sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
memlock() { # maps_bytes progs_bytes of the fds process $1 holds
	local maps=0 progs=0 fd value
	for fd in /proc/"$1"/fdinfo/*; do
		value=$(awk '$1 == "memlock:" {print $2}' "$fd" 2> /dev/null || true)
		[ -n "$value" ] || continue
		if grep -q '^map_type:' "$fd" 2> /dev/null; then
			maps=$((maps + value))
		elif grep -q '^prog_type:' "$fd" 2> /dev/null; then
			progs=$((progs + value))
		fi
	done
	echo "$maps $progs"
}
hook_programs() { # tpc_tracepoint_* programs process $1 holds, and their recursion misses
	local ids
	ids=$(awk '$1 == "prog_id:" {print $2}' /proc/"$1"/fdinfo/* 2> /dev/null | sort -un | paste -sd, -)
	bpftool prog show --json | jq -r --argjson ids "[${ids}]" \
		'[.[] | select((.name // "") | startswith("tpc_tracepoint")) | select(.id as $id | $ids | index($id))]
		| "\(length) \(map(.recursion_misses // 0) | add // 0)"'
}
start_run() { # MODE COUNT: starts tpc run; 0 when it is ready
	local mode=$1 count=$2 args=()
	for i in $(seq 0 $((count - 1))); do
		args+=("$WORK/many-$i.tpcb" --cgroup "many-$i=${CG#"$CGROOT"/}/w$i")
	done
	[ "$mode" = per-bundle ] && args+=(--attach-per-bundle)
	"$TPC" run --no-proc-seed "${args[@]}" > /dev/null 2> "$WORK/run.err" &
	RUN_PID=$!
	# one verifier run per bundle in per-bundle mode: minutes on a busy machine
	local deadline=$(($(date +%s) + 900))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		grep -qs "stop with Ctrl-C" "$WORK/run.err" && return 0
		kill -0 "$RUN_PID" 2> /dev/null || break
		sleep 0.2
	done
	kill -INT "$RUN_PID" 2> /dev/null || true
	wait "$RUN_PID" 2> /dev/null || true
	RUN_PID=""
	return 1
}
stop_run() {
	kill -INT "$RUN_PID"
	wait "$RUN_PID" || true
	RUN_PID=""
}
check_enforcement() { # COUNT: cgroup 0's policy kills its reader, not another cgroup's
	local status=0 last=$(($1 - 1)) misses
	# the kernel skips a tracepoint's programs while another BPF program or
	# a map update from user space holds its CPU (bpf_prog_active; counted as
	# recursion misses), which other work on a shared machine can cause: a
	# missed kill is retried when the kernel counted a miss
	for attempt in 1 2 3; do
		check_once "$1" && return 0
		read -r _ misses < <(hook_programs "$RUN_PID")
		[ "$misses" -gt 0 ] || return 1
		echo "  (the kernel skipped the hook programs $misses times so far: attempt $attempt missed; retrying)" >&2
	done
	return 1
}
check_once() {
	local status=0 last=$(($1 - 1))
	in_cgroup 0 "$WORK/reader" "$WORK/g0/f" > /dev/null 2>&1 || status=$?
	[ "$status" = 137 ] || { echo "cgroup 0 reading g0/f ended with $status, not SIGKILL" >&2; return 1; }
	status=0
	in_cgroup "$last" "$WORK/reader" "$WORK/g0/f" > /dev/null 2>&1 || status=$?
	[ "$status" = 0 ] || [ "$last" = 0 ] || { echo "cgroup $last reading g0/f ended with $status" >&2; return 1; }
	status=0
	in_cgroup "$last" "$WORK/reader" "$WORK/g$last/f" > /dev/null 2>&1 || status=$?
	[ "$status" = 137 ] || { echo "cgroup $last reading g$last/f ended with $status, not SIGKILL" >&2; return 1; }
}

RESULTS="$WORK/results"
: > "$RESULTS"
echo "many_policies: $CALLS openat+close per measurement, median of $REPEATS, $ROUNDS rounds; $(nproc) CPUs, Linux $(uname -r)"
configs=()
for n in $COUNTS; do configs+=("shared:$n"); done
for n in $PER_BUNDLE_COUNTS; do configs+=("per-bundle:$n"); done
for round in $(seq "$ROUNDS"); do
	for config in "${configs[@]}"; do
		mode=${config%%:*}
		n=${config##*:}
		base=$(measure)
		started=$(date +%s%N)
		start_run "$mode" "$n" || { echo "tpc run ($mode, $n policies) did not start:" >&2; cat "$WORK/run.err" >&2; exit 1; }
		load_ms=$((($(date +%s%N) - started) / 1000000))
		check_enforcement "$n" || { echo "$mode, $n policies: enforcement is wrong" >&2; exit 1; }
		read -r maps progs < <(memlock "$RUN_PID")
		read -r _ misses_before < <(hook_programs "$RUN_PID")
		ns=$(measure)
		read -r programs misses < <(hook_programs "$RUN_PID")
		stop_run
		echo "$round $mode $n $base $ns $maps $progs $programs $load_ms" >> "$RESULTS"
		printf 'round %s: %-10s %3s policies: %8.1f ns/call (baseline %6.1f), locked maps %6d KiB, programs %6d KiB, %3s hook programs (%s runs skipped by the kernel), up in %5d ms\n' \
			"$round" "$mode" "$n" "$ns" "$base" $((maps / 1024)) $((progs / 1024)) "$programs" $((misses - misses_before)) "$load_ms"
	done
done
if [ -z "$QUICK" ]; then
	# one program per bundle past the kernel's per-tracepoint maximum
	if start_run per-bundle 100; then
		echo "per-bundle 100 policies: started (unexpected: the kernel took more than 64 programs on one tracepoint)"
		stop_run
	else
		echo "per-bundle 100 policies: refused: $(grep -m1 -i 'error\|refused\|not loaded' "$WORK/run.err" || tail -1 "$WORK/run.err")"
		grep -m3 -i 'maximum\|E2BIG\|argument list' "$WORK/run.err" | sed 's/^/    /' || true
	fi
fi

# Summaries over rounds: min / median / max of each configuration's ns/call
# and of ratios taken within a round.
echo
echo "summary over $ROUNDS rounds (min / median / max):"
awk -v counts="$COUNTS" -v pb="$PER_BUNDLE_COUNTS" '
function stats(list,    n, a, i, j, t, parts) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return sprintf("%7.2f / %7.2f / %7.2f", a[1], a[int((n + 1) / 2)], a[n])
}
{
	key = $2 ":" $3
	ns[$1, key] = $5; base[$1, key] = $4
	maps[key] = $6; progs[key] = $7; programs[key] = $8
	rounds[$1] = 1; keys[key] = 1
}
END {
	nc = split(counts, c, " "); np = split(pb, p, " ")
	for (r in rounds) {
		for (k in keys) {
			all_ns[k] = all_ns[k] " " ns[r, k]
			all_base = all_base " " base[r, k]
			all_hook[k] = all_hook[k] " " (ns[r, k] - base[r, k])
			all_rel[k] = all_rel[k] " " (ns[r, k] / base[r, k])
		}
	}
	printf "  %-22s %s ns/call\n", "baseline (no hook)", stats(all_base)
	for (i = 1; i <= nc; i++) { k = "shared:" c[i]; printf "  %-22s %s ns/call, hook %s ns, %s of baseline\n", "shared " c[i], stats(all_ns[k]), stats(all_hook[k]), stats(all_rel[k]) }
	for (i = 1; i <= np; i++) { k = "per-bundle:" p[i]; printf "  %-22s %s ns/call, hook %s ns, %s of baseline\n", "per-bundle " p[i], stats(all_ns[k]), stats(all_hook[k]), stats(all_rel[k]) }
	print ""
	print "ratios per call, within a round (min / median / max):"
	one = "shared:" c[1]
	for (i = 2; i <= nc; i++) {
		k = "shared:" c[i]; tot = ""; hook = ""
		for (r in rounds) {
			tot = tot " " (ns[r, k] / ns[r, one])
			h1 = ns[r, one] - base[r, one]; hk = ns[r, k] - base[r, k]
			if (h1 > 0) hook = hook " " (hk / h1)
		}
		printf "  shared %s vs shared %s:         call %s, hook alone %s\n", c[i], c[1], stats(tot), stats(hook)
	}
	pone = "per-bundle:" p[1]
	for (i = 2; i <= np; i++) {
		k = "per-bundle:" p[i]; tot = ""; hook = ""
		for (r in rounds) {
			tot = tot " " (ns[r, k] / ns[r, pone])
			h1 = ns[r, pone] - base[r, pone]; hk = ns[r, k] - base[r, k]
			if (h1 > 0) hook = hook " " (hk / h1)
		}
		printf "  per-bundle %s vs per-bundle %s: call %s, hook alone %s\n", p[i], p[1], stats(tot), stats(hook)
	}
	for (i = 1; i <= np; i++) {
		k = "per-bundle:" p[i]; s = "shared:" p[i]
		if (!((s) in keys)) {
			# the shared count closest above (64 per-bundle vs 100 shared)
			for (j = 1; j <= nc; j++) if (c[j] + 0 >= p[i] + 0) { s = "shared:" c[j]; break }
		}
		if (!((s) in keys)) continue
		tot = ""
		for (r in rounds) tot = tot " " (ns[r, k] / ns[r, s])
		sub(/:/, " ", s)
		printf "  per-bundle %s vs %s:  call %s\n", p[i], s, stats(tot)
	}
	print ""
	print "locked memory (maps + programs, KiB):"
	for (i = 1; i <= nc; i++) { k = "shared:" c[i]; printf "  %-16s maps %7.0f  programs %6.0f  total %7.0f  hook programs %s\n", "shared " c[i], maps[k] / 1024, progs[k] / 1024, (maps[k] + progs[k]) / 1024, programs[k] }
	for (i = 1; i <= np; i++) { k = "per-bundle:" p[i]; printf "  %-16s maps %7.0f  programs %6.0f  total %7.0f  hook programs %s\n", "per-bundle " p[i], maps[k] / 1024, progs[k] / 1024, (maps[k] + progs[k]) / 1024, programs[k] }
	last = "shared:" c[nc]
	if (c[nc] > c[1]) printf "  shared: %.1f KiB per extra policy (%s vs %s policies)\n", ((maps[last] + progs[last]) - (maps[one] + progs[one])) / 1024 / (c[nc] - c[1]), c[nc], c[1]
	plast = "per-bundle:" p[np]
	if (p[np] > p[1]) printf "  per-bundle: %.1f KiB per extra policy (%s vs %s policies)\n", ((maps[plast] + progs[plast]) - (maps[pone] + progs[pone])) / 1024 / (p[np] - p[1]), p[np], p[1]
}' "$RESULTS"
