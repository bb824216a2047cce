#!/usr/bin/env bash
# A pull right after `rmi` of the same image, in one store that stays: berth against
# podman, each its own store (overlay driver), interleaved rounds, median ratio.
# Each round: pull, `rmi -a`, sync, then the timed pull, then `rmi -a` again.
# On ext4 this is where freed inodes matter (see RESULTS.md, "ext4 and the anchors'
# way of measuring"); WORK=/var/tmp/... for disk, the default is tmpfs.
. "$(dirname "$0")/lib.sh"
trap 'stop_registry; umount_all; rm -rf "$WORK"/rb "$WORK"/rp' EXIT
serve_large
export CONTAINERS_REGISTRIES_CONF=/dev/null
BS=(--root "$WORK/rb/root" --runroot "$WORK/rb/run" --storage-driver overlay)
PS=(--root "$WORK/rp/root" --runroot "$WORK/rp/run" --storage-driver overlay)
IMG=$REG/bench/large:latest
round() { # TOOL STORE-FLAGS... : prints the seconds of the pull after rmi
  "$@" pull -q --tls-verify=false "$IMG" >/dev/null
  "$@" rmi -a >/dev/null; sync
  timed "$@" pull -q --tls-verify=false "$IMG"
  "$@" rmi -a >/dev/null
}
: > "$WORK/a.berth"; : > "$WORK/a.podman"
for _ in $(seq "$ROUNDS"); do
  round "$BERTH" "${BS[@]}" >> "$WORK/a.berth"
  round podman "${PS[@]}" >> "$WORK/a.podman"
done
b=$(median < "$WORK/a.berth"); p=$(median < "$WORK/a.podman")
printf 'pull after rmi (%s)   berth %.3f s  podman %.3f s  ratio %.2f  (n=%s)\n' "$WORK" "$b" "$p" "$(echo "$b / $p" | bc -l)" "$ROUNDS"
