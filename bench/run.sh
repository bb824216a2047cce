#!/usr/bin/env bash
# `run --rm IMG true`: berth against podman, N runs a round, interleaved rounds,
# medians and ratio, first with --network none, then with each tool's default
# (root: a bridge network; berth its own backend, podman netavark) inside a network namespace this
# script makes, so that no bridge or firewall rule lands on the host's network.
# Both stores on overlay under $WORK.
#   bench/run.sh [N]  (default 20), ROUNDS rounds (default 7); BRIDGE=0 skips
#   the second part; PODMAN_RUNTIME=crun runs podman with crun (default runc).
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
N=${1:-20}
[ -x "$BERTH" ] || { log "build first: cargo build --release"; exit 1; }
D=$WORK/run-bench
NS=berth-bench-$$
cleanup() {
  if [ -e "/run/netns/$NS" ]; then
    for pid in $(ip netns pids "$NS"); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$NS"
  fi
  podman --root "$D/podman-root" --runroot "$D/podman-run" system reset --force >/dev/null 2>&1 || true
  umount "$D/podman-root/overlay" 2>/dev/null || true
  rm -rf "$D"
}
cleanup; trap cleanup EXIT
two_stores "$D"
loop() { local i; for i in $(seq "$N"); do "$@" >/dev/null || return 1; done; }
bt=(); pt=()
for r in $(seq "$ROUNDS"); do
  bt+=("$(timed loop "${B[@]}" run --rm --network none localhost/bench:1 true)")
  pt+=("$(timed loop "${P[@]}" run --rm --network none localhost/bench:1 true)")
  log "round $r"
done
b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
brss=$(peak_rss "${B[@]}" run --rm --network none localhost/bench:1 true)
prss=$(peak_rss "${P[@]}" run --rm --network none localhost/bench:1 true)
printf 'berth  run --rm x%s: median %.3f s (%.1f ms a run), peak RSS %s KiB\n' "$N" "$b" "$(echo "$b*1000/$N" | bc -l)" "$brss"
printf 'podman run --rm x%s: median %.3f s (%.1f ms a run), peak RSS %s KiB\n' "$N" "$p" "$(echo "$p*1000/$N" | bc -l)" "$prss"
printf 'ratio berth/podman: %.3f (target <= 0.15)\n' "$(echo "$b / $p" | bc -l)"

[ "${BRIDGE:-1}" = 1 ] || exit 0
ip netns add "$NS"; ip -n "$NS" link set lo up
IN=(nsenter "--net=/run/netns/$NS")
bt=(); pt=()
for r in $(seq "$ROUNDS"); do
  bt+=("$(timed loop "${IN[@]}" "${B[@]}" run --rm localhost/bench:1 true)")
  pt+=("$(timed loop "${IN[@]}" "${P[@]}" run --rm localhost/bench:1 true)")
  log "bridge round $r"
done
b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
brss=$(peak_rss "${IN[@]}" "${B[@]}" run --rm localhost/bench:1 true)
prss=$(peak_rss "${IN[@]}" "${P[@]}" run --rm localhost/bench:1 true)
printf 'berth  run --rm (bridge) x%s: median %.3f s (%.1f ms a run), peak RSS %s KiB\n' "$N" "$b" "$(echo "$b*1000/$N" | bc -l)" "$brss"
printf 'podman run --rm (bridge) x%s: median %.3f s (%.1f ms a run), peak RSS %s KiB\n' "$N" "$p" "$(echo "$p*1000/$N" | bc -l)" "$prss"
printf 'ratio berth/podman (bridge): %.3f\n' "$(echo "$b / $p" | bc -l)"
