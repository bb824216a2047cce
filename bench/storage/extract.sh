#!/usr/bin/env bash
# Layer extraction speed: berth's apply (one thread per layer, one syncfs per layer)
# against `tar -xzf` of each layer in turn, on tmpfs (/dev/shm) and on disk; plus a
# cold `oci:` -> berth store copy (a pull without the network). Interleaved runs,
# medians, MB/s of uncompressed tar.
#
# Usage: bench/storage/extract.sh [OCI_LAYOUT [TAG]]
#   Without a layout, a synthetic 5-layer image (Go sources + random data, about
#   the anchors' large image) is built once under $WORK.
# Env: RUNS=5  WORK=/dev/shm/berth-bench-storage  DISK=/var/tmp/berth-bench-storage
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=${RUNS:-5}
WORK=${WORK:-/dev/shm/berth-bench-storage}
DISK=${DISK:-/var/tmp/berth-bench-storage}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-storage}
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
wipe() { for m in $(awk '{print $5}' /proc/self/mountinfo | grep -E "^$1" | sort -r); do umount -l "$m" || true; done; rm -rf "$1"; }

mkdir -p "$WORK" "$DISK"
(cd "$ROOT" && cargo build -q --release -p berth-storage --example extract)
BIN=$CARGO_TARGET_DIR/release/examples/extract

LAYOUT=${1:-}
TAG=${2:-latest}
if [ -z "$LAYOUT" ]; then
  LAYOUT=$WORK/layout
  if [ ! -f "$LAYOUT/index.json" ]; then
    log "building a synthetic 5-layer image in $LAYOUT"
    python3 "$HERE/make-layout.py" "$LAYOUT" "$TAG"
  fi
fi
MAN=$LAYOUT/blobs/sha256/$(jq -r '.manifests[0].digest' "$LAYOUT/index.json" | sed 's/sha256://')
LAYERS=$(jq -r '.layers[].digest' "$MAN" | sed "s|sha256:|$LAYOUT/blobs/sha256/|" | tr '\n' ' ')
GZ=$(du -cb $LAYERS | tail -1 | cut -f1)
log "layers: $(echo $LAYERS | wc -w), $((GZ / 1000000)) MB compressed"

berth_layers() { wipe "$1/x"; mkdir -p "$1/x"; sync; "$BIN" layers "$1/x" $LAYERS; }
tar_layers() {
  wipe "$1/t"; mkdir -p "$1/t"; sync
  local s e; s=$(date +%s.%N)
  for l in $LAYERS; do tar -xzf "$l" -C "$1/t"; done
  sync -f "$1/t"
  e=$(date +%s.%N); echo "$e - $s" | bc -l
}
berth_pull() { wipe "$1/s"; sync; "$BIN" pull "$1/s" "$LAYOUT" "$TAG"; }

declare -A T
BYTES=0
for r in $(seq "$RUNS"); do
  for where in shm disk; do
    d=$WORK; [ "$where" = disk ] && d=$DISK
    read -r secs BYTES < <(berth_layers "$d"); T[berth-$where]+="$secs "
    T[tar-$where]+="$(tar_layers "$d") "
    T[pull-$where]+="$(berth_pull "$d") "
  done
  log "run $r done"
done
MB=$(echo "$BYTES / 1000000" | bc -l)
printf '%-34s %9s %9s %8s\n' "extraction ($(printf %.0f "$MB") MB tar)" "median s" "MB/s" "÷ tar"
for where in shm disk; do
  tb=$(echo ${T[tar-$where]} | tr ' ' '\n' | median)
  for k in berth tar pull; do
    m=$(echo ${T[$k-$where]} | tr ' ' '\n' | median)
    printf '%-34s %9.3f %9.0f %8.2f\n' "$k ($where)" "$m" "$(echo "$MB / $m" | bc -l)" "$(echo "$m / $tb" | bc -l)"
  done
done
echo "berth = apply only, one thread per layer; pull = oci: -> store (verify, apply, keep blob, tree checksum, commit)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; the machine is shared)"
wipe "$WORK/x"; wipe "$WORK/t"; wipe "$WORK/s"; wipe "$DISK/x"; wipe "$DISK/t"; wipe "$DISK/s"
