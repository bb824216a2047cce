#!/usr/bin/env bash
# create + start (detached, under the monitor) + rm -f -t 0 of a sleeping container, N a
# round: berth against podman (runc, conmon), interleaved rounds, medians and ratio.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
N=${N:-10}
[ -x "$BERTH" ] || { log "build first: cargo build --release"; exit 1; }
D=$WORK/lifecycle-bench
cleanup() {
  podman --root "$D/podman-root" --runroot "$D/podman-run" rm -af >/dev/null 2>&1 || true
  podman --root "$D/podman-root" --runroot "$D/podman-run" system reset --force >/dev/null 2>&1 || true
  umount "$D/podman-root/overlay" 2>/dev/null || true
  "$BERTH" --root "$D/berth-root" --runroot "$D/berth-run" rm -af >/dev/null 2>&1 || true
  rm -rf "$D"
}
cleanup; trap cleanup EXIT; mkdir -p "$D/rootfs"
busybox_rootfs "$D/rootfs" >/dev/null
tar -C "$D/rootfs" -c . > "$D/rootfs.tar"
cat > "$D/containers.conf" <<EOC
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOC
export CONTAINERS_CONF=$D/containers.conf
B=("$BERTH" --root "$D/berth-root" --runroot "$D/berth-run" --storage-driver overlay)
P=(podman --root "$D/podman-root" --runroot "$D/podman-run" --storage-driver overlay --runtime runc)
"${B[@]}" import -q "$D/rootfs.tar" localhost/bench:1 >/dev/null
"${P[@]}" import -q "$D/rootfs.tar" localhost/bench:1 >/dev/null
cycle() { local i; for i in $(seq "$N"); do
  "$@" create --network none --name "c$i" localhost/bench:1 sleep 1000 >/dev/null &&
  "$@" start "c$i" >/dev/null && "$@" rm -f -t 0 "c$i" >/dev/null || return 1; done; }
bt=(); pt=()
for r in $(seq "$ROUNDS"); do
  bt+=("$(timed cycle "${B[@]}")")
  pt+=("$(timed cycle "${P[@]}")")
done
b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
printf 'create+start+rm -f, x%s: berth %.1f ms  podman %.1f ms a cycle  ratio %.3f\n' \
  "$N" "$(echo "$b*1000/$N" | bc -l)" "$(echo "$p*1000/$N" | bc -l)" "$(echo "$b / $p" | bc -l)"
brss=$(peak_rss "${B[@]}" create --network none --name rss localhost/bench:1 sleep 1000)
prss=$(peak_rss "${P[@]}" create --network none --name rss localhost/bench:1 sleep 1000)
bsrss=$(peak_rss "${B[@]}" start rss); psrss=$(peak_rss "${P[@]}" start rss)
printf 'peak RSS: create berth %s KiB podman %s KiB; start berth %s KiB podman %s KiB\n' "$brss" "$prss" "$bsrss" "$psrss"
