#!/usr/bin/env bash
# The full test suite: every crate's unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked --no-fail-fast
