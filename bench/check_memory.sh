#!/usr/bin/env bash
# Peak memory and time of `tpc check` on large and hostile inputs: a file of
# many small policies (140,000 documents of about 340 bytes, 48 MB, by
# default, like the file of issue 14) and the
# two "billion laughs" alias bombs. Prints the peak RSS, its ratio to the
# input size, and the wall time of each run (from /usr/bin/time).
#
#   bash bench/check_memory.sh [DOCUMENTS]
#
# The file of many policies is checked twice: without kernel checks
# (`--no-kernel`) and, when /sys/kernel/btf/vmlinux exists, with them
# against the running kernel, as a plain `tpc check FILE` does (its BTF is
# a fixed cost, independent of the input, and each policy is checked on it
# as it is parsed). The alias bombs are refused before any kernel check.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${1:-140000}
cargo build --release --quiet -p tpc --bin tpc
TPC=${CARGO_TARGET_DIR:-$PWD/target}/release/tpc
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK" "$DOCS" <<'PY'
import sys
work, docs = sys.argv[1], int(sys.argv[2])
doc = """apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: policy-{n}
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 1
      type: string
    selectors:
    - matchArgs:
      - index: 1
        operator: Prefix
        values:
        - "/etc/{n}/"
      matchActions:
      - action: Post
---
"""
with open(f"{work}/many.yaml", "w") as out:
    for n in range(docs):
        out.write(doc.replace("{n}", str(n)))
leaves = ", ".join(["lol"] * 9)
levels = [f"a0: &a0 [{leaves}]"]
for level in range(1, 9):
    levels.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level-1}"] * 9) + "]")
open(f"{work}/laughs.yaml", "w").write("\n".join(levels) + "\n")
head = """apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: laughs
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 1
      type: string
    selectors:
    - matchArgs:
      - index: 1
        operator: Equal
        values:
"""
body = "".join(
    f"        - &l{level} [" + (", ".join(['"/etc/x"'] * 9) if level == 0 else ", ".join([f"*l{level-1}"] * 9)) + "]\n"
    for level in range(9)
)
open(f"{work}/laughs-in-values.yaml", "w").write(head + body)
PY

# measure LABEL FILE [CHECK-ARGS...]
measure() {
    local label=$1 file=$2
    shift 2
    local size
    size=$(stat -c %s "$file")
    /usr/bin/time -f "%M %e" -o "$WORK/time" "$TPC" check "$@" --format short "$file" > "$WORK/out" || true
    read -r rss_kb wall < <(tail -n 1 "$WORK/time")
    tail -n 1 "$WORK/out"
    awk -v name="$label" -v size="$size" -v rss="$rss_kb" -v wall="$wall" 'BEGIN {
        printf "%-34s input %12d bytes  peak RSS %8.1f MB  (%.1fx the input)  %6.2f s\n",
            name, size, rss * 1024 / 1e6, rss * 1024 / size, wall
    }'
}

measure "many.yaml --no-kernel" "$WORK/many.yaml" --no-kernel
if [ -e /sys/kernel/btf/vmlinux ]; then
    measure "many.yaml (running kernel)" "$WORK/many.yaml"
else
    echo "many.yaml (running kernel): skipped, no /sys/kernel/btf/vmlinux"
fi
measure "laughs.yaml" "$WORK/laughs.yaml" --no-kernel
measure "laughs-in-values.yaml" "$WORK/laughs-in-values.yaml" --no-kernel
