#!/usr/bin/env bash
# Runs berth's whole test suite (as root: the tests use namespaces, mounts and cgroups).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# No incremental caches: CI builds once, from clean, and they would double the disk used.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo build --workspace --all-targets
cargo test --workspace -- --test-threads="${BERTH_TEST_THREADS:-4}"
