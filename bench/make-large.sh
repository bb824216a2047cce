#!/usr/bin/env bash
# make-large.sh OUT: the five-layer benchmark image (~300 MB, ~216 MB gzip) as an OCI
# layout tagged latest: busybox; one 100 MiB random file; 20 × 4 MiB random files;
# ~8000 small text files; a layer of medium compressible files. Random data comes from
# a seeded generator, so the image is the same every time.
set -euo pipefail
. "$(dirname "$0")/../scripts/oci-layout.sh"
OUT=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
rand() { (set +o pipefail; openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -pbkdf2 -in /dev/zero 2>/dev/null | head -c "$2"); }
busybox_rootfs "$T/l1"
mkdir -p "$T/l2/data" "$T/l3/data" "$T/l4/src" "$T/l5/docs"
rand seed-big $((100 << 20)) > "$T/l2/data/big.bin"
for i in $(seq 20); do rand "seed-$i" $((4 << 20)) > "$T/l3/data/chunk$i.bin"; done
for d in $(seq 80); do mkdir -p "$T/l4/src/pkg$d"; for f in $(seq 100); do
  seq $((d * f)) $((d * f + 200)) | sed "s/^/line pkg$d file$f /" > "$T/l4/src/pkg$d/f$f.txt"; done; done
for i in $(seq 40); do seq 1 60000 | sed "s/$/ documentation text $i/" > "$T/l5/docs/doc$i.txt"; done
make_layout "$OUT" latest "$T/l1" "$T/l2" "$T/l3" "$T/l4" "$T/l5"
