#!/bin/bash
# podman's own system tests (v4.3.1) run by an ordinary user, with berth (or podman) in
# podman's place: the suite takes its rootless paths when not root. Uses the shared
# harness (../shared/peers/podman-system: its extracted tests, stand-in images and
# loopback registry), which must have run once as root.
#   tests/conformance/podman-rootless.sh [FILE.bats ...]     (as root, from berth's root)
# Env: PODMAN  the binary under test (default target/release/berth; /usr/bin/podman gives
#              the reference, run with runc)
#      FILE_TIMEOUT  seconds a file may take (default 300; podman rootless needs more)
# The user (a subordinate range of 65536 IDs) is made here and removed at the end with all
# it left. This machine keeps /dev/null and /dev/net/tun at 0600 (ordinary hosts: 0666);
# both are 0666 while the run lasts, then as they were. Everything runs in a network
# namespace with loopback, the registry on 127.0.0.1:5000, and a veth pair whose address
# and default route give pasta a routable interface; nothing reaches the host's network.
set -u
HARNESS=$(cd "$(dirname "$0")/../../../shared/peers/podman-system" && pwd)
SCRIPTS=$(cd "$(dirname "$0")/../../scripts" && pwd)
. "$HARNESS/lib.sh"
T=$W/podman-4.3.1/test/system
[ -f "$T/helpers.bash" ] || { echo "run $HARNESS/run.sh once first (it extracts the tests)" >&2; exit 2; }
"$HARNESS/images.sh" >/dev/null || { echo "could not build the stand-in images" >&2; exit 2; }
UNDER=${PODMAN:-$PWD/target/release/berth}
[ -x "$UNDER" ] || { echo "no $UNDER" >&2; exit 2; }
U=berthpeer; START=1900000000
RW=/tmp/berth-peers-rootless
NULL_MODE=$(stat -c %a /dev/null); TUN_MODE=$(stat -c %a /dev/net/tun)
cleanup() {
  if id "$U" >/dev/null 2>&1; then
    UID_OF=$(id -u "$U")
    runuser -u "$U" -- env -i HOME="$RW/home" PATH=/usr/bin:/bin "$RW/env/podman" system reset -f >/dev/null 2>&1
    python3 "$SCRIPTS/kill-user-processes.py" "$UID_OF" "$START" || true
    sleep 0.5
    userdel -r "$U" >/dev/null 2>&1
    rm -rf "/tmp/berth-run-$UID_OF" "/tmp/berth-userns-$UID_OF" "/tmp/podman-run-$UID_OF" "/tmp/containers-user-$UID_OF" "/tmp/run-$UID_OF"
  fi
  chmod "$NULL_MODE" /dev/null; chmod "$TUN_MODE" /dev/net/tun
}
cleanup; trap cleanup EXIT
rm -rf "$RW"; mkdir -p "$RW/bin" "$RW/logs"
useradd -M -d "$RW/home" -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$U"
usermod --add-subuids "$START-$((START + 65535))" --add-subgids "$START-$((START + 65535))" "$U"
chmod 666 /dev/null /dev/net/tun
cp -a "$T" "$RW/system"
cp "$UNDER" "$RW/bin/"
for b in berth-pause berth-oci; do [ -x "$(dirname "$UNDER")/$b" ] && cp "$(dirname "$UNDER")/$b" "$RW/bin/"; done
NAME=$(basename "$UNDER")
EXTRA=; [ "$NAME" = podman ] && EXTRA="--runtime runc"
E=$RW/env; mkdir -p "$E" "$RW/home" "$RW/tmp"
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/root"\nrunroot = "%s/run"\n' "$E" "$E" > "$E/storage.conf"
cp "$HARNESS/containers.conf" "$HARNESS/registries.conf" "$E/"
cat > "$E/podman" <<WRAP
#!/bin/bash
export BERTH_STORAGE_CONF=$E/storage.conf CONTAINERS_STORAGE_CONF=$E/storage.conf
export CONTAINERS_CONF=$E/containers.conf CONTAINERS_REGISTRIES_CONF=$E/registries.conf
exec $RW/bin/$NAME $EXTRA "\$@"
WRAP
chmod 755 "$E/podman"
chown -R "$U:" "$RW/home" "$RW/tmp" "$E" "$RW/logs" "$RW/system"
chmod -R a+rX "$RW"
cd "$RW/system"; [ $# -eq 0 ] && set -- *.bats
FILE_TIMEOUT=${FILE_TIMEOUT:-300}
export U RW FILE_TIMEOUT
in_netns bash -c '
  ip link add v0 type veth peer name v1 && ip addr add 10.231.0.2/24 dev v0 &&
    ip link set v0 up && ip link set v1 up && ip route add default via 10.231.0.1
  P=0 F=0 S=0
  for f in "$@"; do
    b=$(basename "$f" .bats); t0=$(date +%s)
    runuser -u "$U" -- env -i HOME="$RW/home" USER="$U" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
      PODMAN="$RW/env/podman" PODMAN_TEST_IMAGE_REGISTRY=127.0.0.1:5000 TMPDIR="$RW/tmp" \
      timeout "$FILE_TIMEOUT" bats --tap "$f" > "$RW/logs/$b.log" 2>&1; rc=$?
    s=$(grep -cE "^ok [0-9]+ .*# skip" "$RW/logs/$b.log")
    p=$(( $(grep -cE "^ok [0-9]+" "$RW/logs/$b.log") - s ))
    fl=$(grep -cE "^not ok [0-9]+" "$RW/logs/$b.log")
    [ $rc -ne 0 ] && [ $fl -eq 0 ] && fl=1
    P=$((P+p)); F=$((F+fl)); S=$((S+s))
    printf "%-26s pass=%-4s fail=%-4s skip=%-4s %ss\n" "$b" $p $fl $s $(( $(date +%s)-t0 ))
  done
  echo "$P passed, $F failed, $S skipped"' rootless-bats "$@"
# Keep the logs where the root harness keeps its own.
mkdir -p "$W/logs-rootless-$NAME" && cp "$RW"/logs/*.log "$W/logs-rootless-$NAME/" 2>/dev/null
