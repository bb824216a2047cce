#!/usr/bin/env bash
# Build a multi-stage Containerfile (a builder stage with COPY and 2 RUN; the final stage
# with ENV/LABEL/WORKDIR, 2 RUN, COPY --from the builder, COPY of a ~50 MB context
# directory, CMD), berth against `buildah bud --layers --no-cache` (uncached),
# each into its own store on overlay, interleaved rounds, medians and ratio; peak RSS.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
[ -x "$BERTH" ] || { log "build first: cargo build --release"; exit 1; }
D=$WORK/build-bench
cleanup() {
  buildah --root "$D/buildah-root" --runroot "$D/buildah-run" rm -a >/dev/null 2>&1 || true
  buildah --root "$D/buildah-root" --runroot "$D/buildah-run" rmi -af >/dev/null 2>&1 || true
  "$BERTH" --root "$D/berth-root" --runroot "$D/berth-run" rm -af >/dev/null 2>&1 || true
  { grep -o " $D/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$D"
}
cleanup; trap cleanup EXIT; mkdir -p "$D/rootfs" "$D/ctx/payload"
busybox_rootfs "$D/rootfs" >/dev/null
tar -C "$D/rootfs" -c . > "$D/rootfs.tar"
# ~50 MB: 20 × 2 MB random files and 2,000 small text files.
for i in $(seq 20); do head -c $((2 << 20)) /dev/urandom > "$D/ctx/payload/blob$i.bin"; done
mkdir -p "$D/ctx/payload/text"; for i in $(seq 2000); do seq 1 400 > "$D/ctx/payload/text/f$i.txt"; done
cat > "$D/ctx/Containerfile" <<'EOC'
FROM localhost/bench:1 AS builder
ENV LANG=C.UTF-8
WORKDIR /src
COPY payload/text /src/text
RUN mkdir -p out && for f in text/*.txt; do wc -l "$f" >> out/counts; done && sort -n out/counts > out/sorted
RUN head -c 4194304 /dev/urandom > out/asset.bin && sha256sum out/asset.bin > out/asset.sum

FROM localhost/bench:1
ENV APP_HOME=/app LANG=C.UTF-8
LABEL org.example.bench="berth" org.example.size="50MB"
WORKDIR /app
RUN mkdir -p gen && for i in $(seq 1 200); do echo "line $i" > gen/f$i.txt; done && head -c 1048576 /dev/urandom > gen/rand.bin
COPY --from=builder /src/out /app/out
COPY payload /app/payload
RUN echo built > status && ls -la /app > listing && sha256sum gen/rand.bin > gen/sum
CMD ["/bin/sh", "-c", "cat /app/status"]
EOC
cat > "$D/containers.conf" <<EOC
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOC
export CONTAINERS_CONF=$D/containers.conf
B=("$BERTH" --root "$D/berth-root" --runroot "$D/berth-run" --storage-driver overlay)
H=(buildah --root "$D/buildah-root" --runroot "$D/buildah-run" --storage-driver overlay)
"${B[@]}" import -q "$D/rootfs.tar" localhost/bench:1 >/dev/null
"${H[@]}" pull -q "docker-archive:$(
  "${B[@]}" save -o "$D/base.tar" localhost/bench:1 && echo "$D/base.tar")" >/dev/null
"${H[@]}" tag "$("${H[@]}" images -q | head -1)" localhost/bench:1
bt=(); ht=(); bc=(); hc=()
for r in $(seq "$ROUNDS"); do
  bt+=("$(timed "${B[@]}" build --no-cache -q -t "localhost/out:$r" "$D/ctx")")
  ht+=("$(timed "${H[@]}" bud --runtime runc --isolation chroot --layers --no-cache -q -t "localhost/out:$r" "$D/ctx")")
  # Right after: every step is a cache hit.
  bc+=("$(timed "${B[@]}" build -q -t "localhost/out:$r" "$D/ctx")")
  hc+=("$(timed "${H[@]}" bud --runtime runc --isolation chroot --layers -q -t "localhost/out:$r" "$D/ctx")")
done
b=$(printf '%s\n' "${bt[@]}" | median); h=$(printf '%s\n' "${ht[@]}" | median)
b2=$(printf '%s\n' "${bc[@]}" | median); h2=$(printf '%s\n' "${hc[@]}" | median)
brss=$(peak_rss "${B[@]}" build --no-cache -q -t localhost/out:rss "$D/ctx")
hrss=$(peak_rss "${H[@]}" bud --runtime runc --isolation chroot --layers --no-cache -q -t localhost/out:rss "$D/ctx")
printf 'build uncached: berth %.3f s  buildah %.3f s  ratio %.3f (target <= 0.5)\n' "$b" "$h" "$(echo "$b / $h" | bc -l)"
printf 'build cached:   berth %.3f s  buildah %.3f s  ratio %.3f (target <= 0.1)\n' "$b2" "$h2" "$(echo "$b2 / $h2" | bc -l)"
printf 'peak RSS build: berth %s KiB  buildah %s KiB\n' "$brss" "$hrss"
