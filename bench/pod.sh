#!/usr/bin/env bash
# A pod of 3 containers, created and started (`pod create`, then `run -d --pod` x3,
# the first starting the infra container), then `kube play` of the same pod:
# berth against podman, interleaved rounds, medians and ratios; each round's pods
# are removed outside the timing. --network none, both
# stores on overlay under $WORK; podman needs catatonit (scripts/install-deps.sh).
#   bench/pod.sh [N]  (default 5 pods a round), ROUNDS rounds (default 7);
#   PODMAN_RUNTIME=crun runs podman with crun (default runc).
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
N=${1:-5}
[ -x "$BERTH" ] || { log "build first: cargo build --release"; exit 1; }
D=$WORK/pod-bench
cleanup() {
  podman --root "$D/podman-root" --runroot "$D/podman-run" system reset --force >/dev/null 2>&1 || true
  umount "$D/podman-root/overlay" 2>/dev/null || true
  "$BERTH" --root "$D/berth-root" --runroot "$D/berth-run" rm -af -t 0 >/dev/null 2>&1 || true
  umount_all
  rm -rf "$D"
}
cleanup; trap cleanup EXIT
two_stores "$D"
# One pod of three, created and started.
pod3() {
  local tool=("$@") i j
  for i in $(seq "$N"); do
    "${tool[@]}" pod create --network none --name "bench$i" >/dev/null || return 1
    for j in 1 2 3; do
      "${tool[@]}" run -d --pod "bench$i" localhost/bench:1 sleep 600 >/dev/null || return 1
    done
  done
}
clear_pods() { "$@" pod rm -a -f -t 0 >/dev/null; }
# Each tool's infra image is made (berth) or built (podman) before timing.
pod3 "${B[@]}" && clear_pods "${B[@]}"
pod3 "${P[@]}" && clear_pods "${P[@]}"
bt=(); pt=()
for r in $(seq "$ROUNDS"); do
  bt+=("$(timed pod3 "${B[@]}")"); clear_pods "${B[@]}"
  pt+=("$(timed pod3 "${P[@]}")"); clear_pods "${P[@]}"
  log "round $r"
done
b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
"${B[@]}" pod create --network none --name rss >/dev/null
"${P[@]}" pod create --network none --name rss >/dev/null
brss=$(peak_rss "${B[@]}" run -d --pod rss localhost/bench:1 sleep 600)
prss=$(peak_rss "${P[@]}" run -d --pod rss localhost/bench:1 sleep 600)
clear_pods "${B[@]}"; clear_pods "${P[@]}"
printf 'berth  pod of 3 x%s: median %.3f s (%.1f ms a pod), peak RSS of run --pod %s KiB\n' "$N" "$b" "$(echo "$b*1000/$N" | bc -l)" "$brss"
printf 'podman pod of 3 x%s: median %.3f s (%.1f ms a pod), peak RSS of run --pod %s KiB\n' "$N" "$p" "$(echo "$p*1000/$N" | bc -l)" "$prss"
printf 'ratio berth/podman: %.3f (target <= 0.2)\n' "$(echo "$b / $p" | bc -l)"

# kube play of the same pod: three containers from one YAML, started; N pods
# a round (one YAML each), removed outside the timing (podman's pod rm of a
# played pod, restart policy Always, takes seconds here).
for i in $(seq "$N"); do
  cat > "$D/pod$i.yaml" <<EOY
apiVersion: v1
kind: Pod
metadata: {name: kplay$i}
spec:
  containers:
  - {name: a, image: localhost/bench:1, command: [/bin/busybox, sleep, "600"]}
  - {name: b, image: localhost/bench:1, command: [/bin/busybox, sleep, "600"]}
  - {name: c, image: localhost/bench:1, command: [/bin/busybox, sleep, "600"]}
EOY
done
play() { local i; for i in $(seq "$N"); do "$@" kube play --network none "$D/pod$i.yaml" >/dev/null || return 1; done; }
bt=(); pt=()
for r in $(seq "$ROUNDS"); do
  bt+=("$(timed play "${B[@]}")"); clear_pods "${B[@]}"
  pt+=("$(timed play "${P[@]}")"); clear_pods "${P[@]}"
  log "kube round $r"
done
b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
brss=$(peak_rss "${B[@]}" kube play --network none "$D/pod1.yaml"); clear_pods "${B[@]}"
prss=$(peak_rss "${P[@]}" kube play --network none "$D/pod1.yaml"); clear_pods "${P[@]}"
printf 'peak RSS of kube play: berth %s KiB, podman %s KiB, ratio %.2f (target < 0.5)\n' "$brss" "$prss" "$(echo "$brss / $prss" | bc -l)"
printf 'berth  kube play (pod of 3) x%s: median %.3f s (%.1f ms each)\n' "$N" "$b" "$(echo "$b*1000/$N" | bc -l)"
printf 'podman kube play (pod of 3) x%s: median %.3f s (%.1f ms each)\n' "$N" "$p" "$(echo "$p*1000/$N" | bc -l)"
printf 'ratio berth/podman (kube play): %.3f (target <= 0.2)\n' "$(echo "$b / $p" | bc -l)"
