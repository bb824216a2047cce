#!/usr/bin/env bash
# Debian 12 packages berth's demo and tests use: the registry the tests start on
# 127.0.0.1, busybox-static for fixture images, and the reference tools as interop peers.
set -euo pipefail
PKGS=(docker-registry busybox-static skopeo podman buildah crun runc conmon uidmap
      jq hyperfine time apache2-utils openssl curl iproute2 libseccomp-dev pkg-config
      gnupg containernetworking-plugins iptables netavark aardvark-dns tzdata xz-utils bzip2
      catatonit python3-docker docker.io docker-compose passt slirp4netns git openssh-client)
# passt: pasta, the rootless containers' network (uidmap's newuidmap/newgidmap map
# the rootless user's namespace); slirp4netns: `--network slirp4netns`; git: build
# contexts from git repositories (`git daemon` serves one in the tests); openssh-client:
# ssh-agent, for build --ssh.
# catatonit: podman's pod infra process (a Recommends of podman that
# --no-install-recommends leaves out), for podman as the pods peer.
# python3-docker, docker.io, docker-compose: docker-py, the docker CLI and compose, clients of the REST API
# (`system service`) in the tests. docker.io's daemon (and containerd's) must never
# run here: while installing, services are held back (policy-rc.d), as in images.
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
