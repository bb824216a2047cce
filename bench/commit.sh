#!/usr/bin/env bash
# `commit` of a container holding 100 MB of changes (one 60 MB file, 400 files of
# 100 KB): berth against podman, each its own store on overlay, interleaved rounds,
# medians and ratio; peak RSS.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
[ -x "$BERTH" ] || { log "build first: cargo build --release"; exit 1; }
D=$WORK/commit-bench
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
B=("$BERTH" --root "$D/berth-root" --runroot "$D/berth-run" --storage-driver overlay)
cat > "$D/containers.conf" <<EOC
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOC
export CONTAINERS_CONF=$D/containers.conf
P=(podman --root "$D/podman-root" --runroot "$D/podman-run" --storage-driver overlay --runtime runc)
"${B[@]}" import -q "$D/rootfs.tar" localhost/bench:1 >/dev/null
"${P[@]}" import -q "$D/rootfs.tar" localhost/bench:1 >/dev/null
SCRIPT='dd if=/dev/urandom of=/big bs=1M count=60 2>/dev/null; mkdir /many; i=0; while [ $i -lt 400 ]; do dd if=/dev/urandom of=/many/f$i bs=1k count=100 2>/dev/null; i=$((i+1)); done'
"${B[@]}" run --name src --network none localhost/bench:1 sh -c "$SCRIPT"
"${P[@]}" run --name src --network none localhost/bench:1 sh -c "$SCRIPT"
bt=(); pt=()
for r in $(seq "$ROUNDS"); do
  bt+=("$(timed "${B[@]}" commit -q src "localhost/out:$r")")
  pt+=("$(timed "${P[@]}" commit -q src "localhost/out:$r")")
done
b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
brss=$(peak_rss "${B[@]}" commit -q src localhost/out:rss)
prss=$(peak_rss "${P[@]}" commit -q src localhost/out:rss)
printf 'commit 100 MB: berth %.3f s  podman %.3f s  ratio %.3f (target <= 0.3)\n' "$b" "$p" "$(echo "$b / $p" | bc -l)"
printf 'peak RSS commit: berth %s KiB  podman %s KiB\n' "$brss" "$prss"
