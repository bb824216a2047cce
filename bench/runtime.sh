#!/usr/bin/env bash
# OCI runtime start-up: `RUNTIME run` of /bin/true in a busybox bundle, N times a
# round, berth-oci against crun and runc in interleaved rounds; also create+start+
# delete and peak RSS. All three run inside one private mount namespace without the
# hybrid host's /sys/fs/cgroup/unified (crun 1.8 refuses that layout), so each does
# the same cgroup work. Prints medians and the ratio against crun.
#   bench/runtime.sh [N] — N runs a round (default 100), ROUNDS rounds (default 7).
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
N=${1:-100}
OCI=${OCI:-$ROOT/target/release/berth-oci}
[ -x "$OCI" ] || { log "build first: cargo build --release -p berth-runtime"; exit 1; }
B=$WORK/runtime-bundle
rm -rf "$B"; mkdir -p "$B/rootfs"
busybox_rootfs "$B/rootfs" >/dev/null
(cd "$B" && "$OCI" spec)
jq '.ociVersion="1.0.2" | .process.terminal=false | .process.args=["/bin/true"]' "$B/config.json" > "$B/c" && mv "$B/c" "$B/config.json"

if [ -z "${BENCH_INNER:-}" ]; then
  exec unshare -m --propagation private env BENCH_INNER=1 bash -c \
    'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec bash "$0" "$@"' "$0" "$@"
fi

loop_run() { # runtime label
  local rt=$1 tag=$2 i
  for i in $(seq "$N"); do "$rt" --root "$WORK/state-$tag" run --bundle "$B" "$tag$i" >/dev/null || return 1; done
}
loop_lifecycle() {
  local rt=$1 tag=$2 i
  for i in $(seq "$N"); do
    "$rt" --root "$WORK/state-$tag" create --bundle "$B" "L$tag$i" >/dev/null &&
    "$rt" --root "$WORK/state-$tag" start "L$tag$i" &&
    "$rt" --root "$WORK/state-$tag" delete --force "L$tag$i" || return 1
  done
}
export -f loop_run loop_lifecycle
export N B WORK

declare -A RUN LIFE
for r in $(seq "$ROUNDS"); do
  for rt in berth:"$OCI" crun:/usr/bin/crun runc:/usr/sbin/runc; do
    tag=${rt%%:*}; bin=${rt#*:}
    RUN[$tag]+="$(timed bash -c "loop_run $bin $tag") "
    LIFE[$tag]+="$(timed bash -c "loop_lifecycle $bin $tag") "
  done
  log "round $r done"
done
for tag in berth crun runc; do
  rss=$(peak_rss "${tag/berth/$OCI}" --root "$WORK/state-$tag" run --bundle "$B" "rss$tag" 2>/dev/null || true)
  [ "$tag" = crun ] && rss=$(peak_rss /usr/bin/crun --root "$WORK/state-$tag" run --bundle "$B" rss2)
  [ "$tag" = runc ] && rss=$(peak_rss /usr/sbin/runc --root "$WORK/state-$tag" run --bundle "$B" rss2)
  printf '%s run x%s: median %.3f s | create+start+delete x%s: median %.3f s | peak RSS %s KiB\n' "$tag" "$N" \
    "$(echo "${RUN[$tag]}" | tr ' ' '\n' | grep . | median)" "$N" \
    "$(echo "${LIFE[$tag]}" | tr ' ' '\n' | grep . | median)" "$rss"
done
b=$(echo "${RUN[berth]}" | tr ' ' '\n' | grep . | median)
c=$(echo "${RUN[crun]}" | tr ' ' '\n' | grep . | median)
printf 'ratio berth-oci/crun (run): %.2f (target <= 0.8)\n' "$(echo "$b / $c" | bc -l)"
