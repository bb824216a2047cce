#!/usr/bin/env bash
# Registry → oci: and oci: → registry copies of the five-layer fixture image (~216 MB
# compressed), berth against skopeo, interleaved rounds; prints median times, the
# median ratio berth/skopeo, and peak RSS. Storage on tmpfs by default (WORK=...).
. "$(dirname "$0")/lib.sh"
trap 'stop_registry; rm -rf "$WORK"' EXIT
serve_large
SRC="docker://$REG/bench/large:latest"
# skopeo keeps a blob-info cache as root that turns pushes into mounts: give each run
# an empty one, as the anchors did.
skopeo_fresh() {
  mkdir -p /var/lib/containers/cache
  unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /var/lib/containers/cache && exec skopeo "$@"' _ "$@"
}
: > "$WORK/pull.berth"; : > "$WORK/pull.skopeo"; : > "$WORK/push.berth"; : > "$WORK/push.skopeo"
for i in $(seq "$ROUNDS"); do
  for tool in berth skopeo; do
    rm -rf "$WORK/out"; sync
    if [ $tool = berth ]; then cmd=("$BERTH" image copy -q --src-tls-verify=false); else cmd=(skopeo_fresh copy -q --src-tls-verify=false); fi
    timed "${cmd[@]}" "$SRC" "oci:$WORK/out:latest" >> "$WORK/pull.$tool"
    if [ $tool = berth ]; then cmd=("$BERTH" image copy -q --dest-tls-verify=false); else cmd=(skopeo_fresh copy -q --dest-tls-verify=false); fi
    # A new repository each time, so nothing is mounted or skipped.
    timed "${cmd[@]}" "oci:$LARGE:latest" "docker://$REG/push/$tool-$i:latest" >> "$WORK/push.$tool"
  done
done
for dir in pull push; do
  b=$(median < "$WORK/$dir.berth"); s=$(median < "$WORK/$dir.skopeo")
  printf '%-28s berth %.3f s  skopeo %.3f s  ratio %.2f  (n=%s)\n' \
    "$( [ $dir = pull ] && echo 'registry -> oci:' || echo 'oci: -> registry')" "$b" "$s" "$(echo "$b / $s" | bc -l)" "$ROUNDS"
done
rm -rf "$WORK/out"
rb=$(peak_rss "$BERTH" image copy -q --src-tls-verify=false "$SRC" "oci:$WORK/out:latest"); rm -rf "$WORK/out"
rs=$(peak_rss skopeo copy -q --src-tls-verify=false "$SRC" "oci:$WORK/out:latest")
printf 'peak RSS registry -> oci:    berth %s KiB  skopeo %s KiB\n' "$rb" "$rs"
rb=$(peak_rss "$BERTH" image copy -q --dest-tls-verify=false "oci:$LARGE:latest" "docker://$REG/rss/berth:latest")
rs=$(peak_rss unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /var/lib/containers/cache && exec skopeo "$@"' _ \
  copy -q --dest-tls-verify=false "oci:$LARGE:latest" "docker://$REG/rss/skopeo:latest")
printf 'peak RSS oci: -> registry    berth %s KiB  skopeo %s KiB\n' "$rb" "$rs"
