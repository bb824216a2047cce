#!/usr/bin/env bash
# `ps -a` with 60 containers (created, none running) in each store: berth against
# podman, interleaved rounds of 20 calls, medians and ratio.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
N=${N:-60}
[ -x "$BERTH" ] || { log "build first: cargo build --release"; exit 1; }
D=$WORK/ps-bench
cleanup() {
  podman --root "$D/podman-root" --runroot "$D/podman-run" system reset --force >/dev/null 2>&1 || true
  umount "$D/podman-root/overlay" 2>/dev/null || true
  rm -rf "$D"
}
cleanup; trap cleanup EXIT; mkdir -p "$D/rootfs"
busybox_rootfs "$D/rootfs" >/dev/null
tar -C "$D/rootfs" -c . > "$D/rootfs.tar"
B=("$BERTH" --root "$D/berth-root" --runroot "$D/berth-run" --storage-driver overlay)
cat > "$D/containers.conf" <<EOC
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOC
export CONTAINERS_CONF=$D/containers.conf
P=(podman --root "$D/podman-root" --runroot "$D/podman-run" --storage-driver overlay --runtime runc)
"${B[@]}" import -q "$D/rootfs.tar" localhost/bench:1 >/dev/null
"${P[@]}" import -q "$D/rootfs.tar" localhost/bench:1 >/dev/null
for i in $(seq "$N"); do
  "${B[@]}" create --name "c$i" localhost/bench:1 true >/dev/null
  "${P[@]}" create --name "c$i" localhost/bench:1 true >/dev/null
done
[ "$("${B[@]}" ps -aq | wc -l)" = "$N" ] && [ "$("${P[@]}" ps -aq | wc -l)" = "$N" ] || { log "container count differs"; exit 1; }
loop() { local i; for i in $(seq 20); do "$@" >/dev/null || return 1; done; }
bt=(); pt=()
for r in $(seq "$ROUNDS"); do
  bt+=("$(timed loop "${B[@]}" ps -a)")
  pt+=("$(timed loop "${P[@]}" ps -a)")
done
b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
brss=$(peak_rss "${B[@]}" ps -a); prss=$(peak_rss "${P[@]}" ps -a)
printf 'ps -a, %s containers: berth %.1f ms  podman %.1f ms  ratio %.3f (target <= 0.1)\n' \
  "$N" "$(echo "$b*1000/20" | bc -l)" "$(echo "$p*1000/20" | bc -l)" "$(echo "$b / $p" | bc -l)"
printf 'peak RSS ps -a: berth %s KiB  podman %s KiB\n' "$brss" "$prss"
