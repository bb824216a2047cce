# make_layout OUT TAG DIR... : writes an OCI image layout at OUT holding one image
# tagged TAG whose layers are the given directories (bottom first), each packed as a
# reproducible gzip tar (sorted, mtime 0, root owner). Prints the manifest digest.
# Sourced by scripts/demo.sh and bench/; needs tar, gzip (or pigz), jq, sha256sum.
make_layout() {
  local out=$1 tag=$2; shift 2
  local tmp; tmp=$(mktemp -d "$out.tmp.XXXXXX")
  mkdir -p "$out/blobs/sha256"
  local diff_ids=() layers=()
  for dir in "$@"; do
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$tmp/layer.tar" .
    diff_ids+=("sha256:$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)")
    gzip -n -6 -c "$tmp/layer.tar" > "$tmp/layer.tgz"
    local d; d=$(sha256sum "$tmp/layer.tgz" | cut -d' ' -f1)
    mv "$tmp/layer.tgz" "$out/blobs/sha256/$d"
    layers+=("$(jq -cn --arg d "sha256:$d" --argjson s "$(stat -c %s "$out/blobs/sha256/$d")" \
      '{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$d,size:$s}')")
  done
  jq -cn --argjson ids "$(printf '%s\n' "${diff_ids[@]}" | jq -R . | jq -cs .)" \
    '{created:"1970-01-01T00:00:00Z",architecture:"amd64",os:"linux",
      config:{Env:["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],Cmd:["sh"]},
      rootfs:{type:"layers",diff_ids:$ids}}' > "$tmp/config"
  local cd; cd=$(sha256sum "$tmp/config" | cut -d' ' -f1)
  local cs; cs=$(stat -c %s "$tmp/config"); mv "$tmp/config" "$out/blobs/sha256/$cd"
  jq -cn --arg c "sha256:$cd" --argjson cs "$cs" --argjson ls "$(printf '%s\n' "${layers[@]}" | jq -cs .)" \
    '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
      config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},layers:$ls}' > "$tmp/manifest"
  local md; md=$(sha256sum "$tmp/manifest" | cut -d' ' -f1)
  local ms; ms=$(stat -c %s "$tmp/manifest"); mv "$tmp/manifest" "$out/blobs/sha256/$md"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
  jq -cn --arg m "sha256:$md" --argjson s "$ms" --arg t "$tag" '{schemaVersion:2,manifests:[{
    mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$m,size:$s,
    annotations:{"org.opencontainers.image.ref.name":$t}}]}' > "$out/index.json"
  rm -rf "$tmp"
  echo "sha256:$md"
}

# busybox_rootfs DIR: /bin/busybox from busybox-static, a link per applet, /etc files.
busybox_rootfs() {
  local root=$1
  mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\n' > "$root/etc/group"
}
