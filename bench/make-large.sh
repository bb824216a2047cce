#!/usr/bin/env bash
# make-large.sh OUT: the five-layer benchmark image (~300 MB, ~190 MB gzip) as an OCI
# layout tagged latest, written by the project's fixture builder (berth-testkit's
# `five_layer`, the same image tests use at a small scale): busybox; one 100 MiB random
# file; 20 × 4 MiB random files; ~8000 small text files; 40 medium compressible files.
# The random data comes from a seeded generator, so the image is the same every time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$ROOT/target/release/berth-fixture" ] || (cd "$ROOT" && cargo build --release -q -p berth-testkit)
"$ROOT/target/release/berth-fixture" five-layer "$1"
