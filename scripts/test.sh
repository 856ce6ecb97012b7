#!/usr/bin/env bash
# The full test suite: every crate's unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked --no-fail-fast
# A smoke run of the many-policies benchmark (bench/RESULTS.md): it checks
# that the benchmark runs, enforces and prints, never its timings. Root
# only: it loads BPF programs. About 10 s.
if [ "$(id -u)" = 0 ]; then
  bash bench/many_policies.sh --quick
fi
