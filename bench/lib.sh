# Shared helpers for berth's benchmarks. Source it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH=${BERTH:-$ROOT/target/release/berth}
MAKE_LARGE=$ROOT/bench/make-large.sh
WORK=${WORK:-/dev/shm/berth-bench}
ROUNDS=${ROUNDS:-7}
mkdir -p "$WORK"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts docker-registry on 127.0.0.1 with data under $WORK/registry; sets REG and REG_PID.
start_registry() {
  local port; port=$(free_port)
  REG=127.0.0.1:$port
  mkdir -p "$WORK/registry"
  cat > "$WORK/registry/config.yml" <<EOC
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/registry/data}, delete: {enabled: true}}
http: {addr: $REG}
EOC
  env -u REGISTRY_AUTH_FILE docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 100); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && return 0; sleep 0.05; done
  log "registry did not start"; cat "$WORK/registry/log" >&2; return 1
}
stop_registry() { [ -n "${REG_PID:-}" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true; }

# Wall seconds of a command.
timed() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$WORK/timed.err" || { log "FAILED: $*"; cat "$WORK/timed.err" >&2; return 1; }; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

# Peak RSS (KiB) of a command.
peak_rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

# Lazily unmounts whatever is mounted under $WORK, deepest first.
umount_all() { { grep -o " $WORK/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done; }

# Builds berth if needed, makes the five-layer image in $WORK/large (LARGE), starts the
# registry and pushes the image to it as bench/large:latest.
serve_large() {
  [ -x "$BERTH" ] || (cd "$ROOT" && cargo build --release -p berth-cli)
  LARGE=$WORK/large
  [ -f "$LARGE/index.json" ] || "$MAKE_LARGE" "$LARGE" >/dev/null
  start_registry
  skopeo copy -q --dest-tls-verify=false "oci:$LARGE:latest" "docker://$REG/bench/large:latest"
}

# Both tools' stores under $1 with the busybox image localhost/bench:1 in each:
# berth's command line in B, podman's in P (PODMAN_RUNTIME=runc by default, or crun:
# crun 1.8 refuses this hybrid cgroup layout, so it runs as the anchors run it, in a
# private mount namespace without the cgroup2 mount; the wrapper's cost is podman's),
# and a containers.conf with the limits and managers this machine needs.
two_stores() {
  local d=$1
  mkdir -p "$d/rootfs"
  busybox_rootfs "$d/rootfs" >/dev/null
  tar -C "$d/rootfs" -c . > "$d/rootfs.tar"
  B=("$BERTH" --root "$d/berth-root" --runroot "$d/berth-run" --storage-driver overlay)
  cat > "$d/containers.conf" <<EOC
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOC
  export CONTAINERS_CONF=$d/containers.conf
  PODMAN_RUNTIME=${PODMAN_RUNTIME:-runc}
  P=(podman --root "$d/podman-root" --runroot "$d/podman-run" --storage-driver overlay --runtime "$PODMAN_RUNTIME")
  if [ "$PODMAN_RUNTIME" = crun ] && grep -q " /sys/fs/cgroup/unified " /proc/self/mountinfo; then
    P=(unshare -m --propagation private bash -c 'umount /sys/fs/cgroup/unified && exec "$@"' _ "${P[@]}")
  fi
  "${B[@]}" import -q "$d/rootfs.tar" localhost/bench:1 >/dev/null
  "${P[@]}" import -q "$d/rootfs.tar" localhost/bench:1 >/dev/null
}
