#!/usr/bin/env bash
# Cost of the base sensor per exec, with its consumer: `tpc run > /dev/null`
# against no sensor, alternating rounds in one run (the machine is shared
# and noisy: compare the ratio, not the absolute numbers), plus the CPU
# `tpc run` itself spends per exec (user and system, from /proc/PID/stat).
#
#   sudo bash bench/exec_cost.sh [EXECS_PER_ROUND] [ROUNDS]
#
# Needs root and a `tpc` built with the BPF programs (it builds the release
# binary first). Prints per-round numbers and medians.
set -euo pipefail
cd "$(dirname "$0")/.."
EXECS=${1:-3000}
ROUNDS=${2:-5}
cargo build --release --quiet -p tpc --bin tpc
TPC=target/release/tpc
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# fork + execve of a no-op binary, EXECS times, from one process
cat > "$WORK/loop.c" <<'C'
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
	long n = atol(argv[1]);
	char *args[] = {argv[2], NULL};
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execv(argv[2], args);
			_exit(127);
		}
		int status;
		waitpid(pid, &status, 0);
	}
	return 0;
}
C
cat > "$WORK/noop.c" <<'C'
int main(void) { return 0; }
C
cc -O2 -o "$WORK/loop" "$WORK/loop.c"
if cc -O2 -static -o "$WORK/noop" "$WORK/noop.c" 2>/dev/null; then :; else cc -O2 -o "$WORK/noop" "$WORK/noop.c"; fi

per_exec_us() { # wall µs per exec of one round
	local start end
	start=$(date +%s%N)
	"$WORK/loop" "$EXECS" "$WORK/noop"
	end=$(date +%s%N)
	echo $(( (end - start) / EXECS / 1000 ))
}
ticks() { awk '{print $14 + $15, $14, $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

without=() with=() user=() sys=()
for round in $(seq "$ROUNDS"); do
	without+=("$(per_exec_us)")
	"$TPC" run --no-proc-seed > /dev/null 2> "$WORK/run.err" &
	pid=$!
	for _ in $(seq 100); do grep -q "stop with Ctrl-C" "$WORK/run.err" && break; sleep 0.1; done
	read -r _ u0 s0 < <(ticks "$pid")
	with+=("$(per_exec_us)")
	sleep 0.3
	read -r _ u1 s1 < <(ticks "$pid")
	kill -INT "$pid"; wait "$pid"
	user+=($(( (u1 - u0) * 1000000 / hz / EXECS )))
	sys+=($(( (s1 - s0) * 1000000 / hz / EXECS )))
	echo "round $round: without ${without[-1]} us/exec, with ${with[-1]} us/exec; tpc run CPU user ${user[-1]} us, sys ${sys[-1]} us per exec"
done
mw=$(printf '%s\n' "${without[@]}" | median)
mt=$(printf '%s\n' "${with[@]}" | median)
echo "median: without $mw us/exec, with $mt us/exec, ratio $(awk -v a="$mt" -v b="$mw" 'BEGIN {printf "%.2f", a / b}')"
echo "median tpc run CPU per exec: user $(printf '%s\n' "${user[@]}" | median) us, sys $(printf '%s\n' "${sys[@]}" | median) us (two events per exec: exec and exit)"
