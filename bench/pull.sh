#!/usr/bin/env bash
# Cold pull of the five-layer image from a loopback registry into an empty store,
# berth against podman (each its own fresh store, overlay driver), interleaved rounds;
# then `images` with 20 images. WORK=/dev/shm/... for tmpfs (default), WORK=/var/tmp/...
# for disk.
. "$(dirname "$0")/lib.sh"
trap 'stop_registry; umount_all; rm -rf "$WORK"' EXIT
serve_large
export CONTAINERS_REGISTRIES_CONF=/dev/null
# Each pull goes into a new empty store. By default, as the anchors measured
# podman (`--prepare "rm -rf STORE; sync"`), the stores of the last round are
# removed and the file system synced just before each pull. On tmpfs that also
# keeps both tools on recycled memory: keeping every store until the end made
# each round fault in never-touched guest pages (~0.5 s more a pull here, for
# both). On ext4 without a journal (this machine's) the inodes just freed are
# skipped one by one by the allocator (recently_deleted()); podman pays that in
# full, berth mostly not, since its layers' parent directories are +T (see
# RESULTS.md). KEEP_STORES=1 keeps the stores until the end instead.
KEEP=${KEEP_STORES:-0}; KEPT=; [ "$KEEP" = 1 ] && KEPT=", stores kept"
stores() { BS=(--root "$WORK/b$1/root" --runroot "$WORK/b$1/run" --storage-driver overlay)
           PS=(--root "$WORK/p$1/root" --runroot "$WORK/p$1/run" --storage-driver overlay); }
fresh() { umount_all; if [ "$KEEP" != 1 ]; then rm -rf "$WORK"/b* "$WORK"/p*; fi; sync; }
: > "$WORK/t.berth"; : > "$WORK/t.podman"
for i in $(seq "$ROUNDS"); do
  stores "$i"
  fresh; timed "$BERTH" "${BS[@]}" pull -q --tls-verify=false "$REG/bench/large:latest" >> "$WORK/t.berth"
  fresh; timed podman "${PS[@]}" pull -q --tls-verify=false "$REG/bench/large:latest" >> "$WORK/t.podman"
done
b=$(median < "$WORK/t.berth"); p=$(median < "$WORK/t.podman"); log "berth: $(tr "\n" " " < "$WORK/t.berth")podman: $(tr "\n" " " < "$WORK/t.podman")"
printf 'cold pull (%s%s)   berth %.3f s  podman %.3f s  ratio %.2f  (n=%s)\n' "$WORK" "$KEPT" "$b" "$p" "$(echo "$b / $p" | bc -l)" "$ROUNDS"
umount_all; rm -rf "$WORK"/b* "$WORK"/p*; sync
stores 0
rb=$(peak_rss "$BERTH" "${BS[@]}" pull -q --tls-verify=false "$REG/bench/large:latest")
rp=$(peak_rss podman "${PS[@]}" pull -q --tls-verify=false "$REG/bench/large:latest")
printf 'peak RSS pull             berth %s KiB  podman %s KiB\n' "$rb" "$rp"
# images with 20 distinct images: the pulled one plus 19 one-file imports, in each store.
mkdir -p "$WORK/imp"
for n in $(seq 19); do
  mkdir -p "$WORK/imp/$n"; echo "image $n" > "$WORK/imp/$n/id"
  tar -C "$WORK/imp/$n" -cf "$WORK/imp/$n.tar" id
  "$BERTH" "${BS[@]}" import -q "$WORK/imp/$n.tar" "localhost/img$n:1" >/dev/null
  podman "${PS[@]}" import -q "$WORK/imp/$n.tar" "localhost/img$n:1" >/dev/null
done
[ "$("$BERTH" "${BS[@]}" images -q | sort -u | wc -l)" = 20 ] || { log "berth does not list 20 images"; exit 1; }
[ "$(podman "${PS[@]}" images -q | sort -u | wc -l)" = 20 ] || { log "podman does not list 20 images"; exit 1; }
# 20 calls a measurement, so that the clock's own forks (a few ms) are not
# counted against a command that takes about as long.
loop20() { local i; for i in $(seq 20); do "$@" >/dev/null || return 1; done; }
: > "$WORK/i.berth"; : > "$WORK/i.podman"
for i in $(seq "$ROUNDS"); do
  echo "$(timed loop20 "$BERTH" "${BS[@]}" images) / 20" | bc -l >> "$WORK/i.berth"
  echo "$(timed loop20 podman "${PS[@]}" images) / 20" | bc -l >> "$WORK/i.podman"
done
b=$(median < "$WORK/i.berth"); p=$(median < "$WORK/i.podman")
printf 'images (20 images)        berth %.4f s  podman %.4f s  ratio %.3f\n' "$b" "$p" "$(echo "$b / $p" | bc -l)"
