#!/usr/bin/env bash
# The REST API: berth's `system service` against podman's, each on its own unix
# socket over its own store, driven by the same clients, interleaved rounds:
#  - `docker run --rm IMG true` (Debian's docker CLI: create, attach, wait, start, rm);
#  - `docker ps` with 20 running containers;
#  - requests per second of GET /containers/json, 16 clients on kept-alive connections;
#  - each service's peak RSS after all of it.
#   bench/api.sh [N]  (default 10 commands a round), ROUNDS rounds (default 7);
#   SECS seconds of load for the requests per second (default 10).
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
N=${1:-10}
SECS=${SECS:-10}
[ -x "$BERTH" ] || { log "build first: cargo build --release"; exit 1; }
D=$WORK/api-bench
BPID=; PPID_=
cleanup() {
  # (a service killed makes `wait` fail: under set -e that must not end the cleanup)
  for p in $BPID $PPID_; do { kill "$p" && wait "$p"; } 2>/dev/null || true; done
  # Each tool removes its own containers with the flags they were made with.
  if [ -n "${P+x}" ]; then "${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true; fi
  podman --root "$D/podman-root" --runroot "$D/podman-run" system reset --force >/dev/null 2>&1 || true
  umount "$D/podman-root/overlay" 2>/dev/null || true
  "$BERTH" --root "$D/berth-root" --runroot "$D/berth-run" rm -af -t 0 >/dev/null 2>&1 || true
  # The default network's bridge rules are the store's until it is reset.
  "$BERTH" --root "$D/berth-root" --runroot "$D/berth-run" system reset --force >/dev/null 2>&1 || true
  umount_all
  rm -rf "$D"
  return 0
}
cleanup; trap cleanup EXIT
two_stores "$D"
"${B[@]}" system service --time 0 "unix://$D/berth.sock" 2>"$D/berth-service.log" & BPID=$!
"${P[@]}" system service --time 0 "unix://$D/podman.sock" 2>"$D/podman-service.log" & PPID_=$!
for s in berth podman; do
  for _ in $(seq 200); do [ -S "$D/$s.sock" ] && break; sleep 0.05; done
  curl -fsS --unix-socket "$D/$s.sock" http://d/_ping >/dev/null || { log "$s service did not start"; exit 1; }
done
dk() { local s=$1; shift; DOCKER_HOST="unix://$D/$s.sock" DOCKER_CONFIG=$D/docker-config /usr/bin/docker "$@"; }
runs() { local i; for i in $(seq "$N"); do dk "$1" run --rm localhost/bench:1 true >/dev/null || return 1; done; }
pss() { local i; for i in $(seq "$N"); do dk "$1" ps >/dev/null || return 1; done; }
runs berth; runs podman   # warm-up
compare() {
  local what=$1 fn=$2 bt=() pt=() r b p
  for r in $(seq "$ROUNDS"); do
    bt+=("$(timed "$fn" berth)"); pt+=("$(timed "$fn" podman)")
  done
  b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
  printf '%-34s berth %7.1f ms  podman %7.1f ms  ratio %.3f\n' "$what" \
    "$(echo "$b*1000/$N" | bc -l)" "$(echo "$p*1000/$N" | bc -l)" "$(echo "$b / $p" | bc -l)"
}
compare "docker run --rm IMG true" runs
for s in berth podman; do
  for i in $(seq 20); do dk "$s" run -d localhost/bench:1 sleep 600 >/dev/null; done
done
compare "docker ps (20 running)" pss
# The docker CLI's own start (no request) is most of a `docker ps`: the
# services' share is each time less this.
alone() { local i; for i in $(seq "$N"); do /usr/bin/docker --version >/dev/null || return 1; done; }
at=(); for r in $(seq "$ROUNDS"); do at+=("$(timed alone)"); done
a=$(printf '%s\n' "${at[@]}" | median)
printf '%-34s %7.1f ms (subtract it for the services share)\n' "docker CLI alone (--version)" "$(echo "$a*1000/$N" | bc -l)"
load() {
  python3 - "$D/$1.sock" "$SECS" <<'EOP'
import socket, sys, threading, time
path, secs = sys.argv[1], float(sys.argv[2])
req = b"GET /v1.41/containers/json HTTP/1.1\r\nHost: d\r\n\r\n"
counts, stop = [0] * 16, time.time() + secs
def answer(f):
    length, chunked = 0, False
    status = f.readline()
    assert b" 200 " in status, status
    while True:
        line = f.readline()
        if line in (b"\r\n", b""): break
        k, _, v = line.decode().partition(":")
        if k.lower() == "content-length": length = int(v)
        if k.lower() == "transfer-encoding" and "chunked" in v: chunked = True
    if chunked:
        while True:
            n = int(f.readline().split(b";")[0], 16)
            f.read(n + 2)
            if n == 0: break
    else:
        f.read(length)
def client(i):
    s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rb")
    while time.time() < stop:
        s.sendall(req); answer(f); counts[i] += 1
threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
[t.start() for t in threads]; [t.join() for t in threads]
print(sum(counts) / secs)
EOP
}
brps=$(load berth); prps=$(load podman)
printf '%-34s berth %7.0f  podman %7.0f  ratio %.2f\n' "GET /containers/json, 16 clients/s" "$brps" "$prps" "$(echo "$brps / $prps" | bc -l)"
rss() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
printf '%-34s berth %7s KiB  podman %7s KiB\n' "service peak RSS" "$(rss "$BPID")" "$(rss "$PPID_")"
