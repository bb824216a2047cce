#!/usr/bin/env bash
# Rootless `run --rm --network none IMG true`: berth against podman (runc), both run
# by an ordinary user this script makes (with a subordinate ID range) and removes
# again; N runs a round, interleaved rounds, medians and ratio. Each tool's first
# command (which makes its user namespace and pause process) is outside the timing.
# This machine keeps /dev/null and /dev/net/tun at 0600; they are 0666 while the
# script runs (as on ordinary hosts, where an ordinary user's programs can open
# them), then as they were.
# Then (PULL=0 skips it) a rootless cold pull of the five-layer image from a loopback
# registry, the user's store emptied between pulls.
#   bench/rootless.sh [N]  (default 20), ROUNDS rounds (default 7)
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
N=${1:-20}
[ -x "$BERTH" ] || { log "build first: cargo build --release"; exit 1; }
[ "$(id -u)" = 0 ] || { log "run as root (it makes the user)"; exit 1; }
U=berthbench$$
NULL_MODE=$(stat -c %a /dev/null)
TUN_MODE=$(stat -c %a /dev/net/tun)
START=1600000000
cleanup() {
  if id "$U" >/dev/null 2>&1; then
    runuser -u "$U" -- "$BIN/berth" rm -af -t 0 >/dev/null 2>&1 || true
    runuser -u "$U" -- podman system reset --force >/dev/null 2>&1 || true
    # The pause processes and anything else left of the user's (its UID or its
    # range): each through a pidfd, checked again once the pidfd pins it.
    python3 "$ROOT/scripts/kill-user-processes.py" "$UID_OF" "$START" || true
    userdel -r "$U" >/dev/null 2>&1 || true
  fi
  rm -rf "/tmp/berth-run-${UID_OF:-x}" "/tmp/podman-run-${UID_OF:-x}" \
    "/tmp/containers-user-${UID_OF:-x}" "$WORK/rootless"
  chmod "$NULL_MODE" /dev/null
  chmod "$TUN_MODE" /dev/net/tun
}
trap cleanup EXIT
chmod 666 /dev/null
useradd -m -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$U"
usermod --add-subuids "$START-$((START + 65535))" --add-subgids "$START-$((START + 65535))" "$U"
UID_OF=$(id -u "$U")
# The binary where the user can run it.
BIN=$WORK/rootless/bin
mkdir -p "$BIN" && cp "$BERTH" "$BIN/berth" && chmod -R a+rx "$WORK/rootless"
HOME_U=$(getent passwd "$U" | cut -d: -f6)
busybox_rootfs "$HOME_U/rootfs" >/dev/null
tar -C "$HOME_U/rootfs" -c . > "$HOME_U/rootfs.tar"
chown -R "$U:" "$HOME_U"
AS=(runuser -u "$U" -- env -i HOME="$HOME_U" USER="$U" PATH=/usr/sbin:/usr/bin:/sbin:/bin)
B=("${AS[@]}" "$BIN/berth")
P=("${AS[@]}" podman --runtime runc)
(cd "$HOME_U" && "${B[@]}" import -q "$HOME_U/rootfs.tar" localhost/bench:1 >/dev/null)
(cd "$HOME_U" && "${P[@]}" import -q "$HOME_U/rootfs.tar" localhost/bench:1 >/dev/null)
loop() { local i; for i in $(seq "$N"); do "$@" >/dev/null 2>&1 || return 1; done; }
bt=(); pt=()
cd "$HOME_U"
for r in $(seq "$ROUNDS"); do
  bt+=("$(timed loop "${B[@]}" run --rm --network none localhost/bench:1 true)")
  pt+=("$(timed loop "${P[@]}" run --rm --network none localhost/bench:1 true)")
  log "round $r"
done
b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
printf 'berth  rootless run --rm x%s: median %.3f s (%.1f ms a run)\n' "$N" "$b" "$(echo "$b*1000/$N" | bc -l)"
printf 'podman rootless run --rm x%s: median %.3f s (%.1f ms a run)\n' "$N" "$p" "$(echo "$p*1000/$N" | bc -l)"
printf 'ratio berth/podman: %.3f (target <= 0.15)\n' "$(echo "$b / $p" | bc -l)"

# A published port (PORTS=0 skips it): `run --rm -p 127.0.0.1:PORT:8080 IMG true`,
# on each tool's rootless default network (berth: pasta; podman 4.3: slirp4netns
# with rootlesskit's port handler) and on the bridge network (the rootless network
# namespace; berth's forwarder, podman's rootlessport), interleaved rounds.
if [ "${PORTS:-1}" = 1 ]; then
  chmod 666 /dev/net/tun
  # A port of its own for each run of a round: a tool whose clean-up frees the
  # port a moment after `run --rm` returns is not failed for it.
  loop_p() {
    local net=$1 i; shift
    for i in $(seq "$N"); do
      "$@" run --rm -p "127.0.0.1:$((18400 + i)):8080" $net localhost/bench:1 true \
        >/dev/null || return 1
    done
  }
  for net in default bridge; do
    flags=; [ "$net" = bridge ] && flags="--network=bridge"
    bt=(); pt=()
    for r in $(seq "$ROUNDS"); do
      bt+=("$(timed loop_p "$flags" "${B[@]}")")
      pt+=("$(timed loop_p "$flags" "${P[@]}")")
      log "port ($net) round $r"
    done
    b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
    printf 'berth  rootless run --rm -p (%s) x%s: median %.3f s (%.1f ms a run)\n' "$net" "$N" "$b" "$(echo "$b*1000/$N" | bc -l)"
    printf 'podman rootless run --rm -p (%s) x%s: median %.3f s (%.1f ms a run)\n' "$net" "$N" "$p" "$(echo "$p*1000/$N" | bc -l)"
    printf 'ratio berth/podman (-p, %s): %.3f\n' "$net" "$(echo "$b / $p" | bc -l)"
  done
fi

# Rootless cold pull of the five-layer image from the loopback registry into the
# user's store (emptied between pulls with rmi), interleaved rounds.
[ "${PULL:-1}" = 1 ] || exit 0
serve_large
trap 'stop_registry; cleanup; rm -rf "$WORK/registry" "$WORK/large"' EXIT
bt=(); pt=()
for r in $(seq "$ROUNDS"); do
  "${B[@]}" rmi -af >/dev/null 2>&1 || true
  bt+=("$(timed "${B[@]}" pull -q --tls-verify=false "$REG/bench/large:latest")")
  "${P[@]}" rmi -af >/dev/null 2>&1 || true
  pt+=("$(timed "${P[@]}" pull -q --tls-verify=false "$REG/bench/large:latest")")
  log "pull round $r"
done
b=$(printf '%s\n' "${bt[@]}" | median); p=$(printf '%s\n' "${pt[@]}" | median)
printf 'berth  rootless cold pull: median %.3f s\n' "$b"
printf 'podman rootless cold pull: median %.3f s\n' "$p"
printf 'ratio berth/podman (pull): %.3f (target <= 0.5)\n' "$(echo "$b / $p" | bc -l)"
