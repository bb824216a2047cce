#!/usr/bin/env bash
# Builds berth and runs its main job on an embedded default, with no internet:
# a busybox image made from Debian's busybox-static by berth's fixture builder is
# pushed to a registry started on 127.0.0.1, inspected there without pulling,
# pulled back, checked to be identical, and run with berth's OCI runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --workspace
BIN=$PWD/target/release
WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
REG_PID=
cleanup() {
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null || true; fi
  "$BIN/berth-oci" --root "$WORK/oci-state" delete --force berth-demo >/dev/null 2>&1 || true
  "$BIN/berth" --root "$WORK/store" --runroot "$WORK/run" rm -af >/dev/null 2>&1 || true
  { grep -o " $WORK/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
. scripts/oci-layout.sh
step() { printf '\n==> %s\n' "$*"; }

step "Build a busybox image from Debian's /bin/busybox as an OCI layout"
busybox_rootfs "$WORK/rootfs"
make_layout "$WORK/busybox" latest "$WORK/rootfs"

step "Start a registry on 127.0.0.1"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
mkdir -p "$WORK/registry"
cat > "$WORK/registry/config.yml" <<EOC
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/registry/data}, delete: {enabled: true}}
http: {addr: $REG}
EOC
env -u REGISTRY_AUTH_FILE docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.05; done

step "Push it: berth image copy oci: -> docker://"
"$BIN/berth" image copy --dest-tls-verify=false "oci:$WORK/busybox:latest" "docker://$REG/demo/busybox:latest"

step "Inspect it in the registry without pulling"
"$BIN/berth" image inspect --tls-verify=false --format '{{.Name}} {{.Digest}} {{.Architecture}}/{{.Os}} layers={{len .Layers}}' "docker://$REG/demo/busybox:latest"
"$BIN/berth" image list-tags --tls-verify=false "docker://$REG/demo/busybox"

step "Pull it back and compare"
"$BIN/berth" image copy -q --src-tls-verify=false "docker://$REG/demo/busybox:latest" "oci:$WORK/pulled:latest"
a=$("$BIN/berth" image inspect --format '{{.Digest}}' "oci:$WORK/busybox:latest")
b=$("$BIN/berth" image inspect --format '{{.Digest}}' "oci:$WORK/pulled:latest")
[ "$a" = "$b" ] || { echo "digest changed: $a != $b" >&2; exit 1; }
echo "same manifest digest: $a"

step "Pull it into berth's store, list, tag, push the stored image again"
S=("$BIN/berth" --root "$WORK/store" --runroot "$WORK/run")
"${S[@]}" pull --tls-verify=false "$REG/demo/busybox:latest"
"${S[@]}" tag "$REG/demo/busybox:latest" localhost/demo:1
"${S[@]}" images
"${S[@]}" push -q --tls-verify=false localhost/demo:1 "$REG/demo/again:1"
c=$("$BIN/berth" image inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/demo/again:1")
[ "$c" = "$a" ] || { echo "push after pull changed the digest: $c != $a" >&2; exit 1; }
"${S[@]}" system check

step "Run it from the store with berth run"
"${S[@]}" run --rm --network none localhost/demo:1 sh -c 'echo hello from berth run in $(hostname)'

step "A detached container under its monitor: logs, exec, commit, stop, rm"
"${S[@]}" run -d --network none --name demo-web localhost/demo:1 sh -c 'echo serving; exec sleep 600'
"${S[@]}" exec demo-web sh -c 'echo changed > /etc/motd'
"${S[@]}" ps
"${S[@]}" logs demo-web
"${S[@]}" commit -q -m "demo change" demo-web localhost/demo:2
"${S[@]}" stop -t 1 demo-web
"${S[@]}" rm demo-web
"${S[@]}" run --rm --network none localhost/demo:2 cat /etc/motd

step "A pod: two containers on one loopback, with the pod's hostname"
"${S[@]}" pod create --name demo-pod --network none
"${S[@]}" run -d --pod demo-pod --name demo-srv localhost/demo:1 nc -l -p 8080 -e echo hello from the pod
for _ in $(seq 50); do
  out=$("${S[@]}" run --rm --pod demo-pod localhost/demo:1 sh -c 'nc 127.0.0.1 8080 </dev/null; hostname') && case "$out" in hello*) break;; esac
  sleep 0.1
done
echo "$out"
case "$out" in "hello from the pod"*demo-pod) ;; *) echo "the pod's containers did not meet: $out" >&2; exit 1;; esac
"${S[@]}" pod ps
"${S[@]}" pod rm -f -t 0 demo-pod

if "$BIN/berth-oci" --version >/dev/null 2>&1; then
  step "Run it with berth-oci"
  mkdir -p "$WORK/bundle/rootfs"
  for l in $(jq -r '.layers[].digest' "$WORK/pulled/blobs/sha256/$(jq -r '.manifests[0].digest' "$WORK/pulled/index.json" | cut -d: -f2)"); do
    tar -xzf "$WORK/pulled/blobs/sha256/${l#sha256:}" -C "$WORK/bundle/rootfs"
  done
  (cd "$WORK/bundle" && "$BIN/berth-oci" spec)
  jq '.process.args = ["/bin/sh","-c","echo hello from berth-oci in $(hostname)"] | .process.terminal = false' \
    "$WORK/bundle/config.json" > "$WORK/bundle/c.json" && mv "$WORK/bundle/c.json" "$WORK/bundle/config.json"
  "$BIN/berth-oci" --root "$WORK/oci-state" run --bundle "$WORK/bundle" berth-demo
fi
step "Done"
